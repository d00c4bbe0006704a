"""Code and identifiers are no names or places (``redactors.benign``): table rows that must
survive the whole redactor, next to twins with the same words as real PII that must go."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    pytest.param('public static final String API_ORG_EXIST = "x";', "String", id="type-in-a-statement"),
    pytest.param("setInfo(version: Swift.String, completion: (Swift.Bool) -> ()) -> ()", "(Swift.Bool)", id="type-in-a-signature"),
    pytest.param("// Alias models\nvoid GLC_Draw(texture_ref base_texture)\n{", "// Alias models", id="first-word-of-a-comment"),
    pytest.param("# HuggingFace API Token, see the settings page", "HuggingFace API Token", id="compound-with-a-long-head"),
    pytest.param(
        "RX0R/GRhS9IDInd+eiyVX6y3LR5\n    NqNkKAGIMv3RNa9bZHTwveo9T0oXtFnk5H33BxH0ky/DGpD+5Ch1YgbzbqVnr+Bm\n",
        "+Bm\n", id="machine-token",
    ),
    pytest.param("To change it, open Settings and click Save.", "open Settings", id="ui-verb-object"),
    pytest.param("In the app, tap Profile, then Preferences, then Notifications.", "then Notifications", id="ui-menu-path"),
    pytest.param("2024-05-01T10:22:01Z INFO worker-3 Processed batch 42 for tenant acme", "Processed", id="log-message-opener"),
    pytest.param("Product: Nimbus 3 noise-cancelling headphones", "Nimbus", id="field-naming-a-thing"),
    pytest.param("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl", "Bearer", id="auth-scheme"),
    pytest.param("Tel. (713) 422-4655 / Ticket SUP-80837", "Tel.", id="abbreviation-before-a-number"),
    pytest.param('{"span_id": "46dec9ec12b2b965", "name": "chat gpt-4o"}', "chat gpt-4o", id="model-id-with-digits"),
    pytest.param("Django.contrib.auth: TypeError", "TypeError", id="exception-name-after-auth"),
    pytest.param("kubectl logs deploy/Morgan -n prod", "deploy/Morgan", id="kind-slash-name"),
    pytest.param("Our Zendesk admin said to pick the Loki data source.", "Zendesk admin", id="product-before-admin"),
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
    pytest.param('user = "Maria Lopez";', "Lopez", id="name-in-a-string-literal"),
    pytest.param("We moved last month; Maria Lopez has the new keys.", "Lopez", id="prose-with-a-semicolon"),
    pytest.param("// Contact Maria Lopez for access\nvoid f(int a_b) {", "Lopez", id="name-inside-a-comment"),
    pytest.param("Ask Maria McDonald about it", "McDonald", id="short-head-compound-name"),
    pytest.param("select Maria from the list and click Save", "Maria", id="known-name-after-a-ui-verb"),
    pytest.param("2024-05-01T10:22:01Z INFO worker-3 Maria asked for a refund", "Maria", id="known-name-opening-a-log-message"),
    pytest.param("Customer: Maria Lopez", "Lopez", id="field-naming-a-person"),
    pytest.param('{"name": "Maria Lopez", "model": "gpt-4o"}', "Lopez", id="name-beside-a-model-id"),
    pytest.param("auth: Secr3tValue99", "Secr3tValue99", id="credential-after-auth"),
]


@pytest.mark.parametrize(("text", "value"), MASKED)
def test_pii_twins_still_masked(redactor, text: str, value: str) -> None:
    out = redactor.redact_texts([text])[0].text
    assert value not in out, out


@pytest.mark.parametrize(
    ("text", "span", "entity", "code"),
    [
        ("getFormat()", (3, 9), "PERSON", True),  # part of a word
        ("Europe/Istanbul", (7, 15), "PERSON", True),
        ("Palmer/Courtney", (0, 15), "PERSON", False),
        ("see Maria.", (4, 9), "PERSON", False),  # a sentence end is no member
        ("Maria.Lopez wrote", (0, 5), "PERSON", False),  # a user name is still a name
        ("Client.Connect()", (0, 6), "PERSON", True),
        ("Sainte VirginieBourg", (0, 20), "LOCATION", False),  # a place keeps its compound
        ("x = f(a_b); // Note", (15, 19), "PERSON", False),  # not the first word of a comment line
    ],
)
def test_is_code_like(text: str, span: tuple[int, int], entity: str, code: bool) -> None:
    assert is_code_like(text, *span, entity) is code


_LINE_PIECES = st.sampled_from([
    " ", "\t", "x", "_", "(", ")", ";", "{", "}", "=", "->", "::", "&&", "+=", "!", "|", ".", '"', "'",
    "def", "public", "return", "const", "import", "foo_bar", "getValue", "API_KEY", "print", "f()", "the", "please", "and",
    "Open the settings page", "Maria", "iPhone", "String", "\u017f", "K", "é",
])  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_LINE_PIECES, min_size=1, max_size=30).map("".join))
def test_code_line_shortcut_keeps_the_two_signal_rule(line: str) -> None:
    # The rule as written: at least two code signals, and no run of prose.
    from redactors import benign

    signals = sum(1 for signal in benign._CODE_SIGNALS if signal.search(line))
    prose = any(benign._FUNCTION_WORD.search(run.group()) for run in benign._PROSE_RUN.finditer(line))
    assert benign._is_code_line(line) == (signals >= 2 and not prose)
