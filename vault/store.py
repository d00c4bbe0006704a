"""Object stores: a local directory and S3 (or MinIO, Ceph, moto), behind one small interface.

The interface is synchronous; async callers run it in a thread. Keys are ``/``-separated
relative paths (see :mod:`vault.layout` for the ones tracevault writes). Both stores refuse the
same keys: empty, absolute, with a backslash, a control character, an empty, ``.`` or ``..``
component, a component starting with the local store's temp-file prefix, or longer than 1024
bytes in UTF-8. Refusals raise :class:`InvalidKey` (a ``ValueError``) without repeating the key.

Errors never carry object content: :class:`ObjectNotFound` and :class:`StoreError` name the
operation and the key, plus an error code (S3) or ``strerror`` (local), and nothing else.
"""

from __future__ import annotations

import datetime as _dt
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from policies.files import fsync_dir

if TYPE_CHECKING:
    from policies.config import Config

#: Local temp files start with this; ``list`` skips them and no key may contain a component
#: starting with it (in either store, so that both refuse the same keys).
TEMP_PREFIX = ".tvtmp-"
MAX_KEY_BYTES = 1024
#: S3 DeleteObjects takes at most 1000 keys per call.
S3_MAX_DELETE_BATCH = 1000
#: S3 ListObjectsV2 returns at most 1000 keys per page.
S3_MAX_PAGE_SIZE = 1000

_DIR_MODE = 0o700
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
#: What S3 answers a conditional create when the key exists (or a racing create won).
_EXISTS_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    modified: _dt.datetime  # timezone-aware, UTC


class ObjectNotFound(KeyError):
    """No object under this key. ``str()`` names the operation and the key."""

    def __init__(self, operation: str, key: str) -> None:
        super().__init__(f"{operation}: no such object: {key}")
        self.operation = operation
        self.key = key

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class StoreError(Exception):
    """The store failed. The message names the operation, the key and an error code only."""


class InvalidKey(ValueError):
    """A key or prefix the stores refuse. The message gives the rule, never the key."""


@runtime_checkable
class ObjectStore(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically: readers see the old object or the new one."""

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Create ``key`` with ``data`` only if no object is there: True when this call created it,
        False when one already existed (it is left as it was). Atomic against concurrent callers
        on the same store: of several racing calls for one key, exactly one returns True."""

    def get(self, key: str) -> bytes:
        """The whole object; raises :class:`ObjectNotFound`."""

    def get_range(self, key: str, start: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``start`` in one read; fewer (or none) past the end."""

    def head(self, key: str) -> ObjectInfo | None:
        """Size and modification time, or ``None`` when there is no such object."""

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix`` (a plain string prefix), sorted by key."""

    def delete_many(self, keys: Sequence[str]) -> int:
        """Delete in batches; missing keys are not errors. Returns how many were deleted."""

    def describe(self) -> str:
        """Where the store is, for logs: ``file:///x`` or ``s3://bucket/prefix``."""


# ---------------------------------------------------------------------------------------------
# Keys


def check_key(key: object) -> str:
    """Return ``key`` if both stores accept it, else raise :class:`InvalidKey`."""
    if not isinstance(key, str) or not key:
        raise InvalidKey("invalid key: must be a non-empty string")
    _check_text(key, "key")
    for part in key.split("/"):
        _check_component(part, "key")
    return key


def check_prefix(prefix: object) -> str:
    """A listing prefix: ``""``, or a key's beginning (it may end with ``/`` or mid-component)."""
    if not isinstance(prefix, str):
        raise InvalidKey("invalid prefix: must be a string")
    if not prefix:
        return prefix
    _check_text(prefix, "prefix")
    parts = prefix.split("/")
    for part in parts[:-1]:
        _check_component(part, "prefix")
    if parts[-1]:
        _check_component(parts[-1], "prefix")
    return prefix


def _check_text(value: str, what: str) -> None:
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidKey(f"invalid {what}: not valid UTF-8") from None
    if size > MAX_KEY_BYTES:
        raise InvalidKey(f"invalid {what}: longer than {MAX_KEY_BYTES} bytes")
    if value.startswith("/"):
        raise InvalidKey(f"invalid {what}: must be relative")
    if "\\" in value:
        raise InvalidKey(f"invalid {what}: backslashes are not allowed")
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in value):
        raise InvalidKey(f"invalid {what}: control characters are not allowed")


def _check_component(part: str, what: str) -> None:
    if part in ("", ".", ".."):
        raise InvalidKey(f"invalid {what}: empty, '.' and '..' components are not allowed")
    if part.startswith(TEMP_PREFIX):
        raise InvalidKey(f"invalid {what}: components may not start with {TEMP_PREFIX!r}")


def _unique(keys: Sequence[str]) -> list[str]:
    if isinstance(keys, str):  # a lone key would be iterated character by character
        raise TypeError("delete_many takes a sequence of keys, not one key")
    return [check_key(k) for k in dict.fromkeys(keys)]


# ---------------------------------------------------------------------------------------------
# Local directory


class LocalStore:
    """Objects as files under ``root``; directories 0700, files 0600.

    ``put`` writes a temp file in the target directory, fsyncs it, renames it over the key
    (``os.replace``) and fsyncs the directory, so a reader sees the old file or the new one and
    a crash leaves at most a stray temp file, which ``list`` skips. ``delete_many`` removes
    directories it leaves empty (never ``root`` itself). The root is created on first ``put``.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).absolute()

    def describe(self) -> str:
        return self.root.as_uri()

    # -- paths

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def _ensure_dir(self, directory: Path) -> None:
        """Create ``directory`` and its missing parents below root (root too), mode 0700."""
        if directory.is_dir():
            return
        if not self.root.is_dir():
            self.root.parent.mkdir(parents=True, exist_ok=True)
            try:
                self.root.mkdir(mode=_DIR_MODE)
                fsync_dir(self.root.parent)
            except FileExistsError:
                pass
        current = self.root
        for part in directory.relative_to(self.root).parts:
            current = current / part
            try:
                current.mkdir(mode=_DIR_MODE)
            except FileExistsError:  # a file in the way fails at mkstemp, as StoreError
                continue
            fsync_dir(current.parent)

    # -- operations

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        with _os_errors("put", key):
            self._publish(path, data, exclusive=False)
            fsync_dir(path.parent)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """The synced temp file is linked to the key with ``link(2)``, which fails when the name
        exists: the ``O_EXCL`` guarantee, for a file whose content is complete when it appears."""
        path = self._path(key)
        with _os_errors("put_if_absent", key):
            try:
                self._publish(path, data, exclusive=True)
            except FileExistsError:
                return False
            fsync_dir(path.parent)
        return True

    def _publish(self, path: Path, data: bytes, *, exclusive: bool) -> None:
        """Write ``data`` to a synced temp file beside ``path``, then rename it over ``path`` or,
        ``exclusive``, link it to ``path`` (raising FileExistsError when ``path`` exists)."""
        view = memoryview(data)
        for attempt in range(3):
            try:
                self._ensure_dir(path.parent)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=".part")
                break
            except FileNotFoundError:  # a concurrent delete_many pruned the directory
                if attempt == 2:
                    raise
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(view)
                handle.flush()
                os.fsync(handle.fileno())
            if exclusive:
                os.link(tmp, path)
            else:
                os.replace(tmp, path)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        if exclusive:
            _unlink_quietly(tmp)  # the object lives on under its key

    def get(self, key: str) -> bytes:
        path = self._path(key)
        with _os_errors("get", key):
            try:
                return path.read_bytes()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                raise ObjectNotFound("get", key) from None

    def get_range(self, key: str, start: int, length: int) -> bytes:
        _check_range(start, length)
        path = self._path(key)
        with _os_errors("get_range", key):
            try:
                with open(path, "rb") as handle:
                    if length == 0:
                        return b""
                    handle.seek(start)
                    return handle.read(length)
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                raise ObjectNotFound("get_range", key) from None

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        with _os_errors("head", key):
            try:
                st = path.stat()
            except (FileNotFoundError, NotADirectoryError):
                return None
        if not stat.S_ISREG(st.st_mode):
            return None
        return ObjectInfo(key, st.st_size, _utc(st.st_mtime))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        check_prefix(prefix)
        directory, _, _ = prefix.rpartition("/")
        base = self.root.joinpath(*directory.split("/")) if directory else self.root
        found: list[tuple[str, os.stat_result]] = []
        with _os_errors("list", prefix):
            self._walk(base, directory + "/" if directory else "", prefix, found)
        found.sort(key=lambda item: item[0])
        for key, st in found:
            yield ObjectInfo(key, st.st_size, _utc(st.st_mtime))

    def _walk(self, directory: Path, key_prefix: str, prefix: str, found: list) -> None:
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if entry.name.startswith(TEMP_PREFIX):
                continue
            key = key_prefix + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    # Descend only where keys can still match the prefix.
                    if key.startswith(prefix) or prefix.startswith(key + "/"):
                        self._walk(Path(entry.path), key + "/", prefix, found)
                elif entry.is_file(follow_symlinks=False) and key.startswith(prefix):
                    found.append((key, entry.stat(follow_symlinks=False)))
            except FileNotFoundError:  # removed while listing
                continue

    def delete_many(self, keys: Sequence[str]) -> int:
        deleted = 0
        for key in _unique(keys):
            path = self._path(key)
            with _os_errors("delete_many", key):
                try:
                    if not stat.S_ISREG(path.lstat().st_mode):
                        continue
                    path.unlink()
                except (FileNotFoundError, NotADirectoryError):
                    continue
            deleted += 1
            self._prune(path.parent)
        return deleted

    def _prune(self, directory: Path) -> None:
        while directory != self.root and self.root in directory.parents:
            try:
                directory.rmdir()
            except OSError:  # not empty, already gone, or not ours to remove
                return
            directory = directory.parent


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _utc(timestamp: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(timestamp, tz=_dt.timezone.utc)


def _check_range(start: int, length: int) -> None:
    if not isinstance(start, int) or not isinstance(length, int) or start < 0 or length < 0:
        raise ValueError("get_range: start and length must be non-negative integers")


@contextmanager
def _os_errors(operation: str, key: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StoreError(f"{operation} {key}: {reason}") from None


# ---------------------------------------------------------------------------------------------
# S3


class S3Store:
    """Objects in an S3 bucket under an optional prefix (``prefix/`` + key).

    ``page_size`` (ListObjectsV2 ``MaxKeys``) and ``delete_batch`` (keys per DeleteObjects)
    default to S3's maximum of 1000; they are parameters so that tests can exercise paging and
    batching with a few objects. Retries are botocore's ``standard`` mode, ``max_attempts``
    attempts per call in all (the first one included).
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        sse_kms_key_id: str | None = None,
        max_attempts: int = 5,
        client: Any = None,
        page_size: int = S3_MAX_PAGE_SIZE,
        delete_batch: int = S3_MAX_DELETE_BATCH,
    ) -> None:
        if not isinstance(bucket, str) or not bucket or "/" in bucket:
            raise ValueError("S3Store: bucket must be a bucket name")
        prefix = (prefix or "").strip("/")
        if prefix:
            check_key(prefix)
        if not 1 <= page_size <= S3_MAX_PAGE_SIZE:
            raise ValueError(f"S3Store: page_size must be 1..{S3_MAX_PAGE_SIZE}")
        if not 1 <= delete_batch <= S3_MAX_DELETE_BATCH:
            raise ValueError(f"S3Store: delete_batch must be 1..{S3_MAX_DELETE_BATCH}")
        self.bucket = bucket
        self.prefix = prefix
        self.sse_kms_key_id = sse_kms_key_id
        self.page_size = page_size
        self.delete_batch = delete_batch
        self._client = client if client is not None else _s3_client(endpoint_url, region, max_attempts)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def _full(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _errors(self, operation: str, key: str) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            code = _error_code(exc)
            if code in _NOT_FOUND_CODES:
                raise ObjectNotFound(operation, key) from None
            raise StoreError(f"{operation} {key}: {code}") from None
        except BotoCoreError as exc:
            raise StoreError(f"{operation} {key}: {type(exc).__name__}") from None

    def put(self, key: str, data: bytes) -> None:
        check_key(key)
        extra: dict[str, str] = {}
        if self.sse_kms_key_id:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.sse_kms_key_id}
        with self._errors("put", key):
            self._client.put_object(Bucket=self.bucket, Key=self._full(key), Body=bytes(data), **extra)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """``PutObject`` with ``If-None-Match: *``: S3 answers 412 PreconditionFailed when the key
        exists (and 409 ConditionalRequestConflict to the loser of two racing writes).

        A 412 to a retried call may answer this call's own first attempt, stored by S3 but whose
        reply was lost (a dropped connection, a read timeout): then the object holds exactly our
        bytes, and this call did create it."""
        from botocore.exceptions import ClientError

        check_key(key)
        extra: dict[str, str] = {}
        if self.sse_kms_key_id:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.sse_kms_key_id}
        with self._errors("put_if_absent", key):
            try:
                self._client.put_object(Bucket=self.bucket, Key=self._full(key), Body=bytes(data), IfNoneMatch="*", **extra)
            except ClientError as exc:
                if _error_code(exc) not in _EXISTS_CODES:
                    raise
                retried = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) > 0
                return retried and self._holds(key, bytes(data))
        return True

    def _holds(self, key: str, data: bytes) -> bool:
        try:
            return self.get(key) == data
        except ObjectNotFound:
            return False

    def get(self, key: str) -> bytes:
        check_key(key)
        with self._errors("get", key):
            response = self._client.get_object(Bucket=self.bucket, Key=self._full(key))
            with response["Body"] as body:
                return body.read()

    def get_range(self, key: str, start: int, length: int) -> bytes:
        _check_range(start, length)
        check_key(key)
        if length == 0:
            if self.head(key) is None:
                raise ObjectNotFound("get_range", key)
            return b""
        from botocore.exceptions import ClientError

        with self._errors("get_range", key):
            try:
                response = self._client.get_object(
                    Bucket=self.bucket, Key=self._full(key), Range=f"bytes={start}-{start + length - 1}"
                )
            except ClientError as exc:
                if _error_code(exc) == "InvalidRange":  # 416: starts at or past the end
                    return b""
                raise
            with response["Body"] as body:
                return body.read()

    def head(self, key: str) -> ObjectInfo | None:
        check_key(key)
        try:
            with self._errors("head", key):
                response = self._client.head_object(Bucket=self.bucket, Key=self._full(key))
        except ObjectNotFound:
            return None
        return ObjectInfo(key, int(response["ContentLength"]), _as_utc(response["LastModified"]))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        check_prefix(prefix)
        full_prefix = self._full(prefix) if prefix else (self.prefix + "/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        with self._errors("list", prefix):
            paginator = self._client.get_paginator("list_objects_v2")
            pages = paginator.paginate(
                Bucket=self.bucket, Prefix=full_prefix, PaginationConfig={"PageSize": self.page_size}
            )
            for page in pages:
                for item in page.get("Contents", ()):
                    key = item["Key"][strip:]
                    try:
                        check_key(key)
                    except InvalidKey:  # e.g. a console "folder/" marker: not an object of ours
                        continue
                    yield ObjectInfo(key, int(item["Size"]), _as_utc(item["LastModified"]))

    def delete_many(self, keys: Sequence[str]) -> int:
        """Delete in DeleteObjects calls of ``delete_batch`` keys.

        S3 reports a key that did not exist as deleted, so on S3 the count includes missing
        keys (the local store counts only files it removed). Keys S3 refuses to delete are
        reported after every batch has been tried, as one :class:`StoreError`.
        """
        unique = _unique(keys)
        deleted = 0
        failed: list[tuple[str, str]] = []
        for start in range(0, len(unique), self.delete_batch):
            batch = unique[start : start + self.delete_batch]
            with self._errors("delete_many", batch[0]):
                response = self._client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": self._full(k)} for k in batch], "Quiet": False},
                )
            deleted += len(response.get("Deleted", ()))
            strip = len(self.prefix) + 1 if self.prefix else 0
            failed.extend((e.get("Key", "")[strip:], e.get("Code", "unknown")) for e in response.get("Errors", ()))
        if failed:
            key, code = failed[0]
            raise StoreError(f"delete_many {key}: {code} ({len(failed)} of {len(unique)} keys not deleted)")
        return deleted


    # -- bucket-level operations: erasure checks versioning, lifecycle rules, tenant listing ----

    def versioning_status(self) -> str | None:
        """The bucket's versioning: "Enabled", "Suspended", or None when it was never enabled."""
        with self._errors("get_bucket_versioning", self.bucket):
            status = self._client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        return str(status) if status else None

    def common_prefixes(self, prefix: str) -> list[str]:
        """Sub-"directories" directly below ``prefix`` (ending in "/"), relative to the store's prefix."""
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        out: list[str] = []
        with self._errors("list", prefix):
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full, Delimiter="/"):
                out.extend(item["Prefix"][strip:] for item in page.get("CommonPrefixes", ()))
        return out

    def lifecycle_rules(self) -> list[dict[str, Any]]:
        """The bucket's lifecycle rules, all of them (not only tracevault's); [] when it has none."""
        from botocore.exceptions import ClientError

        with self._errors("get_bucket_lifecycle_configuration", self.bucket):
            try:
                return list(self._client.get_bucket_lifecycle_configuration(Bucket=self.bucket).get("Rules", []))
            except ClientError as exc:
                if _error_code(exc) != "NoSuchLifecycleConfiguration":
                    raise
                return []

    def put_lifecycle_rules(self, rules: list[dict[str, Any]]) -> None:
        """Replace the bucket's lifecycle configuration with ``rules``."""
        with self._errors("put_bucket_lifecycle_configuration", self.bucket):
            self._client.put_bucket_lifecycle_configuration(Bucket=self.bucket, LifecycleConfiguration={"Rules": rules})


def _s3_client(endpoint_url: str | None, region: str | None, max_attempts: int) -> Any:
    import boto3
    from botocore.config import Config as BotoConfig

    # total_max_attempts includes the first attempt, as storage.max_attempts ("attempts per call")
    # and AWS_MAX_ATTEMPTS do; botocore's own "max_attempts" key would count retries only.
    options: dict[str, Any] = {"retries": {"total_max_attempts": max_attempts, "mode": "standard"}}
    if endpoint_url:
        # S3-compatible servers (MinIO, Ceph, moto) are addressed by path, not by bucket host name.
        options["s3"] = {"addressing_style": "path"}
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=BotoConfig(**options))


def _error_code(exc: Any) -> str:
    response = getattr(exc, "response", None) or {}
    code = (response.get("Error") or {}).get("Code")
    if not code:
        code = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return str(code or "unknown")


def _as_utc(value: _dt.datetime) -> _dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=_dt.timezone.utc)
    return value.astimezone(_dt.timezone.utc)


# ---------------------------------------------------------------------------------------------


def open_store(config: Config) -> ObjectStore:
    """The store named by ``config.store_url()`` (``file:///abs`` or ``s3://bucket/prefix``)."""
    url = config.store_url()
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
            raise ValueError("storage.url: a file URL must be file:///absolute/path")
        path = Path(url2pathname(parts.path))
        if not parts.path or not path.is_absolute():
            raise ValueError("storage.url: a file URL must be file:///absolute/path")
        return LocalStore(path)
    if parts.scheme == "s3":
        if not parts.netloc or parts.query or parts.fragment:
            raise ValueError("storage.url: an S3 URL must be s3://bucket[/prefix]")
        storage = config.storage
        return S3Store(
            parts.netloc,
            unquote(parts.path).strip("/"),
            endpoint_url=storage.endpoint_url,
            region=storage.region,
            sse_kms_key_id=storage.sse_kms_key_id,
            max_attempts=storage.max_attempts,
        )
    raise ValueError("storage.url: must be file:///absolute/path or s3://bucket[/prefix]")
