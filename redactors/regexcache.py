"""The redactors' own module-level regular expressions, compiled from a cache of their compiled form.

`re.compile` parses a pattern and turns it into the regex engine's code in pure Python: for the
address, name and signal patterns (some tens of kilobytes each) that was about 0.7 CPU s of
every start-up. This module keeps, per interpreter, the code `re` made for each pattern in one
file beside the gazetteer (redactors/startcache.py) and hands it straight to the engine
(`_sre.compile`, which checks the code before it runs any of it). A compiled pattern from here
equals ``re.compile(pattern, flags)`` (``Pattern.__eq__`` compares the pattern, the flags and the
code; tests/redactors/test_regexcache.py checks every pattern the engine compiles here).

It leans on `re`'s internals (`re._parser`, `re._compiler`, `_sre.compile`), checked once at
import on a sample pattern: where they differ from what this module expects (another Python),
every call is plain ``re.compile``.

Only for patterns built from the source itself, at import or in ``Redactor.build``: a pattern
the cache has not seen is compiled as `re` would (a bad one raises the same ``re.error``), and
`save` (at the end of ``Redactor.build``) rewrites the file with this process's patterns when
it missed any. Policy rules and secret rules keep ``re.compile``. The file holds patterns and
their code, no content.
"""

from __future__ import annotations

import _sre
import json
import re
import sys
from array import array
from pathlib import Path
from re import _compiler, _parser

from redactors import startcache

_FORMAT = 1
_TYPECODE = next(code for code in "HILQ" if array(code).itemsize == _sre.CODESIZE)
_HEADER = {"format": _FORMAT, "python": sys.version, "magic": _sre.MAGIC, "codesize": _sre.CODESIZE}

# (pattern, flags) -> (flags, code, groups, groupindex, indexgroup): the arguments of _sre.compile.
Key = tuple[str, int]
Entry = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]


class _Store:
    def __init__(self) -> None:
        self.cached: dict[Key, Entry] | None = None  # read from the file on first use
        self.used: dict[Key, Entry] = {}  # what this process compiled, in order
        self.missed = False

    def entries(self) -> dict[Key, Entry]:
        if self.cached is None:
            try:
                self.cached = _read(path().read_bytes())
            except (OSError, ValueError, TypeError, KeyError, IndexError):  # missing or damaged: start empty
                self.cached = {}
        return self.cached


_STORE = _Store()


def path() -> Path:
    return startcache.directory() / f"regex-{sys.implementation.cache_tag}.cache"


def compile(pattern: str, flags: int = 0) -> re.Pattern[str]:  # noqa: A001 (re.compile's name, on purpose)
    """``re.compile(pattern, flags)``, from the cached code when this pattern was seen before."""
    if not _SUPPORTED:
        return re.compile(pattern, flags)
    key = (pattern, int(flags))
    entry = _STORE.entries().get(key)
    if entry is not None:
        try:
            compiled = _sre.compile(pattern, *entry)
        except (TypeError, ValueError, RuntimeError, OverflowError):  # a damaged entry: compile it again
            entry = None
    if entry is None:
        entry = _derive(*key)
        compiled = _sre.compile(pattern, *entry)
        _STORE.missed = True
    _STORE.used[key] = entry
    return compiled


def _derive(pattern: str, flags: int) -> Entry:
    """What ``re._compiler.compile`` hands ``_sre.compile`` (raises re.error for a bad pattern)."""
    parsed = _parser.parse(pattern, flags)
    code = [int(op) for op in _compiler._code(parsed, flags)]
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    return flags | parsed.state.flags, code, parsed.state.groups - 1, groupindex, tuple(indexgroup)


def _internals_match() -> bool:
    """Whether `_derive` and `_sre.compile` give what ``re.compile`` gives, on a pattern with groups and flags."""
    sample, flags = r"(?P<word>[A-Z]\w+)[ ]+(\d{1,5})|(?i:box)", re.MULTILINE
    try:
        return _sre.compile(sample, *_derive(sample, flags)) == re.compile(sample, flags)
    except Exception:  # noqa: BLE001 (any failure of another Python's internals: use re.compile)
        return False


_SUPPORTED = _internals_match()


def _read(data: bytes) -> dict[Key, Entry]:
    """The file: one line of JSON (the header and each entry's arguments but its code), then
    every entry's code as one array of the engine's code words, in the order of the entries."""
    head, _, blob = data.partition(b"\n")
    document = json.loads(head)
    if document["header"] != _HEADER:
        return {}
    words = array(_TYPECODE)
    words.frombytes(blob)
    entries: dict[Key, Entry] = {}
    position = 0
    for pattern, flags, final_flags, length, groups, groupindex, indexgroup in document["entries"]:
        code = words[position : position + length].tolist()
        if len(code) != length:
            raise ValueError("truncated")
        position += length
        entries[pattern, flags] = (final_flags, code, groups, groupindex, tuple(indexgroup))
    return entries


def _write(entries: dict[Key, Entry]) -> bytes:
    rows = [
        [pattern, flags, final_flags, len(code), groups, groupindex, list(indexgroup)]
        for (pattern, flags), (final_flags, code, groups, groupindex, indexgroup) in entries.items()
    ]
    head = json.dumps({"header": _HEADER, "entries": rows}, ensure_ascii=True, separators=(",", ":"))
    words = array(_TYPECODE, [word for _, code, _, _, _ in entries.values() for word in code])
    return head.encode("ascii") + b"\n" + words.tobytes()


def save() -> bool:
    """Rewrite the file with this process's patterns if any was missing from it; True if written."""
    if not _STORE.missed or not startcache.write_atomic(path(), lambda handle: handle.write(_write(_STORE.used))):
        return False
    _STORE.missed = False
    _STORE.cached = dict(_STORE.used)
    return True
