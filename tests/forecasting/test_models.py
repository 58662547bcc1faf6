"""Per-series model pass: AutoARIMA vs refit with stored orders, fallbacks, warnings."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from forecasting import models
from forecasting.models import (
    ArimaOrders,
    BacktestOrders,
    ForecastConfig,
    fit_series,
    forecast_group,
    with_forecast_rows,
)

START = dt.date(2026, 1, 1)
_REAL_BUILD = models._build
CONFIG = ForecastConfig(horizon=14, levels=(80, 95), season_length=7)


def _series(n: int = 90, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 0.4 * t + 8 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 2, n)


@pytest.fixture(scope="module")
def auto_rows() -> list[dict[str, Any]]:
    """One AutoARIMA pass over a seasonal series with trend."""
    return fit_series(_series(), START, CONFIG)


def test_auto_pass_returns_arima_and_baseline_with_metadata(
    auto_rows: list[dict[str, Any]],
) -> None:
    arima, baseline = auto_rows
    assert (arima["model"], arima["model_class"], arima["selection_mode"]) == (
        "arima",
        "AutoARIMA",
        "auto",
    )
    assert (baseline["model"], baseline["selection_mode"]) == ("seasonal_naive", "baseline")
    orders = ArimaOrders.from_json(arima["orders"])
    assert orders.season_length == 7
    params = json.loads(arima["parameters"])
    assert params["label"] == orders.label()
    assert params["aic"] == arima["aic"]
    assert isinstance(params["coef"], dict)
    assert arima["forecast_ds"][0] == START + dt.timedelta(days=90)
    assert len(arima["point"]) == len(arima["lo_95"]) == 14
    assert json.loads(arima["backtest"])["n_windows"] == 3
    assert arima["n_convergence_warnings"] >= 0


def test_refit_uses_stored_orders_and_reproduces_the_auto_forecast(
    auto_rows: list[dict[str, Any]],
) -> None:
    arima = auto_rows[0]
    refit = fit_series(
        _series(),
        START,
        CONFIG,
        stored_orders=arima["orders"],
        stored_backtest_orders=arima["backtest_orders"],
    )[0]
    assert (refit["model_class"], refit["selection_mode"]) == ("ARIMA", "refit")
    assert refit["orders"] == arima["orders"]
    np.testing.assert_allclose(refit["point"], arima["point"], rtol=1e-9)
    # same data, same backtest orders: the fast path scores exactly like the selection run
    assert refit["backtest_orders"] == arima["backtest_orders"]
    assert json.loads(refit["backtest"])["orders_selection"] == "stored"
    assert refit["mase"] == arima["mase"]


def test_refit_passes_the_stored_orders_to_statsforecast_arima(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    orders = ArimaOrders((2, 1, 0), (0, 1, 1), 7, include_mean=False, include_drift=False)
    cv_orders = ArimaOrders((1, 0, 0), (0, 1, 1), 7, include_mean=False, include_drift=False)
    # selected on data through day 40; the first backtest window starts on day 62
    stored_cv = BacktestOrders(cv_orders, START + dt.timedelta(days=40))
    built: list[Any] = []
    real_build = models._build

    def spy(kind: str, config: ForecastConfig, stored: ArimaOrders | None) -> Any:
        model = real_build(kind, config, stored)
        built.append(model)
        return model

    monkeypatch.setattr(models, "_build", spy)
    row = fit_series(
        _series(), START, CONFIG, orders.to_json(), stored_backtest_orders=stored_cv.to_json()
    )[0]
    arima = built[0]
    assert type(arima).__name__ == "ARIMA"
    assert (arima.order, arima.seasonal_order, arima.season_length) == ((2, 1, 0), (0, 1, 1), 7)
    assert not any(type(m).__name__ == "AutoARIMA" for m in built)
    assert ArimaOrders.from_json(row["orders"]) == orders
    windows = [m for m in built[1:] if type(m).__name__ == "ARIMA"]
    assert [(m.order, m.seasonal_order) for m in windows] == [((1, 0, 0), (0, 1, 1))] * 3
    assert row["backtest_orders"] == stored_cv.to_json()


@dataclass
class _Fit:
    """One model fit seen by the spy: kind, points it was fitted on, orders, forecast."""

    kind: str
    n: int
    orders: ArimaOrders | None
    mean: list[float]


def _record_fits(monkeypatch: pytest.MonkeyPatch) -> list[_Fit]:
    """Wrap `models._build` so every fit records its data length and (selected) orders."""
    fits: list[_Fit] = []

    class Recording:
        def __init__(self, kind: str, model: Any, stored: ArimaOrders | None) -> None:
            self.kind, self.model, self.stored = kind, model, stored

        def fit(self, y: np.ndarray) -> Recording:
            self.fitted = self.model.fit(y)
            orders = self.stored
            if self.kind == "auto_arima":
                p, q, big_p, big_q, m, d, big_d = (int(v) for v in self.fitted.model_["arma"])
                coef = self.fitted.model_["coef"]
                orders = ArimaOrders(
                    (p, d, q), (big_p, big_d, big_q), m, "intercept" in coef, "drift" in coef
                )
            self.record = _Fit(self.kind, len(y), orders, [])
            fits.append(self.record)
            return self

        @property
        def model_(self) -> Any:
            return self.fitted.model_

        def predict(self, h: int, level: list[int]) -> Any:
            out = self.fitted.predict(h=h, level=level)
            self.record.mean = [float(v) for v in out["mean"]]
            return out

    def spy(kind: str, config: ForecastConfig, stored: ArimaOrders | None) -> Any:
        return Recording(kind, _REAL_BUILD(kind, config, stored), stored)

    monkeypatch.setattr(models, "_build", spy)
    return fits


N_OBS = 90
# CONFIG: h = 14, 3 windows 7 days apart, the last ending on day 90 -> origins 62, 69, 76
CUTOFFS = (62, 69, 76)


def test_backtest_arima_orders_are_selected_only_on_data_before_the_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fits = _record_fits(monkeypatch)
    row = fit_series(_series(N_OBS), START, CONFIG)[0]
    assert row["selection_mode"] == "auto"
    selections = [f for f in fits if f.kind == "auto_arima"]
    window_fits = [f for f in fits if f.kind == "arima" and f.n < N_OBS]
    assert sorted(f.n for f in window_fits) == list(CUTOFFS)
    for window in window_fits:
        sources = [s for s in selections if s.orders == window.orders and s.n <= window.n]
        assert sources, f"window at {window.n}: orders chosen on data after its origin"
    # recorded: the orders AutoARIMA picks on the 62 days before the first window
    first = next(s for s in selections if s.n == CUTOFFS[0])
    recorded = json.loads(row["backtest_orders"])
    assert first.orders is not None
    assert (recorded["order"], recorded["seasonal_order"]) == (
        list(first.orders.order),
        list(first.orders.seasonal_order),
    )
    assert recorded["selected_through"] == (START + dt.timedelta(days=61)).isoformat()
    assert json.loads(row["backtest"])["orders_selection"] == "before_first_cutoff"


def test_first_window_forecast_ignores_the_data_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two histories equal up to day 76 (the first window's data and its 14 actuals end on
    # day 75); the second bends away afterwards, enough to change AutoARIMA's choice on all
    # 90 days. An honest backtest forecasts the first window identically for both.
    y = _series(N_OBS)
    bent = y.copy()
    bent[CUTOFFS[-1] :] += 3.0 * np.arange(1, N_OBS - CUTOFFS[-1] + 1) ** 1.5
    means = []
    for history in (y, bent):
        fits = _record_fits(monkeypatch)
        fit_series(history, START, CONFIG)
        first_window = [f for f in fits if f.kind in ("arima", "auto_arima")]
        means.append(next(f.mean for f in first_window if f.n == CUTOFFS[0] and f.mean))
    assert means[0] == means[1]


def test_stored_backtest_orders_that_saw_a_window_are_selected_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    orders = ArimaOrders((0, 1, 1), (0, 1, 1), 7, include_mean=False, include_drift=False)
    # selected through day 62 = the first window's origin: it saw that window's first actual
    leaky = BacktestOrders(orders, START + dt.timedelta(days=CUTOFFS[0]))
    fits = _record_fits(monkeypatch)
    row = fit_series(_series(N_OBS), START, CONFIG, orders.to_json(), leaky.to_json())[0]
    assert row["selection_mode"] == "refit"
    assert [f.n for f in fits if f.kind == "auto_arima"] == [CUTOFFS[0]]
    assert (
        json.loads(row["backtest_orders"])["selected_through"]
        == (START + dt.timedelta(days=CUTOFFS[0] - 1)).isoformat()
    )
    assert json.loads(row["backtest"])["orders_selection"] == "before_first_cutoff"


def test_cv_reselect_reruns_autoarima_in_every_window(monkeypatch: pytest.MonkeyPatch) -> None:
    fits = _record_fits(monkeypatch)
    config = ForecastConfig(horizon=14, levels=(80, 95), season_length=7, cv_reselect=True)
    row = fit_series(_series(N_OBS), START, config)[0]
    assert sorted(f.n for f in fits if f.kind == "auto_arima") == [*CUTOFFS, N_OBS]
    assert not [f for f in fits if f.kind == "arima"]
    assert row["backtest_orders"] is None
    assert json.loads(row["backtest"])["orders_selection"] == "per_window"


def test_failed_arima_falls_back_to_ets_and_records_why(monkeypatch: pytest.MonkeyPatch) -> None:
    real_build = models._build

    def broken(kind: str, config: ForecastConfig, stored: ArimaOrders | None) -> Any:
        if kind == "auto_arima":
            raise np.linalg.LinAlgError("singular")
        return real_build(kind, config, stored)

    monkeypatch.setattr(models, "_build", broken)
    row = fit_series(_series(), START, CONFIG)[0]
    assert (row["model"], row["selection_mode"], row["fit_error"]) == ("auto_ets", "fallback", None)
    assert "auto_arima: LinAlgError: singular" in json.loads(row["parameters"])["fallback_from"]
    assert len(row["point"]) == 14


def test_convergence_warnings_are_counted_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    class Warns:
        def fit(self, y: np.ndarray) -> Warns:
            warnings.warn("possible convergence problem: minimize gave code 2]", stacklevel=1)
            warnings.warn("something else", stacklevel=1)
            self.last = float(y[-1])
            self.model_ = {"arma": (0, 0, 0, 0, 7, 1, 0), "coef": {}, "aic": 1.0}
            return self

        def predict(self, h: int, level: list[int]) -> dict[str, np.ndarray]:
            mean = np.full(h, self.last)
            out = {"mean": mean}
            for lv in level:
                out[f"lo-{lv}"], out[f"hi-{lv}"] = mean - lv / 10, mean + lv / 10
            return out

    monkeypatch.setattr(models, "_build", lambda kind, config, stored: Warns())
    row = fit_series(_series(), START, CONFIG)[0]
    assert row["n_convergence_warnings"] == 1
    assert row["n_other_warnings"] == 1
    # one for the order selection before the first window, one per window
    assert json.loads(row["backtest"])["n_convergence_warnings"] == 4
    assert any("convergence" in w for w in json.loads(row["parameters"])["warnings"])


def test_forecast_group_keeps_series_keys() -> None:
    y = _series(40)
    pdf = pd.DataFrame(
        {
            "unique_id": "revenue/total",
            "metric": "revenue",
            "level": "total",
            "key": "total",
            "ds": pd.date_range(START, periods=40, freq="D").date,
            "y": y,
            "stored_orders": None,
        }
    )
    out = forecast_group(pdf.sample(frac=1.0, random_state=1), CONFIG)
    assert list(out["unique_id"]) == ["revenue/total", "revenue/total"]
    assert set(out["model"]) == {"arima", "seasonal_naive"}
    assert list(out.columns) == models.model_result_schema(CONFIG.levels).fieldNames()
    assert all(d == START + dt.timedelta(days=40) for d in out["forecast_ds"].map(lambda v: v[0]))


def test_forecast_rows_explode_only_the_champion(spark: SparkSession) -> None:
    d1, d2 = dt.date(2026, 2, 1), dt.date(2026, 2, 2)
    results_df = spark.createDataFrame(
        [
            (
                "r/total",
                "r",
                "total",
                "total",
                "arima",
                "auto",
                True,
                [d1, d2],
                [1.0, 2.0],
                [0.5, 1.5],
                [1.5, 2.5],
                [0.0, 1.0],
                [2.0, 3.0],
            ),
            (
                "r/total",
                "r",
                "total",
                "total",
                "seasonal_naive",
                "baseline",
                False,
                [d1, d2],
                [9.0, 9.0],
                [8.0, 8.0],
                [10.0, 10.0],
                [7.0, 7.0],
                [11.0, 11.0],
            ),
        ],
        "unique_id string, metric string, level string, key string, model string, "
        "selection_mode string, is_champion boolean, forecast_ds array<date>, "
        "point array<double>, lo_80 array<double>, hi_80 array<double>, lo_95 array<double>, "
        "hi_95 array<double>",
    )
    actual_df = with_forecast_rows(results_df, (80, 95))
    expected_df = spark.createDataFrame(
        [
            ("r/total", "r", "total", "total", d1, 1.0, 0.5, 1.5, 0.0, 2.0, "arima", "auto"),
            ("r/total", "r", "total", "total", d2, 2.0, 1.5, 2.5, 1.0, 3.0, "arima", "auto"),
        ],
        "unique_id string, metric string, level string, key string, forecast_date date, "
        "point double, lo_80 double, hi_80 double, lo_95 double, hi_95 double, model string, "
        "selection_mode string",
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)
