"""`S3Store.put_if_absent` as the audit chain relies on it: of racing creates exactly one wins,
and a create whose reply was lost (botocore retries it, S3 answers 412) still counts as ours.

The first two tests are about the moto server the suite runs (tests/conftest.py): moto checks
``If-None-Match`` and stores the object in two steps on per-request threads, so the suite's
server runs each PutObject under one lock, as S3 makes it atomic. A delay injected into moto's
existence check makes the window wide enough to lose every time without that lock.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from vault.store import S3Store

WRITERS = 8
KEYS = 6


@pytest.fixture
def slow_existence_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's existence check for a missing ``race-`` key waits 20 ms before answering."""
    from moto.s3.models import S3Backend

    original = S3Backend.get_object

    def get_object(self, bucket_name, key_name, *args, **kwargs):  # noqa: ANN001, ANN202 - moto's signature
        found = original(self, bucket_name, key_name, *args, **kwargs)
        if found is None and "/race-" in str(key_name):
            time.sleep(0.02)
        return found

    monkeypatch.setattr(S3Backend, "get_object", get_object)


def _race(store: S3Store) -> dict[str, list[int]]:
    """Each of KEYS keys created by WRITERS threads at once: key -> the writers that won."""
    winners: dict[str, list[int]] = {}
    with ThreadPoolExecutor(WRITERS) as pool:
        for k in range(KEYS):
            key = f"race-{k}"
            won = pool.map(lambda w, key=key: store.put_if_absent(key, b"writer %d" % w), range(WRITERS))
            winners[key] = [w for w, ok in zip(range(WRITERS), won, strict=True) if ok]
    return winners


def test_racing_conditional_creates_have_exactly_one_winner(moto_endpoint: str, s3_bucket: str, slow_existence_check: None) -> None:
    store = S3Store(s3_bucket, "vault", endpoint_url=moto_endpoint, region="us-east-1", max_attempts=1)
    for key, won in _race(store).items():
        assert len(won) == 1, (key, won)
        assert store.get(key) == b"writer %d" % won[0], "the object holds the winner's bytes"


def test_without_the_lock_moto_lets_several_win(moto_endpoint: str, s3_bucket: str, slow_existence_check: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the injected delay does open moto's window (if moto ever makes its check and
    write atomic, this fails, and the lock in tests/conftest.py can go)."""
    from moto.s3.responses import S3Response

    monkeypatch.setattr(S3Response, "put_object", S3Response.put_object.__wrapped__)
    store = S3Store(s3_bucket, "vault", endpoint_url=moto_endpoint, region="us-east-1", max_attempts=1)
    assert any(len(won) > 1 for won in _race(store).values())


class DropFirstReply:
    """A loopback TCP proxy to moto. The first connection's request is passed on and answered by
    moto, but the answer is dropped and the client's socket closed: the client cannot tell
    whether its request took effect. Later connections are passed through both ways."""

    dropped: list[str] = []  # the status lines of the answers the client never got

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = "http://127.0.0.1:%d" % self.listener.getsockname()[1]
        self.connections = 0
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            self.connections += 1
            server = socket.create_connection(self.upstream)
            first = self.connections == 1
            for source, target, drop in ((client, server, False), (server, client, first)):
                thread = threading.Thread(target=self._pump, args=(source, target, drop), daemon=True)
                thread.start()
                self._threads.append(thread)

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket, drop: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if drop:
                    interim, final = _split_continue(chunk)
                    target.sendall(interim)  # "100 Continue": botocore sends the body after it
                    if final:  # moto has answered: the request took effect; the client never hears
                        DropFirstReply.dropped.append(final.split(b"\r\n", 1)[0].decode())
                        break
                    continue
                target.sendall(chunk)
        except OSError:
            pass
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self.listener.close()
        self._accepting.join(5)
        for thread in self._threads:
            thread.join(5)


def _split_continue(chunk: bytes) -> tuple[bytes, bytes]:
    """(the interim ``100 Continue`` responses at the start of ``chunk``, the rest)."""
    interim = b""
    while chunk.startswith(b"HTTP/1.1 100") and b"\r\n\r\n" in chunk:
        end = chunk.index(b"\r\n\r\n") + 4
        interim, chunk = interim + chunk[:end], chunk[end:]
    return interim, chunk


@pytest.fixture
def lossy_endpoint(moto_endpoint: str) -> Iterator[DropFirstReply]:
    DropFirstReply.dropped.clear()
    proxy = DropFirstReply(moto_endpoint)
    try:
        yield proxy
    finally:
        proxy.close()


def test_a_create_whose_reply_was_lost_is_still_ours(s3_bucket: str, lossy_endpoint: DropFirstReply) -> None:
    store = S3Store(s3_bucket, "vault", endpoint_url=lossy_endpoint.endpoint, region="us-east-1", max_attempts=3)
    assert store.put_if_absent("claims/000000000007-claim", b"my record") is True
    assert DropFirstReply.dropped == ["HTTP/1.1 200 OK"], "moto stored the first attempt; its answer was lost"
    assert lossy_endpoint.connections >= 2, "and botocore retried on another connection"
    assert store.get("claims/000000000007-claim") == b"my record"
    # Someone else's object under the same key is still someone else's, retried or not.
    assert store.put_if_absent("claims/000000000007-claim", b"another record") is False
