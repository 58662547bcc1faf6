"""Metrics API through a real Trino: results equal the same Gold tables read with Spark."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from delta.tables import DeltaTable
from fastapi.testclient import TestClient
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from api.app import create_app
from api.metrics_deps import MetricsService
from api.trino_client import API_SESSION_PROPERTIES, TrinoMetricsStore
from conf.settings import Settings
from gold import schemas
from tests.integration.test_trino_lake import served_lake, trino_server  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.trino]

READ = {"X-API-Key": "test-read-key-7f3a9c2e5b8d4f01aa"}
INGEST_ONLY = {"X-API-Key": "test-ingest-key-7f3a9c2e5b8d4f01"}


@pytest.fixture(scope="module")
def client(served_lake: dict[str, str], trino_server: Settings) -> Iterator[TestClient]:  # noqa: F811
    """The finlake app over the served lake; versions re-checked on every request."""
    app = create_app(trino_server)
    app.state.metrics_service = MetricsService(
        TrinoMetricsStore(trino_server), trino_server.trino_catalog, version_ttl_s=0
    )
    with TestClient(app) as test_client:
        yield test_client


def _delta(spark: SparkSession, paths: dict[str, str], table: str) -> DataFrame:
    return spark.read.format("delta").load(paths[table])


def _get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params, headers=READ)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_mrr_daily_with_filters_equals_spark(
    client: TestClient,
    spark: SparkSession,
    served_lake: dict[str, str],  # noqa: F811
) -> None:
    body = _get(
        client, "/v1/metrics/mrr", start="2026-01-10", end="2026-02-20", region="EMEA", plan="pro"
    )
    expected = (
        _delta(spark, served_lake, "gold.mrr_daily")
        .where("metric_date BETWEEN '2026-01-10' AND '2026-02-20'")
        .where("region = 'EMEA' AND plan_id = 'pro'")
        .groupBy("metric_date")
        .agg(F.sum("mrr_usd").alias("mrr"), F.sum("active_subscriptions").alias("subs"))
        .orderBy("metric_date")
        .collect()
    )
    got = [
        (r["period_start"], Decimal(r["mrr_usd"]), r["active_subscriptions"]) for r in body["data"]
    ]
    assert got == [(r.metric_date.isoformat(), r.mrr, r.subs) for r in expected]
    assert all(isinstance(r["mrr_usd"], str) for r in body["data"])  # money never a float


def test_mrr_monthly_is_the_month_end_value(
    client: TestClient,
    spark: SparkSession,
    served_lake: dict[str, str],  # noqa: F811
) -> None:
    body = _get(client, "/v1/metrics/mrr", start="2026-01-01", end="2026-03-15", grain="month")
    daily = (
        _delta(spark, served_lake, "gold.mrr_daily")
        .where("metric_date BETWEEN '2026-01-01' AND '2026-03-15'")
        .groupBy("metric_date")
        .agg(F.sum("mrr_usd").alias("mrr"), F.sum("active_subscriptions").alias("subs"))
        .collect()
    )
    by_month: dict[str, Any] = {}
    for row in sorted(daily, key=lambda r: r.metric_date):
        by_month[row.metric_date.replace(day=1).isoformat()] = row
    got = {r["period_start"]: r for r in body["data"]}
    assert sorted(got) == sorted(by_month)
    for month, row in by_month.items():
        assert Decimal(got[month]["mrr_usd"]) == row.mrr
        assert got[month]["active_subscriptions"] == row.subs
        assert got[month]["as_of_date"] == row.metric_date.isoformat()
    assert got["2026-03-01"]["as_of_date"] == "2026-03-15"


def test_movements_equal_spark_and_add_up(
    client: TestClient,
    spark: SparkSession,
    served_lake: dict[str, str],  # noqa: F811
) -> None:
    body = _get(client, "/v1/metrics/mrr/movements", start="2026-01-15", end="2026-03-31")
    money = [f.name for f in schemas.MRR_MOVEMENTS_MONTHLY.fields if f.name.endswith("_usd")]
    expected = (
        _delta(spark, served_lake, "gold.mrr_movements_monthly")
        .groupBy("month_start_date")
        .agg(*[F.sum(c).alias(c) for c in money])
        .orderBy("month_start_date")
        .collect()
    )
    assert [r["month_start_date"] for r in body["data"]] == [
        "2026-01-01",
        "2026-02-01",
        "2026-03-01",
    ]
    for got, row in zip(body["data"], expected, strict=True):
        assert {c: Decimal(got[c]) for c in money} == {c: row[c] for c in money}
        moves = sum(
            Decimal(got[c]) for c in money if c not in ("opening_mrr_usd", "closing_mrr_usd")
        )
        assert Decimal(got["opening_mrr_usd"]) + moves == Decimal(got["closing_mrr_usd"])


def test_churn_by_region_and_totals(
    client: TestClient,
    spark: SparkSession,
    served_lake: dict[str, str],  # noqa: F811
) -> None:
    body = _get(client, "/v1/metrics/churn", start="2026-01-01", end="2026-03-31")
    rows = _delta(spark, served_lake, "gold.churn_monthly").collect()
    expected = sorted(
        (r.month_start_date.isoformat(), r.region, r.churned_customers, r.nrr) for r in rows
    )
    got = [
        (r["month_start_date"], r["region"], r["churned_customers"], r["nrr"])
        for r in body["data"]["by_region"]
    ]
    assert got == expected
    for total in body["data"]["total"]:
        month = [r for r in rows if r.month_start_date.isoformat() == total["month_start_date"]]
        assert total["opening_customers"] == sum(r.opening_customers for r in month)
        assert total["logo_churn_rate"] == pytest.approx(
            sum(r.churned_customers for r in month) / sum(r.opening_customers for r in month)
        )


def test_revenue_by_region_monthly_equals_spark(
    client: TestClient,
    spark: SparkSession,
    served_lake: dict[str, str],  # noqa: F811
) -> None:
    body = _get(client, "/v1/metrics/revenue", start="2026-02-01", end="2026-03-31", grain="month")
    expected = (
        _delta(spark, served_lake, "gold.revenue_region_daily")
        .where("revenue_date BETWEEN '2026-02-01' AND '2026-03-31'")
        .groupBy(F.trunc("revenue_date", "month").alias("m"), "region")
        .agg(F.sum("net_revenue_usd").alias("net"), F.sum("gross_margin_usd").alias("margin"))
        .orderBy("m", "region")
        .collect()
    )
    got = [(r["period_start"], r["region"], Decimal(r["net_revenue_usd"])) for r in body["data"]]
    assert got == [(r.m.isoformat(), r.region, r.net) for r in expected]
    first = body["data"][0]
    assert first["gross_margin_pct"] == pytest.approx(float(expected[0].margin / expected[0].net))


def test_forecast_vs_actual_defaults_to_latest_run_with_actuals(
    client: TestClient,
    spark: SparkSession,
    served_lake: dict[str, str],  # noqa: F811
) -> None:
    body = _get(client, "/v1/metrics/forecast", start="2026-03-01", end="2026-04-30")
    data = body["data"]
    assert data["run_id"] == "run-feb"
    assert data["unique_id"] == "revenue/total"
    expected = (
        _delta(spark, served_lake, "gold.forecast_revenue_daily")
        .where("run_id = 'run-feb' AND unique_id = 'revenue/total'")
        .orderBy("forecast_date")
        .collect()
    )
    assert [
        (r["forecast_date"], Decimal(r["lo_95"]), Decimal(r["hi_80"])) for r in data["forecast"]
    ] == [(r.forecast_date.isoformat(), r.lo_95, r.hi_80) for r in expected]
    actual = _delta(spark, served_lake, "gold.forecast_variance").orderBy("forecast_date").collect()
    assert [r["actual"] for r in data["actual"]] == [r.actual for r in actual]
    latest = _get(
        client, "/v1/metrics/forecast", start="2026-04-01", end="2026-04-30", run_id="run-mar"
    )
    assert latest["data"]["run_id"] == "run-mar" and len(latest["data"]["forecast"]) == 30
    by_region = _get(
        client,
        "/v1/metrics/forecast",
        start="2026-04-01",
        end="2026-04-30",
        level="region",
        key="NA",
    )
    assert by_region["data"]["unique_id"] == "revenue/region=NA"
    assert by_region["data"]["forecast"]


def test_provenance_versions_freshness_and_dq(
    client: TestClient,
    spark: SparkSession,
    served_lake: dict[str, str],  # noqa: F811
) -> None:
    body = _get(client, "/v1/metrics/revenue", start="2026-03-01", end="2026-03-31")
    prov = body["provenance"]
    for table in ("gold.revenue_region_daily", "ops.pipeline_runs", "ops.dq_results"):
        history = DeltaTable.forPath(spark, served_lake[table]).history(1).collect()
        assert prov["tables"][table] == history[0].version
    assert prov["freshness"]["max_date"] == "2026-03-31"
    assert prov["freshness"]["last_pipeline_run_finished_at"].startswith("2026-04-02T02:04")
    dq = prov["dq"]
    assert dq["status"] == "warning"  # latest DQ run: a quarantine-severity rule failed
    assert dq["run_id"] == "dq-2"
    assert dq["failed_rules"] == [
        {
            "table_name": "silver.payment",
            "rule_name": "amount_positive",
            "severity": "quarantine",
            "failed_rows": 2,
        }
    ]


def test_cache_hits_until_a_table_version_changes(
    client: TestClient,
    spark: SparkSession,
    served_lake: dict[str, str],  # noqa: F811
) -> None:
    params = {"start": "2025-06-01", "end": "2025-06-30", "region": "LATAM"}
    first = _get(client, "/v1/metrics/mrr", **params)
    second = _get(client, "/v1/metrics/mrr", **params)
    assert first["data"] == [] and second["provenance"]["cached"] is True
    version = second["provenance"]["tables"]["gold.mrr_daily"]
    row = (dt.date(2025, 6, 15), "LATAM", "basic", "smb", Decimal("99.9800"), 2, 2)
    spark.createDataFrame([row], schemas.MRR_DAILY).write.format("delta").mode("append").save(
        served_lake["gold.mrr_daily"]
    )
    third = _get(client, "/v1/metrics/mrr", **params)
    assert third["provenance"]["cached"] is False
    assert third["provenance"]["tables"]["gold.mrr_daily"] == version + 1
    assert [(r["period_start"], r["mrr_usd"]) for r in third["data"]] == [("2025-06-15", "99.9800")]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"start": "2026-02-01", "end": "2026-01-01"}, "after end"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "too long"),
        ({"start": "2026-01-01", "end": "2026-01-31", "region": "MARS"}, "unknown region"),
        ({"start": "2026-01-01", "end": "2026-01-31", "segment": "huge"}, "unknown segment"),
        ({"start": "2026-01-01", "end": "2026-01-31", "plan": "nope"}, "unknown plan"),
        ({"start": "2026-01-01", "end": "2026-01-31", "plan": "a b'"}, "malformed plan"),
    ],
)
def test_invalid_queries_are_clear_422s(
    client: TestClient, params: dict[str, str], fragment: str
) -> None:
    response = client.get("/v1/metrics/mrr", params=params, headers=READ)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]["message"]


def test_bad_dates_and_grain_are_422(client: TestClient) -> None:
    for params in (
        {"start": "2026-13-01", "end": "2026-12-31"},
        {"start": "yesterday", "end": "2026-12-31"},
        {"start": "2026-01-01", "end": "2026-01-31", "grain": "week"},
    ):
        response = client.get("/v1/metrics/mrr", params=params, headers=READ)
        assert response.status_code == 422, params
    missing = client.get("/v1/metrics/revenue", params={"start": "2026-01-01"}, headers=READ)
    assert missing.status_code == 422


def test_read_scope_is_required(client: TestClient) -> None:
    params = {"start": "2026-01-01", "end": "2026-01-31"}
    assert client.get("/v1/metrics/mrr", params=params).status_code == 401
    assert client.get("/v1/metrics/mrr", params=params, headers=INGEST_ONLY).status_code == 403


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_trino_down_is_a_clear_503(trino_server: Settings) -> None:  # noqa: F811
    app = create_app(trino_server)
    app.state.metrics_store = TrinoMetricsStore(
        trino_server.model_copy(update={"trino_port": _free_port()})
    )
    with TestClient(app) as down:
        response = down.get(
            "/v1/metrics/churn", params={"start": "2026-01-01", "end": "2026-01-31"}, headers=READ
        )
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "metrics_store_unavailable"
    assert "finlake trino up" in body["detail"]
    assert response.headers["Retry-After"]


def test_api_connections_use_the_small_query_session(trino_server: Settings) -> None:  # noqa: F811
    store = TrinoMetricsStore(trino_server)
    session = {r["Name"]: r["Value"] for r in store.fetch("SHOW SESSION")}
    assert {k: session[k] for k in API_SESSION_PROPERTIES} == API_SESSION_PROPERTIES
    analyst = TrinoMetricsStore(trino_server, session_properties={})
    assert {r["Name"]: r["Value"] for r in analyst.fetch("SHOW SESSION")}["execution_policy"] == (
        "phased"
    )
