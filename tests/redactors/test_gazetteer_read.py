"""`redactors.gazetteer.read` cuts whole runs of one section out of the file (start-up reads
half a million lines): it must give exactly what reading the file line by line gives."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from redactors.gazetteer import SECTIONS, Gazetteer, GazetteerUnavailable, default_path, read


def _line_by_line(path: Path) -> Gazetteer:
    """The plain reading: each line is "section<TAB>entry" (text mode, universal newlines)."""
    sections: dict[str, set[str]] = {name: set() for name in SECTIONS}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            section, _, entry = line.rstrip("\n").partition("\t")
            if section not in sections:
                raise GazetteerUnavailable("foreign file")
            sections[section].add(entry)
    return Gazetteer(*(frozenset(sections[name]) for name in ("first", "last", "place", "common", "country", "town")))


CASES = {
    "grouped, as build writes it": "first\tana\nfirst\tluis\nlast\tnišević\nplace\tväxjö\nplace\tyork\ntown\tzweins\n",
    "a section in two runs": "first\tana\nlast\tkim\nfirst\tluis\nfirst\tmarta\nlast\tlee\n",
    "sections interleaved line by line": "first\ta\nlast\tb\nfirst\tc\nlast\td\nfirst\te\n",
    "a prefix inside an entry": "first\tfirst\tx\nfirst\ty\nlast\tfirst\tz\n",
    "a section name that prefixes another": "place\tparis\nplace\tplaces\ncountry\tperu\n",
    "empty entries and a tab in an entry": "first\t\nfirst\ta\tb\nlast\t\n",
    "no newline at the end": "first\tana\nlast\tkim",
    "CRLF and a lone CR": "first\tana\r\nfirst\tbo\rlast\tkim\r\n",
    "one line": "country\tperu\n",
    "empty file": "",
    "a line without a tab": "first\tana\ncommon\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_read_matches_the_line_by_line_reading(tmp_path: Path, name: str) -> None:
    path = tmp_path / "g.txt.gz"
    with gzip.open(path, "wb") as out:
        out.write(CASES[name].encode("utf-8"))
    assert read(path) == _line_by_line(path)


@pytest.mark.parametrize("text", ["first\tana\nsurname\tx\n", "surname\tx\n", "first\tana\nfirst\n\nlast\tkim\n", "first\ta\nlast\tb\nfirst\tc\nbogus\td\n"])
def test_foreign_sections_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "g.txt.gz"
    with gzip.open(path, "wb") as out:
        out.write(text.encode("utf-8"))
    with pytest.raises(GazetteerUnavailable):
        _line_by_line(path)
    with pytest.raises(GazetteerUnavailable):
        read(path)


def test_installed_gazetteer_reads_the_same_as_line_by_line() -> None:
    path = default_path()
    assert read(path) == _line_by_line(path)
