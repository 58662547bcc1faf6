"""`finlake dq report`: a readable summary of the latest runs in `ops.dq_results`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from conf.settings import Settings, get_settings
from jobs import lake_reader

# Read with delta-rs (no Spark, no JVM): the report answers in well under a second.

SEVERITIES = ("critical", "quarantine", "warn")
GX_DIR = "_dq/gx"  # as jobs.dq_gx.GX_DIR (importing that module loads Great Expectations)
Record = Mapping[str, Any]


def data_docs_link(settings: Settings) -> str:
    """Data Docs index (file:// URI); an S3 lake has no index: the pages' prefix."""
    root = f"{settings.lake_root.rstrip('/')}/{GX_DIR}"
    if settings.is_s3:
        return f"{root}/data_docs/validations/"
    return Path(f"{root}/data_docs/index.html").as_uri()


def latest_run_ids(dq_rows: Iterable[Record], runs: int) -> list[str]:
    """Ids of the `runs` most recent runs that wrote DQ results, newest first."""
    last: dict[str, Any] = {}
    for row in dq_rows:
        run_id, checked = str(row["run_id"]), row["checked_at"]
        if run_id not in last or (checked is not None and checked > last[run_id]):
            last[run_id] = checked
    never = dt.datetime.min.replace(tzinfo=dt.UTC)

    def newest_first(item: tuple[str, Any]) -> tuple[bool, Any, str]:
        return item[1] is not None, item[1] if item[1] is not None else never, item[0]

    return [run_id for run_id, _ in sorted(last.items(), key=newest_first, reverse=True)][:runs]


def load_report_data(
    settings: Settings, runs: int
) -> tuple[list[str], list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Latest run ids, their DQ rows and their `ops.pipeline_runs` rows (by run id)."""
    dq_table = lake_reader.open_table(settings, settings.location("ops.dq_results"))
    if dq_table is None:
        return [], [], {}
    ids = lake_reader.read_table_rows(dq_table, ["run_id", "checked_at"])
    run_ids = latest_run_ids(ids, runs)
    if not run_ids:
        return [], [], {}
    dq_rows = lake_reader.read_table_rows(dq_table, filters=[("run_id", "in", run_ids)])
    pipeline_rows = lake_reader.read_rows(
        settings,
        settings.location("ops.pipeline_runs"),
        filters=[("run_id", "in", run_ids)],
    )
    pipeline: dict[str, dict[str, Any]] = {}
    for row in sorted(pipeline_rows, key=lambda r: r["finished_at"]):
        pipeline[str(row["run_id"])] = row
    return run_ids, dq_rows, pipeline


def _fmt_int(value: Any) -> str:
    return f"{int(value):,}" if value is not None else "-"


def _fmt_time(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value) if value is not None else "?"


def _critical_line(row: Record) -> str:
    parts = [f"{row['table_name']}:{row['rule_name']}"]
    if row.get("failed_rows") is not None:
        parts.append(
            f"failed rows {_fmt_int(row['failed_rows'])} of {_fmt_int(row['rows_checked'])}"
        )
    if row.get("observed_value") is not None:
        parts.append(f"observed {row['observed_value']}")
    if row.get("threshold") is not None:
        parts.append(f"threshold {row['threshold']}")
    return "  ".join(parts)


def _docs_pages(rows: Iterable[Record]) -> list[str]:
    pages: set[str] = set()
    for row in rows:
        if row.get("check_kind") != "gx" or not row.get("details"):
            continue
        try:
            link = json.loads(str(row["details"])).get("data_docs")
        except ValueError:
            continue
        if link:
            pages.add(str(link))
    return sorted(pages)


def format_report(
    run_ids: Sequence[str],
    dq_rows: Sequence[Record],
    pipeline: Mapping[str, Record],
    docs_index: str,
) -> str:
    """Render the report text (pure: no IO)."""
    out = [f"finlake data-quality report: latest {len(run_ids)} run(s)"]
    out.append(f"Data Docs: {docs_index}")
    if not run_ids:
        out.append("no DQ results recorded yet")
        return "\n".join(out) + "\n"
    by_run: dict[str, list[Record]] = defaultdict(list)
    for row in dq_rows:
        by_run[str(row["run_id"])].append(row)
    for run_id in run_ids:
        rows = by_run.get(run_id, [])
        out.append("")
        job = pipeline.get(run_id)
        if job is not None:
            out.append(
                f"Run {run_id}  [{job['job_name']} {job['status']}, started "
                f"{_fmt_time(job['started_at'])}, {job['duration_s']:.1f} s]"
            )
            if job.get("error"):
                out.append(f"  error: {job['error']}")
        else:
            checked = max((r["checked_at"] for r in rows), default=None)
            out.append(f"Run {run_id}  [checked {_fmt_time(checked)}; no ops.pipeline_runs row]")
        critical = [r for r in rows if r["status"] == "failed" and r["severity"] == "critical"]
        if critical:
            out.append(f"  !!! CRITICAL: {len(critical)} failed critical check(s)")
            out.extend(f"  !!!   {_critical_line(r)}" for r in critical)
        by_table: dict[str, list[Record]] = defaultdict(list)
        for row in rows:
            by_table[str(row["table_name"])].append(row)
        for table in sorted(by_table):
            out.extend(_table_lines(table, by_table[table]))
        pages = _docs_pages(rows)
        if pages:
            out.append("  GX pages:")
            out.extend(f"    {page}" for page in pages)
    return "\n".join(out) + "\n"


def _table_lines(table: str, rows: Sequence[Record]) -> list[str]:
    checked = max(
        (int(r["rows_checked"]) for r in rows if r["rows_checked"] is not None), default=None
    )
    failed = [r for r in rows if r["status"] == "failed"]
    by_severity = Counter(str(r["severity"]) for r in failed)
    severities = ", ".join(f"{s} {by_severity.get(s, 0)}" for s in SEVERITIES)
    marker = "!!" if by_severity.get("critical") else "  "
    lines = [
        f"{marker}{table:<18} rows checked {_fmt_int(checked):>10}   checks {len(rows):>3}, "
        f"failed {len(failed):>3} ({severities})"
    ]
    quarantine = Counter[str]()
    for row in failed:
        if row["severity"] == "quarantine":
            quarantine[str(row["rule_name"])] += int(row["failed_rows"] or 0)
    if quarantine:
        rules = ", ".join(f"{rule} {_fmt_int(n)}" for rule, n in quarantine.most_common())
        lines.append(f"      quarantined: {rules}")
    warned = sorted(str(r["rule_name"]) for r in failed if r["severity"] == "warn")
    if warned:
        lines.append(f"      warnings: {', '.join(warned)}")
    return lines


def build_report(settings: Settings, runs: int = 5) -> str:
    """Report text of the latest `runs` runs of a lake."""
    run_ids, dq_rows, pipeline = load_report_data(settings, runs)
    return format_report(run_ids, dq_rows, pipeline, data_docs_link(settings))


def _run(args: argparse.Namespace) -> int:
    print(build_report(get_settings(), args.runs), end="")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `dq` subcommand group (`dq report`)."""
    parser = subparsers.add_parser("dq", help="data-quality results")
    commands = parser.add_subparsers(dest="dq_command", required=True, metavar="DQ_COMMAND")
    report = commands.add_parser("report", help="summary of the latest runs' DQ results")
    report.add_argument("--runs", type=_positive, default=5, help="how many latest runs to show")
    report.set_defaults(func=_run)
