"""Benign structures the name and place detectors must leave alone: code and identifiers.

The small model (and the gazetteers behind it) read capitalised words inside code as names and
places: "Europe/Istanbul" becomes two places, "$FORMAT" a person, "HubSpot" a place and a half,
"Kafka topic" a person. A PERSON, LOCATION or ORGANIZATION finding is dropped when the token it
sits in is code-like:

- the finding is only part of a word ("Hub" of "HubSpot", "Format" of "getFormat");
- the token is a tz database name ("Europe/Istanbul", "America/Argentina/Buenos_Aires");
- the token is a variable or an identifier: "$FORMAT", "${HOME}", "%APPDATA%", "snake_case",
  "camelCase", "SCREAMING_CASE";
- the token is a path ("/home/app/Jenkins", "./Build", "C:\\Users") or a dotted module or file
  name ("Build.log", "Django.contrib.auth"), the word is followed by a member ("logger.info",
  "Client.Connect("), or the line is an import ("from Crypto.Cipher import AES");
- the token holds a placeholder run of one letter ("AKIAXXXXXXXXXXXXXXXX", "xoxp-XXXX-XXXX");
- the word is a product before the thing it is ("Kafka topic", "Grafana pod", "Okta SSO").

Only names and places are judged here: structured PII (e-mail, phone, card ...) inside code is
still PII, and a secret is never benign. Names written with a slash between two capitalised
words ("Palmer/Courtney") are not paths.
"""

from __future__ import annotations

import re

from redactors.letters import LOWER, UPPER

NAME_ENTITIES = frozenset({"PERSON", "LOCATION", "ORGANIZATION"})

# A token: a run without whitespace, quotes or brackets around it.
_TOKEN_CHARS = re.compile(r"[^\s\"'`()\[\]{}<>,;]+")
_TZ_NAME = re.compile(r"(?:Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)(?:/[A-Za-z][A-Za-z0-9_+\-]*){1,2}")
_VARIABLE = re.compile(r"\$\{?\w+\}?|%\w+%")
_IDENTIFIER = re.compile(
    rf"\w*_\w+"  # snake_case, SCREAMING_CASE, _private
    rf"|[{LOWER}]+(?:[{UPPER}][{LOWER}0-9]*)+"  # camelCase
)
_PATH = re.compile(r"(?:[A-Za-z]:\\|~?\.{0,2}/)[^\s]*|[^\s/]+(?:/[^\s/]+){2,}/?")
_PLACEHOLDER = re.compile(r"([A-Za-z])\1{3}")  # "XXXX", "xxxx": a redacted or example value, never a name
_DOTTED = re.compile(r"\w+(?:\.\w+)+")
# A member after the word: "logger.info", "Crypto.Cipher.AES", "Client.Connect(" (not "Maria.Lopez").
_ATTRIBUTE = re.compile(r"\.(?:[a-z_]|[A-Z]\w*[.(])")
_IMPORT_LINE = re.compile(r"(?m)^[ \t]*(?:from[ \t]+[\w.]+[ \t]+import|import)[ \t]")
_FILE_EXTENSIONS = frozenset(
    "log txt json yaml yml toml ini cfg conf py js ts go rs java rb php cs cpp c h sh md csv xml html sql lock env".split()
)
# What a product is, after its name: "Kafka topic", "Grafana pod", "Okta SSO".
_PRODUCT_NOUN = re.compile(
    r"[ \t]+(?:pods?|topics?|clusters?|connectors?|SSO|APIs?|SDKs?|dashboards?|plugins?|servers?|instances?|buckets?|"
    r"queues?|integrations?|workspaces?|repos?|repositor(?:y|ies)|webhooks?|endpoints?|containers?|images?|deployments?|"
    r"namespaces?|nodes?|pipelines?|config|console|CLI|drivers?|librar(?:y|ies)|modules?|packages?|extensions?|"
    r"databases?|indexes|tables?|schemas?|tickets?|broker|operator|helm chart|chart|provider|exporter|agent)\b"
)


def _token(text: str, start: int, end: int) -> tuple[int, int]:
    """The token around [start, end): the finding grown to the nearest whitespace, quote or bracket."""
    left = start
    while left > 0 and _TOKEN_CHARS.fullmatch(text[left - 1]):
        left -= 1
    right = end
    while right < len(text) and _TOKEN_CHARS.fullmatch(text[right]):
        right += 1
    return left, right


def _dotted_code(token: str) -> bool:
    if not _DOTTED.fullmatch(token):
        return False
    parts = token.split(".")
    return len(parts) >= 3 or parts[-1].lower() in _FILE_EXTENSIONS or any(part[:1].islower() for part in parts)


def is_code_like(text: str, start: int, end: int) -> bool:
    """Whether the name or place finding [start, end) of `text` sits in code or an identifier."""
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        return True  # part of a word
    if end < len(text) and (text[end].isalnum() or text[end] == "_"):
        return True
    left, right = _token(text, start, end)
    token = text[left:right].rstrip(".:!?").rpartition("=")[2]  # "TZ=Europe/Istanbul": the value
    if _TZ_NAME.fullmatch(token) or _VARIABLE.fullmatch(token) or _IDENTIFIER.fullmatch(token) or _PLACEHOLDER.search(token):
        return True
    if _PATH.fullmatch(token) or _dotted_code(token) or _ATTRIBUTE.match(text, end):
        return True
    line_start = text.rfind("\n", 0, start) + 1
    if _IMPORT_LINE.match(text, line_start):
        return True
    return " " not in text[start:end] and _PRODUCT_NOUN.match(text, end) is not None
