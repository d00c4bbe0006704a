"""The digit-shape detectors of `redactors/shapes.py`, measured on public material we did not
write: libphonenumber's example number of every region, Faker's card numbers and SSNs; and their
false positives on timestamps and counts. The figures (recorded in docs/threat-model.md):
phones 96.3% as `+`-written tokens and 96.1% as E.164 integers (the misses are 5 to 7 digit
numbers of small territories), cards 100% of 1,400 (7 networks; Maestro's 12-digit numbers are
out of the 13-19 digit range), SSNs 100% of 1,000 as 3-2-4 tokens; no epoch second, epoch
nanosecond or count below 10^8 flagged."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from faker import Faker
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from redactors import shapes

CARD_TYPES = ("visa16", "visa19", "mastercard", "amex", "discover", "jcb16", "diners")


def _example_numbers() -> list[phonenumbers.PhoneNumber]:
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.append(example)
    return found


def test_phone_recall_on_libphonenumber_examples() -> None:
    examples = _example_numbers()
    assert len(examples) > 400
    as_tokens = sum(
        1
        for ex in examples
        if any(e == "PHONE_NUMBER" for *_, e in shapes.pii_digit_groups("tel_" + phonenumbers.format_number(ex, PhoneNumberFormat.INTERNATIONAL).replace(" ", "-")))
    )
    as_ints = sum(1 for ex in examples if shapes.number_entity(int(phonenumbers.format_number(ex, PhoneNumberFormat.E164)[1:])) is not None)
    assert as_tokens / len(examples) >= 0.95
    assert as_ints / len(examples) >= 0.95


@pytest.mark.parametrize("card_type", CARD_TYPES)
def test_card_recall_on_faker_numbers(card_type: str) -> None:
    fake = Faker("en_US")
    fake.seed_instance(7)
    numbers = [fake.credit_card_number(card_type=card_type) for _ in range(200)]
    assert all(shapes.number_entity(int(n)) == "CREDIT_CARD" for n in numbers)
    grouped = ["-".join(n[i : i + 4] for i in range(0, len(n), 4)) for n in numbers]
    assert all(shapes.has_pii_digits(g) for g in grouped if min(len(p) for p in g.split("-")) >= 3)


def test_ssn_recall_on_faker_ssns() -> None:
    fake = Faker("en_US")
    fake.seed_instance(11)
    ssns = [fake.ssn() for _ in range(1000)]
    assert all(any(e == "US_SSN" for *_, e in shapes.pii_digit_groups(f"id_{s}")) for s in ssns)


def test_timestamps_and_counts_are_not_pii_shaped() -> None:
    source = random.Random(3)
    seconds = [source.randint(946_684_800, 1_893_456_000) for _ in range(5000)]  # 2000 to 2030
    assert not any(shapes.number_entity(s) for s in seconds)
    assert not any(shapes.number_entity(s * 10**9 + source.randint(0, 10**9 - 1)) for s in seconds)
    assert not any(shapes.number_entity(source.randint(0, 10**8)) for _ in range(5000))


@pytest.mark.parametrize(
    "name",
    ["gpt-4o-mini", "gpt-4o-2024-08-06", "claude-3-5-sonnet-20241022", "claude-sonnet-4-20250514", "gemini-1.5-pro-002",
     "anthropic.claude-3-sonnet-20240229-v1:0", "models/gemini-2.0-flash", "text-embedding-3-small", "llama-3.1-8b-instruct",
     "accounts/fireworks/models/llama-v3p1-70b-instruct", "mistral-large-2407", "o1-preview-2024-09-12"],
)  # fmt: skip
def test_public_model_names_are_tokens_and_labels(name: str) -> None:
    assert shapes.string_fits(name, shapes.TOKEN) and not shapes.has_pii_digits(name)
    assert shapes.is_label(name)


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        ("order-078-05-1120-x", ["US_SSN"]),  # nine ASCII digits: read
        ("user_4111111111111111", ["CREDIT_CARD"]),
        ("run-078-05-112", []),  # eight digits: not read
        ("gpt-4o-2024-08-06", []),  # nine digits of a date in a model name: read, no PII shape
        ("id-\u0660\u0667\u0668-\u0660\u0665-\u0661\u0661\u0662\u0660", ["US_SSN"]),  # Arabic-Indic digits: the per-character count
        ("x\u00b2\u00b3-078-05-112", []),  # superscripts count as digits to str.isdigit, not to the groups
    ],
)
def test_digit_groups_are_read_from_nine_digits(text: str, entities: list[str]) -> None:
    assert [entity for _, _, entity in shapes.pii_digit_groups(text)] == entities
    if sum(ch.isdigit() for ch in text) < 9:
        assert entities == []
