"""Versions, sizing and folders of the local Trino install under `{cache_dir}/trino`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from conf.settings import Settings

TRINO_VERSION = os.environ.get("FINLAKE_TRINO_VERSION", "476")
TRINO_MIN_JAVA = 24  # Trino 476 needs Java 24.0.1+; 479+ needs 25
TRINO_HEAP = "3G"
TRINO_QUERY_MAX_MEMORY = "1GB"
TRINO_HEAP_HEADROOM = "768MB"
# delta-lake: the catalog; password-authenticators: the `file` password and group providers.
KEEP_PLUGINS = frozenset({"delta-lake", "password-authenticators"})
SERVED_LAYERS: tuple[str, ...] = ("gold", "ops")


@dataclass(frozen=True)
class TrinoPaths:
    """Folders and files of the local Trino install under `{cache_dir}/trino`."""

    root: Path
    version: str = TRINO_VERSION

    @property
    def downloads(self) -> Path:
        """Downloaded tarballs."""
        return self.root / "downloads"

    @property
    def tarball(self) -> Path:
        """The pinned release tarball."""
        return self.downloads / f"trino-server-{self.version}.tar.gz"

    @property
    def install(self) -> Path:
        """Extracted server."""
        return self.root / f"trino-server-{self.version}"

    @property
    def etc(self) -> Path:
        """Rendered configuration."""
        return self.root / "etc"

    @property
    def data(self) -> Path:
        """Node data dir (logs, pid file)."""
        return self.root / "data"

    @property
    def metastore(self) -> Path:
        """File metastore of the `delta` catalog."""
        return self.root / "metastore"

    @property
    def pid_file(self) -> Path:
        """Launcher pid file."""
        return self.data / "var" / "run" / "launcher.pid"

    @property
    def server_log(self) -> Path:
        """Server log of the daemon."""
        return self.data / "var" / "log" / "server.log"


def trino_paths(settings: Settings) -> TrinoPaths:
    """Paths of the Trino install for these settings."""
    return TrinoPaths(settings.cache_dir / "trino")
