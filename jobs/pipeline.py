"""`finlake run`, `backfill`, `replay` and `demo`: the medallion pipeline from the command line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from conf.settings import Settings, get_settings
from jobs.lake import Lake
from jobs.spark import get_spark

LAYERS = ("bronze", "silver", "gold", "forecast")


def _progress(step: str, started: float) -> None:
    print(f"[{time.perf_counter() - started:7.1f}s] {step}", file=sys.stderr, flush=True)


def run_layers(
    spark: SparkSession,
    settings: Settings,
    layers: Sequence[str],
    until: dt.date | None = None,
    progress: Callable[[str, float], None] = _progress,
) -> dict[str, Any]:
    """Run the given layers in order; returns each layer's summary."""
    from jobs.bronze_job import run_bronze
    from jobs.gold_job import run_gold
    from jobs.silver_job import run_silver

    started = time.perf_counter()
    results: dict[str, Any] = {}
    for layer in layers:
        progress(f"{layer} ...", started)
        if layer == "bronze":
            results[layer] = run_bronze(spark, settings, until=until)
        elif layer == "silver":
            results[layer] = run_silver(spark, settings)
        elif layer == "gold":
            results[layer] = run_gold(spark, settings, until=until)
        elif layer == "forecast":
            from jobs.forecast_job import run_forecast

            results[layer] = run_forecast(spark, settings)
        progress(f"{layer} done", started)
    return results


def replay(spark: SparkSession, settings: Settings, bronze_version: int) -> dict[str, Any]:
    """Rebuild Silver and Gold from Bronze as of a Delta version (time travel)."""
    from jobs.gold_job import run_gold
    from jobs.silver_job import run_silver

    silver = run_silver(spark, settings, bronze_version=bronze_version, rebuild=True)
    gold = run_gold(spark, settings, full=True)
    return {"silver": silver, "gold": gold}


def summary_table(spark: SparkSession, settings: Settings) -> str:
    """Latest-day MRR and active subscriptions, and trailing-30-day net revenue, by region."""
    lake = Lake(spark, settings)
    mrr = lake.read("gold.mrr_daily")
    last = mrr.agg(F.max("metric_date")).first()
    if last is None or last[0] is None:
        return "(no Gold data yet)"
    day: dt.date = last[0]
    mrr_rows = {
        r[0]: (r[1], r[2])
        for r in mrr.filter(F.col("metric_date") == day)
        .groupBy("region")
        .agg(F.sum("mrr_usd"), F.sum("active_subscriptions"))
        .collect()
    }
    revenue = lake.read("gold.revenue_region_daily")
    net_rows = {
        r[0]: r[1]
        for r in revenue.filter(F.col("revenue_date") > day - dt.timedelta(days=30))
        .groupBy("region")
        .agg(F.sum("net_revenue_usd"))
        .collect()
    }
    lines = [
        f"finlake — Gold as of {day.isoformat()}",
        f"{'region':<8}{'MRR (USD)':>16}{'active subs':>14}{'net revenue 30d (USD)':>24}",
    ]
    totals = [0, 0, 0]
    for region in sorted(set(mrr_rows) | set(net_rows)):
        value, active = mrr_rows.get(region, (0, 0))
        net = net_rows.get(region, 0)
        totals = [totals[0] + value, totals[1] + active, totals[2] + net]
        lines.append(f"{region:<8}{value:>16,.2f}{active:>14,}{net:>24,.2f}")
    lines.append(f"{'total':<8}{totals[0]:>16,.2f}{totals[1]:>14,}{totals[2]:>24,.2f}")
    return "\n".join(lines)


def _cmd_run(args: argparse.Namespace) -> int:
    from jobs.exit_codes import EXIT_DQ_CRITICAL
    from silver.dq import DQCriticalFailure

    settings = get_settings()
    spark = get_spark(settings, f"finlake-{args.layer}")
    layers = [x for x in LAYERS if x != "forecast"] if args.layer == "all" else [args.layer]
    if args.layer == "all" and args.with_forecast:
        layers.append("forecast")
    try:
        results = run_layers(spark, settings, layers, until=args.until)
    except DQCriticalFailure as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DQ_CRITICAL
    print(json.dumps(results, default=str, indent=2))
    return 0


def _cmd_backfill(args: argparse.Namespace) -> int:
    from jobs.gold_job import run_gold

    settings = get_settings()
    spark = get_spark(settings, "finlake-backfill")
    print(json.dumps(run_gold(spark, settings, start=args.start, end=args.end), default=str))
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    settings = get_settings()
    spark = get_spark(settings, "finlake-replay")
    print(json.dumps(replay(spark, settings, args.bronze_version), default=str, indent=2))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from bronze.objectstore import make_object_store
    from jobs.generate import default_truth_dir
    from jobs.generator import generate

    settings = get_settings()
    started = time.perf_counter()
    store = make_object_store(settings)
    if next(iter(store.list("events/")), None) is None:
        _progress(f"generate {args.days} days, {args.customers} customers ...", started)
        manifest = generate(
            store,
            default_truth_dir(settings.lake_root),
            seed=args.seed,
            days=args.days,
            customers=args.customers,
            defects=args.defects,
            horizon_days=settings.restatement_horizon_days,
        )
        _progress(f"generated {manifest['lines']} lines in {manifest['objects']} objects", started)
    spark = get_spark(settings, "finlake-demo")
    layers = ["bronze", "silver", "gold"] + (["forecast"] if args.forecast else [])
    run_layers(spark, settings, layers)
    print(summary_table(spark, settings))
    _progress("demo finished", started)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `run`, `backfill`, `replay` and `demo`."""
    run = subparsers.add_parser("run", help="run one layer or the whole pipeline")
    run.add_argument("layer", choices=[*LAYERS, "all"])
    run.add_argument(
        "--until",
        type=dt.date.fromisoformat,
        default=None,
        help="only landing objects received on or before this date",
    )
    run.add_argument("--with-forecast", action="store_true")
    run.set_defaults(func=_cmd_run)
    backfill = subparsers.add_parser("backfill", help="rebuild Gold for a date range")
    backfill.add_argument("--start", type=dt.date.fromisoformat, required=True)
    backfill.add_argument("--end", type=dt.date.fromisoformat, required=True)
    backfill.set_defaults(func=_cmd_backfill)
    rep = subparsers.add_parser("replay", help="rebuild Silver and Gold from a Bronze version")
    rep.add_argument("--bronze-version", type=int, required=True)
    rep.set_defaults(func=_cmd_replay)
    demo = subparsers.add_parser("demo", help="generate sample data and run the pipeline")
    demo.add_argument("--days", type=int, default=120)
    demo.add_argument("--customers", type=int, default=300)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--defects", action="store_true")
    demo.add_argument("--forecast", action="store_true")
    demo.set_defaults(func=_cmd_demo)
