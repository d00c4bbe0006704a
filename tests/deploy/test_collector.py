"""deploy/collector: the Collector configs are well-formed and point at tracevault as configured.

No collector binary runs here, so these are structural checks: every component a pipeline names
is defined; the tracevault exporter targets the configured port with gzip, retries and a queue;
the tenant reaches tracevault under its tenancy header, either through headers_setter (with the
metadata kept by the receivers and the batch processor) or as a static header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from policies.config import Config
from tests.deploy.conftest import COLLECTOR

CONFIGS = sorted(COLLECTOR.glob("*.yaml"))
DEFAULTS = Config()
# Current exporter names (Collector >= v0.144) and the aliases that older collectors use.
HTTP_EXPORTERS = {"otlp_http", "otlphttp"}
GRPC_EXPORTERS = {"otlp_grpc", "otlp"}


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _tracevault_exporter(config: dict) -> tuple[str, str, dict]:
    found = [(name, name.split("/")[0], spec) for name, spec in config["exporters"].items() if name.endswith("/tracevault")]
    assert len(found) == 1
    return found[0]


def test_the_three_variants_exist() -> None:
    assert {p.name for p in CONFIGS} >= {"otelcol-http.yaml", "otelcol-http-static-tenant.yaml", "otelcol-grpc.yaml"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_pipeline_components_are_all_defined(path: Path) -> None:
    config = _load(path)
    service = config["service"]
    for extension in service.get("extensions", []):
        assert extension in config["extensions"], extension
    for pipeline in service["pipelines"].values():
        for section in ("receivers", "processors", "exporters"):
            for name in pipeline.get(section, []):
                assert name in config[section], (section, name)
    # Something defined but never used is usually a mistake in an example.
    used = {n for p in service["pipelines"].values() for s in ("receivers", "processors", "exporters") for n in p.get(s, [])}
    for section in ("receivers", "processors", "exporters"):
        assert set(config[section]) <= used, section


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_exporter_targets_tracevault_with_gzip_retries_and_a_queue(path: Path) -> None:
    config = _load(path)
    name, kind, spec = _tracevault_exporter(config)
    assert name in {n for p in config["service"]["pipelines"].values() for n in p["exporters"]}
    if kind in HTTP_EXPORTERS:
        # The exporter appends /v1/traces to the base endpoint.
        assert spec["endpoint"] == f"http://localhost:{DEFAULTS.server.http_port}"
    else:
        assert kind in GRPC_EXPORTERS
        assert spec["endpoint"] == f"localhost:{DEFAULTS.server.grpc_port}"
        assert spec["tls"]["insecure"] is True
    assert spec["compression"] == "gzip"
    assert spec["retry_on_failure"]["enabled"] is True
    assert spec["sending_queue"]["enabled"] is True
    # The collector's own receivers keep their standard ports, which tracevault does not use.
    for protocol in config["receivers"]["otlp"]["protocols"].values():
        port = int(protocol["endpoint"].rsplit(":", 1)[1])
        assert port in (4317, 4318) and port not in (DEFAULTS.server.http_port, DEFAULTS.server.grpc_port)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_tenant_reaches_tracevault_under_its_header(path: Path) -> None:
    config = _load(path)
    _, kind, spec = _tracevault_exporter(config)
    header = DEFAULTS.tenancy.header
    authenticator = spec.get("auth", {}).get("authenticator")
    if authenticator is None:
        # Static tenant: a header on the exporter, from the environment.
        headers = {k.lower(): v for k, v in spec["headers"].items()}
        assert re.fullmatch(r"\$\{env:[A-Z_]+\}", headers[header.lower()])
        return
    assert authenticator == "headers_setter"
    assert authenticator in config["service"]["extensions"]
    entries = config["extensions"][authenticator]["headers"]
    entry = next(e for e in entries if e["key"].lower() == header.lower())
    source = entry["from_context"]
    assert source == source.lower()  # request metadata keys are lower-case
    assert entry.get("default_value"), "without a default an absent tenant becomes an empty header, which tracevault refuses"
    # Metadata only exists when the receivers keep it ...
    for protocol in config["receivers"]["otlp"]["protocols"].values():
        assert protocol.get("include_metadata") is True
    # ... and survives batching only when the batch processor keys batches on it ...
    for pipeline in config["service"]["pipelines"].values():
        for processor in pipeline.get("processors", []):
            if processor.split("/")[0] == "batch":
                assert source in config["processors"][processor]["metadata_keys"]
    # ... and a persistent queue would drop it (without a feature gate).
    assert "storage" not in spec["sending_queue"]


def test_grpc_variant_matches_the_http_one_apart_from_the_exporter() -> None:
    http, grpc = _load(COLLECTOR / "otelcol-http.yaml"), _load(COLLECTOR / "otelcol-grpc.yaml")
    for section in ("receivers", "processors", "extensions"):
        assert http[section] == grpc[section], section


# -- otelcol-genai.yaml: traces and logs through tracevault, metrics around it ---------------------

GENAI = COLLECTOR / "otelcol-genai.yaml"


def _tracevault_side(path: Path) -> dict:
    """The tracevault config the collector file documents, between its marker comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start, end = lines.index("# --- tracevault.yaml ---"), lines.index("# --- end ---")
    return yaml.safe_load("\n".join(line.removeprefix("# ") for line in lines[start + 1 : end]))


def test_genai_variant_sends_traces_and_logs_through_tracevault_and_metrics_around_it() -> None:
    config = _load(GENAI)
    name, _, _ = _tracevault_exporter(config)
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"traces", "logs", "metrics"}
    assert pipelines["traces"]["exporters"] == [name] and pipelines["logs"]["exporters"] == [name]
    assert name not in pipelines["metrics"]["exporters"], "metrics bypass tracevault (docs/conventions.md)"
    # Nothing else receives traces or logs: content never goes around tracevault.
    assert all(p["receivers"] == ["otlp"] for p in pipelines.values())


def test_genai_variant_normalizes_before_tracevault_and_keeps_the_source_keys() -> None:
    config = _load(GENAI)
    pipelines = config["service"]["pipelines"]
    assert "genainormalizer" in pipelines["traces"]["processors"]
    # A traces processor: it is in no other pipeline.
    assert all("genainormalizer" not in p.get("processors", []) for n, p in pipelines.items() if n != "traces")
    sources = config["processors"]["genainormalizer"]["sources"]
    assert set(sources) == {"openinference", "openllmetry"}
    # The case tracevault must handle: originals kept, so both keys carry the content (covered by
    # tests/redactors/test_references.py::test_normalizer_source_and_target_keys_are_both_redacted).
    assert not any(spec.get("remove_originals") for spec in sources.values())


def test_genai_variant_strips_identity_keys_from_metrics() -> None:
    statements = [s for group in _load(GENAI)["processors"]["transform/metrics-identity"]["metric_statements"] for s in group["statements"]]
    pattern = re.compile(r'delete_matching_keys\(attributes, "(.+)"\)')
    regexes = [re.compile(m.group(1).replace("\\\\", "\\")) for s in statements if (m := pattern.fullmatch(s))]
    for key in ("user.id", "user.email", "enduser.id", "session.id"):
        assert any(r.search(key) for r in regexes), key
    assert not any(r.search(k) for r in regexes for k in ("gen_ai.usage.input_tokens", "gen_ai.request.model", "server.address"))
    assert 'delete_key(attributes, "gen_ai.conversation.id")' in statements


def test_genai_variant_documents_a_tracevault_config_that_starts() -> None:
    from policies.resolve import PolicySet

    side = _tracevault_side(GENAI)
    config = Config.model_validate(side)
    assert config.forward is not None and config.forward.endpoint.endswith("/v1/traces")
    assert PolicySet(config).resolve("acme", "prod").content_in_forward == "reference"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_traces_and_logs_both_go_through_tracevault(path: Path) -> None:
    """GenAI content travels in spans and in log records: a config that sent one of them around
    tracevault would deliver that content unredacted."""
    config = _load(path)
    name, _, _ = _tracevault_exporter(config)
    pipelines = config["service"]["pipelines"]
    for signal in ("traces", "logs"):
        assert signal in pipelines, signal
        for pipeline_name, pipeline in pipelines.items():
            if pipeline_name.split("/")[0] == signal:
                assert pipeline["exporters"] == [name], (signal, pipeline_name)
