"""Medallion pipeline benchmark: the medallion vs a bare copy, one new day, determinism.

One process, one Spark session (`local[2]`), on a freshly generated lake per size:

a. bare copy: `spark.read.text` of every landing JSONL object -> one Delta table (events/s),
   in finlake's session; then again with Spark's default file listing, the baseline of the
   earlier issue 18 steps (reported beside it, ratios too);
b. the medallion: every day but the last five through Bronze, Silver and Gold (first build),
   each layer and the sum versus the bare copy of the same number of events (goals: the whole
   medallion <= 6x, Silver <= 3x);
c. one new day: the next day through Bronze + Silver + Gold in the same session, versus the
   medallion (goal <= 10 %);
d. `finlake run all` for the next day as a user runs it: a new process, session start
   included (goal <= 30 s);
e. the same command with a warm driver (`finlake driver serve`, started here and timed): the
   last three days, one run each; the third is a daily run of a driver that has served
   before (its JIT compiler has seen the code paths);
f. determinism: a full rebuild equals the incremental sequence, and three reruns of the last
   day give identical Gold (canonical checksum per table: row count + order-independent sum of
   per-row sha256).

`--scales` runs three sizes (about 50k, 200k and 1M events) and reports seconds per 1k events
per layer. Results go to `benchmarks/results/pipeline.json` and `pipeline.md`.

Usage: `.venv/bin/python benchmarks/pipeline_bench.py [--days 180 --customers 400] [--scales]`.
"""

from __future__ import annotations

import os

os.environ.setdefault("FINLAKE_ENV", "test")
os.environ.setdefault(
    "FINLAKE_API_KEYS",
    '{"bench-ingest-key-7f3a9c2e5b8d4f0": ["ingest"], '
    '"bench-read-key-7f3a9c2e5b8d4f01a": ["read"]}',
)
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")

import argparse
import datetime as dt
import json
import logging
import shutil
import subprocess
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
from conf.catalog import TABLE_NAMES, table  # noqa: E402
from conf.settings import Settings  # noqa: E402
from jobs.bronze_job import run_bronze  # noqa: E402
from jobs.driver import status as driver_status  # noqa: E402
from jobs.generator import generate  # noqa: E402
from jobs.gold_job import run_gold  # noqa: E402
from jobs.lake import Lake  # noqa: E402
from jobs.silver_job import end_of_day, run_silver  # noqa: E402
from jobs.spark import LISTING_PARALLELISM, get_spark, session_settings  # noqa: E402

START = dt.date(2024, 1, 1)
INCREMENTAL_GOAL = 0.10  # one new day through Bronze + Silver + Gold vs the full medallion
MEDALLION_GOAL = 6.0  # whole medallion vs a bare copy of the same events
SILVER_GOAL = 3.0
RUN_ALL_GOAL_S = 30.0
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
    lake = Lake(spark, settings)
    return {
        table(name).table: table_checksum(spark, lake.path(name))
        for name in TABLE_NAMES
        if table(name).layer == "gold" and lake.exists(name)
    }


def phase_seconds(spark: SparkSession, settings: Settings, job: str) -> dict[str, float]:
    """`phase_seconds` of the job's latest run, from `ops.pipeline_runs`."""
    row = (
        Lake(spark, settings)
        .read("ops.pipeline_runs")
        .filter(F.col("job_name") == job)
        .orderBy(F.col("started_at").desc())
        .select("metrics")
        .first()
    )
    metrics = json.loads(row[0]) if row and row[0] else {}
    return {k: round(float(v), 2) for k, v in metrics.get("phase_seconds", {}).items()}


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
            with_truth=False,
        )
    )
    events = int(manifest["lines"])
    out.update(events=events, objects=manifest["objects"], generate_s=round(gen_s, 2))
    out["load_avg_start"] = load()
    bare_s, bare_rows = bare_copy(spark, store, workdir / f"bare-{days}d-{customers}c")
    out["bare_copy"] = {
        "seconds": round(bare_s, 2),
        "rows": bare_rows,
        "events_per_s": round(bare_rows / bare_s),
    }
    # the same copy with Spark's default file listing (one task per named file), the baseline
    # of the earlier steps, for continuity: finlake's sessions list in a few tasks
    with session_settings(spark, {LISTING_PARALLELISM: "10000"}):
        default_s, _ = bare_copy(spark, store, workdir / f"bare-default-{days}d-{customers}c")
    out["bare_copy"]["default_listing_seconds"] = round(default_s, 2)
    # every day but the last five through the medallion: the "full medallion"
    recv = received_days(store)
    day_in_session, day_cold, *driver_days = recv[-5:]
    day_n = driver_days[-1]
    before = day_in_session - dt.timedelta(days=1)
    bronze1, bronze1_s = timed(lambda: run_bronze(spark, settings, until=before, store=store))
    silver1, silver1_s = timed(
        lambda: run_silver(
            spark, settings, store=store, as_of=end_of_day(before), raise_on_critical=False
        )
    )
    _, gold1_s = timed(lambda: run_gold(spark, settings, raise_on_critical=False))
    rows = int(bronze1["rows"])
    medallion_s = bronze1_s + silver1_s + gold1_s
    out["medallion"] = {
        "until": before.isoformat(),
        "rows": rows,
        "bronze_s": round(bronze1_s, 2),
        "silver_s": round(silver1_s, 2),
        "gold_s": round(gold1_s, 2),
        "seconds": round(medallion_s, 2),
        "x_bare_copy": round(medallion_s / (bare_s * rows / bare_rows), 2),
        "silver_x_bare_copy": round(silver1_s / (bare_s * rows / bare_rows), 2),
        "bronze_x_bare_copy": round(bronze1_s / (bare_s * rows / bare_rows), 2),
        "x_bare_copy_default_listing": round(medallion_s / (default_s * rows / bare_rows), 2),
        "silver_x_bare_copy_default_listing": round(silver1_s / (default_s * rows / bare_rows), 2),
        "bronze_phase_seconds": phase_seconds(spark, settings, "bronze"),
        "silver_phase_seconds": phase_seconds(spark, settings, "silver"),
        "gold_phase_seconds": phase_seconds(spark, settings, "gold"),
        "silver_critical_failures": silver1.get("critical_failures", []),
    }
    out["incremental_day"] = one_new_day(spark, settings, store, day_in_session, medallion_s)
    out["finlake_run_all_day"] = run_all_subprocess(settings, day_cold)
    out["finlake_run_all_driver"] = run_all_driver(settings, driver_days)
    out["determinism"] = determinism(spark, settings, day_n)
    out["seconds_per_1k_events"] = {
        "bare_copy": per_1k(bare_s, bare_rows),
        "bronze": per_1k(bronze1_s, rows),
        "silver": per_1k(silver1_s, rows),
        "gold_full": per_1k(gold1_s, rows),
    }
    out["load_avg_end"] = load()
    return out


def bare_copy(spark: SparkSession, store: LocalObjectStore, path: Path) -> tuple[float, int]:
    """JSONL text of every landing object -> one Delta table: (seconds, rows)."""
    glob = f"{store.uri()}/events/*/*/*.jsonl"
    _, seconds = timed(
        lambda: spark.read.text(glob).write.format("delta").mode("overwrite").save(str(path))
    )
    return seconds, spark.read.format("delta").load(str(path)).count()


def one_new_day(
    spark: SparkSession,
    settings: Settings,
    store: LocalObjectStore,
    day: dt.date,
    medallion_s: float,
) -> dict[str, Any]:
    """One more day through Bronze, Silver and Gold in the same session, vs the medallion."""
    bronze, bronze_s = timed(lambda: run_bronze(spark, settings, until=day, store=store))
    _, silver_s = timed(
        lambda: run_silver(
            spark, settings, store=store, as_of=end_of_day(day), raise_on_critical=False
        )
    )
    gold, gold_s = timed(lambda: run_gold(spark, settings, raise_on_critical=False))
    total = bronze_s + silver_s + gold_s
    return {
        "day": day.isoformat(),
        "bronze_rows": bronze["rows"],
        "bronze_s": round(bronze_s, 2),
        "silver_s": round(silver_s, 2),
        "gold_s": round(gold_s, 2),
        "seconds": round(total, 2),
        "vs_medallion": round(total / medallion_s, 3),
        "goal": INCREMENTAL_GOAL,
        "goal_met": total / medallion_s <= INCREMENTAL_GOAL,
        "gold_range": [gold.get("range_start"), gold.get("range_end")],
        "bronze_phase_seconds": phase_seconds(spark, settings, "bronze"),
        "silver_phase_seconds": phase_seconds(spark, settings, "silver"),
        "gold_phase_seconds": phase_seconds(spark, settings, "gold"),
    }


def cli_env(settings: Settings) -> dict[str, str]:
    """Environment of a `finlake` command on the benchmark's lake (the local profile)."""
    env = {**os.environ, "FINLAKE_LAKE_ROOT": settings.lake_root, "FINLAKE_ENV": "local"}
    env["FINLAKE_FRESHNESS_MAX_HOURS"] = str(settings.freshness_max_hours)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("FINLAKE_API_KEYS", None)
    return env


def finlake_command(*args: str) -> list[str]:
    """`finlake ARGS` with this interpreter."""
    return [sys.executable, "-m", "jobs.cli", *args]


def run_all_subprocess(
    settings: Settings, day: dt.date, *extra: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """`finlake run all` for a day as a user runs it: a new process, session start incl."""
    env = env or cli_env(settings)
    command = finlake_command("run", "all", "--until", day.isoformat(), *extra)
    done, seconds = timed(
        lambda: subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    )
    return {
        "day": day.isoformat(),
        "command": " ".join(["finlake", *command[3:]]),
        "exit_code": done.returncode,
        "seconds": round(seconds, 2),
        "goal_s": RUN_ALL_GOAL_S,
        "goal_met": done.returncode == 0 and seconds <= RUN_ALL_GOAL_S,
        "stderr_tail": done.stderr[-500:] if done.returncode else "",
    }


def run_all_driver(settings: Settings, days: list[dt.date]) -> dict[str, Any]:
    """`finlake run all` through a driver: its start, then one run per day of `days`."""
    env = cli_env(settings)
    log = Path(settings.lake_root).parent / "driver.log"
    with log.open("w") as log_file:
        driver = subprocess.Popen(
            finlake_command("driver", "serve"), env=env, stdout=log_file, stderr=log_file
        )
        try:
            _, start_s = timed(lambda: wait_for_driver(settings, driver))
            runs = [run_all_subprocess(settings, day, env=env) for day in days]
            stopped = subprocess.run(
                finlake_command("driver", "stop"), env=env, capture_output=True, check=False
            )
            driver.wait(timeout=120)
        finally:
            if driver.poll() is None:
                driver.kill()
    return {
        "driver_start_s": round(start_s, 2),
        "runs": runs,
        "daily_run": runs[-1],
        "goal_s": RUN_ALL_GOAL_S,
        "goal_met": bool(runs[-1]["goal_met"]),
        "stopped_cleanly": stopped.returncode == 0 and driver.returncode == 0,
    }


def wait_for_driver(settings: Settings, driver: subprocess.Popen[bytes]) -> None:
    """Until the driver answers on its socket (it failed to start: raise)."""
    while driver.poll() is None:
        if driver_status(settings) is not None:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the driver exited with {driver.returncode} before it was ready")


def determinism(spark: SparkSession, settings: Settings, day: dt.date) -> dict[str, Any]:
    """Incremental tables == a full rebuild == three reruns of the last day."""
    incremental = gold_checksums(spark, settings)
    _, full_s = timed(lambda: run_gold(spark, settings, full=True, raise_on_critical=False))
    full_phases = phase_seconds(spark, settings, "gold")
    full_sums = gold_checksums(spark, settings)
    rerun_s: list[float] = []
    rerun_sums: list[dict[str, Any]] = []
    for _ in range(3):
        _, seconds = timed(
            lambda: run_gold(spark, settings, start=day, end=day, raise_on_critical=False)
        )
        rerun_s.append(round(seconds, 2))
        rerun_sums.append(gold_checksums(spark, settings))
    differing = {t for s in rerun_sums for t in s if s[t] != full_sums.get(t)}
    differing |= {t for t in full_sums if incremental.get(t) != full_sums[t]}
    return {
        "gold_full_rebuild_s": round(full_s, 2),
        "gold_full_phase_seconds": full_phases,
        "incremental_equals_full_rebuild": incremental == full_sums,
        "reruns": 3,
        "rerun_gold_s": rerun_s,
        "identical": not differing,
        "differing_tables": sorted(differing),
        "checksums": full_sums,
    }


def default_listing(run: dict[str, Any]) -> str:
    """The bare copy's seconds with Spark's default file listing, when measured."""
    seconds = run["bare_copy"].get("default_listing_seconds")
    return f"{seconds} s" if seconds is not None else "-"


def markdown(report: dict[str, Any]) -> str:
    """Human summary of a report."""
    lines = [
        "# Pipeline benchmark",
        "",
        f"Started {report['started_at']} on {report['cpus']} CPUs, Spark `local[2]`; load "
        f"average at start {report['load_avg_start']}, at end {report['load_avg_end']}. "
        f"Spark start {report['spark_start_s']} s. Command: `{report['command']}`.",
        "",
        "| size | events | bare copy ev/s (s; Spark's default listing) | Bronze x "
        "| Silver x (goal <= 3; vs default listing) "
        "| medallion x (goal <= 6; vs default listing) "
        "| one new day B+S+G s | vs medallion (goal <= 10 %) "
        "| `finlake run all` day s (goal <= 30) | same, driver: start / runs 1, 2, 3 s "
        "| identical |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in report["runs"]:
        med, inc, cli = run["medallion"], run["incremental_day"], run["finlake_run_all_day"]
        drv = run["finlake_run_all_driver"]
        det = run["determinism"]
        lines.append(
            f"| {run['days']}d x {run['customers']}c | {run['events']:,} "
            f"| {run['bare_copy']['events_per_s']:,} "
            f"({run['bare_copy']['seconds']} s; {default_listing(run)}) "
            f"| {med['bronze_x_bare_copy']} "
            f"| {med['silver_x_bare_copy']} ({med.get('silver_x_bare_copy_default_listing', '-')}) "
            f"| {med['x_bare_copy']} ({med.get('x_bare_copy_default_listing', '-')}) "
            f"| {inc['seconds']} ({inc['bronze_s']} + {inc['silver_s']} + {inc['gold_s']}) "
            f"| {inc['vs_medallion']:.1%} | {cli['seconds']} (exit {cli['exit_code']}) "
            f"| {drv['driver_start_s']} / {', '.join(str(r['seconds']) for r in drv['runs'])} "
            f"(exit {drv['daily_run']['exit_code']}) "
            f"| {'yes' if det['identical'] and det['incremental_equals_full_rebuild'] else 'NO'} |"
        )
    lines += [
        "",
        "Seconds per 1k events per layer:",
        "",
        "| size | events | bare copy | Bronze | Silver | Gold (first build) |",
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
