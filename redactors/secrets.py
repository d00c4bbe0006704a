"""Secret detection: API keys, tokens, private keys and credentials, by key name and by value.

Two questions, both answered by a :class:`SecretRules` built once with :meth:`SecretRules.compile`:

* :meth:`SecretRules.key_kind` -- does this key NAME (``db.password``, ``X-Api-Key``, ``apiKey``)
  say that its value is a secret? Used by the walker for attribute keys and JSON keys.
* :meth:`SecretRules.scan` -- where are secret VALUES in this text? Provider token formats
  (``AKIA...``, ``ghp_...``, ``sk-ant-...``), JWTs, PEM private keys, ``Bearer``/``Basic``
  credentials, ``user:password@`` in URLs, ``password=...`` style assignments and high-entropy
  values assigned to key-ish names.

Every finding's ``kind`` is a fixed rule id from the tables below (``"custom"`` for the user's
extra key names); nothing is ever derived from the input. Nothing here prints or logs, and no
exception message contains scanned text or a matched value.

Speed: all regexes are compiled at import time and shared by every rule set. Each value rule
carries literal strings of which at least one must occur in the text (``"AKIA"``, ``"eyJ"``,
...), so for a typical span attribute almost every rule is skipped after a few ``in`` checks.
Token rules start with a literal character followed by a fixed-width look-behind (instead of a
leading look-behind), which keeps the regex engine's fast literal-prefix search *and* makes a
match inside a longer run of token characters fail at once -- the latter also keeps runs such
as ``eyJeyJeyJ...`` from turning into quadratic rescans.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import TypeVar

import ahocorasick_rs

from redactors.conflicts import resolve
from redactors.known_secrets import KnownSecrets
from redactors.secret_rules import (
    BUILTIN_RULES,
    CHECKS,
    TRIMS,
    Check,
    Rule,
    Trim,
    b64decode,
)
from redactors.secret_rules import (
    P_ASSIGN as _P_ASSIGN,
)
from redactors.secret_rules import (
    P_CONTEXT as _P_CONTEXT,
)
from redactors.secret_rules import (
    P_ENTROPY as _P_ENTROPY,
)

__all__ = ["BUILTIN_RULES", "CUSTOM_KIND", "GENERIC_KIND", "KNOWN_KIND", "Rule", "SecretFinding", "SecretRules", "compile_rules"]

CUSTOM_KIND = "custom"  # key names added by the user's config
GENERIC_KIND = "generic_secret"  # high-entropy value assigned to a key-ish name
KNOWN_KIND = "known"  # a token whose keyed digest the tenant registered
K8S_KIND = "k8s_secret"  # a value of a Kubernetes Secret's data
_P_KNOWN = 50  # the tenant's own word beats every rule
_P_ENCODED = 45  # an encoded run holding a secret: the run is the finding

# Encoded secrets: base64 (standard or URL-safe) and hex runs long enough to hold a token, that
# decode to mostly printable text. Random bytes (hashes, nonces) decode to binary and are skipped.
_B64_RUN = re.compile(r"(?<![A-Za-z0-9+/=_\-])[A-Za-z0-9+/_\-]{24,4096}={0,2}(?![A-Za-z0-9+/=_\-])")
_LONG_RUN_CHARS = 24
_LONG_RUN = re.compile(r"(?<![^\s\"'`<>(){}\[\],;])[^\s\"'`<>(){}\[\],;]{%d,}" % _LONG_RUN_CHARS)
_HEX_RUN = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){16,2048}(?![0-9A-Fa-f])")


def _printable(raw: bytes) -> str | None:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    shown = sum(1 for c in decoded if c.isprintable() or c in "\n\r\t")
    return decoded if len(decoded) >= _MIN_TEXT_LEN and shown >= 0.95 * len(decoded) else None


def _from_base64(value: str) -> str | None:
    if value.islower() or value.isupper() or not any(c.isdigit() for c in value):
        return None  # a word or an identifier, not an encoding (encoded text mixes case and digits)
    raw = b64decode(value, urlsafe="-" in value or "_" in value)
    return _printable(raw) if raw is not None else None


def _from_hex(value: str) -> str | None:
    try:
        return _printable(bytes.fromhex(value))
    except ValueError:
        return None


_ENCODINGS = ((_B64_RUN, _from_base64), (_HEX_RUN, _from_hex))

# Texts shorter than this cannot hold any secret we detect ("pwd=abc" is the shortest form
# that still says something), so they skip all the work.
_MIN_TEXT_LEN = 8

_MAX_EXTRA_KEY_LEN = 128
_EXTRA_KEY_RX = re.compile(r"[A-Za-z0-9_.\-]+")

# key_kind results are cached per rule set: telemetry repeats the same few hundred keys.
_KEY_CACHE_MAX = 4096
_KEY_CACHE_MAX_KEY_LEN = 128


@dataclass(frozen=True, slots=True)
class SecretFinding:
    """A secret in scanned text: ``text[start:end]``, of a fixed ``kind`` from our rule table."""

    start: int  # offsets into the scanned text, end exclusive
    end: int
    kind: str


# =============================================================================== key names

_NON_ALNUM = re.compile(r"[^A-Za-z0-9]+")
# camelCase and ACRONYMCase: "XApiKey" -> X, Api, Key; "AWSSecretKey" -> AWS, Secret, Key.
_CAMEL_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def _key_words(key: str) -> list[str]:
    """Lower-case words of a key name: separators (anything not A-Z/0-9) and camelCase split."""
    # "OAuth" is one word, not O + Auth (which would make "OAuth" look like an "auth" key).
    key = key.replace("OAuth", "Oauth")
    return [w.lower() for part in _NON_ALNUM.split(key) if part for w in _CAMEL_WORD.findall(part)]


@dataclass(frozen=True, slots=True)
class _KeyPhrase:
    text: str  # the phrase's words joined without separators, lower-case ("apikey")
    stem: str  # its longest word: every key the phrase matches contains it, lower-cased
    kind: str
    plural: bool  # also matches with a trailing "s" ("passwords", "api_keys")
    loose: bool  # may start inside a word ("dbpassword", "xapikey"): only for long, distinctive phrases
    final: bool  # must be the last word of the key ("proxy_auth", but not "auth_method")
    tokenish: bool  # an LLM "token" word: extra count-like neighbours make it structural


def _phrase(words: str, kind: str, *, loose: bool | None = None, final: bool = False) -> _KeyPhrase:
    text = words.replace(" ", "")
    tokenish = text.endswith("token")
    return _KeyPhrase(
        text=text,
        stem=max(words.split(), key=len),
        kind=kind,
        # "*_tokens" are counts in every LLM semantic convention, never credentials.
        plural=not tokenish and text != "bearer",
        loose=(len(text) >= 5) if loose is None else loose,
        final=final,
        tokenish=tokenish,
    )


# Order matters: the first phrase that matches decides the kind, so specific before generic.
_BUILTIN_PHRASES: tuple[_KeyPhrase, ...] = (
    _phrase("aws secret access key", "secret_key"),
    _phrase("secret access key", "secret_key"),
    _phrase("proxy authorization", "authorization"),
    _phrase("client secret", "client_secret"),
    _phrase("consumer secret", "client_secret"),
    _phrase("app secret", "client_secret"),
    _phrase("session secret", "session_key"),
    _phrase("session key", "session_key"),
    _phrase("session token", "token"),
    _phrase("security token", "token"),
    _phrase("access token", "token"),
    _phrase("refresh token", "token"),
    _phrase("id token", "token"),
    _phrase("auth token", "token"),
    _phrase("api token", "token"),
    _phrase("bearer token", "token"),
    _phrase("csrf token", "token"),
    _phrase("xsrf token", "token"),
    _phrase("private key", "private_key"),
    _phrase("priv key", "private_key"),
    _phrase("secret key", "secret_key"),
    _phrase("signing key", "secret_key"),
    _phrase("encryption key", "secret_key"),
    _phrase("master key", "secret_key"),
    _phrase("api key", "api_key"),
    _phrase("access key", "api_key"),
    _phrase("account key", "api_key"),
    _phrase("subscription key", "api_key"),
    _phrase("app key", "api_key"),
    _phrase("connection string", "dsn"),
    _phrase("conn string", "dsn"),
    _phrase("conn str", "dsn"),
    _phrase("set cookie", "cookie"),
    # A bare "signature" is usually a function signature or an opaque model blob (Anthropic's
    # thinking "signature"); only request-signing signatures are credentials (a presigned URL's
    # X-Amz-Signature works as a bearer token until it expires).
    _phrase("amz signature", "signature"),
    _phrase("goog signature", "signature"),
    _phrase("hub signature", "signature"),
    _phrase("webhook signature", "signature"),
    _phrase("stripe signature", "signature"),
    _phrase("request signature", "signature"),
    _phrase("x signature", "signature"),
    _phrase("authorization", "authorization"),
    _phrase("password", "password"),
    _phrase("passwd", "password"),
    _phrase("passphrase", "password"),
    _phrase("passcode", "password"),
    _phrase("pwd", "password"),
    _phrase("credential", "credentials"),
    _phrase("creds", "credentials"),
    _phrase("cookie", "cookie"),
    _phrase("dsn", "dsn"),
    _phrase("bearer", "token", loose=False),  # not loose: "cupbearer"
    _phrase("token", "token"),
    _phrase("secret", "secret"),
    _phrase("sig", "signature"),  # Azure SAS / signed URLs: "&sig=..."
    # "auth" alone ("auth", "basic_auth", "proxy_auth") holds credentials; followed by anything
    # ("auth_method", "auth_enabled", "auth_provider") it describes the auth instead.
    _phrase("auth", "authorization", final=True),
)

# A neighbouring word that makes the value a property OF the secret rather than the secret:
# "token_count", "password_length", "api_key_id", "secret_name", "private_key_path".
_SUFFIX_DESCRIPTORS = frozenset(
    {
        "count", "counts", "num", "len", "length", "size", "limit", "limits", "max", "min", "total",
        "usage", "type", "types", "id", "ids", "name", "names", "budget", "ttl", "expiry", "expires",
        "expire", "expiration", "lifetime", "index", "idx", "offset", "offsets", "position", "rate",
        "ratio", "latency", "time", "ms", "version", "path", "file", "filename", "dir", "location",
        "url", "uri", "endpoint", "arn", "manager", "provider",
    }
)  # fmt: skip
_PREFIX_DESCRIPTORS = frozenset({"max", "min", "num", "total", "count", "n"})
# Extra neighbours for "token" only: LLM telemetry is full of tokens that are text pieces or
# counts ("input_token", "eos_token", "time_to_first_token", "token_logprobs", "cost_per_token").
_TOKEN_SUFFIX_DESCRIPTORS = frozenset(
    {"logprob", "logprobs", "prob", "probs", "str", "strs", "text", "bytes", "cost", "price", "estimate",
     "estimated", "window", "healing", "per"}
)  # fmt: skip
_TOKEN_PREFIX_DESCRIPTORS = frozenset(
    {"input", "output", "prompt", "completion", "cached", "cache", "reasoning", "audio", "image", "text",
     "eos", "bos", "pad", "unk", "sep", "cls", "mask", "special", "start", "end", "stop", "first", "last",
     "per", "generated", "new", "vocab", "decoder", "encoder"}
)  # fmt: skip

# Last words of a key that make a long random value assigned to it suspicious even though the
# name itself is not a secret name ("stripe_key", "hmac_salt", "webhook_pat").
_KEYISH_LAST_WORDS = frozenset({"key", "keys", "secret", "secrets", "token", "pass", "pw", "pat", "salt", "hmac", "sig"})
# ... unless the name says the value is public.
_PUBLIC_WORDS = frozenset({"public", "pub", "publishable"})
# Words that contain a secret word but name something else ("io.jsonwebtoken" is a Java package).
_NOT_SECRET_WORDS = frozenset({"jsonwebtoken"})


# ============================================================================ value rules
# The rule table is data (redactors/secret_rules.py); here it is checked and compiled once, at
# import: a bad rule refuses to start.

_RULE_ID = re.compile(r"[a-z0-9][a-z0-9\-]{1,80}")
_KIND_RX = re.compile(r"[a-z0-9][a-z0-9_]{1,60}")
_MAX_KEYWORD_LEN = 64
# A keyword shorter than this occurs too often to anchor windows; its rules run over the text.
_MIN_ANCHOR_LEN = 3


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One :class:`Rule` ready to run: its regexes compiled and its validators resolved."""

    rule: Rule
    regex: re.Pattern[str]
    groups: tuple[str | int, ...]  # the first that took part is the secret
    allow: tuple[re.Pattern[str], ...]
    check: Check | None
    trim: Trim | None

    @property
    def kind(self) -> str:
        return self.rule.kind


def _compile_rule(rule: Rule) -> CompiledRule:
    where = f"secret rule {rule.id!r}"
    if not isinstance(rule, Rule):
        raise ValueError("secret rules must be Rule objects")
    if _RULE_ID.fullmatch(rule.id) is None:
        raise ValueError(f"{where}: the id must be lower-case letters, digits and '-'")
    if _KIND_RX.fullmatch(rule.kind) is None:
        raise ValueError(f"{where}: the kind must be lower-case letters, digits and '_'")
    if not rule.keywords or any(
        not isinstance(k, str) or not k or k != k.lower() or len(k) > _MAX_KEYWORD_LEN for k in rule.keywords
    ):
        raise ValueError(f"{where}: needs one or more keywords, each a non-empty lower-case string")
    try:
        regex = re.compile(rule.pattern)
        allow = tuple(re.compile(a) for a in rule.allow)
    except re.error as exc:
        raise ValueError(f"{where}: a pattern does not compile ({exc.msg})") from None
    groups = rule.secret_group if isinstance(rule.secret_group, tuple) else (rule.secret_group,)
    for group in groups:
        if not (group == 0 or group in regex.groupindex or (isinstance(group, int) and 0 < group <= regex.groups)):
            raise ValueError(f"{where}: the secret group {group!r} is not in the pattern")
    if not 0.0 <= rule.entropy <= 8.0:
        raise ValueError(f"{where}: the entropy floor must lie between 0 and 8 bits per character")
    if rule.check and rule.check not in CHECKS:
        raise ValueError(f"{where}: unknown check {rule.check!r}")
    if rule.trim and rule.trim not in TRIMS:
        raise ValueError(f"{where}: unknown trim {rule.trim!r}")
    if rule.window is not None and (not isinstance(rule.window, int) or rule.window < 1):
        raise ValueError(f"{where}: the window must be a positive number of characters or None")
    return CompiledRule(
        rule, regex, groups, allow, CHECKS[rule.check] if rule.check else None, TRIMS[rule.trim] if rule.trim else None
    )


def compile_rules(rules: Iterable[Rule]) -> tuple[CompiledRule, ...]:
    """Check and compile a rule table; raises ``ValueError`` naming the first bad rule."""
    out: list[CompiledRule] = []
    seen: set[str] = set()
    for rule in rules:
        compiled = _compile_rule(rule)
        if rule.id in seen:
            raise ValueError(f"secret rule {rule.id!r}: the id is used twice")
        seen.add(rule.id)
        out.append(compiled)
    return tuple(out)


_BUILTIN_COMPILED = compile_rules(BUILTIN_RULES)


def _has_digit(s: str) -> bool:
    return any(c.isdigit() for c in s)

# Separator between a key and its value for the generic assignment scan (see KEY_TO_VALUE).
_KEY_SEP = r"(?:\\*[\"'`])?\]?[ \t]*(?:::?:?=|\?=|\+=|\.=|=>|<-|\|\|=?|[:=]|(?<=[\"'])(?P<comma>,))[ \t]*"
# A typed declaration: Go "var apiToken string = ...", TypeScript/Kotlin "apiKey: string = ...".
# Found from the type (a literal, so the search is fast), then the key is read backwards.
_TYPED_RX = re.compile(
    r"(?:string|String|str|&str|\[\]byte)[ \t]*=[ \t]*(?P<q>[\"'`])(?P<v>(?:(?!(?P=q))[^\\\r\n]|\\.)*)(?P=q)"
)
_TYPED_KEY = re.compile(r"(?<![A-Za-z0-9_])(?P<key>[A-Za-z_][A-Za-z0-9_]{0,99})[ \t]*:?[ \t]+\Z")


# ========================================================================== assignments

# key = value / key: value / "key": "value" / key => value. The key may be two words ("api key:")
# and may not continue a longer word on its left. Values: "double", 'single', \"escaped\"
# (JSON inside a JSON string), a JSON array, or a bare run up to the next delimiter.
_ASSIGN_RX = re.compile(
    r"(?P<key>[A-Za-z_](?<![A-Za-z0-9_.\-][A-Za-z_])[A-Za-z0-9_.\-]{0,99}+(?:[ ][A-Za-z0-9_.\-]{1,100}+)?)"
    + _KEY_SEP
    + r"(?:"
    r"\"(?P<dq>(?:[^\"\\\r\n]|\\.)*+)\""
    r"|'(?P<sq>(?:[^'\\\r\n]|\\.)*+)'"
    r"|\\+[\"'](?P<eq>(?:(?!\\+[\"'])[^\r\n])*+)\\+[\"']"
    r"|`(?P<bq>[^`\r\n]*+)`"
    r"|(?P<arr>\[)"
    r"|(?P<bare>[^\s\"'`,;&<>{}\[\]()\\=:])"  # first character only, see _scan_assignments
    r")"
)
# A bare value: up to the next delimiter; "${VAR}" references are kept whole.
_BARE_REST = re.compile(r"(?:\$\{[^}\s]{0,100}\}|[^\s\"'`,;&<>{}\[\]()\\])*+")
# Prose: "my password is X", "the api key was changed to X". Anchored on the secret word (a
# literal alternation, so the regex engine skips quickly to candidates); the key in front and
# the kind are worked out in _scan_prose.
_PROSE_RX = re.compile(
    r"(?P<w>(?i:password|passwd|passphrase|passcode|pwd|secret|token|key|credential))(?i:s|'s)?"
    r"[ \t]+(?i:is|was)(?:[ \t]+(?i:now|still|just|currently|set[ \t]+to|changed[ \t]+to|reset[ \t]+to|updated[ \t]+to))?"
    r"[ \t]*:?[ \t]+[\"'`]?(?P<v>[^\s\"'`<>]{4,200})"
)
# Every prose match has its secret word (at most _PROSE_LEAD characters with "'s") right before
# a run of blanks and "is"/"was": the regex is only tried at those few positions (_prose_matches).
_PROSE_ANCHOR = re.compile(r"[ \t](?i:is|was)")
_PROSE_LEAD = len("passphrase's")
# The secret word (and "s"/"'s") of _PROSE_RX, ending where the search ends: one search tells
# whether any start before an anchor's blanks can match, instead of a match() at each of them.
_PROSE_WORD_END = re.compile(r"(?i:password|passwd|passphrase|passcode|pwd|secret|token|key|credential)(?i:s|'s)?\Z")
_PROSE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")
_PASSWORD_SYMBOLS = frozenset("!@#$%^&*_+=~/\\|.?")
# --password hunter2 (command lines in tool calls and process attributes)
_CLI_RX = re.compile(r"(?<![A-Za-z0-9_\-])--(?P<key>[A-Za-z][A-Za-z0-9_\-]{1,60})[ \t]+(?P<bare>[^\s\-\"'][^\s\"']*)")
# <password>hunter2</password>
_XML_RX = re.compile(r"<(?P<key>[A-Za-z_][A-Za-z0-9_.\-]{0,60})>[ \t\r\n]*(?P<v>[^<\r\n]{1,1000}?)[ \t\r\n]*</(?P=key)>")
# <add key="Password" value="..."/>, <param name="token" value="..."/>: the key is another attribute.
_PAIR_RX = re.compile(
    r"(?i:key|name)[ \t]*=[ \t]*(?P<q>\\?[\"'])(?P<key>[A-Za-z_][\w.\-:]{0,99})(?P=q)[ \t]+"
    r"(?i:value)[ \t]*=[ \t]*(?P<q2>\\?[\"'])(?P<v>(?:(?!(?P=q2))[^\r\n])*)(?P=q2)"
)
# A Kubernetes Secret: every value under data: / stringData: is secret, whatever its key.
_K8S_SECRET_KIND = re.compile(r"(?im)^[ \t]*kind:[ \t]*[\"']?secret[\"']?[ \t]*$")
_K8S_DATA = re.compile(r"(?m)^(?P<ind>[ \t]*)(?:data|stringData):[ \t]*$")
_K8S_ITEM = re.compile(
    r"(?P<ind>[ \t]+)[\w.\-]+:[ \t]*(?:(?P<block>[|>][+\-]?)[ \t]*|(?P<q>[\"']?)(?P<v>[^\r\n]*?)(?P=q)[ \t]*)$", re.MULTILINE
)
_YAML_DOC_SEP = re.compile(r"(?m)^---[ \t]*$")
_K8S_MIN_VALUE = 10  # "YmFyCg==" ("bar") is a sample, not a credential
# One quoted element of a JSON array: "set-cookie": ["a=b", "c=d"]
_ARRAY_ITEM = re.compile(r"[ \t\r\n]*(?:\"(?P<v>(?:[^\"\\\r\n]|\\.)*+)\"[ \t\r\n]*(?P<sep>[,\]])|(?P<other>[^\]]))")
# The rest of a line, for header values ("Cookie: a=b; c=d") and YAML/env values with spaces.
_REST_OF_LINE = re.compile(r"(?:[^\r\n\\\"']|\\(?![nrt\"'\\]))*+")
# Before a key at the start of a line: indentation, a YAML list dash, "export", "set".
_LINE_PREFIX = re.compile(r"[ \t]*(?:-[ \t]+|export[ \t]+|set[ \t]+)?[\"']?\Z")
_CODE_PUNCTUATION = frozenset(",;(){}[]")
# HTTP headers whose whole value (spaces, ";" and "," included) is the credential.
_HEADER_NAMES = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
# After a bare name: a type union or a default ("key: KeyTypes | None", "token: Token = None").
_ANNOTATION_TAIL = re.compile(r"[ \t]*\||[ \t]+=[ \t]")
_AUTH_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9\-]{1,30}[ \t]+(?=\S)")

# Values that are not secrets but placeholders, types or references to one.
_PLACEHOLDER = re.compile(
    r"(?is)null|none|nil|undefined|true|false|yes|no|on|off|\*+|x{3,}|\.{3}|…|-+"
    r"|str|string|bytes|int|bool|optional|any|secretstr"
    r"|<[^>]*>|\[[^\]]*\]|\{[^}]*\}|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|%[A-Za-z_][A-Za-z0-9_]*%"
    r"|(?:os\.environ|os\.getenv|process\.env|env\.|ENV\[).*"
    r"|(?:.*[-_ ])?your[-_ ].*"  # "your-api-key", "YOUR_TOKEN_HERE", "xoxb-your-token-here"
    r"|change[-_ ]?me|replace[-_ ]?me|dummy|placeholder|redacted|\{\{.*|\$\(.*|\$\{.*|ENC\[.*\]"
    r"|.?"  # one character ("PuttyPassword=0", "secret_key_base: 1") is a flag, not a secret
    r"|.*abcdefgh.*"  # "sk_abcdefghijklmnopqrstuvwxyz123": a sample
    r"|.*\.\..*|\{.*|foo|bar|baz|foobar|example|sample"  # elided ("ops_eyJzaWdu..[Redacted]"), templates, names
    # a run of one character, after an optional prefix: "ghp_xxxxxxxx", "sk-proj-XXXXXXXX", "AIzaaaaa..."
    r"|[A-Za-z0-9]{0,12}?[_\-.~]?(.)\1{7,}=*"
    r"|.*(?:x{5,}|\#{4,}|\*{4,}).*|\$"  # "xoxp-XXXXXXXXXX-...", "...-####"; a lone "$" before "(...)"
)
# Documentation examples (AWS's own: "AKIAIOSFODNN7EXAMPLE", ".../bPxRfiCYEXAMPLEKEY").
_DOC_EXAMPLE = re.compile(r".*EXAMPLE(?:KEY)?")
# SCREAMING_SNAKE without digits: a constant's name in code ("aws_secret_access_key=SECRET_KEY").
_CONSTANT_NAME = re.compile(r"[A-Z]++(?:_[A-Z]++)++")
# One part of a dotted name in one of the usual code styles (snake_case, SCREAMING_CASE,
# CamelCase): how code refers to a value. A random password with a dot ("e_bSDsO.Sn6F14")
# does not fit. Matched one part at a time: as a single regex over "a.a.a...!" the overlapping
# alternatives would backtrack exponentially.
_NAME_PART = re.compile(
    r"_*(?:[a-z]++[0-9]*+(?:_++[a-z0-9]++)*+|[A-Z][A-Z0-9]*+(?:_++[A-Z0-9]++)*+|[A-Z]?[a-z]++[0-9]*+(?:[A-Z][a-z]++[0-9]*+)*+)_*"
)
_MAX_CODE_NAME_LEN = 120
_CODE_KEYWORDS = frozenset({"new", "await", "function", "lambda", "yield", "typeof"})
_DOTTED_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*+(?:\.[A-Za-z_][A-Za-z0-9_]*+)++")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9+/=_\-.~]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_RUN_SEPARATORS = re.compile(r"[_\-.~]")

# Generic high-entropy rule: at least this long and this many bits per character. Random
# base62/base64 of 16+ characters sits around 3.7-4.5; words, versions, model names well below.
_ENTROPY_MIN_LEN = 16
_ENTROPY_MIN_BITS = 3.5
# Longer values are content, not a key; the cap also bounds the work per key-ish name.
_ENTROPY_MAX_LEN = 512


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value`` under its own character frequencies."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


_SEQUENCE = re.compile(r"(?i)abcdefgh|bcdefghi|cdefghij|12345678|23456789")


def _looks_random(value: str) -> bool:
    """A value that looks machine-generated: long, token alphabet, letters and digits, high entropy.

    Not: UUIDs (ids), short hex (hashes and ids; hex secrets are 32+), dotted names
    ("fs.s3.retryPeriodSeconds") and snake_case identifiers ("split_s3_bucket_key") -- a random
    string has long runs without separators.
    """
    return (
        len(value) >= _ENTROPY_MIN_LEN
        and _TOKEN_CHARS.fullmatch(value) is not None
        and "." not in value
        and _has_digit(value)
        and any(c.isalpha() for c in value)
        and (len(value) >= 32 or _HEX.fullmatch(value) is None)
        and _UUID.fullmatch(value) is None
        and max(len(run) for run in _RUN_SEPARATORS.split(value)) >= 12
        and shannon_entropy(value) >= _ENTROPY_MIN_BITS
        and _SEQUENCE.search(value) is None  # "sk_abcdefghijklmnopqrstuvwxyz123" is a sample
    )


def _looks_like_password(value: str) -> bool:
    """A word in prose that is a credential, not English ("is incorrect", "was changed").

    It needs a digit, a symbol inside, or a capital after the first letter next to lower case
    letters ("Hunter2", "Maple*Pepper", "CorrectHorse"). An all-lower-case passphrase in prose
    ("my password is correcthorse") is indistinguishable from a word and is not matched.
    """
    if len(value) < 4 or _PLACEHOLDER.fullmatch(value) or "://" in value:
        return False
    inner_upper = any(c.isupper() for c in value[1:]) and any(c.islower() for c in value)
    return _has_digit(value) or any(c in _PASSWORD_SYMBOLS for c in value) or inner_upper


def _is_placeholder(value: str, key: str) -> bool:
    """An empty, masked, templated or referenced value: nothing to mask."""
    stripped = value.strip()
    if not stripped:
        return True
    if len(stripped) == 1:
        return True
    if len(stripped) > 200:  # placeholders and names are short; a long value is content
        return False
    if _PLACEHOLDER.fullmatch(stripped) or _DOC_EXAMPLE.fullmatch(stripped):
        return True
    if _CONSTANT_NAME.fullmatch(stripped):
        return True
    key_words = _key_words(key)
    value_words = _key_words(stripped)
    if value_words and not _has_digit(stripped) and set(value_words) <= set(key_words):
        return True  # password=password, api_key=API_KEY, aws_secret_access_key="secret"
    # api_key=self.api_key, password=settings.DB_PASSWORD: a reference to the secret, not it.
    return _DOTTED_IDENT.fullmatch(stripped) is not None and not set(
        _key_words(stripped.rsplit(".", 1)[1])
    ).isdisjoint(key_words)


# ============================================================================ the rule set


class SecretRules:
    """Compiled secret rules: the built-in tables plus the user's extra key names.

    Build with :meth:`compile`; instances are immutable apart from an internal key cache and
    are safe to share between threads.
    """

    __slots__ = (
        "_ac", "_assign_cache", "_cache", "_kinds", "_known", "_keyed", "_pair_cache", "_phrases", "_short", "_stems",
        "_targets", "_whole", "_windowed",
    )

    def __init__(
        self, phrases: tuple[_KeyPhrase, ...], rules: tuple[CompiledRule, ...] = _BUILTIN_COMPILED,
        known: KnownSecrets | None = None,
    ) -> None:
        self._phrases = phrases
        self._known = known
        # Every key a phrase can match contains the phrase's stem in its lower-cased raw text
        # ("X-Api-Key" -> "api"): a cheap test for "is the assignment scan worth running".
        stems = {p.stem for p in phrases} | _KEYISH_LAST_WORDS
        self._stems: tuple[str, ...] = tuple(sorted(stems, key=len))
        kinds = {r.kind for r in rules} | {p.kind for p in phrases} | {GENERIC_KIND, K8S_KIND}
        self._kinds = frozenset(kinds | ({KNOWN_KIND} if known is not None else set()))
        self._cache: dict[str, str | None] = {}
        # scan()'s view of a key: (kind, key-ish for the entropy rule); cached the same way.
        self._assign_cache: dict[str, tuple[str | None, bool]] = {}
        # Rules that read a value by its key's provider word ("honeycomb_writekey": "..."), for
        # pair_kind(); per key, the ones whose keyword occurs in it, cached the same way.
        self._keyed = tuple(r for r in rules if r.rule.priority == _P_CONTEXT)
        self._pair_cache: dict[str, tuple[CompiledRule, ...]] = {}
        # The keyword prefilter. Rules whose matches stay within `window` characters of a
        # keyword run only in windows around the keyword's occurrences, found by ONE
        # Aho-Corasick pass over the text for all of them; a rule with no window (or with a
        # keyword too short to be a useful anchor) runs over the whole text when its keyword
        # occurs at all.
        # The same pass also says which whole-text rules to run and whether any key-name stem
        # occurs (the assignment scans). Keywords shorter than _MIN_ANCHOR_LEN would flood the
        # pass with hits ("." and "sk" are everywhere): their rules test `keyword in text`.
        short: list[tuple[CompiledRule, tuple[str, ...]]] = []
        whole: list[CompiledRule] = []
        windowed: list[CompiledRule] = []
        anchors: dict[str, tuple[list[int], list[int], list[bool]]] = {}
        for rule in rules:
            keywords = rule.rule.keywords
            if min(len(k) for k in keywords) < _MIN_ANCHOR_LEN:
                short.append((rule, keywords))
                continue
            into, group = (whole, 1) if rule.rule.window is None else (windowed, 0)
            for keyword in keywords:
                anchors.setdefault(keyword, ([], [], []))[group].append(len(into))
            into.append(rule)
        for stem in self._stems:
            anchors.setdefault(stem, ([], [], []))[2].append(True)
        self._short = tuple(short)
        self._whole = tuple(whole)
        self._windowed = tuple(windowed)
        patterns = list(anchors)
        self._ac = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.Standard)
        self._targets = tuple((tuple(anchors[p][0]), tuple(anchors[p][1]), bool(anchors[p][2])) for p in patterns)

    @classmethod
    def with_rules(cls, rules: Iterable[Rule], extra_key_names: Iterable[str] = ()) -> SecretRules:
        """Like :meth:`compile`, with ``rules`` instead of the built-in table (benchmarks, tests)."""
        built = cls.compile(extra_key_names)
        return cls(built._phrases, compile_rules(rules))

    @classmethod
    def compile(cls, extra_key_names: Iterable[str] = (), known: KnownSecrets | None = None) -> SecretRules:
        """The built-in rules plus ``extra_key_names`` (kind ``"custom"``), and, when given, the
        tenant's registered ``known`` secrets (kind ``"known"``).

        Raises ``ValueError`` naming the position and the problem of a bad name (never the name
        itself: a misplaced secret in a config file must not end up in a log).
        """
        if isinstance(extra_key_names, str):
            raise ValueError("extra_key_names must be a list of key names, not a single string")
        extras: list[_KeyPhrase] = []
        seen: set[str] = set()
        for index, name in enumerate(extra_key_names):
            where = f"secret key name #{index + 1}"
            if not isinstance(name, str):
                raise ValueError(f"{where}: must be a string, not {type(name).__name__}")
            if not name:
                raise ValueError(f"{where}: must not be empty")
            if len(name) > _MAX_EXTRA_KEY_LEN:
                raise ValueError(f"{where}: longer than {_MAX_EXTRA_KEY_LEN} characters")
            if _EXTRA_KEY_RX.fullmatch(name) is None:
                raise ValueError(f"{where}: may only contain letters, digits, '_', '-' and '.'")
            words = _key_words(name)
            if not words:
                raise ValueError(f"{where}: must contain a letter or digit")
            text = "".join(words)
            if text in seen:
                continue
            seen.add(text)
            extras.append(
                _KeyPhrase(
                    text=text, stem=max(words, key=len), kind=CUSTOM_KIND, plural=True, loose=len(text) >= 5,
                    final=False, tokenish=False,
                )
            )
        return cls(_BUILTIN_PHRASES + tuple(extras), known=known)

    @staticmethod
    def is_placeholder(value: str, key: str) -> bool:
        """Is ``value``, assigned to the secret key ``key``, a placeholder rather than a secret
        (``""``, ``xxxx``, ``<your-key>``, ``${VAR}``, ``{{ .Values.key }}``, ``changeme``, ``****``,
        a documentation example)? The walker asks before it masks a value by its key."""
        return _is_placeholder(value, key)

    @property
    def kinds(self) -> frozenset[str]:
        """Every kind this rule set can emit, from :meth:`key_kind` or :meth:`scan`."""
        return self._kinds

    # ----------------------------------------------------------------------------- key names

    def key_kind(self, key: str) -> str | None:
        """The secret kind that the key NAME ``key`` announces for its value, else ``None``.

        Case, separators (``_ - .`` space, anything non-alphanumeric) and camelCase are ignored,
        and the phrase may sit anywhere in the key: ``X-Api-Key``, ``apiKey``, ``API_KEY``,
        ``db.password``, ``AWS_SECRET_ACCESS_KEY``. Names that merely describe a secret or count
        LLM tokens are not secrets: ``max_tokens``, ``token_count``, ``api_key_id``,
        ``tokenizer``, ``gen_ai.usage.input_tokens``.
        """
        if not isinstance(key, str):
            raise TypeError(f"key_kind() expects str, not {type(key).__name__}")
        cached = self._cache.get(key)
        if cached is not None or key in self._cache:
            return cached
        words = _key_words(key)
        # "publicToken", "public_key", "publishable_key": the name says the value is public.
        public = not _PUBLIC_WORDS.isdisjoint(words) or not _NOT_SECRET_WORDS.isdisjoint(words)
        kind = None if public else self._match(words, suffix_only=False)
        _remember(self._cache, key, kind)
        return kind

    def _match(self, words: list[str], suffix_only: bool) -> str | None:
        if not words:
            return None
        joined = "".join(words)
        starts: list[int] = []
        ends: dict[int, int] = {}
        pos = 0
        for i, w in enumerate(words):
            starts.append(pos)
            pos += len(w)
            ends[pos] = i
        start_set = set(starts)
        last_index = len(words) - 1
        for phrase in self._phrases:
            at = joined.find(phrase.text)
            while at != -1:
                end = at + len(phrase.text)
                last = ends.get(end)
                if last is None and phrase.plural and joined.startswith("s", end):
                    last = ends.get(end + 1)
                aligned = at in start_set
                if last is not None and (aligned or phrase.loose) and self._accept(
                    phrase, words, starts, at, aligned, last, last_index, suffix_only
                ):
                    return phrase.kind
                at = joined.find(phrase.text, at + 1)
        return None

    @staticmethod
    def _accept(
        phrase: _KeyPhrase, words: list[str], starts: list[int], at: int, aligned: bool, last: int,
        last_index: int, suffix_only: bool,
    ) -> bool:
        if (phrase.final or suffix_only) and last != last_index:
            return False
        nxt = words[last + 1] if last < last_index else None
        if nxt is not None and (nxt in _SUFFIX_DESCRIPTORS or (phrase.tokenish and nxt in _TOKEN_SUFFIX_DESCRIPTORS)):
            return False
        first = bisect_right(starts, at) - 1
        prev = words[first - 1] if aligned and first > 0 else None
        if prev is not None and (prev in _PREFIX_DESCRIPTORS or (phrase.tokenish and prev in _TOKEN_PREFIX_DESCRIPTORS)):
            return False
        return True

    def pair_kind(self, key: str, value: str) -> str | None:
        """The kind of a secret that a key and its value make together, when the key NAME alone
        does not announce one: a provider's value shape under a key naming the provider
        (``{"honeycomb_writekey": "..."}``, ``--sumo-key ...``), at any depth of JSON or as an
        attribute. The whole value must be the match; the caller asks :meth:`key_kind` first."""
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("pair_kind() expects a str key and a str value")
        rules = self._pair_cache.get(key)
        if rules is None:
            lower = key.lower()
            rules = tuple(r for r in self._keyed if any(k in lower for k in r.rule.keywords))
            _remember(self._pair_cache, key, rules)
        if not rules or not value or len(value) > _ENTROPY_MAX_LEN or "\"" in value or "\\" in value:
            return None
        text = f'"{key}": "{value}"'
        vstart, vend = len(key) + 5, len(text) - 1
        for rule in rules:
            found: list[tuple[int, int, int, str]] = []
            _run_rule(rule, text, 0, len(text), found)
            if any(start == vstart and end == vend for start, end, _, _ in found):
                return rule.kind
        return None

    def _assignment_key(self, key: str) -> tuple[str | None, bool]:
        """(secret kind, key-ish name for the entropy rule) of a key found by scan()."""
        cached = self._assign_cache.get(key)
        if cached is not None:
            return cached
        if " " in key:
            # Prose ("the password: x", "my api key: x"): the phrase must END the key, so that
            # "password reset: click here" is not an assignment of a password.
            kind = self._match(_key_words(key), suffix_only=True)
        else:
            kind = self.key_kind(key)
        words = _key_words(key.rsplit(" ", 1)[-1])
        keyish = bool(words) and words[-1] in _KEYISH_LAST_WORDS and _PUBLIC_WORDS.isdisjoint(words)
        result = (kind, keyish)
        _remember(self._assign_cache, key, result)
        return result

    # -------------------------------------------------------------------------------- scan

    def scan(self, text: str) -> list[SecretFinding]:
        """Secret values in ``text``: non-overlapping findings sorted by start.

        Where several rules match overlapping text, one finding covers the union of their
        spans (so no part of a secret is left out) with the kind of the longest match; equally
        long matches go to the more specific rule (``token=ghp_...`` is a ``github_token``).
        """
        if not isinstance(text, str):
            raise TypeError(f"scan() expects str, not {type(text).__name__}")
        if len(text) < _MIN_TEXT_LEN:
            return []
        found = self._candidates(text)
        self._scan_encoded(text, found)
        return _resolve(found)

    def _scan_encoded(self, text: str, found: list[tuple[int, int, int, str]]) -> None:
        """Base64 and hex runs that decode to text holding a secret: the whole run is masked,
        with the kind of the secret inside (a key pasted once plain and once encoded is caught
        both times)."""
        # A run has no white space (str.split's is the regex's \s): most texts have no word this
        # long, and splitting them is cheaper than the run regex's try at every position.
        if max(map(len, text.split()), default=0) < _LONG_RUN_CHARS:
            return
        for run in _LONG_RUN.finditer(text):
            for rx, decode in _ENCODINGS:
                for m in rx.finditer(text, run.start(), run.end()):
                    decoded = decode(m.group())
                    if decoded is None:
                        continue
                    inner = _resolve(self._candidates(decoded))
                    if inner:
                        found.append((m.start(), m.end(), _P_ENCODED, max(inner, key=lambda f: f.end - f.start).kind))

    def _candidates(self, text: str) -> list[tuple[int, int, int, str]]:
        """Every rule's findings in ``text``, overlapping, as (start, end, priority, kind)."""
        found: list[tuple[int, int, int, str]] = []
        # Only for keyword tests: str.lower() may change the length of non-ASCII text, and then
        # no offset is taken from it (windowed rules run over the whole text instead).
        lower = text.lower()
        for rule, keywords in self._short:
            # Plain loops, not any(<genexpr>): this runs for every string.
            for keyword in keywords:
                if keyword in lower:
                    _run_rule(rule, text, 0, len(text), found)
                    break
        # Assignments need a secret-ish key, and every such key contains one of the stems; a
        # flag named after a provider ("--sumo <key>") needs that provider's keyword.
        stem, provider = self._scan_keywords(text, lower, found)
        if stem:
            self._scan_keyed(text, lower, found)
        elif provider and "--" in text:
            self._scan_cli(text, found)
        if self._known is not None:
            found.extend((start, end, _P_KNOWN, KNOWN_KIND) for start, end in self._known.find(text))
        if "data:" in lower and "kind:" in lower and _K8S_SECRET_KIND.search(text) is not None:
            _scan_k8s_secret(text, found)
        return found

    def _scan_keyed(self, text: str, lower: str, found: list[tuple[int, int, int, str]]) -> None:
        """The scans that start from a secret-like key name."""
        # (a comma assigns only between quoted call arguments: setenv("KEY", "value"))
        if "=" in text or ":" in text or "<-" in text or "\"," in text or "'," in text:
            self._scan_assignments(text, found)
        if "--" in text:
            self._scan_cli(text, found)
        if "</" in text:
            self._scan_xml(text, found)
        if " is " in lower or " was " in lower:
            self._scan_prose(text, found)
        if "value" in lower:
            self._scan_pairs(text, found)
        if "str" in lower or "[]byte" in text:
            self._scan_typed(text, found)

    def _scan_typed(self, text: str, found: list[tuple[int, int, int, str]]) -> None:
        for m in _TYPED_RX.finditer(text):
            k = _TYPED_KEY.search(text, max(0, m.start() - 120), m.start())
            if k is None:
                continue
            key = k.group("key")
            kind = self.key_kind(key)
            if kind is not None and not _is_placeholder(m.group("v"), key):
                found.append((*m.span("v"), _P_ASSIGN, kind))

    def _scan_keywords(self, text: str, lower: str, found: list[tuple[int, int, int, str]]) -> tuple[bool, bool]:
        """One Aho-Corasick pass: windowed and whole-text rules near their keywords; returns
        whether a key-name stem occurs, and whether a provider-keyed rule's keyword does."""
        n = len(text)
        windows: dict[int, list[tuple[int, int]]] = {}
        whole: set[int] = set()
        stem = False
        for pattern, start, end in self._ac.find_matches_as_indexes(lower, overlapping=True):
            windowed, wholes, is_stem = self._targets[pattern]
            for index in windowed:
                reach = self._windowed[index].rule.window or n
                windows.setdefault(index, []).append((start - reach, end + reach))
            whole.update(wholes)
            stem = stem or is_stem
        for index in sorted(whole):
            _run_rule(self._whole[index], text, 0, n, found)
        aligned = len(lower) == n
        for index, spans in windows.items():
            rule = self._windowed[index]
            if not aligned:
                _run_rule(rule, text, 0, n, found)
                continue
            for ws, we in _merge_windows(spans, n):
                _run_rule(rule, text, ws, we, found)
        return stem, any(self._windowed[index].rule.priority == _P_CONTEXT for index in windows)

    def _scan_assignments(self, text: str, found: list[tuple[int, int, int, str]]) -> None:
        # Linear time matters here: after a key that is not a secret we continue INSIDE its
        # value (to find 'config="password=x"' and "url=https://h/?token=x"), so the regex only
        # matches the first character of a bare value, and the end of a bare run is computed
        # once per run (every position inside a run ends where the run ends).
        pos = 0
        n = len(text)
        run_start = run_end = -1
        while pos < n:
            m = _ASSIGN_RX.search(text, pos)
            if m is None:
                return
            key = m.group("key")
            kind, keyish = self._assignment_key(key)
            if m.group("arr") is not None:
                pos = m.end() if kind is None else self._array_values(text, m.end(), kind, key, found)
                continue
            group = m.lastgroup  # the value's group: it closes after "key" and "comma"
            vstart, vend = m.span(group)
            skip_to = _not_a_value(text, m, group)
            if skip_to is not None:
                pos = skip_to
                continue
            if kind is None and not keyish:
                pos = vstart  # > m.start(): the key is at least one character
                continue
            if group == "bare":
                if not run_start <= vstart < run_end:
                    run_start, run_end = vstart, _BARE_REST.match(text, vstart).end()  # type: ignore[union-attr]
                vend = run_end
                if _is_code_reference(text, vstart, vend):
                    pos = vend
                    continue
            if kind is None:  # a key-ish name: only a random-looking value counts
                pos = _generic_value(text, vstart, vend, found)
                continue
            if " " in key and _char_before(text, m.start("key")) == ":":
                pos = vstart  # a reST field list in a docstring: ":param token: the token"
                continue
            if group == "bare":
                vend = self._extend_bare(text, key, m.start("key"), vend)
            if kind == "authorization":
                scheme = _AUTH_SCHEME.match(text, vstart, vend)
                if scheme is not None:  # "Bearer abc": mask the credential, keep the scheme
                    vstart = scheme.end()
            value = text[vstart:vend]
            if not (
                _is_placeholder(value, key) or _is_manifest_reference(text, value)
                or (kind == "password" and _is_pwd_path(key, value))
                or (kind == "authorization" and group == "bare" and _is_type_name(value))
            ):
                found.append((vstart, vend, _P_ASSIGN, kind))
            pos = max(vend, m.end())

    @staticmethod
    def _extend_bare(text: str, key: str, key_start: int, vend: int) -> int:
        """Where a bare value really ends.

        Header values ("Cookie: a=b; c=d", "Authorization: Digest u=1, r=2") run to the end of
        the line. So do YAML / env-file values with spaces ("password: correct horse battery"),
        minus a trailing "# comment" -- but only for an unquoted key at the start of a line
        whose rest has no code punctuation, so that '"k": false,' and "f(password=x, y=z)" end
        where the regex stopped.
        """
        header = key.lower() in _HEADER_NAMES
        if not header:
            # Look back a short way only: a long line prefix is not "the start of a line", and
            # an unbounded look-back would make a long line of assignments quadratic.
            window = max(0, key_start - 64)
            line_start = max(text.rfind("\n", window, key_start), text.rfind("\r", window, key_start)) + 1
            escaped_nl = text.rfind("\\n", window, key_start)
            if escaped_nl != -1:
                line_start = max(line_start, escaped_nl + 2)
            if line_start == 0 and window > 0:
                return vend
            if _char_before(text, key_start) in ("\"", "'") or _LINE_PREFIX.match(text, line_start, key_start) is None:
                return vend
        rest = _REST_OF_LINE.match(text, vend)
        end = rest.end() if rest is not None else vend
        if not header:
            comment = text.find(" #", vend, end)  # YAML / env-file comment
            if comment != -1:
                end = comment
            rest = text[vend:end]
            # Code ("f(password=x, y=z)") or more pairs on the line (logfmt "password=x user=bob",
            # "passphrase=x keyfile=/path"): the value ended where the regex stopped.
            if any(c in _CODE_PUNCTUATION for c in rest) or "=" in rest or ": " in rest:
                return vend
        while end > vend and text[end - 1] in " \t":
            end -= 1
        return end

    @staticmethod
    def _array_values(text: str, pos: int, kind: str, key: str, found: list[tuple[int, int, int, str]]) -> int:
        """Mask each string of a JSON array assigned to a secret key; return where it ends."""
        while True:
            item = _ARRAY_ITEM.match(text, pos)
            if item is None or item.group("other") is not None:
                return pos
            vstart, vend = item.span("v")
            if not _is_placeholder(text[vstart:vend], key):
                found.append((vstart, vend, _P_ASSIGN, kind))
            pos = item.end()
            if item.group("sep") == "]":
                return pos

    def _scan_prose(self, text: str, found: list[tuple[int, int, int, str]]) -> None:
        for m in _prose_matches(text):
            # The key: the secret word with the rest of its word, plus one word before it
            # ("my password", "the api key", "DB_PASSWORD"), judged like a prose assignment key.
            start = m.start("w")
            while start > 0 and start > m.start("w") - 60 and text[start - 1] in _PROSE_KEY_CHARS:
                start -= 1
            if start > 1 and text[start - 1] == " " and text[start - 2] in _PROSE_KEY_CHARS:
                prev = start - 1
                while prev > 0 and prev > start - 40 and text[prev - 1] in _PROSE_KEY_CHARS:
                    prev -= 1
                start = prev
            kind, _ = self._assignment_key(text[start : m.end("w")])
            if kind is None:
                continue
            vstart, vend = m.span("v")
            while vend > vstart and text[vend - 1] in ",;:)]}":
                vend -= 1
            if _looks_like_password(text[vstart:vend].rstrip(".!?")):
                found.append((vstart, vend, _P_ASSIGN, kind))

    def _scan_cli(self, text: str, found: list[tuple[int, int, int, str]]) -> None:
        for m in _CLI_RX.finditer(text):
            key = m.group("key")
            if key.startswith("no-"):
                continue
            kind = self.key_kind(key) or self.pair_kind(key, m.group("bare"))
            if kind is not None and not _is_placeholder(m.group("bare"), key):
                found.append((*m.span("bare"), _P_ASSIGN, kind))

    def _scan_pairs(self, text: str, found: list[tuple[int, int, int, str]]) -> None:
        for m in _PAIR_RX.finditer(text):
            key = m.group("key")
            kind = self.key_kind(key)
            if kind is not None and not _is_placeholder(m.group("v"), key):
                found.append((*m.span("v"), _P_ASSIGN, kind))

    def _scan_xml(self, text: str, found: list[tuple[int, int, int, str]]) -> None:
        for m in _XML_RX.finditer(text):
            key = m.group("key")
            kind = self.key_kind(key)
            if kind is not None and not _is_placeholder(m.group("v"), key):
                found.append((*m.span("v"), _P_ASSIGN, kind))


def _prose_matches(text: str) -> Iterator[re.Match[str]]:
    """The matches of ``_PROSE_RX.finditer(text)``, trying the regex only where one can start.

    A match's secret word ends where the run of blanks before its "is"/"was" begins, so it
    starts at most _PROSE_LEAD characters before that run. Candidate starts are tried in
    increasing order from where the last match ended, each at most once, so the first success
    is the leftmost match, as finditer's.
    """
    pos = tried = 0
    for anchor in _PROSE_ANCHOR.finditer(text):
        blank = anchor.start()
        while blank > 0 and text[blank - 1] in " \t":
            blank -= 1
        first = max(pos, tried, blank - _PROSE_LEAD)
        if first >= blank or _PROSE_WORD_END.search(text, first, blank) is None:
            tried = max(tried, blank)  # a match's secret word ends at the blanks: none can start here
            continue
        for start in range(first, blank):
            m = _PROSE_RX.match(text, start)
            if m is not None:
                yield m
                pos = m.end()
                break
        tried = max(tried, blank)


def _scan_k8s_secret(text: str, found: list[tuple[int, int, int, str]]) -> None:
    """The values of a Kubernetes Secret's ``data:``/``stringData:`` maps (base64 or plain), in
    each YAML document (``---`` separated) whose ``kind`` is ``Secret``."""
    bounds = [0] + [m.start() for m in _YAML_DOC_SEP.finditer(text)] + [len(text)]
    for doc_start, doc_end in pairwise(bounds):
        if _K8S_SECRET_KIND.search(text, doc_start, doc_end) is not None:
            _scan_k8s_data(text, doc_start, doc_end, found)


def _scan_k8s_data(text: str, doc_start: int, doc_end: int, found: list[tuple[int, int, int, str]]) -> None:
    for block in _K8S_DATA.finditer(text, doc_start, doc_end):
        indent = len(block.group("ind").expandtabs(4))
        pos = block.end() + 1
        while pos < doc_end:
            item = _K8S_ITEM.match(text, pos, doc_end)
            if item is None or len(item.group("ind").expandtabs(4)) <= indent:
                break
            pos = item.end() + 1
            if item.group("block") is not None:  # "key: |" -- the more indented lines below
                pos = _block_scalar(text, pos, doc_end, len(item.group("ind").expandtabs(4)), found)
                continue
            vstart, vend = item.span("v")
            if vend - vstart >= _K8S_MIN_VALUE and not _is_placeholder(text[vstart:vend], "data"):
                found.append((vstart, vend, _P_ASSIGN, K8S_KIND))


def _block_scalar(text: str, pos: int, end: int, indent: int, found: list[tuple[int, int, int, str]]) -> int:
    """Mask the lines of a YAML block scalar indented deeper than ``indent``; return where it ends."""
    while pos < end:
        line_end = text.find("\n", pos, end)
        line_end = end if line_end == -1 else line_end
        line = text[pos:line_end].expandtabs(4)
        if line.strip():
            if len(line) - len(line.lstrip()) <= indent:
                return pos
            raw = text[pos:line_end]
            found.append((pos + len(raw) - len(raw.lstrip()), line_end, _P_ASSIGN, K8S_KIND))
        pos = line_end + 1
    return pos


def _merge_windows(spans: list[tuple[int, int]], n: int) -> list[tuple[int, int]]:
    spans.sort()
    out: list[tuple[int, int]] = []
    for start, end in spans:
        start, end = max(0, start), min(n, end)
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _run_rule(rule: CompiledRule, text: str, pos: int, endpos: int, found: list[tuple[int, int, int, str]]) -> None:
    """Findings of one rule in ``text[pos:endpos]`` (look-behinds still see the text before)."""
    spec = rule.rule
    for m in rule.regex.finditer(text, pos, endpos):
        for group in rule.groups:
            start, end = m.span(group)
            if start >= 0:
                break
        else:  # pragma: no cover - every pattern's group alternatives are exhaustive
            continue
        if rule.trim is not None:
            end = rule.trim(text, start, end)
        if end <= start:
            continue
        value = text[start:end]
        if rule.check is not None and not rule.check(text, m, value):
            continue
        if spec.entropy and shannon_entropy(value) < spec.entropy:
            continue
        if any(a.search(value) for a in rule.allow):
            continue
        found.append((start, end, spec.priority, spec.kind))


_KEBAB_NAME = re.compile(r"[a-z][a-z0-9]*+(?:[-.][a-z0-9]++)++")


def _is_manifest_reference(text: str, value: str) -> bool:
    """In a Kubernetes manifest, ``secretKey: api-key`` / ``secretName: db-credentials`` name a
    Secret or one of its keys (lower-case kebab names): structure, not a credential."""
    return _KEBAB_NAME.fullmatch(value) is not None and "apiVersion:" in text


def _generic_value(text: str, vstart: int, vend: int, found: list[tuple[int, int, int, str]]) -> int:
    """The generic rule: a random-looking value of a key-ish name is a secret; where to go on."""
    if vend - vstart <= _ENTROPY_MAX_LEN and _looks_random(text[vstart:vend]):
        found.append((vstart, vend, _P_ENTROPY, GENERIC_KIND))
        return vend
    return vstart


def _not_a_value(text: str, m: re.Match[str], group: str) -> int | None:
    """Where to go on when this assignment-looking match assigns nothing; None when it does."""
    if group == "bq" and " " in m.group("bq"):
        return m.end("bq")  # KEY=`command args`: shell command substitution, not a literal
    if m.group("comma") is not None and (group == "bare" or not _is_call_argument(text, m.start("key"))):
        return m.start(group)  # '"password", "user"' in a list; only f("KEY", "value") assigns
    return None


def _is_call_argument(text: str, key_start: int) -> bool:
    """Is the quoted key at ``key_start`` a call's first argument: ``setenv("KEY", ...)``?"""
    i = key_start - 2  # before the opening quote
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i >= 0 and text[i] == "("


def _char_before(text: str, index: int) -> str:
    return text[index - 1] if index > 0 else ""


_V = TypeVar("_V")


def _remember(cache: dict[str, _V], key: str, value: _V) -> None:
    # Bounded: keys come from untrusted input. Long keys are rare and not worth keeping.
    if len(key) <= _KEY_CACHE_MAX_KEY_LEN:
        if len(cache) >= _KEY_CACHE_MAX:
            cache.clear()
        cache[key] = value


def _is_type_name(value: str) -> bool:
    """A type or exception name where an "auth" value would be ("Django.contrib.auth: TypeError",
    "auth: OAuth"): letters only, capitalised, two capitals or more, lower-case at the end."""
    return value.isascii() and value.isalpha() and value[0].isupper() and value[-1].islower() and sum(map(str.isupper, value)) >= 2


def _is_code_reference(text: str, start: int, end: int) -> bool:
    """An unquoted value that is code naming the secret, not the secret itself.

    ``token = jwt.decode(...)``, ``key = os.environ["X"]`` (a call or subscript follows) and
    ``token = self.token`` / ``password = settings.DB_PASSWORD`` (a dotted name), and type
    annotations (``key: KeyTypes | None``, ``token: Token = None``). Quoted values are literals
    and never skipped here.
    """
    if end - start > _MAX_CODE_NAME_LEN or not all(_NAME_PART.fullmatch(p) for p in text[start:end].split(".")):
        return False
    if text[start:end] in _CODE_KEYWORDS and text.startswith(" ", end):
        return True  # "credentials: new AWS.SharedIniFileCredentials(...)", "token = await get()"
    return text.startswith(("(", "["), end) or "." in text[start:end] or _ANNOTATION_TAIL.match(text, end) is not None


def _is_pwd_path(key: str, value: str) -> bool:
    # PWD is also the shell's working directory: "PWD=/home/app" is a path, not a password.
    return key.strip("\"'").lower() == "pwd" and value.startswith(("/", "~"))


def _resolve(found: list[tuple[int, int, int, str]]) -> list[SecretFinding]:
    """Merge overlapping candidates: the union span, the kind of the longest (then most specific)."""
    merged = resolve(found, span=lambda f: (f[0], f[1]), rank=lambda f: (f[1] - f[0], f[2]))
    return [SecretFinding(m.start, m.end, m.best[3]) for m in merged]
