"""THE SCANNER AS IT WAS BEFORE THE RULE TABLE (redactors/secrets.py at commit 1a53dad), kept
unchanged apart from splitting scan() into helpers, as the baseline of the secret-scanning cost
in `make bench` and `python -m bench.secrets`. Not used by the sidecar.

Secret detection: API keys, tokens, private keys and credentials, by key name and by value.

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

import base64
import binascii
import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["SecretFinding", "SecretRules", "CUSTOM_KIND", "GENERIC_KIND"]

CUSTOM_KIND = "custom"  # key names added by the user's config
GENERIC_KIND = "generic_secret"  # high-entropy value assigned to a key-ish name

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


# ============================================================================ value rules

_WORD = "A-Za-z0-9"


def _start(first: str, word: str = _WORD) -> str:
    """``first`` (ONE character or class) that must not continue a longer word.

    The look-behinds sit after the first character, so the pattern still begins with a literal
    (fast prefix search). A token right after a JSON ``\\n``/``\\t``/``\\r`` escape or a ``%XX``
    URL escape counts as starting a word: raw JSON text and URL-encoded queries hide secrets
    right after such escapes.
    """
    return (
        f"{first}(?:(?<![{word}]{first})"
        rf"|(?<=\\[nrt]{first})"
        f"|(?<=%[0-9A-Fa-f]{{2}}{first}))"
    )


# Separator between a key and its value: "k=v", "k: v", '"k": "v"', "k => v", escaped quotes.
_KEY_SEP = r"(?:\\*[\"'])?[ \t]*(?:=>|:=|[:=])[ \t]*"
_SEP = _KEY_SEP + r"(?:\\*[\"'])?"

_Check = Callable[[str, "re.Match[str]", str], bool]
_Trim = Callable[[str, int, int], int]


@dataclass(frozen=True, slots=True)
class _ValueRule:
    kind: str
    regex: re.Pattern[str]
    priority: int  # breaks ties between equally long overlapping findings: specific beats generic
    literals: tuple[str, ...] = ()  # at least one must occur in the text (case-sensitive)
    literals_ci: tuple[str, ...] = ()  # at least one must occur in text.lower()
    also_ci: tuple[str, ...] = ()  # ... and then also one of these
    groups: tuple[str | int, ...] = (0,)  # the first group that took part is the secret's span
    check: _Check | None = None  # (text, match, value) -> keep?
    trim: _Trim | None = None  # (text, start, end) -> new end


# Priorities: a provider's own format is the most specific statement about a value.
_P_PROVIDER = 40
_P_CONTEXT = 35
_P_JWT = 30
_P_URL = 25
_P_SCHEME = 20
_P_ASSIGN = 10
_P_ENTROPY = 5


def _has_digit(s: str) -> bool:
    return any(c.isdigit() for c in s)


def _mixed_case(s: str) -> bool:
    return any(c.isupper() for c in s) and any(c.islower() for c in s)


def _b64decode(value: str, urlsafe: bool = False) -> bytes | None:
    body = value.rstrip("=")
    if urlsafe:
        body = body.replace("-", "+").replace("_", "/")
    if len(body) % 4 == 1:
        return None
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


_AUTH_CONTEXT = re.compile(r"(?i)authorization(?:\\*[\"'])?[ \t]*[:=][ \t]*(?:\\*[\"'])?(?:bearer|basic)[ \t]+\Z")


def _auth_context(text: str, m: re.Match[str]) -> bool:
    """Is this Bearer/Basic credential the value of an Authorization header?"""
    start = m.start("v")
    return _AUTH_CONTEXT.search(text, max(0, start - 60), start) is not None


def _check_basic(text: str, m: re.Match[str], value: str) -> bool:
    if _auth_context(text, m):
        return True
    # Outside a header, "Basic <word>" is mostly prose; a real credential decodes to "user:pass".
    raw = _b64decode(value)
    if raw is None or b":" not in raw:
        return False
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return decoded.isprintable()


def _check_bearer(text: str, m: re.Match[str], value: str) -> bool:
    if _auth_context(text, m):
        return True
    # "the bearer responsibilities" -- a real token is long and has digits.
    return len(value) >= 16 and _has_digit(value)


_LOWER_HEX = re.compile(r"[0-9a-f]+")


def _check_openai(text: str, m: re.Match[str], value: str) -> bool:
    body = value.split("-", 2)[-1] if value.startswith(("sk-proj-", "sk-svcacct-", "sk-admin-")) else value[3:]
    if len(body) < 32:
        return False
    # Random keys mix upper, lower and digits; "sk-learn-..."-like slugs are lower-case kebab.
    # (32+ hex also passes: DeepSeek-style "sk-<hex>" keys.)
    return (_mixed_case(body) and _has_digit(body)) or _LOWER_HEX.fullmatch(body) is not None


def _check_digit(text: str, m: re.Match[str], value: str) -> bool:
    return _has_digit(value)


def _check_hf(text: str, m: re.Match[str], value: str) -> bool:
    body = value[3:]
    return _mixed_case(body) or (_has_digit(body) and any(c.isalpha() for c in body))


def _check_telegram(text: str, m: re.Match[str], value: str) -> bool:
    return _mixed_case(value.partition(":")[2])


def _check_discord(text: str, m: re.Match[str], value: str) -> bool:
    # The first segment is the bot's numeric user id in base64: a strong structural check.
    raw = _b64decode(value.split(".", 1)[0], urlsafe=True)
    return raw is not None and raw.isdigit()


_PEM_BODY_RUN = re.compile(r"[A-Za-z0-9+/=]{16}")


def _check_pem_body(text: str, m: re.Match[str], value: str) -> bool:
    # A truncated key must still show key material; "what does -----BEGIN PRIVATE KEY----- mean?"
    # is a question, not a key.
    return _PEM_BODY_RUN.search(m.group("body")) is not None


_TRAILING_JUNK = re.compile(r"(?:\s|\\[nrt])+\Z")


def _trim_pem(text: str, start: int, end: int) -> int:
    m = _TRAILING_JUNK.search(text, start, end)
    return m.start() if m else end


def _trim_dots(text: str, start: int, end: int) -> int:
    # "Use Bearer abc123." -- the full stop ends the sentence, not the token.
    while end > start and text[end - 1] == ".":
        end -= 1
    return end


_PEM_LABEL = r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"


def _rule(kind: str, pattern: str, priority: int = _P_PROVIDER, **kw: object) -> _ValueRule:
    return _ValueRule(kind=kind, regex=re.compile(pattern), priority=priority, **kw)  # type: ignore[arg-type]


_VALUE_RULES: tuple[_ValueRule, ...] = (
    # --- cloud ---------------------------------------------------------------------------
    _rule("aws_access_key_id", _start("A") + r"(?:KIA|SIA)[A-Z0-9]{16}(?![A-Za-z0-9])", literals=("AKIA", "ASIA")),
    # 40 base64 characters are everywhere (hashes, ids, blobs): only with a key name in front.
    _rule(
        "aws_secret_access_key",
        r"(?:(?i:(?:aws[_\-. ]?)?secret[_\-. ]?access[_\-. ]?key|aws[_\-. ]?secret(?:[_\-. ]?key)?)" + _SEP
        + r"|<SecretAccessKey>[ \t\r\n]*)(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        _P_CONTEXT, literals_ci=("secret",), also_ci=("access", "aws"), groups=("v",),
    ),
    _rule(
        "azure_storage_key", r"AccountKey=(?P<v>[A-Za-z0-9+/]{40,100}={0,2})(?![A-Za-z0-9+/=])",
        _P_CONTEXT, literals=("AccountKey=",), groups=("v",),
    ),
    _rule(
        "azure_shared_access_key", r"SharedAccessKey=(?P<v>[A-Za-z0-9+/]{40,100}={0,2})(?![A-Za-z0-9+/=])",
        _P_CONTEXT, literals=("SharedAccessKey=",), groups=("v",),
    ),
    _rule("google_api_key", _start("A", "A-Za-z0-9_\\-") + r"Iza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])", literals=("AIza",)),
    _rule("digitalocean_token", _start("d") + r"o[por]_v1_[a-f0-9]{64}(?![A-Za-z0-9])", literals=("_v1_",)),
    _rule("databricks_token", _start("d") + r"api[0-9a-f]{32}(?:-[0-9])?(?![A-Za-z0-9])", literals=("dapi",)),
    # --- code hosting and package registries -----------------------------------------------
    _rule("github_token", _start("g") + r"h[pousr]_[A-Za-z0-9]{36,255}(?![A-Za-z0-9_])",
          literals=("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    _rule("github_fine_grained_token", _start("g") + r"ithub_pat_[A-Za-z0-9_]{40,255}(?![A-Za-z0-9_])",
          literals=("github_pat_",)),
    _rule("gitlab_token", _start("g") + r"l(?:pat|dt|rt|ptt|ft|soat|oas|cbt)-[A-Za-z0-9_\-]{20,255}(?![A-Za-z0-9_\-])",
          literals=("glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glsoat-", "gloas-", "glcbt-")),
    _rule("npm_token", _start("n") + r"pm_[A-Za-z0-9]{36}(?![A-Za-z0-9])", literals=("npm_",)),
    # The fixed part is the base64 of the macaroon's location ("pypi.org" / "test.pypi.org").
    _rule("pypi_token", _start("p") + r"ypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,}+",
          literals=("pypi-AgE",)),
    # --- LLM providers and LLM tooling -----------------------------------------------------
    _rule("anthropic_api_key", _start("s") + r"k-ant-[A-Za-z0-9_\-]{32,300}(?![A-Za-z0-9_\-])", literals=("sk-ant-",)),
    _rule(
        "langfuse_secret_key",
        _start("s") + r"k-lf-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![A-Za-z0-9_\-])",
        literals=("sk-lf-",),
    ),
    # "sk-" is short and common in slugs, hence the shape check in _check_openai.
    _rule(
        "openai_api_key",
        _start("s") + r"k-(?!ant-|lf-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,300}(?![A-Za-z0-9_\-])",
        literals=("sk-",), check=_check_openai,
    ),
    _rule("huggingface_token", _start("h") + r"f_[A-Za-z0-9]{34,40}(?![A-Za-z0-9_])", literals=("hf_",), check=_check_hf),
    _rule("groq_api_key", _start("g") + r"sk_[A-Za-z0-9]{52}(?![A-Za-z0-9])", literals=("gsk_",)),
    _rule("replicate_api_token", _start("r") + r"8_[A-Za-z0-9]{37}(?![A-Za-z0-9])", literals=("r8_",)),
    _rule("perplexity_api_key", _start("p") + r"plx-[A-Za-z0-9]{48}(?![A-Za-z0-9])", literals=("pplx-",)),
    _rule("xai_api_key", _start("x") + r"ai-[A-Za-z0-9]{80}(?![A-Za-z0-9])", literals=("xai-",)),
    _rule("langsmith_api_key", _start("l") + r"sv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}(?![A-Za-z0-9])", literals=("lsv2_",)),
    # --- SaaS --------------------------------------------------------------------------------
    # Slack token bodies are digits and dashes first; requiring a digit keeps "xapp-config-x" out.
    _rule("slack_token", _start("x") + r"(?:ox[abposre]|oxe\.xox[bp]|app)-[0-9A-Za-z\-]{10,255}(?![0-9A-Za-z\-])",
          literals=("xox", "xapp-"), check=_check_digit),
    _rule("slack_webhook_url",
          _start("h") + r"(?:ttps?://hooks|ooks)\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_\-]+/[A-Za-z0-9_/\-]{10,300}",
          literals=("hooks.slack.com",)),
    _rule("stripe_secret_key", _start("[sr]") + r"k_(?:live|test)_[A-Za-z0-9]{24,247}(?![A-Za-z0-9])",
          literals=("sk_live_", "sk_test_", "rk_live_", "rk_test_")),
    _rule("stripe_webhook_secret", _start("w") + r"hsec_[A-Za-z0-9+/]{32,100}={0,2}(?![A-Za-z0-9+/=])", literals=("whsec_",)),
    _rule("sendgrid_api_key", _start("S") + r"G\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}(?![A-Za-z0-9_\-])", literals=("SG.",)),
    # Twilio: an account SID (AC + 32 hex) is an id and stays; an API key SID (SK + 32 hex) is
    # treated as a secret; a bare 32-hex auth token only with its name in front.
    _rule("twilio_api_key", _start("S") + r"K[0-9a-f]{32}(?![A-Za-z0-9])", literals=("SK",)),
    _rule("twilio_auth_token", r"(?i:twilio[_\-. ]?(?:auth[_\-. ]?)?token)" + _SEP + r"(?P<v>[0-9a-f]{32})(?![A-Za-z0-9])",
          _P_CONTEXT, literals_ci=("twilio",), groups=("v",)),
    _rule("mailgun_api_key", _start("k") + r"ey-[0-9a-f]{32}(?![A-Za-z0-9])", literals=("key-",)),
    _rule("mailchimp_api_key", _start("[0-9a-f]") + r"[0-9a-f]{31}-us[0-9]{1,2}(?![A-Za-z0-9])", literals=("-us",)),
    _rule("shopify_token", _start("s") + r"hp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}(?![A-Za-z0-9])", literals=("shp",)),
    _rule("square_token", _start("s") + r"q0(?:atp|csp)-[0-9A-Za-z_\-]{22,43}(?![0-9A-Za-z_\-])", literals=("sq0",)),
    _rule("telegram_bot_token", _start("[0-9]") + r"[0-9]{7,9}:[A-Za-z0-9_\-]{35}(?![A-Za-z0-9_\-])",
          literals=(":",), check=_check_telegram),
    _rule("discord_bot_token",
          _start("[MNO]", "A-Za-z0-9_\\-") + r"[A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38}(?![A-Za-z0-9_\-])",
          literals=(".",), check=_check_discord),
    _rule("age_secret_key", r"AGE-SECRET-KEY-1[0-9A-Z]{58}(?![A-Za-z0-9])", literals=("AGE-SECRET-KEY-1",)),
    # --- structural formats --------------------------------------------------------------
    # Header and payload are base64url JSON objects ('{"' -> "eyJ"); up to two more segments
    # make a five-part JWE. The signature may be empty (alg "none").
    _rule(
        "jwt",
        _start("e", "A-Za-z0-9_\\-") + r"yJ[A-Za-z0-9_\-]{8,}+\.[A-Za-z0-9_\-]{8,}+\.[A-Za-z0-9_\-]*+"
        r"(?:\.[A-Za-z0-9_\-]++\.[A-Za-z0-9_\-]++)?",
        _P_JWT, literals=("eyJ",),
    ),
    # A complete PEM block of any key type. The body may not contain "-----", so a BEGIN
    # without an END costs one pass to the next dashes instead of a scan to the end of text.
    _rule("private_key", _PEM_LABEL + r"(?:[^-]|-(?!----))*+-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----",
          literals=("PRIVATE KEY",)),
    # A truncated one (span attributes are often cut at a size limit): mask the header and the
    # key material that follows. A complete block also matches this; the longer one wins.
    _rule(
        "private_key",
        # (header lines first: the loop is possessive, so "P" must not be taken as base64 first)
        _PEM_LABEL + r"(?P<body>(?:(?:Proc-Type|DEK-Info|Comment|Version):[^\r\n\\]{0,200}|[A-Za-z0-9+/= \t\r\n]|\\[nrt])*+)",
        literals=("PRIVATE KEY",), check=_check_pem_body, trim=_trim_pem,
    ),
    _rule("basic_auth", _start("[Bb]") + r"(?i:asic)[ \t]+(?P<v>[A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])",
          _P_SCHEME, literals_ci=("basic",), groups=("v",), check=_check_basic),
    _rule("bearer_token", _start("[Bb]") + r"(?i:earer)[ \t]+(?P<v>[A-Za-z0-9\-._~+/]{8,}=*)",
          _P_SCHEME, literals_ci=("bearer",), groups=("v",), check=_check_bearer, trim=_trim_dots),
    # scheme://user:password@host -- every DSN (postgres, mysql, mongodb+srv, redis, amqp, ...).
    # The userinfo is masked; with an empty user ("redis://:pw@host") just the password.
    _rule(
        "url_credentials",
        r"://(?:(?P<ui>[^\s:/?#@\"'<>\\]+:[^\s/?#\"'<>\\]+)|:(?P<pw>[^\s/?#\"'<>\\]+))@",
        _P_URL, literals=("://",), groups=("ui", "pw"),
    ),
)


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
    r"|(?P<arr>\[)"
    r"|(?P<bare>[^\s\"'`,;&<>{}\[\]()\\=])"  # first character only, see _scan_assignments
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
_PROSE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")
_PASSWORD_SYMBOLS = frozenset("!@#$%^&*_+=~/\\|.?")
# --password hunter2 (command lines in tool calls and process attributes)
_CLI_RX = re.compile(r"(?<![A-Za-z0-9_\-])--(?P<key>[A-Za-z][A-Za-z0-9_\-]{1,60})[ \t]+(?P<bare>[^\s\-\"'][^\s\"']*)")
# <password>hunter2</password>
_XML_RX = re.compile(r"<(?P<key>[A-Za-z_][A-Za-z0-9_.\-]{0,60})>[ \t\r\n]*(?P<v>[^<\r\n]{1,1000}?)[ \t\r\n]*</(?P=key)>")
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
    r"|your[-_ ].*"  # "your-api-key", "YOUR_TOKEN_HERE"
)
# SCREAMING_SNAKE without digits: a constant's name in code ("aws_secret_access_key=SECRET_KEY").
_CONSTANT_NAME = re.compile(r"[A-Z]+(?:_[A-Z]+)+")
# One part of a dotted name in one of the usual code styles (snake_case, SCREAMING_CASE,
# CamelCase): how code refers to a value. A random password with a dot ("e_bSDsO.Sn6F14")
# does not fit. Matched one part at a time: as a single regex over "a.a.a...!" the overlapping
# alternatives would backtrack exponentially.
_NAME_PART = re.compile(
    r"_*(?:[a-z]+[0-9]*(?:_+[a-z0-9]+)*|[A-Z][A-Z0-9]*(?:_+[A-Z0-9]+)*|[A-Z]?[a-z]+[0-9]*(?:[A-Z][a-z]+[0-9]*)*)_*"
)
_MAX_CODE_NAME_LEN = 120
_DOTTED_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
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
    if len(stripped) > 200:  # placeholders and names are short; a long value is content
        return False
    if _PLACEHOLDER.fullmatch(stripped):
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

    __slots__ = ("_phrases", "_stems", "_kinds", "_cache", "_assign_cache")

    def __init__(self, phrases: tuple[_KeyPhrase, ...]) -> None:
        self._phrases = phrases
        # Every key a phrase can match contains the phrase's stem in its lower-cased raw text
        # ("X-Api-Key" -> "api"): a cheap test for "is the assignment scan worth running".
        stems = {p.stem for p in phrases} | _KEYISH_LAST_WORDS
        self._stems: tuple[str, ...] = tuple(sorted(stems, key=len))
        kinds = {r.kind for r in _VALUE_RULES} | {p.kind for p in phrases} | {GENERIC_KIND}
        self._kinds = frozenset(kinds)
        self._cache: dict[str, str | None] = {}
        # scan()'s view of a key: (kind, key-ish for the entropy rule); cached the same way.
        self._assign_cache: dict[str, tuple[str | None, bool]] = {}

    @classmethod
    def compile(cls, extra_key_names: Iterable[str] = ()) -> SecretRules:
        """The built-in rules plus ``extra_key_names`` (kind ``"custom"``).

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
        return cls(_BUILTIN_PHRASES + tuple(extras))

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
        kind = self._match(_key_words(key), suffix_only=False)
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
        found: list[tuple[int, int, int, str]] = []  # (start, end, priority, kind)
        # Only for the literal pre-checks: str.lower() may change the length of non-ASCII text,
        # so no offset is ever taken from it.
        lower = text.lower()
        for rule in _VALUE_RULES:
            if _wanted(rule, text, lower):
                _rule_findings(rule, text, found)
        # Assignments need a secret-ish key, and every such key contains one of the stems.
        for stem in self._stems:
            if stem in lower:
                if "=" in text or ":" in text:
                    self._scan_assignments(text, found)
                if "--" in text:
                    self._scan_cli(text, found)
                if "</" in text:
                    self._scan_xml(text, found)
                if " is " in lower or " was " in lower:
                    self._scan_prose(text, found)
                break
        return _resolve(found)

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
            group = next(g for g in ("dq", "sq", "eq", "bare") if m.group(g) is not None)
            vstart, vend = m.span(group)
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
                if vend - vstart <= _ENTROPY_MAX_LEN and _looks_random(text[vstart:vend]):
                    found.append((vstart, vend, _P_ENTROPY, GENERIC_KIND))
                    pos = vend
                else:
                    pos = vstart
                continue
            if " " in key and _char_before(text, m.start("key")) == ":":
                pos = vstart  # a reST field list in a docstring: ":param token: the token"
                continue
            if group == "bare":
                vend = self._extend_bare(text, key, m.start("key"), vstart, vend)
            if kind == "authorization":
                scheme = _AUTH_SCHEME.match(text, vstart, vend)
                if scheme is not None:  # "Bearer abc": mask the credential, keep the scheme
                    vstart = scheme.end()
            value = text[vstart:vend]
            if not _is_placeholder(value, key) and not (kind == "password" and _is_pwd_path(key, value)):
                found.append((vstart, vend, _P_ASSIGN, kind))
            pos = max(vend, m.end())

    @staticmethod
    def _extend_bare(text: str, key: str, key_start: int, vstart: int, vend: int) -> int:
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
        for m in _PROSE_RX.finditer(text):
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
            kind = self.key_kind(key)
            if kind is not None and not _is_placeholder(m.group("bare"), key):
                found.append((*m.span("bare"), _P_ASSIGN, kind))

    def _scan_xml(self, text: str, found: list[tuple[int, int, int, str]]) -> None:
        for m in _XML_RX.finditer(text):
            key = m.group("key")
            kind = self.key_kind(key)
            if kind is not None and not _is_placeholder(m.group("v"), key):
                found.append((*m.span("v"), _P_ASSIGN, kind))


def _wanted(rule: _ValueRule, text: str, lower: str) -> bool:
    """The literal pre-checks of one rule (split out of scan() unchanged, for the length limit)."""
    # Plain loops, not any(<genexpr>): this runs ~40 times per call on every string.
    for lit in rule.literals:
        if lit in text:
            break
    else:
        if rule.literals:
            return False
    for lit in rule.literals_ci:
        if lit in lower:
            break
    else:
        if rule.literals_ci:
            return False
    for lit in rule.also_ci:
        if lit in lower:
            break
    else:
        if rule.also_ci:
            return False
    return True


def _rule_findings(rule: _ValueRule, text: str, found: list[tuple[int, int, int, str]]) -> None:
    for m in rule.regex.finditer(text):
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
        if rule.check is not None and not rule.check(text, m, text[start:end]):
            continue
        found.append((start, end, rule.priority, rule.kind))


def _char_before(text: str, index: int) -> str:
    return text[index - 1] if index > 0 else ""


_V = TypeVar("_V")


def _remember(cache: dict[str, _V], key: str, value: _V) -> None:
    # Bounded: keys come from untrusted input. Long keys are rare and not worth keeping.
    if len(key) <= _KEY_CACHE_MAX_KEY_LEN:
        if len(cache) >= _KEY_CACHE_MAX:
            cache.clear()
        cache[key] = value


def _is_code_reference(text: str, start: int, end: int) -> bool:
    """An unquoted value that is code naming the secret, not the secret itself.

    ``token = jwt.decode(...)``, ``key = os.environ["X"]`` (a call or subscript follows) and
    ``token = self.token`` / ``password = settings.DB_PASSWORD`` (a dotted name), and type
    annotations (``key: KeyTypes | None``, ``token: Token = None``). Quoted values are literals
    and never skipped here.
    """
    if end - start > _MAX_CODE_NAME_LEN or not all(_NAME_PART.fullmatch(p) for p in text[start:end].split(".")):
        return False
    return text.startswith(("(", "["), end) or "." in text[start:end] or _ANNOTATION_TAIL.match(text, end) is not None


def _is_pwd_path(key: str, value: str) -> bool:
    # PWD is also the shell's working directory: "PWD=/home/app" is a path, not a password.
    return key.strip("\"'").lower() == "pwd" and value.startswith(("/", "~"))


def _resolve(found: list[tuple[int, int, int, str]]) -> list[SecretFinding]:
    """Merge overlapping candidates: the union span, the kind of the longest (then most specific)."""
    if not found:
        return []
    found.sort(key=lambda f: (f[0], -f[1]))
    out: list[SecretFinding] = []
    c_start, c_end, _, _ = found[0]
    best = found[0]
    for cand in found[1:]:
        start, end, priority, _ = cand
        if start < c_end:
            c_end = max(c_end, end)
            if (end - start, priority) > (best[1] - best[0], best[2]):
                best = cand
            continue
        out.append(SecretFinding(c_start, c_end, best[3]))
        c_start, c_end, best = start, end, cand
    out.append(SecretFinding(c_start, c_end, best[3]))
    return out
