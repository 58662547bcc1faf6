"""Metrics API through a real Trino: results equal the same Gold tables read with Spark,
gaps are answered as zeros, and every body validates against its response model."""

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

from api import models
from api.app import create_app
from api.metrics_deps import MetricsService
from api.trino_client import API_SESSION_PROPERTIES, TrinoMetricsStore
from conf.settings import Settings
from tests.api.conftest import EMPTY_CHURN_ROW, MISSING_CHURN_ROW, MOVEMENTS_V2
from tests.catalog_schemas import spark_schema

pytestmark = [pytest.mark.integration, pytest.mark.trino]

READ = {"X-API-Key": "test-read-key-7f3a9c2e5b8d4f01aa"}
INGEST_ONLY = {"X-API-Key": "test-ingest-key-7f3a9c2e5b8d4f01"}


@pytest.fixture(scope="module")
def client(metrics_lake: dict[str, str], trino_server: Settings) -> Iterator[TestClient]:
    """The finlake app over the served lake; versions re-checked on every request."""
    app = create_app(trino_server)
    app.state.metrics_service = MetricsService(
        TrinoMetricsStore(trino_server), trino_server.trino_catalog, version_ttl_s=0
    )
    with TestClient(app) as test_client:
        yield test_client


def _delta(spark: SparkSession, paths: dict[str, str], table: str) -> DataFrame:
    return spark.read.format("delta").load(paths[table])


RESPONSE_MODELS: dict[str, type[models.BaseModel]] = {
    "/v1/metrics/dimensions": models.DimensionsResponse,
    "/v1/metrics/mrr": models.MrrResponse,
    "/v1/metrics/mrr/movements": models.MovementsResponse,
    "/v1/metrics/churn": models.ChurnResponse,
    "/v1/metrics/revenue": models.RevenueResponse,
    "/v1/metrics/forecast": models.ForecastResponse,
}


def _get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    """GET a metrics endpoint; the body must validate against its declared response model."""
    response = client.get(path, params=params, headers=READ)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    RESPONSE_MODELS[path].model_validate(body)  # extra="forbid": no undeclared field either
    return body


def _days(start: str, end: str) -> list[str]:
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def test_mrr_daily_with_filters_equals_spark(
    client: TestClient,
    spark: SparkSession,
    metrics_lake: dict[str, str],
) -> None:
    body = _get(
        client, "/v1/metrics/mrr", start="2026-01-10", end="2026-02-20", region="EMEA", plan="pro"
    )
    expected = (
        _delta(spark, metrics_lake, "gold.mrr_daily")
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
    metrics_lake: dict[str, str],
) -> None:
    body = _get(client, "/v1/metrics/mrr", start="2026-01-01", end="2026-03-15", grain="month")
    daily = (
        _delta(spark, metrics_lake, "gold.mrr_daily")
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
    metrics_lake: dict[str, str],
) -> None:
    body = _get(client, "/v1/metrics/mrr/movements", start="2026-01-15", end="2026-03-31")
    money = [f.name for f in MOVEMENTS_V2.fields if f.name.endswith("_usd")]
    table = _delta(spark, metrics_lake, "gold.mrr_movements_monthly")
    expected = (
        table.groupBy("month_start_date")
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
        assert Decimal(got["transfer_mrr_usd"]) == 0  # transfers cancel out over regions
        moves = sum(
            Decimal(got[c]) for c in money if c not in ("opening_mrr_usd", "closing_mrr_usd")
        )
        assert Decimal(got["opening_mrr_usd"]) + moves == Decimal(got["closing_mrr_usd"])
    for region in ("NA", "EMEA"):  # the bridge holds per region, transfers included
        one = _get(
            client, "/v1/metrics/mrr/movements", start="2026-01-01", end="2026-03-31", region=region
        )
        rows = table.where(F.col("region") == region).orderBy("month_start_date").collect()
        assert [Decimal(r["transfer_mrr_usd"]) for r in one["data"]] == [
            r.transfer_mrr_usd for r in rows
        ]
        assert any(Decimal(r["transfer_mrr_usd"]) for r in one["data"])
        for got in one["data"]:
            moves = sum(
                Decimal(got[c]) for c in money if c not in ("opening_mrr_usd", "closing_mrr_usd")
            )
            assert Decimal(got["opening_mrr_usd"]) + moves == Decimal(got["closing_mrr_usd"])


def test_movements_months_without_rows_are_zero(client: TestClient) -> None:
    body = _get(
        client, "/v1/metrics/mrr/movements", start="2026-01-01", end="2026-03-31", region="LATAM"
    )
    assert [r["month_start_date"] for r in body["data"]] == [
        "2026-01-01",
        "2026-02-01",
        "2026-03-01",
    ]
    assert all(Decimal(v) == 0 for r in body["data"] for k, v in r.items() if k.endswith("_usd"))


def test_churn_by_region_and_totals(
    client: TestClient,
    spark: SparkSession,
    metrics_lake: dict[str, str],
) -> None:
    body = _get(client, "/v1/metrics/churn", start="2026-01-01", end="2026-03-31")
    rows = _delta(spark, metrics_lake, "gold.churn_monthly").collect()
    by_key = {(r.month_start_date.isoformat(), r.region): r for r in rows}
    got = {(r["month_start_date"], r["region"]): r for r in body["data"]["by_region"]}
    months = ("2026-01-01", "2026-02-01", "2026-03-01")
    assert sorted(got) == sorted((m, r) for m in months for r in ("APAC", "EMEA", "NA"))
    for key, row in by_key.items():
        assert got[key]["churned_customers"] == row.churned_customers
        assert Decimal(got[key]["retained_mrr_usd"]) == row.retained_mrr_usd
        assert got[key]["nrr"] == row.nrr and got[key]["grr"] == row.grr
    missing = got[(MISSING_CHURN_ROW[0].isoformat(), MISSING_CHURN_ROW[1])]
    assert missing["opening_customers"] == 0 and Decimal(missing["opening_mrr_usd"]) == 0
    assert missing["logo_churn_rate"] is None and missing["nrr"] is None
    empty = got[(EMPTY_CHURN_ROW[0].isoformat(), EMPTY_CHURN_ROW[1])]
    assert empty["grr"] is None and empty["gross_revenue_churn_rate"] is None
    for total in body["data"]["total"]:
        month = [r for r in rows if r.month_start_date.isoformat() == total["month_start_date"]]
        opening_mrr = sum(r.opening_mrr_usd for r in month)
        retained = sum(r.retained_mrr_usd for r in month)
        closing = sum(r.cohort_closing_mrr_usd for r in month)
        assert total["opening_customers"] == sum(r.opening_customers for r in month)
        assert Decimal(total["retained_mrr_usd"]) == retained
        assert total["logo_churn_rate"] == float(
            Decimal(sum(r.churned_customers for r in month))
            / sum(r.opening_customers for r in month)
        )
        assert total["grr"] == float(retained / opening_mrr)  # exact: from summed components
        assert total["nrr"] == float(closing / opening_mrr)
        assert total["gross_revenue_churn_rate"] == float(1 - retained / opening_mrr)
        assert total["net_revenue_churn_rate"] == float(1 - closing / opening_mrr)


def test_churn_of_a_region_without_rows_is_zero(client: TestClient) -> None:
    body = _get(client, "/v1/metrics/churn", start="2026-01-01", end="2026-03-31", region="LATAM")
    assert [(r["month_start_date"], r["region"]) for r in body["data"]["by_region"]] == [
        ("2026-01-01", "LATAM"),
        ("2026-02-01", "LATAM"),
        ("2026-03-01", "LATAM"),
    ]
    for total in body["data"]["total"]:
        assert total["opening_customers"] == 0 and total["grr"] is None


def test_revenue_by_region_monthly_equals_spark(
    client: TestClient,
    spark: SparkSession,
    metrics_lake: dict[str, str],
) -> None:
    body = _get(client, "/v1/metrics/revenue", start="2026-02-01", end="2026-03-31", grain="month")
    expected = (
        _delta(spark, metrics_lake, "gold.revenue_region_daily")
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


def test_days_without_rows_under_a_filter_are_zero_not_skipped(client: TestClient) -> None:
    mrr = _get(client, "/v1/metrics/mrr", start="2026-03-25", end="2026-04-05", region="LATAM")
    assert [r["period_start"] for r in mrr["data"]] == _days("2026-03-25", "2026-03-31")
    assert {(r["mrr_usd"], r["active_subscriptions"]) for r in mrr["data"]} == {("0.0000", 0)}
    monthly = _get(
        client, "/v1/metrics/mrr", start="2026-01-01", end="2026-03-31", grain="month",
        segment="mid_market",
    )  # fmt: skip
    assert [(r["period_start"], r["as_of_date"], r["mrr_usd"]) for r in monthly["data"]] == [
        ("2026-01-01", "2026-01-31", "0.0000"),
        ("2026-02-01", "2026-02-28", "0.0000"),
        ("2026-03-01", "2026-03-31", "0.0000"),
    ]
    revenue = _get(client, "/v1/metrics/revenue", start="2026-02-27", end="2026-03-02",
                   region="LATAM")  # fmt: skip
    assert [(r["period_start"], r["region"]) for r in revenue["data"]] == [
        (day, "LATAM") for day in _days("2026-02-27", "2026-03-02")
    ]
    assert all(Decimal(r["net_revenue_usd"]) == 0 for r in revenue["data"])
    assert all(r["gross_margin_pct"] is None for r in revenue["data"])


def test_dimensions_name_the_forecast_horizon(client: TestClient) -> None:
    body = _get(client, "/v1/metrics/dimensions")
    ranges = body["data"]["date_ranges"]
    assert ranges["mrr"] == {"min": "2026-01-01", "max": "2026-03-31"}
    assert ranges["forecast"] == {"min": "2026-04-01", "max": "2026-04-30"}  # latest run
    assert body["data"]["regions"] == ["NA", "EMEA", "APAC", "LATAM"]


def test_forecast_vs_actual_defaults_to_latest_run_with_actuals(
    client: TestClient,
    spark: SparkSession,
    metrics_lake: dict[str, str],
) -> None:
    body = _get(client, "/v1/metrics/forecast", start="2026-03-01", end="2026-04-30")
    data = body["data"]
    assert data["run_id"] == "run-feb"
    assert data["unique_id"] == "revenue/total"
    expected = (
        _delta(spark, metrics_lake, "gold.forecast_revenue_daily")
        .where("run_id = 'run-feb' AND unique_id = 'revenue/total'")
        .orderBy("forecast_date")
        .collect()
    )
    assert [
        (r["forecast_date"], Decimal(r["lo_95"]), Decimal(r["hi_80"])) for r in data["forecast"]
    ] == [(r.forecast_date.isoformat(), r.lo_95, r.hi_80) for r in expected]
    actual = (
        _delta(spark, metrics_lake, "gold.forecast_variance").orderBy("forecast_date").collect()
    )
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
    metrics_lake: dict[str, str],
) -> None:
    body = _get(client, "/v1/metrics/revenue", start="2026-03-01", end="2026-03-31")
    prov = body["provenance"]
    for table in ("gold.revenue_region_daily", "ops.pipeline_runs", "ops.dq_results"):
        history = DeltaTable.forPath(spark, metrics_lake[table]).history(1).collect()
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
    metrics_lake: dict[str, str],
) -> None:
    params = {"start": "2026-02-10", "end": "2026-02-11", "region": "LATAM"}
    first = _get(client, "/v1/metrics/mrr", **params)
    second = _get(client, "/v1/metrics/mrr", **params)
    assert [r["mrr_usd"] for r in first["data"]] == ["0.0000", "0.0000"]
    assert second["provenance"]["cached"] is True
    version = second["provenance"]["tables"]["gold.mrr_daily"]
    row = (dt.date(2026, 2, 11), "LATAM", "basic", "smb", Decimal("99.9800"), 2, 2)
    mrr_schema = spark_schema("gold.mrr_daily")
    spark.createDataFrame([row], mrr_schema).write.format("delta").mode("append").save(
        metrics_lake["gold.mrr_daily"]
    )
    third = _get(client, "/v1/metrics/mrr", **params)
    assert third["provenance"]["cached"] is False
    assert third["provenance"]["tables"]["gold.mrr_daily"] == version + 1
    assert [(r["period_start"], r["mrr_usd"]) for r in third["data"]] == [
        ("2026-02-10", "0.0000"),
        ("2026-02-11", "99.9800"),
    ]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"start": "2026-02-01", "end": "2026-01-01"}, "after end"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "too long"),
        ({"start": "2026-01-01", "end": "2026-01-31", "region": "MARS"}, "region: Input should"),
        ({"start": "2026-01-01", "end": "2026-01-31", "segment": "huge"}, "segment: Input"),
        ({"start": "2026-01-01", "end": "2026-01-31", "plan": "nope"}, "unknown plan"),
        ({"start": "2026-01-01", "end": "2026-01-31", "plan": "a b'"}, "malformed plan"),
    ],
)
def test_invalid_queries_are_clear_422s(
    client: TestClient, params: dict[str, str], fragment: str
) -> None:
    response = client.get("/v1/metrics/mrr", params=params, headers=READ)
    assert response.status_code == 422
    body = models.MetricsError.model_validate(response.json())
    assert body.error == "invalid_query"
    assert fragment in body.detail
    if "region" in params:
        assert body.allowed == ["NA", "EMEA", "APAC", "LATAM"]


def test_bad_dates_and_grain_are_422(client: TestClient) -> None:
    for params in (
        {"start": "2026-13-01", "end": "2026-12-31"},
        {"start": "yesterday", "end": "2026-12-31"},
        {"start": "2026-01-01", "end": "2026-01-31", "grain": "week"},
    ):
        response = client.get("/v1/metrics/mrr", params=params, headers=READ)
        assert response.status_code == 422, params
        body = models.MetricsError.model_validate(response.json())
        assert body.errors and body.errors[0].parameter in ("start", "grain")
    missing = client.get("/v1/metrics/revenue", params={"start": "2026-01-01"}, headers=READ)
    assert missing.status_code == 422
    assert models.MetricsError.model_validate(missing.json()).errors[0].parameter == "end"  # type: ignore[index]


def test_read_scope_is_required(client: TestClient) -> None:
    params = {"start": "2026-01-01", "end": "2026-01-31"}
    anonymous = client.get("/v1/metrics/mrr", params=params)
    assert anonymous.status_code == 401
    assert models.MetricsError.model_validate(anonymous.json()).error == "unauthorized"
    ingest_only = client.get("/v1/metrics/mrr", params=params, headers=INGEST_ONLY)
    assert ingest_only.status_code == 403
    assert models.MetricsError.model_validate(ingest_only.json()).error == "forbidden"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_trino_down_is_a_clear_503(trino_server: Settings) -> None:
    app = create_app(trino_server)
    app.state.metrics_store = TrinoMetricsStore(
        trino_server.model_copy(update={"trino_port": _free_port()})
    )
    with TestClient(app) as down:
        response = down.get(
            "/v1/metrics/churn", params={"start": "2026-01-01", "end": "2026-01-31"}, headers=READ
        )
    assert response.status_code == 503
    body = models.MetricsError.model_validate(response.json())
    assert body.error == "metrics_store_unavailable"
    assert "finlake trino up" in (body.hint or "")
    assert response.headers["Retry-After"]
    port = str(down.app.state.metrics_store.port)  # type: ignore[attr-defined]
    assert port not in response.text and "127.0.0.1" not in response.text  # no server details


def test_api_connections_use_the_small_query_session(trino_server: Settings) -> None:
    store = TrinoMetricsStore(trino_server)
    session = {r["Name"]: r["Value"] for r in store.fetch("SHOW SESSION")}
    assert {k: session[k] for k in API_SESSION_PROPERTIES} == API_SESSION_PROPERTIES
    analyst = TrinoMetricsStore(trino_server, session_properties={})
    assert {r["Name"]: r["Value"] for r in analyst.fetch("SHOW SESSION")}["execution_policy"] == (
        "phased"
    )
