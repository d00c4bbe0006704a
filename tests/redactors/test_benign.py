"""Code and identifiers are no names or places (``redactors.benign``): table rows that must
survive the whole redactor, next to twins with the same words as real PII that must go."""

from __future__ import annotations

import pytest

from redactors.benign import is_code_like

SURVIVE = [
    # (text, the part that must be kept verbatim)
    pytest.param("export TZ=Europe/Istanbul before starting the worker", "Europe/Istanbul", id="tz-name-assigned"),
    pytest.param("Asia/Kolkata and Australia/Sydney are supported zones", "Asia/Kolkata and Australia/Sydney", id="tz-names"),
    pytest.param("set timezone America/Sao_Paulo in the config", "America/Sao_Paulo", id="tz-name-underscore"),
    pytest.param('echo "$FORMAT" | sed s/x/y/', "$FORMAT", id="shell-variable"),
    pytest.param("Open /home/app/Jenkins/workspace/Build.log for details", "/home/app/Jenkins/workspace/Build.log", id="path"),
    pytest.param("The Salesforce connector syncs Zendesk tickets to HubSpot every hour.", "HubSpot", id="camel-case-product"),
    pytest.param("Run kubectl get pods to see the Grafana pod", "Grafana pod", id="product-before-its-noun"),
    pytest.param('logger.info("Sending to Kafka topic orders")', "Kafka topic", id="product-in-code"),
    pytest.param("from Crypto.Cipher import AES", "Crypto.Cipher", id="module-member"),
    pytest.param("Error in module Django.contrib.auth today", "Django.contrib.auth", id="dotted-module"),
    pytest.param("The function getUserName calls parse_first_name on the payload", "getUserName calls parse_first_name", id="identifiers"),
    pytest.param("key = AKIAXXXXXXXXXXXXXXXX", "AKIAXXXXXXXXXXXXXXXX", id="placeholder-run"),
    pytest.param("A3-XXXXXX-XXXXXXXXXXX-XXXXX-XXXXX", "XXXXX-XXXXX", id="placeholder-groups"),
]


@pytest.mark.parametrize(("text", "kept"), SURVIVE)
def test_code_survives(redactor, text: str, kept: str) -> None:
    out = redactor.redact_texts([text])[0].text
    assert kept in out, out


MASKED = [
    # (text, the value that must be gone): the same words as PII, outside code.
    pytest.param("I'm flying to Istanbul next week", "Istanbul", id="city-not-tz"),
    pytest.param("Passenger name: Palmer/Courtney, seat 14C", "Courtney", id="slashed-name-not-path"),
    pytest.param("Ask Marta Kowalczyk about the Grafana pod", "Kowalczyk", id="person-next-to-product"),
    pytest.param("Thanks,\nFormat\n", "Format", id="sign-off"),
    pytest.param("Dear Maria Lopez, your ticket is closed.", "Lopez", id="person-before-a-product-noun"),
]


@pytest.mark.parametrize(("text", "value"), MASKED)
def test_pii_twins_still_masked(redactor, text: str, value: str) -> None:
    out = redactor.redact_texts([text])[0].text
    assert value not in out, out


@pytest.mark.parametrize(
    ("text", "span", "code"),
    [
        ("getFormat()", (3, 9), True),  # part of a word
        ("Europe/Istanbul", (7, 15), True),
        ("Palmer/Courtney", (0, 15), False),
        ("see Maria.", (4, 9), False),  # a sentence end is no member
        ("Maria.Lopez wrote", (0, 5), False),  # a user name is still a name
        ("Client.Connect()", (0, 6), True),
    ],
)
def test_is_code_like(text: str, span: tuple[int, int], code: bool) -> None:
    assert is_code_like(text, *span) is code
