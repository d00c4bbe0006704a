"""py3langid's bundled language model, read at start-up from a zlib copy instead of its LZMA file.

py3langid ships its model as an LZMA-compressed npz (4.6 MB, 68 MB unpacked); unpacking it took
0.4 of the 0.45 CPU s its loader costs, at every start-up. The same arrays re-saved once with
zlib (``np.savez_compressed``, about 8 MB, in redactors/startcache.py's directory, named by the
digest of the LZMA file) read in about 0.1 s. The arrays handed to ``LanguageIdentifier`` are
the ones py3langid's own loader returns (the same types and values; tests/redactors compare them).
"""

from __future__ import annotations

import hashlib
import io
import lzma
import zipfile
import zlib
from array import array
from pathlib import Path
from typing import Any

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

from redactors import startcache

_ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")
_TYPECODES = {2: "H", 4: "I", 8: "L"}


def source_path() -> Path:
    path = Path(MODEL_FILE)
    return path if path.is_absolute() else Path(MODEL_DIR) / path


def cache_path(source: Path) -> Path:
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    return startcache.directory() / f"langid-{digest}.npz"


def _stdlib_array(values: np.ndarray) -> array:
    """As py3langid's loader does: an unsigned NumPy array as an ``array`` of the same item size."""
    out = array(_TYPECODES[values.dtype.itemsize])
    out.frombytes(memoryview(np.ascontiguousarray(values)).cast("B"))
    return out


def _model_tuple(data: Any) -> tuple:
    """(ptc, pc, classes, nextmove, nextmove_row, out_feat) in the types py3langid's loader returns."""
    return (
        data["ptc"],
        data["pc"],
        data["classes"].tolist(),
        _stdlib_array(data["nextmove"]),
        _stdlib_array(data["nextmove_row"]),
        data["out_feat"].tolist(),
    )


def _read_cached(path: Path) -> tuple | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            if set(data.files) != set(_ARRAYS):
                return None
            return _model_tuple(data)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):  # missing or damaged: derive it again
        return None


def _derive(source: Path, target: Path) -> tuple:
    """Unpack the LZMA file, keep a zlib copy at ``target`` (best effort), return its arrays."""
    with lzma.open(source) as handle, np.load(io.BytesIO(handle.read()), allow_pickle=False) as data:
        arrays = {name: data[name] for name in _ARRAYS}
    startcache.write_atomic(target, lambda handle: np.savez_compressed(handle, **arrays))
    return _model_tuple(arrays)


def load_arrays() -> tuple:
    source = source_path()
    target = cache_path(source)
    return _read_cached(target) or _derive(source, target)


def identifier() -> LanguageIdentifier:
    """A ``LanguageIdentifier`` as ``LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)`` builds it."""
    ptc, pc, classes, nextmove, row, output = load_arrays()
    return LanguageIdentifier(np.asarray(ptc), np.asarray(pc), classes, nextmove, output, norm_probs=True, tk_row=row)
