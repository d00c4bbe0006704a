"""The two lock files: requirements/runtime.txt is exactly what the service needs at run time (the
image installs only it), requirements/lock.txt is those same pins plus the test and dev tools
(`make install` installs both).

The runtime and test sets are derived here from the installed distributions' own metadata,
starting at pyproject.toml's `dependencies` and its `test` extra, not from the lock files. So a
runtime dependency added to pyproject.toml and lock.txt but not to runtime.txt fails here, with
the line to add, and so does a test tool that slipped into runtime.txt.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.conftest import ROOT
from tests.deploy.test_dockerfile import _builder, dockerfile_installs

REQUIREMENTS = ROOT / "requirements"
# What a venv brings along and `pip freeze` leaves out of both locks.
VENV_TOOLS = {"pip", "setuptools", "wheel", "distribute"}


def pins(name: str) -> dict[str, str]:
    """Canonical name -> version of a `NAME==VERSION` requirements file."""
    found = {}
    for line in (REQUIREMENTS / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(\s+--hash=\S+)*", line)
        assert match, f"{name}: not an exact pin: {line!r}"
        found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def _applies(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in {"", *extras})


def closure(requirements: list[str]) -> set[str]:
    """Every distribution these requirements pull in, by the installed metadata (this venv)."""
    wanted: dict[str, set[str]] = {}
    todo = [(Requirement(text), set[str]()) for text in requirements]
    while todo:
        requirement, parent_extras = todo.pop()
        if not _applies(requirement, parent_extras):
            continue
        name = canonicalize_name(requirement.name)
        extras = set(requirement.extras)
        if name in wanted and extras <= wanted[name]:
            continue
        wanted[name] = wanted.get(name, set()) | extras
        for text in importlib.metadata.distribution(name).requires or []:
            todo.append((Requirement(text), wanted[name]))
    return set(wanted) - VENV_TOOLS


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def runtime_set() -> set[str]:
    return closure(_project()["dependencies"])


def only_in_test_set() -> set[str]:
    return closure(_project()["optional-dependencies"]["test"]) - runtime_set()


def test_runtime_lock_is_exactly_the_runtime_closure() -> None:
    runtime, locked = runtime_set(), pins("runtime.txt")
    full = pins("lock.txt")
    missing = sorted(runtime - set(locked))
    assert not missing, (
        "needed at run time but not pinned in requirements/runtime.txt; add these lines (as in lock.txt): "
        + ", ".join(f"{n}=={full.get(n, '<version>')}" for n in missing)
    )
    extra = sorted(set(locked) - runtime)
    assert not extra, f"requirements/runtime.txt pins what the service does not need: {extra}"


def test_lock_holds_every_runtime_pin_at_the_same_version() -> None:
    full = pins("lock.txt")
    differ = {n: (v, full.get(n)) for n, v in pins("runtime.txt").items() if full.get(n) != v}
    assert not differ, f"runtime.txt and lock.txt disagree (runtime, lock): {differ}"


@pytest.mark.parametrize("name", ["pytest", "hypothesis", "moto", "kubernetes-validate", "cfn-lint", "sympy"])
def test_the_heavy_test_tools_are_test_only(name: str) -> None:
    assert name in only_in_test_set()
    assert name in pins("lock.txt")


def test_the_image_installs_no_test_only_distribution() -> None:
    test_only = only_in_test_set()
    assert test_only, "the test set must not be empty"
    for install in dockerfile_installs(_builder()):
        for file in install.requirement_files:
            shipped = sorted(test_only & set(pins(file.removeprefix("requirements/"))))
            assert not shipped, f"{file}, installed into the image, pins test-only distributions: {shipped}"
        assert all("[" not in target for target in install.targets)


def test_make_lock_freezes_runtime_then_test_constrained_to_it() -> None:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^lock:\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert recipe, "Makefile: no lock recipe"
    lines = recipe.group(1).splitlines()
    runtime_install = next(i for i, line in enumerate(lines) if re.search(r"pip install .*\s\.$", line))
    test_install = next(i for i, line in enumerate(lines) if "'.[test]'" in line)
    assert runtime_install < test_install
    assert "-c requirements/runtime.txt" in lines[test_install]
    assert any("> requirements/runtime.txt" in line for line in lines[runtime_install:test_install])
    assert any("> requirements/lock.txt" in line for line in lines[test_install:])
