"""Forecast job end to end on small synthetic Gold Delta tables (real Spark + Delta)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from conf.settings import Settings
from jobs.forecast_job import build_series, main, register, resolve_as_of, run_forecast
from tests.catalog_schemas import spark_schema
from tests.forecasting.synthetic import LEGACY_PLAN, mrr_rows, revenue_rows

pytestmark = pytest.mark.integration

START = dt.date(2026, 1, 1)
DAYS = 120
RUN1_AS_OF = START + dt.timedelta(days=89)
RUN2_AS_OF = START + dt.timedelta(days=96)
REVENUE_SCHEMA = "revenue_date date, region string, plan_id string, net_usd decimal(18,4)"
N_SERIES = 12  # 2 metrics x (total + 2 regions + 3 plans)
LEGACY_LAST_DAY = 80  # the NA-only legacy plan has no revenue and no subscription after day 80
NO_PAYMENT_DAYS = (DAYS - 2, DAYS - 1)  # the last two days have no revenue row at all


@pytest.fixture(scope="module")
def lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Gold revenue_daily and mrr_daily: 120 days, 2 regions x 2 plans + a retired plan."""
    root: Path = tmp_path_factory.mktemp("forecast_lake")
    settings = Settings(lake_root=str(root))
    revenue = revenue_rows(
        START, DAYS, legacy_last_day=LEGACY_LAST_DAY, no_rows_days=NO_PAYMENT_DAYS
    )
    spark.createDataFrame(revenue, REVENUE_SCHEMA).write.format("delta").save(
        settings.location("gold.revenue_daily")
    )
    mrr = mrr_rows(START, DAYS, legacy_last_day=LEGACY_LAST_DAY)
    spark.createDataFrame(mrr, spark_schema("gold.mrr_daily")).write.format("delta").save(
        settings.location("gold.mrr_daily")
    )
    return settings


@pytest.fixture(scope="module")
def runs(spark: SparkSession, lake: Settings) -> dict[str, Any]:
    """Run 1 (AutoARIMA), run 2 (refit), a Gold restatement, then replay run 2."""
    run1 = run_forecast(spark, lake, as_of=RUN1_AS_OF, reselect=True)
    run2 = run_forecast(spark, lake, as_of=RUN2_AS_OF, reselect=False)
    # Restate early revenue (+10 %): a new Delta version the replay must not see.
    path = lake.location("gold.revenue_daily")
    restated_df = (
        spark.read.format("delta")
        .load(path)
        .withColumn(
            "net_usd",
            F.when(
                F.col("revenue_date") < F.lit(START + dt.timedelta(days=60)),
                (F.col("net_usd") * F.lit(Decimal("1.1"))).cast("decimal(18,4)"),
            ).otherwise(F.col("net_usd")),
        )
        .localCheckpoint()
    )
    restated_df.write.format("delta").mode("overwrite").save(path)
    replay2 = run_forecast(spark, lake, replay_run_id=run2["run_id"])
    return {"run1": run1, "run2": run2, "replay2": replay2}


def _table(spark: SparkSession, settings: Settings, layer: str, name: str) -> DataFrame:
    return spark.read.format("delta").load(settings.location(f"{layer}.{name}"))


def test_forecast_tables_hold_one_row_per_series_and_day(
    spark: SparkSession, lake: Settings, runs: dict[str, Any]
) -> None:
    revenue_df = _table(spark, lake, "gold", "forecast_revenue_daily")
    subs_df = _table(spark, lake, "gold", "forecast_active_subscriptions")
    run1_id = runs["run1"]["run_id"]
    for df in (revenue_df, subs_df):
        rows_df = df.where(F.col("run_id") == run1_id)
        assert rows_df.count() == N_SERIES // 2 * 30
        assert rows_df.select("unique_id", "forecast_date").distinct().count() == rows_df.count()
        dates = rows_df.agg(F.min("forecast_date"), F.max("forecast_date")).first()
        assert dates is not None
        assert dates[0] == RUN1_AS_OF + dt.timedelta(days=1)
        assert dates[1] == RUN1_AS_OF + dt.timedelta(days=30)
    assert dict(revenue_df.dtypes)["point"] == "decimal(18,4)"
    assert dict(revenue_df.dtypes)["lo_95"] == "decimal(18,4)"
    ids = {r["unique_id"] for r in revenue_df.select("unique_id").distinct().collect()}
    assert ids == {
        "revenue/total",
        "revenue/region=EMEA",
        "revenue/region=NA",
        "revenue/plan=basic_monthly",
        "revenue/plan=pro_monthly",
        f"revenue/plan={LEGACY_PLAN}",
    }


def test_intervals_are_ordered(spark: SparkSession, lake: Settings, runs: dict[str, Any]) -> None:
    for name in ("forecast_revenue_daily", "forecast_active_subscriptions"):
        df = _table(spark, lake, "gold", name)
        ordered = (
            (F.col("lo_95") <= F.col("lo_80"))
            & (F.col("lo_80") <= F.col("point"))
            & (F.col("point") <= F.col("hi_80"))
            & (F.col("hi_80") <= F.col("hi_95"))
        )
        assert df.where(~ordered).count() == 0, name


def test_children_sum_to_total(spark: SparkSession, lake: Settings, runs: dict[str, Any]) -> None:
    revenue_df = _table(spark, lake, "gold", "forecast_revenue_daily")
    totals_df = revenue_df.where(F.col("level") == "total").select(
        "run_id", "forecast_date", F.col("point").alias("total")
    )
    for level in ("region", "plan"):
        sums_df = (
            revenue_df.where(F.col("level") == level)
            .groupBy("run_id", "forecast_date")
            .agg(F.sum("point").alias("children"))
            .join(totals_df, ["run_id", "forecast_date"])
        )
        assert sums_df.count() == 60
        assert sums_df.where(F.col("children") != F.col("total")).count() == 0  # exact decimals
    subs_df = _table(spark, lake, "gold", "forecast_active_subscriptions")
    gap = (
        subs_df.groupBy("run_id", "forecast_date")
        .agg(
            F.sum(F.when(F.col("level") == "region", F.col("point"))).alias("regions"),
            F.sum(F.when(F.col("level") == "total", F.col("point"))).alias("total"),
        )
        .agg(F.max(F.abs(F.col("regions") - F.col("total"))))
        .first()
    )
    assert gap is not None
    assert gap[0] < 1e-6


def test_model_runs_record_orders_versions_and_champions(
    spark: SparkSession, lake: Settings, runs: dict[str, Any]
) -> None:
    model_runs_df = _table(spark, lake, "ops", "model_runs")
    run1 = model_runs_df.where(F.col("run_id") == runs["run1"]["run_id"]).collect()
    assert {r["unique_id"] for r in run1} == {r["unique_id"] for r in run1 if r["is_champion"]}
    assert sum(r["is_champion"] for r in run1) == N_SERIES
    arima = [r for r in run1 if r["model"] == "arima"]
    assert len(arima) == N_SERIES
    assert {r["selection_mode"] for r in arima} == {"auto"}
    assert {r["selection_reason"] for r in arima} == {"forced"}
    first = arima[0]
    orders = json.loads(first["orders"])
    assert len(orders["order"]) == 3
    assert orders["season_length"] == 7
    assert "coef" in json.loads(first["parameters"])
    assert json.loads(first["gold_versions"]) == {"gold.mrr_daily": 0, "gold.revenue_daily": 0}
    assert set(json.loads(first["library_versions"])) >= {"statsforecast", "pandas", "numpy"}
    assert first["code_version"]
    assert first["training_end_date"] == RUN1_AS_OF
    metrics = json.loads(first["backtest_metrics"])
    assert metrics["n_windows"] == 3
    assert {"mase", "smape", "coverage_80", "coverage_95"} <= set(metrics)
    assert {r["model"] for r in run1} >= {"arima", "seasonal_naive"}
    # 90 days, h = 30, 3 windows 7 days apart ending on day 89: origins on days 46, 53, 60.
    # The backtest orders were chosen on days 0-45 only, never on the scored days.
    for r in arima:
        backtest = json.loads(r["backtest_metrics"])
        assert backtest["orders_selection"] == "before_first_cutoff", r["unique_id"]
        selected = json.loads(r["backtest_orders"])
        assert selected["selected_through"] == (START + dt.timedelta(days=45)).isoformat()
        assert len(backtest["mase_by_window"]) == 3


def test_daily_run_refits_stored_orders(
    spark: SparkSession, lake: Settings, runs: dict[str, Any]
) -> None:
    model_runs_df = _table(spark, lake, "ops", "model_runs").where(F.col("model") == "arima")
    run1 = {
        r["unique_id"]: r["orders"]
        for r in model_runs_df.where(F.col("run_id") == runs["run1"]["run_id"]).collect()
    }
    run2 = model_runs_df.where(F.col("run_id") == runs["run2"]["run_id"]).collect()
    run1_backtest = {
        r["unique_id"]: r["backtest_orders"]
        for r in model_runs_df.where(F.col("run_id") == runs["run1"]["run_id"]).collect()
    }
    refits = [r for r in run2 if r["selection_mode"] == "refit"]
    assert refits, "run 2 should refit stored orders"
    for r in refits:
        assert r["orders"] == run1[r["unique_id"]]
        assert r["model_class"] == "ARIMA"
        # run 2's first backtest origin is day 53, after run 1's selection through day 45
        assert r["backtest_orders"] == run1_backtest[r["unique_id"]]
        assert json.loads(r["backtest_metrics"])["orders_selection"] == "stored"
    assert run2[0]["training_end_date"] == RUN2_AS_OF
    for r in run2:
        if r["selection_mode"] == "auto":
            assert r["selection_reason"] == "drift"


def test_variance_scores_earlier_forecasts(
    spark: SparkSession, lake: Settings, runs: dict[str, Any]
) -> None:
    variance_df = _table(spark, lake, "gold", "forecast_variance")
    run1_df = variance_df.where(F.col("run_id") == runs["run1"]["run_id"])
    # actuals exist for days 90-119 of every series, the payment-free last days included
    assert run1_df.count() == N_SERIES * 30
    run2_df = variance_df.where(F.col("run_id") == runs["run2"]["run_id"])
    assert run2_df.count() == N_SERIES * (DAYS - 97)
    bad_streak = run1_df.where(
        (F.col("is_inside_95") & (F.col("consecutive_days_outside_95") != 0))
        | (F.col("is_alert") != (F.col("consecutive_days_outside_95") >= 3))
        | (F.col("abs_error") != F.abs(F.col("actual") - F.col("forecast")))
    )
    assert bad_streak.count() == 0
    # one sign: error = actual - forecast, pct_error = 100 * error / |actual| (null at 0)
    bad_sign = run1_df.where(
        (F.abs(F.col("error") - (F.col("actual") - F.col("forecast"))) > 1e-9)
        | ((F.col("actual") != 0) & (F.signum("pct_error") != F.signum("error")))
        | (
            (F.col("actual") != 0)
            & (F.abs(F.col("pct_error") * F.abs("actual") - 100 * F.col("error")) > 1e-6)
        )
        | ((F.col("actual") == 0) & F.col("pct_error").isNotNull())
    )
    assert bad_sign.count() == 0


def test_days_without_gold_rows_are_scored_against_zero(
    spark: SparkSession, lake: Settings, runs: dict[str, Any]
) -> None:
    variance_df = _table(spark, lake, "gold", "forecast_variance").where(
        F.col("run_id") == runs["run1"]["run_id"]
    )
    # the legacy plan has no subscription after day 80: every day of run 1 (90-119) is 0
    legacy = variance_df.where(F.col("unique_id") == f"active_subscriptions/plan={LEGACY_PLAN}")
    rows = legacy.collect()
    assert len(rows) == 30
    for r in rows:
        assert (r["actual"], r["is_actual_filled"], r["pct_error"]) == (0.0, True, None)
        assert r["error"] == -r["forecast"]
    # no revenue row at all on the last two days: the total earned 0 there
    quiet = variance_df.where(
        (F.col("unique_id") == "revenue/total")
        & F.col("forecast_date").isin([START + dt.timedelta(days=d) for d in NO_PAYMENT_DAYS])
    ).collect()
    assert sorted((r["actual"], r["is_actual_filled"]) for r in quiet) == [(0.0, True)] * 2


def test_a_retired_plan_is_forecast_near_zero_and_regions_keep_the_total(
    spark: SparkSession, lake: Settings, runs: dict[str, Any]
) -> None:
    subs_df = _table(spark, lake, "gold", "forecast_active_subscriptions").where(
        F.col("run_id") == runs["run1"]["run_id"]
    )
    legacy = subs_df.where(F.col("key") == LEGACY_PLAN).agg(F.max(F.abs("point"))).first()
    assert legacy is not None
    # it had 52 subscriptions on its last day (day 80) and none on days 81-89
    assert legacy[0] < 52 * 0.1


def test_series_run_to_the_last_gold_day(spark: SparkSession, lake: Settings) -> None:
    revenue_df = _table(spark, lake, "gold", "revenue_daily")
    mrr_df = _table(spark, lake, "gold", "mrr_daily")
    series_df, data_end = build_series(revenue_df, mrr_df)
    assert data_end == START + dt.timedelta(days=DAYS - 1)  # mrr_daily's last day
    ends = series_df.groupBy("unique_id").agg(F.max("ds").alias("last_ds")).collect()
    assert len(ends) == N_SERIES
    assert {r["last_ds"] for r in ends} == {data_end}


def test_as_of_defaults_to_and_never_passes_the_last_gold_day() -> None:
    last = dt.date(2026, 4, 30)
    assert resolve_as_of(None, last) == last
    assert resolve_as_of(dt.date(2026, 4, 2), last) == dt.date(2026, 4, 2)
    assert resolve_as_of(dt.date(2026, 5, 1), last) == last


def test_replay_reproduces_identical_forecasts_after_a_restatement(
    spark: SparkSession, lake: Settings, runs: dict[str, Any]
) -> None:
    replay = runs["replay2"]["replay"]
    assert replay["rows_compared"] == N_SERIES * 30
    assert replay["rows_mismatched"] == 0
    assert replay["max_abs_diff"] == 0.0
    assert replay["is_identical"]
    assert runs["replay2"]["arima_modes"] == runs["run2"]["arima_modes"]
    history = (
        _table(spark, lake, "ops", "pipeline_runs")
        .where(F.col("run_id") == runs["replay2"]["run_id"])
        .first()
    )
    assert history is not None
    assert json.loads(history["params"])["gold_versions"]["gold.revenue_daily"] == 0


def test_job_records_pipeline_runs(
    spark: SparkSession, lake: Settings, runs: dict[str, Any]
) -> None:
    runs_df = _table(spark, lake, "ops", "pipeline_runs").where(F.col("job_name") == "forecast")
    statuses = {r["run_id"]: r["status"] for r in runs_df.collect()}
    for name in ("run1", "run2", "replay2"):
        assert statuses[runs[name]["run_id"]] == "succeeded"


def test_cli_parsers_accept_forecast_arguments() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["forecast", "--as-of", "2026-03-31", "--refit"])
    assert args.as_of == dt.date(2026, 3, 31)
    assert args.reselect is False
    assert callable(args.func)
    with pytest.raises(SystemExit):
        main(["--help"])


def test_mase_drift_triggers_autoarima_reselection(spark: SparkSession) -> None:
    import numpy as np

    from forecasting.models import ArimaOrders, ForecastConfig
    from jobs.forecast_job import fit_models

    t = np.arange(60)
    y = 50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 7) + np.random.default_rng(5).normal(0, 1, 60)
    series_df = spark.createDataFrame(
        [
            ("m/total", "m", "total", "total", START + dt.timedelta(days=i), float(v))
            for i, v in enumerate(y)
        ],
        "unique_id string, metric string, level string, key string, ds date, y double",
    )
    stored = ArimaOrders((0, 0, 0), (0, 0, 0), 7, include_mean=True, include_drift=False)
    selection_df = spark.createDataFrame(
        [("m/total", stored.to_json(), 1e-6, "refit")],
        "unique_id string, stored_orders string, selected_mase double, selection_reason string",
    )
    results = fit_models(
        spark,
        series_df,
        selection_df,
        ForecastConfig(horizon=7),
        n_series=1,
        allow_drift_reselect=True,
        mase_drift_ratio=0.2,
    ).collect()
    arima = next(r for r in results if r["model"] == "arima")
    assert (arima["selection_mode"], arima["selection_reason"]) == ("auto", "drift")
    assert arima["model_class"] == "AutoARIMA"
