"""py3langid's bundled language model, mapped at start-up from an unpacked copy instead of its LZMA file.

py3langid ships its model as an LZMA-compressed npz (4.6 MB, 68 MB unpacked); unpacking it took
0.4 of the 0.45 CPU s its loader costs, at every start-up. Unpacked once into one file in
redactors/startcache.py's directory (named by the digest of the LZMA file: a line of JSON giving
each array's dtype, shape and offset, then the arrays, 64-byte aligned), the arrays are views of
a read-only memory map: start-up reads only the header, each page is read when a text first
needs it, and the forked workers share the pages. The values handed to ``LanguageIdentifier``
are the ones py3langid's own loader returns (tests/redactors/test_langmodel.py compares them);
the transition table is a ``memoryview`` of the map instead of a copy in an ``array``, indexed alike.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import mmap
from pathlib import Path
from typing import BinaryIO

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

from redactors import startcache

_ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")
_TYPECODES = {2: "H", 4: "I", 8: "L"}
_ALIGN = 64
_FORMAT = "tracevault-langid-1"


def source_path() -> Path:
    path = Path(MODEL_FILE)
    return path if path.is_absolute() else Path(MODEL_DIR) / path


def cache_path(source: Path) -> Path:
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    return startcache.directory() / f"langid-{digest}.bin"


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


def _write(handle: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
    layout, offset = {}, 0
    for name in _ARRAYS:
        layout[name] = [arrays[name].dtype.str, list(arrays[name].shape), offset]
        offset = _aligned(offset + arrays[name].nbytes)
    head = json.dumps({"format": _FORMAT, "arrays": layout}).encode("ascii") + b"\n"
    start = _aligned(len(head))
    handle.write(head.ljust(start, b" "))
    for name in _ARRAYS:
        handle.seek(start + layout[name][2])
        handle.write(np.ascontiguousarray(arrays[name]).tobytes())


def _mapped(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays as read-only views of the file's map; None when it is missing or damaged."""
    try:
        with path.open("rb") as handle:
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        end = data.find(b"\n")
        document = json.loads(data[:end])
        if document["format"] != _FORMAT or sorted(document["arrays"]) != sorted(_ARRAYS):
            return None
        start = _aligned(end + 1)
        return {
            name: np.frombuffer(data, dtype=np.dtype(dtype), count=int(np.prod(shape)), offset=start + offset).reshape(shape)
            for name, (dtype, shape, offset) in document["arrays"].items()
        }
    except (OSError, ValueError, TypeError, KeyError):  # missing, empty (mmap of 0 bytes), short or foreign
        return None


def _derive(source: Path, target: Path) -> dict[str, np.ndarray]:
    """Unpack the LZMA file, keep the unpacked copy at ``target`` (best effort), return its arrays."""
    with lzma.open(source) as handle, np.load(io.BytesIO(handle.read()), allow_pickle=False) as data:
        arrays = {name: data[name] for name in _ARRAYS}
    startcache.write_atomic(target, lambda handle: _write(handle, arrays))
    return arrays


def load_arrays() -> tuple:
    """(ptc, pc, classes, nextmove, nextmove_row, out_feat) as py3langid's loader returns them,
    but for the two DFA tables: ``memoryview`` or ``array`` of the same item type and values."""
    source = source_path()
    target = cache_path(source)
    arrays = _mapped(target) or _derive(source, target)
    return (
        arrays["ptc"],
        arrays["pc"],
        arrays["classes"].tolist(),
        _words(arrays["nextmove"]),
        _words(arrays["nextmove_row"]),
        arrays["out_feat"].tolist(),
    )


def _words(values: np.ndarray) -> memoryview:
    """An unsigned array as a flat ``memoryview`` of its item size (indexing it gives ints, as an ``array`` does)."""
    return memoryview(np.ascontiguousarray(values)).cast("B").cast(_TYPECODES[values.dtype.itemsize])


def identifier() -> LanguageIdentifier:
    """A ``LanguageIdentifier`` as ``LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)`` builds it."""
    ptc, pc, classes, nextmove, row, output = load_arrays()
    return LanguageIdentifier(np.asarray(ptc), np.asarray(pc), classes, nextmove, output, norm_probs=True, tk_row=row)
