"""Medallion pipeline benchmark: layers versus a bare copy, incremental Gold, determinism.

One process, one Spark session (`local[2]`), on a freshly generated lake per size:

a. bare copy: `spark.read.text` of every landing JSONL object -> one Delta table (events/s);
b. Bronze (`run_bronze`) events/s and its slowdown versus the bare copy;
c. Silver (`run_silver`) events/s and its slowdown versus the bare copy;
d. Gold: first build, and a full rebuild (`run_gold(full=True)`) over all days;
e. incremental daily run: everything but the last received day goes through Bronze, Silver and
   Gold first; then the last day lands and Gold is timed for that one day versus the full
   rebuild (goal <= 10 %);
f. determinism: Gold for the last day is rerun three times; every Gold table's canonical
   checksum (row count + order-independent sum of per-row sha256) must be identical across the
   reruns, the full rebuild and the incremental run.

`--scales` runs three sizes (about 50k, 200k and 1M events) and reports seconds per 1k events
per layer. Results go to `benchmarks/results/pipeline.json` and `pipeline.md`.

Usage: `.venv/bin/python benchmarks/pipeline_bench.py [--days 180 --customers 400] [--scales]`.
"""

from __future__ import annotations

import os

os.environ.setdefault("FINLAKE_ENV", "test")
os.environ.setdefault(
    "FINLAKE_API_KEYS", '{"bench-ingest-key": ["ingest"], "bench-read-key": ["read"]}'
)
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")

import argparse
import datetime as dt
import json
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from bronze.landing import parse_event_key  # noqa: E402
from bronze.objectstore import LocalObjectStore  # noqa: E402
from conf.settings import Settings  # noqa: E402
from jobs import delta_io  # noqa: E402
from jobs.bronze_job import run_bronze  # noqa: E402
from jobs.generator import generate  # noqa: E402
from jobs.gold_job import run_gold  # noqa: E402
from jobs.silver_job import run_silver  # noqa: E402
from jobs.spark import get_spark  # noqa: E402

START = dt.date(2024, 1, 1)
INCREMENTAL_GOAL = 0.10
# (label, days, customers): the generator emits about 0.39 events per customer-day, so these
# land near 50k, 200k and 1M events.
SCALES = (("~50k", 180, 700), ("~200k", 365, 1400), ("~1M", 730, 3500))
RESULTS = ROOT / "benchmarks" / "results"
T = TypeVar("T")


def load() -> list[float]:
    """1/5/15-minute load averages."""
    return [round(v, 2) for v in os.getloadavg()]


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Result of `fn()` and its wall seconds."""
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def table_checksum(spark: SparkSession, path: str, exclude: Collection[str] = ()) -> dict[str, Any]:
    """Canonical checksum of a Delta table: rows and an order-independent sum of row sha256.

    `exclude` leaves out columns that differ by design between runs (run ids, timestamps).
    """
    df = spark.read.format("delta").load(path)
    cols = sorted(c for c in df.columns if c not in exclude)
    row_hash = F.sha2(F.to_json(F.struct(*[F.col(c) for c in cols])), 256)
    head = F.conv(F.substring(row_hash, 1, 15), 16, 10).cast("decimal(38,0)")
    tail = F.conv(F.substring(row_hash, 50, 15), 16, 10).cast("decimal(38,0)")
    row = df.agg(F.count("*"), F.sum(head), F.sum(tail)).first()
    assert row is not None
    return {"rows": int(row[0]), "sum": f"{row[1] or 0}:{row[2] or 0}"}


def gold_checksums(spark: SparkSession, settings: Settings) -> dict[str, dict[str, Any]]:
    """Checksum of every Gold table of the lake."""
    gold_root = Path(settings.table_path("gold", ""))
    return {
        p.name: table_checksum(spark, str(p))
        for p in sorted(gold_root.iterdir())
        if (p / "_delta_log").is_dir()
    }


def received_days(store: LocalObjectStore) -> list[dt.date]:
    """Sorted distinct received dates of the landing event objects."""
    return sorted({parse_event_key(k).received_at.date() for k in store.list("events/")})


def per_1k(seconds: float, events: int) -> float:
    """Seconds per 1,000 events."""
    return round(1000 * seconds / events, 4) if events else 0.0


def run_size(
    spark: SparkSession, workdir: Path, days: int, customers: int, seed: int
) -> dict[str, Any]:
    """The whole benchmark on one generated lake; returns the figures."""
    lake = workdir / f"lake-{days}d-{customers}c"
    settings = Settings(lake_root=str(lake), freshness_max_hours=24 * 1000)
    store = LocalObjectStore(settings.landing)
    out: dict[str, Any] = {"days": days, "customers": customers, "seed": seed}
    manifest, gen_s = timed(
        lambda: generate(
            store,
            lake / "truth",
            seed=seed,
            start=START,
            days=days,
            customers=customers,
            horizon_days=settings.restatement_horizon_days,
        )
    )
    events = int(manifest["lines"])
    out.update(events=events, objects=manifest["objects"], generate_s=round(gen_s, 2))
    out["load_avg_start"] = load()

    # (a) bare copy: JSONL text -> one Delta table -----------------------------------------
    bare_path = str(workdir / f"bare-{days}d-{customers}c")
    glob = f"{store.uri()}/events/*/*/*.jsonl"
    _, bare_s = timed(
        lambda: spark.read.text(glob).write.format("delta").mode("overwrite").save(bare_path)
    )
    bare_rows = delta_io.read_delta(spark, bare_path).count()
    out["bare_copy"] = {
        "seconds": round(bare_s, 2),
        "rows": bare_rows,
        "events_per_s": round(bare_rows / bare_s),
        "load_avg": load(),
    }

    # all days but the last through the medallion ------------------------------------------
    recv = received_days(store)
    last_day = recv[-1]
    before = last_day - dt.timedelta(days=1)
    bronze1, bronze1_s = timed(lambda: run_bronze(spark, settings, until=before, store=store))
    silver1, silver1_s = timed(
        lambda: run_silver(spark, settings, store=store, raise_on_critical=False)
    )
    gold1, gold1_s = timed(lambda: run_gold(spark, settings, raise_on_critical=False))
    out["initial"] = {
        "until": before.isoformat(),
        "bronze_rows": bronze1["rows"],
        "bronze_s": round(bronze1_s, 2),
        "silver_s": round(silver1_s, 2),
        "gold_first_build_s": round(gold1_s, 2),
        "gold_range": [gold1.get("range_start"), gold1.get("range_end")],
        "silver_critical_failures": silver1.get("critical_failures", []),
        "load_avg": load(),
    }
    bronze_eps = bronze1["rows"] / bronze1_s
    silver_eps = bronze1["rows"] / silver1_s
    bare_eps = bare_rows / bare_s
    out["bronze"] = {
        "seconds": round(bronze1_s, 2),
        "rows": bronze1["rows"],
        "events_per_s": round(bronze_eps),
        "slowdown_vs_bare_copy": round(bare_eps / bronze_eps, 2),
        "throughput_ratio_vs_bare_copy": round(bronze_eps / bare_eps, 3),
    }
    out["silver"] = {
        "seconds": round(silver1_s, 2),
        "rows": bronze1["rows"],
        "events_per_s": round(silver_eps),
        "slowdown_vs_bare_copy": round(bare_eps / silver_eps, 2),
        "throughput_ratio_vs_bare_copy": round(silver_eps / bare_eps, 3),
    }

    # (e) the last day lands: incremental Gold versus a full rebuild ----------------------
    bronze2, bronze2_s = timed(lambda: run_bronze(spark, settings, store=store))
    _, silver2_s = timed(lambda: run_silver(spark, settings, store=store, raise_on_critical=False))
    gold2, gold2_s = timed(lambda: run_gold(spark, settings, raise_on_critical=False))
    incremental_sums = gold_checksums(spark, settings)
    full, full_s = timed(lambda: run_gold(spark, settings, full=True, raise_on_critical=False))
    full_sums = gold_checksums(spark, settings)
    ratio = gold2_s / full_s
    out["gold_full_rebuild"] = {
        "seconds": round(full_s, 2),
        "range": [full.get("range_start"), full.get("range_end")],
        "tables": len(full_sums),
        "phase_seconds": full.get("phase_seconds", {}),
    }
    out["incremental_day"] = {
        "day": last_day.isoformat(),
        "bronze_rows": bronze2["rows"],
        "bronze_s": round(bronze2_s, 2),
        "silver_s": round(silver2_s, 2),
        "gold_s": round(gold2_s, 2),
        "gold_range": [gold2.get("range_start"), gold2.get("range_end")],
        "gold_vs_full_rebuild": round(ratio, 3),
        "gold_phase_seconds": gold2.get("phase_seconds", {}),
        "goal": INCREMENTAL_GOAL,
        "goal_met": ratio <= INCREMENTAL_GOAL,
        "incremental_equals_full_rebuild": incremental_sums == full_sums,
        "load_avg": load(),
    }

    # (f) the same day three times: identical Gold ----------------------------------------
    rerun_s: list[float] = []
    rerun_sums: list[dict[str, Any]] = []
    for _ in range(3):
        _, seconds = timed(
            lambda: run_gold(spark, settings, start=last_day, end=last_day, raise_on_critical=False)
        )
        rerun_s.append(round(seconds, 2))
        rerun_sums.append(gold_checksums(spark, settings))
    identical = all(s == full_sums for s in rerun_sums)
    out["determinism"] = {
        "reruns": 3,
        "rerun_gold_s": rerun_s,
        "identical": identical,
        "differing_tables": sorted(
            {t for s in rerun_sums for t in s if s[t] != full_sums.get(t)}
            | {t for t in full_sums if incremental_sums.get(t) != full_sums[t]}
        ),
        "checksums": full_sums,
    }
    bronze_total = bronze1_s + bronze2_s
    silver_total = silver1_s + silver2_s
    out["seconds_per_1k_events"] = {
        "bare_copy": per_1k(bare_s, events),
        "bronze": per_1k(bronze_total, events),
        "silver": per_1k(silver_total, events),
        "gold_full": per_1k(full_s, events),
    }
    out["load_avg_end"] = load()
    return out


def markdown(report: dict[str, Any]) -> str:
    """Human summary of a report."""
    lines = [
        "# Pipeline benchmark",
        "",
        f"Started {report['started_at']} on {report['cpus']} CPUs, Spark `local[2]`; load "
        f"average at start {report['load_avg_start']}, at end {report['load_avg_end']}. "
        f"Spark start {report['spark_start_s']} s. Command: `{report['command']}`.",
        "",
        "| size | events | bare copy ev/s | Bronze ev/s (x slower) | Silver ev/s (x slower) "
        "| Gold full s | incr. day Gold s | incr./full | 3 reruns identical |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in report["runs"]:
        inc = run["incremental_day"]
        lines.append(
            f"| {run['days']}d x {run['customers']}c | {run['events']:,} "
            f"| {run['bare_copy']['events_per_s']:,} "
            f"| {run['bronze']['events_per_s']:,} ({run['bronze']['slowdown_vs_bare_copy']}x) "
            f"| {run['silver']['events_per_s']:,} ({run['silver']['slowdown_vs_bare_copy']}x) "
            f"| {run['gold_full_rebuild']['seconds']} | {inc['gold_s']} "
            f"| {inc['gold_vs_full_rebuild']:.1%} (goal <= 10 %: "
            f"{'met' if inc['goal_met'] else 'not met'}) "
            f"| {'yes' if run['determinism']['identical'] else 'NO'} |"
        )
    lines += [
        "",
        "Seconds per 1k events per layer:",
        "",
        "| size | events | bare copy | Bronze | Silver | Gold full |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for run in report["runs"]:
        s = run["seconds_per_1k_events"]
        lines.append(
            f"| {run['days']}d x {run['customers']}c | {run['events']:,} | {s['bare_copy']} "
            f"| {s['bronze']} | {s['silver']} | {s['gold_full']} |"
        )
    for run in report["runs"]:
        det = run["determinism"]
        if det["differing_tables"]:
            lines.append(f"\nTables differing between runs: {', '.join(det['differing_tables'])}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark once and write `pipeline.json` and `pipeline.md`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scales", action="store_true", help="~50k, ~200k and ~1M events")
    parser.add_argument("--out", default=str(RESULTS / "pipeline.json"))
    parser.add_argument("--workdir", default=None, help="kept if given (default: temp, removed)")
    args = parser.parse_args(argv)
    logging.getLogger().setLevel(logging.WARNING)

    sizes = [(d, c) for _, d, c in SCALES] if args.scales else [(args.days, args.customers)]
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="finlake-pipeline-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "benchmarks/pipeline_bench.py " + " ".join(argv or sys.argv[1:]),
        "cpus": os.cpu_count(),
        "load_avg_start": load(),
    }
    settings = Settings(lake_root=str(workdir / "session"))
    t0 = time.perf_counter()
    spark = get_spark(settings, "finlake-pipeline-bench")
    spark.range(1000).write.format("delta").mode("overwrite").save(str(workdir / "warmup"))
    report["spark_start_s"] = round(time.perf_counter() - t0, 2)
    try:
        report["runs"] = [run_size(spark, workdir, d, c, args.seed) for d, c in sizes]
    finally:
        spark.stop()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if len(report["runs"]) > 1:
        report["scale_growth"] = [
            {"events": r["events"], **r["seconds_per_1k_events"]} for r in report["runs"]
        ]
    report["load_avg_end"] = load()
    report["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    text = json.dumps(report, indent=2, sort_keys=True, default=str)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    out.with_suffix(".md").write_text(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
