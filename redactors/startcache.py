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
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from redactors.gazetteer import default_path


def directory() -> Path:
    """Where the artefacts live: the gazetteer's directory ($TRACEVAULT_GAZETTEER's, else ~/.cache/tracevault)."""
    return default_path().parent


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> bool:
    """Create ``path`` by ``write(file)`` into a temporary file and a rename (a reader sees the old
    file or the new one, never half of one). The temporary file is opened first, so a directory
    that cannot be written costs no work: False then."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as handle:
            write(handle)
        partial.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        return False
    return True


def main() -> int:
    """Derive every artefact now (an install step, after the gazetteer): a whole redactor build
    compiles every pattern the cache keeps and reads the language model."""
    from policies.config import Config
    from redactors.engine import Redactor

    Redactor.build(Config(), bytes(32))  # a throwaway key: nothing is pseudonymised or kept
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
