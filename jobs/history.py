"""`finlake history TABLE`: the Delta commits of one table, read without Spark (delta-rs).

The versions listed are what `finlake replay --bronze-version N` and Trino's
`FOR VERSION AS OF N` take.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from conf.settings import get_settings
from jobs import console, lake_reader
from jobs.cli import CliError
from jobs.exit_codes import EXIT_OK

# operationMetrics keys that count rows written, by operation kind (Spark's, then delta-rs')
ROW_METRICS = (
    "numOutputRows",
    "numTargetRowsInserted",
    "numTargetRowsUpdated",
    "numDeletedRows",
    "num_added_rows",
)


def commit_row(commit: Mapping[str, Any]) -> dict[str, Any]:
    """Display fields of one commit: version, UTC time, operation, rows and details."""
    metrics = commit.get("operationMetrics") or {}
    params = commit.get("operationParameters") or {}
    rows = {k: int(v) for k, v in metrics.items() if k in ROW_METRICS and str(v).isdigit()}
    details = [f"{k}={params[k]}" for k in ("mode", "predicate") if params.get(k) not in (None, "")]
    if rows.get("numTargetRowsUpdated"):
        details.append(f"updated={rows['numTargetRowsUpdated']}")
    if rows.get("numDeletedRows"):
        details.append(f"deleted={rows['numDeletedRows']}")
    timestamp = commit.get("timestamp")
    at = (
        dt.datetime.fromtimestamp(int(timestamp) / 1000, dt.UTC).replace(tzinfo=None)
        if timestamp is not None
        else None
    )
    return {
        "version": int(commit["version"]),
        "timestamp_utc": at,
        "operation": commit.get("operation"),
        "rows_written": next(
            (
                rows[k]
                for k in ("numOutputRows", "numTargetRowsInserted", "num_added_rows")
                if k in rows
            ),
            None,
        ),
        "details": ", ".join(str(d) for d in details),
    }


def _cmd_history(args: argparse.Namespace) -> int:
    settings = get_settings()
    try:
        _, table = lake_reader.resolve_table(settings, args.table)
    except lake_reader.UnknownTable as exc:
        raise CliError(str(exc), "`finlake history --list` shows every table of the lake") from exc
    rows = [commit_row(c) for c in lake_reader.history(table, args.limit)]
    if args.json:
        for row in rows:
            print(json.dumps(row, default=str))
        return EXIT_OK
    columns = ["version", "timestamp_utc", "operation", "rows_written", "details"]
    console.out().print(
        console.table(
            columns,
            [[r[c] for c in columns] for r in rows],
            title=f"{args.table} (latest version {table.version()})",
        )
    )
    return EXIT_OK


def _cmd_list(settings_root: str) -> int:
    tables = lake_reader.list_tables(get_settings())
    if not tables:
        raise CliError(
            f"no Delta tables under {settings_root}",
            "run `finlake demo` or `finlake run all` first",
        )
    console.out().print("\n".join(tables))
    return EXIT_OK


def _dispatch(args: argparse.Namespace) -> int:
    if args.list:
        return _cmd_list(get_settings().lake_root)
    if not args.table:
        raise CliError("give a table (layer.name), e.g. gold.mrr_daily", "or --list")
    return _cmd_history(args)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `history` subcommand."""
    parser = subparsers.add_parser(
        "history",
        help="Delta commits (versions) of a table, e.g. bronze.events for `finlake replay`",
        description="Delta commit history of one table, newest first, without starting Spark.",
    )
    parser.add_argument("table", nargs="?", help="layer.name, e.g. bronze.events or gold.mrr_daily")
    parser.add_argument("--limit", type=_positive, default=20, help="newest commits to show")
    parser.add_argument("--list", action="store_true", help="list every table of the lake")
    parser.add_argument("--json", action="store_true", help="one JSON object per commit")
    parser.set_defaults(func=_dispatch)
