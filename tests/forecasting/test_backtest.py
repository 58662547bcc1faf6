"""Backtest metrics on hand-computable examples, window planning and champion choice."""

from __future__ import annotations

import math

import numpy as np
import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from forecasting.backtest import (
    BacktestPlan,
    FloatArray,
    backtest,
    coverage,
    mase,
    plan_windows,
    smape,
    with_champion,
)


def test_mase_scales_by_in_sample_seasonal_naive_error() -> None:
    train = [1.0, 2.0, 3.0, 5.0, 7.0]  # lag-2 diffs: 2, 3, 4 -> scale 3
    assert mase([10.0, 10.0], [7.0, 13.0], train, season_length=2) == pytest.approx(1.0)


def test_mase_falls_back_to_lag_one_for_a_flat_seasonal_history() -> None:
    train = [1.0, 2.0, 1.0, 2.0]  # lag-2 diffs all 0; lag-1 diffs 1, 1, 1 -> scale 1
    assert mase([4.0], [2.0], train, season_length=2) == pytest.approx(2.0)
    assert math.isnan(mase([4.0], [2.0], [3.0, 3.0, 3.0], season_length=2))


def test_smape_counts_zero_over_zero_as_perfect() -> None:
    # terms: 200*|100-110|/210 = 9.5238..., 0/0 -> 0, 200*|0-5|/5 = 200
    assert smape([100.0, 0.0, 0.0], [110.0, 0.0, 5.0]) == pytest.approx(
        (200 * 10 / 210 + 0 + 200) / 3
    )


def test_coverage_counts_bounds_as_inside() -> None:
    assert coverage([1.0, 2.0, 3.0, 4.0], [1.0, 0.0, 3.5, 0.0], [2.0, 1.0, 4.0, 4.0]) == 0.5


def test_windows_roll_forward_by_step_and_shrink_for_short_series() -> None:
    assert plan_windows(120, 30, 3, 7, 28) == BacktestPlan((76, 83, 90), 30)
    short = plan_windows(60, 30, 3, 7, 28)
    assert short.h == 18
    assert short.cutoffs[-1] + short.h == 60
    assert plan_windows(20, 30, 3, 7, 28) == BacktestPlan((), 0)


def test_backtest_averages_window_metrics_and_counts_failures() -> None:
    y = np.arange(20, dtype=float)

    def last_value(train: FloatArray, h: int) -> dict[str, FloatArray]:
        if len(train) == 14:
            raise RuntimeError("boom")
        mean = np.full(h, train[-1])
        return {"mean": mean, "lo-80": mean - 1, "hi-80": mean + 1}

    result = backtest(y, last_value, BacktestPlan((12, 14, 16), 2), [80], season_length=1)
    # windows 12 and 16: errors 1, 2 -> MAE 1.5, in-sample naive MAE 1 -> MASE 1.5
    assert result["mase"] == pytest.approx(1.5)
    assert result["coverage_80"] == pytest.approx(0.5)
    assert result["n_windows"] == 2
    assert result["failed_windows"] == 1


def test_champion_is_lowest_mase_with_priority_for_ties_and_failures(spark: SparkSession) -> None:
    schema = "unique_id string, model string, mase double, fit_error string, point array<double>"
    results_df = spark.createDataFrame(
        [
            ("a", "arima", 0.9, None, [1.0]),
            ("a", "seasonal_naive", 0.8, None, [1.0]),
            ("b", "arima", 0.5, None, [1.0]),
            ("b", "seasonal_naive", 0.5, None, [1.0]),
            ("c", "arima", None, "failed", []),
            ("c", "seasonal_naive", 2.0, None, [1.0]),
            ("d", "arima", float("nan"), None, [1.0]),
            ("d", "seasonal_naive", None, None, [1.0]),
        ],
        schema,
    )
    actual_df = results_df.transform(with_champion).select("unique_id", "model", "is_champion")
    expected_df = spark.createDataFrame(
        [
            ("a", "arima", False),
            ("a", "seasonal_naive", True),
            ("b", "arima", True),
            ("b", "seasonal_naive", False),
            ("c", "arima", False),
            ("c", "seasonal_naive", True),
            ("d", "arima", True),
            ("d", "seasonal_naive", False),
        ],
        "unique_id string, model string, is_champion boolean",
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)
