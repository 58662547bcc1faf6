"""Register the Delta tables of the served layers in the local Trino's `delta` catalog."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from api.trino_client import connection_options
from bronze.objectstore import S3ObjectStore, make_object_store
from conf.settings import Settings
from jobs.trino.config import ADMIN_USER, trino_location
from jobs.trino.paths import SERVED_LAYERS

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
SAFE_LOCATION = re.compile(r"^(local|s3)://[A-Za-z0-9_./=+-]+$")


def connect(settings: Settings, schema: str | None = None) -> Any:
    """A `trino` DB-API connection as the admin user (`trino_user` overrides it)."""
    import trino

    return trino.dbapi.connect(  # type: ignore[no-untyped-call]
        **connection_options(settings, settings.trino_user or ADMIN_USER),
        schema=schema,
        request_timeout=60,
    )


def _ident(name: str) -> str:
    if not IDENTIFIER.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return f'"{name}"'


def _procedure_literal(value: str, pattern: re.Pattern[str]) -> str:
    """A string literal for a `CALL` argument, from a strict allow-list of characters only.

    Trino's CALL rejects bound parameters ("Incorrect number of parameters: expected 0"), so the
    procedure arguments -- schema and table identifiers and a location that finlake derives from
    its own settings and lake listing, never user input -- are checked against an allow-list
    that cannot contain a quote or backslash, then quoted.
    """
    if not pattern.match(value):
        raise ValueError(f"refusing unsafe procedure argument: {value!r}")
    return f"'{value}'"


def delta_tables(settings: Settings, layer: str) -> dict[str, str]:
    """Delta table directories `{lake_root}/{layer}/*` as {table name: lake path}."""
    root = settings.lake_root.rstrip("/")
    found: dict[str, str] = {}
    if settings.is_s3:
        store = make_object_store(settings, root=root)  # the one S3 client setup of finlake
        assert isinstance(store, S3ObjectStore)
        prefix = f"{store.prefix}{layer}/"
        pages = store.client.get_paginator("list_objects_v2").paginate(
            Bucket=store.bucket, Prefix=prefix, Delimiter="/"
        )
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                table_prefix = common["Prefix"]
                name = table_prefix[len(prefix) :].strip("/")
                probe = store.client.list_objects_v2(
                    Bucket=store.bucket, Prefix=f"{table_prefix}_delta_log/", MaxKeys=1
                )
                if probe.get("KeyCount", 0) and IDENTIFIER.match(name):
                    found[name] = f"{root}/{layer}/{name}"
        return found
    base = Path(root) / layer
    if base.is_dir():
        for child in sorted(base.iterdir()):
            if (child / "_delta_log").is_dir() and IDENTIFIER.match(child.name):
                found[child.name] = str(child)
    return found


def _registered_location(cursor: Any, catalog: str, schema: str, table: str) -> str | None:
    cursor.execute(f"SHOW CREATE TABLE {_ident(catalog)}.{_ident(schema)}.{_ident(table)}")
    ddl = str(cursor.fetchall()[0][0])
    match = re.search(r"location = '([^']*)'", ddl)
    return match.group(1) if match else None


def register_tables(settings: Settings, layers: tuple[str, ...] = SERVED_LAYERS) -> list[str]:
    """Register every Delta table of the served layers in Trino (idempotent; drops stale)."""
    catalog = settings.trino_catalog
    registered: list[str] = []
    conn = connect(settings)
    try:
        cursor = conn.cursor()
        for layer in layers:
            tables = delta_tables(settings, layer)
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(catalog)}.{_ident(layer)}")
            cursor.fetchall()
            cursor.execute(
                f"SELECT table_name FROM {_ident(catalog)}.information_schema.tables "
                "WHERE table_schema = ?",
                [layer],
            )
            existing = {str(row[0]) for row in cursor.fetchall()}
            for name in sorted(existing):
                wanted = tables.get(name)
                location = None
                with contextlib.suppress(Exception):
                    location = _registered_location(cursor, catalog, layer, name)
                if wanted is not None and location == trino_location(settings, wanted):
                    tables.pop(name)  # already registered at the same place
                    registered.append(f"{layer}.{name}")
                    continue
                cursor.execute(
                    f"CALL {_ident(catalog)}.system.unregister_table("
                    f"schema_name => {_procedure_literal(layer, IDENTIFIER)}, "
                    f"table_name => {_procedure_literal(name, IDENTIFIER)})"
                )
                cursor.fetchall()
            for name, path in sorted(tables.items()):
                location = _procedure_literal(trino_location(settings, path), SAFE_LOCATION)
                cursor.execute(
                    f"CALL {_ident(catalog)}.system.register_table("
                    f"schema_name => {_procedure_literal(layer, IDENTIFIER)}, "
                    f"table_name => {_procedure_literal(name, IDENTIFIER)}, "
                    f"table_location => {location})"
                )
                cursor.fetchall()
                registered.append(f"{layer}.{name}")
    finally:
        conn.close()
    return sorted(registered)
