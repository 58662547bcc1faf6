"""One new day through Bronze, Silver and Gold on a kept lake, per phase (issue 18 harness).

`--setup` generates a lake (`--days` x `--customers`, the pipeline benchmark's seed and start),
takes every day but the last two through the medallion and keeps a copy of it. Every later
call restores that copy, starts a new process and runs the next day through the three jobs,
printing seconds per job and per phase (from `ops.pipeline_runs`), so one change at a time can
be measured on the same lake without rebuilding it.

Usage:
  .venv/bin/python benchmarks/day_profile.py --setup --workdir /tmp/day-profile
  .venv/bin/python benchmarks/day_profile.py --workdir /tmp/day-profile [--out day.json]
"""

from __future__ import annotations

import os

os.environ.setdefault("FINLAKE_ENV", "test")
os.environ.setdefault("FINLAKE_API_KEYS", '{"day-profile-ingest-key-5c1e9a7b3d": ["ingest"]}')
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")

import argparse
import datetime as dt
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.pipeline_bench import START, phase_seconds, received_days  # noqa: E402
from bronze.objectstore import LocalObjectStore  # noqa: E402
from conf.settings import Settings  # noqa: E402
from jobs.bronze_job import run_bronze  # noqa: E402
from jobs.generator import generate  # noqa: E402
from jobs.gold_job import run_gold  # noqa: E402
from jobs.silver_job import end_of_day, run_silver  # noqa: E402
from jobs.spark import get_spark  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Set the lake up once, or measure one new day on a fresh copy of it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--setup", action="store_true")
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--customers", type=int, default=3500)
    parser.add_argument("--out", default=None, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    lake, base = workdir / "lake", workdir / "base"
    settings = Settings(lake_root=str(lake), freshness_max_hours=24 * 1000)
    store = LocalObjectStore(settings.landing)
    if args.setup:
        shutil.rmtree(workdir, ignore_errors=True)
        generate(
            store,
            lake / "truth",
            seed=42,
            start=START,
            days=args.days,
            customers=args.customers,
            horizon_days=settings.restatement_horizon_days,
            with_truth=False,
        )
    elif not base.exists():
        parser.error(f"no kept lake in {workdir}: run with --setup first")
    else:
        shutil.rmtree(lake, ignore_errors=True)
        shutil.copytree(base, lake)
    spark = get_spark(settings, "finlake-day-profile")
    recv = received_days(store)
    day = recv[-2] - dt.timedelta(days=1) if args.setup else recv[-2]
    report: dict[str, Any] = {"day": day.isoformat(), "setup": args.setup}
    jobs: dict[str, Callable[[], object]] = {
        "bronze": lambda: run_bronze(spark, settings, until=day, store=store),
        "silver": lambda: run_silver(
            spark, settings, store=store, as_of=end_of_day(day), raise_on_critical=False
        ),
        "gold": lambda: run_gold(spark, settings, raise_on_critical=False),
    }
    for name, job in jobs.items():
        started = time.perf_counter()
        job()
        seconds = round(time.perf_counter() - started, 2)
        report[name] = {"seconds": seconds, "phases": phase_seconds(spark, settings, name)}
        print(f"{name}: {seconds} s {report[name]['phases']}", flush=True)
    report["total_s"] = round(sum(report[n]["seconds"] for n in jobs), 2)
    print(f"total: {report['total_s']} s", flush=True)
    spark.stop()
    if args.setup:
        shutil.copytree(lake, base)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
