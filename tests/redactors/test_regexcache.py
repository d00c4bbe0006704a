"""redactors/regexcache.py compiles the redactors' module-level patterns from cached engine code:
each must equal what `re.compile` makes (Pattern equality compares pattern, flags and code), the
file must survive a round trip, and a missing, foreign or damaged file or entry must only cost a
compile, never a different pattern."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import redactors.engine  # noqa: F401 (imports every module that compiles through the cache)
from redactors import gazetteer, regexcache

ENGINE_KEYS = list(regexcache._STORE.used)  # every pattern the engine's modules compiled at import

ROWS = [
    ("a plain word", r"\bstreet\b", 0, "12 Main street", "12 Main streets"),
    ("named groups", r"(?P<number>\d{1,5})[ ]+(?P<name>[A-Z][a-z]+)", 0, "at 221 Baker", "at Baker"),
    ("inline and passed flags", r"(?i:box)[ ]\d+", re.MULTILINE, "PO BOX 12", "PO BOX twelve"),
    ("a large alternation", "|".join(f"w{i}x" for i in range(3000)), 0, "see w2999x", "see w3000x"),
    ("non-ASCII and a lone surrogate", "stra\u00dfe|\ud800", 0, "Bergstra\u00dfe 4", "Bergstrasse 4"),
]


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store of its own, with its file in tmp_path (as the next process would see it)."""
    monkeypatch.setenv(gazetteer.ENV, str(tmp_path / "gazetteer.txt.gz"))
    monkeypatch.setattr(regexcache, "_STORE", regexcache._Store())
    return regexcache.path()


def _next_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(regexcache, "_STORE", regexcache._Store())


def test_every_engine_pattern_equals_re_compile() -> None:
    assert len(ENGINE_KEYS) > 100
    for pattern, flags in ENGINE_KEYS:
        assert regexcache.compile(pattern, flags) == re.compile(pattern, flags)


def test_the_engine_patterns_survive_the_file(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for pattern, flags in ENGINE_KEYS:
        regexcache.compile(pattern, flags)
    assert regexcache.save()
    _next_process(monkeypatch)
    for pattern, flags in ENGINE_KEYS:
        assert regexcache.compile(pattern, flags) == re.compile(pattern, flags)
    assert not regexcache._STORE.missed  # all from the file
    assert not regexcache.save()  # nothing new: not rewritten


@pytest.mark.parametrize(("pattern", "flags", "found", "benign"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_cached_patterns_match_as_re_does(fresh: Path, monkeypatch: pytest.MonkeyPatch, pattern: str, flags: int, found: str, benign: str) -> None:
    first = regexcache.compile(pattern, flags)  # a miss: compiled here
    assert regexcache.save()
    _next_process(monkeypatch)
    cached = regexcache.compile(pattern, flags)  # from the file
    assert not regexcache._STORE.missed
    expected = re.compile(pattern, flags)
    assert first == cached == expected
    assert cached.groupindex == expected.groupindex and cached.groups == expected.groups
    assert cached.search(found) is not None and cached.search(found).span() == expected.search(found).span()
    assert cached.search(benign) is None and expected.search(benign) is None


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: b"not json\n", id="not-json"),
        pytest.param(lambda data: data[: len(data) // 2], id="truncated-code"),
        pytest.param(lambda data: data.replace(b'"python":"', b'"python":"2.7 ', 1), id="another-interpreter"),
        pytest.param(lambda data: data[: data.index(b"\n") + 1] + b"\xff" * (len(data) - data.index(b"\n") - 1), id="garbage-code"),
    ],
)
def test_a_damaged_or_foreign_file_only_costs_a_compile(fresh: Path, monkeypatch: pytest.MonkeyPatch, damage) -> None:
    for _, pattern, flags, _, _ in ROWS:
        regexcache.compile(pattern, flags)
    assert regexcache.save()
    fresh.write_bytes(damage(fresh.read_bytes()))
    _next_process(monkeypatch)
    for _, pattern, flags, _, _ in ROWS:
        assert regexcache.compile(pattern, flags) == re.compile(pattern, flags)
    assert regexcache._STORE.missed
    assert regexcache.save()  # the file is written again


@pytest.mark.parametrize("pattern", [r"(unclosed", r"a{2,1}", r"(?P<x>a)(?P<x>b)", r"\p{L}"])
def test_a_bad_pattern_raises_as_re_does(fresh: Path, pattern: str) -> None:
    with pytest.raises(re.error) as ours:
        regexcache.compile(pattern)
    with pytest.raises(re.error) as theirs:
        re.compile(pattern)
    assert str(ours.value) == str(theirs.value)
    assert not regexcache._STORE.used


def test_an_unwritable_directory_still_compiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    monkeypatch.setenv(gazetteer.ENV, str(blocker / "gazetteer.txt.gz"))  # its directory is a file
    monkeypatch.setattr(regexcache, "_STORE", regexcache._Store())
    assert regexcache.compile(r"\d+[ ]Main") == re.compile(r"\d+[ ]Main")
    assert not regexcache.save()


_KEYS_DIGEST = (
    "import hashlib, redactors.engine; from redactors import regexcache;"
    "print(hashlib.sha256(repr(sorted(regexcache._STORE.used)).encode()).hexdigest())"
)


def test_the_engine_patterns_do_not_depend_on_the_hash_seed() -> None:
    """The file is keyed by each pattern's text: one built from a set in iteration order would
    differ in every process, miss, and rewrite the file at every start-up."""
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", _KEYS_DIGEST], env=env, capture_output=True, text=True, check=True)
        digests.add(done.stdout.strip())
    assert len(digests) == 1


def test_other_internals_fall_back_to_re_compile(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert regexcache._internals_match()  # this Python: the cache is used

    def changed_internals(pattern: str, flags: int) -> tuple:
        raise AttributeError("module 're._compiler' has no attribute '_code'")

    monkeypatch.setattr(regexcache, "_derive", changed_internals)
    assert not regexcache._internals_match()
    monkeypatch.setattr(regexcache, "_SUPPORTED", False)
    assert regexcache.compile(r"(?P<n>\d+)[ ]Main", re.I) == re.compile(r"(?P<n>\d+)[ ]Main", re.I)
    assert not regexcache._STORE.used and not regexcache.save()
