"""`make image-test` (deploy/image/image-test.sh) stays what docs/deployment.md says it is: a
private engine that touches neither the host's network nor its Docker, loopback ports that no
test uses, the smoke config that those ports come from, and CI running it after the tests.

The script itself runs in CI (.ci/run); this checks what a run cannot show when it passes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policies.config import load_config
from tests.deploy.conftest import DEPLOY, ROOT

SCRIPT = DEPLOY / "image" / "image-test.sh"
SMOKE_CONFIG = DEPLOY / "image" / "smoke-config.yaml"


def _script() -> str:
    return SCRIPT.read_text(encoding="utf-8")


def _constant(name: str) -> str:
    match = re.search(rf"^{name}=(\S+)", _script(), re.MULTILINE)
    assert match, name
    return match.group(1)


def _dockerd_command() -> list[str]:
    text = _script()
    start = text.index("/usr/sbin/dockerd ")
    return text[start: text.index("&\n", start)].replace("\\\n", " ").split()


@pytest.mark.parametrize("flag", ["--iptables=false", "--ip6tables=false", "--ip-masq=false", "--ip-forward=false", "--bridge=none"])
def test_the_engine_leaves_the_host_network_alone(flag: str) -> None:
    assert flag in _dockerd_command()


def test_the_engine_is_private() -> None:
    """Its own data root, exec root, pid file, socket and (empty) config: not the host's Docker."""
    command = _dockerd_command()
    for option in ("--data-root", "--exec-root", "--pidfile", "--host", "--config-file"):
        value = command[command.index(option) + 1]
        assert value.startswith(('"$CACHE/', '"$RUN/', '"unix://$RUN/')), (option, value)
    assert "DOCKER_HOST=\"unix://$RUN/docker.sock\"" in _script()


def test_cleanup_is_trapped_and_checks_the_host() -> None:
    text = _script()
    assert "trap cleanup EXIT" in text
    cleanup = text[text.index("cleanup() {"): text.index("\n}\n", text.index("cleanup() {"))]
    for step in ("stop_engine", "our_mounts", "umount", 'rm -rf "$RUN"', "network_state", "diff -u"):
        assert step in cleanup, step
    state = text[text.index("network_state() {"): text.index("\n}\n", text.index("network_state() {"))]
    for probe in ("ip -o link", "ip route", "iptables-save", "ip6tables-save", "net.ipv4.ip_forward"):
        assert probe in state, probe


def test_every_build_and_run_names_its_network() -> None:
    """The engine has no bridge: a build or run without --network would get no network at all."""
    for line in _script().splitlines():
        words = line.split()
        if "docker" in words[:1] and words[1:2] in (["build"], ["run"]):
            assert "--network" in words or '"${RUN_ARGS[@]}"' in words, line
    assert "--network \"$1\"" in _script()


def test_the_smoke_config_matches_the_script() -> None:
    config = load_config(SMOKE_CONFIG)
    assert (config.server.http_host, config.server.grpc_host) == ("127.0.0.1", "127.0.0.1")
    assert config.server.http_port == int(_constant("HTTP_PORT"))
    assert config.server.grpc_port == int(_constant("GRPC_PORT"))
    assert config.forward is not None
    assert config.forward.endpoint == f"http://127.0.0.1:{_constant('CAPTURE_PORT')}/v1/traces"
    assert str(config.data_dir) == "/var/lib/tracevault"  # the image's volume
    assert config.access.admin_enabled is False


def _sources() -> list[Path]:
    own = {SCRIPT, SMOKE_CONFIG, Path(__file__).resolve()}
    found = []
    for folder in ("tests", "bench", "sidecar", "vault", "redactors", "policies", "retention", "deploy"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".yaml", ".yml", ".json", ".sh"} and path.resolve() not in own:
                found.append(path)
    return found


def test_no_other_file_uses_the_smoke_ports() -> None:
    ports = [_constant(name) for name in ("HTTP_PORT", "GRPC_PORT", "CAPTURE_PORT")]
    sources = _sources()
    assert len(sources) > 50
    users = {str(p.relative_to(ROOT)) for p in sources for port in ports if re.search(rf"\b{port}\b", p.read_text(encoding="utf-8", errors="replace"))}
    assert not users, users


def test_ci_runs_the_image_test_after_the_tests() -> None:
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    test = next(i for i, line in enumerate(commands) if line.startswith("make test"))
    image = next(i for i, line in enumerate(commands) if "make image-test" in line)
    assert test < image
    assert "|| true" not in commands[image] and "skip" not in commands[image].lower()
