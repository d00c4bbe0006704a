"""Derived artefacts kept on disk so that start-up does not rebuild them: beside the gazetteer.

Each artefact is a pure function of inputs that ship with the install (a package's data file,
the source of the redactors' own regular expressions); its file name carries what it was
derived from, so a changed input reads as a missing file, never as a stale one. Writing is best
effort: a directory that cannot be written (a read-only image) only means the artefact is
derived again at the next start-up, as it was before the cache. No file here holds content.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from redactors.gazetteer import default_path


def directory() -> Path:
    """Where the artefacts live: the gazetteer's directory ($TRACEVAULT_GAZETTEER's, else ~/.cache/tracevault)."""
    return default_path().parent


def write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` through a temporary file and a rename (a reader sees the old file
    or the new one, never half of one); False when the directory cannot be written."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        partial.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        return False
    return True
