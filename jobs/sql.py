"""`finlake sql "SELECT ..."`: run one query on the local Trino and print the rows as a table.

The session's catalog is `settings.trino_catalog` (`delta`), so tables are named
`schema.table`: `gold.mrr_daily`, `ops.pipeline_runs`, and Delta metadata tables such as
`gold."mrr_daily$history"`; time travel is `FROM gold.mrr_daily FOR VERSION AS OF 3`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from conf.settings import Settings, get_settings
from jobs import console
from jobs.cli import CliError
from jobs.exit_codes import EXIT_FAILURE, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE

MISSING_OBJECT_ERRORS = frozenset({"TABLE_NOT_FOUND", "SCHEMA_NOT_FOUND", "CATALOG_NOT_FOUND"})


@dataclass(frozen=True)
class QueryResult:
    """Column names, rows (at most the limit) and whether more rows were left out."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    is_truncated: bool


def run_query(settings: Settings, sql: str, max_rows: int) -> QueryResult:
    """Run `sql` on the configured Trino; CliError with a hint on every expected failure."""
    import requests
    from trino import exceptions as tx

    from jobs.trino import connect, server_info

    where = f"{settings.trino_host}:{settings.trino_port}"
    info = server_info(settings)
    if info is None or info.get("starting") is not False:
        state = "is still starting" if info else "is not running"
        raise CliError(
            f"Trino {state} at {where}",
            "start it with `finlake trino up` (FINLAKE_TRINO_PORT picks the port)",
            EXIT_UNAVAILABLE,
        )
    try:
        conn = connect(settings)
        try:
            cursor = conn.cursor()
            cursor.execute(sql)
            rows = cursor.fetchmany(max_rows + 1)
            columns = [str(col[0]) for col in cursor.description or ()]
            if len(rows) > max_rows:
                cursor.cancel()
        finally:
            conn.close()
    except tx.TrinoQueryError as exc:
        if exc.error_name in MISSING_OBJECT_ERRORS:
            raise CliError(
                f"Trino: {exc.message}",
                "Gold and ops tables are registered by `finlake trino up` (or `finlake trino "
                "register` after new tables); `finlake sql 'SHOW TABLES FROM gold'` lists them",
                EXIT_USAGE,
            ) from exc
        code = EXIT_USAGE if exc.error_type == "USER_ERROR" else EXIT_FAILURE
        raise CliError(f"Trino: {exc.message}", None, code) from exc
    except (tx.TrinoConnectionError, tx.HttpError, requests.RequestException, OSError) as exc:
        raise CliError(
            f"Trino is not reachable at {where} ({type(exc).__name__})",
            "start it with `finlake trino up` (FINLAKE_TRINO_PORT picks the port)",
            EXIT_UNAVAILABLE,
        ) from exc
    return QueryResult(columns, [tuple(r) for r in rows[:max_rows]], len(rows) > max_rows)


def _print(result: QueryResult, fmt: str) -> None:
    if fmt == "json":
        for row in result.rows:
            print(json.dumps(dict(zip(result.columns, row, strict=True)), default=str))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        console.out().print(console.table(result.columns, result.rows))
        shown = f"{len(result.rows):,} row(s)"
        if result.is_truncated:
            shown += f" shown; more were left out (--max-rows {len(result.rows)})"
        console.err().print(f"[dim]{shown}[/]")


def _read_query(parts: Sequence[str]) -> str:
    text = " ".join(parts).strip()
    if text == "-":
        text = sys.stdin.read().strip()
    text = text.rstrip(";").strip()
    if not text:
        raise CliError("no query given", 'pass it in quotes: finlake sql "SELECT 1"')
    return text


def _cmd_sql(args: argparse.Namespace) -> int:
    result = run_query(get_settings(), _read_query(args.query), args.max_rows)
    _print(result, args.format)
    return EXIT_OK


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `sql` subcommand."""
    parser = subparsers.add_parser(
        "sql",
        help="run a SQL query on the local Trino (catalog delta: gold.*, ops.*)",
        description="Run one query on the local Trino. Tables are schema.table in the "
        "`delta` catalog, e.g. gold.mrr_daily; time travel: FOR VERSION AS OF n; commits: "
        'gold."mrr_daily$history".',
    )
    parser.add_argument("query", nargs="+", help="the SQL text (quote it), or - to read stdin")
    parser.add_argument(
        "--max-rows", type=_positive, default=1000, help="stop after this many rows"
    )
    parser.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format"
    )
    parser.set_defaults(func=_cmd_sql)
