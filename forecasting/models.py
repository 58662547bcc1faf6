"""StatsForecast models per series: fit, backtest, forecast and metadata in one pandas pass.

One group per `unique_id` runs on Spark through `groupBy(...).applyInPandas`. For each series
two candidate slots are fitted on the training window:

* the ARIMA slot: `AutoARIMA(season_length=m)` (selection mode ``auto``) or, when the series
  carries stored orders, `ARIMA(order, seasonal_order)` with those orders (mode ``refit``,
  ~10-50x cheaper). If the fit fails or forecasts non-finite values the slot falls back, in
  order, to AutoARIMA (refit only), `AutoETS` (mode ``fallback``) and `Naive`;
* the baseline slot: `SeasonalNaive(m)` (mode ``baseline``), or `Naive` for very short series.

Each fitted model is backtested (see `forecasting.backtest`) and forecasts `horizon` days with
the configured interval levels. Backtests never see the data they are scored on, order
selection included, so the ARIMA slot and the baselines are compared on equal terms when the
champion is picked:

* ARIMA (``auto`` and ``refit``): the backtest orders are chosen by AutoARIMA on the data
  before the first backtest cutoff and refitted in every window (`orders_selection`
  ``before_first_cutoff``). The orders of the final fit are not reused: they were chosen on
  data that includes the backtest windows. A refit run reuses the backtest orders stored with
  the selection (``stored``, as cheap as before) as long as they were selected on data before
  its own first cutoff, else it selects them again. `cv_reselect=True` reruns AutoARIMA in
  every window instead (``per_window``: the order choice a daily run would have made at each
  cutoff; about three more AutoARIMA fits per series).
* AutoETS selects its model inside every window; the naive baselines select nothing.

The final forecast of a refit run uses orders selected on data up to an earlier as-of date
(never later than the run's own), which is legitimate; `backtest_orders` and the backtest
JSON (`orders_selection`, `orders_selected_through`, `mase_by_window`) are recorded with the
run, so a replay reproduces the backtest and therefore the champion.

statsforecast's "possible convergence problem" warnings are captured per fit, counted into the
model metadata (`n_convergence_warnings`, plus the backtest's count) and never silenced
globally; other warnings are counted separately.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from conf.settings import Settings
from forecasting.backtest import BacktestPlan, FloatArray, backtest, plan_windows

ARIMA_SLOT_MODEL = "arima"
SELECTION_MODES: tuple[str, ...] = ("auto", "refit", "fallback", "baseline")


@dataclass(frozen=True)
class ForecastConfig:
    """Model and backtest parameters of one forecast run."""

    horizon: int = 30
    levels: tuple[int, ...] = (80, 95)
    season_length: int = 7
    cv_windows: int = 3
    cv_step: int = 7
    min_train: int = 28
    cv_reselect: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> ForecastConfig:
        """Horizon, levels, season length and backtest parameters from settings."""
        return cls(
            horizon=settings.forecast_horizon_days,
            levels=tuple(sorted(settings.forecast_levels)),
            season_length=settings.forecast_season_length,
            cv_windows=int(getattr(settings, "forecast_cv_windows", 3)),
            cv_step=int(getattr(settings, "forecast_cv_step_days", 7)),
            min_train=max(28, 4 * settings.forecast_season_length),
            cv_reselect=bool(getattr(settings, "forecast_cv_reselect", False)),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy (recorded in ops.model_runs)."""
        return {
            "horizon": self.horizon,
            "levels": list(self.levels),
            "season_length": self.season_length,
            "cv_windows": self.cv_windows,
            "cv_step": self.cv_step,
            "min_train": self.min_train,
            "cv_reselect": self.cv_reselect,
        }


@dataclass(frozen=True)
class ArimaOrders:
    """A chosen ARIMA specification: (p,d,q)(P,D,Q)m plus mean/drift terms."""

    order: tuple[int, int, int]
    seasonal_order: tuple[int, int, int]
    season_length: int
    include_mean: bool
    include_drift: bool

    @classmethod
    def from_fitted(cls, model: Mapping[str, Any]) -> ArimaOrders:
        """Read orders from a fitted statsforecast `model_` (arma = p,q,P,Q,m,d,D)."""
        p, q, big_p, big_q, m, d, big_d = (int(v) for v in model["arma"])
        coef = model["coef"]
        return cls((p, d, q), (big_p, big_d, big_q), m, "intercept" in coef, "drift" in coef)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly fields."""
        return {
            "order": list(self.order),
            "seasonal_order": list(self.seasonal_order),
            "season_length": self.season_length,
            "include_mean": self.include_mean,
            "include_drift": self.include_drift,
        }

    def to_json(self) -> str:
        """Canonical JSON (stored in ops.model_runs.orders)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ArimaOrders:
        """Inverse of `to_dict`."""
        o, so = raw["order"], raw["seasonal_order"]
        return cls(
            (int(o[0]), int(o[1]), int(o[2])),
            (int(so[0]), int(so[1]), int(so[2])),
            int(raw["season_length"]),
            bool(raw["include_mean"]),
            bool(raw["include_drift"]),
        )

    @classmethod
    def from_json(cls, text: str) -> ArimaOrders:
        """Inverse of `to_json`."""
        return cls.from_dict(json.loads(text))

    def label(self) -> str:
        """Human form, e.g. `ARIMA(1,1,1)(0,1,1)[7]`."""
        o, so = self.order, self.seasonal_order
        return f"ARIMA({o[0]},{o[1]},{o[2]})({so[0]},{so[1]},{so[2]})[{self.season_length}]"


@dataclass(frozen=True)
class BacktestOrders:
    """ARIMA orders for the backtest windows, selected on data up to `selected_through`."""

    orders: ArimaOrders
    selected_through: dt.date

    def is_honest_for(self, first_cutoff_ds: dt.date) -> bool:
        """Whether the selection saw only data before a backtest starting on `first_cutoff_ds`."""
        return self.selected_through < first_cutoff_ds

    def to_json(self) -> str:
        """Canonical JSON (stored in ops.model_runs.backtest_orders)."""
        raw = {**self.orders.to_dict(), "selected_through": self.selected_through.isoformat()}
        return json.dumps(raw, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BacktestOrders:
        """Inverse of `to_json`."""
        raw = json.loads(text)
        return cls(ArimaOrders.from_dict(raw), dt.date.fromisoformat(raw["selected_through"]))


class _Fittable(Protocol):
    def fit(self, y: FloatArray) -> Any: ...


def _build(kind: str, config: ForecastConfig, orders: ArimaOrders | None) -> _Fittable:
    from statsforecast.models import ARIMA, AutoARIMA, AutoETS, Naive, SeasonalNaive

    m = config.season_length
    if kind == "auto_arima":
        model: _Fittable = AutoARIMA(season_length=m)
    elif kind == "arima":
        if orders is None:
            raise ValueError("refit needs stored orders")
        model = ARIMA(
            order=orders.order,
            seasonal_order=orders.seasonal_order,
            season_length=orders.season_length,
            include_mean=orders.include_mean,
            include_drift=orders.include_drift,
        )
    elif kind == "auto_ets":
        model = AutoETS(season_length=m)
    elif kind == "seasonal_naive":
        model = SeasonalNaive(season_length=m)
    elif kind == "naive":
        model = Naive()
    else:
        raise ValueError(f"unknown model kind {kind!r}")
    return model


_MODEL_NAME = {
    "auto_arima": ARIMA_SLOT_MODEL,
    "arima": ARIMA_SLOT_MODEL,
    "auto_ets": "auto_ets",
    "seasonal_naive": "seasonal_naive",
    "naive": "naive",
}
_MODEL_CLASS = {
    "auto_arima": "AutoARIMA",
    "arima": "ARIMA",
    "auto_ets": "AutoETS",
    "seasonal_naive": "SeasonalNaive",
    "naive": "Naive",
}


@dataclass
class _Attempt:
    kind: str
    forecast: dict[str, FloatArray]
    fitted: Any
    seconds: float
    n_convergence_warnings: int
    n_other_warnings: int
    warning_samples: list[str]


def _count_warnings(caught: Sequence[warnings.WarningMessage]) -> tuple[int, int, list[str]]:
    convergence = [w for w in caught if "convergence" in str(w.message).lower()]
    samples = sorted({str(w.message)[:120] for w in caught})[:3]
    return len(convergence), len(caught) - len(convergence), samples


def _fit_predict(
    kind: str, y: FloatArray, h: int, config: ForecastConfig, orders: ArimaOrders | None
) -> _Attempt:
    """Fit one model kind and forecast `h` steps, recording warnings (raises on failure)."""
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = _build(kind, config, orders).fit(y)
        forecast = fitted.predict(h=h, level=list(config.levels))
    values = {key: np.asarray(val, dtype=float) for key, val in forecast.items()}
    if any(not np.all(np.isfinite(val)) for val in values.values()):
        raise ValueError(f"{kind} produced non-finite forecasts")
    n_conv, n_other, samples = _count_warnings(caught)
    return _Attempt(kind, values, fitted, time.perf_counter() - t0, n_conv, n_other, samples)


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _parameters(kind: str, fitted: Any) -> dict[str, Any]:
    model = getattr(fitted, "model_", None)
    if kind in ("auto_arima", "arima") and isinstance(model, dict):
        return {
            "label": ArimaOrders.from_fitted(model).label(),
            "coef": {str(k): _finite(v) for k, v in model["coef"].items()},
            "aic": _finite(model.get("aic")),
            "aicc": _finite(model.get("aicc")),
            "bic": _finite(model.get("bic")),
            "sigma2": _finite(model.get("sigma2")),
            "loglik": _finite(model.get("loglik")),
        }
    if kind == "auto_ets" and isinstance(model, dict):
        return {
            "method": str(model.get("method")),
            "aic": _finite(model.get("aic")),
            "sigma2": _finite(model.get("sigma2")),
        }
    return {}


def _slot_kinds(slot: str, orders: ArimaOrders | None, n_obs: int, m: int) -> list[str]:
    if slot == "baseline":
        return ["seasonal_naive", "naive"] if n_obs > m else ["naive"]
    if orders is not None:
        return ["arima", "auto_arima", "auto_ets", "naive"]
    return ["auto_arima", "auto_ets", "naive"]


def _selection_mode(slot: str, kind: str) -> str:
    if slot == "baseline":
        return "baseline"
    return {"auto_arima": "auto", "arima": "refit"}.get(kind, "fallback")


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-safe copy: non-finite floats (also inside lists) become None."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, float):
            out[key] = _finite(value)
        elif isinstance(value, list):
            out[key] = [_finite(v) if isinstance(v, float) else v for v in value]
        else:
            out[key] = value
    return out


def _select_orders(train: FloatArray, config: ForecastConfig) -> tuple[ArimaOrders, int]:
    """AutoARIMA order selection on `train` only; returns the orders and convergence warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = _build("auto_arima", config, None).fit(train)
    n_conv, _, _ = _count_warnings(caught)
    return ArimaOrders.from_fitted(fitted.model_), n_conv


def fit_series(
    y: FloatArray,
    first_ds: dt.date,
    config: ForecastConfig,
    stored_orders: str | None = None,
    stored_backtest_orders: str | None = None,
) -> list[dict[str, Any]]:
    """Fit, backtest and forecast one series; one result dict per model slot.

    `stored_orders` (`ArimaOrders` JSON) switches the ARIMA slot to a refit of those orders;
    `stored_backtest_orders` (`BacktestOrders` JSON) are reused for its backtest when they
    were selected on data before this plan's first cutoff.
    """
    n_obs = len(y)
    last_ds = first_ds + dt.timedelta(days=n_obs - 1)
    forecast_ds = [last_ds + dt.timedelta(days=i) for i in range(1, config.horizon + 1)]
    orders = ArimaOrders.from_json(stored_orders) if stored_orders else None
    stored_cv = BacktestOrders.from_json(stored_backtest_orders) if stored_backtest_orders else None
    plan = plan_windows(n_obs, config.horizon, config.cv_windows, config.cv_step, config.min_train)
    results: list[dict[str, Any]] = []
    for slot in ("arima", "baseline"):
        errors: list[str] = []
        attempt: _Attempt | None = None
        for kind in _slot_kinds(slot, orders, n_obs, config.season_length):
            try:
                attempt = _fit_predict(kind, y, config.horizon, config, orders)
                break
            except Exception as exc:
                errors.append(f"{kind}: {type(exc).__name__}: {str(exc)[:200]}")
        row = _result_row(slot, attempt, errors, y, forecast_ds, config, first_ds)
        if attempt is not None:
            row.update(_backtest_row(attempt.kind, y, first_ds, plan, config, stored_cv))
        results.append(row)
    if results[0]["model"] == results[1]["model"]:  # both slots degraded to Naive
        results.pop()
    return results


def _backtest_row(
    kind: str,
    y: FloatArray,
    first_ds: dt.date,
    plan: BacktestPlan,
    config: ForecastConfig,
    stored_cv: BacktestOrders | None,
) -> dict[str, Any]:
    """Backtest one fitted model kind without letting any window see its own future.

    ARIMA windows refit orders chosen before the first cutoff (stored ones if still honest
    for this plan, else selected here), or rerun AutoARIMA per window with `cv_reselect`.
    """
    info: dict[str, Any] = {}
    cv_kind = kind
    cv_orders: BacktestOrders | None = None
    cv_warnings = 0
    if kind in ("auto_arima", "arima") and plan.cutoffs:
        first_cutoff = plan.cutoffs[0]
        first_cutoff_ds = first_ds + dt.timedelta(days=first_cutoff)
        if config.cv_reselect:
            cv_kind = "auto_arima"
            info["orders_selection"] = "per_window"
        else:
            cv_kind = "arima"
            if stored_cv is not None and stored_cv.is_honest_for(first_cutoff_ds):
                cv_orders = stored_cv
                info["orders_selection"] = "stored"
            else:
                info["orders_selection"] = "before_first_cutoff"
                try:
                    selected, cv_warnings = _select_orders(y[:first_cutoff], config)
                    cv_orders = BacktestOrders(selected, first_cutoff_ds - dt.timedelta(days=1))
                except Exception as exc:
                    info["orders_selection_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
            if cv_orders is not None:
                info["orders_selected_through"] = cv_orders.selected_through.isoformat()
                info["orders_label"] = cv_orders.orders.label()

    def forecaster(train: FloatArray, h: int) -> dict[str, FloatArray]:
        nonlocal cv_warnings
        if cv_kind == "arima" and cv_orders is None:
            raise ValueError("no backtest orders")
        fc = _fit_predict(cv_kind, train, h, config, cv_orders.orders if cv_orders else None)
        cv_warnings += fc.n_convergence_warnings
        return fc.forecast

    metrics: dict[str, Any] = backtest(y, forecaster, plan, config.levels, config.season_length)
    metrics["n_convergence_warnings"] = cv_warnings
    metrics.update(info)
    clean = _clean(metrics)
    row: dict[str, Any] = {
        "backtest_orders": cv_orders.to_json() if cv_orders is not None else None,
        "backtest": json.dumps(clean, sort_keys=True),
        "mase": clean.get("mase"),
        "smape": clean.get("smape"),
    }
    for level in config.levels:
        row[f"coverage_{level}"] = clean.get(f"coverage_{level}")
    return row


def _result_row(
    slot: str,
    attempt: _Attempt | None,
    errors: list[str],
    y: FloatArray,
    forecast_ds: list[dt.date],
    config: ForecastConfig,
    first_ds: dt.date,
) -> dict[str, Any]:
    """Model identity, parameters and forecast of one slot (the backtest is added apart)."""
    last_ds = first_ds + dt.timedelta(days=len(y) - 1)
    row: dict[str, Any] = {
        "n_obs": len(y),
        "train_start": first_ds,
        "train_end": last_ds,
        "forecast_ds": [],
        "point": [],
        "fit_seconds": 0.0,
        "backtest_orders": None,
        "backtest": json.dumps({}),
        "mase": None,
        "smape": None,
    }
    for level in config.levels:
        row[f"lo_{level}"] = []
        row[f"hi_{level}"] = []
        row[f"coverage_{level}"] = None
    if attempt is None:
        kind = _slot_kinds(slot, None, len(y), config.season_length)[0]
        row.update(
            model=_MODEL_NAME[kind],
            model_class=_MODEL_CLASS[kind],
            selection_mode=_selection_mode(slot, kind),
            orders=None,
            parameters=json.dumps({"errors": errors}),
            aic=None,
            n_convergence_warnings=0,
            n_other_warnings=0,
            fit_error="; ".join(errors)[:2000] or "no model fitted",
        )
        return row
    kind = attempt.kind
    orders: ArimaOrders | None = None
    if kind in ("auto_arima", "arima"):
        orders = ArimaOrders.from_fitted(attempt.fitted.model_)
    parameters = _parameters(kind, attempt.fitted)
    if errors:
        parameters["fallback_from"] = errors
    if attempt.warning_samples:
        parameters["warnings"] = attempt.warning_samples
    row.update(
        model=_MODEL_NAME[kind],
        model_class=_MODEL_CLASS[kind],
        selection_mode=_selection_mode(slot, kind),
        orders=orders.to_json() if orders is not None else None,
        parameters=json.dumps(parameters, sort_keys=True),
        aic=parameters.get("aic"),
        n_convergence_warnings=attempt.n_convergence_warnings,
        n_other_warnings=attempt.n_other_warnings,
        fit_error=None,
        forecast_ds=forecast_ds,
        point=attempt.forecast["mean"].tolist(),
        fit_seconds=round(attempt.seconds, 4),
    )
    for level in config.levels:
        row[f"lo_{level}"] = attempt.forecast[f"lo-{level}"].tolist()
        row[f"hi_{level}"] = attempt.forecast[f"hi-{level}"].tolist()
    return row


KEY_COLUMNS: tuple[str, ...] = ("unique_id", "metric", "level", "key")


def model_result_schema(levels: Sequence[int]) -> T.StructType:
    """Schema of `with_model_results` (one row per series x model)."""
    fields: list[T.StructField] = [
        T.StructField("unique_id", T.StringType(), False),
        T.StructField("metric", T.StringType(), True),
        T.StructField("level", T.StringType(), True),
        T.StructField("key", T.StringType(), True),
        T.StructField("model", T.StringType(), False),
        T.StructField("model_class", T.StringType(), False),
        T.StructField("selection_mode", T.StringType(), False),
        T.StructField("orders", T.StringType(), True),
        T.StructField("backtest_orders", T.StringType(), True),
        T.StructField("parameters", T.StringType(), True),
        T.StructField("aic", T.DoubleType(), True),
        T.StructField("n_obs", T.IntegerType(), False),
        T.StructField("train_start", T.DateType(), False),
        T.StructField("train_end", T.DateType(), False),
        T.StructField("n_convergence_warnings", T.IntegerType(), False),
        T.StructField("n_other_warnings", T.IntegerType(), False),
        T.StructField("fit_error", T.StringType(), True),
        T.StructField("fit_seconds", T.DoubleType(), False),
        T.StructField("backtest", T.StringType(), True),
        T.StructField("mase", T.DoubleType(), True),
        T.StructField("smape", T.DoubleType(), True),
    ]
    fields += [T.StructField(f"coverage_{lv}", T.DoubleType(), True) for lv in levels]
    fields.append(T.StructField("forecast_ds", T.ArrayType(T.DateType()), False))
    fields.append(T.StructField("point", T.ArrayType(T.DoubleType()), False))
    for lv in levels:
        fields.append(T.StructField(f"lo_{lv}", T.ArrayType(T.DoubleType()), False))
        fields.append(T.StructField(f"hi_{lv}", T.ArrayType(T.DoubleType()), False))
    return T.StructType(fields)


def _optional_text(row: pd.Series, name: str) -> str | None:
    value = row[name] if name in row.index else None
    return value if isinstance(value, str) and value else None


def forecast_group(pdf: pd.DataFrame, config: ForecastConfig) -> pd.DataFrame:
    """The `applyInPandas` body: one series (rows of one unique_id) in, model rows out."""
    columns = model_result_schema(config.levels).fieldNames()
    if pdf.empty:
        return pd.DataFrame(columns=columns)
    pdf = pdf.sort_values("ds")
    first = pdf.iloc[0]
    stored_orders, stored_backtest_orders = (
        _optional_text(first, name) for name in ("stored_orders", "stored_backtest_orders")
    )
    first_ds = pd.Timestamp(first["ds"]).date()
    y = pdf["y"].to_numpy(dtype=float)
    rows = fit_series(y, first_ds, config, stored_orders, stored_backtest_orders)
    for row in rows:
        for name in KEY_COLUMNS:
            row[name] = first[name] if name in pdf.columns else None
    return pd.DataFrame(rows, columns=columns)


def iter_series(series_pdf: pd.DataFrame) -> Iterator[pd.DataFrame]:
    """Split a long pandas frame into one frame per unique_id (single-process path)."""
    for _, group in series_pdf.groupby("unique_id", sort=True):
        yield group


_MASK32 = 0xFFFFFFFF


def _rotl32(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (32 - bits))) & _MASK32


def _mix_k1(k1: int) -> int:
    return (_rotl32((k1 * 0xCC9E2D51) & _MASK32, 15) * 0x1B873593) & _MASK32


def _mix_h1(h1: int, k1: int) -> int:
    return (_rotl32(h1 ^ k1, 13) * 5 + 0xE6546B64) & _MASK32


def spark_hash_long(value: int, seed: int = 42) -> int:
    """Spark's `hash()` of a bigint (Murmur3 x86_32, seed 42), as a signed 32-bit int.

    The same function Spark's hash partitioner applies to a `repartition(n, col)` key, so the
    partition of a key is known on the driver without running a job.
    """
    unsigned = value & 0xFFFFFFFFFFFFFFFF
    h1 = _mix_h1(seed & _MASK32, _mix_k1(unsigned & _MASK32))
    h1 = _mix_h1(h1, _mix_k1(unsigned >> 32))
    h1 ^= 8
    h1 ^= h1 >> 16
    h1 = (h1 * 0x85EBCA6B) & _MASK32
    h1 ^= h1 >> 13
    h1 = (h1 * 0xC2B2AE35) & _MASK32
    h1 ^= h1 >> 16
    return h1 - (1 << 32) if h1 & 0x80000000 else h1


def slot_keys(num_partitions: int) -> list[int]:
    """For each partition p < n, the smallest bigint key Spark's hash partitioner sends to p."""
    key_of: dict[int, int] = {}
    key = 0
    while len(key_of) < num_partitions:
        key_of.setdefault(spark_hash_long(key) % num_partitions, key)  # % is pmod in Python
        key += 1
    return [key_of[p] for p in range(num_partitions)]


def with_balanced_partitions(series_df: DataFrame, num_partitions: int) -> DataFrame:
    """Spread whole series round-robin over exactly `num_partitions` tasks; adds `_slot`.

    Hashing `unique_id` leaves tasks uneven (one core idles while the other fits the rest),
    and range partitioning on few values is sampled, not exact. So series are numbered in
    `unique_id` order and series `i` gets a `_slot` key that Spark's hash partitioner sends to
    partition `i mod n` (keys found on the driver: no job runs here). Group by
    `("_slot", "unique_id")` to keep this layout.
    """
    keys = slot_keys(num_partitions)
    slot_of_position = F.element_at(
        F.array(*[F.lit(k).cast("long") for k in keys]),
        ((F.row_number().over(Window.orderBy("unique_id")) - 1) % F.lit(num_partitions) + 1).cast(
            "int"
        ),
    )
    slots_df = series_df.select("unique_id").distinct().withColumn("_slot", slot_of_position)
    return series_df.join(F.broadcast(slots_df), "unique_id").repartition(num_partitions, "_slot")


def with_model_results(
    series_df: DataFrame, config: ForecastConfig, num_partitions: int | None = None
) -> DataFrame:
    """Fit/backtest/forecast every series with grouped `applyInPandas` (one group per id).

    `stored_orders` (JSON of `ArimaOrders`, optional column) switches a series to refit mode,
    `stored_backtest_orders` (JSON of `BacktestOrders`, optional) are the backtest orders stored
    with that selection; `num_partitions` spreads the groups over more, smaller tasks.
    """
    for name in ("stored_orders", "stored_backtest_orders"):
        if name not in series_df.columns:
            series_df = series_df.withColumn(name, F.lit(None).cast("string"))
    inputs_df = series_df.select(*KEY_COLUMNS, "ds", "y", "stored_orders", "stored_backtest_orders")
    if num_partitions:
        inputs_df = inputs_df.transform(lambda d: with_balanced_partitions(d, num_partitions))

    def run(pdf: pd.DataFrame) -> pd.DataFrame:
        return forecast_group(pdf, config)

    group_cols = ["_slot", "unique_id"] if num_partitions else ["unique_id"]
    return inputs_df.groupBy(*group_cols).applyInPandas(run, model_result_schema(config.levels))


def with_forecast_rows(model_results_df: DataFrame, levels: Sequence[int]) -> DataFrame:
    """Explode the champion's forecast arrays into one row per series x forecast_date."""
    bound_cols = [f"{side}_{lv}" for lv in levels for side in ("lo", "hi")]
    zipped = F.arrays_zip(F.col("forecast_ds"), F.col("point"), *[F.col(c) for c in bound_cols])
    return (
        model_results_df.where(F.col("is_champion"))
        .select(*KEY_COLUMNS, "model", "selection_mode", F.explode(zipped).alias("f"))
        .select(
            *KEY_COLUMNS,
            F.col("f.forecast_ds").alias("forecast_date"),
            F.col("f.point").alias("point"),
            *[F.col(f"f.{c}").alias(c) for c in bound_cols],
            "model",
            "selection_mode",
        )
    )
