"""Forecasting benchmark: Spark applyInPandas vs single-process, refit vs AutoARIMA, coverage.

One run on one synthetic series set (default 24 series x 365 days + a 30-day holdout):

1. single-process statsforecast (`StatsForecast(..., n_jobs=1)`, AutoARIMA, h=30, 80/95)
   vs the same AutoARIMA fit+forecast per series in grouped `applyInPandas` on `local[2]`
   (series/s each, speed-up; goal >= 1.7x). Python workers are warmed up first.
2. refit with stored orders (selected by AutoARIMA a week earlier) vs full AutoARIMA on the
   current data: fit+forecast time (goal >= 10x faster) and holdout MASE (goal within 2 %).
3. the production model pass (`forecasting.models.with_model_results`: AutoARIMA + baseline +
   rolling-origin backtests + metadata) on Spark: series/s, backtest interval coverage vs the
   nominal 80/95, and the holdout coverage of the AutoARIMA forecasts.

Usage: `.venv/bin/python benchmarks/forecast_bench.py [--series 24] [--days 365]`.
Prints JSON and writes `benchmarks/results/forecast.json`. The machine's load average is
recorded at every step because other work may share the CPUs.

`--leakage` runs a separate benchmark instead (no Spark; `benchmarks/results/
forecast_leakage.json`): on one seeded series set (half "stable" series as above, half with a
level shift and trend change inside the backtest period), the backtest MASE of ARIMA and of
the baselines

* before: ARIMA orders chosen by AutoARIMA on the whole training window and reused in every
  backtest window (the old behaviour, reproduced with statsforecast's ARIMA);
* after: `forecasting.models.fit_series` as it runs in production (orders chosen on the data
  before the first cutoff, refitted in every window);
* per window: `fit_series` with `cv_reselect=True` (AutoARIMA rerun at every cutoff);

next to each model's MASE on a 30-day holdout after the training window (the error the
backtest is meant to estimate), the champions each variant picks and their holdout MASE.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forecasting.backtest import (  # noqa: E402
    FloatArray,
    backtest,
    coverage,
    mase,
    plan_windows,
)
from forecasting.models import ArimaOrders, ForecastConfig, with_balanced_partitions  # noqa: E402

H = 30
LEVELS = [80, 95]
M = 7
START = dt.date(2025, 1, 1)


def load() -> list[float]:
    """1/5/15-minute load averages."""
    return [round(v, 2) for v in os.getloadavg()]


def make_series(n_series: int, days: int, seed: int = 42) -> pd.DataFrame:
    """Long frame `unique_id, ds, y` with trend, weekly seasonality and AR(1) noise."""
    rng = np.random.default_rng(seed)
    frames = []
    t = np.arange(days)
    for i in range(n_series):
        level = rng.uniform(100, 5000)
        trend = rng.uniform(-0.5, 2.0) * level / 1000
        amp = rng.uniform(0.05, 0.25) * level
        phase = rng.uniform(0, 2 * np.pi)
        noise = np.zeros(days)
        eps = rng.normal(0, 0.04 * level, days)
        for k in range(1, days):
            noise[k] = 0.5 * noise[k - 1] + eps[k]
        y = level + trend * t + amp * np.sin(2 * np.pi * t / M + phase) + noise
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": f"bench/series={i:03d}",
                    "ds": pd.date_range(START, periods=days, freq="D"),
                    "y": y,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def auto_arima_group(pdf: pd.DataFrame) -> pd.DataFrame:
    """Per-series AutoARIMA fit + 30-day forecast with 80/95 intervals (the Spark UDF)."""
    from statsforecast.models import AutoARIMA

    cpu0 = time.process_time()
    pdf = pdf.sort_values("ds")
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        fc = AutoARIMA(season_length=M).fit(pdf["y"].to_numpy(float)).predict(h=H, level=LEVELS)
    return pd.DataFrame(
        {
            "unique_id": pdf["unique_id"].iloc[0],
            "step": np.arange(1, H + 1),
            "mean": fc["mean"],
            "cpu_s": time.process_time() - cpu0,
        }
    )


def single_process(train: pd.DataFrame) -> tuple[float, float, pd.DataFrame, list[Any]]:
    """StatsForecast with n_jobs=1: wall and CPU seconds, forecasts and fitted models."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA

    sf = StatsForecast(models=[AutoARIMA(season_length=M)], freq="D", n_jobs=1)
    t0, cpu0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        sf.fit(df=train)
        fc = sf.predict(h=H, level=LEVELS)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert list(sf.uids) == sorted(train["unique_id"].unique())
    return seconds, cpu, fc, list(sf.fitted_[:, 0])


def make_leakage_series(n_series: int, days: int, seed: int = 42) -> dict[str, FloatArray]:
    """Half `make_series` series ("stable"), half with a break 60-40 days before the end.

    The break (a level shift of 10-30 % up or down plus a new trend) falls inside the
    backtest windows of a training window ending 30 days before the end (the holdout), so
    orders chosen on the whole window have seen what each window is scored on.
    """
    stable = make_series(n_series - n_series // 2, days, seed)
    out = {f"stable/{uid}": g["y"].to_numpy(float) for uid, g in stable.groupby("unique_id")}
    rng = np.random.default_rng(seed + 1)
    shifted = make_series(n_series // 2, days, seed + 2)
    for uid, g in shifted.groupby("unique_id"):
        y = g["y"].to_numpy(float).copy()
        level = float(np.mean(y[:60]))
        start = days - int(rng.integers(70, 90))  # 40-60 days before the holdout
        after = np.arange(days - start)
        shift = rng.choice([-1.0, 1.0]) * rng.uniform(0.1, 0.3) * level
        slope = rng.uniform(-1.0, 1.0) * level / 1000
        y[start:] += shift + slope * after
        out[f"shifted/{uid}"] = y
    return out


def _leaky_backtest(y: FloatArray, orders: ArimaOrders, config: ForecastConfig) -> float:
    """The old backtest: orders chosen on all of `y`, refitted in every window (mean MASE)."""
    from statsforecast.models import ARIMA

    def forecaster(train: FloatArray, h: int) -> dict[str, FloatArray]:
        model = ARIMA(
            order=orders.order,
            seasonal_order=orders.seasonal_order,
            season_length=orders.season_length,
            include_mean=orders.include_mean,
            include_drift=orders.include_drift,
        )
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            fc = model.fit(train).predict(h=h, level=list(config.levels))
        return {k: np.asarray(v, dtype=float) for k, v in fc.items()}

    plan = plan_windows(len(y), config.horizon, config.cv_windows, config.cv_step, config.min_train)
    return float(backtest(y, forecaster, plan, config.levels, config.season_length)["mase"])


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over series of backtest / holdout MASE, champion counts and champion holdout MASE."""
    variants = ("before", "after", "per_window")

    def mean(key: str) -> float:
        return round(float(np.nanmean([r[key] for r in rows])), 4)

    out: dict[str, Any] = {"series": len(rows)}
    out["backtest_mase"] = {
        **{f"arima_{v}": mean(f"bt_arima_{v}") for v in variants},
        "seasonal_naive": mean("bt_seasonal_naive"),
    }
    out["holdout_mase"] = {"arima": mean("ho_arima"), "seasonal_naive": mean("ho_seasonal_naive")}
    out["arima_backtest_over_holdout"] = {
        v: round(mean(f"bt_arima_{v}") / mean("ho_arima"), 3) for v in variants
    }
    out["arima_champion_series"] = {
        v: sum(r[f"arima_champion_{v}"] for r in rows) for v in variants
    }
    out["arima_better_on_holdout_series"] = sum(
        r["ho_arima"] <= r["ho_seasonal_naive"] for r in rows
    )
    out["champion_holdout_mase"] = {
        **{v: mean(f"ho_champion_{v}") for v in variants},
        "oracle": round(
            float(np.mean([min(r["ho_arima"], r["ho_seasonal_naive"]) for r in rows])), 4
        ),
    }
    return out


def leakage_main(args: argparse.Namespace) -> int:
    """ARIMA vs baselines: backtest MASE before/after the leakage fix, and on a holdout."""
    from dataclasses import replace

    from forecasting.models import fit_series

    config = ForecastConfig(horizon=H, levels=tuple(LEVELS), season_length=M)
    per_window = replace(config, cv_reselect=True)
    result: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mode": "leakage",
        "series": args.series,
        "days": args.days,
        "holdout_days": H,
        "config": config.to_dict(),
        "load_avg_start": load(),
    }
    rows: list[dict[str, Any]] = []
    seconds = {"after": 0.0, "per_window": 0.0, "before_backtest_refits": 0.0}
    skipped: list[str] = []
    for uid, y_all in sorted(make_leakage_series(args.series, args.days + H, args.seed).items()):
        y, actual = y_all[: args.days], y_all[args.days :]
        t0 = time.perf_counter()
        fitted = fit_series(y, START, config)
        seconds["after"] += time.perf_counter() - t0
        if [r["model"] for r in fitted] != ["arima", "seasonal_naive"]:
            skipped.append(uid)
            continue
        arima, baseline = fitted
        t0 = time.perf_counter()
        arima_pw = fit_series(y, START, per_window)[0]
        seconds["per_window"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        before = _leaky_backtest(y, ArimaOrders.from_json(arima["orders"]), config)
        seconds["before_backtest_refits"] += time.perf_counter() - t0
        row: dict[str, Any] = {
            "unique_id": uid,
            "group": uid.split("/")[0],
            "orders": ArimaOrders.from_json(arima["orders"]).label(),
            "backtest_orders": ArimaOrders.from_dict(json.loads(arima["backtest_orders"])).label(),
            "bt_arima_before": before,
            "bt_arima_after": float(arima["mase"]),
            "bt_arima_per_window": float(arima_pw["mase"]),
            "bt_seasonal_naive": float(baseline["mase"]),
            "ho_arima": mase(actual, arima["point"], y, M),
            "ho_seasonal_naive": mase(actual, baseline["point"], y, M),
        }
        for v in ("before", "after", "per_window"):
            is_arima = row[f"bt_arima_{v}"] <= row["bt_seasonal_naive"]  # ties: ARIMA first
            row[f"arima_champion_{v}"] = bool(is_arima)
            row[f"ho_champion_{v}"] = row["ho_arima"] if is_arima else row["ho_seasonal_naive"]
        rows.append(row)
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}))
    result["skipped_not_arima"] = skipped
    result["all"] = _summary(rows)
    for group in ("stable", "shifted"):
        result[group] = _summary([r for r in rows if r["group"] == group])
    n_fitted = len(rows) + len(skipped)
    result["seconds_per_series"] = {
        "fit_series_after": round(seconds["after"] / max(n_fitted, 1), 2),
        "fit_series_per_window": round(seconds["per_window"] / max(len(rows), 1), 2),
        "before_backtest_refits": round(seconds["before_backtest_refits"] / max(len(rows), 1), 2),
    }
    result["per_series"] = [
        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in rows
    ]
    result["load_avg_end"] = load()
    result["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    text = json.dumps(result, indent=2, sort_keys=True)
    out = Path(args.out or ROOT / "benchmarks" / "results" / "forecast_leakage.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print(
        json.dumps(
            {k: result[k] for k in ("all", "stable", "shifted", "seconds_per_series")}, indent=2
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark once and write the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=24)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--out", default=None, help="result file (default per mode)")
    parser.add_argument(
        "--leakage", action="store_true", help="backtest leakage: ARIMA vs baselines MASE"
    )
    parser.add_argument("--seed", type=int, default=42, help="series seed (--leakage)")
    args = parser.parse_args(argv)
    if args.leakage:
        return leakage_main(args)
    args.out = args.out or str(ROOT / "benchmarks" / "results" / "forecast.json")

    result: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "series": args.series,
        "days": args.days,
        "horizon": H,
        "cpus": os.cpu_count(),
        "load_avg_start": load(),
    }
    full = make_series(args.series, args.days + H)
    cut = pd.Timestamp(START) + pd.Timedelta(days=args.days)
    train = full[full["ds"] < cut].reset_index(drop=True)
    holdout = full[full["ds"] >= cut]
    ids = sorted(train["unique_id"].unique())
    y_train = {uid: g["y"].to_numpy(float) for uid, g in train.groupby("unique_id")}
    y_hold = {uid: g["y"].to_numpy(float) for uid, g in holdout.groupby("unique_id")}

    # 1a. single process ------------------------------------------------------------------
    sp_seconds, sp_cpu, sp_fc, fitted = single_process(train)
    result["single_process"] = {
        "seconds": round(sp_seconds, 2),
        "cpu_seconds": round(sp_cpu, 2),
        "series_per_s": round(args.series / sp_seconds, 3),
        "load_avg": load(),
    }

    # 1b. Spark local[2] --------------------------------------------------------------------
    from conf.settings import Settings
    from jobs.spark import get_spark

    lake = tempfile.mkdtemp(prefix="finlake-bench-")
    settings = Settings(lake_root=lake, spark_master="local[2]")
    t0 = time.perf_counter()
    spark = get_spark(settings, "finlake-forecast-bench")
    spark.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "false")
    result["spark_start_s"] = round(time.perf_counter() - t0, 2)
    train_df = spark.createDataFrame(train.assign(ds=train["ds"].dt.date)).cache()
    train_df.count()
    out_schema = "unique_id string, step long, mean double, cpu_s double"
    # two balanced tasks per core: few per-task overheads, some room for uneven fit times
    parts = min(args.series, 2 * spark.sparkContext.defaultParallelism)
    # one series on each core first, so both Python workers have imported statsforecast
    warm_df = train_df.where(train_df.unique_id.isin(ids[:2])).transform(
        lambda d: with_balanced_partitions(d, 2)
    )
    warm_df.groupBy("_slot", "unique_id").applyInPandas(auto_arima_group, out_schema).write.format(
        "noop"
    ).mode("overwrite").save()
    t0 = time.perf_counter()
    spark_fc = (
        train_df.transform(lambda d: with_balanced_partitions(d, parts))
        .groupBy("_slot", "unique_id")
        .applyInPandas(auto_arima_group, out_schema)
        .toPandas()
    )
    spark_seconds = time.perf_counter() - t0
    max_diff = float(
        np.max(
            np.abs(
                spark_fc.sort_values(["unique_id", "step"])["mean"].to_numpy()
                - sp_fc.sort_values(["unique_id", "ds"])["AutoARIMA"].to_numpy()
            )
        )
    )
    udf_cpu = float(spark_fc.groupby("unique_id")["cpu_s"].first().sum())
    result["spark_local2"] = {
        "seconds": round(spark_seconds, 2),
        "udf_cpu_seconds": round(udf_cpu, 2),
        "effective_cores": round(udf_cpu / spark_seconds, 2),
        "series_per_s": round(args.series / spark_seconds, 3),
        "partitions": parts,
        "max_abs_diff_vs_single_process": max_diff,
        "load_avg": load(),
    }
    result["spark_speedup"] = round(sp_seconds / spark_seconds, 2)
    result["spark_speedup_goal_met"] = result["spark_speedup"] >= 1.7

    # 2. refit with stored orders vs AutoARIMA --------------------------------------------
    from statsforecast.models import ARIMA, AutoARIMA

    auto_s, refit_s, select_s = 0.0, 0.0, 0.0
    auto_mase: list[float] = []
    refit_mase: list[float] = []
    cov: dict[int, list[float]] = {lv: [] for lv in LEVELS}
    same_orders = 0
    sp_by_id = dict(list(sp_fc.groupby("unique_id")))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for uid, model in zip(ids, fitted, strict=True):
            y, actual = y_train[uid], y_hold[uid]
            t0 = time.perf_counter()
            week_ago = AutoARIMA(season_length=M).fit(y[:-7])
            select_s += time.perf_counter() - t0
            stored = ArimaOrders.from_fitted(week_ago.model_)
            t0 = time.perf_counter()
            auto_fc = AutoARIMA(season_length=M).fit(y).predict(h=H, level=LEVELS)
            auto_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            refit_fc = (
                ARIMA(
                    order=stored.order,
                    seasonal_order=stored.seasonal_order,
                    season_length=M,
                    include_mean=stored.include_mean,
                    include_drift=stored.include_drift,
                )
                .fit(y)
                .predict(h=H, level=LEVELS)
            )
            refit_s += time.perf_counter() - t0
            same_orders += int(ArimaOrders.from_fitted(model.model_) == stored)
            auto_mase.append(mase(actual, auto_fc["mean"], y, M))
            refit_mase.append(mase(actual, refit_fc["mean"], y, M))
            fc = sp_by_id[uid].sort_values("ds")
            for lv in LEVELS:
                lo = fc[f"AutoARIMA-lo-{lv}"].to_numpy(float)
                hi = fc[f"AutoARIMA-hi-{lv}"].to_numpy(float)
                cov[lv].append(coverage(actual, lo, hi))
    mean_auto, mean_refit = float(np.mean(auto_mase)), float(np.mean(refit_mase))
    result["refit_vs_auto"] = {
        "auto_seconds": round(auto_s, 3),
        "refit_seconds": round(refit_s, 3),
        "speedup": round(auto_s / refit_s, 1),
        "speedup_goal_met": auto_s / refit_s >= 10,
        "auto_holdout_mase": round(mean_auto, 4),
        "refit_holdout_mase": round(mean_refit, 4),
        "mase_rel_diff_pct": round(100 * (mean_refit - mean_auto) / mean_auto, 2),
        "mase_goal_met": abs(mean_refit - mean_auto) / mean_auto <= 0.02,
        "orders_unchanged_after_a_week": same_orders,
        "week_ago_selection_seconds": round(select_s, 2),
        "load_avg": load(),
    }
    result["holdout_coverage_autoarima"] = {
        str(lv): round(float(np.mean(cov[lv])), 3) for lv in LEVELS
    }

    # 3. production model pass on Spark ---------------------------------------------------
    from forecasting.models import with_model_results

    config = ForecastConfig(horizon=H, levels=tuple(LEVELS), season_length=M)
    series_df = train_df.selectExpr(
        "unique_id", "'bench' as metric", "'series' as level", "unique_id as key", "ds", "y"
    )
    t0 = time.perf_counter()
    results = (
        with_model_results(series_df, config, parts)
        .drop("forecast_ds", "point", "lo_80", "hi_80", "lo_95", "hi_95")
        .toPandas()
    )
    pass_seconds = time.perf_counter() - t0
    by_model = results.groupby("model").agg(
        n=("unique_id", "count"),
        mase=("mase", "mean"),
        smape=("smape", "mean"),
        coverage_80=("coverage_80", "mean"),
        coverage_95=("coverage_95", "mean"),
        convergence_warnings=("n_convergence_warnings", "sum"),
    )
    result["model_pass_spark"] = {
        "seconds": round(pass_seconds, 2),
        "series_per_s": round(args.series / pass_seconds, 3),
        "backtest_by_model": {
            str(k): {c: (round(float(v), 4) if c != "n" else int(v)) for c, v in row.items()}
            for k, row in by_model.iterrows()
        },
        "nominal_coverage": {str(lv): lv / 100 for lv in LEVELS},
        "load_avg": load(),
    }
    spark.stop()
    result["load_avg_end"] = load()
    result["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    text = json.dumps(result, indent=2, sort_keys=True)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
