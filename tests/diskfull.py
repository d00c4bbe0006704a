"""A real full disk for tests: a small tmpfs mounted for the test, and a filler file.

Mounting needs root (CAP_SYS_ADMIN), as in the CI container. The mount is always removed, also
when the test fails.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_disk(mount_point: Path, size_kib: int) -> Iterator[Path]:
    """A tmpfs of `size_kib` KiB at `mount_point`, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.fail("the full-disk tests mount a tmpfs and must run as root (as in CI)")
    mount_point.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0700", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def fill(disk: Path, name: str = "filler") -> Path:
    """Write a file until the disk is full (ENOSPC); returns it. Delete it to free the space."""
    path = disk / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    block = b"\0" * 4096
    try:
        while True:
            try:
                os.write(fd, block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
        # The last block may have gone in partly: fill the remaining bytes one by one.
        while True:
            try:
                if os.write(fd, b"\0") == 0:
                    break
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    finally:
        os.close(fd)
    return path
