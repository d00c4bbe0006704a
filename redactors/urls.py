"""Identifiers inside URLs (`url.full`, `url.query`, `http.url`, ...).

Query values and id-like path segments become keyed pseudonyms; credentials in the authority
and secret-named query parameters are stripped. Only values that cannot identify anyone (small
numbers, booleans, sort words) are kept, so that the URL stays useful for debugging.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import unquote, urlsplit, urlunsplit

from redactors.detectors.secrets import KeyClassifier
from redactors.identifiers import TenantPseudonymizer

IDENTIFIER_ENTITY = "IDENTIFIER"
_KEEP_VALUES = frozenset({"true", "false", "asc", "desc", "json", "xml", "html", "csv", "yes", "no", "on", "off"})
_SMALL_NUMBER = re.compile(r"\d{1,4}")
# Path segments that carry an identity: emails, long numbers, UUID/hex ids, mixed letter+digit
# tokens. Plain words ("users", "v1", "orders") are route structure and stay.
_ID_SEGMENT = re.compile(
    r".*@.*|\d{5,}|[0-9a-fA-F]{8,}|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27,}|(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-.]{8,}"
)


def _redact_query(query: str, pseudo: TenantPseudonymizer, rules: KeyClassifier, counts: Counter[str]) -> str:
    parts = []
    for pair in query.split("&"):
        key, sep, value = pair.partition("=")
        if not sep or not value:
            parts.append(pair)
            continue
        kind = rules.key_kind(unquote(key))
        if kind is not None:
            parts.append(f"{key}=<SECRET:{kind}>")
            counts["SECRET"] += 1
        elif value.lower() in _KEEP_VALUES or _SMALL_NUMBER.fullmatch(value):
            parts.append(pair)
        else:
            parts.append(f"{key}={pseudo.identifier(unquote(value.replace('+', ' ')))}")
            counts[IDENTIFIER_ENTITY] += 1
    return "&".join(parts)


def _redact_path(path: str, pseudo: TenantPseudonymizer, counts: Counter[str]) -> str:
    segments = path.split("/")
    for index, segment in enumerate(segments):
        if segment and _ID_SEGMENT.fullmatch(unquote(segment)):
            segments[index] = pseudo.identifier(unquote(segment))
            counts[IDENTIFIER_ENTITY] += 1
    return "/".join(segments)


def redact_url(value: str, pseudo: TenantPseudonymizer, rules: KeyClassifier) -> tuple[str, Counter[str]]:
    """Return the URL with identifiers pseudonymised and credentials stripped, and the counts."""
    counts: Counter[str] = Counter()
    if "://" not in value and not value.startswith("/") and "=" in value and "?" not in value:
        # A bare query string (url.query carries no leading '?').
        return _redact_query(value, pseudo, rules, counts), counts
    parts = urlsplit(value)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "<SECRET:url_credentials>@" + netloc.rsplit("@", 1)[1]
        counts["SECRET"] += 1
    path = _redact_path(parts.path, pseudo, counts)
    query = _redact_query(parts.query, pseudo, rules, counts) if parts.query else ""
    fragment = parts.fragment
    if fragment:
        fragment = pseudo.identifier(unquote(fragment))
        counts[IDENTIFIER_ENTITY] += 1
    return urlunsplit((parts.scheme, netloc, path, query, fragment)), counts
