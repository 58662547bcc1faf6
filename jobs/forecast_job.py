"""Forecast job: Gold facts -> series -> backtest -> champion -> forecast -> reconcile -> tables.

Reads `gold.revenue_daily` and `gold.mrr_daily` at a noted Delta version, builds zero-filled
daily series through the last day Gold covers (a day without rows is 0 revenue / 0 active
subscriptions; the as-of date defaults to that day and is never later), fits StatsForecast
models per series on Spark on the lookback window ending at the as-of date, and writes

* `gold.forecast_revenue_daily` (decimal(18,4) money) and `gold.forecast_active_subscriptions`
  (append; one row per run x series x forecast_date, reconciled champion forecasts);
* `ops.model_runs` (append; one row per run x series x model with orders, parameters, training
  window, Gold versions, code and library versions, backtest metrics, champion flag);
* `gold.forecast_variance` (overwritten; every recorded forecast day that now has an actual).

`replay_run_id` recomputes a recorded run from its `ops.model_runs` rows (same Gold versions via
`versionAsOf`, same training window and config, same selection mode and orders), compares the
numbers with the stored forecasts and writes nothing but the run log.

Spark-submit entry point: `spark-submit jobs/forecast_job.py --as-of 2026-06-30`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from conf.catalog import TableName
from conf.settings import Settings, get_settings
from forecasting.backtest import with_champion
from forecasting.models import ForecastConfig, with_forecast_rows, with_model_results
from forecasting.reconcile import bound_columns, with_decimal_values, with_reconciled_forecasts
from forecasting.selection import (
    filter_drifted,
    with_latest_selection,
    with_selection_plan,
)
from forecasting.series import ACTIVE_SUBSCRIPTIONS, REVENUE, filter_training_window, to_series
from forecasting.variance import with_forecast_variance
from jobs.driver import add_no_driver_flag, delegate_job
from jobs.lake import Lake
from jobs.observability import configure_logging, pipeline_run
from jobs.spark import session_settings

JOB_NAME = "forecast"
log = logging.getLogger("finlake.forecast")

SOURCE_TABLES: tuple[TableName, ...] = ("gold.revenue_daily", "gold.mrr_daily")
FORECAST_TABLES: dict[str, TableName] = {
    REVENUE: "gold.forecast_revenue_daily",
    ACTIVE_SUBSCRIPTIONS: "gold.forecast_active_subscriptions",
}
LIBRARIES: tuple[str, ...] = ("statsforecast", "pandas", "numpy", "scipy", "pyspark", "delta-spark")


@dataclass(frozen=True)
class RunPlan:
    """Everything that determines a run's numbers (what a replay must reproduce)."""

    as_of: dt.date
    training_start: dt.date
    config: ForecastConfig
    gold_versions: dict[str, int]
    replay_of: str | None = None


# ----------------------------------------------------------------------------- helpers


def code_version() -> str:
    """Git commit of the checkout if available, else the installed package version."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        if sha:
            return f"git:{sha}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"finlake=={metadata.version('finlake')}"
    except metadata.PackageNotFoundError:
        return "unknown"


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape the numbers."""
    versions: dict[str, str] = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


# ----------------------------------------------------------------------------- reading


def read_gold_facts(
    spark: SparkSession, settings: Settings, gold_versions: dict[str, int]
) -> tuple[DataFrame, DataFrame]:
    """`gold.revenue_daily` and `gold.mrr_daily` at the given versions (all history)."""
    lake = Lake(spark, settings)
    revenue_df = lake.read("gold.revenue_daily", gold_versions["gold.revenue_daily"])
    mrr_df = lake.read("gold.mrr_daily", gold_versions["gold.mrr_daily"])
    return revenue_df, mrr_df


def _read_model_runs(spark: SparkSession, settings: Settings) -> DataFrame | None:
    lake = Lake(spark, settings)
    return lake.read("ops.model_runs") if lake.exists("ops.model_runs") else None


def _replay_plan(spark: SparkSession, settings: Settings, run_id: str) -> tuple[RunPlan, DataFrame]:
    runs_df = _read_model_runs(spark, settings)
    if runs_df is None:
        raise ValueError("ops.model_runs does not exist; nothing to replay")
    recorded_df = runs_df.where(F.col("run_id") == run_id)
    first = recorded_df.first()
    if first is None:
        raise ValueError(f"run {run_id!r} not found in ops.model_runs")
    config_raw = json.loads(first["run_config"])
    config = ForecastConfig(
        horizon=int(config_raw["horizon"]),
        levels=tuple(int(v) for v in config_raw["levels"]),
        season_length=int(config_raw["season_length"]),
        cv_windows=int(config_raw["cv_windows"]),
        cv_step=int(config_raw["cv_step"]),
        min_train=int(config_raw["min_train"]),
        cv_reselect=bool(config_raw["cv_reselect"]),
    )
    plan = RunPlan(
        as_of=first["as_of_date"],
        training_start=dt.date.fromisoformat(config_raw["training_start"]),
        config=config,
        gold_versions={k: int(v) for k, v in json.loads(first["gold_versions"]).items()},
        replay_of=run_id,
    )
    is_refit = F.col("selection_mode") == "refit"
    backtest_orders = (
        F.col("backtest_orders") if "backtest_orders" in recorded_df.columns else F.lit(None)
    )
    selection_df = recorded_df.where(F.col("model") == "arima").select(
        "unique_id",
        F.when(is_refit, F.col("orders")).alias("stored_orders"),
        F.when(is_refit, backtest_orders).cast("string").alias("stored_backtest_orders"),
        F.lit(None).cast("double").alias("selected_mase"),
        F.concat(F.lit("replay:"), F.col("selection_reason")).alias("selection_reason"),
    )
    return plan, selection_df


# ----------------------------------------------------------------------------- core


def build_series(revenue_df: DataFrame, mrr_df: DataFrame) -> tuple[DataFrame, dt.date]:
    """Zero-filled series of both metrics through the last day Gold covers (and that day).

    Gold writes `mrr_daily` rows for every day with an active subscription through its as-of
    date, while `revenue_daily` has no row on a day without payments; so the last day in
    either table is the last day Gold covers, and every series is zero-filled up to it.
    """
    last_df = revenue_df.select(F.max("revenue_date").alias("d")).unionByName(
        mrr_df.select(F.max("metric_date").alias("d"))
    )
    row = last_df.agg(F.max("d")).first()
    data_end = row[0] if row is not None else None
    if data_end is None:
        raise ValueError("Gold tables are empty; nothing to forecast")
    return to_series(revenue_df, mrr_df, data_end), data_end


def resolve_as_of(requested: dt.date | None, data_end: dt.date) -> dt.date:
    """The run's as-of date: the requested one, never later than the last day Gold covers.

    A later as-of (e.g. a scheduled run whose day has no data in Gold yet) would have to
    invent zeros for days Gold has not built, so it is moved back to `data_end`.
    """
    if requested is None:
        return data_end
    if requested > data_end:
        log.warning(
            "as-of date after the last Gold day; forecasting as of the last Gold day",
            extra={"requested_as_of": requested.isoformat(), "as_of": data_end.isoformat()},
        )
        return data_end
    return requested


def fit_models(
    spark: SparkSession,
    series_df: DataFrame,
    selection_df: DataFrame,
    config: ForecastConfig,
    *,
    n_series: int,
    allow_drift_reselect: bool,
    mase_drift_ratio: float,
) -> DataFrame:
    """Run the model pass (refit or AutoARIMA per series), then reselect drifted series."""
    # two balanced tasks per core (see `with_balanced_partitions`)
    partitions = max(1, min(n_series, 2 * spark.sparkContext.defaultParallelism))
    planned_df = series_df.join(selection_df, "unique_id", "left")
    extra_cols = ["selected_mase", "selection_reason"]
    info_df = selection_df.select("unique_id", *extra_cols)
    results_df = (
        planned_df.transform(lambda df: with_model_results(df, config, partitions))
        .join(info_df, "unique_id", "left")
        .cache()
    )
    results_df.count()
    if not allow_drift_reselect:
        return results_df
    drifted = [r["unique_id"] for r in filter_drifted(results_df, mase_drift_ratio).collect()]
    if not drifted:
        return results_df
    log.info("mase drift: reselecting orders", extra={"series": drifted})
    drifted_series_df = series_df.where(F.col("unique_id").isin(drifted))
    reselected_df = (
        drifted_series_df.transform(
            lambda df: with_model_results(df, config, min(len(drifted), partitions))
        )
        .join(info_df.drop("selection_reason"), "unique_id", "left")
        .withColumn("selection_reason", F.lit("drift"))
    )
    merged_df = (
        results_df.where(~F.col("unique_id").isin(drifted)).unionByName(reselected_df).cache()
    )
    merged_df.count()
    results_df.unpersist()
    return merged_df


def build_forecasts(results_df: DataFrame, config: ForecastConfig) -> dict[str, DataFrame]:
    """Champion rows -> reconciled forecast rows per metric (revenue as decimal(18,4))."""
    rows_df = with_forecast_rows(results_df.where(F.col("is_champion")), config.levels)
    reconciled_df = with_reconciled_forecasts(rows_df, config.levels)
    out: dict[str, DataFrame] = {}
    for metric in FORECAST_TABLES:
        metric_df = reconciled_df.where(F.col("metric") == metric)
        if metric == REVENUE:
            metric_df = with_decimal_values(metric_df, config.levels)
        out[metric] = metric_df
    return out


def _forecast_output(
    forecast_df: DataFrame, config: ForecastConfig, run_id: str, as_of: dt.date, at: dt.datetime
) -> DataFrame:
    return forecast_df.select(
        "unique_id",
        "metric",
        "level",
        "key",
        "forecast_date",
        "point",
        *bound_columns(config.levels),
        "base_point",
        "model",
        "selection_mode",
        F.lit(run_id).alias("run_id"),
        F.lit(as_of).alias("as_of_date"),
        F.lit(at).cast("timestamp").alias("created_at"),
    )


def _model_runs_output(
    results_df: DataFrame, plan: RunPlan, run_id: str, at: dt.datetime
) -> DataFrame:
    run_config = {**plan.config.to_dict(), "training_start": plan.training_start.isoformat()}
    return results_df.select(
        F.lit(run_id).alias("run_id"),
        "unique_id",
        "metric",
        "level",
        "key",
        "model",
        "model_class",
        "selection_mode",
        F.coalesce(F.col("selection_reason"), F.lit("baseline")).alias("selection_reason"),
        "orders",
        "backtest_orders",
        F.col("parameters"),
        F.lit(json.dumps(run_config, sort_keys=True)).alias("run_config"),
        "aic",
        F.col("train_start").alias("training_start_date"),
        F.col("train_end").alias("training_end_date"),
        "n_obs",
        F.lit(json.dumps(plan.gold_versions, sort_keys=True)).alias("gold_versions"),
        F.lit(code_version()).alias("code_version"),
        F.lit(json.dumps(library_versions(), sort_keys=True)).alias("library_versions"),
        F.col("backtest").alias("backtest_metrics"),
        "mase",
        "smape",
        *[F.col(f"coverage_{lv}") for lv in plan.config.levels],
        "is_champion",
        "n_convergence_warnings",
        "n_other_warnings",
        "fit_error",
        "fit_seconds",
        F.lit(plan.as_of).alias("as_of_date"),
        F.lit(at).cast("timestamp").alias("created_at"),
    )


def compare_with_recorded(
    spark: SparkSession, settings: Settings, forecasts: dict[str, DataFrame], run_id: str
) -> dict[str, Any]:
    """Compare recomputed forecasts with the stored rows of `run_id` (exact equality)."""
    value_cols = ["point", "lo_80", "hi_80", "lo_95", "hi_95"]
    compared, mismatched, max_diff = 0, 0, 0.0
    for metric, table in FORECAST_TABLES.items():
        stored_df = Lake(spark, settings).read(table).where(F.col("run_id") == run_id)
        new_df = forecasts[metric]
        cols = [c for c in value_cols if c in new_df.columns]
        joined_df = stored_df.alias("s").join(
            new_df.alias("n"), ["unique_id", "forecast_date"], "full_outer"
        )
        diffs = [
            F.abs(F.col(f"s.{c}").cast("double") - F.col(f"n.{c}").cast("double")) for c in cols
        ]
        is_equal = F.col("s.model").eqNullSafe(F.col("n.model"))
        for c in cols:
            is_equal = is_equal & F.col(f"s.{c}").eqNullSafe(F.col(f"n.{c}"))
        stats = joined_df.agg(
            F.count(F.lit(1)).alias("n"),
            F.sum(F.when(is_equal, 0).otherwise(1)).alias("bad"),
            F.max(F.greatest(*diffs)).alias("max_diff"),
        ).first()
        if stats is None:
            continue
        compared += int(stats["n"] or 0)
        mismatched += int(stats["bad"] or 0)
        max_diff = max(max_diff, float(stats["max_diff"] or 0.0))
    return {
        "replay_of": run_id,
        "rows_compared": compared,
        "rows_mismatched": mismatched,
        "max_abs_diff": max_diff,
        "is_identical": compared > 0 and mismatched == 0,
    }


def _append(lake: Lake, name: TableName, df: DataFrame) -> int:
    """Append to a table and return the rows written (from the commit's metrics)."""
    lake.append(name, df)
    return lake.rows_written(name)


@contextmanager
def _phase(timings: dict[str, float], name: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - t0, 3)


def run_forecast(
    spark: SparkSession,
    settings: Settings,
    as_of: dt.date | None = None,
    reselect: bool | None = None,
    replay_run_id: str | None = None,
) -> dict[str, Any]:
    """Run (or replay) the forecast pipeline; returns a summary of what was produced."""
    params: dict[str, Any] = {"as_of": as_of, "reselect": reselect, "replay_run_id": replay_run_id}
    timings: dict[str, float] = {}
    with (
        pipeline_run(spark, settings, JOB_NAME, params) as run,
        session_settings(spark, {"spark.sql.adaptive.coalescePartitions.enabled": "false"}),
    ):
        lake = Lake(spark, settings)
        with _phase(timings, "plan"):
            if replay_run_id:
                plan, selection_df = _replay_plan(spark, settings, replay_run_id)
                revenue_df, mrr_df = read_gold_facts(spark, settings, plan.gold_versions)
                series_df, _ = build_series(revenue_df, mrr_df)
                all_series_df = series_df.cache()
            else:
                plan, all_series_df, selection_df = _new_plan(spark, settings, as_of, reselect)
            if as_of is not None and as_of != plan.as_of:
                run.params["requested_as_of"] = as_of.isoformat()
            run.params.update(
                as_of=plan.as_of.isoformat(),
                training_start=plan.training_start.isoformat(),
                gold_versions=plan.gold_versions,
            )
            train_df = all_series_df.transform(
                lambda df: filter_training_window(df, plan.training_start, plan.as_of)
            )
            sizes = train_df.agg(F.count(F.lit(1)), F.countDistinct("unique_id")).first()
            run.rows_in = int(sizes[0]) if sizes is not None else 0
            n_series = int(sizes[1]) if sizes is not None else 0
        with _phase(timings, "fit"):
            fitted_df = fit_models(
                spark,
                train_df,
                selection_df,
                plan.config,
                n_series=n_series,
                allow_drift_reselect=replay_run_id is None and reselect is not True,
                mase_drift_ratio=float(settings.forecast_mase_drift_ratio),
            )
            results_df = fitted_df.transform(with_champion)
            forecasts = build_forecasts(results_df, plan.config)
            summary = _summarise(results_df)
        if replay_run_id:
            with _phase(timings, "compare"):
                summary["replay"] = compare_with_recorded(spark, settings, forecasts, replay_run_id)
        else:
            with _phase(timings, "write"):
                run.rows_out = _write_forecasts(lake, forecasts, results_df, plan, run.run_id)
                summary["forecast_rows"] = run.rows_out
            with _phase(timings, "variance"):
                summary["variance_rows"] = write_variance(
                    spark, settings, all_series_df, plan.config
                )
        fitted_df.unpersist()
        all_series_df.unpersist()
        summary["phase_seconds"] = timings
        run.metrics.update(summary)
        log.info("forecast run finished", extra=summary)
        return {"run_id": run.run_id, "as_of": plan.as_of, **summary}


def _write_forecasts(
    lake: Lake,
    forecasts: dict[str, DataFrame],
    results_df: DataFrame,
    plan: RunPlan,
    run_id: str,
) -> int:
    """Append the run's forecasts and its model metadata; returns the forecast rows written."""
    created_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    rows_out = 0
    for metric, table in FORECAST_TABLES.items():
        out_df = _forecast_output(forecasts[metric], plan.config, run_id, plan.as_of, created_at)
        rows_out += _append(lake, table, out_df)
    _append(lake, "ops.model_runs", _model_runs_output(results_df, plan, run_id, created_at))
    return rows_out


def _new_plan(
    spark: SparkSession, settings: Settings, as_of: dt.date | None, reselect: bool | None
) -> tuple[RunPlan, DataFrame, DataFrame]:
    """Note the Gold versions, pick the training window and each series' selection mode."""
    lake = Lake(spark, settings)
    gold_versions: dict[str, int] = {}
    for name in SOURCE_TABLES:
        version = lake.version(name)
        if version is None:
            raise RuntimeError(f"{name} does not exist yet: run `finlake run all` first")
        gold_versions[name] = version
    revenue_df, mrr_df = read_gold_facts(spark, settings, gold_versions)
    series_df, data_end = build_series(revenue_df, mrr_df)
    all_series_df = series_df.cache()
    as_of = resolve_as_of(as_of, data_end)
    lookback = settings.forecast_lookback_days
    plan = RunPlan(
        as_of=as_of,
        training_start=as_of - dt.timedelta(days=lookback - 1),
        config=ForecastConfig.from_settings(settings),
        gold_versions=gold_versions,
    )
    runs_df = _read_model_runs(spark, settings)
    if runs_df is None:
        latest_df = spark.createDataFrame(
            [],
            "unique_id string, stored_orders string, stored_backtest_orders string, "
            "selected_mase double, selected_on date, selected_run_id string",
        )
    else:
        latest_df = with_latest_selection(
            runs_df.where(F.col("training_end_date") <= F.lit(plan.as_of))
        )
    every = settings.forecast_reselect_every_days
    selection_df = with_selection_plan(all_series_df, latest_df, plan.as_of, reselect, every)
    return plan, all_series_df, selection_df


def write_variance(
    spark: SparkSession, settings: Settings, actual_df: DataFrame, config: ForecastConfig
) -> int:
    """Recompute `gold.forecast_variance` from every recorded forecast with an actual.

    `actual_df` is the zero-filled series (`build_series`), so days without Gold rows are
    scored against 0.
    """
    cols = [
        "run_id",
        "unique_id",
        "metric",
        "level",
        "key",
        "forecast_date",
        "as_of_date",
        "model",
        "point",
        *bound_columns(config.levels),
    ]
    lake = Lake(spark, settings)
    parts = [
        lake.read(table).select(
            *[
                F.col(c).cast("double") if c in ("point", *bound_columns(config.levels)) else c
                for c in cols
            ]
        )
        for table in FORECAST_TABLES.values()
    ]
    forecast_df = parts[0].unionByName(parts[1])
    variance_df = with_forecast_variance(forecast_df, actual_df, config.levels)
    lake.replace("gold.forecast_variance", variance_df)
    return lake.rows_written("gold.forecast_variance")


def _summarise(results_df: DataFrame) -> dict[str, Any]:
    rows = (
        results_df.groupBy("model", "selection_mode", "is_champion")
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.sum("n_convergence_warnings").alias("warnings"),
            F.sum(F.col("fit_error").isNotNull().cast("int")).alias("errors"),
        )
        .collect()
    )
    champions: dict[str, int] = {}
    modes: dict[str, int] = {}
    warnings_total, errors = 0, 0
    for r in rows:
        if r["is_champion"]:
            champions[r["model"]] = champions.get(r["model"], 0) + int(r["n"])
        if r["model"] == "arima":
            modes[r["selection_mode"]] = modes.get(r["selection_mode"], 0) + int(r["n"])
        warnings_total += int(r["warnings"] or 0)
        errors += int(r["errors"] or 0)
    n_series = sum(champions.values())
    return {
        "series": n_series,
        "champions": champions,
        "arima_modes": modes,
        "convergence_warnings": warnings_total,
        "fit_errors": errors,
    }


# ----------------------------------------------------------------------------- CLI


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", type=dt.date.fromisoformat, help="last training day (ISO)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--reselect", dest="reselect", action="store_true", default=None, help="force AutoARIMA"
    )
    group.add_argument(
        "--refit", dest="reselect", action="store_false", help="refit stored orders only"
    )
    parser.add_argument("--replay", dest="replay_run_id", help="replay a recorded run id")
    add_no_driver_flag(parser)


def _run_from_args(args: argparse.Namespace) -> int:
    from jobs.spark import get_spark

    settings = get_settings()
    spark = get_spark(settings, "finlake-forecast")
    result = run_forecast(
        spark, settings, as_of=args.as_of, reselect=args.reselect, replay_run_id=args.replay_run_id
    )
    print(json.dumps(result, default=str, sort_keys=True))
    replay = result.get("replay")
    return 1 if isinstance(replay, dict) and not replay.get("is_identical") else 0


def register(subparsers: Any) -> None:
    """Add the `forecast` subcommand to the finlake CLI."""
    parser = subparsers.add_parser("forecast", help="forecast revenue and subscriptions")
    _add_arguments(parser)
    parser.set_defaults(func=_run_from_args)


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit / `python -m jobs.forecast_job` entry point."""
    configure_logging()
    parser = argparse.ArgumentParser(prog="forecast_job", description=__doc__.splitlines()[0])
    _add_arguments(parser)
    args = parser.parse_args(argv)
    if not args.no_driver and (code := delegate_job("jobs.forecast_job", argv)) is not None:
        return code
    return _run_from_args(args)


if __name__ == "__main__":
    sys.exit(main())
