"""Seeded secret samples for the secret-detection benchmark (`python -m bench.secrets`).

Written from the formats that providers and the public rule sets (gitleaks' default rules,
detect-secrets' plugins) document, independently of `redactors/secrets.py`: the generator
knows nothing of our regexes.

* :data:`FORMATS` -- one template per documented token format. A template is a string with
  fields: ``{an:36}`` 36 letters and digits, ``{hex:32}`` lower-case hex, ``{HEX:32}`` upper-case
  hex, ``{b64:40}`` base64 alphabet, ``{b64u:43}`` base64url alphabet, ``{dig:10}`` digits,
  ``{lc:34}`` lower-case letters, ``{lcd:20}`` lower-case letters and digits, ``{ucd:16}``
  upper-case letters and digits, ``{uuid}``.
* :data:`SYNTAXES` -- the assignment syntaxes of code and config that a value is placed in.
* :func:`look_alikes` -- harmless strings that look like secrets and must survive.

Templates are split by a stable hash of their FAMILY (all of a provider's formats go to the same
side, so no held-out format has a sibling in the development part) into a development part
(looked at while writing the rules) and a held-out part of about half (only scored):
:func:`split`. Look-alikes are split the same way: wrong shapes by family, placeholders by
value (one value in every syntax on one side), manifests one by one.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import string
import uuid
from dataclasses import dataclass

HELD_OUT_SHARE = 0.5


@dataclass(frozen=True)
class Format:
    id: str  # unique, "family/name"
    family: str
    template: str
    key: str  # the variable name code and config use for it (UPPER_SNAKE)
    bare: bool  # has a distinctive shape of its own: also placed in prose without a key


_ALPHABETS = {
    "an": string.ascii_letters + string.digits,
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "b64": string.ascii_letters + string.digits + "+/",
    "b64u": string.ascii_letters + string.digits + "-_",
    "dig": string.digits,
    "lc": string.ascii_lowercase,
    "lcd": string.ascii_lowercase + string.digits,
    "ucd": string.ascii_uppercase + string.digits,
    "b32": "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L".upper(),
}
_FIELD = re.compile(r"\{(?P<a>[A-Za-z0-9]+)(?::(?P<n>[0-9]+))?\}")


def _f(fid: str, template: str, key: str, bare: bool = True) -> Format:
    return Format(fid, fid.split("/", 1)[0], template, key, bare)


# fmt: off
FORMATS: tuple[Format, ...] = (
    # --- model providers and LLM tooling
    _f("openai/project", "sk-proj-{b64u:74}T3BlbkFJ{b64u:74}", "OPENAI_API_KEY"),
    _f("openai/legacy", "sk-{an:20}T3BlbkFJ{an:20}", "OPENAI_API_KEY"),
    _f("openai/svcacct", "sk-svcacct-{b64u:58}T3BlbkFJ{b64u:58}", "OPENAI_API_KEY"),
    _f("openai/admin", "sk-admin-{b64u:58}T3BlbkFJ{b64u:58}", "OPENAI_ADMIN_KEY"),
    _f("anthropic/api", "sk-ant-api03-{b64u:93}AA", "ANTHROPIC_API_KEY"),
    _f("anthropic/admin", "sk-ant-admin01-{b64u:93}AA", "ANTHROPIC_ADMIN_KEY"),
    _f("google/api", "AIza{b64u:35}", "GOOGLE_API_KEY"),
    _f("cohere/api", "{an:40}", "COHERE_API_KEY", bare=False),
    _f("mistral/api", "{an:32}", "MISTRAL_API_KEY", bare=False),
    _f("groq/api", "gsk_{an:52}", "GROQ_API_KEY"),
    _f("huggingface/user", "hf_{an:34}", "HF_TOKEN"),
    _f("huggingface/org", "api_org_{an:34}", "HUGGINGFACE_ORG_TOKEN"),
    _f("replicate/api", "r8_{an:37}", "REPLICATE_API_TOKEN"),
    _f("perplexity/api", "pplx-{an:48}", "PERPLEXITY_API_KEY"),
    _f("xai/api", "xai-{an:80}", "XAI_API_KEY"),
    _f("deepseek/api", "sk-{hex:32}", "DEEPSEEK_API_KEY"),
    _f("together/api", "tgp_v1_{b64u:43}", "TOGETHER_API_KEY"),
    _f("fireworks/api", "fw_{an:24}", "FIREWORKS_API_KEY"),
    _f("openrouter/api", "sk-or-v1-{hex:64}", "OPENROUTER_API_KEY"),
    _f("langsmith/pat", "lsv2_pt_{hex:32}_{hex:10}", "LANGSMITH_API_KEY"),
    _f("langsmith/sk", "lsv2_sk_{hex:32}_{hex:10}", "LANGCHAIN_API_KEY"),
    _f("langfuse/secret", "sk-lf-{uuid}", "LANGFUSE_SECRET_KEY"),
    _f("langfuse/public", "pk-lf-{uuid}", "LANGFUSE_PUBLIC_KEY"),
    _f("pinecone/api", "pcsk_{an:5}_{an:64}", "PINECONE_API_KEY"),
    _f("weaviate/api", "{an:40}", "WEAVIATE_API_KEY", bare=False),
    _f("qdrant/api", "{b64u:32}", "QDRANT_API_KEY", bare=False),
    _f("wandb/api", "{hex:40}", "WANDB_API_KEY", bare=False),
    # --- observability
    _f("datadog/api", "{hex:32}", "DD_API_KEY", bare=False),
    _f("datadog/app", "{hex:40}", "DATADOG_APP_KEY", bare=False),
    _f("newrelic/user", "NRAK-{ucd:27}", "NEW_RELIC_API_KEY"),
    _f("newrelic/insert", "NRII-{b64u:32}", "NEW_RELIC_INSERT_KEY"),
    _f("newrelic/browser", "NRJS-{hex:19}", "NEW_RELIC_BROWSER_KEY"),
    _f("honeycomb/ingest", "hcaik_{lcd:58}", "HONEYCOMB_API_KEY"),
    _f("honeycomb/config", "{an:22}", "HONEYCOMB_WRITEKEY", bare=False),
    _f("sentry/user", "sntryu_{hex:64}", "SENTRY_AUTH_TOKEN"),
    _f("sentry/dsn", "https://{hex:32}@o{dig:6}.ingest.sentry.io/{dig:7}", "SENTRY_DSN"),
    _f("grafana/cloud", "glc_{b64:80}", "GRAFANA_CLOUD_TOKEN"),
    _f("grafana/sa", "glsa_{an:32}_{hex:8}", "GRAFANA_SA_TOKEN"),
    _f("dynatrace/api", "dt0c01.{ucd:24}.{ucd:64}", "DT_API_TOKEN"),
    _f("sumologic/key", "{an:64}", "SUMO_ACCESS_KEY", bare=False),
    # --- cloud
    _f("aws/access_key", "AKIA{ucd:16}", "AWS_ACCESS_KEY_ID"),
    _f("aws/secret_key", "{b64:40}", "AWS_SECRET_ACCESS_KEY", bare=False),
    _f("aws/bedrock", "ABSK{b64:120}", "AWS_BEARER_TOKEN_BEDROCK"),
    _f("azure/client_secret", "{an:3}8Q~{b64u:34}", "AZURE_CLIENT_SECRET"),
    _f("azure/storage", "DefaultEndpointsProtocol=https;AccountName=acct{lcd:6};AccountKey={b64:86}==;EndpointSuffix=core.windows.net", "AZURE_STORAGE_CONNECTION_STRING"),
    _f("gcp/sa_key", '{{"type": "service_account", "private_key_id": "{hex:40}", "private_key": "-----BEGIN PRIVATE KEY-----\\n{b64:64}\\n{b64:64}\\n-----END PRIVATE KEY-----\\n"}}', "GOOGLE_CREDENTIALS", bare=True),
    _f("digitalocean/pat", "dop_v1_{hex:64}", "DIGITALOCEAN_TOKEN"),
    _f("alibaba/id", "LTAI{an:20}", "ALIBABA_ACCESS_KEY_ID"),
    _f("cloudflare/api", "{b64u:40}", "CLOUDFLARE_API_TOKEN", bare=False),
    _f("cloudflare/origin", "v1.0-{hex:24}-{hex:146}", "CLOUDFLARE_ORIGIN_CA_KEY"),
    _f("heroku/v2", "HRKU-AA{b64u:58}", "HEROKU_API_KEY"),
    _f("flyio/token", "fo1_{b64u:43}", "FLY_API_TOKEN"),
    _f("vault/service", "hvs.{b64u:100}", "VAULT_TOKEN"),
    _f("terraform/cloud", "{lcd:14}.atlasv1.{b64u:67}", "TF_TOKEN"),
    _f("databricks/pat", "dapi{hex:32}", "DATABRICKS_TOKEN"),
    # --- code hosting, packages, CI
    _f("github/pat", "ghp_{an:36}", "GITHUB_TOKEN"),
    _f("github/oauth", "gho_{an:36}", "GH_OAUTH_TOKEN"),
    _f("github/fine", "github_pat_{an:22}_{an:59}", "GITHUB_PAT"),
    _f("gitlab/pat", "glpat-{b64u:20}", "GITLAB_TOKEN"),
    _f("gitlab/runner", "glrt-{b64u:20}", "CI_RUNNER_TOKEN"),
    _f("npm/token", "npm_{an:36}", "NPM_TOKEN"),
    _f("pypi/token", "pypi-AgEIcHlwaS5vcmc{b64u:70}", "PYPI_TOKEN"),
    _f("rubygems/api", "rubygems_{hex:48}", "GEM_HOST_API_KEY"),
    _f("nuget/api", "oy2{lcd:43}", "NUGET_API_KEY"),
    _f("docker/pat", "dckr_pat_{b64u:27}", "DOCKER_PAT"),
    _f("sourcegraph/pat", "sgp_{hex:16}_{hex:40}", "SRC_ACCESS_TOKEN"),
    _f("snyk/token", "{uuid}", "SNYK_TOKEN", bare=False),
    _f("sonar/token", "squ_{hex:40}", "SONAR_TOKEN"),
    _f("artifactory/api", "AKCp{an:69}", "ARTIFACTORY_API_KEY"),
    _f("postman/api", "PMAK-{hex:24}-{hex:34}", "POSTMAN_API_KEY"),
    _f("pulumi/api", "pul-{hex:40}", "PULUMI_ACCESS_TOKEN"),
    _f("prefect/api", "pnu_{an:36}", "PREFECT_API_KEY"),
    _f("doppler/api", "dp.pt.{an:43}", "DOPPLER_TOKEN"),
    _f("onepassword/svc", "ops_eyJ{b64:260}", "OP_SERVICE_ACCOUNT_TOKEN"),
    _f("onepassword/secret", "A3-{ucd:6}-{ucd:11}-{ucd:5}-{ucd:5}-{ucd:5}", "OP_SECRET_KEY"),
    _f("age/secret", "AGE-SECRET-KEY-1{b32:58}", "SOPS_AGE_KEY"),
    # --- SaaS
    _f("slack/bot", "xoxb-{dig:12}-{dig:13}-{an:24}", "SLACK_BOT_TOKEN"),
    _f("slack/user", "xoxp-{dig:12}-{dig:12}-{dig:12}-{hex:32}", "SLACK_USER_TOKEN"),
    _f("slack/app", "xapp-1-A{ucd:10}-{dig:13}-{hex:64}", "SLACK_APP_TOKEN"),
    _f("slack/webhook", "https://hooks.slack.com/services/T{ucd:8}/B{ucd:10}/{an:24}", "SLACK_WEBHOOK_URL"),
    _f("stripe/live", "sk_live_{an:99}", "STRIPE_SECRET_KEY"),
    _f("stripe/restricted", "rk_live_{an:24}", "STRIPE_RESTRICTED_KEY"),
    _f("stripe/webhook", "whsec_{an:32}", "STRIPE_WEBHOOK_SECRET"),
    _f("sendgrid/api", "SG.{b64u:22}.{b64u:43}", "SENDGRID_API_KEY"),
    _f("sendinblue/api", "xkeysib-{hex:64}-{an:16}", "BREVO_API_KEY"),
    _f("twilio/api", "SK{hex:32}", "TWILIO_API_KEY"),
    _f("mailgun/key", "key-{hex:32}", "MAILGUN_API_KEY"),
    _f("mailchimp/api", "{hex:32}-us{dig:2}", "MAILCHIMP_API_KEY"),
    _f("shopify/token", "shpat_{hex:32}", "SHOPIFY_ACCESS_TOKEN"),
    _f("square/token", "EAAA{b64u:60}", "SQUARE_ACCESS_TOKEN"),
    _f("telegram/bot", "{dig:10}:AA{b64u:33}", "TELEGRAM_BOT_TOKEN"),
    _f("notion/api", "ntn_{dig:11}{an:35}", "NOTION_TOKEN"),
    _f("linear/api", "lin_api_{an:40}", "LINEAR_API_KEY"),
    _f("easypost/api", "EZAK{an:54}", "EASYPOST_API_KEY"),
    _f("flutterwave/secret", "FLWSECK_TEST-{hex:32}-X", "FLW_SECRET_KEY"),
    _f("shippo/api", "shippo_live_{hex:40}", "SHIPPO_API_TOKEN"),
    _f("duffel/api", "duffel_live_{b64u:43}", "DUFFEL_TOKEN"),
    _f("adobe/secret", "p8e-{an:32}", "ADOBE_CLIENT_SECRET"),
    _f("asana/secret", "{lcd:32}", "ASANA_CLIENT_SECRET", bare=False),
    _f("twitter/bearer", "AAAAAAAAAAAAAAAAAAAAA{an:80}", "TWITTER_BEARER_TOKEN"),
    _f("twitter/secret", "{an:50}", "TWITTER_API_SECRET", bare=False),
    _f("facebook/page", "EAAC{an:120}", "FACEBOOK_PAGE_TOKEN"),
    _f("facebook/secret", "{hex:32}", "FACEBOOK_APP_SECRET", bare=False),
    _f("confluent/secret", "{an:64}", "CONFLUENT_SECRET_KEY", bare=False),
    _f("atlassian/api", "ATATT3xFfGF0{b64u:170}={HEX:8}", "JIRA_API_TOKEN"),
    _f("okta/api", "00{b64u:40}", "OKTA_API_TOKEN", bare=False),
    _f("discord/webhook", "https://discord.com/api/webhooks/{dig:18}/{b64u:68}", "DISCORD_WEBHOOK_URL"),
    _f("teams/webhook", "https://acme.webhook.office.com/webhookb2/{uuid}@{uuid}/IncomingWebhook/{hex:32}/{uuid}", "TEAMS_WEBHOOK_URL"),
    _f("mapbox/secret", "sk.eyJ1{b64u:60}.{b64u:22}", "MAPBOX_SECRET_TOKEN"),
    _f("planetscale/pw", "pscale_pw_{b64u:43}", "PLANETSCALE_PASSWORD"),
    _f("supabase/secret", "sb_secret_{b64u:32}", "SUPABASE_SECRET_KEY"),
    # --- structural
    _f("jwt/hs256", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ{b64u:60}.{b64u:43}", "ID_TOKEN"),
    _f("private_key/rsa", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow{b64:58}\n{b64:64}\n{b64:64}\n-----END RSA PRIVATE KEY-----", "TLS_KEY"),
    _f("private_key/openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA{b64:40}\n{b64:70}\n-----END OPENSSH PRIVATE KEY-----", "SSH_KEY"),
    # --- connection strings and passwords
    _f("dsn/postgres", "postgres://app:{an:16}@db.internal:5432/app", "DATABASE_URL"),
    _f("dsn/mongodb", "mongodb+srv://svc:{an:20}@cluster0.ab1cd.mongodb.net/prod", "MONGO_URI"),
    _f("dsn/redis", "redis://:{an:24}@cache:6379/0", "REDIS_URL"),
    _f("dsn/amqp", "amqps://worker:{an:18}@mq.internal/vhost", "AMQP_URL"),
    _f("password/word", "{an:6}!{an:5}", "DB_PASSWORD", bare=False),
    _f("password/symbols", "{lc:4}#{dig:3}@{an:6}", "ADMIN_PASSWORD", bare=False),
    _f("generic/hex", "{hex:48}", "INTERNAL_SERVICE_SECRET", bare=False),
    _f("generic/b64", "{b64:44}=", "WEBHOOK_SIGNING_KEY", bare=False),
    _f("generic/alnum", "{an:32}", "ACME_API_TOKEN", bare=False),
    # --- added 2026-12-02: the remaining formats that gitleaks' rules and the providers document
    # (before, each had one hand-written example in the tests and no syntax coverage)
    _f("clojars/deploy", "CLOJARS_{an:60}", "CLOJARS_DEPLOY_TOKEN"),
    _f("harness/pat", "pat.{b64u:22}.{an:24}.{an:20}", "HARNESS_PAT"),
    _f("readme/api", "rdme_{lcd:70}", "README_API_KEY"),
    _f("frameio/user", "fio-u-{b64u:64}", "FRAMEIO_TOKEN"),
    _f("typeform/pat", "tfp_{b64u:59}", "TYPEFORM_TOKEN"),
    _f("definednetworking/key", "dnkey-{b64u:26}-{b64u:52}", "DN_API_KEY"),
    _f("lob/live", "live_{hex:35}", "LOB_API_KEY", bare=False),
    _f("gocardless/live", "live_{b64u:40}", "GOCARDLESS_ACCESS_TOKEN", bare=False),
    _f("plaid/access", "access-production-{uuid}", "PLAID_ACCESS_TOKEN", bare=False),
    _f("yandex/api", "AQVN{b64u:36}", "YANDEX_API_KEY"),
    _f("settlemint/pat", "sm_pat_{an:16}", "SETTLEMINT_PAT"),
    _f("codecov/token", "{uuid}", "CODECOV_TOKEN", bare=False),
    _f("droneci/token", "{an:32}", "DRONE_TOKEN", bare=False),
    _f("travisci/token", "{an:22}", "TRAVIS_API_TOKEN", bare=False),
    _f("maxmind/license", "{an:6}_{an:29}_mmk", "MAXMIND_LICENSE_KEY"),
    _f("messagebird/api", "{an:25}", "MESSAGEBIRD_API_KEY", bare=False),
    _f("hubspot/pat", "pat-na1-{uuid}", "HUBSPOT_ACCESS_TOKEN", bare=False),
    _f("mailgun/signing", "{hex:32}-{hex:8}-{hex:8}", "MAILGUN_SIGNING_KEY", bare=False),
    _f("twilio/auth", "{hex:32}", "TWILIO_AUTH_TOKEN", bare=False),
    _f("discord/bot", "MTk4NjIyNDgzNDcxOTI1MjQ4.{b64u:6}.{b64u:27}", "DISCORD_BOT_TOKEN"),
    _f("notion/legacy", "secret_{an:43}", "NOTION_KEY"),
    _f("artifactory/reference", "cmVmd{an:59}", "ARTIFACTORY_ACCESS_TOKEN"),
    _f("ibm/iam", "{b64u:44}", "IBM_CLOUD_API_KEY", bare=False),
    _f("authress/key", "sc_{lcd:10}.{lcd:5}.acc_{lcd:20}.{b64u:40}", "AUTHRESS_SERVICE_CLIENT_ACCESS_KEY"),
    _f("octopusdeploy/api", "API-{ucd:26}", "OCTOPUS_API_KEY"),
    _f("scalingo/api", "tk-us-{b64u:48}", "SCALINGO_API_TOKEN"),
    _f("infracost/api", "ico-{an:32}", "INFRACOST_API_KEY"),
    _f("clickhouse/secret", "4b1d{an:38}", "CLICKHOUSE_SECRET"),
    _f("intra42/secret", "s-s4t2ud-{hex:64}", "FT_CLIENT_SECRET"),
    _f("beamer/api", "b_{b64u:44}", "BEAMER_API_KEY"),
)
# fmt: on


# --- assignment syntaxes ----------------------------------------------------------------------
# {K} the key (UPPER_SNAKE), {k} lower snake, {kc} camelCase, {V} the value.
SYNTAXES: tuple[tuple[str, str], ...] = (
    ("eq", "{K}={V}"),
    ("colon", "{K}: {V}"),
    ("walrus", '{kc} := "{V}"'),
    ("make_cond", '{K} ?= "{V}"'),
    ("make_simple", "{K} ::= {V}"),
    ("make_posix", '{K} :::= "{V}"'),
    ("arrow", '"{k}" => "{V}",'),
    ("r_assign", '{k} <- "{V}"'),
    ("single_quote", "{k} = '{V}'"),
    ("backtick", "{kc} = `{V}`"),
    ("export", "export {K}={V}"),
    ("cmd_set", "set {K}={V}"),
    ("powershell", '$env:{K} = "{V}"'),
    ("os_environ", 'os.environ["{K}"] = "{V}"'),
    ("java_property", 'System.setProperty("{K}", "{V}");'),
    ("setenv", 'setenv("{K}", "{V}", 1);'),
    ("go_var", 'var {kc} string = "{V}"'),
    ("xml_attr", '<add key="{K}" value="{V}" />'),
    ("yaml", "service:\n  env:\n    {k}: {V}\n  replicas: 2\n"),
    ("toml", '[auth]\n{k} = "{V}"\n'),
    ("ini", "[default]\n{k}={V}\nregion=eu-west-1\n"),
    ("dotenv", '{K}="{V}"\nDEBUG=false\n'),
    ("json_deep", '{{"service": {{"config": [{{"{k}": "{V}", "enabled": true}}]}}}}'),
    ("conn_string", "Server=tcp:db.internal,1433;Database=app;{kc}={V};Encrypt=True;"),
    ("cli_flag", "deploy --region eu-west-1 --{kd} {V} --verbose"),
    ("cli_flag_eq", "deploy --{kd}={V}"),
    ("http_header", "X-Api-Key: {V}"),
    ("http_bearer", "Authorization: Bearer {V}"),
)
BARE_SYNTAX = ("prose", "the deploy failed, the key was {V} -- please rotate it")
# Encoded forms of a bare-shaped token: base64 and hex, and the same key plain and encoded.
ENCODED_SYNTAXES = (
    ("base64", "creds_blob: {B64}"),
    ("hex", "payload={HEX}"),
    ("twice", "token {V} (and in the config dump: {B64})"),
)


def _kcase(key: str) -> dict[str, str]:
    lower = key.lower()
    parts = lower.split("_")
    return {"K": key, "k": lower, "kc": parts[0] + "".join(p.title() for p in parts[1:]), "kd": lower.replace("_", "-")}


def render(template: str, rng: random.Random) -> str:
    def field(m: re.Match[str]) -> str:
        name, n = m.group("a"), m.group("n")
        if name == "uuid":
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return "".join(rng.choice(_ALPHABETS[name]) for _ in range(int(n)))

    # "{{" / "}}" are literal braces (JSON templates)
    parts = template.split("{{")
    out = []
    for part in parts:
        pieces = part.split("}}")
        out.append("}".join(_FIELD.sub(field, p) for p in pieces))
    return "{".join(out)


def held_out(item_id: str) -> bool:
    digest = hashlib.sha256(item_id.encode()).digest()
    return digest[0] < 256 * HELD_OUT_SHARE


def split(fmt: Format) -> str:
    return "held-out" if held_out(f"family:{fmt.family}") else "dev"


def _part(split_key: str) -> str:
    return "generated/held-out" if held_out(split_key) else "generated/dev"


@dataclass(frozen=True)
class Sample:
    family: str
    source: str  # "generated/dev", "generated/held-out", "gitleaks"
    rule: str  # template id or gitleaks rule id
    syntax: str
    text: str
    secrets: tuple[str, ...]  # empty for a look-alike


def _secret_part(fmt: Format, value: str) -> tuple[str, ...]:
    """What must not survive: the password of a DSN, the key of a connection string, else all."""
    if fmt.family == "dsn":
        return (value.split("://", 1)[1].rsplit("@", 1)[0].split(":", 1)[1],)
    if fmt.id == "azure/storage":
        return (value.split("AccountKey=", 1)[1].split(";", 1)[0],)
    if fmt.id == "gcp/sa_key":
        body = value.split("-----BEGIN PRIVATE KEY-----\\n", 1)[1].split("\\n-----END", 1)[0]
        return tuple(body.split("\\n"))
    if fmt.family == "private_key":
        return tuple(line for line in value.splitlines() if not line.startswith("-----"))
    if fmt.id == "discord/webhook":
        return (value.rsplit("/", 1)[1],)
    if fmt.id == "teams/webhook":
        return (value.split("webhookb2/", 1)[1],)
    if fmt.id == "sentry/dsn":
        return (value.split("//", 1)[1].split("@", 1)[0],)
    return (value,)


def positives(seed: int = 13, per_format: int = 1) -> list[Sample]:
    """Every format in every syntax (and bare in prose when it has a shape of its own)."""
    rng = random.Random(seed)
    out: list[Sample] = []
    for fmt in FORMATS:
        source = f"generated/{split(fmt)}"
        for _ in range(per_format):
            for name, syntax in SYNTAXES + ((BARE_SYNTAX,) if fmt.bare else ()):
                value = render(fmt.template, rng)
                if "\n" in value and name not in ("yaml", "json_deep", "prose", "eq", "colon"):
                    continue  # multi-line values only where the syntax can hold them
                if name == "json_deep":
                    value_text = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                else:
                    value_text = value
                if name == "http_bearer" and fmt.family in ("dsn", "private_key", "azure", "gcp"):
                    continue
                text = syntax.format(V=value_text, **_kcase(fmt.key))
                secrets = _secret_part(fmt, value)
                if name == "json_deep":
                    secrets = tuple(s.replace("\\", "\\\\").replace('"', '\\"') for s in secrets)
                out.append(Sample(fmt.family, source, fmt.id, name, text, secrets))
            if fmt.bare and "\n" not in fmt.template:
                out.extend(_encoded(fmt, source, render(fmt.template, rng)))
    return out


def _encoded(fmt: Format, source: str, value: str) -> list[Sample]:
    b64 = base64.b64encode(f"{fmt.key}={value}".encode()).decode()
    hexed = value.encode().hex()
    out = []
    for name, syntax in ENCODED_SYNTAXES:
        text = syntax.format(V=value, B64=b64, HEX=hexed)
        secrets = {"base64": (b64,), "hex": (hexed,), "twice": (*_secret_part(fmt, value), b64)}[name]
        out.append(Sample(fmt.family, source, fmt.id, name, text, secrets))
    return out


# --- look-alikes ------------------------------------------------------------------------------
_PLACEHOLDERS = (
    "xxxxxxxxxxxxxxxxxxxx", "<your-api-key>", "${API_KEY}", "{{ .Values.apiKey }}", "changeme",
    "********", "YOUR_API_KEY_HERE", "<redacted>", "$(cat /run/secrets/api_key)", "%API_KEY%",
    "{{ secrets.API_KEY }}", "null", "", "...", "REPLACE_ME", "dummy",
)  # fmt: skip

_K8S_MANIFESTS = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: mysecret\n  namespace: default\ntype: Opaque\n",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n"
    "      containers:\n        - name: app\n          env:\n            - name: DB_PASSWORD\n"
    "              valueFrom:\n                secretKeyRef:\n                  name: db-credentials\n"
    "                  key: password\n",
    "volumes:\n  - name: tls\n    secret:\n      secretName: api-tls-cert\n",
    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: builder\nsecrets:\n  - name: builder-token-x7k2p\n",
    "envFrom:\n  - secretRef:\n      name: openai-credentials\n  - configMapRef:\n      name: app-config\n",
    "imagePullSecrets:\n  - name: regcred\n",
)


def _wrong_shapes(rng: random.Random) -> list[tuple[str, str, str]]:
    """(family, why, text): a known prefix with a body of the wrong length, alphabet or entropy."""
    an = _ALPHABETS["an"]

    def r(n: int, alphabet: str = an) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    return [
        ("github", "repeated", "token: ghp_" + "x" * 36),
        ("github", "short", "see ghp_" + r(12) + " in the docs"),
        ("openai", "repeated", "OPENAI_API_KEY=sk-proj-" + "X" * 48),
        ("openai", "slug", "pip install sk-learn-extra scikit-learn-intelex"),
        ("aws", "doc-example", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"),
        ("aws", "doc-example", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("aws", "short", "AKIA" + r(8, _ALPHABETS["ucd"]) + " is not a key"),
        ("slack", "placeholder", "SLACK_BOT_TOKEN=xoxb-your-token-here"),
        ("stripe", "short", "use sk_test_" + "0" * 10),
        ("anthropic", "short", "sk-ant-api03-abc"),
        ("huggingface", "identifier", "hf_hub_download(repo_id, filename)"),
        ("google", "repeated", "apiKey: AIza" + "a" * 35),
        ("jwt", "truncated", "token prefix eyJhbGciOi..."),
        ("private_key", "question", "what does -----BEGIN PRIVATE KEY----- mean?"),
        ("generic", "uuid", "request_id: " + str(uuid.UUID(int=rng.getrandbits(128), version=4))),
        ("generic", "uuid", '{"trace_id": "' + r(32, _ALPHABETS["hex"]) + '", "span_id": "' + r(16, _ALPHABETS["hex"]) + '"}'),
        ("generic", "git-sha", "commit " + r(40, _ALPHABETS["hex"]) + "\nAuthor: CI <ci@ci>\n"),
        ("generic", "git-sha", "Merged in " + r(40, _ALPHABETS["hex"]) + " (fix flaky test)"),
        ("generic", "lock-hash", '"integrity": "sha512-' + r(86, _ALPHABETS["b64"]) + '=="'),
        ("generic", "lock-hash", 'hash = "sha256:' + r(64, _ALPHABETS["hex"]) + '"'),
        ("generic", "lock-hash", "golang.org/x/net v0.23.0 h1:" + r(43, _ALPHABETS["b64"]) + "="),
        ("generic", "lock-hash", "    --hash=sha256:" + r(64, _ALPHABETS["hex"]) + " \\"),
        ("generic", "digest", "image: ghcr.io/acme/api@sha256:" + r(64, _ALPHABETS["hex"])),
        ("generic", "structural", "tokenizer: cl100k_base\nmax_tokens: 4096\nkey: value\n"),
        ("generic", "structural", "token_count: 1532\nprompt_tokens: 812\ncompletion_tokens: 720\n"),
        ("generic", "structural", "key_name: primary\nsecret_name: db-credentials\npassword_length: 16\n"),
        ("generic", "code", "password = os.environ['DB_PASSWORD']"),
        ("generic", "code", "api_key = settings.OPENAI_API_KEY"),
        ("generic", "code", "token := ctx.Value(tokenKey).(string)"),
        ("generic", "low-entropy", "PuttyPassword=0"),
        ("generic", "low-entropy", "password: true"),
        ("generic", "low-entropy", "secret_key_base: 1"),
    ]


def look_alikes(seed: int = 13) -> list[Sample]:
    rng = random.Random(seed + 1)
    out: list[Sample] = []
    for i, value in enumerate(_PLACEHOLDERS):
        for name, syntax in SYNTAXES:
            if name in ("http_bearer",) and not value:
                continue
            text = syntax.format(V=value, **_kcase("API_KEY"))
            sid = f"placeholder/{i}/{name}"
            out.append(Sample("placeholder", _part(f"placeholder/{i}"), sid, name, text, ()))
    for i, text in enumerate(_K8S_MANIFESTS):
        sid = f"kubernetes/{i}"
        out.append(Sample("kubernetes", _part(sid), sid, "yaml", text, ()))
    for family, why, text in _wrong_shapes(rng):
        sid = f"{family}/{why}/{text[:12]}"
        out.append(Sample(family, _part(f"family:{family}"), sid, why, text, ()))
    return out
