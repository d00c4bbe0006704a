"""Phones (libphonenumber's matcher over many regions) and cards (every issuer range, 12-19
digits): rows that must be found, and benign twins that must survive."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from policies.config import DEFAULT_PHONE_REGIONS, Config, NlpConfig
from redactors.cards import CardRecognizer, card_number_valid
from redactors.phones import MatcherPhoneRecognizer


def _phones(text: str, regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS) -> list[str]:
    return [text[r.start : r.end] for r in MatcherPhoneRecognizer(regions).analyze(text, ["PHONE_NUMBER"])]


PHONES = [
    # (text, the number that must be found)
    pytest.param("call me at (11) 4567-8901 please", "(11) 4567-8901", id="br-national"),
    pytest.param("Tel: +41 44 668 18 00", "+41 44 668 18 00", id="ch-international"),
    pytest.param("reach me at 340.490.5366x56665", "340.490.5366x56665", id="us-dots-x-extension"),
    pytest.param("office 020 7946 0958 ext. 22 until 6", "020 7946 0958 ext. 22", id="gb-ext-dot"),
    pytest.param("mobile 0151 23456789", "0151 23456789", id="de-mobile"),
    pytest.param("my registered 01414960094. Thanks", "01414960094", id="trunk-national-bare"),
    pytest.param("0832652279 fax", "0832652279", id="bare-with-label-after"),
    pytest.param("whatsapp +6591234567 anytime", "+6591234567", id="sg-e164"),
    pytest.param("Phone:\n03-1234-5678", "03-1234-5678", id="jp-national"),
    pytest.param("number is 2015550123", "2015550123", id="bare-after-phone-word"),
    pytest.param("Büro: 0512/46962420 werktags", "0512/46962420", id="at-area-code-slash"),
    pytest.param("Profile: Jo Doe, jo@example.com, 36532680, lives in Aarhus.", "36532680", id="contact-record-field"),
    pytest.param("13812345678", "13812345678", id="cn-mobile-bare"),
    pytest.param("Li Wei, 18612345678, Beijing", "18612345678", id="cn-mobile-in-a-record"),
    pytest.param("王先生 13912345678", "13912345678", id="cn-mobile-after-a-name"),
]


@pytest.mark.parametrize(("text", "number"), PHONES)
def test_phone_found(text: str, number: str) -> None:
    assert number in _phones(text)


BENIGN_DIGITS = [
    pytest.param("released 2024-11-05 12:30 as build 4.2.1.17", id="date-time-version"),
    pytest.param("order 88231234 shipped", id="bare-order-number"),
    pytest.param("epoch 1717171717 in the log", id="epoch-seconds"),
    pytest.param("invoice INV-5550123 paid", id="id-prefix"),
    pytest.param("served from 10.20.30.40 at 12/05/2024", id="ip-and-date"),
    pytest.param("uuid 3f2b9c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e", id="uuid"),
    pytest.param("jo@example.com placed order 36532680, shipped", id="order-number-next-to-email"),
    pytest.param("user=jo@example.com ts=1717171717", id="log-field-next-to-email"),
    pytest.param("order 13812345678 shipped", id="cn-mobile-shape-order-number"),
    pytest.param("ts=13812345678", id="cn-mobile-shape-field-value"),
    pytest.param("trace 15912345678 done", id="cn-mobile-shape-after-id-word"),
    pytest.param("12345678901 rows", id="11-digit-count"),
    pytest.param("10012345678", id="11-digits-not-mobile-prefix"),
    pytest.param("138123456789", id="12-digits"),
]


@pytest.mark.parametrize("text", BENIGN_DIGITS)
def test_phone_benign_twins_survive(text: str) -> None:
    assert _phones(text) == []


def test_regions_decide_national_formats() -> None:
    # A Brazilian national number is read with BR in the list, and not with US alone;
    # an international number is read whatever the list.
    assert _phones("call (11) 4567-8901", ("US",)) == []
    assert _phones("call (11) 4567-8901", ("US", "BR")) == ["(11) 4567-8901"]
    assert _phones("call +55 11 4567-8901", ("US",)) == ["+55 11 4567-8901"]


def test_default_regions_are_broad_and_configurable() -> None:
    assert len(DEFAULT_PHONE_REGIONS) >= 25
    assert {"US", "BR", "GB", "DE", "IN", "JP", "AU"} <= set(DEFAULT_PHONE_REGIONS)
    assert Config().nlp.phone_regions == list(DEFAULT_PHONE_REGIONS)
    assert NlpConfig(phone_regions=["us", "br"]).phone_regions == ["US", "BR"]
    with pytest.raises(ValidationError):
        NlpConfig(phone_regions=["XX"])
    with pytest.raises(ValidationError):
        NlpConfig(phone_regions=[])
    with pytest.raises(ValueError):
        MatcherPhoneRecognizer(["ZZ"])


CARDS = [
    pytest.param("4111 1111 1111 1111", id="visa"),
    pytest.param("4222222222222", id="visa-13"),
    pytest.param("4824628194821993518", id="visa-19"),
    pytest.param("5555-5555-5555-4444", id="mastercard"),
    pytest.param("2221 0000 0000 0009", id="mastercard-2-series"),
    pytest.param("349093786579750", id="amex"),
    pytest.param("30091390996034", id="diners-14"),
    pytest.param("6011 1111 1111 1117", id="discover"),
    pytest.param("3530111333300000", id="jcb-16"),
    pytest.param("180026018159084", id="jcb-15-1800"),
    pytest.param("2131 0000 0000 001", id="jcb-15-2131"),
    pytest.param("560166131865", id="maestro-12"),
    pytest.param("6759.6498.2643.8453", id="maestro-dots"),
    pytest.param("6200 0000 0000 0005", id="unionpay"),
]


@pytest.mark.parametrize("number", CARDS)
def test_card_found(number: str) -> None:
    text = f"paid with {number} yesterday"
    found = [text[r.start : r.end] for r in CardRecognizer().analyze(text, ["CREDIT_CARD"])]
    assert found == [number]


BENIGN_NUMBERS = [
    pytest.param("4111 1111 1111 1112", id="luhn-invalid"),
    pytest.param("1717171717171", id="epoch-millis-13-digits"),
    pytest.param("123456789012", id="12-digits-not-maestro"),
    pytest.param("+4915112345678", id="e164-phone-not-card"),
    pytest.param("41111111111111111111", id="20-digits"),
]


@pytest.mark.parametrize("number", BENIGN_NUMBERS)
def test_card_benign_twins_survive(number: str) -> None:
    assert CardRecognizer().analyze(f"ref {number} ok", ["CREDIT_CARD"]) == []


def test_card_number_valid_checks_length_prefix_and_luhn() -> None:
    assert card_number_valid("4111111111111111")
    assert not card_number_valid("4111111111111112")
    assert not card_number_valid("41111111111")  # 11 digits
    assert not card_number_valid("4111-1111-1111-1111")  # digits only
