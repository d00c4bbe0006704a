"""The secret rule table: provider token formats as data.

Each :class:`Rule` says what a secret looks like and nothing else: an id, the family it belongs
to, the finding ``kind`` (``<SECRET:kind>`` in output), keywords (lower-case strings, at least one
of which occurs inside every match: the prefilter runs a rule only near one of them), the regex,
which group is the secret, an entropy floor for that group, and an allow-list of regexes for
values that have the shape but are known not to be secrets (placeholders, documentation
examples). ``check`` and ``trim`` name a validator from :data:`CHECKS` / :data:`TRIMS` for the few
formats whose structure a regex cannot express (a Discord token's first segment is a base64 user
id). ``window`` bounds how far from a keyword a match can reach (``None``: anywhere).

The formats were learned from the providers' documentation, gitleaks' default rule set and
detect-secrets' plugins; the patterns are our own. ``redactors/secrets.py`` compiles this table
once at import (a bad rule refuses to start) and runs it. See docs/secrets.md to add a rule.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

# Priorities: a provider's own format is the most specific statement about a value.
P_PROVIDER = 40
P_CONTEXT = 35
P_JWT = 30
P_URL = 25
P_SCHEME = 20
P_ASSIGN = 10
P_ENTROPY = 5

DEFAULT_WINDOW = 400


@dataclass(frozen=True, slots=True)
class Rule:
    id: str  # unique, lower-case kebab: "github-pat"
    family: str  # "github"
    kind: str  # the finding's kind, shown as <SECRET:kind>
    keywords: tuple[str, ...]  # lower-case; one of them occurs inside every match
    pattern: str
    secret_group: str | int | tuple[str | int, ...] = 0  # several: the first that took part
    entropy: float = 0.0  # minimum Shannon bits per character of the secret
    allow: tuple[str, ...] = ()  # a secret that one of these searches finds is not a finding
    priority: int = P_PROVIDER
    check: str = ""  # a name in CHECKS
    trim: str = ""  # a name in TRIMS
    window: int | None = DEFAULT_WINDOW


# ================================================================================ validators


def _has_digit(s: str) -> bool:
    return any(c.isdigit() for c in s)


def _mixed_case(s: str) -> bool:
    return any(c.isupper() for c in s) and any(c.islower() for c in s)


def b64decode(value: str, urlsafe: bool = False) -> bytes | None:
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
    raw = b64decode(value)
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
    body = value.split("_", 2)[-1] if value.startswith("api_org_") else value[3:]
    return _mixed_case(body) or (_has_digit(body) and any(c.isalpha() for c in body))


def _check_telegram(text: str, m: re.Match[str], value: str) -> bool:
    return _mixed_case(value.partition(":")[2])


def _check_discord(text: str, m: re.Match[str], value: str) -> bool:
    # The first segment is the bot's numeric user id in base64: a strong structural check.
    raw = b64decode(value.split(".", 1)[0], urlsafe=True)
    return raw is not None and raw.isdigit()


_PEM_BODY_RUN = re.compile(r"[A-Za-z0-9+/=]{16}")


def _check_pem_body(text: str, m: re.Match[str], value: str) -> bool:
    # A truncated key must still show key material; "what does -----BEGIN PRIVATE KEY----- mean?"
    # is a question, not a key.
    return _PEM_BODY_RUN.search(m.group("body")) is not None


def _check_mixed(text: str, m: re.Match[str], value: str) -> bool:
    """Random tokens mix letters and digits (an identifier such as "sumOfValues" does not)."""
    return _has_digit(value) and any(c.isalpha() for c in value)


_TRAILING_JUNK = re.compile(r"(?:\s|\\[nrt])+\Z")


def _trim_pem(text: str, start: int, end: int) -> int:
    m = _TRAILING_JUNK.search(text, start, end)
    return m.start() if m else end


def _trim_dots(text: str, start: int, end: int) -> int:
    # "Use Bearer abc123." -- the full stop ends the sentence, not the token.
    while end > start and text[end - 1] == ".":
        end -= 1
    return end


Check = Callable[[str, "re.Match[str]", str], bool]
Trim = Callable[[str, int, int], int]

CHECKS: dict[str, Check] = {
    "basic": _check_basic,
    "bearer": _check_bearer,
    "openai": _check_openai,
    "digit": _check_digit,
    "huggingface": _check_hf,
    "telegram": _check_telegram,
    "discord": _check_discord,
    "pem_body": _check_pem_body,
    "mixed": _check_mixed,
}
TRIMS: dict[str, Trim] = {"pem": _trim_pem, "dots": _trim_dots}


# ================================================================================ pattern parts

_WORD = "A-Za-z0-9"


def start(first: str, word: str = _WORD) -> str:
    """``first`` (ONE character or class) that must not continue a longer word.

    The look-behinds sit after the first character, so the pattern still begins with a literal
    (fast prefix search). A token right after a JSON ``\\n``/``\\t``/``\\r`` escape or a ``%XX``
    URL escape counts as starting a word: raw JSON text and URL-encoded queries hide secrets
    right after such escapes.
    """
    return f"{first}(?:(?<![{word}]{first})|(?<=\\\\[nrt]{first})|(?<=%[0-9A-Fa-f]{{2}}{first}))"


def tok(prefix: str, body: str, word: str = _WORD + "_\\-") -> str:
    """A prefixed token: ``prefix`` (literal) + ``body`` (regex), not inside a longer token."""
    before = word.replace("+/=", "").replace("+/", "") + "."  # "=ghp_..." starts a token; "box.ico-..." does not
    return start(re.escape(prefix[0]), before) + re.escape(prefix[1:]) + f"(?:{body})(?![{word}])"


# Separator between a key and its value, in the syntaxes of code and config: = : := ?= ::= :::=
# += .= => <- ||, a Go/TS type between ("x string =", "x: str ="), closing quotes or brackets
# after the key, a call's comma between two quoted arguments ('setProperty("K", "v")').
OPERATOR = r"(?:::?:?=|\?=|\+=|\.=|=>|<-|\|\|=?|[:=])"
_TYPE = r"(?:[ \t]*:?[ \t]+(?:string|String|str|&str|\[\]byte|char\*?|const[ \t]+char[ \t]*\*))?"
KEY_TO_VALUE = (
    r"(?:\\*[\"'`])?\]?" + _TYPE + r"[ \t]*(?:" + OPERATOR + r"|(?<=[\"'])[ \t]*,)[ \t]*(?:\\*[\"'`])?[ \t]*"
)
END = r"(?=[\s\"'`;,)\]}<>&|]|\\[nrt\"']|$)"


def keyed(words: tuple[str, ...], value: str, value_flags: str = "") -> str:
    """A value of shape ``value`` assigned to a key that contains one of ``words`` -- the form of
    providers whose tokens have no prefix of their own. A word matches lower-case, Capitalised
    or UPPER-case at the start of a word of the key ("sumo_key", "SumoKey", "SUMO_KEY"; not
    "sumOfValues" or "CameraKit")."""
    variants = sorted({v for w in words for v in (w.lower(), w[:1].upper() + w[1:].lower(), w.upper())}, key=len, reverse=True)
    alternation = "|".join(re.escape(v) for v in variants)
    key = rf"(?<![a-z])(?:{alternation})[\w.\-]{{0,40}}?(?:[ \t]+[\w.\-]{{1,30}}?){{0,2}}?"
    val = f"(?{value_flags}:{value})" if value_flags else f"(?:{value})"
    pair = r"[\"'][ \t]+(?i:value)[ \t]*=[ \t]*[\"']"  # <add key="K" value="v"/>
    return key + f"(?:{KEY_TO_VALUE}|{pair})" + f"(?P<s>{val})" + END


# The same allow-list for every token: placeholders and documentation examples.
PLACEHOLDER_ALLOW = (
    r"(?i)x{5,}|\*{4,}|#{4,}|\.{3}|0{16,}|1{16,}",
    r"(?i)your[_\-]?(?:api[_\-]?)?(?:key|token|secret)|_here\b|here$|replace[_\-]?me|change[_\-]?me|placeholder|redacted|<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}",
    r"(?i)abcdefgh",
    r"EXAMPLE(?:KEY)?$|EXAMPLE[A-Z]*EXAMPLE$",
)

_B62 = "A-Za-z0-9"
_B64U = "A-Za-z0-9_\\-"
_HEX = "0-9a-f"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_PEM_LABEL = r"-----BEGIN[ A-Z0-9_\-]{0,40}PRIVATE KEY(?: BLOCK)?-----"


def R(rid: str, family: str, keywords: str | tuple[str, ...], pattern: str, **kw: object) -> Rule:
    """A rule; ``kind`` defaults to the id in snake case, ``keywords`` may be one string."""
    kws = (keywords,) if isinstance(keywords, str) else keywords
    kind = str(kw.pop("kind", rid.replace("-", "_")))
    return Rule(id=rid, family=family, kind=kind, keywords=tuple(kws), pattern=pattern, **kw)  # type: ignore[arg-type]


def K(rid: str, family: str, words: tuple[str, ...], value: str, entropy: float = 3.0, **kw: object) -> Rule:
    """A keyword-gated rule: ``value`` assigned to a key naming the provider (one of ``words``)."""
    kw.setdefault("allow", PLACEHOLDER_ALLOW)
    return R(rid, family, tuple(w.lower() for w in words), keyed(words, value), secret_group="s",
             entropy=entropy, priority=P_CONTEXT, **kw)  # fmt: skip


def T(rid: str, family: str, prefix: str, body: str, entropy: float = 3.0, **kw: object) -> Rule:
    """A prefixed token rule: the prefix is the keyword."""
    kw.setdefault("allow", PLACEHOLDER_ALLOW)
    word = str(kw.pop("word", _WORD + "_\\-"))
    return R(rid, family, prefix.lower(), tok(prefix, body, word), entropy=entropy, **kw)


# ================================================================================ the table
# fmt: off
BUILTIN_RULES: tuple[Rule, ...] = (
    # --- model providers and LLM tooling ---------------------------------------------------------
    T("anthropic-api-key", "anthropic", "sk-ant-", rf"(?:api|admin)[0-9]{{2}}-[{_B64U}]{{93}}AA|(?!(?:api|admin)[0-9]{{2}}-)[{_B64U}]{{32,300}}",
      kind="anthropic_api_key", entropy=3.5),
    R("openai-api-key", "openai", "sk-",
      start("s") + rf"k-(?!ant-|lf-|or-)(?:proj-|svcacct-|admin-)?[{_B64U}]{{20,300}}(?![{_B64U}])",
      check="openai", kind="openai_api_key", entropy=3.0, allow=PLACEHOLDER_ALLOW),
    T("openrouter-api-key", "openrouter", "sk-or-", rf"v1-[{_HEX}]{{64}}", kind="openrouter_api_key"),
    T("langfuse-secret-key", "langfuse", "sk-lf-", _UUID, kind="langfuse_secret_key"),
    T("langfuse-public-key", "langfuse", "pk-lf-", _UUID, kind="langfuse_public_key"),
    T("langsmith-api-key", "langsmith", "lsv2_", rf"(?:pt|sk)_[{_HEX}]{{32}}_[{_HEX}]{{10}}", kind="langsmith_api_key"),
    T("google-api-key", "google", "AIza", rf"[{_B64U}]{{35}}", kind="google_api_key", entropy=3.5),
    T("groq-api-key", "groq", "gsk_", f"[{_B62}]{{52}}", kind="groq_api_key"),
    T("huggingface-token", "huggingface", "hf_", f"[{_B62}]{{34,40}}", check="huggingface", kind="huggingface_token"),
    T("huggingface-org-token", "huggingface", "api_org_", f"[{_B62}]{{34}}", check="huggingface", kind="huggingface_token"),
    T("replicate-api-token", "replicate", "r8_", f"[{_B62}]{{37}}", kind="replicate_api_token"),
    T("perplexity-api-key", "perplexity", "pplx-", f"[{_B62}]{{48}}", kind="perplexity_api_key", entropy=3.5),
    T("xai-api-key", "xai", "xai-", f"[{_B62}]{{80}}", kind="xai_api_key"),
    T("together-api-key", "together", "tgp_v1_", f"[{_B64U}]{{40,64}}", kind="together_api_key"),
    T("fireworks-api-key", "fireworks", "fw_", f"[{_B62}]{{20,40}}", check="mixed", kind="fireworks_api_key"),
    T("pinecone-api-key", "pinecone", "pcsk_", f"[{_B62}]{{4,8}}_[{_B62}]{{50,80}}", kind="pinecone_api_key"),
    K("cohere-api-key", "cohere", ("cohere", "co_api_key"), f"[{_B62}]{{40}}", 3.5),
    K("mistral-api-key", "mistral", ("mistral",), f"[{_B62}]{{32}}", 3.5),
    K("weaviate-api-key", "weaviate", ("weaviate",), f"[{_B62}]{{32,48}}", 3.5),
    K("qdrant-api-key", "qdrant", ("qdrant",), f"[{_B64U}]{{24,64}}", 3.5),
    K("wandb-api-key", "wandb", ("wandb",), f"[{_HEX}]{{40}}", 3.0),
    K("pinecone-legacy-key", "pinecone", ("pinecone",), _UUID, 3.0),
    # --- observability --------------------------------------------------------------------------------
    T("new-relic-user-api-key", "newrelic", "NRAK-", "[A-Z0-9]{27}", kind="new_relic_api_key"),
    T("new-relic-insert-key", "newrelic", "NRII-", f"[{_B64U}]{{32}}", kind="new_relic_api_key"),
    T("new-relic-browser-key", "newrelic", "NRJS-", f"[{_HEX}]{{19}}", kind="new_relic_api_key"),
    K("new-relic-license-key", "newrelic", ("new_relic", "newrelic", "new-relic", "nr_license"), rf"[{_HEX}]{{36}}NRAL|[{_B62}]{{40}}|[{_B62}]{{64}}", 3.0),
    T("honeycomb-api-key", "honeycomb", "hca", r"(?:ik|ic|mk)_[a-z0-9]{58}|[a-z0-9]{19,}", check="digit", kind="honeycomb_api_key"),
    K("honeycomb-config-key", "honeycomb", ("honeycomb",), f"[{_B62}]{{22}}|[{_B62}]{{32}}", 3.5),
    K("datadog-api-key", "datadog", ("datadog", "dd_api_key", "dd_app_key", "dd-api-key", "dd-application-key", "dd_application_key"), f"[{_HEX}]{{32}}|[{_HEX}]{{40}}|[a-zA-Z0-9]{{40}}", 3.0),
    T("sentry-user-token", "sentry", "sntryu_", f"[{_HEX}]{{64}}", kind="sentry_token"),
    T("sentry-org-token", "sentry", "sntrys_", "eyJ[A-Za-z0-9+/=_]{30,400}_[A-Za-z0-9+/]{43}", kind="sentry_token", window=None),
    K("sentry-access-token", "sentry", ("sentry",), f"[{_HEX}]{{64}}", 3.0),
    R("sentry-dsn", "sentry", ("sentry.io", "ingest."), r"https?://(?P<s>[0-9a-f]{32})(?::[0-9a-f]{32})?@[\w.\-]*ingest[\w.\-]*\.\w+",
      secret_group="s", kind="sentry_dsn"),
    T("grafana-cloud-token", "grafana", "glc_", "[A-Za-z0-9+/]{32,400}={0,3}", kind="grafana_token", word=_WORD + "_\\-+/="),
    T("grafana-sa-token", "grafana", "glsa_", f"[{_B62}]{{32}}_[A-Fa-f0-9]{{8}}", kind="grafana_token"),
    R("grafana-api-key", "grafana", "eyjrijoi", start("e", _B64U) + "yJrIjoi[A-Za-z0-9]{70,400}={0,3}", kind="grafana_token", entropy=3.0),
    T("dynatrace-token", "dynatrace", "dt0c01.", f"[{_B62}]{{24}}\\.[{_B62}]{{64}}", kind="dynatrace_token"),
    K("sumologic-access-id", "sumologic", ("sumo",), f"su[{_B62}]{{12}}", 3.0, check="mixed"),
    K("sumologic-access-key", "sumologic", ("sumo",), f"[{_B62}]{{64}}", 3.0),
    # --- cloud ---------------------------------------------------------------------------------------
    R("aws-access-key-id", "aws", ("akia", "asia", "abia", "acca", "a3t"),
      start("A") + "(?:KIA|SIA|BIA|CCA|3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])", kind="aws_access_key_id", entropy=3.0,
      allow=PLACEHOLDER_ALLOW),
    R("aws-secret-access-key", "aws", ("secret", "secretaccesskey"),
      r"(?:(?i:(?:aws[_\-. ]?)?secret[_\-. ]?access[_\-. ]?key|aws[_\-. ]?secret(?:[_\-. ]?key)?)" + KEY_TO_VALUE
      + r"|<SecretAccessKey>[ \t\r\n]*)(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
      secret_group="v", priority=P_CONTEXT, kind="aws_secret_access_key", allow=PLACEHOLDER_ALLOW),
    T("aws-bedrock-api-key", "aws", "ABSK", "[A-Za-z0-9+/]{109,269}={0,2}", kind="aws_bedrock_api_key", word=_WORD + "+/="),
    R("aws-bedrock-short-key", "aws", "bedrock-api-key-", start("b") + r"edrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t(?:[A-Za-z0-9+/=&%?.\-]*)",
      kind="aws_bedrock_api_key"),
    R("azure-storage-key", "azure", "accountkey=", r"AccountKey=(?P<v>[A-Za-z0-9+/]{40,100}={0,2})(?![A-Za-z0-9+/=])",
      secret_group="v", priority=P_CONTEXT, kind="azure_storage_key"),
    R("azure-shared-access-key", "azure", "sharedaccesskey=", r"SharedAccessKey=(?P<v>[A-Za-z0-9+/]{40,100}={0,2})(?![A-Za-z0-9+/=])",
      secret_group="v", priority=P_CONTEXT, kind="azure_shared_access_key"),
    R("azure-ad-client-secret", "azure", "q~", r"(?<![A-Za-z0-9_~.\-])(?P<s>[A-Za-z0-9_~.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?![A-Za-z0-9_~.\-])",
      secret_group="s", entropy=3.5, kind="azure_client_secret", allow=PLACEHOLDER_ALLOW, check="mixed"),
    R("azure-sas-signature", "azure", "sig=", r"[?&]sig=(?P<s>[A-Za-z0-9%+/=]{30,120})(?![A-Za-z0-9%+/=])", secret_group="s",
      kind="signature", priority=P_CONTEXT),
    R("digitalocean-token", "digitalocean", ("dop_v1_", "doo_v1_", "dor_v1_"), start("d") + rf"o[por]_v1_[{_HEX}]{{64}}(?![{_B64U}])",
      kind="digitalocean_token", entropy=3.0, allow=PLACEHOLDER_ALLOW),
    R("databricks-token", "databricks", "dapi", start("d") + r"api[0-9a-f]{32}(?:-[0-9])?(?![A-Za-z0-9])", kind="databricks_token"),
    T("alibaba-access-key-id", "alibaba", "LTAI", f"[{_B62}]{{20}}", kind="alibaba_access_key_id"),
    K("alibaba-secret-key", "alibaba", ("alibaba", "aliyun"), f"[{_B62}]{{30}}", 3.0),
    T("cloudflare-origin-ca-key", "cloudflare", "v1.0-", f"[{_HEX}]{{24}}-[{_HEX}]{{146}}", kind="cloudflare_token"),
    K("cloudflare-api-key", "cloudflare", ("cloudflare", "cf_api"), rf"[{_B64U}]{{40}}|[{_HEX}]{{37}}", 3.0, kind="cloudflare_token"),
    T("heroku-api-key-v2", "heroku", "HRKU-AA", f"[{_B64U}]{{58}}", kind="heroku_api_key"),
    K("heroku-api-key", "heroku", ("heroku",), _UUID, 3.0, kind="heroku_api_key"),
    R("flyio-token", "flyio", ("fo1_", "fm1", "fm2_"),
      start("f", _B64U) + rf"(?:o1_[{_B64U}]{{43}}|m1[ar]_[A-Za-z0-9+/]{{100,}}={{0,3}}|m2_[A-Za-z0-9+/]{{100,}}={{0,3}})(?![{_B64U}+/=])",
      entropy=4.0, kind="flyio_token", window=None),
    R("vault-token", "hashicorp_vault", ("hvs.", "hvb.", "hvr."),
      start("h") + rf"v[sbr]\.[{_B64U}]{{90,400}}(?![{_B64U}])", kind="vault_token", entropy=3.5),
    # Look-behinds after the first characters, as in start(): the pattern begins with a literal.
    R("vault-legacy-token", "hashicorp_vault", "s.", r"s\.(?<![\w.\-]s\.)(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Z])(?=[A-Za-z0-9]*[a-z])[A-Za-z0-9]{24}(?![\w.\-])",
      kind="vault_token", entropy=3.5),
    R("terraform-cloud-token", "hashicorp", ".atlasv1.", rf"(?<![A-Za-z0-9])[A-Za-z0-9]{{14}}\.atlasv1\.[{_B64U}=]{{60,70}}(?![{_B64U}=])",
      kind="terraform_token", entropy=3.5, allow=PLACEHOLDER_ALLOW),
    T("doppler-token", "doppler", "dp.", rf"(?:pt|st|sa|ct|scim|audit)\.[{_B62}]{{40,44}}", kind="doppler_token"),
    T("ibm-softlayer-url", "ibm", "api.softlayer.com", r"/soap/v3(?:\.1)?/[a-z0-9]{64}", kind="ibm_api_key", word=_WORD),
    K("ibm-cloud-iam-key", "ibm", ("ibm", "iam_api", "cloud_iam", "softlayer", "cloudant"), f"[{_B64U}]{{44}}|[a-z0-9]{{64}}|[a-z]{{24}}", 3.0),
    R("cloudant-url", "ibm", "cloudant.com", r"https?://[\w\-]+:(?P<s>[0-9a-f]{64}|[a-z]{24})@[\w\-]+\.cloudant\.com", secret_group="s", kind="ibm_api_key"),
    T("planetscale-token", "planetscale", "pscale_", rf"(?:tkn|oauth|pw)_[{_B64U}=.]{{32,64}}", kind="planetscale_token"),
    T("supabase-secret-key", "supabase", "sb_secret_", f"[{_B64U}]{{30,64}}", kind="supabase_secret_key"),
    T("clickhouse-secret", "clickhouse", "4b1d", f"[{_B62}]{{38}}", kind="clickhouse_secret", entropy=3.5, word=_WORD),
    # --- code hosting, packages, CI --------------------------------------------------------------------
    R("github-token", "github", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
      start("g") + r"h[pousr]_[A-Za-z0-9]{36,255}(?![A-Za-z0-9_])", kind="github_token", entropy=3.0, allow=PLACEHOLDER_ALLOW),
    T("github-fine-grained-token", "github", "github_pat_", "[A-Za-z0-9_]{40,255}", kind="github_fine_grained_token"),
    R("gitlab-token", "gitlab", ("glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glsoat-", "gloas-", "glcbt-", "glimt-", "glagent-", "glffct-"),
      start("g") + r"l(?:pat|dt|rt|ptt|ft|soat|oas|cbt|imt|agent|ffct)-[A-Za-z0-9_\-]{20,255}(?:\.[0-9a-z]{9})?(?![A-Za-z0-9_\-])",
      kind="gitlab_token", entropy=3.0, allow=PLACEHOLDER_ALLOW),
    T("gitlab-runner-registration", "gitlab", "GR1348941", f"[{_B64U}]{{20}}", kind="gitlab_token"),
    R("gitlab-session-cookie", "gitlab", "_gitlab_session=", r"_gitlab_session=(?P<s>[0-9a-z]{32})", secret_group="s", kind="gitlab_token"),
    T("npm-token", "npm", "npm_", f"[{_B62}]{{36}}", kind="npm_token"),
    R("pypi-token", "pypi", "pypi-age",
      start("p") + r"ypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,}+", kind="pypi_token", window=None),
    T("rubygems-token", "rubygems", "rubygems_", f"[{_HEX}]{{48}}", kind="rubygems_token"),
    T("nuget-api-key", "nuget", "oy2", "[a-z0-9]{43}", kind="nuget_api_key", check="mixed", entropy=3.5),
    T("docker-pat", "docker", "dckr_", rf"(?:pat|oat)_[{_B64U}]{{27,40}}", kind="docker_token"),
    T("clojars-token", "clojars", "CLOJARS_", "[a-zA-Z0-9]{60}", kind="clojars_token"),
    R("sourcegraph-token", "sourcegraph", "sgp_", start("s") + rf"gp_(?:(?:[A-Fa-f0-9]{{16}}|local)_)?[A-Fa-f0-9]{{40}}(?![{_B64U}])",
      kind="sourcegraph_token", entropy=3.0, allow=PLACEHOLDER_ALLOW),
    K("sourcegraph-legacy-token", "sourcegraph", ("sourcegraph", "src_access_token"), "[A-Fa-f0-9]{40}", 3.0, kind="sourcegraph_token"),
    K("snyk-token", "snyk", ("snyk",), _UUID, 3.0),
    R("sonar-token", "sonar", ("squ_", "sqp_", "sqa_"), start("s") + rf"q[upa]_[{_HEX}]{{40}}(?![{_B64U}])", kind="sonar_token", entropy=3.0),
    K("sonar-legacy-token", "sonar", ("sonar",), f"(?:sq[upa]_)?[{_B62}]{{40}}", 3.0, kind="sonar_token"),
    T("artifactory-api-key", "artifactory", "AKCp", f"[{_B62}]{{69}}", entropy=4.0, kind="artifactory_token", word=_WORD),
    T("artifactory-reference-token", "artifactory", "cmVmd", f"[{_B62}]{{59}}", entropy=4.0, kind="artifactory_token", word=_WORD),
    K("jfrog-token", "artifactory", ("jfrog", "artifactory", "bintray", "xray"), f"[{_B62}]{{64}}|[{_B62}]{{73}}", 3.0, kind="artifactory_token"),
    T("postman-api-key", "postman", "PMAK-", f"[{_HEX}]{{24}}-[{_HEX}]{{34}}", kind="postman_api_key"),
    T("pulumi-token", "pulumi", "pul-", f"[{_HEX}]{{40}}", kind="pulumi_token", word=_WORD),
    T("prefect-token", "prefect", "pnu_", f"[{_B62}]{{36}}", kind="prefect_token"),
    T("readme-token", "readme", "rdme_", "[a-z0-9]{70}", kind="readme_token"),
    T("infracost-token", "infracost", "ico-", f"[{_B62}]{{32}}", kind="infracost_token", check="mixed", word=_WORD),
    T("scalingo-token", "scalingo", "tk-us-", f"[{_B64U}]{{48}}", kind="scalingo_token"),
    T("octopus-deploy-key", "octopusdeploy", "API-", "[A-Z0-9]{26}", kind="octopus_deploy_key", check="digit", word=_WORD),
    T("harness-token", "harness", "pat.", f"[{_B64U}]{{22}}\\.[{_B62}]{{24}}\\.[{_B62}]{{20}}", kind="harness_token"),
    T("harness-sat-token", "harness", "sat.", f"[{_B64U}]{{22}}\\.[{_B62}]{{24}}\\.[{_B62}]{{20}}", kind="harness_token"),
    R("onepassword-service-token", "1password", "ops_eyj", start("o") + "ps_eyJ[A-Za-z0-9+/_\\-]{250,}={0,3}", entropy=4.0,
      kind="onepassword_token", window=None, allow=PLACEHOLDER_ALLOW),
    R("onepassword-secret-key", "1password", "a3-",
      start("A") + r"3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}(?![A-Za-z0-9])",
      entropy=3.5, kind="onepassword_secret_key"),
    R("age-secret-key", "age", "age-secret-key-1", r"AGE-SECRET-KEY-1[0-9A-Z]{58}(?![A-Za-z0-9])", kind="age_secret_key"),
    T("linear-api-key", "linear", "lin_api_", f"[{_B62}]{{40}}", kind="linear_api_key"),
    K("linear-client-secret", "linear", ("linear",), f"[{_HEX}]{{32}}", 3.0),
    K("codecov-legacy-token", "codecov", ("codecov",), f"[{_B62}]{{32}}|{_UUID}", 3.0, kind="codecov_token"),
    K("droneci-token", "droneci", ("droneci", "drone_"), f"[{_B62}]{{32}}", 3.0),
    K("travisci-token", "travisci", ("travis",), f"[{_B62}]{{22}}", 3.0),
    T("settlemint-token", "settlemint", "sm_", f"(?:aat|pat|sat)_[{_B62}]{{16}}", kind="settlemint_token"),
    T("authress-key", "authress", "sc_", r"[a-z0-9]{5,30}\.[a-z0-9]{4,6}\.acc[_\-][a-z0-9\-]{10,32}\.[A-Za-z0-9+/_=\-]{30,120}", kind="authress_key"),
    # --- SaaS --------------------------------------------------------------------------------------------
    R("slack-token", "slack", ("xox", "xapp-"),
      start("x") + r"(?:ox[abposre]|oxe\.xox[bp]|app)-[0-9A-Za-z\-]{20,255}(?![0-9A-Za-z\-#*])", check="digit", entropy=3.0,
      kind="slack_token", allow=PLACEHOLDER_ALLOW + (r"(?i)-(?:x{3,}|#{3,})",)),
    R("slack-webhook-url", "slack", "hooks.slack.com",
      start("h") + r"(?:ttps?://hooks|ooks)\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_\-]+/[A-Za-z0-9_/\-]{10,300}",
      kind="slack_webhook_url"),
    R("discord-webhook-url", "discord", ("discord.com/api/webhooks", "discordapp.com/api/webhooks"),
      r"discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/(?P<s>[A-Za-z0-9_\-]{60,80})", secret_group="s", kind="discord_webhook_url"),
    R("teams-webhook-url", "teams", ("webhook.office.com", "incomingwebhook"),
      r"webhook\.office\.com/webhookb2/(?P<s>[0-9a-f\-]{36}@[0-9a-f\-]{36}/IncomingWebhook/[0-9a-f]{32}/[0-9a-f\-]{36})",
      secret_group="s", kind="teams_webhook_url"),
    R("stripe-secret-key", "stripe", ("sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_"),
      start("[sr]") + r"k_(?:live|test|prod)_[A-Za-z0-9]{10,247}(?![A-Za-z0-9])", kind="stripe_secret_key", entropy=3.0,
      allow=PLACEHOLDER_ALLOW),
    T("stripe-webhook-secret", "stripe", "whsec_", "[A-Za-z0-9+/]{32,100}={0,2}", kind="stripe_webhook_secret", word=_WORD + "+/="),
    T("sendgrid-api-key", "sendgrid", "SG.", f"[{_B64U}]{{22}}\\.[{_B64U}]{{43}}", kind="sendgrid_api_key"),
    T("sendinblue-api-key", "sendinblue", "xkeysib-", f"[{_HEX}]{{64}}-[{_B62}]{{16}}", kind="sendinblue_api_key"),
    R("twilio-api-key", "twilio", "sk", start("S") + r"K[0-9a-fA-F]{32}(?![A-Za-z0-9])", kind="twilio_api_key", entropy=3.0),
    R("twilio-auth-token", "twilio", "twilio",
      r"(?i:twilio[_\-. ]?(?:auth[_\-. ]?)?token)" + KEY_TO_VALUE + r"(?P<v>[0-9a-f]{32})(?![A-Za-z0-9])",
      secret_group="v", priority=P_CONTEXT, kind="twilio_auth_token"),
    T("mailgun-api-key", "mailgun", "key-", f"[{_HEX}]{{32}}", kind="mailgun_api_key", word=_WORD),
    K("mailgun-signing-key", "mailgun", ("mailgun",), r"pubkey-[0-9a-f]{32}|[a-h0-9]{32}-[a-h0-9]{8}-[a-h0-9]{8}", 3.0, kind="mailgun_api_key"),
    R("mailchimp-api-key", "mailchimp", "-us", start("[0-9a-f]") + r"[0-9a-f]{31}-us[0-9]{1,2}(?![A-Za-z0-9])", kind="mailchimp_api_key"),
    R("shopify-token", "shopify", "shp", start("s") + r"hp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}(?![A-Za-z0-9])", kind="shopify_token"),
    R("square-token", "square", ("sq0", "eaaa"),
      start("[sE]", _B64U) + rf"(?:q0(?:atp|csp)-[{_B64U}]{{22,43}}|AAA[{_B64U}]{{60}})(?![{_B64U}])", kind="square_token", entropy=3.0),
    R("telegram-bot-token", "telegram", ":aa",
      start("[0-9]") + r"[0-9]{4,15}:AA[A-Za-z0-9_\-]{33}(?![A-Za-z0-9_\-])", check="telegram", kind="telegram_bot_token", window=60),
    R("discord-bot-token", "discord", ".", start("[MNO]", _B64U) + rf"[{_B64U}]{{23,25}}\.[{_B64U}]{{6}}\.[{_B64U}]{{27,38}}(?![{_B64U}])",
      check="discord", kind="discord_bot_token", window=80),
    K("discord-secret", "discord", ("discord",), f"[{_HEX}]{{64}}|[{_B64U}]{{32}}", 3.0),
    T("notion-token", "notion", "ntn_", f"[0-9]{{11}}[{_B62}]{{35}}", kind="notion_token", entropy=4.0),
    R("notion-legacy-token", "notion", "secret_", start("s") + f"ecret_[{_B62}]{{43}}(?![{_B62}])", kind="notion_token", check="mixed"),
    T("easypost-api-key", "easypost", "EZ", f"(?:AK|TK)[{_B62}]{{54}}", kind="easypost_api_key", word=_WORD),
    T("flutterwave-key", "flutterwave", "FLW", f"(?:SECK|PUBK)_TEST-[{_HEX}]{{32}}-X|SECK_TEST-[{_HEX}]{{12}}|(?:SECK|PUBK)-[{_HEX}]{{32}}-X",
      kind="flutterwave_key"),
    T("shippo-token", "shippo", "shippo_", f"(?:live|test)_[{_HEX}]{{40}}", kind="shippo_token"),
    T("duffel-token", "duffel", "duffel_", f"(?:live|test)_[{_B64U}=]{{43}}", kind="duffel_token"),
    T("adobe-client-secret", "adobe", "p8e-", f"[{_B62}]{{32}}", kind="adobe_client_secret"),
    K("adobe-client-id", "adobe", ("adobe",), f"[{_HEX}]{{32}}", 3.0),
    K("asana-secret", "asana", ("asana",), f"[{_B62}]{{32}}|[0-9]{{16}}|[0-9]/[0-9]{{16}}:[{_HEX}]{{32}}", 3.0),
    K("twitter-secret", "twitter", ("twitter", "twttr"), rf"[{_B62}]{{25}}|[{_B62}]{{45}}|[{_B62}]{{50}}|[0-9]{{15,25}}-[{_B62}]{{20,40}}", 3.0),
    R("twitter-bearer-token", "twitter", "aaaaaaaaaaaaaaaaaaaaa", start("A") + "A{20}[A-Za-z0-9%]{60,120}(?![A-Za-z0-9%])",
      kind="twitter_bearer_token", check="mixed"),
    # (the look-behind after the first digit, as in start())
    R("facebook-access-token", "facebook", ("|", "%7c"), r"[0-9](?<![0-9][0-9])[0-9]{14,15}(?:\||%7[Cc])[0-9A-Za-z_\-]{27,40}(?![0-9A-Za-z_\-])",
      entropy=3.0, kind="facebook_token", window=60),
    T("facebook-page-token", "facebook", "EAA", f"[MC][{_B62}]{{100,}}", entropy=4.0, kind="facebook_token", word=_WORD, window=None),
    K("facebook-secret", "facebook", ("facebook", "fb_app", "fb_secret"), f"[{_HEX}]{{32}}", 3.0),
    K("confluent-key", "confluent", ("confluent", "ccloud"), f"[{_B62}]{{16}}|[{_B62}+/]{{64}}", 3.0),
    R("atlassian-api-token", "atlassian", "atatt3", start("A") + rf"TATT3[{_B64U}=]{{150,300}}(?![{_B64U}=])", kind="atlassian_token"),
    K("atlassian-legacy-token", "atlassian", ("atlassian", "confluence", "jira"), f"[{_B62}]{{24}}", 3.0, kind="atlassian_token"),
    K("okta-token", "okta", ("okta",), f"00[{_B64U}=]{{40}}", 3.5),
    K("hubspot-key", "hubspot", ("hubspot",), _UUID + f"|pat-(?:na|eu)1-{_UUID}", 3.0),
    K("messagebird-key", "messagebird", ("messagebird", "message_bird", "message-bird"), f"[{_B62}]{{25}}|{_UUID}", 3.0),
    K("maxmind-key", "maxmind", ("maxmind", "geoip"), f"[{_B62}]{{6}}_[{_B62}]{{29}}_mmk|[{_B62}]{{16}}", 3.0),
    R("maxmind-license-key", "maxmind", "_mmk", rf"(?<![{_B62}_])[{_B62}]{{6}}_[{_B62}]{{29}}_mmk(?![{_B62}_])", kind="maxmind_key", entropy=4.0),
    R("intra42-secret", "intra42", ("s-s4t2ud-", "s-s4t2af-"), r"(?<![A-Za-z0-9\-])s-s4t2(?:ud|af)-[0-9a-f]{64}(?![A-Za-z0-9])", kind="intra42_secret"),
    R("sidekiq-secret", "sidekiq", ("contribsys",),
      r"(?i:BUNDLE_(?:ENTERPRISE|GEMS)__CONTRIBSYS__COM)" + KEY_TO_VALUE + r"(?P<s>[a-f0-9]{8}:[a-f0-9]{8})", secret_group="s",
      kind="sidekiq_secret"),
    R("sidekiq-url", "sidekiq", ("contribsys.com",), r"https?://(?P<s>[a-f0-9]{8}:[a-f0-9]{8})@(?:gems|enterprise)\.contribsys\.com",
      secret_group="s", kind="sidekiq_secret"),
    T("mapbox-secret", "mapbox", "sk.eyJ", rf"[{_B64U}]{{50,80}}\.[{_B64U}]{{20,24}}", kind="mapbox_token"),
    K("mapbox-token", "mapbox", ("mapbox",), rf"pk\.[{_B64U}]{{60,80}}\.[{_B64U}]{{22}}", 3.0, kind="mapbox_token"),
    T("frameio-token", "frameio", "fio-u-", f"[{_B64U}=]{{64}}", kind="frameio_token"),
    T("typeform-token", "typeform", "tfp_", f"[{_B64U}.=]{{59}}", kind="typeform_token"),
    T("beamer-token", "beamer", "b_", f"[{_B64U}=]{{44}}", kind="beamer_token", check="mixed", entropy=3.5),
    T("defined-networking-key", "definednetworking", "dnkey-", f"[{_B64U}=]{{26}}-[{_B64U}=]{{52}}", kind="defined_networking_key"),
    T("lob-key", "lob", "live_", f"(?:pub_)?[{_HEX}]{{31,35}}", kind="lob_key", entropy=3.0),
    T("gocardless-token", "gocardless", "live_", f"[{_B64U}=]{{40}}", kind="gocardless_token", entropy=3.5),
    K("plaid-key", "plaid", ("plaid",), f"access-(?:sandbox|development|production)-{_UUID}|[{_B62}]{{24}}|[{_B62}]{{30}}", 3.0),
    R("yandex-key", "yandex", ("aqvn", "yc", "t1."), start("[AYt]", _B64U) + rf"(?:QVN[{_B64U}]{{35,38}}|C[{_B64U}]{{38}}|1\.[{_B64U}]+={{0,2}}\.[{_B64U}]{{86}}={{0,2}})(?![{_B64U}])",
      kind="yandex_key", entropy=3.5, check="mixed"),
    R("freemius-secret", "freemius", "secret_key", r"[\"']secret_key[\"'][ \t]*=>[ \t]*[\"'](?P<s>sk_[^\s\"']{29})[\"']", secret_group="s",
      kind="freemius_secret"),
    K("generic-provider-key", "generic", ("airtable", "algolia", "bitbucket", "bittrex", "coinbase", "contentful", "dropbox", "etsy",
      "fastly", "finicity", "finnhub", "flickr", "freshbooks", "gitter", "intercom", "kraken", "kucoin", "launchdarkly", "linkedin",
      "looker", "mattermost", "netlify", "nytimes", "rapidapi", "sendbird", "squarespace", "twitch", "zendesk", "privateai", "private_ai",
      "beamer", "lob_", "yandex", "gocardless", "typeform", "frameio", "duffel"),
      rf"[{_B64U}=]{{15,90}}|{_UUID}", 3.3, check="mixed"),
    # --- structural formats ------------------------------------------------------------------------------------
    # Header and payload are base64url JSON objects ('{"' -> "eyJ"); up to two more segments make a
    # five-part JWE. The signature may be empty (alg "none").
    R("jwt", "jwt", "eyj",
      start("e", _B64U) + r"yJ[A-Za-z0-9_\-]{8,}+\.[A-Za-z0-9_\-]{8,}+\.[A-Za-z0-9_\-]*+(?:\.[A-Za-z0-9_\-]++\.[A-Za-z0-9_\-]++)?",
      priority=P_JWT, kind="jwt", window=None),
    # A JWT in base64 ("eyJ" -> "ZXlK"): a Kubernetes Secret's data, a docker config.
    R("jwt-base64", "jwt", "zxlk", start("Z", "A-Za-z0-9+/") + r"XlK[A-Za-z0-9+/]{40,}={0,2}", kind="jwt", check="b64_jwt",
      window=None),
    # A complete PEM block of any key type. The body may not contain "-----", so a BEGIN without an
    # END costs one pass to the next dashes instead of a scan to the end of text.
    R("private-key", "privatekey", "private key",
      _PEM_LABEL + r"(?:[^-]|-(?!----))*+-----END[ A-Z0-9_\-]{0,40}PRIVATE KEY(?: BLOCK)?-----", kind="private_key", window=None,
      check="pem_full"),
    # A truncated one (span attributes are often cut at a size limit): mask the header and the key
    # material that follows. A complete block also matches this; the longer one wins.
    R("private-key-truncated", "privatekey", "private key",
      _PEM_LABEL + r"(?P<body>(?:(?:Proc-Type|DEK-Info|Comment|Version):[^\r\n\\]{0,200}|[A-Za-z0-9+/= \t\r\n]|\\[nrt])*+)",
      check="pem_body", trim="pem", kind="private_key", window=None),
    R("basic-auth", "http", "basic", start("[Bb]") + r"(?i:asic)[ \t]+(?P<v>[A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])",
      priority=P_SCHEME, secret_group="v", check="basic", kind="basic_auth"),
    R("bearer-token", "http", "bearer", start("[Bb]") + r"(?i:earer)[ \t]+(?P<v>[A-Za-z0-9\-._~+/]{8,}=*)",
      priority=P_SCHEME, secret_group="v", check="bearer", trim="dots", kind="bearer_token", allow=PLACEHOLDER_ALLOW),
    # scheme://user:password@host -- every DSN (postgres, mysql, mongodb+srv, redis, amqp, ...). The
    # userinfo is masked; with an empty user ("redis://:pw@host") just the password.
    R("url-credentials", "dsn", "://",
      r"://(?:(?P<ui>[^\s:/?#@\"'<>\\]+:[^\s/?\"'<>\\]+)|:(?P<pw>[^\s/?\"'<>\\]+))@",
      priority=P_URL, secret_group=("ui", "pw"), kind="url_credentials", window=1000),
    # curl -u user:password / --user user:password
    R("curl-user", "curl", "curl",
      r"(?<![\w\-])(?:-u|--user)(?:=|[ \t]+)(?P<q>[\"']?)(?P<s>(?!-)[^\s\"':]*:[^\s\"']{3,}|:[^\s\"']{3,})(?P=q)(?![^\s])",
      secret_group="s", kind="credentials", priority=P_CONTEXT, check="not_template", window=2000),
    # mysql -pSECRET (no space: the value is glued to the flag)
    R("mysql-password", "cli", "mysql", r"\bmysql(?:dump|admin|sh)?\b[^\n]{0,200}?[ \t]-p(?P<s>[^\s\"'-][^\s\"']{2,})", secret_group="s",
      kind="password", priority=P_CONTEXT, check="not_template", window=400),
)
# fmt: on


# ================================================================================ more validators


def _check_b64_jwt(text: str, m: re.Match[str], value: str) -> bool:
    raw = b64decode(value)
    return raw is not None and raw.startswith(b"eyJ") and b"." in raw


def _check_pem_full(text: str, m: re.Match[str], value: str) -> bool:
    """A complete block needs key material: "BEGIN PRIVATE KEY anything END" is a doc example."""
    body = value.split("-----", 2)[-1].rsplit("-----END", 1)[0]
    return _PEM_BODY_RUN.search(body) is not None


_TEMPLATE = re.compile(r"\$[{(A-Za-z_]|\{\{|<[^>]*>|\[[A-Z_]+\]|%[A-Za-z_]+%")
_DOC_CREDENTIALS = frozenset({"username:password", "user:password", "username:token", "user:pass", "test:test", "xxx:yyy"})


def _check_not_template(text: str, m: re.Match[str], value: str) -> bool:
    """Not a variable, template or documentation placeholder ("$USER:$PASS", "<user:password>")."""
    if _TEMPLATE.search(value) or value.lower() in _DOC_CREDENTIALS:
        return False
    _, _, password = value.rpartition(":")
    return password.strip("\"'") != "" and not all(c == password[0] for c in password)


CHECKS.update({"b64_jwt": _check_b64_jwt, "pem_full": _check_pem_full, "not_template": _check_not_template})
