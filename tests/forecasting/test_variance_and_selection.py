"""Forecast variance streaks/alerts, and the refit-vs-reselect decision."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality
from pyspark.sql import SparkSession

from forecasting.selection import filter_drifted, with_latest_selection, with_selection_plan
from forecasting.series import with_active_subscriptions_series
from forecasting.variance import with_forecast_variance
from tests.catalog_schemas import spark_schema

D0 = dt.date(2026, 3, 1)
VARIANCE_FORECAST_SCHEMA = (
    "run_id string, unique_id string, metric string, level string, key string, "
    "forecast_date date, as_of_date date, model string, point double, lo_80 double, "
    "hi_80 double, lo_95 double, hi_95 double"
)


def _d(i: int) -> dt.date:
    return D0 + dt.timedelta(days=i)


def _ts(i: int) -> dt.datetime:
    return dt.datetime.combine(_d(i - 1), dt.time(2, 0))


def test_consecutive_days_outside_95_and_alert_after_three(spark: SparkSession) -> None:
    # actual inside, out, out, out, in, out (95 band is [9, 11] every day)
    actuals = [10.0, 20.0, 20.0, 20.0, 10.0, 20.0]
    forecast_df = spark.createDataFrame(
        [
            ("run1", "u", "m", "total", "total", _d(i), D0, "arima", 10.0, 9.5, 10.5, 9.0, 11.0)
            for i in range(6)
        ],
        VARIANCE_FORECAST_SCHEMA,
    )
    actual_df = spark.createDataFrame(
        [("u", _d(i), y, False) for i, y in enumerate(actuals)] + [("u", _d(9), 10.0, False)],
        "unique_id string, ds date, y double, is_filled boolean",
    )
    actual = with_forecast_variance(forecast_df, actual_df, (80, 95)).select(
        "forecast_date",
        "error",
        "abs_error",
        "pct_error",
        "is_inside_95",
        "consecutive_days_outside_95",
        "is_alert",
    )
    # actual 20 vs forecast 10: error = 20 - 10 = +10, pct_error = 100 * 10 / |20| = +50
    expected = spark.createDataFrame(
        [
            (_d(0), 0.0, 0.0, 0.0, True, 0, False),
            (_d(1), 10.0, 10.0, 50.0, False, 1, False),
            (_d(2), 10.0, 10.0, 50.0, False, 2, False),
            (_d(3), 10.0, 10.0, 50.0, False, 3, True),
            (_d(4), 0.0, 0.0, 0.0, True, 0, False),
            (_d(5), 10.0, 10.0, 50.0, False, 1, False),
        ],
        "forecast_date date, error double, abs_error double, pct_error double, "
        "is_inside_95 boolean, consecutive_days_outside_95 int, is_alert boolean",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_error_and_pct_error_share_one_sign(spark: SparkSession) -> None:
    # over-forecast: actual 8 vs 10 -> error -2, pct -25; under: 16 vs 10 -> +6, +37.5;
    # a negative actual (net refunds) -5 vs 10 -> error -15, pct 100 * -15 / |-5| = -300
    forecast_df = spark.createDataFrame(
        [
            ("run1", "u", "m", "total", "total", _d(i), D0, "arima", 10.0, 9.0, 11.0, 8.0, 12.0)
            for i in range(3)
        ],
        VARIANCE_FORECAST_SCHEMA,
    )
    actual_df = spark.createDataFrame(
        [("u", _d(0), 8.0, False), ("u", _d(1), 16.0, False), ("u", _d(2), -5.0, False)],
        "unique_id string, ds date, y double, is_filled boolean",
    )
    rows = {
        r["forecast_date"]: (r["error"], r["pct_error"])
        for r in with_forecast_variance(forecast_df, actual_df, (80, 95)).collect()
    }
    assert rows == {_d(0): (-2.0, -25.0), _d(1): (6.0, 37.5), _d(2): (-15.0, -300.0)}


def test_variance_scores_days_without_gold_rows_against_zero(spark: SparkSession) -> None:
    # NA/pro has 5 subscriptions on day 0 and 4 on day 1, then none (no mrr_daily rows) on
    # days 2-3; Gold covers day 3. The forecast made on day 0 says 4.5 for days 1-3.
    mrr_df = spark.createDataFrame(
        [
            (_d(0), "NA", "pro", "smb", Decimal("50.0000"), 5, 5),
            (_d(1), "NA", "pro", "smb", Decimal("40.0000"), 4, 4),
        ],
        spark_schema("gold.mrr_daily"),
    )
    actual_df = with_active_subscriptions_series(mrr_df, _d(3))
    uid = "active_subscriptions/region=NA"
    forecast_df = spark.createDataFrame(
        [
            (
                "run1",
                uid,
                "active_subscriptions",
                "region",
                "NA",
                _d(i),
                _d(0),
                "arima",
                4.5,
                4.0,
                5.0,
                3.5,
                5.5,
            )
            for i in (1, 2, 3)
        ],
        VARIANCE_FORECAST_SCHEMA,
    )
    actual = with_forecast_variance(forecast_df, actual_df, (80, 95)).select(
        "forecast_date",
        "actual",
        "error",
        "pct_error",
        "is_inside_95",
        "consecutive_days_outside_95",
        "is_actual_filled",
    )
    # day 1: 4 - 4.5 = -0.5, 100 * -0.5 / 4 = -12.5; days 2-3: 0 - 4.5 = -4.5, pct undefined
    expected = spark.createDataFrame(
        [
            (_d(1), 4.0, -0.5, -12.5, True, 0, False),
            (_d(2), 0.0, -4.5, None, False, 1, True),
            (_d(3), 0.0, -4.5, None, False, 2, True),
        ],
        "forecast_date date, actual double, error double, pct_error double, "
        "is_inside_95 boolean, consecutive_days_outside_95 int, is_actual_filled boolean",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_selection_refits_fresh_orders_and_reselects_old_or_missing(spark: SparkSession) -> None:
    runs_df = spark.createDataFrame(
        [
            ("r1", "a", "arima", "auto", '{"o": 1}', '{"bt": 1}', 0.9, _d(0), _ts(1)),
            ("r2", "a", "arima", "refit", '{"o": 1}', '{"bt": 9}', 1.0, _d(1), _ts(2)),
            ("r1", "b", "arima", "auto", '{"o": 2}', '{"bt": 2}', 0.8, _d(-7), _ts(-6)),
            ("r1", "c", "seasonal_naive", "baseline", None, None, 1.5, _d(0), _ts(1)),
        ],
        "run_id string, unique_id string, model string, selection_mode string, orders string, "
        "backtest_orders string, mase double, training_end_date date, created_at timestamp",
    )
    ids_df = spark.createDataFrame([("a",), ("b",), ("c",)], "unique_id string")
    latest_df = with_latest_selection(runs_df)
    plan_df = with_selection_plan(ids_df, latest_df, _d(2), reselect=None)
    # a: refit with the orders and backtest orders of its latest *selection* (r1, not r2)
    expected_df = spark.createDataFrame(
        [
            ("a", '{"o": 1}', '{"bt": 1}', 0.9, "refit"),
            ("b", None, None, 0.8, "schedule"),
            ("c", None, None, None, "initial"),
        ],
        "unique_id string, stored_orders string, stored_backtest_orders string, "
        "selected_mase double, selection_reason string",
    )
    assert_df_equality(plan_df, expected_df, ignore_row_order=True, ignore_nullable=True)
    forced = with_selection_plan(ids_df, latest_df, _d(2), True).collect()
    assert {r["selection_reason"] for r in forced} == {"forced"}
    assert {r["stored_backtest_orders"] for r in forced} == {None}
    refit_only = with_selection_plan(ids_df, latest_df, _d(2), False).collect()
    assert {
        r["unique_id"]: (r["selection_reason"], r["stored_backtest_orders"]) for r in refit_only
    } == {"a": ("refit", '{"bt": 1}'), "b": ("refit", '{"bt": 2}'), "c": ("initial", None)}


def test_selections_recorded_before_backtest_orders_existed_refit_without_them(
    spark: SparkSession,
) -> None:
    runs_df = spark.createDataFrame(
        [("r1", "a", "arima", "auto", '{"o": 1}', 0.9, _d(0), _ts(1))],
        "run_id string, unique_id string, model string, selection_mode string, orders string, "
        "mase double, training_end_date date, created_at timestamp",
    )
    ids_df = spark.createDataFrame([("a",)], "unique_id string")
    plan = with_selection_plan(ids_df, with_latest_selection(runs_df), _d(1), None).collect()
    assert [(r["stored_orders"], r["stored_backtest_orders"]) for r in plan] == [('{"o": 1}', None)]


def test_drift_flags_refits_whose_mase_grew_beyond_the_ratio(spark: SparkSession) -> None:
    results_df = spark.createDataFrame(
        [
            ("a", "arima", "refit", 1.0, 1.19),
            ("b", "arima", "refit", 1.0, 1.21),
            ("c", "arima", "auto", 1.0, 5.0),
            ("d", "seasonal_naive", "baseline", 1.0, 5.0),
        ],
        "unique_id string, model string, selection_mode string, selected_mase double, mase double",
    )
    drifted = [r["unique_id"] for r in filter_drifted(results_df, 0.2).collect()]
    assert drifted == ["b"]
