"""Read small Delta tables, and commit small writes, without a JVM (delta-rs, `deltalake`).

For the CLI's quick answers (`finlake history`, `dq report`, `quarantine status`, argument
checks such as "does this Bronze version exist?"): opening a table and reading a few thousand
rows takes milliseconds here, against ~7 s to start Spark. The jobs' IO layer (`jobs.lake`)
also commits small writes to existing tables here (`write_arrow`): bookkeeping rows and a
daily run's Gold ranges, 10-40 ms a commit against 0.6-1.0 s through Spark in a warm session.
Table names are catalog names `layer.name` (e.g. `gold.mrr_daily`, see conf/catalog.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from conf.catalog import TABLES
from conf.settings import Settings

if TYPE_CHECKING:
    import pyarrow as pa
    from deltalake import DeltaTable

LAYERS: tuple[str, ...] = ("bronze", "silver", "gold", "ops")
TABLE_NAME = re.compile(r"^(?P<layer>[a-z_]+)\.(?P<name>[a-z_][a-z0-9_]*)$")
Filter = tuple[str, str, Any]


class UnknownTable(LookupError):
    """A `layer.name` that is malformed or holds no Delta table in this lake."""


def storage_options(settings: Settings) -> dict[str, str]:
    """delta-rs options of the lake's object store (empty for a local folder)."""
    if not settings.is_s3:
        return {}
    options = {"AWS_REGION": settings.s3_region}
    if settings.s3_endpoint:
        options["AWS_ENDPOINT_URL"] = settings.s3_endpoint
        if settings.s3_endpoint.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    if settings.s3_access_key and settings.s3_secret_key:
        options["AWS_ACCESS_KEY_ID"] = settings.s3_access_key.get_secret_value()
        options["AWS_SECRET_ACCESS_KEY"] = settings.s3_secret_key.get_secret_value()
    if settings.s3_path_style:
        options["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"] = "false"
    return options


def write_options(settings: Settings) -> dict[str, str]:
    """delta-rs options for commits: the store's, and on S3 the single-writer rename.

    S3 has no atomic rename; delta-rs then needs a lock service or this flag. finlake's
    Spark writes make the same assumption of one writer per table at a time (Delta's S3 log
    store; `jobs.lake.Lake.merge_insert`), so the flag adds no risk the lake does not already
    carry.
    """
    options = storage_options(settings)
    if settings.is_s3:
        options["AWS_S3_ALLOW_UNSAFE_RENAME"] = "true"
    return options


def arrow_schema(settings: Settings, path: str) -> pa.Schema:
    """The Arrow schema of the existing Delta table at `path`."""
    import pyarrow as pa

    table = open_table(settings, path)
    if table is None:
        raise UnknownTable(f"no Delta table at {path}")
    return pa.schema(table.schema().to_arrow())


def write_arrow(
    settings: Settings,
    path: str,
    data: pa.Table,
    *,
    predicate: str | None = None,
) -> None:
    """Commit `data` to the existing table at `path`: an append, or, with `predicate` (SQL over
    the table's columns), a replacement of the rows it matches (Spark's replaceWhere).

    `data` is cast to the table's schema first, so a type the table does not hold fails here
    rather than in the commit.
    """
    from deltalake import write_deltalake

    schema = arrow_schema(settings, path)
    data = data.select(schema.names).cast(schema)
    uri, options = delta_uri(path), write_options(settings)
    if predicate is None:
        write_deltalake(uri, data, mode="append", storage_options=options)
    else:
        write_deltalake(uri, data, mode="overwrite", predicate=predicate, storage_options=options)


def delta_uri(path: str) -> str:
    """The URI delta-rs understands (`s3a://` and `s3n://` become `s3://`)."""
    return re.sub(r"^s3[an]://", "s3://", path)


def open_table(settings: Settings, path: str, version: int | None = None) -> DeltaTable | None:
    """The Delta table at `path` (optionally at `version`), or None when there is none."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(
            delta_uri(path), version=version, storage_options=storage_options(settings)
        )
    except TableNotFoundError:
        return None


def parse_table_name(name: str) -> tuple[str, str]:
    """(`layer`, `table`) of a catalog name; UnknownTable when it is not in the catalog."""
    match = TABLE_NAME.match(name.strip())
    if match is None or match["layer"] not in LAYERS:
        raise UnknownTable(
            f"{name!r} is not a table name; use layer.name with a layer of {', '.join(LAYERS)} "
            "(e.g. gold.mrr_daily)"
        )
    if name.strip() not in TABLES:
        known = ", ".join(n for n in TABLES if n.startswith(f"{match['layer']}."))
        raise UnknownTable(
            f"{name!r} is not a table of the catalog (tables of {match['layer']}: {known})"
        )
    return match["layer"], match["name"]


def list_tables(settings: Settings, layers: Sequence[str] = LAYERS) -> dict[str, str]:
    """Every catalog table that exists in the lake, as {`layer.name`: path}."""
    found: dict[str, str] = {}
    for name, spec in TABLES.items():
        if spec.layer in layers and open_table(settings, settings.location(name)) is not None:
            found[name] = settings.location(name)
    return found


def resolve_table(settings: Settings, name: str) -> tuple[str, DeltaTable]:
    """Path and open table of `layer.name`; UnknownTable (listing what exists) otherwise."""
    layer, _ = parse_table_name(name)
    path = settings.location(name.strip())
    table = open_table(settings, path)
    if table is None:
        known = sorted(list_tables(settings, (layer,)))
        listing = ", ".join(known) if known else f"none yet in {settings.lake_root}"
        raise UnknownTable(f"no Delta table {name} in the lake (tables of {layer}: {listing})")
    return path, table


def read_rows(
    settings: Settings,
    path: str,
    columns: Sequence[str] | None = None,
    filters: Sequence[Filter] | None = None,
) -> list[dict[str, Any]]:
    """Rows of a Delta table as dicts ([] when the table does not exist)."""
    table = open_table(settings, path)
    if table is None:
        return []
    return read_table_rows(table, columns, filters)


def read_table_rows(
    table: DeltaTable,
    columns: Sequence[str] | None = None,
    filters: Sequence[Filter] | None = None,
) -> list[dict[str, Any]]:
    """Rows of an open Delta table as dicts; optional columns and `(col, op, value)` filters."""
    import pyarrow.dataset as ds

    dataset = table.to_pyarrow_dataset()
    expression = None
    for column, op, value in filters or ():
        field = ds.field(column)
        term = {
            "=": lambda f, v: f == v,
            "!=": lambda f, v: f != v,
            "in": lambda f, v: f.isin(list(v)),
            ">=": lambda f, v: f >= v,
            "<=": lambda f, v: f <= v,
        }[op](field, value)
        expression = term if expression is None else expression & term
    # one thread: Arrow's scanner pool can abort the process at exit ("terminate called
    # without an active exception", about half the CLI runs on a 730-day lake); these
    # tables are small, so the threads bought nothing
    result = dataset.to_table(
        columns=list(columns) if columns else None, filter=expression, use_threads=False
    )
    rows: list[dict[str, Any]] = result.to_pylist()
    return rows


def history(table: DeltaTable, limit: int | None = None) -> list[dict[str, Any]]:
    """Commits of a table, newest first (version, timestamp, operation, parameters, metrics)."""
    commits: list[dict[str, Any]] = table.history(limit)
    return sorted(commits, key=lambda c: int(c.get("version", -1)), reverse=True)
