"""Maintenance job: Delta OPTIMIZE (compaction) and VACUUM of the lake's tables.

`spark-submit jobs/maintenance_job.py [--layers bronze silver gold ops] [--retention-days 30]`

VACUUM deletes data files that no table version younger than the retention still references.
Time travel (`finlake replay --bronze-version N`, `versionAsOf`) needs the files of version N,
so the retention bounds how far back a replay can go: it defaults to 30 days and is refused
below 7 days (Delta's own safety floor, `delta.deletedFileRetentionDuration`). The transaction
log itself is trimmed by Delta at checkpoints after `delta.logRetentionDuration` (30 days by
default), which this job does not change. OPTIMIZE only rewrites small files into larger ones
(`dataChange=false`), so readers, streaming consumers and append-only tables are unaffected.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from pyspark.sql import SparkSession

from conf.catalog import TABLE_NAMES, TableName, table
from conf.settings import Settings, get_settings
from jobs.lake import Lake
from jobs.observability import configure_logging, pipeline_run
from jobs.spark import get_spark

log = logging.getLogger("finlake.maintenance")

LAYERS = ("bronze", "silver", "gold", "ops")
DEFAULT_RETENTION_DAYS = 30
MIN_RETENTION_DAYS = 7


def maintain_table(
    lake: Lake, name: TableName, retention_hours: int, optimize: bool, vacuum: bool
) -> dict[str, Any]:
    """OPTIMIZE then VACUUM one table of the catalog; returns what was done."""
    result: dict[str, Any] = {"path": lake.path(name)}
    if optimize:
        result.update(lake.optimize(name))
    if vacuum:
        lake.vacuum(name, retention_hours)
        result["vacuumed"] = True
    result["version"] = lake.version(name)
    return result


def run_maintenance(
    spark: SparkSession,
    settings: Settings,
    layers: Sequence[str] = LAYERS,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    optimize: bool = True,
    vacuum: bool = True,
) -> dict[str, Any]:
    """Maintain every Delta table of the given layers; returns per-table results."""
    if retention_days < MIN_RETENTION_DAYS:
        raise ValueError(
            f"retention {retention_days} d is below {MIN_RETENTION_DAYS} d: "
            "it would break time travel and concurrent readers"
        )
    params = {
        "layers": list(layers),
        "retention_days": retention_days,
        "optimize": optimize,
        "vacuum": vacuum,
    }
    lake = Lake(spark, settings)
    with pipeline_run(spark, settings, "maintenance", params) as run:
        tables: dict[str, Any] = {}
        for name in TABLE_NAMES:
            if table(name).layer not in layers or not lake.exists(name):
                continue
            if name == "ops.pipeline_runs":
                continue  # our own run row is appended to it on exit
            run.phase(name)
            tables[name] = maintain_table(lake, name, retention_days * 24, optimize, vacuum)
            log.info("table maintained", extra={"table": name})
        run.rows_in = len(tables)
        run.metrics = {
            "table_count": len(tables),
            "files_removed_by_optimize": sum(t.get("files_removed", 0) for t in tables.values()),
        }
        return {"tables": tables, **run.metrics}


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point."""
    configure_logging()
    parser = argparse.ArgumentParser(description="Delta OPTIMIZE + VACUUM of the lake tables")
    parser.add_argument("--layers", nargs="+", choices=LAYERS, default=list(LAYERS))
    parser.add_argument("--retention-days", type=int, default=DEFAULT_RETENTION_DAYS)
    parser.add_argument("--no-optimize", dest="optimize", action="store_false")
    parser.add_argument("--no-vacuum", dest="vacuum", action="store_false")
    args = parser.parse_args(argv)
    if args.retention_days < MIN_RETENTION_DAYS:
        parser.error(f"--retention-days must be >= {MIN_RETENTION_DAYS}")
    settings = get_settings()
    spark = get_spark(settings, "finlake-maintenance")
    result = run_maintenance(
        spark, settings, args.layers, args.retention_days, args.optimize, args.vacuum
    )
    print(json.dumps(result, default=str, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
