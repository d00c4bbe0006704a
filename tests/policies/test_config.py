"""Config loading and policy inheritance."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from policies.config import Config, ConfigError, load_config, parse_config
from policies.resolve import BUILTIN_POLICY, PolicyError, PolicySet, compile_key_globs

ROOT = Path(__file__).resolve().parents[2]


def test_no_file_means_safe_defaults() -> None:
    config = load_config(None)
    assert config.server.http_port == 14318
    assert config.server.grpc_port == 14317
    assert config.server.http_host == "127.0.0.1"
    policy = PolicySet(config).resolve("default", "default")
    assert "EMAIL_ADDRESS" in policy.entities and "PERSON" in policy.entities
    assert policy.method_for("EMAIL_ADDRESS") == "replace"
    assert policy.payload_mode == "redacted"


def test_example_file_documents_every_field_and_loads() -> None:
    example = ROOT / "tracevault.example.yaml"
    config = load_config(example)
    # The example spells out the built-in policy; everything else equals the defaults.
    assert config.model_copy(update={"defaults": Config().defaults}) == Config()
    assert PolicySet(config).resolve("default", "default") == PolicySet(Config()).resolve("default", "default")
    document = yaml.safe_load(example.read_text())

    def missing(model: type, section: dict | None, where: str) -> list[str]:
        gaps = []
        for name, field in model.model_fields.items():
            if name in ("forward", "tenants"):
                continue  # commented-out examples in the file
            if section is None or name not in section:
                gaps.append(f"{where}{name}")
            elif hasattr(field.annotation, "model_fields"):
                gaps += missing(field.annotation, section[name], f"{where}{name}.")
        return gaps

    assert missing(Config, document, "") == []
    text = example.read_text()
    from policies.config import ForwardConfig

    for name in ForwardConfig.model_fields:
        assert f"#   {name}:" in text, f"forward.{name} is not documented in the example"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"server": {"http_port": 70000}}, "server.http_port"),
        ({"server": {"max_body_bytes": 0}}, "server.max_body_bytes"),
        ({"serverr": {}}, "serverr"),
        ({"defaults": {"default_method": "hash"}}, "defaults.default_method"),
        ({"defaults": {"score_threshold": 1.5}}, "defaults.score_threshold"),
        ({"tenants": {"Bad Tenant": {}}}, "tenants"),
        ({"tenants": {"acme": {"environments": {"../x": {}}}}}, "tenants.acme.environments"),
        ({"tenancy": {"default_tenant": ".."}}, "tenancy.default_tenant"),
        ({"forward": {"endpoint": "ftp://x"}}, "forward.endpoint"),
        ({"defaults": {"methods": {"EMAIL ADDRESS": "mask"}}}, "defaults.methods"),
    ],
)
def test_invalid_config_names_the_field(document: dict, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(document)
    assert field in str(caught.value)


def test_error_never_echoes_the_value() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"forward": {"endpoint": "ftp://user:hunter2-secret@x"}})
    assert "hunter2" not in str(caught.value)


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("server: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_unknown_entity_refuses_start() -> None:
    config = parse_config({"tenants": {"acme": {"entities": ["EMAIL_ADDRESS", "NOT_A_THING"]}}})
    with pytest.raises(PolicyError, match="NOT_A_THING"):
        PolicySet(config)


INHERITANCE = {
    "defaults": {"score_threshold": 0.6, "methods": {"EMAIL_ADDRESS": "mask"}},
    "tenants": {
        "acme": {
            "default_method": "pseudonym",
            "methods": {"PHONE_NUMBER": "remove"},
            "environments": {"dev": {"methods": {"EMAIL_ADDRESS": "replace"}, "score_threshold": 0.9}},
        }
    },
}


@pytest.mark.parametrize(
    ("tenant", "env", "threshold", "email", "phone", "person"),
    [
        ("other", "default", 0.6, "mask", "replace", "replace"),
        ("acme", "default", 0.6, "mask", "remove", "pseudonym"),
        ("acme", "dev", 0.9, "replace", "remove", "pseudonym"),
        ("acme", "prod", 0.6, "mask", "remove", "pseudonym"),
    ],
)
def test_unset_fields_inherit(tenant: str, env: str, threshold: float, email: str, phone: str, person: str) -> None:
    policy = PolicySet(parse_config(INHERITANCE)).resolve(tenant, env)
    assert policy.score_threshold == threshold
    assert policy.method_for("EMAIL_ADDRESS") == email
    assert policy.method_for("PHONE_NUMBER") == phone
    assert policy.method_for("PERSON") == person
    assert policy.entities == frozenset(BUILTIN_POLICY.entities or [])


def test_explicit_empty_entities_is_not_inherited() -> None:
    policy = PolicySet(parse_config({"tenants": {"acme": {"entities": []}}})).resolve("acme", "default")
    assert policy.entities == frozenset()
    assert not policy.ner_enabled


@pytest.mark.parametrize(
    ("patterns", "key", "matches"),
    [
        (["user.id"], "user.id", True),
        (["user.id"], "user.identity", False),
        (["traceloop.association.properties.*user*"], "traceloop.association.properties.user_id", True),
        (["gen_ai.usage.*"], "gen_ai.usage.input_tokens", True),
        (["gen_ai.usage.*"], "gen_ai.usage", False),
        (["llm.*.tool_call.function.name"], "llm.output_messages.0.message.tool_calls.1.tool_call.function.name", True),
    ],
)
def test_key_globs(patterns: list[str], key: str, matches: bool) -> None:
    compiled = compile_key_globs(patterns)
    assert compiled is not None
    assert (compiled.fullmatch(key) is not None) is matches


def test_identifier_and_structural_keys_extend_builtins() -> None:
    config = parse_config({"defaults": {"identifier_keys": ["app.customer_id"], "structural_keys": ["app.plan"]}})
    policy = PolicySet(config).resolve("default", "default")
    assert policy.is_identifier_key("app.customer_id") and policy.is_identifier_key("user.id")
    assert policy.is_structural_key("app.plan") and policy.is_structural_key("gen_ai.request.model")
    assert not policy.is_structural_key("gen_ai.input.messages")


def test_configuration_reference_is_generated_from_the_models() -> None:
    from policies.docgen import render

    assert (ROOT / "docs" / "configuration.md").read_text() == render(), "run: python -m policies.docgen > docs/configuration.md"


@pytest.mark.parametrize(
    ("forward", "logs_endpoint"),
    [
        ({"endpoint": "http://phoenix:6006/v1/traces"}, "http://phoenix:6006/v1/logs"),
        ({"endpoint": "https://otlp.example.com/otlp/v1/traces/"}, "https://otlp.example.com/otlp/v1/logs"),
        ({"endpoint": "http://h:4318/v1/traces?team=a"}, "http://h:4318/v1/logs?team=a"),
        ({"endpoint": "http://h/api/spans", "logs_endpoint": "http://h/api/logs"}, "http://h/api/logs"),
        ({"endpoint": "http://h/v1/traces", "logs_endpoint": "http://other/v1/logs"}, "http://other/v1/logs"),
    ],
)
def test_forward_logs_endpoint_defaults_from_the_traces_endpoint(forward: dict, logs_endpoint: str) -> None:
    config = parse_config({"forward": forward})
    assert config.forward is not None and config.forward.logs_endpoint == logs_endpoint
    # It survives the round trip the workers get the config by.
    assert Config.model_validate_json(config.model_dump_json()).forward.logs_endpoint == logs_endpoint


@pytest.mark.parametrize(
    "forward",
    [{"endpoint": "http://h/api/spans"}, {"endpoint": "http://h/v1/traces/extra"}, {"endpoint": "http://h/v1/traces", "logs_endpoint": "ftp://h/v1/logs"}],
)
def test_forward_logs_endpoint_that_cannot_be_derived_refuses_start(forward: dict) -> None:
    with pytest.raises(ConfigError, match="logs_endpoint"):
        parse_config({"forward": forward})
