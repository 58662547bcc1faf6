"""Object store behind a small protocol: a local folder (default) or S3."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol


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


class LocalObjectStore:
    """A folder on disk; writes are atomic (temp file + link) and durable (fsync)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"key escapes the store: {key!r}")
        return path

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Write once: link a fully written temp file into place, failing if taken."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
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
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            return True
        except OSError as exc:
            raise ObjectStoreUnavailable(str(exc)) from exc
        finally:
            Path(tmp).unlink(missing_ok=True)

    def get(self, key: str) -> bytes:
        """Bytes of one object."""
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        """Whether an object exists."""
        return self._path(key).is_file()

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
