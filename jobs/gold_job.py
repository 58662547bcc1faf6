"""Gold job: Silver -> star schema (dims, facts) and SaaS marts, through the as-of date.

Read Silver -> plan the range (`gold.plan`) -> dimensions -> day facts -> day marts -> monthly
marts -> model tests -> restatements -> consumed runs. Day-grain tables are replaced on the
range, month-grain tables from the range's first month, dimensions whole (deterministic keys).
Every published value that changes on an already published date is logged to
`ops.restatements`. Outputs are deterministic: a full rebuild and any incremental sequence give
identical tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from conf.catalog import TableName, table
from conf.settings import Settings, get_settings
from gold.dim_customer import to_dim_customer
from gold.fx import to_usd
from gold.model_tests import to_table_test_counts
from gold.monthly import to_month_states, to_monthly_marts
from gold.plan import GoldRange, PendingRun, dim_time_bounds, plan_range
from gold.revenue import to_payment_facts
from gold.sql_models import run_model
from gold.subscriptions_snapshot import to_subscription_changes, to_subscriptions_snapshot
from jobs.driver import add_no_driver_flag, delegate_job
from jobs.exit_codes import EXIT_DQ_CRITICAL
from jobs.lake import Lake
from jobs.observability import RunRecord, configure_logging, pipeline_run
from jobs.spark import execution_for, get_spark
from silver.dq import DQCriticalFailure, DQResult
from silver.reference import to_fx_daily, with_rate_on

log = logging.getLogger("finlake.gold")
_T = TypeVar("_T")
_R = TypeVar("_R")

# (metric, table, date column, value column): the daily values whose changes are restatements.
PUBLISHED = (
    ("mrr_usd", "gold.mrr_daily", "metric_date", "mrr_usd"),
    ("active_subscriptions", "gold.mrr_daily", "metric_date", "active_subscriptions"),
    ("net_revenue_usd", "gold.revenue_region_daily", "revenue_date", "net_revenue_usd"),
    ("costs_usd", "gold.revenue_region_daily", "revenue_date", "costs_usd"),
)
# Small Spark jobs (per-table model tests, table writes) run this many at a time: a Gold day is
# dominated by per-job driver overhead, which overlaps well on two cores.
CONCURRENT_JOBS = 4
# An incremental range of at most this many days runs with interpreted expressions (see
# `jobs.spark.execution_for`); full rebuilds and long backfills keep code generation.
SMALL_RANGE_DAYS = 31
EVENT_TABLES: tuple[TableName, ...] = (
    "silver.subscription",
    "silver.payment",
    "silver.usage",
    "silver.operational_cost",
)


class SilverIsEmpty(RuntimeError):
    """Gold has nothing to build; the message says why Silver is empty."""


@dataclass
class Inputs:
    """Silver frames and the derived frames several Gold tables share."""

    subscription_df: DataFrame
    payment_df: DataFrame
    usage_df: DataFrame
    cost_df: DataFrame
    plans_df: DataFrame
    fx_daily_df: DataFrame
    changes_df: DataFrame
    dim_customer_df: DataFrame


# ---------------------------------------------------------------------------- planning
def _plan_inputs(
    lake: Lake,
) -> tuple[tuple[dt.date, dt.date], dt.date | None, list[PendingRun]]:
    """Data bounds, published end and pending runs, from small bookkeeping tables.

    They are read without Spark (`Lake.small_table_rows`): as three Spark jobs they took
    2.1 s of a 20 s daily Gold run (issue 18).
    """
    affected = lake.small_table_rows(
        "ops.affected_dates", ["run_id", "event_type", "business_date"]
    )
    consumed = {r["run_id"] for r in lake.small_table_rows("ops.gold_consumed", ["run_id"])}
    received = lake.small_table_rows("ops.silver_batches", ["max_received_at"])
    published = lake.small_table_rows("gold.mrr_daily", ["metric_date"])
    return (
        _data_bounds(lake, affected, received),
        max((r["metric_date"] for r in published if r["metric_date"] is not None), default=None),
        _pending_runs(affected, consumed),
    )


def _pending_runs(affected: list[dict[str, Any]], consumed: set[str]) -> list[PendingRun]:
    """Silver runs Gold has not consumed, each with its first and last affected date."""
    dates: dict[str, list[dt.date]] = {}
    for r in affected:
        if r["run_id"] not in consumed and r["business_date"] is not None:
            dates.setdefault(r["run_id"], []).append(r["business_date"])
    return [PendingRun(run_id, min(days), max(days)) for run_id, days in sorted(dates.items())]


def _data_bounds(
    lake: Lake, affected: list[dict[str, Any]], received: list[dict[str, Any]]
) -> tuple[dt.date, dt.date]:
    """(first business date of any event, latest arrival processed by Silver)."""
    first = min(
        (
            r["business_date"]
            for r in affected
            if r["event_type"] not in (None, "fx_rates") and r["business_date"] is not None
        ),
        default=None,
    )
    last = max((r["max_received_at"] for r in received if r["max_received_at"]), default=None)
    if first is None or last is None:
        raise SilverIsEmpty(_why_silver_is_empty(lake))
    return first, last.date()


def _why_silver_is_empty(lake: Lake) -> str:
    if not lake.exists("bronze.events"):
        return (
            "Bronze holds no events: land files with `finlake ingest` (or the API), "
            "then run bronze and silver"
        )
    if not lake.exists("ops.silver_batches"):
        return "Silver has not run yet: run `finlake run silver` (or `finlake run all`)"
    if lake.exists("silver.quarantine"):
        reasons = (
            lake.read("silver.quarantine")
            .groupBy("reason")
            .count()
            .orderBy(F.desc("count"))
            .limit(3)
        )
        top = ", ".join(f"{r['reason']} {r['count']}" for r in reasons.collect())
        if top:
            return (
                f"Silver accepted no events; quarantined rows by reason: {top} "
                "(see `finlake quarantine status`)"
            )
    return "Silver accepted no events yet"


def _published_values(
    lake: Lake, start: dt.date, end: dt.date
) -> dict[tuple[str, dt.date, str], Any]:
    values: dict[tuple[str, dt.date, str], Any] = {}
    by_table: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for metric, name, date_col, column in PUBLISHED:
        by_table.setdefault((name, date_col), []).append((metric, column))
    for (name, date_col), metrics in by_table.items():
        if not lake.exists(name):  # type: ignore[arg-type]
            continue
        rows = (
            lake.read(name)  # type: ignore[arg-type]
            .filter(F.col(date_col).between(start, end))
            .groupBy(date_col, "region")
            .agg(*[F.sum(column).alias(metric) for metric, column in metrics])
            .collect()
        )
        for r in rows:
            for metric, _ in metrics:
                values[(metric, r[0], r[1])] = r[metric]
    return values


# -------------------------------------------------------------------------------- build
def checkpoint(df: DataFrame) -> DataFrame:
    """`df` computed now with its lineage cut, so the plans built on it stay small.

    Gold's frames feed each other, their tests and their writes; planning the full lineage
    again for every use cost more than the data on a daily run (issue 18).
    """
    return df.localCheckpoint(eager=True)


def read_inputs(lake: Lake, end: dt.date) -> Inputs:
    """Silver tables plus the FX table, subscription changes and customer versions."""
    subscription_df = lake.read_or_empty("silver.subscription")
    fx_daily_df = checkpoint(to_fx_daily(lake.read_or_empty("silver.fx_rates"), end))
    changes_df = checkpoint(to_subscription_changes(subscription_df, fx_daily_df))
    return Inputs(
        subscription_df=subscription_df,
        payment_df=lake.read_or_empty("silver.payment"),
        usage_df=lake.read_or_empty("silver.usage"),
        cost_df=lake.read_or_empty("silver.operational_cost"),
        plans_df=lake.read_or_empty("silver.plans"),
        fx_daily_df=fx_daily_df,
        changes_df=changes_df,
        dim_customer_df=checkpoint(to_dim_customer(subscription_df)),
    )


def build_dimensions(
    lake: Lake, inputs: Inputs, data_start: dt.date, as_of: dt.date
) -> dict[TableName, tuple[DataFrame, str]]:
    """dim_time, dim_region, dim_plan, dim_customer (whole tables) with their fingerprints.

    A fingerprint names the inputs a dimension was built from (calendar bounds, the regions,
    the Silver versions); a dimension whose fingerprint matches its last commit is unchanged.
    """
    spark, settings = lake.spark, lake.settings
    regions = sorted(
        r[0]
        for r in inputs.subscription_df.select("region")
        .unionByName(inputs.cost_df.select("region"))
        .distinct()
        .collect()
    )
    regions_df = spark.createDataFrame([(r,) for r in regions], "region string")
    first, last = dim_time_bounds(data_start, as_of, settings.forecast_horizon_days)
    bounds_df = spark.createDataFrame([(first, last)], "start_date date, end_date date")
    versions = {n: lake.version(n) for n in ("silver.plans", "silver.subscription")}
    return {
        "gold.dim_time": (
            run_model(spark, "dim_time", {"date_bounds": bounds_df}),
            f"calendar {first}..{last}",
        ),
        "gold.dim_region": (
            run_model(spark, "dim_region", {"regions": regions_df}),
            "regions " + ",".join(regions),
        ),
        "gold.dim_plan": (
            run_model(spark, "dim_plan", {"plans": inputs.plans_df}),
            f"silver.plans v{versions['silver.plans']}",
        ),
        "gold.dim_customer": (
            inputs.dim_customer_df,
            f"silver.subscription v{versions['silver.subscription']}",
        ),
    }


def build_day_facts(
    lake: Lake, inputs: Inputs, rng: GoldRange, *, concurrent: bool = False
) -> dict[TableName, DataFrame]:
    """Facts and day marts for the range (each frame checkpointed: they feed later tables).

    `concurrent`: independent frames are computed at the same time, which pays on a daily
    range (small jobs, mostly fixed overhead) and costs on a full rebuild (CPU-bound jobs
    competing; 84 s -> 108 s in a fresh process, docs/benchmarks.md, issue 18).
    """
    spark = lake.spark
    in_range = F.col("event_date").between(rng.start, rng.end)
    paid_df = inputs.payment_df.filter(F.col("status") == "succeeded")
    payment_facts_df = to_payment_facts(
        inputs.payment_df.filter(in_range),
        paid_df,
        inputs.changes_df,
        inputs.dim_customer_df,
        inputs.fx_daily_df,
    )
    cost_facts_df = (
        inputs.cost_df.filter(F.col("incurred_date").between(rng.start, rng.end))
        .transform(lambda d: with_rate_on(d, inputs.fx_daily_df, "incurred_date"))
        .withColumn("amount_usd", to_usd(F.col("amount"), F.col("rate_to_usd")))
    )
    snapshot_df, revenue_df, costs_df, usage_df = _checkpoints(
        concurrent,
        [
            to_subscriptions_snapshot(
                inputs.changes_df, inputs.dim_customer_df, rng.start, rng.end
            ),
            run_model(spark, "revenue_daily", {"payment_facts": payment_facts_df}),
            run_model(spark, "costs_daily", {"cost_facts": cost_facts_df}),
            run_model(spark, "usage_daily", {"usage": inputs.usage_df.filter(in_range)}),
        ],
    )
    mrr_df, region_df = _checkpoints(
        concurrent,
        [
            run_model(spark, "mrr_daily", {"subscriptions_snapshot": snapshot_df}),
            run_model(
                spark,
                "revenue_region_daily",
                {"revenue_daily": revenue_df, "costs_daily": costs_df},
            ),
        ],
    )
    return {
        "gold.subscriptions_snapshot": snapshot_df,
        "gold.revenue_daily": revenue_df,
        "gold.costs_daily": costs_df,
        "gold.usage_daily": usage_df,
        "gold.mrr_daily": mrr_df,
        "gold.revenue_region_daily": region_df,
    }


def build_monthly(
    inputs: Inputs, rng: GoldRange, regions_df: DataFrame, *, concurrent: bool = False
) -> dict[TableName, DataFrame]:
    """MRR movements, churn and cohort retention for the months the range touches."""
    states = to_month_states(inputs.changes_df, inputs.dim_customer_df, rng.month_start, rng.end)
    marts = to_monthly_marts(states.map(checkpoint), regions_df, rng.month_start)
    names = list(marts)
    frames = _checkpoints(concurrent, [marts[name] for name in names])
    return {f"gold.{name}": df for name, df in zip(names, frames, strict=True)}  # type: ignore[misc]


def _checkpoints(concurrent: bool, frames: Sequence[DataFrame]) -> list[DataFrame]:
    """`checkpoint` of each frame (at the same time when `concurrent`); results in order."""
    return _concurrently(checkpoint, frames) if concurrent else [checkpoint(f) for f in frames]


def write_tables(
    lake: Lake,
    frames: dict[TableName, DataFrame],
    rng: GoldRange,
    fingerprints: dict[TableName, str] | None = None,
    *,
    is_small: bool = False,
) -> None:
    """Publish every tested frame: dimensions (those in `fingerprints`) whole, with their
    fingerprint; the others by their catalog mode (ranges, or whole tables on full runs).
    `is_small`: a short range, whose few rows per table are committed by delta-rs
    (`Lake.replace_range`).

    Tables are independent Delta logs, so their writes run concurrently; dimensions are
    published first, so a reader never sees a fact whose dimension row is not there yet.
    """
    fingerprints = fingerprints or {}

    def write(name: TableName) -> None:
        if name in fingerprints:
            lake.replace(name, frames[name], metadata=fingerprints[name], key_checked=True)
            return
        spec = table(name)
        monthly = spec.range_column == "month_start_date"
        start = rng.month_start if monthly else rng.start
        end = rng.end.replace(day=1) if monthly else rng.end
        lake.write(
            name,
            frames[name],
            start=start,
            end=end,
            whole=rng.full,
            key_checked=True,
            is_small=is_small,
        )

    dimensions = [name for name in frames if name in fingerprints]
    _concurrently(write, dimensions)
    _concurrently(write, [name for name in frames if name not in fingerprints])


def _concurrently(fn: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    """`fn` over `items` on `CONCURRENT_JOBS` threads (Spark jobs overlap); results in order."""
    with ThreadPoolExecutor(max_workers=CONCURRENT_JOBS) as pool:
        return list(pool.map(fn, items))


# -------------------------------------------------------------------------------- checks
def model_test_results(lake: Lake, frames: dict[TableName, DataFrame]) -> list[DQResult]:
    """Every catalog test of every frame about to be published (one Spark job per table)."""
    published = {
        fk.table: lake.read(fk.table)
        for name in frames
        for fk in table(name).foreign_keys
        if fk.table not in frames
    }
    targets = {**published, **frames}
    per_table = _concurrently(
        lambda name: to_table_test_counts(name, frames[name], targets).collect(), list(frames)
    )
    rows = [row for table_rows in per_table for row in table_rows]
    return [
        DQResult(
            r["table_name"],
            "model_test",
            r["test_name"],
            "critical" if r["severity"] == "critical" else "warn",
            "failed" if r["failed"] else "passed",
            r["rows"],
            r["failed"],
        )
        for r in rows
    ]


def reconciliation_result(monthly: DataFrame, mrr_daily_df: DataFrame, rng: GoldRange) -> DQResult:
    """Movements' closing MRR equals the sum of mrr_daily on each closing date in the range."""
    closings = monthly.select(
        "region",
        F.least(F.last_day("month_start_date"), F.lit(rng.end)).alias("metric_date"),
        "closing_mrr_usd",
    ).filter(F.col("metric_date") >= F.lit(rng.start))
    daily = mrr_daily_df.groupBy("metric_date", "region").agg(F.sum("mrr_usd").alias("_daily"))
    breaks = (
        closings.join(daily, ["metric_date", "region"], "left")
        .filter(F.coalesce("_daily", F.lit(0)) != F.col("closing_mrr_usd"))
        .count()
    )
    return DQResult(
        "gold.mrr_movements_monthly",
        "model_test",
        "closing_equals_mrr_daily",
        "critical",
        "failed" if breaks else "passed",
        failed_rows=breaks,
        threshold="closing_mrr_usd = sum(mrr_daily.mrr_usd) on the closing date",
    )


def record_restatements(
    lake: Lake,
    run_id: str,
    old: dict[tuple[str, dt.date, str], Any],
    rng: GoldRange,
    published_end: dt.date | None,
) -> int:
    """Log every changed value on already-published dates to `ops.restatements`."""
    if published_end is None or rng.start > published_end:
        return 0
    new = _published_values(lake, rng.start, min(rng.end, published_end))
    rows = []
    for key in sorted(set(old) | set(new), key=str):
        metric, day, region = key
        before, after = old.get(key, 0), new.get(key, 0)
        if day <= published_end and before != after:
            rows.append((run_id, metric, day, region, str(before), str(after)))
    if rows:
        lake.append(
            "ops.restatements",
            lake.spark.createDataFrame(
                rows,
                "run_id string, metric string, metric_date date, region string, "
                "old_value string, new_value string",
            ).withColumn("restated_at", F.current_timestamp()),
        )
    return len(rows)


# ------------------------------------------------------------------------------ the run
def run_gold(
    spark: SparkSession,
    settings: Settings,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    until: dt.date | None = None,
    full: bool = False,
    raise_on_critical: bool = True,
) -> dict[str, Any]:
    """Build Gold through the as-of date (incremental; `start`/`end` backfill; `full`)."""
    lake = Lake(spark, settings)
    params = {"start": start, "end": end, "until": until, "full": full}
    with pipeline_run(spark, settings, "gold", json.loads(json.dumps(params, default=str))) as run:
        run.phase("plan range")
        (data_start, latest_arrival), published_end, pending = _plan_inputs(lake)
        as_of = until or latest_arrival
        rng = plan_range(
            data_start=data_start,
            as_of=as_of,
            published_end=published_end,
            pending=pending,
            start=start,
            end=end,
            full=full,
        )
        if rng is None:
            run.metrics = {"skipped": True, "reason": "nothing to recompute", "as_of": str(as_of)}
            return dict(run.metrics)
        log.info("gold range", extra={"start": str(rng.start), "end": str(rng.end)})
        is_small = not rng.full and (rng.end - rng.start).days < SMALL_RANGE_DAYS
        with execution_for(spark, is_small=is_small):
            results, restated = _build_and_record(
                lake, run, rng, data_start, published_end, is_small
            )
        critical = [r for r in results if r.is_critical_failure]
        run.metrics = {
            "range_start": rng.start.isoformat(),
            "range_end": rng.end.isoformat(),
            "full": rng.full,
            "consumed_runs": len(rng.consumed) if not critical else 0,
            "restatements": restated,
            "critical_failures": [r.describe() for r in critical],
        }
        if critical and raise_on_critical:
            raise DQCriticalFailure(critical)
        return dict(run.metrics)


def _build_and_record(
    lake: Lake,
    run: RunRecord,
    rng: GoldRange,
    data_start: dt.date,
    published_end: dt.date | None,
    is_small: bool,
) -> tuple[list[DQResult], int]:
    """Build, test and publish the range, then log restatements, consumed runs and results."""
    old_values = _published_values(lake, rng.start, rng.end)
    results = _build(lake, run, rng, data_start, is_small)
    critical = [r for r in results if r.is_critical_failure]
    run.phase("bookkeeping")
    restated = 0
    if not critical:  # nothing was published otherwise: no restatement, nothing consumed
        restated = record_restatements(lake, run.run_id, old_values, rng, published_end)
        _consume(lake, run.run_id, rng)
    lake.append_rows("ops.dq_results", [r.as_row(run.run_id) for r in results])
    return results, restated


def _consume(lake: Lake, run_id: str, rng: GoldRange) -> None:
    """Mark the Silver runs this range covered as reflected in Gold."""
    if rng.consumed:
        lake.merge_insert_rows("ops.gold_consumed", [(r, run_id) for r in rng.consumed])


def _build(
    lake: Lake, run: RunRecord, rng: GoldRange, data_start: dt.date, is_small: bool
) -> list[DQResult]:
    """Build every Gold table for the range, test all of them, then publish (or raise).

    A small range computes its independent frames concurrently (see `build_day_facts`)."""
    run.phase("read silver")
    inputs = read_inputs(lake, rng.end)
    run.phase("dimensions")
    built = build_dimensions(lake, inputs, data_start, rng.end)
    changed = [  # only dimensions whose inputs changed are tested and written again
        name
        for name, (_, fingerprint) in built.items()
        if rng.full or lake.last_commit_metadata(name) != fingerprint
    ]
    dims = dict(zip(changed, _checkpoints(is_small, [built[n][0] for n in changed]), strict=True))
    regions_df = built["gold.dim_region"][0]
    run.phase("facts and marts")
    with ThreadPoolExecutor(max_workers=2 if is_small else 1) as pool:  # small jobs overlap
        days_future = pool.submit(build_day_facts, lake, inputs, rng, concurrent=is_small)
        monthly_future = pool.submit(build_monthly, inputs, rng, regions_df, concurrent=is_small)
        days, monthly = days_future.result(), monthly_future.result()
    frames = dims | days | monthly
    run.phase("model tests")
    results = model_test_results(lake, frames)
    results.append(
        reconciliation_result(monthly["gold.mrr_movements_monthly"], days["gold.mrr_daily"], rng)
    )
    critical = [r for r in results if r.is_critical_failure]
    if not critical:
        run.phase("publish")
        write_tables(lake, frames, rng, {name: built[name][1] for name in dims}, is_small=is_small)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: `jobs/gold_job.py [--until D] [--start D --end D | --full]`."""
    configure_logging()
    parser = argparse.ArgumentParser(description="silver -> gold")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=None)
    parser.add_argument(
        "--until",
        type=dt.date.fromisoformat,
        default=None,
        help="as-of date (default: the latest arrival Silver processed)",
    )
    parser.add_argument("--full", action="store_true")
    add_no_driver_flag(parser)
    args = parser.parse_args(argv)

    if not args.no_driver and (code := delegate_job("jobs.gold_job", argv)) is not None:
        return code
    settings = get_settings()
    spark = get_spark(settings, "finlake-gold")
    try:
        result = run_gold(
            spark, settings, start=args.start, end=args.end, until=args.until, full=args.full
        )
    except DQCriticalFailure as exc:
        log.error(str(exc))
        return EXIT_DQ_CRITICAL
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
