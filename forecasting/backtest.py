"""Rolling-origin backtests: cutoffs, MASE / sMAPE / interval coverage, champion selection.

Windows: ``n_windows`` forecast origins ``step`` days apart, the last one ending at the last
observed day; each window trains on everything before its origin and forecasts ``h`` days.
``h`` is the forecast horizon, shortened for short series so that the first window still
trains on at least ``min_train`` days. Metrics are computed per window and averaged (the
per-window MASE is kept as ``mase_by_window``). A forecaster must not use any data from its
window's origin on, model selection included (see `forecasting.models` for how ARIMA orders
are chosen before the first cutoff).

* MASE: mean absolute error scaled by the in-sample seasonal-naive MAE (lag ``m``, 7 for daily
  data) of that window's training data; a flat seasonal history falls back to lag 1.
* sMAPE: ``mean(200 * |y - f| / (|y| + |f|))`` in percent, with 0/0 counted as 0.
* Coverage: share of actuals inside ``[lo, hi]`` for each interval level.

Champion per series = lowest mean backtest MASE; ties and series without a usable backtest
fall back to the model priority (ARIMA family first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

FloatArray = npt.NDArray[np.float64]

MODEL_PRIORITY: tuple[str, ...] = ("arima", "auto_ets", "seasonal_naive", "naive")


def mase(
    actual: Sequence[float] | FloatArray,
    forecast: Sequence[float] | FloatArray,
    train: Sequence[float] | FloatArray,
    season_length: int,
) -> float:
    """Mean absolute scaled error against the in-sample seasonal-naive MAE (NaN if undefined)."""
    y = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    t = np.asarray(train, dtype=float)
    scale = float("nan")
    for lag in (season_length, 1):
        if len(t) > lag:
            candidate = float(np.mean(np.abs(t[lag:] - t[:-lag])))
            if candidate > 0:
                scale = candidate
                break
    if not np.isfinite(scale) or len(y) == 0:
        return float("nan")
    return float(np.mean(np.abs(y - f)) / scale)


def smape(actual: Sequence[float] | FloatArray, forecast: Sequence[float] | FloatArray) -> float:
    """Symmetric MAPE in percent (0..200); a 0/0 term counts as a perfect 0."""
    y = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    if len(y) == 0:
        return float("nan")
    denom = np.abs(y) + np.abs(f)
    safe = np.where(denom == 0, 1.0, denom)
    terms = np.where(denom == 0, 0.0, 200.0 * np.abs(y - f) / safe)
    return float(np.mean(terms))


def coverage(
    actual: Sequence[float] | FloatArray,
    lo: Sequence[float] | FloatArray,
    hi: Sequence[float] | FloatArray,
) -> float:
    """Share of actuals with `lo <= y <= hi` (NaN for an empty window)."""
    y = np.asarray(actual, dtype=float)
    if len(y) == 0:
        return float("nan")
    inside = (y >= np.asarray(lo, dtype=float)) & (y <= np.asarray(hi, dtype=float))
    return float(np.mean(inside))


@dataclass(frozen=True)
class BacktestPlan:
    """Window origins (index of the first forecast day) and the window length."""

    cutoffs: tuple[int, ...]
    h: int


def plan_windows(
    n_obs: int, horizon: int, n_windows: int, step: int, min_train: int, min_h: int = 1
) -> BacktestPlan:
    """Rolling origins for a series of `n_obs` points (fewer/shorter windows when short)."""
    for windows in range(n_windows, 0, -1):
        h = min(horizon, n_obs - min_train - step * (windows - 1))
        if h >= min_h:
            first = n_obs - h - step * (windows - 1)
            return BacktestPlan(tuple(first + step * i for i in range(windows)), h)
    return BacktestPlan((), 0)


# A forecaster takes the training values and h and returns {"mean": ..., "lo-80": ...}.
Forecaster = Callable[[FloatArray, int], Mapping[str, FloatArray]]


def backtest(
    y: FloatArray,
    forecaster: Forecaster,
    plan: BacktestPlan,
    levels: Sequence[int],
    season_length: int,
) -> dict[str, Any]:
    """Run `forecaster` over the plan's windows and average MASE, sMAPE and coverages.

    The forecaster sees only `y[:cutoff]`; `mase_by_window` lists each window's MASE in cutoff
    order (NaN for a failed window).
    """
    per_window: dict[str, list[float]] = {"mase": [], "smape": []}
    for level in levels:
        per_window[f"coverage_{level}"] = []
    by_window: list[float] = []
    failed = 0
    for cutoff in plan.cutoffs:
        train, actual = y[:cutoff], y[cutoff : cutoff + plan.h]
        try:
            fc = forecaster(train.copy(), plan.h)
            mean = np.asarray(fc["mean"], dtype=float)
            if not np.all(np.isfinite(mean)):
                raise ValueError("non-finite forecast")
        except Exception:
            failed += 1
            by_window.append(float("nan"))
            continue
        by_window.append(mase(actual, mean, train, season_length))
        per_window["mase"].append(by_window[-1])
        per_window["smape"].append(smape(actual, mean))
        for level in levels:
            per_window[f"coverage_{level}"].append(
                coverage(actual, fc[f"lo-{level}"], fc[f"hi-{level}"])
            )
    result: dict[str, Any] = {
        name: (float(np.nanmean(values)) if np.any(np.isfinite(values)) else float("nan"))
        for name, values in per_window.items()
    }
    result["mase_by_window"] = by_window
    result["n_windows"] = len(plan.cutoffs) - failed
    result["failed_windows"] = failed
    result["h"] = plan.h
    return result


def with_champion(model_results_df: DataFrame) -> DataFrame:
    """Flag `is_champion` on the lowest-MASE model per `unique_id` (priority breaks ties)."""
    priority = F.lit(len(MODEL_PRIORITY))
    for rank, name in reversed(list(enumerate(MODEL_PRIORITY))):
        priority = F.when(F.col("model") == name, F.lit(rank)).otherwise(priority)
    usable = F.col("fit_error").isNull() & (F.size("point") > 0)
    mase_key = F.when(F.isnan("mase") | F.col("mase").isNull(), F.lit(None)).otherwise(
        F.col("mase")
    )
    ranked = Window.partitionBy("unique_id").orderBy(
        (~usable).asc(), mase_key.asc_nulls_last(), priority.asc()
    )
    return model_results_df.withColumn("is_champion", F.row_number().over(ranked) == 1)
