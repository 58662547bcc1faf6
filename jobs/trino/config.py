"""Render the local Trino's `etc/`: node, JVM, `delta` catalog and, with TLS, its security.

Open mode (the default): HTTP on loopback, any user name, for development only.

Secure mode (`FINLAKE_TRINO_TLS_KEYSTORE` set): clients reach Trino over HTTPS only, log in
with a password (the `file` authenticator reads `FINLAKE_TRINO_PASSWORD_FILE`), and file-based
access control decides what each user may read:

- `finlake` (admin): registers and unregisters Delta tables, reads everything;
- `finlake-api` (the metrics API): SELECT on the served Gold and ops tables only;
- group `analysts` (`FINLAKE_TRINO_GROUP_FILE`): SELECT on `gold` only, never `ops`.

Plain HTTP then only serves Trino's own internal traffic on a loopback port, authenticated by
a shared secret generated for each start.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import socket
from collections.abc import Iterable
from pathlib import Path
from string import Template
from typing import Any

from conf.settings import Settings
from jobs.trino.paths import (
    TRINO_HEAP,
    TRINO_HEAP_HEADROOM,
    TRINO_QUERY_MAX_MEMORY,
    trino_paths,
)

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "conf" / "trino"
ADMIN_USER = "finlake"
API_USER = "finlake-api"
ANALYSTS_GROUP = "analysts"
PBKDF2_ITERATIONS = 210_000


def _render(name: str, **values: str) -> str:
    return Template((TEMPLATE_DIR / name).read_text()).substitute(values)


def _s3_location(uri: str) -> str:
    """`s3a://b/k` -> `s3://b/k` (Trino's native S3 file system)."""
    return re.sub(r"^s3[an]?://", "s3://", uri)


def trino_location(settings: Settings, path: str) -> str:
    """A lake path as Trino's file systems name it (`local:///abs` or `s3://`)."""
    if path.startswith(("s3://", "s3a://", "s3n://")):
        return _s3_location(path)
    return "local://" + str(Path(path).resolve())


def filesystem_properties(settings: Settings) -> str:
    """File system part of the `delta` catalog (local always, native S3 for an S3 lake)."""
    # Trino 476 names it fs.native-local.enabled (newer: fs.local.enabled); `local.location`
    # is the root that `local:///...` locations resolve against.
    lines = ["fs.native-local.enabled=true", "local.location=/"]
    if settings.is_s3:
        lines += ["fs.native-s3.enabled=true", f"s3.region={settings.s3_region}"]
        if settings.s3_endpoint:
            lines.append(f"s3.endpoint={settings.s3_endpoint}")
        lines.append(f"s3.path-style-access={str(settings.s3_path_style).lower()}")
        if settings.s3_access_key and settings.s3_secret_key:
            lines.append(f"s3.aws-access-key={settings.s3_access_key.get_secret_value()}")
            lines.append(f"s3.aws-secret-key={settings.s3_secret_key.get_secret_value()}")
    return "\n".join(lines) + "\n"


def is_secure(settings: Settings) -> bool:
    """Whether `finlake trino up` runs the server with TLS, passwords and access rules."""
    return settings.trino_tls_keystore is not None


def password_file_line(user: str, password: str, iterations: int = PBKDF2_ITERATIONS) -> str:
    """One `user:hash` line of a Trino password file (PBKDF2 as Trino 476 verifies it)."""
    if ":" in user or not user:
        raise ValueError("a Trino user name is non-empty and has no ':'")
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha1", password.encode(), salt, iterations, dklen=64)
    return f"{user}:{iterations}:{salt.hex()}:{digest.hex()}"


def _table_pattern(tables: Iterable[str]) -> str:
    names = sorted({t.split(".", 1)[1] for t in tables})
    # the API reads the tables and their `$history` (Delta versions)
    return "(" + "|".join(re.escape(n) for n in names) + r")(\$history)?"


def access_rules(api_tables: Iterable[str]) -> dict[str, Any]:
    """File-based access control rules (first matching rule wins; no match denies)."""
    api_tables = sorted(api_tables)
    by_schema: dict[str, list[str]] = {}
    for table in api_tables:
        by_schema.setdefault(table.split(".", 1)[0], []).append(table)
    read = ["SELECT"]
    return {
        "catalogs": [
            {"user": ADMIN_USER, "catalog": ".*", "allow": "all"},
            {"user": API_USER, "catalog": "delta", "allow": "read-only"},
            {"group": ANALYSTS_GROUP, "catalog": "delta", "allow": "read-only"},
            {"catalog": "system", "allow": "none"},
        ],
        "schemas": [
            {"user": ADMIN_USER, "schema": ".*", "owner": True},
            {"user": API_USER, "schema": "|".join(sorted(by_schema)), "owner": False},
            {"group": ANALYSTS_GROUP, "schema": "gold", "owner": False},
        ],
        "tables": [
            {
                "user": ADMIN_USER,
                "privileges": ["SELECT", "INSERT", "DELETE", "UPDATE", "OWNERSHIP"],
            },
            *(
                {
                    "user": API_USER,
                    "catalog": "delta",
                    "schema": schema,
                    "table": _table_pattern(tables),
                    "privileges": read,
                }
                for schema, tables in sorted(by_schema.items())
            ),
            {"group": ANALYSTS_GROUP, "catalog": "delta", "schema": "gold", "privileges": read},
        ],
        "procedures": [
            {
                "user": ADMIN_USER,
                "catalog": "delta",
                "schema": "system",
                "procedure": "(register_table|unregister_table)",
                "privileges": ["EXECUTE"],
            },
        ],
        "system_session_properties": [
            {"user": f"{ADMIN_USER}|{API_USER}", "allow": True},
            {"group": ANALYSTS_GROUP, "allow": True},
        ],
    }


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _secure_files(settings: Settings, etc: Path) -> tuple[str, dict[str, str]]:
    """Extra config.properties lines and the security files of secure mode."""
    from api.trino_client import API_TABLES  # the tables the metrics API reads

    assert settings.trino_tls_keystore is not None
    assert settings.trino_tls_keystore_password is not None
    assert settings.trino_password_file is not None
    config = "\n".join(
        [
            "# secure mode: HTTPS + password for clients; HTTP only for internal traffic",
            "http-server.https.enabled=true",
            f"http-server.https.port={settings.trino_port}",
            f"http-server.https.keystore.path={Path(settings.trino_tls_keystore).resolve()}",
            "http-server.https.keystore.key="
            + settings.trino_tls_keystore_password.get_secret_value(),
            "http-server.authentication.type=PASSWORD",
            "http-server.authentication.allow-insecure-over-http=false",
            f"internal-communication.shared-secret={secrets.token_urlsafe(48)}",
        ]
    )
    files = {
        "password-authenticator.properties": "\n".join(
            [
                "password-authenticator.name=file",
                f"file.password-file={Path(settings.trino_password_file).resolve()}",
                "",
            ]
        ),
        "access-control.properties": "\n".join(
            [
                "access-control.name=file",
                f"security.config-file={etc / 'rules.json'}",
                "",
            ]
        ),
        "rules.json": json.dumps(access_rules(API_TABLES), indent=2) + "\n",
    }
    if settings.trino_group_file is not None:
        files["group-provider.properties"] = "\n".join(
            [
                "group-provider.name=file",
                f"file.group-file={Path(settings.trino_group_file).resolve()}",
                "",
            ]
        )
    return config, files


SECURITY_FILES = (
    "password-authenticator.properties",
    "access-control.properties",
    "group-provider.properties",
    "rules.json",
)


def write_config(settings: Settings, java_major: int) -> Path:
    """Render `etc/` for a single loopback node with the `delta` catalog; return etc dir."""
    paths = trino_paths(settings)
    (paths.etc / "catalog").mkdir(parents=True, exist_ok=True)
    paths.etc.chmod(0o700)
    paths.metastore.mkdir(parents=True, exist_ok=True)
    extra_jvm = "--add-modules=jdk.incubator.vector" if java_major >= 25 else ""
    secure = is_secure(settings)
    security, security_files = _secure_files(settings, paths.etc) if secure else ("", {})
    files = {
        "config.properties": _render(
            "config.properties",
            http_port=str(_free_loopback_port() if secure else settings.trino_port),
            heap=TRINO_HEAP,
            query_max_memory=TRINO_QUERY_MAX_MEMORY,
            heap_headroom=TRINO_HEAP_HEADROOM,
            security=security,
        ),
        "node.properties": _render("node.properties", data_dir=str(paths.data)),
        "jvm.config": _render("jvm.config", heap=TRINO_HEAP, extra_jvm=extra_jvm),
        "log.properties": _render("log.properties"),
        f"catalog/{settings.trino_catalog}.properties": _render(
            "delta.properties",
            metastore_dir=trino_location(settings, str(paths.metastore)),
            filesystem=filesystem_properties(settings),
        ),
        **security_files,
    }
    for stale in SECURITY_FILES:
        if stale not in files:
            (paths.etc / stale).unlink(missing_ok=True)
    for name, text in files.items():
        target = paths.etc / name
        target.write_text(text)
        target.chmod(0o600)  # may hold S3 credentials, the keystore password, a shared secret
    return paths.etc
