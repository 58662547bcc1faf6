"""Register the Delta tables of the served layers in the local Trino's `delta` catalog."""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path
from typing import Any

from api.trino_client import connection_options
from bronze.objectstore import S3ObjectStore, make_object_store
from conf.catalog import served_tables
from conf.settings import Settings
from jobs.trino.config import ADMIN_USER, trino_location
from jobs.trino.paths import SERVED_LAYERS

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
SAFE_LOCATION = re.compile(r"^(local|s3)://[A-Za-z0-9_./=+-]+$")
SCHEDULABLE_TIMEOUT_S = 60.0


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


def _is_delta_table(settings: Settings, path: str) -> bool:
    """Whether `path` holds a Delta table (a non-empty `_delta_log`)."""
    if settings.is_s3:
        store = make_object_store(settings, root=settings.lake_root.rstrip("/"))
        assert isinstance(store, S3ObjectStore)
        relative = path[len(settings.lake_root.rstrip("/")) + 1 :]
        probe = store.client.list_objects_v2(
            Bucket=store.bucket, Prefix=f"{store.prefix}{relative}/_delta_log/", MaxKeys=1
        )
        return bool(probe.get("KeyCount", 0))
    return (Path(path) / "_delta_log").is_dir()


def delta_tables(settings: Settings, layer: str) -> dict[str, str]:
    """Served catalog tables of `layer` that exist in the lake, as {table name: lake path}."""
    found: dict[str, str] = {}
    for spec in served_tables():
        if spec.layer == layer:
            path = settings.location(spec.name)
            if _is_delta_table(settings, path):
                found[spec.table] = path
    return found


def _registered_location(cursor: Any, catalog: str, schema: str, table: str) -> str | None:
    cursor.execute(f"SHOW CREATE TABLE {_ident(catalog)}.{_ident(schema)}.{_ident(table)}")
    ddl = str(cursor.fetchall()[0][0])
    match = re.search(r"location = '([^']*)'", ddl)
    return match.group(1) if match else None


def register_tables(
    settings: Settings,
    layers: tuple[str, ...] = SERVED_LAYERS,
    extra: dict[str, dict[str, str]] | None = None,
) -> list[str]:
    """Register the served catalog tables in Trino (idempotent; drops stale registrations).

    `extra` adds tables outside the catalog ({layer: {table: path}}), for compatibility checks.
    """
    catalog = settings.trino_catalog
    registered: list[str] = []
    conn = connect(settings)
    try:
        cursor = conn.cursor()
        for layer in layers:
            tables = delta_tables(settings, layer) | (extra or {}).get(layer, {})
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
        if registered:
            wait_schedulable(cursor, catalog, registered[0])
    finally:
        conn.close()
    return sorted(registered)


def wait_schedulable(cursor: Any, catalog: str, table: str) -> None:
    """Block until a scan of `table` (`layer.name`) can be scheduled on a node.

    For a few seconds after a start, Trino can list the node as active while the catalog's own
    node list is still empty: a table scan then fails with NO_NODES_AVAILABLE (about one start
    in four here; `/v1/info` and `system.runtime.nodes` already look ready). One scan that
    succeeds means the catalog has its node, so queries after registration do not race.
    """
    from trino.exceptions import TrinoQueryError

    layer, name = table.split(".", 1)
    relation = f"{_ident(catalog)}.{_ident(layer)}.{_ident(name)}"
    sql = f"SELECT count(*) FROM (SELECT 1 FROM {relation} LIMIT 1)"
    deadline = time.monotonic() + SCHEDULABLE_TIMEOUT_S
    while True:
        try:
            cursor.execute(sql)
            cursor.fetchall()
            return
        except TrinoQueryError as exc:
            if exc.error_name != "NO_NODES_AVAILABLE" or time.monotonic() > deadline:
                raise
        time.sleep(0.5)
