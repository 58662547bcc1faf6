"""End to end: Gold built by the pipeline from generated data, served by the real Trino.

The metrics API's MRR (through Trino) equals both the Gold table read with Spark and the
generator's ground truth. Runs after the other Trino modules (it re-registers the catalog to
the generated lake and restores the shared test lake's registrations afterwards).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from api.app import create_app
from api.metrics_deps import MetricsService
from api.trino_client import TrinoMetricsStore
from conf.settings import Settings
from jobs import trino
from jobs.lake import Lake
from tests.integration.test_trino_lake import served_lake, trino_server  # noqa: F401
from tests.pipeline_fixtures import GeneratedLake

pytestmark = [pytest.mark.integration, pytest.mark.trino]


@pytest.fixture(scope="module")
def generated_client(
    clean_lake: GeneratedLake,
    clean_pipeline: dict[str, Any],
    served_lake: dict[str, str],  # noqa: F811
    trino_server: Settings,  # noqa: F811
) -> Iterator[TestClient]:
    """App whose Trino catalog points at the generated lake's Gold and ops tables."""
    settings = clean_lake.settings.model_copy(
        update={"trino_port": trino_server.trino_port, "trino_host": trino_server.trino_host}
    )
    trino.register_tables(settings)
    app = create_app(settings)
    app.state.metrics_service = MetricsService(
        TrinoMetricsStore(settings), settings.trino_catalog, version_ttl_s=0
    )
    with TestClient(app) as client:
        yield client
    trino.register_tables(trino_server)


def test_mrr_through_trino_equals_spark_and_truth(
    generated_client: TestClient, spark: SparkSession, clean_lake: GeneratedLake
) -> None:
    truth = list(csv.DictReader((clean_lake.truth_dir / "daily_region.csv").open()))
    start, end = truth[0]["metric_date"], truth[-1]["metric_date"]
    response = generated_client.get(
        "/v1/metrics/mrr",
        params={"start": start, "end": end, "region": "EMEA"},
        headers={"X-API-Key": "test-read-key-7f3a9c2e5b8d4f01aa"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    got = {r["period_start"]: Decimal(r["mrr_usd"]) for r in body["data"]}
    spark_rows = {
        r[0].isoformat(): r[1]
        for r in Lake(spark, clean_lake.settings)
        .read("gold.mrr_daily")
        .filter("region = 'EMEA'")
        .groupBy("metric_date")
        .agg(F.sum("mrr_usd"))
        .collect()
    }
    want = {r["metric_date"]: Decimal(r["mrr_usd"]) for r in truth if r["region"] == "EMEA"}
    # days without EMEA rows are answered as 0 (zero-fill), never skipped
    assert set(spark_rows) <= set(got)
    assert got == {d: spark_rows.get(d, Decimal(0)) for d in got}
    assert {d for d, v in want.items() if v} <= set(got)
    assert got == {d: want.get(d, Decimal(0)) for d in got}
    assert body["provenance"]["tables"]
