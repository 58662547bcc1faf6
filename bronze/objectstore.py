"""Object store behind a small protocol: a local folder (default) or S3.

Both implementations are write-once (`put_if_absent`) and durable when the call returns, so a
caller may acknowledge data as soon as a put succeeded. Any failure to reach the store is raised
as `ObjectStoreUnavailable`, never as a library-specific error.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from conf.settings import Settings


class ObjectStoreUnavailable(RuntimeError):
    """The store could not be reached; nothing was acknowledged."""


class ObjectStore(Protocol):
    """Write-once object storage used for the landing zone."""

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Write `data` at `key` unless it exists; True if this call wrote it."""
        ...

    def get(self, key: str) -> bytes:
        """Bytes of one object."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object exists."""
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under a prefix, sorted."""
        ...

    def uri(self, key: str = "") -> str:
        """Location Spark can read (absolute path or s3a:// URI)."""
        ...


@runtime_checkable
class Pingable(Protocol):
    """A store that can tell whether it is reachable (used by readiness probes)."""

    def ping(self) -> None:
        """Raise `ObjectStoreUnavailable` unless the store can be used."""
        ...


def _fsync_dir(directory: Path) -> None:
    """Flush a directory's entries (new names in it) to stable storage."""
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class LocalObjectStore:
    """A folder on disk; writes are atomic (temp file + link) and durable (fsync)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"key escapes the store: {key!r}")
        return path

    def _make_dirs(self, directory: Path) -> None:
        """Create missing folders; fsync the parent of each, so the new entries are durable.

        Without it a power loss can drop a fresh `received_date=` folder (and with it an
        object that was already acknowledged), although the object and its folder were synced.
        A folder another writer just created is synced too: its creator may not have yet.
        """
        missing: list[Path] = []
        current = directory
        while not current.is_dir():
            missing.append(current)
            current = current.parent
        for folder in reversed(missing):
            with contextlib.suppress(FileExistsError):
                folder.mkdir()
            _fsync_dir(folder.parent)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Write once: link a fully written temp file into place, failing if taken.

        Durable when it returns True: the data, the new directory entry and any folder
        created on the way are fsynced.
        """
        path = self._path(key)
        try:
            self._make_dirs(path.parent)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError as exc:
            raise ObjectStoreUnavailable(str(exc)) from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            _fsync_dir(path.parent)
            return True
        except OSError as exc:
            raise ObjectStoreUnavailable(str(exc)) from exc
        finally:
            Path(tmp).unlink(missing_ok=True)

    def get(self, key: str) -> bytes:
        """Bytes of one object (FileNotFoundError if absent)."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise ObjectStoreUnavailable(str(exc)) from exc

    def exists(self, key: str) -> bool:
        """Whether an object exists."""
        try:
            return self._path(key).is_file()
        except OSError as exc:
            raise ObjectStoreUnavailable(str(exc)) from exc

    def ping(self) -> None:
        """Check that the root exists (creating it) and is writable."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ObjectStoreUnavailable(f"landing root {self.root}: {exc}") from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise ObjectStoreUnavailable(f"landing root {self.root} is not writable")

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under a prefix, sorted, skipping temp files."""
        base = self.root / prefix if prefix else self.root
        if not base.exists():
            return iter(())
        start = base if base.is_dir() else base.parent
        keys = (
            str(p.relative_to(self.root))
            for p in start.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )
        return iter(sorted(k for k in keys if k.startswith(prefix)))

    def uri(self, key: str = "") -> str:
        """Absolute path of a key (or of the root)."""
        return str(self.root / key) if key else str(self.root)


# S3 error codes that mean "the object is not there" and "the write-once condition failed".
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_PRECONDITION_CODES = frozenset({"412", "PreconditionFailed"})


def _error_code(exc: Exception) -> str:
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    if code:
        return str(code)
    return str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


class S3ObjectStore:
    """An S3 bucket/prefix; write-once through conditional puts (`If-None-Match: *`)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: S3Client | None = None,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        path_style: bool = True,
        connect_timeout: float = 3.0,
        read_timeout: float = 20.0,
        max_attempts: int = 3,
    ) -> None:
        if not bucket:
            raise ValueError("an S3 object store needs a bucket")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        if client is None:
            import boto3
            from botocore.config import Config

            config = Config(
                region_name=region,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"max_attempts": max_attempts, "mode": "standard"},
                s3={"addressing_style": "path" if path_style else "virtual"},
                max_pool_connections=32,
            )
            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                config=config,
            )
        self.client: S3Client = client

    @classmethod
    def from_uri(cls, uri: str, **kwargs: Any) -> S3ObjectStore:
        """Store rooted at `s3://bucket/prefix` or `s3a://bucket/prefix`."""
        scheme, sep, rest = uri.partition("://")
        if not sep or scheme not in ("s3", "s3a"):
            raise ValueError(f"not an S3 URI: {uri!r}")
        bucket, _, prefix = rest.partition("/")
        return cls(bucket, prefix, **kwargs)

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in key.split("/")):
            raise ValueError(f"invalid object key: {key!r}")
        return self.prefix + key

    def _unavailable(self, action: str, exc: Exception) -> ObjectStoreUnavailable:
        return ObjectStoreUnavailable(
            f"s3 {action} on s3://{self.bucket}/{self.prefix} failed: {exc}"
        )

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Conditional put; False when the key already exists (HTTP 412)."""
        from botocore.exceptions import BotoCoreError, ClientError

        full_key = self._key(key)
        try:
            self.client.put_object(Bucket=self.bucket, Key=full_key, Body=data, IfNoneMatch="*")
        except ClientError as exc:
            if _error_code(exc) in _PRECONDITION_CODES:
                return False
            raise self._unavailable("put", exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("put", exc) from exc
        return True

    def get(self, key: str) -> bytes:
        """Bytes of one object (FileNotFoundError if absent)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return response["Body"].read()
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND_CODES:
                raise FileNotFoundError(key) from exc
            raise self._unavailable("get", exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("get", exc) from exc

    def exists(self, key: str) -> bool:
        """Whether an object exists (HEAD)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND_CODES:
                return False
            raise self._unavailable("head", exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("head", exc) from exc
        return True

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under a prefix, sorted (relative to the store prefix)."""
        from botocore.exceptions import BotoCoreError, ClientError

        keys: list[str] = []
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                keys.extend(obj["Key"][len(self.prefix) :] for obj in page.get("Contents", []))
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable("list", exc) from exc
        return iter(sorted(keys))

    def uri(self, key: str = "") -> str:
        """`s3a://bucket/prefix/key`, readable by Spark's S3A connector."""
        base = f"s3a://{self.bucket}/{self.prefix}"
        return base + key if key else base.rstrip("/")

    def ping(self) -> None:
        """HEAD the bucket; raise `ObjectStoreUnavailable` if it cannot be reached."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable("head-bucket", exc) from exc


def make_object_store(settings: Settings, root: str | None = None) -> ObjectStore:
    """The landing-zone store of `settings` (or of another `root`): local folder or S3."""
    location = root or settings.landing
    if location.startswith(("s3://", "s3a://")):
        return S3ObjectStore.from_uri(
            location,
            endpoint_url=settings.s3_endpoint,
            region=settings.s3_region,
            access_key=settings.s3_access_key.get_secret_value()
            if settings.s3_access_key
            else None,
            secret_key=settings.s3_secret_key.get_secret_value()
            if settings.s3_secret_key
            else None,
            path_style=settings.s3_path_style,
        )
    return LocalObjectStore(location)
