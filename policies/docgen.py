"""Render the configuration reference (docs/configuration.md) from the config models.

`python -m policies.docgen > docs/configuration.md`; a test fails when the file is stale.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from policies.config import Config, PolicySpec
from policies.resolve import BUILTIN_POLICY, SUPPORTED_ENTITIES

HEADER = """# Configuration reference

Generated from `policies/config.py` by `python -m policies.docgen`; do not edit by hand.
`tracevault.example.yaml` shows every field with its default. No file at all means these defaults.

Policy fields (`defaults`, `tenants.<id>`, `tenants.<id>.environments.<env>`) are all optional:
a field left out inherits from the level above (built-in -> `defaults` -> tenant -> environment),
and `methods` merges key by key. The built-in policy is shown in the policy table.
"""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in typing.get_args(annotation))
    if origin is typing.Literal:
        return " \\| ".join(f"`{arg}`" for arg in typing.get_args(annotation))
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in typing.get_args(annotation))}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "(section)"
    return f"`{json.dumps(value, default=str)}`"


def _section(title: str, model: type[BaseModel], prefix: str) -> list[str]:
    lines = [f"## {title}", "", "| field | type | default | meaning |", "|---|---|---|---|"]
    nested: list[tuple[str, type[BaseModel], str]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        inner = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            inner = [annotation]
        if inner and inner[0] is not PolicySpec and name not in ("tenants",):
            nested.append((f"`{prefix}{name}`", inner[0], f"{prefix}{name}."))
        description = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{prefix}{name}` | {_type_name(annotation)} | {_default(field)} | {description} |")
    lines.append("")
    for sub_title, sub_model, sub_prefix in nested:
        lines += _section(sub_title, sub_model, sub_prefix)
    return lines


def render() -> str:
    lines = [HEADER]
    lines += _section("Top level", Config, "")
    lines += ["## Policy fields", "", "| field | type | built-in | meaning |", "|---|---|---|---|"]
    for name, field in PolicySpec.model_fields.items():
        builtin = json.dumps(getattr(BUILTIN_POLICY, name))
        description = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{name}` | {_type_name(field.annotation)} | `{builtin}` | {description} |")
    lines += [
        "",
        "Tenants also take `environments: {<env>: <policy fields>}`.",
        "",
        f"Supported entity types: {', '.join(f'`{e}`' for e in sorted(SUPPORTED_ENTITIES))}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
