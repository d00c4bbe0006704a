"""The deployment docs stay true to the tree: every artefact is documented, every doctor check is
described, and the links between the docs resolve (files and headings)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sidecar.doctor import CHECKS
from tests.deploy.conftest import COLLECTOR, KUBERNETES, ROOT

DOCS = ROOT / "docs"
MINE = ["deployment.md", "threat-model.md", "scaling.md"]


def _anchors(path: Path) -> set[str]:
    """GitHub-style heading anchors."""
    anchors = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"#{1,6}\s+(.*)", line)
        if match:
            text = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("name", MINE)
def test_links_resolve(name: str) -> None:
    text = (DOCS / name).read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        file_part, _, anchor = target.partition("#")
        path = (DOCS / file_part) if file_part else DOCS / name
        assert path.is_file(), f"{name}: {target}"
        if anchor:
            assert anchor in _anchors(path), f"{name}: no heading for #{anchor} in {path.name}"


def test_every_artefact_is_in_the_deployment_doc() -> None:
    text = (DOCS / "deployment.md").read_text(encoding="utf-8")
    for path in [*KUBERNETES.glob("*.yaml"), *COLLECTOR.glob("*.yaml"), *(KUBERNETES / "iam").glob("*.json")]:
        relative = path.relative_to(KUBERNETES if path.is_relative_to(KUBERNETES) else COLLECTOR).as_posix()
        assert f"`{relative}`" in text, relative


def test_every_doctor_check_is_described() -> None:
    text = (DOCS / "deployment.md").read_text(encoding="utf-8")
    table = text[text.index("| check | passes when |"):]
    for name, _ in CHECKS:
        assert f"\n| {name} |" in table, name
