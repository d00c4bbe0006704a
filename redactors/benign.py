"""Benign structures the name and place detectors must leave alone: code and identifiers.

The small model (and the gazetteers behind it) read capitalised words inside code as names and
places: "Europe/Istanbul" becomes two places, "$FORMAT" a person, "HubSpot" a place and a half,
"Kafka topic" a person. A PERSON, LOCATION or ORGANIZATION finding is dropped when the token it
sits in is code-like:

- the finding is only part of a word ("Hub" of "HubSpot", "Format" of "getFormat");
- the token is a tz database name ("Europe/Istanbul", "America/Argentina/Buenos_Aires");
- the token is a variable or an identifier: "$FORMAT", "${HOME}", "%APPDATA%", "snake_case",
  "camelCase", "SCREAMING_CASE";
- the token is a path ("/home/app/Jenkins", "./Build", "C:\\Users", "deploy/Morgan") or a dotted module or file
  name ("Build.log", "Django.contrib.auth"), the word is followed by a member ("logger.info",
  "Client.Connect("), or the line is an import ("from Crypto.Cipher import AES");
- the token holds a placeholder run of one letter ("AKIAXXXXXXXXXXXXXXXX", "xoxp-XXXX-XXXX");
- the word is a product before the thing it is ("Kafka topic", "Grafana pod", "Okta SSO",
  "Zendesk admin", "Loki data source");
- a word of a name (not a place) is a compound with a long head ("HuggingFace", "PowerShell": a
  capital after four or more lower-case letters; "McDonald", "DeAndre", "LaToya" are names, and
  places such as "VirginieBourg" keep theirs);
- the token is a machine token: 24 or more characters without whitespace, with digits and both
  cases (a base64 line of a PGP block, a key blob);
- the line is a statement of a programming language (two signals or more of: ends with ; { },
  a call, an operator such as -> :: ==, a declaration keyword, an identifier) and the finding
  is one word in its code proper, not in a string literal or a comment ("public static final
  String", "(Swift.Bool)"; "name = \"Maria Lopez\"" and a line of prose keep their names);
- in text holding a code line, the finding is the first word of a comment ("// Alias models");
- the finding is the value of a field that names a thing, not a person or place ("Product:
  Nimbus 3", "model = Vela", "company": "Northwind Traders"), or the scheme of an Authorization header ("Authorization: Bearer
  eyJ..."), or an abbreviation labelling the number after it ("Tel. (713) 422-4655");
- a name (not a place: addresses hold house numbers) with a word of letters and digits in it
  ("chat gpt-4o", "Nimbus3"): a model, a SKU or a host, not a person.

Labels (``is_label``): one word that the gazetteer knows as no first name, surname or place,
and that is the object of a UI verb or a step of a menu path ("open Settings", "click Save",
"then Notifications", "Settings > Billing"), or the first word of a log line's message
("2024-05-01T10:22:01Z INFO worker-3 Processed batch 42"): capitalised by convention, no name.

Only names and places are judged here: structured PII (e-mail, phone, card ...) inside code is
still PII, and a secret is never benign. Names written with a slash between two capitalised
words ("Palmer/Courtney") are not paths.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from redactors import regexcache
from redactors.letters import LOWER, UPPER

NAME_ENTITIES = frozenset({"PERSON", "LOCATION", "ORGANIZATION"})

# A token: a run without whitespace, quotes or brackets around it.
_TOKEN_CHARS = regexcache.compile(r"[^\s\"'`()\[\]{}<>,;]+")
_TZ_NAME = regexcache.compile(r"(?:Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)(?:/[A-Za-z][A-Za-z0-9_+\-]*){1,2}")
_VARIABLE = regexcache.compile(r"\$\{?\w+\}?|%\w+%")
_IDENTIFIER = regexcache.compile(
    rf"\w*_\w+"  # snake_case, SCREAMING_CASE, _private
    rf"|[{LOWER}]+(?:[{UPPER}][{LOWER}0-9]*)+"  # camelCase
)
# A path: rooted, relative, three parts or more, or a lower-case kind before a name ("deploy/Morgan").
_PATH = regexcache.compile(r"(?:[A-Za-z]:\\|~?\.{0,2}/)[^\s]*|[^\s/]+(?:/[^\s/]+){2,}/?|[a-z][\w.-]+/[^\s/]+")
_PLACEHOLDER = regexcache.compile(r"([A-Za-z])\1{3}")  # "XXXX", "xxxx": a redacted or example value, never a name
_DOTTED = regexcache.compile(r"\w+(?:\.\w+)+")
# A member after the word: "logger.info", "Crypto.Cipher.AES", "Client.Connect(" (not "Maria.Lopez").
_ATTRIBUTE = regexcache.compile(r"\.(?:[a-z_]|[A-Z]\w*[.(])")
_IMPORT_LINE = regexcache.compile(r"(?m)^[ \t]*(?:from[ \t]+[\w.]+[ \t]+import|import)[ \t]")
# A compound with a long head: a capital after four or more lower-case letters ("HuggingFace").
_LONG_HEAD_COMPOUND = regexcache.compile(rf"[{UPPER}][{LOWER}]{{4,}}[{UPPER}]")
_MACHINE_TOKEN = regexcache.compile(r"(?=(?:\S*\d){2})(?=\S*[a-z])(?=\S*[A-Z])\S{24,}")
_LETTERS_AND_DIGITS = regexcache.compile(r"(?=[^\s]*\d)(?=[^\s]*[^\W\d_])[^\s]+")
# The value of a field that names a thing: "Product: Nimbus 3", '"model": "Vela"', "plan=Enterprise",
# '"company": "Northwind Traders"'.
_THING_FIELD = regexcache.compile(
    r"(?i)\b(?:product|plan|tier|sku|model|item|service|category|genre|device|browser|os|platform|app|"
    r"application|tool|package|library|framework|version|brand|edition|feature|component|module|"
    r"company|organi[sz]ation|employer|vendor|firm)"
    r"[\"']?[ \t]*[:=][ \t]*[\"']?\Z"
)
_AUTH_HEADER = regexcache.compile(r"(?i)\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?\Z")
_ABBREVIATION_BEFORE_NUMBER = regexcache.compile(r"\.[ \t]*[(+]?\d")
_FILE_EXTENSIONS = frozenset(
    "log txt json yaml yml toml ini cfg conf py js ts go rs java rb php cs cpp c h sh md csv xml html sql lock env".split()
)
# What a product is, after its name: "Kafka topic", "Grafana pod", "Okta SSO".
_PRODUCT_NOUN = regexcache.compile(
    r"[ \t]+(?:pods?|topics?|clusters?|connectors?|SSO|APIs?|SDKs?|dashboards?|plugins?|servers?|instances?|buckets?|"
    r"queues?|integrations?|workspaces?|repos?|repositor(?:y|ies)|webhooks?|endpoints?|containers?|images?|deployments?|"
    r"namespaces?|nodes?|pipelines?|config|console|CLI|drivers?|librar(?:y|ies)|modules?|packages?|extensions?|"
    r"databases?|indexes|tables?|schemas?|tickets?|broker|operator|helm chart|chart|provider|exporter|agent|"
    r"admins?|accounts?|data sources?|licen[cs]es?|subscriptions?|tenants?|orgs?|projects?|boards?|channels?|bots?|"
    r"roles?|docs|documentation|apps?|settings)\b"
)


# One line of a programming language: each signal counts once; two make a statement.
_KEYWORD_START = regexcache.compile(
    r"^[ \t]*(?:public|private|protected|internal|static|final|abstract|override|async|export|void|def|func|fn|"
    r"var|let|const|class|struct|interface|enum|import|package|return|using|namespace)[ \t]+[\w<>\[\].]+"
)
_IDENTIFIER = regexcache.compile(rf"(?<![\w.])(?:[{LOWER}]\w*_\w+|[A-Z][A-Z0-9]*_[A-Z0-9_]+|[a-z]+[A-Z]\w*|\w+\(\))")
_CODE_SIGNALS = (
    regexcache.compile(r"[;{}][ \t]*$"),  # ends a statement or opens/closes a block
    regexcache.compile(r"(?<![\w.])(?:[a-z_]\w*|\w+(?:\.\w+)+)\((?=[\w)\"'])"),  # a call: "f(x)", "a.b()"
    regexcache.compile(r"->|=>|::|==|!=|&&|\|\||\+=|:="),
    _KEYWORD_START,
    _IDENTIFIER,
)
# Every match of the first three signals holds one of these characters.
_SIGNAL_CHARS = ";{}(-=:!&|+"
# A line of prose: four words in a row, one of them a function word.
_PROSE_RUN = regexcache.compile(r"(?i)\b(?:[a-z']+[ \t]+){3,}[a-z']+\b")
_FUNCTION_WORD = regexcache.compile(r"(?i)\b(?:the|a|an|to|and|or|of|with|about|is|are|was|were|for|please|my|your|our|we|i|you)\b")
_COMMENT_START = regexcache.compile(r"[ \t]*(?://+|#+|/\*+|\*+|--)[ \t]*")
# UI verbs and navigation before a label: "open Settings", "click Save", "then Notifications", "Settings > Billing".
_UI_BEFORE = regexcache.compile(r"(?i)(?:\b(?:click|tap|press|open|select|choose|pick|toggle|enable|disable|expand|hit|then)(?:[ \t]+on)?(?:[ \t]+the)?|[>→»])[ \t]+\Z")
_LINE_REACH = 400
_UI_AFTER = regexcache.compile(r"[ \t]*[>→»]")
# A log line up to its message: a timestamp and/or a level, then up to two tokens (logger, thread).
_LOG_PREFIX = regexcache.compile(
    r"[ \t]*(?:\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\]?[ \t]+)?"
    r"\[?(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL)\]?:?[ \t]+(?:[^\s]+[ \t]+){0,2}?(?:-[ \t]+)?"
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


def _line(text: str, start: int) -> tuple[int, int]:
    """The line around `start`, at most `_LINE_REACH` characters either side (minified code)."""
    line_start = text.rfind("\n", max(0, start - _LINE_REACH), start) + 1 or max(0, start - _LINE_REACH)
    line_end = text.find("\n", start, start + _LINE_REACH)
    return line_start, min(len(text), start + _LINE_REACH) if line_end < 0 else line_end


def _is_code_line(line: str) -> bool:
    """At least two code signals and no run of prose. Without any of `_SIGNAL_CHARS` only the
    keyword and the identifier signals can hold: the keyword's, anchored at the start, is tried
    first, and most lines of prose end there."""
    if not any(ch in line for ch in _SIGNAL_CHARS):
        if _KEYWORD_START.search(line) is None or _IDENTIFIER.search(line) is None:
            return False
    elif sum(1 for signal in _CODE_SIGNALS if signal.search(line)) < 2:
        return False
    return not any(_FUNCTION_WORD.search(run.group()) for run in _PROSE_RUN.finditer(line))


def _literal_or_comment(line: str, at: int) -> bool:
    """Whether offset `at` of a code line is inside a string literal or a comment."""
    quote = ""
    for i, ch in enumerate(line[:at]):
        if quote:
            if ch == quote and line[i - 1] != "\\":
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif line.startswith(("//", "/*"), i) or (ch == "#" and (i == 0 or line[i - 1] in " \t")):
            return True
    return bool(quote)


def _in_code_statement(text: str, start: int, end: int) -> bool:
    """A one-word finding in the code proper of a statement line ("public static final String")."""
    if any(ch.isspace() for ch in text[start:end]):
        return False
    line_start, line_end = _line(text, start)
    line = text[line_start:line_end]
    return _code_line_of(text, line_start, line_end) and not _literal_or_comment(line, start - line_start)


_LAST_TEXT = threading.local()  # per thread: (the text last asked about, its lines' verdicts)


def _code_line_of(text: str, line_start: int, line_end: int) -> bool:
    """`_is_code_line` of text[line_start:line_end], once per line of a text: a paragraph with
    several one-word findings is one line, asked about for each of them."""
    memo = getattr(_LAST_TEXT, "memo", None)
    if memo is None or memo[0] is not text:
        memo = _LAST_TEXT.memo = (text, {})
    verdict = memo[1].get((line_start, line_end))
    if verdict is None:
        verdict = memo[1][(line_start, line_end)] = _is_code_line(text[line_start:line_end])
    return verdict


def _first_word_of_comment(text: str, start: int, end: int) -> bool:
    """A one-word finding opening a comment line of text that holds code ("// Alias models")."""
    line_start, _ = _line(text, start)
    marker = _COMMENT_START.match(text, line_start)
    if marker is None or marker.end() != start or " " in text[start:end]:
        return False
    near = text[max(0, start - 10 * _LINE_REACH) : start + 10 * _LINE_REACH]
    return any(_is_code_line(line) for line in near.splitlines())


def _opens_log_message(text: str, start: int) -> bool:
    line_start, _ = _line(text, start)
    return _LOG_PREFIX.fullmatch(text, line_start, start) is not None


def _names_a_thing(text: str, start: int, end: int) -> bool:
    """A field's value that names a thing, an auth scheme, or an abbreviation before a number."""
    before = text[max(0, start - 24) : start]
    if _THING_FIELD.search(before) or _AUTH_HEADER.search(before):
        return True
    return end - start <= 4 and " " not in text[start:end] and _ABBREVIATION_BEFORE_NUMBER.match(text, end) is not None


def is_label(text: str, start: int, end: int, known: Callable[[str], bool]) -> bool:
    """Whether the finding [start, end) is one word that `known` (the gazetteer: a first name,
    surname or place) does not know, in the place of a UI label or a log message's first word."""
    word = text[start:end]
    if not word.isalpha() or known(word) or text.startswith("'s", end):
        return False
    if _UI_BEFORE.search(text, max(0, start - 20), start) is not None or _UI_AFTER.match(text, end) is not None:
        return True
    return _opens_log_message(text, start)


def is_code_like(text: str, start: int, end: int, entity: str) -> bool:
    """Whether the name or place finding [start, end) of `text` sits in code or an identifier."""
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        return True  # part of a word
    if end < len(text) and (text[end].isalnum() or text[end] == "_"):
        return True
    left, right = _token(text, start, end)
    token = text[left:right].rstrip(".:!?").rpartition("=")[2]  # "TZ=Europe/Istanbul": the value
    if _TZ_NAME.fullmatch(token) or _VARIABLE.fullmatch(token) or _IDENTIFIER.fullmatch(token) or _PLACEHOLDER.search(token):
        return True
    if _PATH.fullmatch(token) or _dotted_code(token) or _ATTRIBUTE.match(text, end) or _MACHINE_TOKEN.fullmatch(token):
        return True
    if entity != "LOCATION" and _LONG_HEAD_COMPOUND.search(text, start, end):
        return True
    if _in_code_statement(text, start, end) or _first_word_of_comment(text, start, end):
        return True
    if _names_a_thing(text, start, end) or (entity != "LOCATION" and _LETTERS_AND_DIGITS.search(text, start, end)):
        return True
    line_start = text.rfind("\n", 0, start) + 1
    if _IMPORT_LINE.match(text, line_start):
        return True
    return " " not in text[start:end] and _PRODUCT_NOUN.match(text, end) is not None
