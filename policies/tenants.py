"""Tenant and environment ids: validated before they go anywhere near a path, key or label."""

from __future__ import annotations

import re

ID_PATTERN_TEXT = "[a-z0-9][a-z0-9._-]{0,62}"
_ID_PATTERN = re.compile(ID_PATTERN_TEXT)


class InvalidTenantId(ValueError):
    """A tenant or environment id is not acceptable. The message never repeats the value."""


def is_valid_id(value: object) -> bool:
    return (
        isinstance(value, str)
        and _ID_PATTERN.fullmatch(value) is not None
        and value not in (".", "..")
    )


def validate_id(value: object, what: str = "tenant id") -> str:
    if not is_valid_id(value):
        raise InvalidTenantId(f"invalid {what}: must match {ID_PATTERN_TEXT}")
    return value  # type: ignore[return-value]
