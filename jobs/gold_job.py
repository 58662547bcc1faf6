"""Gold job: Silver -> star schema (dims, facts) and SaaS marts, incremental by affected dates.

A run recomputes the date range ``[start, end]`` where ``start`` is the earliest business date
touched by Silver runs not yet consumed by Gold (late events included) or the day after the
last published date, and ``end`` is the newest business date in Silver. Day-grain tables are
replaced with ``replaceWhere`` on that range, month-grain tables from the start's month, and
dimensions are rebuilt whole (deterministic keys). Every published value that changes on an
already published date is logged to ``ops.restatements``. Outputs are deterministic: a full
rebuild and any incremental sequence give identical tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from conf.settings import Settings, get_settings
from gold.dim_customer import to_dim_customer, with_customer_version
from gold.mrr_movements import (
    filter_bridge_breaks,
    to_churn_monthly,
    to_customer_mrr_changes,
    to_mrr_movements_monthly,
)
from gold.sql_models import run_model
from gold.subscriptions_snapshot import (
    to_subscription_changes,
    to_subscriptions_snapshot,
    with_plan_on_date,
)
from jobs import delta_io
from jobs.exit_codes import EXIT_DQ_CRITICAL
from jobs.observability import configure_logging, pipeline_run
from jobs.spark import get_spark
from silver.dq import DQ_RESULTS_SCHEMA, DQCriticalFailure, DQResult

log = logging.getLogger("finlake.gold")

DAY_TABLES = {
    "subscriptions_snapshot": "snapshot_date",
    "mrr_daily": "metric_date",
    "revenue_daily": "revenue_date",
    "costs_daily": "cost_date",
    "usage_daily": "usage_date",
    "revenue_region_daily": "revenue_date",
}
MONTH_TABLES = {"mrr_movements_monthly": "month_start_date", "churn_monthly": "month_start_date"}
DIMENSIONS = ("dim_time", "dim_region", "dim_plan", "dim_customer")
PUBLISHED = (
    ("mrr_usd", "mrr_daily", "metric_date", "mrr_usd"),
    ("active_subscriptions", "mrr_daily", "metric_date", "active_subscriptions"),
    ("net_revenue_usd", "revenue_region_daily", "revenue_date", "net_revenue_usd"),
)


class _Laps:
    """Wall seconds of consecutive phases of a run (reported in the run metrics)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t0 = time.perf_counter()

    def __call__(self, phase: str) -> None:
        """Close `phase`: the time since the previous lap."""
        now = time.perf_counter()
        self.seconds[phase] = round(now - self._t0, 3)
        self._t0 = now


def gold_path(settings: Settings, table: str) -> str:
    """Location of a Gold table."""
    return settings.table_path("gold", table)


def _silver(spark: SparkSession, settings: Settings, table: str) -> DataFrame:
    return delta_io.read_delta(spark, settings.table_path("silver", table))


def _bounds(inputs: dict[str, DataFrame]) -> tuple[dt.date, dt.date]:
    row = (
        inputs["subscription"]
        .select(F.col("event_date").alias("d"))
        .unionByName(inputs["payment"].select(F.col("event_date").alias("d")))
        .unionByName(inputs["usage"].select(F.col("event_date").alias("d")))
        .unionByName(inputs["operational_cost"].select(F.col("incurred_date").alias("d")))
        .agg(F.min("d"), F.max("d"))
        .first()
    )
    if row is None or row[0] is None:
        raise RuntimeError("Silver holds no events yet; run bronze and silver first")
    return row[0], row[1]


def _pending_affected(spark: SparkSession, settings: Settings) -> tuple[dt.date | None, list[str]]:
    affected_path = settings.table_path("ops", "affected_dates")
    if not delta_io.table_exists(spark, affected_path):
        return None, []
    affected = delta_io.read_delta(spark, affected_path)
    consumed_path = settings.table_path("ops", "gold_consumed")
    if delta_io.table_exists(spark, consumed_path):
        consumed = delta_io.read_delta(spark, consumed_path).select("run_id").distinct()
        affected = affected.join(consumed, "run_id", "left_anti")
    row = affected.agg(F.min("business_date"), F.collect_set("run_id")).first()
    if row is None:
        return None, []
    return row[0], list(row[1] or [])


def _published_end(spark: SparkSession, settings: Settings) -> dt.date | None:
    path = gold_path(settings, "mrr_daily")
    if not delta_io.table_exists(spark, path):
        return None
    value = delta_io.read_delta(spark, path).agg(F.max("metric_date")).first()
    return value[0] if value else None


def _published_values(
    spark: SparkSession, settings: Settings, start: dt.date, end: dt.date
) -> dict[tuple[str, dt.date, str], Any]:
    values: dict[tuple[str, dt.date, str], Any] = {}
    by_table: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for metric, table, date_col, column in PUBLISHED:
        by_table.setdefault((table, date_col), []).append((metric, column))
    for (table, date_col), metrics in by_table.items():  # one Spark job per table
        path = gold_path(settings, table)
        if not delta_io.table_exists(spark, path):
            continue
        rows = (
            delta_io.read_delta(spark, path)
            .filter(F.col(date_col).between(start, end))
            .groupBy(date_col, "region")
            .agg(*[F.sum(column).alias(metric) for metric, column in metrics])
            .collect()
        )
        for r in rows:
            for metric, _ in metrics:
                values[(metric, r[0], r[1])] = r[metric]
    return values


def _write_day_table(
    df: DataFrame, path: str, column: str, start: dt.date, end: dt.date, full: bool = False
) -> None:
    if not full and delta_io.table_exists(df.sparkSession, path):
        where = f"{column} >= '{start.isoformat()}' AND {column} <= '{end.isoformat()}'"
        delta_io.overwrite(df, path, replace_where=where)
    else:
        delta_io.overwrite(df, path)


def _month_ends(spark: SparkSession, start: dt.date, end: dt.date, regions: list[str]) -> DataFrame:
    months = []
    month = start.replace(day=1)
    while month <= end:
        next_month = (month + dt.timedelta(days=32)).replace(day=1)
        months.append((month, min(next_month - dt.timedelta(days=1), end)))
        month = next_month
    month_df = spark.createDataFrame(months, "month_start_date date, month_end_date date")
    return month_df.crossJoin(spark.createDataFrame([(r,) for r in regions], "region string"))


def run_gold(
    spark: SparkSession,
    settings: Settings,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    full: bool = False,
    raise_on_critical: bool = True,
) -> dict[str, Any]:
    """Build Gold for the affected range (or `start..end` for a backfill, or all with `full`)."""
    params = {"start": start, "end": end, "full": full}
    with pipeline_run(spark, settings, "gold", json.loads(json.dumps(params, default=str))) as run:
        lap = _Laps()
        inputs = {
            t: _silver(spark, settings, t)
            for t in ("subscription", "payment", "usage", "operational_cost", "plans")
        }
        data_start, data_end = _bounds(inputs)
        pending_start, pending_runs = _pending_affected(spark, settings)
        published_end = _published_end(spark, settings)
        range_end = min(end or data_end, data_end)
        if full or published_end is None:
            range_start = data_start
        elif start is not None:
            range_start = max(start, data_start)
        else:
            candidates = [published_end + dt.timedelta(days=1)]
            if pending_start is not None:
                candidates.append(pending_start)
            range_start = max(min(candidates), data_start)
        if range_start > range_end:
            run.metrics = {"skipped": True, "reason": "nothing to recompute"}
            return dict(run.metrics)
        log.info("gold range", extra={"start": str(range_start), "end": str(range_end)})
        old_values = _published_values(spark, settings, range_start, range_end)
        lap("plan_range")

        # dimensions (whole, deterministic)
        regions_df = (
            inputs["subscription"]
            .select("region")
            .unionByName(inputs["operational_cost"].select("region"))
            .distinct()
        )
        regions = sorted(r[0] for r in regions_df.collect())
        horizon_end = data_end + dt.timedelta(days=settings.forecast_horizon_days + 366)
        bounds_df = spark.createDataFrame(
            [(data_start, horizon_end)], "start_date date, end_date date"
        )
        dim_customer_df = to_dim_customer(inputs["subscription"])
        dims = {
            "dim_time": run_model(spark, "dim_time", {"date_bounds": bounds_df}),
            "dim_region": run_model(spark, "dim_region", {"regions": regions_df}),
            "dim_plan": run_model(spark, "dim_plan", {"plans": inputs["plans"]}),
            "dim_customer": dim_customer_df,
        }
        for name, df in dims.items():
            delta_io.overwrite(df, gold_path(settings, name))
        dim_customer_df = delta_io.read_delta(spark, gold_path(settings, "dim_customer"))
        lap("dimensions")

        # day-grain facts for the range
        changes_df = to_subscription_changes(inputs["subscription"]).cache()
        snapshot_df = to_subscriptions_snapshot(changes_df, dim_customer_df, range_start, range_end)
        in_range = F.col("event_date").between(range_start, range_end)
        payment_enriched = (
            inputs["payment"]
            .filter(in_range)
            .transform(lambda d: with_customer_version(d, dim_customer_df, "event_date"))
            .transform(lambda d: with_plan_on_date(d, changes_df, "event_date"))
            .withColumn("region", F.coalesce("dim_region", F.lit("UNKNOWN")))
        )
        facts = {
            "subscriptions_snapshot": snapshot_df,
            "revenue_daily": run_model(
                spark, "revenue_daily", {"payment_enriched": payment_enriched}
            ),
            "costs_daily": run_model(
                spark,
                "costs_daily",
                {
                    "operational_cost": inputs["operational_cost"].filter(
                        F.col("incurred_date").between(range_start, range_end)
                    )
                },
            ),
            "usage_daily": run_model(
                spark, "usage_daily", {"usage": inputs["usage"].filter(in_range)}
            ),
        }
        for name, df in facts.items():
            _write_day_table(
                df, gold_path(settings, name), DAY_TABLES[name], range_start, range_end, full
            )
        changes_df.unpersist()
        lap("day_facts")
        snapshot_range = delta_io.read_delta(
            spark, gold_path(settings, "subscriptions_snapshot")
        ).filter(F.col("snapshot_date").between(range_start, range_end))
        marts = {
            "mrr_daily": run_model(spark, "mrr_daily", {"subscriptions_snapshot": snapshot_range}),
            "revenue_region_daily": run_model(
                spark,
                "revenue_region_daily",
                {
                    "revenue_daily": delta_io.read_delta(
                        spark, gold_path(settings, "revenue_daily")
                    ).filter(F.col("revenue_date").between(range_start, range_end)),
                    "costs_daily": delta_io.read_delta(
                        spark, gold_path(settings, "costs_daily")
                    ).filter(F.col("cost_date").between(range_start, range_end)),
                },
            ),
        }
        for name, df in marts.items():
            _write_day_table(
                df, gold_path(settings, name), DAY_TABLES[name], range_start, range_end, full
            )
        lap("day_marts")

        # month-grain marts from the range's month
        month_start = range_start.replace(day=1)
        months_df = _month_ends(spark, month_start, range_end, regions)
        customer_changes_df = to_customer_mrr_changes(
            to_subscription_changes(inputs["subscription"]), range_end
        ).filter(F.col("month_start_date") >= F.lit(month_start))
        daily_totals_df = (
            delta_io.read_delta(spark, gold_path(settings, "mrr_daily"))
            .filter(F.col("metric_date") >= F.lit(month_start - dt.timedelta(days=1)))
            .groupBy("metric_date", "region")
            .agg(F.sum("mrr_usd").alias("mrr_usd"))
        )
        movements_df = to_mrr_movements_monthly(
            customer_changes_df, daily_totals_df, months_df
        ).cache()
        snapshot_all = delta_io.read_delta(spark, gold_path(settings, "subscriptions_snapshot"))
        opening_customers_df = (
            snapshot_all.filter("is_active")
            .withColumn("month_start_date", F.date_add("snapshot_date", 1))
            .filter(F.dayofmonth("month_start_date") == 1)
            .filter(F.col("month_start_date") >= F.lit(month_start))
            .groupBy("month_start_date", "region")
            .agg(F.countDistinct("customer_id").alias("opening_customers"))
        )
        monthly = {
            "mrr_movements_monthly": movements_df,
            "churn_monthly": to_churn_monthly(
                customer_changes_df, movements_df, opening_customers_df
            ),
        }
        for name, df in monthly.items():
            path = gold_path(settings, name)
            if not full and delta_io.table_exists(spark, path):
                where = f"month_start_date >= '{month_start.isoformat()}'"
                delta_io.overwrite(df, path, replace_where=where)
            else:
                delta_io.overwrite(df, path)
        breaks = filter_bridge_breaks(movements_df).count()
        movements_df.unpersist()
        lap("month_marts")
        month_ends_all = _month_ends(spark, data_start, range_end, ["_"]).drop("region")
        delta_io.overwrite(
            run_model(
                spark,
                "cohort_retention",
                {"subscriptions_snapshot": snapshot_all, "month_ends": month_ends_all},
            ),
            gold_path(settings, "cohort_retention"),
        )

        lap("cohort_retention")
        restated = _record_restatements(
            spark, settings, run.run_id, old_values, range_start, range_end, published_end
        )
        bridge = DQResult(
            "mrr_movements_monthly",
            "table_check",
            "mrr_bridge",
            "critical",
            "failed" if breaks else "passed",
            failed_rows=breaks,
            threshold="opening + movements = closing",
        )
        delta_io.append(
            spark.createDataFrame([bridge.as_row(run.run_id)], DQ_RESULTS_SCHEMA),
            settings.table_path("ops", "dq_results"),
        )
        if pending_runs:
            delta_io.append(
                spark.createDataFrame([(r,) for r in pending_runs], "run_id string").withColumn(
                    "gold_run_id", F.lit(run.run_id)
                ),
                settings.table_path("ops", "gold_consumed"),
            )
        run.metrics = {
            "range_start": range_start.isoformat(),
            "range_end": range_end.isoformat(),
            "restatements": restated,
            "bridge_breaks": breaks,
        }
        lap("restatements_and_dq")
        run.metrics["phase_seconds"] = lap.seconds
        if bridge.is_critical_failure and raise_on_critical:
            raise DQCriticalFailure([bridge])
        return dict(run.metrics)


def _record_restatements(
    spark: SparkSession,
    settings: Settings,
    run_id: str,
    old: dict[tuple[str, dt.date, str], Any],
    start: dt.date,
    end: dt.date,
    published_end: dt.date | None,
) -> int:
    """Log every changed value on already-published dates to `ops.restatements`."""
    if published_end is None or start > published_end:
        return 0
    new = _published_values(spark, settings, start, min(end, published_end))
    rows = []
    for key in sorted(set(old) | set(new), key=str):
        metric, day, region = key
        if day > published_end:
            continue
        before, after = old.get(key, 0), new.get(key, 0)
        if before != after:
            rows.append((run_id, metric, day, region, str(before), str(after)))
    if rows:
        delta_io.append(
            spark.createDataFrame(
                rows,
                "run_id string, metric string, metric_date date, region string, "
                "old_value string, new_value string",
            ).withColumn("restated_at", F.current_timestamp()),
            settings.table_path("ops", "restatements"),
        )
    return len(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: `spark-submit jobs/gold_job.py [--start D --end D | --full]`."""
    configure_logging()
    parser = argparse.ArgumentParser(description="silver -> gold")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args(argv)
    settings = get_settings()
    spark = get_spark(settings, "finlake-gold")
    try:
        result = run_gold(spark, settings, start=args.start, end=args.end, full=args.full)
    except DQCriticalFailure as exc:
        log.error(str(exc))
        return EXIT_DQ_CRITICAL
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
