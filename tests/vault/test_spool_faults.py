"""The spool on a really full disk (a small tmpfs): a refused append leaves nothing behind, the
writer recovers by itself once space is back, and every record lands exactly once."""

from __future__ import annotations

import errno
import os
from datetime import date
from pathlib import Path

import pytest

from tests.diskfull import fill, small_disk
from vault.keyring import LocalKeyWriter
from vault.spool import SpoolRecord, SpoolWriter, read_spool_file

SECRET = bytes(range(32))
DAY = date(2026, 11, 28)


def record(n: int, payload_bytes: int) -> SpoolRecord:
    return SpoolRecord(
        trace_id="ab" * 16,
        span_id=f"{n:016x}",
        metrics={"trace_id": "ab" * 16, "span_id": f"{n:016x}", "operation": "chat"},
        payload=os.urandom(payload_bytes // 2).hex().encode(),  # incompressible, exact size
    )


def stored_span_ids(spool: Path) -> list[str]:
    ids = []
    for path in sorted(spool.glob("*.wal")):
        contents = read_spool_file(path)
        assert contents.corrupt_regions == 0 and contents.orphan_records == 0, f"{path.name} is damaged"
        ids += [row["span_id"] for group in contents.groups for row in group.rows]
    return ids


@pytest.mark.parametrize("payload_bytes", [1500, 6000, 40_000], ids=["small-buffered", "one-page", "many-pages"])
def test_a_full_disk_refuses_the_append_and_the_retry_lands_once(tmp_path: Path, payload_bytes: int) -> None:
    keyring = LocalKeyWriter(tmp_path / "keys", SECRET)
    with small_disk(tmp_path / "disk", size_kib=256) as disk:
        writer = SpoolWriter(disk / "spool", keyring.new_data_key, fsync=True)
        writer.append("acme", "prod", DAY, [record(1, 1000)])
        filler = fill(disk)
        refused = [record(2, payload_bytes), record(3, payload_bytes)]
        with pytest.raises(OSError) as raised:
            for _ in range(8):  # the first may still fit in the file's last page
                writer.append("acme", "prod", DAY, refused)
        assert raised.value.errno == errno.ENOSPC
        assert writer.healthy, "a full disk is recoverable: liveness stays OK"
        # The flush loop keeps working while the disk is full: sealing never raises.
        writer.seal()
        stored_before = stored_span_ids(disk / "spool")

        filler.unlink()  # space is back
        writer.append("acme", "prod", DAY, refused)  # the client's retry
        writer.append("acme", "prod", DAY, [record(4, 1000)])
        writer.seal()
        ids = stored_span_ids(disk / "spool")
    assert stored_before.count(f"{1:016x}") == 1
    assert set(stored_before) <= {f"{n:016x}" for n in (1, 2, 3)}
    extra_fits = stored_before.count(f"{2:016x}")  # appends that fitted before the disk was full
    assert ids.count(f"{1:016x}") == 1 and ids.count(f"{4:016x}") == 1
    assert ids.count(f"{2:016x}") == extra_fits + 1, "the refused append's bytes were written again later"
    assert ids.count(f"{3:016x}") == extra_fits + 1


def test_a_cut_that_fails_keeps_the_file_out_of_the_flush_and_marks_the_writer_unhealthy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ftruncate to a smaller size does not fail on a full disk; the kernel fails it on an I/O
    # error, which no test can cause. The one stand-in of this file: os.ftruncate raising EIO.
    keyring = LocalKeyWriter(tmp_path / "keys", SECRET)
    with small_disk(tmp_path / "disk", size_kib=256) as disk:
        writer = SpoolWriter(disk / "spool", keyring.new_data_key, fsync=True)
        writer.append("acme", "prod", DAY, [record(1, 1000)])
        filler = fill(disk)
        real_ftruncate = os.ftruncate

        def broken_ftruncate(fd: int, length: int) -> None:
            raise OSError(errno.EIO, "I/O error")

        monkeypatch.setattr(os, "ftruncate", broken_ftruncate)
        with pytest.raises(OSError):
            for _ in range(8):
                writer.append("acme", "prod", DAY, [record(2, 40_000)])
        assert not writer.healthy
        assert writer.seal() is None, "a damaged file is never sealed (it would be flushed)"
        assert writer.sealed_files() == []
        filler.unlink()
        with pytest.raises(OSError):
            writer.append("acme", "prod", DAY, [record(3, 1000)])
        monkeypatch.setattr(os, "ftruncate", real_ftruncate)
        writer.append("acme", "prod", DAY, [record(3, 1000)])  # repaired first, then written
        assert writer.healthy
        writer.seal()
        ids = stored_span_ids(disk / "spool")
    assert sorted(ids) == [f"{1:016x}", f"{3:016x}"]
