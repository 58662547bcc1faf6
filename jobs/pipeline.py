"""`finlake run`, `backfill`, `replay` and `demo`: the medallion pipeline from the command line."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conf.settings import PLACEHOLDER_API_KEY, PLACEHOLDER_API_KEY_DIGEST, Settings, get_settings
from jobs import console, lake_reader
from jobs.cli import CliError
from jobs.exit_codes import EXIT_OK

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from rich.table import Table

LAYERS = ("bronze", "silver", "gold", "forecast")
PIPELINE_LAYERS = ("bronze", "silver", "gold")
# What `run_layers` imports: Silver's module brings Great Expectations (2.5 s to import).
LAYER_MODULES = ("jobs.bronze_job", "jobs.silver_job", "jobs.gold_job")


def get_spark(settings: Settings, app_name: str) -> SparkSession:
    """The process's SparkSession (imported lazily: commands that fail validation never pay)."""
    from jobs.spark import get_spark as spark_session

    return spark_session(settings, app_name)


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
    from jobs.silver_job import end_of_day, run_silver

    started = time.perf_counter()
    results: dict[str, Any] = {}
    for layer in layers:
        progress(f"{layer} ...", started)
        if layer == "bronze":
            results[layer] = run_bronze(spark, settings, until=until)
        elif layer == "silver":
            as_of = end_of_day(until) if until else None
            results[layer] = run_silver(spark, settings, as_of=as_of)
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


def _sum_by(rows: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    sums: dict[str, Any] = {}
    for row in rows:
        sums[row[key]] = sums.get(row[key], 0) + (row[value] or 0)
    return sums


def summary_table(settings: Settings) -> Table | None:
    """Latest-day MRR and active subscriptions, and trailing-30-day net revenue, by region.

    Read with delta-rs (no Spark); None when Gold holds no MRR yet.
    """
    mrr_path = settings.location("gold.mrr_daily")
    table = lake_reader.open_table(settings, mrr_path)
    if table is None:
        return None
    dates = lake_reader.read_table_rows(table, ["metric_date"])
    if not dates:
        return None
    day: dt.date = max(r["metric_date"] for r in dates)
    latest = lake_reader.read_table_rows(
        table,
        ["region", "mrr_usd", "active_subscriptions"],
        [("metric_date", "=", day)],
    )
    mrr = _sum_by(latest, "region", "mrr_usd")
    subs = _sum_by(latest, "region", "active_subscriptions")
    revenue = lake_reader.read_rows(
        settings,
        settings.location("gold.revenue_region_daily"),
        ["region", "net_revenue_usd"],
        [("revenue_date", ">=", day - dt.timedelta(days=29)), ("revenue_date", "<=", day)],
    )
    net = _sum_by(revenue, "region", "net_revenue_usd")
    rows = [
        (region, mrr.get(region, Decimal(0)), subs.get(region, 0), net.get(region, Decimal(0)))
        for region in sorted(set(mrr) | set(net))
    ]
    rows.append(
        (
            "total",
            sum((r[1] for r in rows), Decimal(0)),
            sum(r[2] for r in rows),
            sum((r[3] for r in rows), Decimal(0)),
        )
    )
    return console.table(
        ["region", "MRR (USD)", "active subscriptions", "net revenue, 30 days (USD)"],
        rows,
        title=f"Gold as of {day.isoformat()}",
    )


def _layers_of(args: argparse.Namespace) -> list[str]:
    if args.layer != "all":
        return [args.layer]
    return [*PIPELINE_LAYERS, *(["forecast"] if args.with_forecast else [])]


def run_with_progress(
    settings: Settings,
    layers: Sequence[str],
    app_name: str,
    until: dt.date | None = None,
) -> dict[str, Any]:
    """Start Spark and run `layers` in order with a progress line per layer and step."""
    results: dict[str, Any] = {}
    modules = [*LAYER_MODULES, *(["jobs.forecast_job"] if "forecast" in layers else [])]
    # pyspark first, on this thread: its package imports in a cycle, which two threads doing it
    # at once break ("cannot import name 'SQLContext' from partially initialized module")
    importlib.import_module("pyspark.sql")
    with console.LayerProgress() as progress, ThreadPoolExecutor(max_workers=1) as pool:
        # the job modules import while the driver's JVM starts (the main thread only waits)
        imported = pool.submit(lambda: [importlib.import_module(m) for m in modules])
        with console.step(progress, "spark", "starting Spark"):
            spark = get_spark(settings, app_name)
        imported.result()
        for layer in layers:
            progress.start(layer)
            result = run_layers(spark, settings, [layer], until=until, progress=_silent)[layer]
            results[layer] = result
            progress.done(layer, console.layer_summary(layer, result))
    return results


def _silent(step: str, started: float) -> None:
    del step, started


def _cmd_run(args: argparse.Namespace) -> int:

    settings = get_settings()
    results = run_with_progress(settings, _layers_of(args), f"finlake-{args.layer}", args.until)
    if args.json:
        print(json.dumps(results, default=str, indent=2))
    return EXIT_OK


def _cmd_backfill(args: argparse.Namespace) -> int:
    from jobs.gold_job import run_gold

    if args.start > args.end:
        raise CliError(
            f"--start {args.start} is after --end {args.end}",
            "give the first and the last date of the range to rebuild, first one first",
        )
    settings = get_settings()
    if lake_reader.open_table(settings, settings.location("silver.subscription")) is None:
        raise CliError(
            f"Silver is empty in {settings.lake_root}: nothing to backfill",
            "run `finlake run all` first",
        )
    with console.LayerProgress() as progress:
        with console.step(progress, "spark", "starting Spark"):
            spark = get_spark(settings, "finlake-backfill")
        progress.start("gold", f"rebuild {args.start} .. {args.end}")
        result = run_gold(spark, settings, start=args.start, end=args.end)
        progress.done("gold", console.layer_summary("gold", result))
    if args.json:
        print(json.dumps(result, default=str))
    return EXIT_OK


def bronze_versions(settings: Settings) -> list[int]:
    """Versions of bronze.events that can be replayed, oldest first ([] if none)."""
    table = lake_reader.open_table(settings, settings.location("bronze.events"))
    if table is None:
        return []
    return sorted(int(c["version"]) for c in lake_reader.history(table))


def _cmd_replay(args: argparse.Namespace) -> int:
    settings = get_settings()
    versions = bronze_versions(settings)
    if not versions:
        raise CliError(
            f"bronze.events does not exist in {settings.lake_root}",
            "run `finlake run bronze` (or `finlake demo`) first",
        )
    if args.bronze_version not in versions:
        raise CliError(
            f"bronze.events has no version {args.bronze_version} "
            f"(versions {versions[0]}..{versions[-1]})",
            "`finlake history bronze.events` lists every version with its time and row count",
        )
    with console.LayerProgress() as progress:
        with console.step(progress, "spark", "starting Spark"):
            spark = get_spark(settings, "finlake-replay")
        progress.start("replay", f"Silver and Gold from bronze.events v{args.bronze_version}")
        result = replay(spark, settings, args.bronze_version)
        progress.done("replay", console.layer_summary("gold", result.get("gold")))
    if args.json:
        print(json.dumps(result, default=str, indent=2))
    return EXIT_OK


# ---------------------------------------------------------------------------------- demo


def _landing_objects(settings: Settings) -> int:
    from bronze.objectstore import make_object_store

    return sum(1 for _ in make_object_store(settings).list("events/"))


def _earlier_manifest(settings: Settings) -> dict[str, Any]:
    from jobs.generate import default_truth_dir

    path = default_truth_dir(settings.lake_root) / "manifest.json"
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return manifest


LAYER_OUTPUT: dict[str, str] = {
    "bronze": "bronze.events",
    "silver": "silver.subscription",
    "gold": "gold.mrr_daily",
    "forecast": "gold.forecast_revenue_daily",
}


def layers_to_build(settings: Settings, layers: Sequence[str]) -> list[str]:
    """`layers` from the first one whose output table is missing (all built: [])."""
    for i, layer in enumerate(layers):
        if lake_reader.open_table(settings, settings.location(LAYER_OUTPUT[layer])) is None:
            return list(layers[i:])
    return []


def _wipe_lake(settings: Settings) -> None:
    if settings.is_s3:
        raise CliError(
            f"--fresh only deletes a local lake; {settings.lake_root} is on S3",
            "delete the prefix with your S3 tools, or point FINLAKE_LAKE_ROOT elsewhere",
        )
    root = Path(settings.lake_root)
    if root.exists():
        shutil.rmtree(root)
        console.print_note(f"--fresh: deleted the lake at {root}")


def _finlake_command() -> str:
    """How the user runs `finlake` from here (the venv's script when it is not on PATH)."""
    script = Path(sys.executable).parent / "finlake"
    on_path = shutil.which("finlake")
    if on_path and Path(on_path).resolve() == script.resolve():
        return "finlake"
    if script.exists():
        try:
            return os.path.relpath(script)
        except ValueError:
            return str(script)
    return "finlake"


def local_read_key(settings: Settings) -> str | None:
    """The local profile's placeholder key when it may read (safe to print), else None."""
    if settings.env != "local":
        return None
    for key in settings.api_keys:  # only digests are kept: compare with the placeholder's
        if key.digest.get_secret_value() == PLACEHOLDER_API_KEY_DIGEST and "read" in key.scopes:
            return PLACEHOLDER_API_KEY
    return None


def next_steps(settings: Settings, port: int = 8000) -> list[str]:
    """What to do after the demo: where the lake is, how to query it and see the dashboard."""
    from jobs.dq_report import data_docs_link

    cmd = _finlake_command()
    key = local_read_key(settings)
    fragment = f"#key={key}" if key else "  (enter a read API key in the page)"
    return [
        f"lake       {settings.lake_root}",
        f'query      {cmd} trino up   then   {cmd} sql "SELECT * FROM gold.mrr_movements_monthly"',
        f"dashboard  {cmd} serve      then   http://127.0.0.1:{port}/dashboard{fragment}",
        f"API docs   http://127.0.0.1:{port}/docs",
        f"DQ         {cmd} dq report  ·  Data Docs {data_docs_link(settings)}",
    ]


def _cmd_demo(args: argparse.Namespace) -> int:
    from bronze.objectstore import make_object_store
    from jobs.generate import default_truth_dir
    from jobs.generator import generate

    settings = get_settings()
    if args.fresh:
        _wipe_lake(settings)
    existing = _landing_objects(settings)
    if existing:
        earlier = _earlier_manifest(settings)
        size = ""
        if earlier.get("days") and earlier.get("customers_target"):
            size = f", {earlier['days']} days x {earlier['customers_target']} customers"
            if (earlier["days"], earlier["customers_target"]) != (args.days, args.customers):
                size += f"; the requested {args.days} x {args.customers} is not generated"
        console.print_note(
            f"lake already has data from an earlier demo ({existing:,} landing objects{size}): "
            "reusing it; run `make clean` or pass --fresh to start over"
        )
    else:
        started = time.perf_counter()
        with console.err().status(f"generating {args.days} days, {args.customers} customers"):
            manifest = generate(
                make_object_store(settings),
                default_truth_dir(settings.lake_root),
                seed=args.seed,
                days=args.days,
                customers=args.customers,
                defects=args.defects,
                horizon_days=settings.restatement_horizon_days,
            )
        console.print_note(
            f"generated {manifest['lines']:,} events in {manifest['objects']:,} landing objects "
            f"({manifest['start_date']} .. {manifest['end_date']}, "
            f"{time.perf_counter() - started:.1f} s)"
        )
    layers = [*PIPELINE_LAYERS, *(["forecast"] if args.forecast else [])]
    todo = layers_to_build(settings, layers) if existing else layers
    if not todo:
        console.print_note(
            "its tables are built: skipping the pipeline (`finlake run all` processes newly "
            "landed data)"
        )
    elif todo != layers:
        console.print_note(f"resuming at {todo[0]}: the earlier layers are built")
    if todo:
        run_with_progress(settings, todo, "finlake-demo")
    out = console.out()
    summary = summary_table(settings)
    out.print(summary if summary is not None else "(no Gold data yet)")
    out.print()
    out.print("[bold]Next steps[/]")
    for line in next_steps(settings):
        out.print(f"  {line}", markup=False)
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `run`, `backfill`, `replay` and `demo`."""
    from jobs.driver import add_no_driver_flag

    run = subparsers.add_parser("run", help="run one layer or the whole pipeline")
    run.add_argument(
        "layer",
        choices=[*LAYERS, "all"],
        help="layer to run; `all` is bronze, silver and gold in order",
    )
    run.add_argument(
        "--until",
        type=dt.date.fromisoformat,
        default=None,
        help="Bronze: only landing objects received on or before this date (YYYY-MM-DD)",
    )
    run.add_argument(
        "--with-forecast", action="store_true", help="with `all`: also run the forecast"
    )
    run.add_argument("--json", action="store_true", help="print each layer's result as JSON")
    add_no_driver_flag(run)
    run.set_defaults(func=_cmd_run)

    backfill = subparsers.add_parser("backfill", help="rebuild Gold for a date range")
    backfill.add_argument(
        "--start", type=dt.date.fromisoformat, required=True, help="first date (YYYY-MM-DD)"
    )
    backfill.add_argument(
        "--end", type=dt.date.fromisoformat, required=True, help="last date (YYYY-MM-DD)"
    )
    backfill.add_argument("--json", action="store_true", help="print the Gold result as JSON")
    add_no_driver_flag(backfill)
    backfill.set_defaults(func=_cmd_backfill)

    rep = subparsers.add_parser(
        "replay",
        help="rebuild Silver and Gold from a Bronze version (Delta time travel)",
        description="Rebuild Silver and Gold from bronze.events as of a Delta version. "
        "`finlake history bronze.events` lists the versions.",
    )
    rep.add_argument(
        "--bronze-version", type=int, required=True, help="version of bronze.events to replay"
    )
    rep.add_argument("--json", action="store_true", help="print the result as JSON")
    add_no_driver_flag(rep)
    rep.set_defaults(func=_cmd_replay)

    demo = subparsers.add_parser("demo", help="generate sample data and run the pipeline")
    demo.add_argument("--days", type=int, default=120, help="days of generated history")
    demo.add_argument("--customers", type=int, default=300, help="customers to simulate")
    demo.add_argument("--seed", type=int, default=42, help="random seed of the generator")
    demo.add_argument("--defects", action="store_true", help="inject counted bad input")
    demo.add_argument(
        "--forecast",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the forecast (for the dashboard's forecast vs actual)",
    )
    demo.add_argument(
        "--fresh",
        action="store_true",
        help="delete the (local) lake first and generate new data",
    )
    demo.set_defaults(func=_cmd_demo)
