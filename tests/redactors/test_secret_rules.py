"""The secret rule table and what came with it: gitleaks' own examples, the seeded generator's
formats and look-alikes in every placement and syntax, the keyword prefilter, rule validation,
encoded secrets, Kubernetes Secrets and manifests, and a tenant's known secrets.

gitleaks' literal examples are read from ``../shared/reference/gitleaks-examples.json`` beside
the repository (never copied into it); without that file this module fails to load with a
message saying where it looked.
"""

from __future__ import annotations

import base64
import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench import secrets as bench
from bench.eval.evaluate import leak_reason
from bench.secret_samples import look_alikes, positives, render
from redactors.known_secrets import (
    KnownSecrets,
    KnownSecretsError,
    add_entry,
    tenant_key,
)
from redactors.secret_rules import BUILTIN_RULES, Rule
from redactors.secrets import KNOWN_KIND, SecretRules, compile_rules

RULES = SecretRules.compile()
EXAMPLES = bench.load_examples()  # a clear FileNotFoundError when shared/reference is missing
GITLEAKS = bench.gitleaks_samples(EXAMPLES)
GENERATED = positives() + look_alikes()
MASTER = bytes(range(32))


def mask(rules: SecretRules, text: str) -> str:
    out, last = [], 0
    for f in rules.scan(text):
        out.append(text[last : f.start] + "<S>")
        last = f.end
    return "".join(out) + text[last:]


def _leaks(samples: list[bench.Sample], rules: SecretRules = RULES) -> list[str]:
    return [s.rule for s in samples if s.secrets and any(leak_reason(x, "SECRET", mask(rules, s.text)) for x in s.secrets)]


def _damaged(samples: list[bench.Sample], rules: SecretRules = RULES) -> list[str]:
    return [f"{s.rule}/{s.syntax}" for s in samples if not s.secrets and rules.scan(s.text)]


# ------------------------------------------------------------------------ gitleaks' examples


def test_examples_file_is_found_beside_the_repository() -> None:
    assert EXAMPLES["positives"] and EXAMPLES["negatives"]
    with pytest.raises(FileNotFoundError, match="shared/reference"):
        bench.examples_path(Path("/nonexistent/repo"))


def test_every_gitleaks_positive_is_masked_by_the_scanner() -> None:
    assert len([s for s in GITLEAKS if s.secrets]) == len(EXAMPLES["positives"])
    assert _leaks(GITLEAKS) == []


def test_gitleaks_negatives_damaged_at_most_five_percent() -> None:
    negatives = [s for s in GITLEAKS if not s.secrets]
    damaged = _damaged(GITLEAKS)
    assert len(damaged) <= 0.05 * len(negatives), damaged


# ------------------------------------------------------------------------ the seeded generator


@pytest.mark.parametrize("part", ["generated/dev", "generated/held-out"])
def test_generated_formats_in_every_syntax(part: str) -> None:
    samples = [s for s in GENERATED if s.source == part]
    pos = [s for s in samples if s.secrets]
    assert len(pos) > 500
    leaks = _leaks(samples)
    assert len(leaks) <= 0.01 * len(pos), leaks
    damaged = _damaged(samples)
    assert len(damaged) <= 0.05 * (len(samples) - len(pos)), damaged


def test_placements_through_the_redactor(make_redactor) -> None:
    """Tool arguments, a user message and a bare custom attribute, through the real walker. Only
    look-alikes masked *as secrets* count here (the walker also drops long blob-like values)."""
    redactor = make_redactor({"defaults": {"entities": ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD"]}})
    samples = GITLEAKS + [s for s in GENERATED if s.source == "generated/held-out"]
    tables = bench.score(samples, bench.redact_samples(samples, redactor), None)
    for source, table in tables.items():
        t = table["all"]
        assert t.leaked <= 0.01 * t.positives, (source, t.row())
        assert t.damaged_by_secrets <= 0.05 * t.negatives, (source, t.row())


# ------------------------------------------------------------------------ every rule fires

_RNG = random.Random(13)
# Rules that neither gitleaks' examples nor the generator's formats exercise: one example each,
# drawn from the format the provider documents.
RULE_EXAMPLES: dict[str, str] = {
    "pinecone-legacy-key": 'PINECONE_KEY = "{uuid}"',
    "new-relic-license-key": "NEW_RELIC_LICENSE_KEY={hex:36}NRAL",
    "sentry-access-token": 'sentry_auth = "{hex:64}"',
    "grafana-api-key": "eyJrIjoi{an:80}=",
    "azure-shared-access-key": "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey={b64:43}=",
    "azure-sas-signature": "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig={b64:43}%3D",
    "alibaba-secret-key": 'alibaba_secret = "{an:30}"',
    "ibm-softlayer-url": "https://api.softlayer.com/soap/v3/{lcd:64}",
    "ibm-cloud-iam-key": "ibm_cloud_iam_apikey: {b64u:44}",
    "cloudant-url": "https://acct:{hex:64}@acct.cloudant.com",
    "gitlab-runner-registration": "GR1348941{b64u:20}",
    "gitlab-session-cookie": "_gitlab_session={lcd:32}",
    "clojars-token": "CLOJARS_{an:60}",
    "artifactory-reference-token": "cmVmd{an:59}",
    "readme-token": "rdme_{lcd:70}",
    "harness-token": "pat.{b64u:22}.{an:24}.{an:20}",
    "harness-sat-token": "sat.{b64u:22}.{an:24}.{an:20}",
    "linear-client-secret": "LINEAR_CLIENT_SECRET={hex:32}",
    "codecov-legacy-token": "CODECOV_TOKEN={uuid}",
    "droneci-token": "DRONECI_TOKEN={an:32}",
    "travisci-token": "travis_token: {an:22}",
    "settlemint-token": "sm_pat_{an:16}",
    "authress-key": "sc_{lcd:10}.{lcd:5}.acc_{lcd:20}.{b64u:40}",
    "twilio-auth-token": "TWILIO_AUTH_TOKEN={hex:32}",
    "mailgun-signing-key": "MAILGUN_SIGNING_KEY={hex:32}-{hex:8}-{hex:8}",
    "discord-bot-token": "MTk4NjIyNDgzNDcxOTI1MjQ4.{b64u:6}.{b64u:27}",
    "discord-secret": "DISCORD_CLIENT_SECRET={b64u:32}",
    "notion-legacy-token": "secret_{an:43}",
    "adobe-client-id": "ADOBE_CLIENT_ID={hex:32}",
    "messagebird-key": "MESSAGEBIRD_API_KEY={an:25}",
    "mapbox-token": "MAPBOX_TOKEN=pk.{b64u:70}.{b64u:22}",
    "frameio-token": "fio-u-{b64u:64}",
    "typeform-token": "tfp_{b64u:59}",
    "beamer-token": "b_{b64u:44}",
    "defined-networking-key": "dnkey-{b64u:26}-{b64u:52}",
    "lob-key": "LOB_KEY=live_{hex:35}",
    "gocardless-token": "live_{b64u:40}",
    "plaid-key": "PLAID_SECRET={an:30}",
    "yandex-key": "AQVN{b64u:36}",
    "generic-provider-key": "ZENDESK_API_TOKEN={an:40}",
    "basic-auth": "Authorization: Basic " + base64.b64encode(b"deploy:Xk9#mQ2vLp7z").decode(),
}


def _rule_texts() -> list[str]:
    return [s.text for s in GITLEAKS if s.secrets] + [s.text for s in positives() if s.syntax in ("eq", "prose", "json_deep")]


def test_every_builtin_rule_fires_on_a_sample() -> None:
    texts = _rule_texts()
    silent = []
    for rule in BUILTIN_RULES:
        single = SecretRules.with_rules([rule])
        pool = [render(RULE_EXAMPLES[rule.id], _RNG)] if rule.id in RULE_EXAMPLES else texts
        if not any(f.kind == rule.kind for text in pool for f in single.scan(text)):
            silent.append(rule.id)
    assert silent == []


def exercised_kinds() -> set[str]:
    """Kinds the samples of this module produce (used by test_secrets' coverage check)."""
    kinds = {f.kind for text in _rule_texts() for f in RULES.scan(text)}
    kinds |= {f.kind for template in RULE_EXAMPLES.values() for f in RULES.scan(render(template, random.Random(1)))}
    return kinds | {KNOWN_KIND, "k8s_secret"}


# ------------------------------------------------------------------------ syntaxes

_PW = "Xk9#mQ2vLp7z"
SYNTAX_ROWS = [
    ("DB_PASSWORD={v}", "eq"), ("db_password: {v}", "colon"), ('dbPassword := "{v}"', "walrus"),
    ('DB_PASSWORD ?= "{v}"', "make ?="), ("DB_PASSWORD ::= {v}", "make ::="), ('DB_PASSWORD :::= "{v}"', "make :::="),
    ('"db_password" => "{v}",', "arrow"), ('db_password <- "{v}"', "R"), ("db_password = '{v}'", "single quotes"),
    ("dbPassword = `{v}`", "backticks"), ("export DB_PASSWORD={v}", "export"), ("set DB_PASSWORD={v}", "cmd set"),
    ('$env:DB_PASSWORD = "{v}"', "powershell"), ('os.environ["DB_PASSWORD"] = "{v}"', "os.environ"),
    ('System.setProperty("DB_PASSWORD", "{v}");', "setProperty"), ('setenv("DB_PASSWORD", "{v}", 1);', "setenv"),
    ('var dbPassword string = "{v}"', "go var"), ('<add key="Password" value="{v}" />', "xml key/value"),
    ('<connection password="{v}"/>', "xml attribute"), ("db:\n  password: {v}\n  port: 5432\n", "yaml"),
    ('[db]\npassword = "{v}"\n', "toml"), ("[db]\npassword={v}\nhost=db\n", "ini"),
    ('{{"a": {{"b": [{{"password": "{v}"}}]}}}}', "json deep"), ("Server=db;User Id=app;Password={v};", "connection string"),
    ("mysql --password {v} --host db", "cli flag"), ("psql --password={v}", "cli flag ="), ("mysql -uapp -p{v} app", "mysql -p"),
    ("X-Api-Key: {v}", "header"), ("Authorization: Bearer {v}", "bearer header"),
]  # fmt: skip
# user:password pairs are masked whole (the user half of a credential is not for the trace)
USERINFO_ROWS = [("curl -u deploy:{v} https://h/", "curl -u"), ("postgres://app:{v}@db:5432/app", "dsn")]


@pytest.mark.parametrize(("template", "name"), SYNTAX_ROWS, ids=[n for _, n in SYNTAX_ROWS])
def test_assignment_syntax_masks_the_value_and_keeps_key_and_operator(template: str, name: str) -> None:
    text = template.format(v=_PW)
    assert mask(RULES, text) == template.format(v="<S>")


@pytest.mark.parametrize(("template", "name"), USERINFO_ROWS, ids=[n for _, n in USERINFO_ROWS])
def test_user_and_password_pairs_are_masked_whole(template: str, name: str) -> None:
    assert mask(RULES, template.format(v=_PW)) == template.replace("deploy:{v}", "<S>").replace("app:{v}", "<S>")


# ------------------------------------------------------------------------ look-alikes

LOOK_ALIKES = [
    "API_KEY=xxxxxxxxxxxxxxxx", "api_key: <your-key>", "API_KEY=${VAR}", "apiKey: {{ .Values.key }}",
    "password: changeme", "password: ****", "token: ghp_" + "x" * 36, "OPENAI_API_KEY=sk-proj-" + "X" * 48,
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "see ghp_abc123 for the format", "PuttyPassword=0", "request_id: 8d0c6a2e-4b1f-4e7a-9c3d-2f5b8a1e6d40",
    '"integrity": "sha512-' + base64.b64encode(bytes(range(64))).decode() + '"',
    "commit 3f1c9a7b2e4d6f8a0b1c3d5e7f9a1b3c5d7e9f1a", "secretName: api-tls-cert\napiVersion: v1",
    "xoxb-your-token-here", "SUMO_ACCESS_KEY=`etcdctl get /sumologic_secret`", "publicToken = 9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC",
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: mysecret\ndata:\n  htpasswd: ''\n",
    "CameraKit: f15a5a04b0f6dc6073e6db0296e6ef2d8b8d2522", "sumOfExposures = 3Kof2VffNQ0QgYIhXUPJosVlCaQKm2hfpWE6F1fT9YGY74blQBIPsrkCcf1TwKE5;",
]  # fmt: skip


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_survive(text: str) -> None:
    assert RULES.scan(text) == []


def test_walker_keeps_placeholders_under_secret_json_keys(make_redactor) -> None:
    from tests.redactors.otlp_builders import attribute, kv, make_span

    redactor = make_redactor({"defaults": {"entities": []}})
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

    rs = ResourceSpans()
    span = make_span(attributes={"app.config": {"api_key": "<your-api-key>", "password": "Xk9#mQ2vLp7z"}})
    rs.scope_spans.add().spans.append(span)
    redactor.redact_resource_spans([rs], "default", "default")
    value = attribute(rs.scope_spans[0].spans[0], "app.config")
    fields = {item.key: item.value.string_value for item in value.kvlist_value.values}
    assert fields == {"api_key": "<your-api-key>", "password": "<SECRET:password>"}
    assert kv  # builder used above


HONEY = render("{an:22}", random.Random(5))
SUMO = render("{an:64}", random.Random(6))
# (where, attributes, the value that must vanish or None for a benign twin that must stay as is)
PROVIDER_KEYED = [
    ("json-top", {"app.config": '{"honeycomb_writekey": "%s"}' % HONEY}, HONEY),
    ("json-deep", {"app.config": '{"a": {"b": [{"c": {"honeycombWriteKey": "%s", "on": true}}]}}' % HONEY}, HONEY),
    ("kvlist", {"app.config": {"svc": {"sumo": SUMO}}}, SUMO),
    ("attribute", {"honeycomb.writekey": HONEY}, HONEY),
    ("tool-args", {"gen_ai.tool.call.arguments": '{"env": {"SUMO": "%s"}}' % SUMO}, SUMO),
    ("cli", {"process.command_line": "agent --sumo %s --verbose" % SUMO}, SUMO),
    ("twin-name", {"app.config": '{"honeycomb_dataset": "checkout-service"}'}, None),
    ("twin-placeholder", {"app.config": '{"honeycomb_writekey": "xxxxxxxxxxxxxxxxxxxxxx"}'}, None),
    ("twin-wrong-shape", {"app.config": '{"honeycomb_writekey": "short"}'}, None),
    ("twin-other-provider", {"app.config": '{"sentry_org": "%s"}' % HONEY}, None),
]


@pytest.mark.parametrize(("where", "attributes", "vanish"), PROVIDER_KEYED, ids=[row[0] for row in PROVIDER_KEYED])
def test_provider_word_keys_at_any_depth(make_redactor, where: str, attributes: dict, vanish: str | None) -> None:
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

    from redactors.walker import any_to_py
    from tests.redactors.otlp_builders import make_span

    redactor = make_redactor({"defaults": {"entities": []}})
    rs = ResourceSpans()
    rs.scope_spans.add().spans.append(make_span(attributes=attributes))
    redactor.redact_resource_spans([rs], "default", "default")
    out = {a.key: any_to_py(a.value) for a in rs.scope_spans[0].spans[0].attributes if a.key in attributes}
    if vanish is None:
        assert out == attributes, where
    else:
        assert vanish not in str(out) and "<SECRET:" in str(out), where


# ------------------------------------------------------------------------ encoded secrets

GH = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5"


def test_base64_and_hex_forms_are_masked_and_so_is_the_plain_one() -> None:
    b64 = base64.b64encode(f"GITHUB_TOKEN={GH}".encode()).decode()
    text = f"plain {GH}; in the dump {b64}; hex {GH.encode().hex()}"
    found = RULES.scan(text)
    assert [text[f.start : f.end] for f in found] == [GH, b64, GH.encode().hex()]
    assert {f.kind for f in found} == {"github_token"}


def test_encoded_random_bytes_survive() -> None:
    rnd = random.Random(3).randbytes(48)
    text = f"nonce={base64.b64encode(rnd).decode()} digest={rnd.hex()}"
    assert RULES.scan(text) == []


# ------------------------------------------------------------------------ Kubernetes


def test_kubernetes_secret_data_is_masked_but_structure_is_kept() -> None:
    value = base64.b64encode(b"admin:Xk9#mQ2vLp7z").decode()
    text = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\ndata:\n  auth: {value}\n  cfg: |\n    {value}\n"
    assert mask(RULES, text) == "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\ndata:\n  auth: <S>\n  cfg: |\n    <S>\n"


def test_a_configmap_after_the_secret_is_not_secret_data() -> None:
    text = "kind: Secret\ndata:\n  auth: " + "QWxhZGRpbjpvcGVuIHNlc2FtZQ==" + "\n---\nkind: ConfigMap\ndata:\n  mode: production-eu-west-1\n"
    assert mask(RULES, text).endswith("kind: ConfigMap\ndata:\n  mode: production-eu-west-1\n")


def test_manifest_names_are_not_persons_but_people_still_are(redactor) -> None:
    manifest = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: mysecret\n  namespace: default\ntype: Opaque\n"
    assert redactor.redact_text(manifest).text == manifest
    deployment = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  containers:\n    - name: web\n      image: nginx\n"
    assert redactor.redact_text(deployment).text == deployment
    assert "<PERSON>" in redactor.redact_text("Ticket from the customer, name: maria lopez, about a refund").text


# ------------------------------------------------------------------------ rule table checks


def _rule(**kw: object) -> Rule:
    base = {"id": "test-rule", "family": "test", "kind": "test_token", "keywords": ("tst_",), "pattern": "tst_[0-9]{8}"}
    return Rule(**{**base, **kw})  # type: ignore[arg-type]


BAD_RULES = [
    (_rule(id="Bad Id"), "id"),
    (_rule(kind="Bad-Kind"), "kind"),
    (_rule(keywords=()), "keywords"),
    (_rule(keywords=("TST_",)), "keywords"),
    (_rule(pattern="tst_[0-9"), "does not compile"),
    (_rule(secret_group="v"), "secret group"),
    (_rule(entropy=9.0), "entropy"),
    (_rule(check="nope"), "check"),
    (_rule(trim="nope"), "trim"),
    (_rule(window=0), "window"),
    (_rule(allow=("(",)), "does not compile"),
]


@pytest.mark.parametrize(("rule", "problem"), BAD_RULES, ids=[p for _, p in BAD_RULES])
def test_a_bad_rule_refuses_to_compile(rule: Rule, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)) as info:
        compile_rules([rule])
    assert "test-rule" in str(info.value) or "Bad Id" in str(info.value)


def test_duplicate_rule_ids_refuse_to_compile() -> None:
    with pytest.raises(ValueError, match="used twice"):
        compile_rules([_rule(), _rule()])


def test_builtin_rules_compile_into_frozen_objects() -> None:
    compiled = compile_rules(BUILTIN_RULES)
    assert len(compiled) == len(BUILTIN_RULES) >= 150
    with pytest.raises(AttributeError):
        compiled[0].rule.pattern = "x"  # type: ignore[misc]


# ------------------------------------------------------------------------ the prefilter


def test_a_rule_runs_only_where_its_keyword_occurs() -> None:
    rules = SecretRules.with_rules([_rule(keywords=("zqxj",), pattern="tst_[0-9]{8}")])
    assert rules.scan("value tst_12345678 here") == []
    assert [f.kind for f in rules.scan("zqxj value tst_12345678 here")] == ["test_token"]


def test_a_windowed_rule_only_looks_near_its_keyword() -> None:
    rules = SecretRules.with_rules([_rule(keywords=("zqxj",), pattern="tst_[0-9]{8}", window=40)])
    assert rules.scan("zqxj " + "filler words " * 10 + "tst_12345678") == []
    assert len(rules.scan("filler words " * 10 + "zqxj tst_12345678")) == 1


def test_entropy_floor_and_allow_list_apply_to_the_secret() -> None:
    rules = SecretRules.with_rules([_rule(pattern="tst_[0-9a-z]{8}", entropy=2.5, allow=("^tst_0000",))])
    assert rules.scan("tst_aaaaaaaa tst_0000abcd") == []
    assert len(rules.scan("tst_7f3k9q2m")) == 1


# ------------------------------------------------------------------------ known secrets


def test_known_secret_is_masked_in_any_shape_only_for_its_tenant(tmp_path: Path) -> None:
    path = tmp_path / "acme.digests"
    add_entry(path, MASTER, "acme", "corr3ct-h0rse-b4ttery", "db-prod")
    stored = path.read_text()
    assert "corr3ct" not in stored and stored.startswith("ks1 ") and stored.rstrip().endswith("db-prod")
    assert path.stat().st_mode & 0o777 == 0o600
    rules = SecretRules.compile(known=KnownSecrets.load(path, MASTER, "acme"))
    text = "pw corr3ct-h0rse-b4ttery, dsn mysql://u:corr3ct-h0rse-b4ttery@db/x, env DB=corr3ct-h0rse-b4ttery;"
    assert mask(rules, text) == "pw <S>, dsn mysql://<S>@db/x, env DB=<S>;"
    assert KNOWN_KIND in {f.kind for f in rules.scan(text)}
    other = SecretRules.compile(known=KnownSecrets.load(path, MASTER, "globex"))
    assert "corr3ct-h0rse-b4ttery," in mask(other, text)
    assert tenant_key(MASTER, "acme") != tenant_key(MASTER, "globex")


def test_bad_known_secrets_file_names_the_line_not_its_content(tmp_path: Path) -> None:
    path = tmp_path / "bad.digests"
    path.write_text("# ok\nks1 " + "0" * 64 + "\nmy-password-in-clear\n")
    with pytest.raises(KnownSecretsError, match="line 3") as info:
        KnownSecrets.load(path, MASTER, "acme")
    assert "my-password" not in str(info.value)
    with pytest.raises(KnownSecretsError, match="8 to 512"):
        add_entry(path, MASTER, "acme", "short")


def test_add_known_cli_reads_the_secret_from_stdin(tmp_path: Path) -> None:
    from sidecar.cli import main

    path = tmp_path / "acme.digests"
    env = {"TRACEVAULT_MASTER_KEY": base64.b64encode(MASTER).decode()}
    result = CliRunner().invoke(
        main, ["secrets", "add-known", "--tenant", "acme", "--file", str(path), "--label", "stripe-prod"],
        input="sk_live_notreallyreal0000X\n", env=env,
    )
    assert result.exit_code == 0, result.output
    assert "sk_live" not in result.output and "sk_live" not in path.read_text()
    assert KnownSecrets.load(path, MASTER, "acme").find("key sk_live_notreallyreal0000X here") == [(4, 30)]


def test_known_secrets_through_the_policy(make_redactor, tmp_path: Path) -> None:
    path = tmp_path / "acme.digests"
    add_entry(path, bytes(range(32)), "acme", "Tr0ub4dor&3-internal")
    redactor = make_redactor({"defaults": {"entities": []}, "tenants": {"acme": {"known_secrets_file": str(path)}}})
    text = "the vault said Tr0ub4dor&3-internal was rotated"
    assert redactor.redact_text(text, tenant="acme").text == "the vault said <SECRET:known> was rotated"
    assert redactor.redact_text(text, tenant="globex").text == text


def test_docs_list_every_rule_family_and_rule() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "secrets.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line for line in doc.splitlines() if line.startswith("| `")}
    for rule in BUILTIN_RULES:
        assert rule.family in rows, rule.family
        assert f"`{rule.id}`" in rows[rule.family], rule.id
