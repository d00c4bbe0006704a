"""Tests for redactors.secrets: secret key names and secret values in text.

Every secret below is generated from a seeded RNG in the right alphabet and length; none is a
real credential. Provider prefixes are assembled by concatenation ("gh" + "p_") so that no
literal in this file looks like a live token to a push-protection scanner.
"""

from __future__ import annotations

import ast
import base64
import json
import random
import re
import re._constants as sre
import re._parser as sre_parse
import string
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import redactors.secrets as secrets_module
from redactors.secrets import SecretFinding, SecretRules, shannon_entropy

RULES = SecretRules.compile()
EXTRA_RULES = SecretRules.compile(["tenant_pin", "X-Internal-Otp"])

UP = string.ascii_uppercase
LO = string.ascii_lowercase
DIG = string.digits
ALNUM = UP + LO + DIG
HEX = "0123456789abcdef"
B64URL = ALNUM + "-_"
BS = "\\"  # one literal backslash
PK = "PRIVATE" + " KEY"  # PEM labels, split so that no line of this file looks like a key block

Gen = Callable[[random.Random], str]


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _mixed(rng: random.Random, alphabet: str, n: int) -> str:
    """n random characters that certainly include an upper, a lower and a digit."""
    return rng.choice(UP) + rng.choice(LO) + rng.choice(DIG) + _r(rng, alphabet, n - 3)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uuid(rng: random.Random) -> str:
    h = _r(rng, HEX, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# ------------------------------------------------------------------------ value generators


def gen_aws_key_id(rng: random.Random) -> str:
    return rng.choice(["AK" + "IA", "AS" + "IA"]) + _r(rng, UP + DIG, 16)


def gen_aws_secret(rng: random.Random) -> str:
    return _mixed(rng, ALNUM + "/+", 40)


def gen_github(rng: random.Random) -> str:
    return "gh" + rng.choice("pousr") + "_" + _r(rng, ALNUM, 36)


def gen_github_fine_grained(rng: random.Random) -> str:
    return "github" + "_pat_" + _r(rng, ALNUM, 22) + "_" + _r(rng, ALNUM, 59)


def gen_gitlab(rng: random.Random) -> str:
    return "gl" + "pat-" + _r(rng, ALNUM + "_", 19) + rng.choice(ALNUM)


def gen_slack(rng: random.Random) -> str:
    return "xo" + "x" + rng.choice("bpa") + "-" + _r(rng, DIG, 12) + "-" + _r(rng, DIG, 13) + "-" + _r(rng, ALNUM, 24)


def gen_slack_webhook(rng: random.Random) -> str:
    return (
        "https://hooks.slack" + ".com/services/T" + _r(rng, UP + DIG, 10) + "/B" + _r(rng, UP + DIG, 10)
        + "/" + _r(rng, ALNUM, 24)
    )


def gen_stripe(rng: random.Random) -> str:
    prefix = rng.choice(["sk" + "_live_", "sk" + "_test_", "rk" + "_live_"])
    return prefix + _r(rng, ALNUM, rng.choice([24, 99]))


def gen_stripe_webhook(rng: random.Random) -> str:
    return "wh" + "sec_" + _r(rng, ALNUM, 32)


def gen_openai(rng: random.Random) -> str:
    if rng.random() < 0.5:  # legacy: 48 characters around the "T3BlbkFJ" marker
        return "sk" + "-" + _mixed(rng, ALNUM, 20) + "T3Blbk" + "FJ" + _r(rng, ALNUM, 20)
    return "sk" + "-" + rng.choice(["proj-", "svcacct-"]) + _mixed(rng, ALNUM + "_", 155) + rng.choice(ALNUM)


def gen_anthropic(rng: random.Random) -> str:
    return "sk" + "-ant-" + "api03-" + _r(rng, B64URL, 93) + "AA"


def gen_langfuse(rng: random.Random) -> str:
    return "sk" + "-lf-" + _uuid(rng)


def gen_google(rng: random.Random) -> str:
    return "AI" + "za" + _r(rng, ALNUM + "_", 34) + rng.choice(ALNUM)


def gen_sendgrid(rng: random.Random) -> str:
    return "SG" + "." + _r(rng, ALNUM + "_", 22) + "." + _r(rng, ALNUM + "_", 43)


def gen_npm(rng: random.Random) -> str:
    return "np" + "m_" + _r(rng, ALNUM, 36)


def gen_pypi(rng: random.Random) -> str:
    return "pypi-" + "AgEIcHlwaS5vcmc" + _r(rng, B64URL, rng.randint(60, 160)) + rng.choice(ALNUM)


def gen_huggingface(rng: random.Random) -> str:
    return "hf" + "_" + _mixed(rng, ALNUM, 34)


def gen_databricks(rng: random.Random) -> str:
    return "da" + "pi" + _r(rng, HEX, 32)


def gen_twilio_key(rng: random.Random) -> str:
    return "S" + "K" + _r(rng, HEX, 32)


def gen_hex32(rng: random.Random) -> str:
    return _r(rng, HEX, 32)


def gen_jwt(rng: random.Random) -> str:
    header = _b64url(json.dumps({"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"}).encode())
    claims = {"sub": _r(rng, DIG, 10), "iat": rng.randint(1_600_000_000, 1_800_000_000), "name": _r(rng, LO, 8)}
    payload = _b64url(json.dumps(claims).encode())
    return f"{header}.{payload}.{_r(rng, B64URL, 43)}"


def gen_pem(rng: random.Random) -> str:
    label = rng.choice(["RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", "", "DSA "])
    lines = [_r(rng, ALNUM + "+/", 64) for _ in range(rng.randint(3, 8))]
    body = "\n".join(lines) + "\n" + _r(rng, ALNUM, 30) + "=="
    if label == "RSA " and rng.random() < 0.5:  # legacy encrypted PEM with headers
        body = "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC," + _r(rng, HEX, 32).upper() + "\n\n" + body
    return f"-----BEGIN {label}{PK}-----\n{body}\n-----END {label}{PK}-----"


def gen_basic(rng: random.Random) -> str:
    return base64.b64encode(f"{_r(rng, LO, 6)}:{_mixed(rng, ALNUM, 12)}".encode()).decode()


def gen_bearer(rng: random.Random) -> str:
    return _mixed(rng, ALNUM + "-._~", 40)


def gen_mailgun(rng: random.Random) -> str:
    return "key" + "-" + _r(rng, HEX, 32)


def gen_mailchimp(rng: random.Random) -> str:
    return _r(rng, HEX, 32) + "-us" + str(rng.randint(1, 21))


def gen_shopify(rng: random.Random) -> str:
    return "sh" + rng.choice(["pat_", "pss_"]) + _r(rng, HEX, 32)


def gen_digitalocean(rng: random.Random) -> str:
    return "do" + "p_v1_" + _r(rng, HEX, 64)


def gen_square(rng: random.Random) -> str:
    return "sq0" + rng.choice(["atp-", "csp-"]) + _r(rng, ALNUM, 22)


def gen_telegram(rng: random.Random) -> str:
    return str(rng.randint(10_000_000, 9_999_999_999)) + ":" + "AA" + rng.choice(LO) + _r(rng, B64URL, 31) + rng.choice(ALNUM)


def gen_discord(rng: random.Random) -> str:
    user_id = str(rng.randint(10**17, 10**18 - 1)).encode()  # an 18-digit snowflake
    return f"{_b64url(user_id)}.{_r(rng, ALNUM, 6)}.{_r(rng, ALNUM, 38)}"


def gen_age(rng: random.Random) -> str:
    return "AGE-SECRET" + "-KEY-1" + _r(rng, UP + DIG, 58)


def gen_groq(rng: random.Random) -> str:
    return "gs" + "k_" + _r(rng, ALNUM, 52)


def gen_replicate(rng: random.Random) -> str:
    return "r8" + "_" + _r(rng, ALNUM, 37)


def gen_perplexity(rng: random.Random) -> str:
    return "pp" + "lx-" + _r(rng, ALNUM, 48)


def gen_xai(rng: random.Random) -> str:
    return "xa" + "i-" + _r(rng, ALNUM, 80)


def gen_langsmith(rng: random.Random) -> str:
    return "lsv2" + rng.choice(["_pt_", "_sk_"]) + _r(rng, HEX, 32) + "_" + _r(rng, HEX, 10)


def gen_azure_storage(rng: random.Random) -> str:
    return _mixed(rng, ALNUM + "+/", 86) + "=="


def gen_azure_sas(rng: random.Random) -> str:
    return _mixed(rng, ALNUM + "+/", 43) + "="


def gen_password(rng: random.Random) -> str:
    return rng.choice(LO + UP) + _r(rng, ALNUM + "!#%+-./@^_~", 12) + rng.choice(DIG)


def gen_url_password(rng: random.Random) -> str:
    # "/", "#" and "?" end the authority of a URL, so a password cannot hold them unencoded.
    return gen_password(rng).replace("/", "_").replace("#", "%23")


def gen_random_value(rng: random.Random) -> str:
    return _mixed(rng, ALNUM, 32)


# ------------------------------------------------------------------------ row construction


def render(template: str, value: str) -> tuple[str, int, int]:
    """Put ``value`` into ``template`` at ``{v}`` (``{json}``: JSON-string-escaped)."""
    if "{json}" in template:
        value = json.dumps(value)[1:-1]
        template = template.replace("{json}", "{v}")
    start = template.index("{v}")
    return template.replace("{v}", value, 1), start, start + len(value)


# A secret on its own: prose, JSON, an env file, a secret-named env var (the provider kind must
# still win over the generic "api_key"), escaped newlines of raw JSON text, punctuation.
STANDALONE_CONTEXTS: dict[str, str] = {
    "sentence": "Here is the value {v} you asked for.",
    "json": '{"config": {"value": "{json}", "retries": 3}}',
    "env-line": "LOG_LEVEL=info\nexport SERVICE_VALUE={v}\nPORT=8080",
    "named-env": "OPENAI_API_KEY={v}",
    "escaped-newlines": "line one" + BS + "n{v}" + BS + "nline three",
    "parenthesised": "(see: {v}).",
}

STANDALONE_RULES: list[tuple[str, Gen]] = [
    ("aws_access_key_id", gen_aws_key_id),
    ("github_token", gen_github),
    ("github_fine_grained_token", gen_github_fine_grained),
    ("gitlab_token", gen_gitlab),
    ("slack_token", gen_slack),
    ("slack_webhook_url", gen_slack_webhook),
    ("stripe_secret_key", gen_stripe),
    ("stripe_webhook_secret", gen_stripe_webhook),
    ("openai_api_key", gen_openai),
    ("anthropic_api_key", gen_anthropic),
    ("langfuse_secret_key", gen_langfuse),
    ("google_api_key", gen_google),
    ("sendgrid_api_key", gen_sendgrid),
    ("npm_token", gen_npm),
    ("pypi_token", gen_pypi),
    ("huggingface_token", gen_huggingface),
    ("databricks_token", gen_databricks),
    ("twilio_api_key", gen_twilio_key),
    ("jwt", gen_jwt),
    ("private_key", gen_pem),
    ("mailgun_api_key", gen_mailgun),
    ("mailchimp_api_key", gen_mailchimp),
    ("shopify_token", gen_shopify),
    ("digitalocean_token", gen_digitalocean),
    ("square_token", gen_square),
    ("telegram_bot_token", gen_telegram),
    ("discord_bot_token", gen_discord),
    ("age_secret_key", gen_age),
    ("groq_api_key", gen_groq),
    ("replicate_api_token", gen_replicate),
    ("perplexity_api_key", gen_perplexity),
    ("xai_api_key", gen_xai),
    ("langsmith_api_key", gen_langsmith),
]

# Secrets that are only secrets in context (a bare 40-char base64 string or 32 hex digits is
# too common to flag), and credentials inside a header or URL.
CONTEXT_RULES: list[tuple[str, Gen, list[str]]] = [
    ("aws_secret_access_key", gen_aws_secret, [
        "aws_secret_access_key={v}",
        "AWS_SECRET_ACCESS_KEY: {v}",
        '{"AccessKeyId": "x", "SecretAccessKey": "{v}", "Expiration": "2025-01-01"}',
        "<SecretAccessKey>{v}</SecretAccessKey>",
        "[default]\naws_secret_access_key = {v}\n",
    ]),
    ("azure_storage_key", gen_azure_storage, [
        "DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey={v};EndpointSuffix=core.windows.net",
    ]),
    ("azure_shared_access_key", gen_azure_sas, [
        "Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={v}",
    ]),
    ("twilio_auth_token", gen_hex32, [
        "TWILIO_AUTH_TOKEN={v}",
        '{"twilio_auth_token": "{v}"}',
    ]),
    ("bearer_token", gen_bearer, [
        "Authorization: Bearer {v}",
        'curl -H "Authorization: Bearer {v}" https://api.example.com/v1/items',
        "headers = {'authorization': 'bearer {v}'}",
        "retry the call with Bearer {v} please",
    ]),
    ("basic_auth", gen_basic, [
        "Authorization: Basic {v}",
        "curl -H 'authorization: basic {v}' http://proxy",
        "the proxy got Basic {v} from the client",
    ]),
    ("url_credentials", lambda rng: _r(rng, LO, 6) + ":" + gen_url_password(rng), [
        "postgres://{v}@db.internal:5432/app",
        "DATABASE_URL=mongodb+srv://{v}@cluster0.example.net/test?retryWrites=true",
        "connect to amqp://{v}@rabbit:5672/vhost now",
        '{"url": "redis://{v}@cache:6379/0"}',
        "mysql://{v}@10.0.0.5/db",
    ]),
    ("url_credentials", gen_url_password, [
        "redis://:{v}@cache:6379",  # empty user name: just the password
    ]),
]

# key = value forms: the VALUE is the finding, the kind comes from the key name.
ASSIGNMENT_ROWS: list[tuple[str, str]] = [
    ("password={v}", "password"),
    ('{"password": "{v}", "user": "bob"}', "password"),
    ("DB_PASSWORD='{v}'", "password"),
    ("db:\n  host: x\n  db.password: {v}\n", "password"),
    ("X-Api-Key: {v}", "api_key"),
    ("GET /v1/items?apiKey={v}&format=json", "api_key"),
    ("client_secret={v}", "client_secret"),
    ("mysql --password {v} -u root", "password"),
    ("<password>{v}</password>", "password"),
    ("{" + BS + '"api_key' + BS + '": ' + BS + '"{v}' + BS + '"}', "api_key"),
    ("secret: {v}", "secret"),
    ("https://api.example.com/v1?access_token={v}&page=2", "token"),
    ("AWS_SESSION_TOKEN={v}", "token"),
    ("passphrase => '{v}'", "password"),
    ("private_key := {v}", "private_key"),
    ("session_key: {v}", "session_key"),
    ("Set-Cookie: {v}", "cookie"),
    ("Proxy-Authorization: {v}", "authorization"),
    ("credentials={v}", "credentials"),
    ("SENTRY_DSN={v}", "dsn"),
    ("my api key: {v}", "api_key"),
    ('{"headers": {"x-api-key": ["{v}"]}}', "api_key"),
    ("X-Amz-Signature={v}", "signature"),
    ("config=\"password={v}\"", "password"),  # a secret assignment inside another value
    ("level=info password={v} user=bob msg=retry", "password"),  # logfmt: the value ends at the space
    ("passphrase={v} keyfile=/etc/ssl/private/server.key", "password"),
    ("my password is {v}, can you check why login fails?", "password"),  # prose
    ("The API key was changed to {v} yesterday.", "api_key"),
    ("DB_PASSWORD is {v}", "password"),
]

GENERIC_ROWS: list[str] = [
    "stripe_key={v}",
    '{"webhook_salt": "{v}"}',
    "HMAC_KEY: {v}",
]


def _rows() -> list:
    rows = []
    for kind, gen in STANDALONE_RULES:
        rng = random.Random(f"standalone-{kind}")
        for ctx_name, template in STANDALONE_CONTEXTS.items():
            for sample in range(2):
                rows.append(pytest.param(RULES, template, gen(rng), kind, id=f"{kind}-{ctx_name}-{sample}"))
    for kind, gen, templates in CONTEXT_RULES:
        rng = random.Random(f"context-{kind}")
        for index, template in enumerate(templates):
            for sample in range(2):
                rows.append(pytest.param(RULES, template, gen(rng), kind, id=f"{kind}-ctx{index}-{sample}"))
    rng = random.Random(1234)
    for index, (template, kind) in enumerate(ASSIGNMENT_ROWS):
        rows.append(pytest.param(RULES, template, gen_password(rng), kind, id=f"assign-{kind}-{index}"))
    for index, template in enumerate(GENERIC_ROWS):
        rows.append(pytest.param(RULES, template, gen_random_value(rng), "generic_secret", id=f"generic-{index}"))
    for index, template in enumerate(["tenant_pin={v}", '{"TenantPin": "{v}"}', "x-internal-otp: {v}"]):
        rows.append(pytest.param(EXTRA_RULES, template, gen_password(rng), "custom", id=f"custom-{index}"))
    return rows


@pytest.mark.parametrize(("rules", "template", "secret", "kind"), _rows())
def test_scan_finds_exactly_the_secret(rules: SecretRules, template: str, secret: str, kind: str) -> None:
    text, start, end = render(template, secret)
    assert rules.scan(text) == [SecretFinding(start, end, kind)]
    assert kind in rules.kinds


def test_every_value_rule_is_exercised() -> None:
    tested = {kind for kind, _ in STANDALONE_RULES} | {kind for kind, _, _ in CONTEXT_RULES}
    tested |= {kind for _, kind in ASSIGNMENT_ROWS} | {"generic_secret", "custom"}
    # The rule table's other kinds: gitleaks' examples, the generator and test_secret_rules' table.
    from tests.redactors.test_secret_rules import exercised_kinds

    tested |= exercised_kinds()
    assert len({kind for kind, _ in STANDALONE_RULES} | {kind for kind, _, _ in CONTEXT_RULES}) >= 25
    # Key kinds never produced by an assignment row are covered by the key_kind tables.
    untested = RULES.kinds - tested - {row.values[1] for row in KEY_POSITIVES}
    assert untested == set()


# ---------------------------------------------------------------- overlaps and precedence

OVERLAP_ROWS = [
    # a JWT in a token assignment: same span, the specific kind wins
    pytest.param(lambda rng: ("token=", gen_jwt(rng), ""), "jwt", id="jwt-in-token-assignment"),
    # a GitHub token as a Bearer credential
    pytest.param(lambda rng: ("Authorization: Bearer ", gen_github(rng), ""), "github_token", id="github-bearer"),
    # an Anthropic key in a JSON api_key field
    pytest.param(lambda rng: ('{"api_key": "', gen_anthropic(rng), '"}'), "anthropic_api_key", id="anthropic-json"),
    # an AWS key id as the password of a URL: the URL credentials cover the user too
    pytest.param(lambda rng: ("https://", "bob:" + gen_github(rng), "@github.com/org/repo.git"), "url_credentials",
                 id="token-in-url-credentials"),
    # a password that merely contains a token: the whole password is masked, not only the token
    pytest.param(lambda rng: ("password=", "abc-" + gen_github(rng), "\nnext=1"), "password", id="token-inside-password"),
    # a JWT inside a Bearer header
    pytest.param(lambda rng: ("Authorization: Bearer ", gen_jwt(rng), ""), "jwt", id="jwt-bearer"),
]


@pytest.mark.parametrize(("build", "kind"), OVERLAP_ROWS)
def test_overlapping_rules_give_one_finding(build: Callable[[random.Random], tuple[str, str, str]], kind: str) -> None:
    before, secret, after = build(random.Random(99))
    assert RULES.scan(before + secret + after) == [SecretFinding(len(before), len(before) + len(secret), kind)]


def test_punctuation_only_password_is_still_a_value() -> None:
    assert RULES.scan("password=!@#$%^&*") == [SecretFinding(9, 17, "password")]


def test_several_secrets_are_sorted_and_separate() -> None:
    rng = random.Random(5)
    a, b, c = gen_github(rng), gen_aws_key_id(rng), gen_slack(rng)
    text = f"first {a}, then {b}; finally password=hunter2x and {c}"
    found = RULES.scan(text)
    assert [f.kind for f in found] == ["github_token", "aws_access_key_id", "password", "slack_token"]
    assert [text[f.start : f.end] for f in found] == [a, b, "hunter2x", c]


def test_truncated_private_key_is_still_masked() -> None:
    pem = gen_pem(random.Random(7))
    cut = pem[: len(pem) // 2]
    text = "attr: " + cut
    assert RULES.scan(text) == [SecretFinding(6, len(text), "private_key")]


def test_truncated_encrypted_private_key_keeps_its_headers_masked() -> None:
    rng = random.Random(9)
    text = (
        "key: -----BEGIN RSA " + PK + "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
        + _r(rng, HEX, 32).upper() + "\n\n" + _r(rng, ALNUM + "+/", 64) + "\n" + _r(rng, ALNUM, 20)
    )
    assert RULES.scan(text) == [SecretFinding(5, len(text), "private_key")]


def test_private_key_in_raw_json_with_escaped_newlines() -> None:
    pem = gen_pem(random.Random(8))
    text = json.dumps({"type": "service_account", "key": pem})  # "key" is not a secret name
    escaped = json.dumps(pem)[1:-1]
    start = text.index(escaped)
    assert RULES.scan(text) == [SecretFinding(start, start + len(escaped), "private_key")]


def test_authorization_header_keeps_the_scheme() -> None:
    text = "Authorization: Token abcdef0123456789"
    assert RULES.scan(text) == [SecretFinding(text.index("abc"), len(text), "authorization")]


def test_cookie_header_masks_the_whole_line() -> None:
    text = "Cookie: sessionid=abc123; theme=dark\nAccept: */*"
    assert RULES.scan(text) == [SecretFinding(8, text.index("\n"), "cookie")]


def test_yaml_value_with_spaces_runs_to_end_of_line_without_comment() -> None:
    text = "db:\n  password: correct horse battery staple  # rotate yearly\n  host: x"
    value = "correct horse battery staple"
    assert RULES.scan(text) == [SecretFinding(text.index(value), text.index(value) + len(value), "password")]


# ------------------------------------------------------------------------------ negatives

NEGATIVE_TEXTS = [
    pytest.param("request 550e8400-e29b-41d4-a716-446655440000 took 35 ms", id="uuid"),
    pytest.param("commit 3f2a9c1 fixed the flaky test", id="short-git-sha"),
    pytest.param("merged 9fceb02d0ae598e95dc970b74767f19372d61af8 into main", id="full-git-sha"),
    pytest.param("model=gpt-4o-mini temperature=0.2", id="model-name"),
    pytest.param('{"model": "claude-3-5-sonnet-20241022", "max_tokens": 1024}', id="claude-model-json"),
    pytest.param("version=1.2.3 build=2024.05.01-rc1", id="version"),
    pytest.param("2024-05-01T12:30:45.123456Z started; ended 2024-05-01 12:31:02+00:00", id="iso-timestamps"),
    pytest.param("/usr/local/lib/python3.11/site-packages/openai/_base_client.py", id="file-path"),
    pytest.param("C:\\Users\\dev\\AppData\\Local\\Temp\\out.json", id="windows-path"),
    pytest.param("https://example.com/docs/page?q=search&lang=en#section-2", id="plain-url"),
    pytest.param("see https://user@example.com/ and ssh://git@github.com/org/repo.git", id="url-user-no-password"),
    pytest.param("git@github.com:org/repo.git", id="scp-git-url"),
    pytest.param("aGVsbG8= and SGVsbG8gd29ybGQ= are short base64", id="short-base64"),
    pytest.param("token count is 512", id="token-count-prose"),
    pytest.param("Check the task-list and the sk-learn style pipeline", id="sk-inside-words"),
    pytest.param("The quick brown fox jumps over the lazy dog. Passwords should be long.", id="english"),
    pytest.param("max_tokens=512, top_p=0.9, stop=['###']", id="llm-params"),
    pytest.param('{"prompt_tokens": 12, "completion_tokens": 34, "total_tokens": 46}', id="usage-json"),
    pytest.param("llm.token_count.prompt=12 gen_ai.usage.input_tokens=12", id="usage-attributes"),
    pytest.param("trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7", id="trace-ids"),
    pytest.param("chatcmpl-9zXyWvUtSrQpOnMlKjIhGfEdCbA msg_01XFDUDYJgAACzvnptvVoYEL", id="response-ids"),
    pytest.param("tool toolu_01A09q90qw90lq917835lq9 call_abc123DEF456ghi789", id="tool-call-ids"),
    pytest.param("ASIA PACIFIC and ASIAN markets grew", id="asia-words"),
    pytest.param("Basic understanding of the bearer responsibilities", id="basic-bearer-prose"),
    pytest.param("The password reset email was sent to the user.", id="password-prose"),
    pytest.param("Your password is incorrect. The password is case-sensitive and was changed.", id="password-is-word"),
    pytest.param("the token is JWT. the secret is out. the monkey is Abc123. my key is Room42", id="is-prose"),
    pytest.param("the token count is 1024 and the key is 42", id="token-count-is"),
    pytest.param("PWD=/home/app/src OLDPWD=/home/app", id="pwd-path"),
    pytest.param("password: null\ntoken: ''\nsecret=${APP_SECRET}\napi_key=<your-api-key>\npwd=********", id="placeholders"),
    pytest.param("def login(user: str, password: str) -> bool:\n    return check(password=password)", id="code-signature"),
    pytest.param("client = OpenAI(api_key=os.environ['OPENAI_API_KEY'], timeout=30)", id="env-reference"),
    pytest.param("token = settings.API_TOKEN", id="settings-reference"),
    pytest.param("password_reset_required=true", id="boolean-flag"),
    pytest.param("idempotency_key=550e8400-e29b-41d4-a716-446655440000", id="uuid-key"),
    pytest.param("cache_key=user:42:profile:v2:en-US", id="cache-key"),
    pytest.param("public_key=Zx81kQ3mV0pLr7sTy2uW9aBcDe4F", id="public-key"),
    pytest.param("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", id="image-digest"),
    pytest.param("header eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9 only", id="jwt-header-alone"),
    pytest.param("what does -----BEGIN " + PK + "----- mean?", id="pem-marker-in-prose"),
    pytest.param("hf_hub_download(repo_id='gpt2') and xoxo hugs", id="prefix-lookalikes"),
    pytest.param("monkey-patching a key-value store with key-rotation", id="key-words"),
    pytest.param("listening on 10.0.0.1:8080 and http://localhost:3000/api/users/42", id="host-ports"),
    pytest.param("mailto:someone@example.com", id="mailto"),
    pytest.param("", id="empty"),
    pytest.param("short", id="short"),
]


@pytest.mark.parametrize("text", NEGATIVE_TEXTS)
def test_benign_text_has_no_findings(text: str) -> None:
    assert RULES.scan(text) == []


@pytest.mark.parametrize("gen", [gen_github, gen_aws_key_id, gen_npm, gen_groq, gen_databricks, gen_jwt, gen_openai])
def test_prefix_inside_a_longer_word_is_not_a_token(gen: Gen) -> None:
    token = gen(random.Random(11))
    assert RULES.scan("x" + token) == []
    assert RULES.scan("x " + token) == [SecretFinding(2, 2 + len(token), RULES.scan(token)[0].kind)]


# -------------------------------------------------------------------------------- key_kind

KEY_POSITIVES = [
    pytest.param(key, kind, id=key)
    for key, kind in [
        ("password", "password"),
        ("db.password", "password"),
        ("DB_PASSWORD", "password"),
        ("dbPassword", "password"),
        ("dbpassword", "password"),
        ("passwd", "password"),
        ("pwd", "password"),
        ("passphrase", "password"),
        ("passwords", "password"),
        ("password_reset_required", "password"),  # unsure: treated as secret on purpose
        ("secret", "secret"),
        ("vault.secrets", "secret"),
        ("app_secret", "client_secret"),
        ("token", "token"),
        ("access_token", "token"),
        ("accessToken", "token"),
        ("refresh_token", "token"),
        ("id_token", "token"),
        ("auth_token", "token"),
        ("AUTHTOKEN", "token"),
        ("bearer", "token"),
        ("session_token", "token"),
        ("aws_session_token", "token"),
        ("X-Amz-Security-Token", "token"),
        ("csrftoken", "token"),
        ("api_key", "api_key"),
        ("apikey", "api_key"),
        ("apiKey", "api_key"),
        ("API-KEY", "api_key"),
        ("x-api-key", "api_key"),
        ("X-API-KEY", "api_key"),
        ("XApiKey", "api_key"),
        ("http.request.header.x-api-key", "api_key"),
        ("Ocp-Apim-Subscription-Key", "api_key"),
        ("AWS_ACCESS_KEY", "api_key"),
        ("authorization", "authorization"),
        ("Authorization", "authorization"),
        ("proxy-authorization", "authorization"),
        ("http.request.header.authorization", "authorization"),
        ("auth", "authorization"),
        ("basic_auth", "authorization"),
        ("cookie", "cookie"),
        ("set-cookie", "cookie"),
        ("Set-Cookie", "cookie"),
        ("cookies", "cookie"),
        ("private_key", "private_key"),
        ("privateKey", "private_key"),
        ("secret_key", "secret_key"),
        ("SECRET_KEY_BASE", "secret_key"),
        ("AWS_SECRET_ACCESS_KEY", "secret_key"),
        ("aws_secret_access_key", "secret_key"),
        ("SecretAccessKey", "secret_key"),
        ("signing_key", "secret_key"),
        ("credentials", "credentials"),
        ("credential", "credentials"),
        ("GOOGLE_APPLICATION_CREDENTIALS", "credentials"),
        ("dsn", "dsn"),
        ("SENTRY_DSN", "dsn"),
        ("connection_string", "dsn"),
        ("db.connectionString", "dsn"),
        ("client_secret", "client_secret"),
        ("clientSecret", "client_secret"),
        ("consumer_secret", "client_secret"),
        ("session_key", "session_key"),
        ("sessionSecret", "session_key"),
        ("X-Amz-Signature", "signature"),
        ("x-hub-signature-256", "signature"),
        ("Stripe-Signature", "signature"),
        ("sig", "signature"),
        ("api key", "api_key"),
    ]
]


@pytest.mark.parametrize(("key", "kind"), KEY_POSITIVES)
def test_key_kind_positive(key: str, kind: str) -> None:
    assert RULES.key_kind(key) == kind
    assert kind in RULES.kinds


KEY_NEGATIVES = [
    pytest.param(key, id=key)
    for key in [
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.cache_read_input_tokens",
        "max_tokens",
        "max_new_tokens",
        "max_token",
        "token_count",
        "llm.token_count.prompt",
        "llm.token_count.completion",
        "llm.token_count.total",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "tokens",
        "num_tokens",
        "tokenizer",
        "tokenizer_config",
        "token_type",
        "token_ids",
        "token_logprobs",
        "eos_token",
        "pad_token",
        "time_to_first_token",
        "gen_ai.server.time_per_output_token",
        "cost_per_token",
        "input_token",
        "passwordless",
        "password_length",
        "secretary",
        "secret_name",
        "api_key_id",
        "access_key_id",
        "private_key_id",
        "private_key_path",
        "token_url",
        "public_key",
        "key",
        "keys",
        "keyword",
        "monkey",
        "signature",
        "function_signature",
        "session_id",
        "session.id",
        "client_id",
        "user.id",
        "author",
        "authority",
        "auth_method",
        "OAuth",
        "oauth_provider",
        "WWW-Authenticate",
        "passenger",
        "api_version",
        "model",
        "trace_id",
        "",
        "___",
    ]
]


@pytest.mark.parametrize("key", KEY_NEGATIVES)
def test_key_kind_negative(key: str) -> None:
    assert RULES.key_kind(key) is None


def test_key_kind_is_stable_across_calls_and_cache() -> None:
    rules = SecretRules.compile()
    for _ in range(3):
        assert rules.key_kind("X-Api-Key") == "api_key"
        assert rules.key_kind("max_tokens") is None


def test_extra_key_names() -> None:
    assert EXTRA_RULES.key_kind("tenant_pin") == "custom"
    assert EXTRA_RULES.key_kind("TenantPin") == "custom"
    assert EXTRA_RULES.key_kind("app.tenant-pin") == "custom"
    assert EXTRA_RULES.key_kind("X_INTERNAL_OTP") == "custom"
    assert EXTRA_RULES.key_kind("tenant_pin_count") is None  # a count about it, as for built-ins
    assert EXTRA_RULES.key_kind("password") == "password"  # built-in kinds still come first
    assert RULES.key_kind("tenant_pin") is None
    assert "custom" in EXTRA_RULES.kinds and "custom" not in RULES.kinds


BAD_EXTRA_NAMES = [
    pytest.param("", "empty", id="empty"),
    pytest.param("api key", "letters, digits", id="space"),
    pytest.param("hunter2!secret", "letters, digits", id="punctuation"),
    pytest.param("x" * 5000, "longer than", id="huge"),
    pytest.param("__--..", "letter or digit", id="separators-only"),
    pytest.param(42, "string", id="not-a-string"),
]


@pytest.mark.parametrize(("name", "problem"), BAD_EXTRA_NAMES)
def test_bad_extra_key_names_are_rejected_without_echo(name: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as info:
        SecretRules.compile(["ok_name", name])  # type: ignore[list-item]
    message = str(info.value)
    assert "#2" in message
    if isinstance(name, str) and len(name) >= 3:
        assert name not in message
    assert len(message) < 200


def test_extra_key_names_must_be_a_list_not_a_string() -> None:
    with pytest.raises(ValueError):
        SecretRules.compile("password")


def test_non_strings_are_rejected_without_echo() -> None:
    with pytest.raises(TypeError) as info:
        RULES.scan(b"password=hunter2")  # type: ignore[arg-type]
    assert "hunter2" not in str(info.value)
    with pytest.raises(TypeError):
        RULES.key_kind(None)  # type: ignore[arg-type]


def test_entropy_helper() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)
    assert shannon_entropy("1.2.3") < 3.5
    assert shannon_entropy("gpt-4o-mini") < 3.5


def test_module_neither_prints_nor_logs() -> None:
    tree = ast.parse(Path(secrets_module.__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "print"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert not any(n.split(".")[0] in {"logging", "warnings"} for n in names)


# -------------------------------------------------------------------- speed / no blow-ups

ADVERSARIAL = [
    pytest.param("eyJ" * 30_000, id="eyJ-run"),
    pytest.param(("-----BEGIN " + PK + "-----" + "A" * 20) * 2_000, id="pem-begins-without-end"),
    pytest.param("a" * 100_000, id="letters"),
    pytest.param("1" * 100_000 + ":", id="digits-colon"),
    pytest.param("password=" * 10_000, id="assignment-chain"),
    pytest.param('a="' * 20_000, id="unclosed-quotes"),
    pytest.param("x" + BS + '"' * 20_000, id="escaped-quotes"),
    pytest.param("://a:" * 20_000, id="url-fragments"),
    pytest.param("Bearer " * 15_000, id="bearer-run"),
    pytest.param("0123456789abcdef" * 6_000 + "-us1", id="hex-run"),
    pytest.param("key " * 25_000 + ": v", id="spaced-keys"),
    pytest.param("x_key=" * 20_000, id="keyish-chain"),
    pytest.param(":dapi" * 20_000, id="value-restarts"),
    pytest.param("token=" + "a." * 20_000 + "!", id="dotted-name-backtracking"),
    pytest.param("sk-" * 30_000, id="sk-run"),
    pytest.param("password=a " * 10_000, id="one-long-line-of-assignments"),
]


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_adversarial_text_scans_to_valid_findings(text: str) -> None:
    # How long these take is measured by `make bench-secrets` (bench/secrets.py), not here; a
    # regex that never returns is caught by pytest's timeout.
    _check_invariants(text, RULES.scan(text))


def _nested_repeats(items: object, outer: bool, out: list[str]) -> None:
    """Backtracking repeats of variable length (``+``, ``{1,8}``; not ``{2}``) inside an unbounded, backtracking repeat: the shape of
    exponential backtracking (``(a+)*``). A possessive repeat or an atomic group never gives characters
    back, so it cannot split a run in more than one way. (Conservative: a separator that makes
    the split unique, as in ``(?:\\.[a-z]+)*``, is not recognised; write it possessive.)"""
    for op, av in items:  # type: ignore[attr-defined]
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, sub = av
            if outer and high >= 2 and low != high and op != sre.POSSESSIVE_REPEAT:
                out.append(f"{op} {av[0]}..{high}")
            _nested_repeats(sub, outer or (high == sre.MAXREPEAT and op != sre.POSSESSIVE_REPEAT), out)
        elif op == sre.ATOMIC_GROUP:  # gives nothing back to the repeats around it
            _nested_repeats(av, False, out)
        elif op == sre.SUBPATTERN:
            _nested_repeats(av[-1], outer, out)
        elif op == sre.BRANCH:
            for branch in av[1]:
                _nested_repeats(branch, outer, out)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            _nested_repeats(av[1], outer, out)
        elif op == sre.GROUPREF_EXISTS:
            for branch in av[1:]:
                if branch is not None:
                    _nested_repeats(branch, outer, out)


def _every_secret_regex() -> list[tuple[str, str]]:
    import redactors.encoded as encoded_module
    import redactors.secret_rules as rules_module

    out = [(f"rule {r.id}", r.pattern) for r in rules_module.BUILTIN_RULES]
    out += [(f"rule {r.id} allow", a) for r in rules_module.BUILTIN_RULES for a in r.allow]
    for module in (secrets_module, rules_module, encoded_module):
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                pattern = value.pattern
                out.append((f"{module.__name__}.{name}", pattern.decode("latin-1") if isinstance(pattern, bytes) else pattern))
    return out


def test_nested_repeat_checker_finds_the_exponential_shapes() -> None:
    for bad in (r"(a+)*b", r"(?:[a-z]+\.?)+$", r"(?:x|y{2,})*z", r"(?:(?:ab)*c)*"):
        found: list[str] = []
        _nested_repeats(sre_parse.parse(bad), False, found)
        assert found, bad
    for good in (r"(?:a++)*b", r"(?>a*)+b", r"(?:ab){0,3}+c", r"[a-z]++(?:_[a-z]++)*+", r"(?:\.[a-z]{1,8}+)*", r"(?:[0-9a-f]{2})+"):
        found = []
        _nested_repeats(sre_parse.parse(good), False, found)
        assert not found, good


@pytest.mark.parametrize(("name", "pattern"), _every_secret_regex(), ids=lambda v: v if " " in v or "." in v else "")
def test_no_regex_has_nested_backtracking_repeats(name: str, pattern: str) -> None:
    found: list[str] = []
    _nested_repeats(sre_parse.parse(pattern), False, found)
    assert not found, f"{name}: a repeat inside an unbounded backtracking repeat ({found}); make one possessive"


def _lines_run(text: str) -> int:
    """Python lines executed by one scan (deterministic: the same text gives the same count)."""
    count = 0

    def tracer(frame, event, arg):  # noqa: ANN001, ANN202 - sys.settrace's protocol
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        RULES.scan(text)
    finally:
        sys.settrace(None)
    return count


GROWTH = [
    pytest.param(lambda n: "password=" * n, id="assignment-chain"),
    pytest.param(lambda n: "password=a " * n, id="one-long-line-of-assignments"),
    pytest.param(lambda n: "x_key=" * n, id="keyish-chain"),
    pytest.param(lambda n: "key " * n + ": v", id="spaced-keys"),
    pytest.param(lambda n: ":dapi" * n, id="value-restarts"),
    pytest.param(lambda n: "token=" + "a." * n + "!", id="dotted-name"),
    pytest.param(lambda n: "Bearer " * n, id="bearer-run"),
    pytest.param(lambda n: '{"api_key": "' + "k" * 8 + '", ' * n, id="json-pairs"),
]


@pytest.mark.parametrize("make", GROWTH)
def test_python_work_grows_linearly_with_the_text(make: Callable[[int], str]) -> None:
    # Twice the text may cost at most about twice the Python steps; a quadratic loop costs four.
    small, large = _lines_run(make(400)), _lines_run(make(800))
    assert large <= 2.3 * small + 200, (small, large)


# -------------------------------------------------------------------------------- hypothesis


def _check_invariants(text: str, found: list[SecretFinding]) -> None:
    previous_end = 0
    for finding in found:
        assert isinstance(finding, SecretFinding)
        assert 0 <= finding.start < finding.end <= len(text)
        assert finding.start >= previous_end  # sorted and non-overlapping
        assert finding.kind in RULES.kinds
        previous_end = finding.end


FRAGMENTS = [
    "AK" + "IA", "gh" + "p_", "sk" + "-", "sk" + "-ant-", "eyJ", "-----BEGIN " + PK + "-----",
    "-----END " + PK + "-----", "://", "@", ":", "=", '"', "'", BS, BS + "n", "password", "api_key",
    "Bearer ", "Basic ", "Authorization: ", "[", "]", "--password ", "<password>", "</password>",
    "token", "-us1", "%3D", ".", " ", "\n", "0123456789", "abcdefABCDEF", "xo" + "xb-",
]

fragment_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(alphabet=ALNUM + "+/_-", min_size=1, max_size=50), st.text(max_size=8)),
    max_size=40,
).map("".join)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.text(max_size=400))
def test_scan_never_raises_on_arbitrary_text(text: str) -> None:
    _check_invariants(text, RULES.scan(text))


@FAST
@given(fragment_text)
def test_scan_invariants_on_secret_like_text(text: str) -> None:
    _check_invariants(text, RULES.scan(text))
    _check_invariants(text, EXTRA_RULES.scan(text))


prose = st.text(alphabet=LO + " .,\n", max_size=60)


@FAST
@given(prose, prose, st.sampled_from([gen_github, gen_aws_key_id, gen_jwt, gen_anthropic, gen_slack]),
       st.integers(0, 2**32))
def test_embedded_secret_is_always_covered(before: str, after: str, gen: Gen, seed: int) -> None:
    secret = gen(random.Random(seed))
    text = before + " " + secret + " " + after
    start = len(before) + 1
    found = RULES.scan(text)
    _check_invariants(text, found)
    assert any(f.start <= start and start + len(secret) <= f.end for f in found)


@FAST
@given(st.text(max_size=80))
def test_key_kind_never_raises(key: str) -> None:
    kind = RULES.key_kind(key)
    assert kind is None or kind in RULES.kinds


@FAST
@given(st.text(min_size=4, max_size=60).filter(lambda s: not all(c.isascii() and (c.isalnum() or c in "_-.") for c in s)))
def test_invalid_extra_names_raise_without_echo(name: str) -> None:
    with pytest.raises(ValueError) as info:
        SecretRules.compile([name])
    # The message is fixed text; compare it with the message for another bad name, so that a
    # name that happens to be a substring of that text ("ret ") is not taken for an echo.
    with pytest.raises(ValueError) as other:
        SecretRules.compile(["bad name!"])
    assert str(info.value) == str(other.value)
