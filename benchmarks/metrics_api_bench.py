"""Benchmark of the metrics API through the real local Trino: cold and cached latency, start time.

Writes a synthetic Gold/ops lake with Spark, compacted by the maintenance job (OPTIMIZE) as
the nightly `finlake_maintenance` DAG leaves it (`--days` days x 4 regions x 5 plans x 3 segments),
starts Trino (or reuses it; `--restart` measures a fresh start), registers the tables, serves
the app with uvicorn in a separate process and measures, one request at a time on loopback:

* first requests: the first `--warmup` (default 20) distinct requests per endpoint after
  Trino started, reported apart with their own percentiles (`after_start`): a fresh Trino
  plans each query shape for the first time and its JIT has not compiled the hot paths yet;
* cold: then distinct queries (new date ranges), every one a cache miss through Trino, on the
  warmed server (the state of a long-running one);
* cached: the same queries again (one `$history` version check through Trino, then cache).

Goal: p50 <= 150 ms and p95 <= 300 ms. Run:
``.venv/bin/python benchmarks/metrics_api_bench.py [--days 730] [--cold 15] [--cached 40]``.
Prints one JSON document. Stops Trino at the end if it started it (or with `--stop`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REGIONS = ("NA", "EMEA", "APAC", "LATAM")
PLANS = ("starter", "basic", "pro", "business", "enterprise")
SEGMENTS = ("smb", "mid_market", "enterprise")
READ_KEY = "bench-read-key-7f3a9c2e5b8d4f01a"


def build_lake(lake: str, days: int) -> None:
    """Write synthetic Gold and ops tables with Spark (money as decimal(18,4))."""
    from pyspark.sql import functions as F

    from conf.catalog import TableName
    from conf.settings import Settings
    from jobs.lake import Lake
    from jobs.maintenance_job import run_maintenance
    from jobs.spark import get_spark

    settings = Settings(lake_root=lake)
    spark = get_spark(settings, "metrics-bench")
    start = dt.date(2025, 1, 1)
    money = "decimal(18,4)"
    grid = (
        spark.range(days)
        .select(F.date_add(F.lit(start), F.col("id").cast("int")).alias("d"), F.col("id"))
        .crossJoin(spark.createDataFrame([(r,) for r in REGIONS], ["region"]))
    )
    mrr = (
        grid.crossJoin(spark.createDataFrame([(p,) for p in PLANS], ["plan_id"]))
        .crossJoin(spark.createDataFrame([(s,) for s in SEGMENTS], ["customer_segment"]))
        .select(
            F.col("d").alias("metric_date"),
            "region",
            "plan_id",
            "customer_segment",
            (F.lit(1000) + F.col("id") * 3 + F.hash("region", "plan_id") % 100)
            .cast(money)
            .alias("mrr_usd"),
            (F.lit(20) + F.col("id") / 10).cast("long").alias("active_subscriptions"),
            (F.lit(18) + F.col("id") / 10).cast("long").alias("active_customers"),
        )
    )
    revenue = grid.select(
        F.col("d").alias("revenue_date"),
        "region",
        (F.lit(5000) + F.col("id")).cast(money).alias("gross_revenue_usd"),
        F.lit(-25).cast(money).alias("refunds_usd"),
        (F.lit(4975) + F.col("id")).cast(money).alias("net_revenue_usd"),
        F.lit(40).cast(money).alias("failed_payments_usd"),
        F.lit(2000).cast(money).alias("costs_usd"),
        F.lit(2000).cast(money).alias("cogs_usd"),
        (F.lit(2975) + F.col("id")).cast(money).alias("gross_margin_usd"),
        F.lit(50.0).alias("gross_margin_pct"),
    )
    months = grid.where(F.dayofmonth("d") == 1)
    movements = months.select(
        F.col("d").alias("month_start_date"),
        "region",
        *[
            F.lit(v).cast(money).alias(c)
            for c, v in (
                ("opening_mrr_usd", 100000),
                ("new_mrr_usd", 5000),
                ("expansion_mrr_usd", 1500),
                ("contraction_mrr_usd", -700),
                ("churn_mrr_usd", -2000),
                ("reactivation_mrr_usd", 200),
                ("transfer_mrr_usd", 0),
                ("closing_mrr_usd", 104000),
            )
        ],
    )
    churn = months.select(
        F.col("d").alias("month_start_date"),
        "region",
        F.lit(1000).cast("long").alias("opening_customers"),
        F.lit(30).cast("long").alias("churned_customers"),
        F.lit(24).cast("long").alias("voluntary_churned_customers"),
        F.lit(6).cast("long").alias("involuntary_churned_customers"),
        F.lit(100000).cast(money).alias("opening_mrr_usd"),
        F.lit(97300).cast(money).alias("retained_mrr_usd"),
        F.lit(101200).cast(money).alias("cohort_closing_mrr_usd"),
        F.lit(0.03).alias("logo_churn_rate"),
        F.lit(0.973).alias("grr"),
        F.lit(1.012).alias("nrr"),
        F.lit(0.027).alias("gross_revenue_churn_rate"),
        F.lit(-0.012).alias("net_revenue_churn_rate"),
    )
    end = start + dt.timedelta(days=days - 1)
    as_of = end - dt.timedelta(days=30)
    forecast = (
        spark.range(1, 61)
        .select(F.date_add(F.lit(as_of), F.col("id").cast("int")).alias("forecast_date"))
        .select(
            F.lit("revenue/total").alias("unique_id"),
            F.lit("revenue").alias("metric"),
            F.lit("total").alias("level"),
            F.lit("total").alias("key"),
            "forecast_date",
            *[F.lit(Decimal(v)).cast(money).alias(c) for c, v in (
                ("point", "20000"), ("lo_80", "19000"), ("hi_80", "21000"),
                ("lo_95", "18000"), ("hi_95", "22000"), ("base_point", "20000"))],
            F.lit("AutoETS").alias("model"),
            F.lit("champion").alias("selection_mode"),
            F.lit("bench-run").alias("run_id"),
            F.lit(as_of).alias("as_of_date"),
            F.lit(dt.datetime(2026, 1, 1)).cast("timestamp").alias("created_at"),
        )
    )  # fmt: skip
    variance = forecast.where(F.col("forecast_date") <= F.lit(end)).select(
        "run_id",
        "unique_id",
        "metric",
        "level",
        "key",
        "forecast_date",
        "as_of_date",
        "model",
        F.lit(20100.0).alias("actual"),
        F.lit(20000.0).alias("forecast"),
        F.lit(True).alias("is_inside_80"),
        F.lit(True).alias("is_inside_95"),
        F.lit(False).alias("is_alert"),
    )
    t0 = dt.datetime(2026, 1, 1, 2)
    table_io = Lake(spark, settings)
    runs = spark.createDataFrame(
        [("b-1", "gold", "succeeded", t0, t0, 1.0, 1, 1, None, None, None, None)],
        table_io.schema("ops.pipeline_runs"),
    )
    dq = spark.createDataFrame(
        [("dq-b", t0, "silver.payment", "row_rule", "amount_positive", "critical", "passed",
          10, 0, None, None, None)],
        table_io.schema("ops.dq_results"),
    )  # fmt: skip
    frames: dict[TableName, Any] = {
        "gold.mrr_daily": mrr,
        "gold.revenue_region_daily": revenue,
        "gold.mrr_movements_monthly": movements,
        "gold.churn_monthly": churn,
        "gold.forecast_revenue_daily": forecast,
        "gold.forecast_variance": variance,
        "ops.pipeline_runs": runs,
        "ops.dq_results": dq,
    }
    for name, frame in frames.items():
        table_io.replace(name, frame)
    # the state the nightly maintenance DAG leaves: small files compacted by Delta OPTIMIZE
    run_maintenance(spark, settings, layers=("gold", "ops"), vacuum=False)
    spark.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95_index = max(0, round(0.95 * len(ordered)) - 1)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[p95_index], 1),
        "max_ms": round(ordered[-1], 1),
    }


def _queries(days: int, count: int, offset: int = 0) -> dict[str, list[tuple[str, dict[str, str]]]]:
    end = dt.date(2025, 1, 1) + dt.timedelta(days=days - 1)
    out: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for k in range(offset, offset + count):
        start = (end - dt.timedelta(days=180 + k)).isoformat()
        last = end.isoformat()
        out.setdefault("mrr_day", []).append(("/v1/metrics/mrr", {"start": start, "end": last}))
        out.setdefault("mrr_month_region", []).append(
            ("/v1/metrics/mrr", {"start": start, "end": last, "grain": "month", "region": "EMEA"})
        )
        out.setdefault("movements", []).append(
            ("/v1/metrics/mrr/movements", {"start": start, "end": last})
        )
        out.setdefault("churn", []).append(("/v1/metrics/churn", {"start": start, "end": last}))
        out.setdefault("revenue_month", []).append(
            ("/v1/metrics/revenue", {"start": start, "end": last, "grain": "month"})
        )
        out.setdefault("forecast", []).append(
            ("/v1/metrics/forecast", {"start": start, "end": last})
        )
    return out


def measure(base_url: str, days: int, cold: int, cached: int, warmup: int) -> dict[str, Any]:
    """Cold (distinct queries) and cached (repeats) latency per endpoint, sequential requests.

    The first `warmup` distinct requests of each endpoint (Trino compiling that query shape
    for the first time since it started) are reported apart as `first_requests_ms`.
    """
    results: dict[str, Any] = {}
    headers = {"X-API-Key": READ_KEY}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        client.get("/v1/metrics/dimensions").raise_for_status()  # warm connections
        first_ms: dict[str, list[float]] = {}
        for name, queries in _queries(days, warmup, offset=cold).items():
            for path, params in queries:
                t = time.perf_counter()
                client.get(path, params=params).raise_for_status()
                first_ms.setdefault(name, []).append(round((time.perf_counter() - t) * 1000, 1))
        for name, queries in _queries(days, cold).items():
            cold_ms, cached_ms = [], []
            for path, params in queries:
                t = time.perf_counter()
                response = client.get(path, params=params)
                cold_ms.append((time.perf_counter() - t) * 1000)
                response.raise_for_status()
                assert response.json()["provenance"]["cached"] is False
            for i in range(cached):
                path, params = queries[i % len(queries)]
                t = time.perf_counter()
                response = client.get(path, params=params)
                cached_ms.append((time.perf_counter() - t) * 1000)
                response.raise_for_status()
                assert response.json()["provenance"]["cached"] is True
            results[name] = {
                "first_requests_ms": first_ms.get(name, []),
                "after_start": _percentiles(first_ms[name]) if first_ms.get(name) else None,
                "cold": _percentiles(cold_ms),
                "cached": _percentiles(cached_ms),
            }
    all_cold = [v["cold"]["p50_ms"] for v in results.values()]
    all_cached = [v["cached"]["p50_ms"] for v in results.values()]
    results["summary"] = {
        "worst_cold_p50_ms": max(all_cold),
        "worst_cached_p50_ms": max(all_cached),
    }
    return results


def main() -> int:
    """Build the lake, start Trino and the API, measure, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--cold", type=int, default=15)
    parser.add_argument("--cached", type=int, default=40)
    parser.add_argument(
        "--warmup", type=int, default=20, help="distinct requests per endpoint before measuring"
    )
    parser.add_argument("--lake", default=None, help="lake root (default: a temporary folder)")
    parser.add_argument("--restart", action="store_true", help="restart Trino to time a start")
    parser.add_argument("--stop", action="store_true", help="stop Trino at the end")
    args = parser.parse_args()

    os.environ["FINLAKE_API_KEYS"] = json.dumps({READ_KEY: ["read"]})
    os.environ.setdefault("FINLAKE_ENV", "test")
    lake = args.lake or tempfile.mkdtemp(prefix="finlake-bench-")
    os.environ["FINLAKE_LAKE_ROOT"] = lake
    from conf.settings import Settings
    from jobs import trino

    settings = Settings()
    report: dict[str, Any] = {"lake": lake, "days": args.days}
    t = time.perf_counter()
    build_lake(lake, args.days)
    report["build_lake_s"] = round(time.perf_counter() - t, 1)

    was_up = trino.is_ready(settings)
    if was_up and args.restart:
        trino.stop(settings)
        while trino.server_info(settings) is not None:
            time.sleep(0.2)
        was_up = False
    start_s = trino.start(settings)
    report["trino_start_s"] = round(start_s, 1) if not was_up else None
    t = time.perf_counter()
    report["registered"] = trino.register_tables(settings)
    report["register_s"] = round(time.perf_counter() - t, 2)

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        report["latency"] = measure(
            f"http://127.0.0.1:{port}", args.days, args.cold, args.cached, args.warmup
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        if args.stop or not was_up:
            trino.stop(settings)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
