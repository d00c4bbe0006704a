"""The image's HEALTHCHECK probe (`python -m sidecar.healthcheck`): it probes /healthz where the
config says the HTTP listener is, answers 0 only for a 200, and says why otherwise."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from policies.config import ServerConfig, parse_config
from sidecar.healthcheck import main, probe_address
from tests.sidecar.conftest import free_port, sidecar_document, start_sidecar

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("host", "probed"),
    [
        ("0.0.0.0", "127.0.0.1"),  # a wildcard listener is probed on loopback
        ("::", "::1"),
        ("127.0.0.1", "127.0.0.1"),  # a specific address is probed there
        ("::1", "::1"),
        ("10.1.2.3", "10.1.2.3"),
        ("localhost", "localhost"),
    ],
)
def test_probe_address(host: str, probed: str) -> None:
    assert probe_address(ServerConfig(http_host=host, http_port=14318)) == (probed, 14318)


def _config_file(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "tracevault.yaml"
    path.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "server": {"http_host": "127.0.0.1", "http_port": port}}))
    return path


@pytest.fixture
def sidecar_port(tmp_path: Path) -> Iterator[int]:
    server = start_sidecar(parse_config(sidecar_document(tmp_path / "served", None)))
    try:
        yield server.http_port
    finally:
        server.stop()


def test_a_running_sidecar_is_healthy(tmp_path: Path, sidecar_port: int) -> None:
    assert main(["--config", str(_config_file(tmp_path, sidecar_port))]) == 0


def test_the_module_runs_as_the_image_runs_it(tmp_path: Path, sidecar_port: int) -> None:
    for port, code in [(sidecar_port, 0), (free_port(), 1)]:
        result = subprocess.run(
            [sys.executable, "-m", "sidecar.healthcheck", "--config", str(_config_file(tmp_path, port))],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )
        assert result.returncode == code, result.stderr


def test_nothing_listening_is_unhealthy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    assert main(["--config", str(_config_file(tmp_path, port)), "--timeout", "2"]) == 1
    assert capsys.readouterr().err == f"unhealthy: http://127.0.0.1:{port}/healthz: ConnectionRefusedError\n"


class _Answers(http.server.BaseHTTPRequestHandler):
    status = 503

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        """Quiet."""


@pytest.mark.parametrize("status", [503, 500, 404, 204])
def test_any_answer_but_200_is_unhealthy(tmp_path: Path, status: int, capsys: pytest.CaptureFixture[str]) -> None:
    handler = type("Handler", (_Answers,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        assert main(["--config", str(_config_file(tmp_path, port))]) == 1
    finally:
        server.shutdown()
        server.server_close()
    assert capsys.readouterr().err == f"unhealthy: http://127.0.0.1:{port}/healthz: status {status}\n"


def test_a_bad_config_is_unhealthy_and_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tracevault.yaml"
    path.write_text("server: {http_port: seventy}\n")
    assert main(["--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("unhealthy: ") and "http_port" in err
