"""Random per-process keys for in-memory digests, drawn again in every forked child.

The caches key their entries by keyed digests (HMAC-SHA256, keyed BLAKE2b for the redaction
cache) under a random key of the process, so that a digest means nothing outside it. The
service forks its redaction workers from one process that loaded the model
(sidecar/workers.py): without a new key each worker would share its siblings'.
An owner registers itself; after a fork, in the child, each live owner's ``renew_key`` draws a
new key and forgets what it cached under the old one.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

KEY_BYTES = 32


class Keyed(Protocol):
    def renew_key(self) -> None: ...


_OWNERS: weakref.WeakSet[Keyed] = weakref.WeakSet()


def new_key(owner: Keyed) -> bytes:
    """A fresh random key for `owner`, which is asked to renew it in any forked child."""
    _OWNERS.add(owner)
    return os.urandom(KEY_BYTES)


def _renew_all() -> None:
    for owner in list(_OWNERS):
        owner.renew_key()


os.register_at_fork(after_in_child=_renew_all)
