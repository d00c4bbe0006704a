"""The public evaluation sets and the per-source comparison: splits by template, determinism,
the address and ordinary-word rules, and that the wheel carries no evaluation data."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import phonenumbers
import pytest

from bench.eval import public
from bench.eval.compare import Side, address_leaked, format_comparison, tally, verdicts, words_changed
from bench.eval.corpus import load

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return public.all_rows()


def test_public_sets_are_deterministic(rows: list[dict]) -> None:
    assert public.all_rows() == rows


def test_every_public_source_has_a_held_out_part_per_entity(rows: list[dict]) -> None:
    by_source: dict[str, Counter] = {}
    for row in rows:
        for p in row["planted"]:
            by_source.setdefault(row["source"], Counter())[(row["split"], p["entity"])] += 1
    faker = by_source["faker"]
    for entity in ("PERSON", "LOCATION", public.ADDRESS, "PHONE_NUMBER", "CREDIT_CARD", "EMAIL_ADDRESS", "IBAN_CODE", "US_SSN", "IP_ADDRESS"):
        assert faker[("dev", entity)] > 0 and faker[("test", entity)] > 0, entity
    assert by_source["libphonenumber"][("test", "PHONE_NUMBER")] >= 100
    assert by_source["presidio-templates"][("test", "PERSON")] >= 50


def test_split_is_by_template_and_stable() -> None:
    patterns = [f"fam/t{i}" for i in range(20)] + ["solo/only"]
    split = public.split_by_template(patterns)
    assert split == public.split_by_template(reversed(patterns))
    assert sum(v == "test" for k, v in split.items() if k.startswith("fam/")) == 7  # 35% of 20
    assert split["solo/only"] == "dev"
    corpus_split = public.with_split([{**r, "source": "dev-corpus"} for r in load()])
    for pattern in {r["pattern"] for r in corpus_split}:
        assert len({r["split"] for r in corpus_split if r["pattern"] == pattern}) == 1


def test_planted_values_are_in_their_text_and_valid(rows: list[dict]) -> None:
    for row in rows:
        for p in row["planted"]:
            assert p["value"] in row["text"], row["id"]
    numbers = [p["value"] for r in rows if r["source"] == "libphonenumber" for p in r["planted"]]
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(n.split(" x")[0].split(" ext")[0].split(", ext")[0], "US" if not n.startswith("+") else None)) for n in numbers if n.startswith("+"))


def test_card_types_cover_jcb15_and_maestro12() -> None:
    v = public.Values(public.random.Random(1))
    lengths = {len(v.faker(("en_US",)).credit_card_number(card_type=t)) for t in ("jcb15", "maestro")}
    assert lengths == {15, 12}


ADDRESS_ROWS = [
    pytest.param("12 Baker Street, London", "ship to 12 Baker Street, London today", "ship to <LOCATION> today", False, id="masked"),
    pytest.param("12 Baker Street, London", "ship to 12 Baker Street, London today", "ship to <LOCATION>, London today", True, id="city-left"),
    pytest.param("12 Baker Street, London", "ship to 12 Baker Street, London today", "ship to 12 <LOCATION> today", False, id="house-number-alone-is-2-digits"),
    pytest.param("4410 Baker Street", "to 4410 Baker Street now", "to 4410 <LOCATION> now", True, id="house-number-left"),
    pytest.param("4410 Baker Street", "to 4410 Baker Street now", "to <LOCATION> Street now", False, id="generic-street-word-left"),
    pytest.param("1 London Road, London", "London office: 1 London Road, London", "London office: <LOCATION>", False, id="word-also-outside"),
]


@pytest.mark.parametrize(("value", "text", "output", "leaked"), ADDRESS_ROWS)
def test_address_leak_rule(value: str, text: str, output: str, leaked: bool) -> None:
    assert address_leaked(value, text, output) is leaked


def test_words_changed_counts_prose_outside_planted_values() -> None:
    text = "Please call Maria Lopez about the Acme invoice today"
    planted = [{"value": "Maria Lopez", "entity": "PERSON"}]
    assert words_changed(text, planted, "Please call <PERSON> about the Acme invoice today") == (7, 0)
    assert words_changed(text, planted, "Please call <PERSON> about the <PERSON> invoice today") == (7, 1)
    # Identifiers and key=value syntax are not prose.
    assert words_changed("user=alice id a3f9c0de ok", [], "user=<X> id <X> ok") == (2, 0)


def test_comparison_table_and_verdicts() -> None:
    rows = [
        {"source": "faker", "split": "test", "text": "call Ana Ruiz now", "planted": [{"value": "Ana Ruiz", "entity": "PERSON"}]},
        {"source": "faker", "split": "test", "text": "mail ana@x.io now", "planted": [{"value": "ana@x.io", "entity": "EMAIL_ADDRESS"}]},
    ]
    ours = tally(rows, ["call <PERSON> now", "mail ana@x.io now"])
    theirs = tally(rows, ["call <PERSON> now", "mail <EMAIL_ADDRESS> now"])
    side = ours[("faker", "test")]
    assert side.recall("PERSON") == 1.0 and side.recall("EMAIL_ADDRESS") == 0.0 and side.recall("US_SSN") is None
    missed = verdicts(side, theirs[("faker", "test")])
    assert "EMAIL_ADDRESS 0.0% < 99%" in missed and any("below naive Presidio" in m for m in missed)
    table, all_missed = format_comparison(ours, theirs)
    assert "faker" in table and "Ana" not in table and "ana@x.io" not in table  # no values printed
    assert all_missed and all(m.startswith("faker/test: ") for m in all_missed)
    assert verdicts(Side(), None) == []


def test_wheel_carries_no_evaluation_data() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not any(name.startswith("bench") for name in include)
    assert "redactors" not in project["tool"]["setuptools"].get("package-data", {})
    assert not (ROOT / "redactors" / "data").exists()
    assert "Faker==40.54.0" in project["project"]["optional-dependencies"]["test"]
    assert not any(dep.lower().startswith("faker") for dep in project["project"]["dependencies"])
