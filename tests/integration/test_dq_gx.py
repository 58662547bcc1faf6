"""GX validation of a real Spark DataFrame: DQ results with exact counts, JSON and Data Docs."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from conf.settings import Settings
from jobs.dq_gx import data_docs_index, gx_context, gx_root, run_gx
from silver.dq import DQResult
from tests.integration.conftest import S3Server

pytestmark = pytest.mark.integration

USAGE_SCHEMA = T.StructType(
    [
        T.StructField("event_id", T.StringType()),
        T.StructField("event_time", T.TimestampType()),
        T.StructField("schema_version", T.LongType()),
        T.StructField("customer_id", T.StringType()),
        T.StructField("subscription_id", T.StringType()),
        T.StructField("metric", T.StringType()),
        T.StructField("quantity", T.DecimalType(18, 4)),
    ]
)
T0 = dt.datetime(2024, 3, 1, 10, 0)


def _usage_rows() -> list[tuple[object, ...]]:
    return [
        (f"1111111{i}-1111-4111-8111-111111111111", T0, 1, "c1", "s1", metric, Decimal(q))
        for i, (metric, q) in enumerate(
            [("api_calls", "10"), ("storage_gb", "2.5"), ("bogus_metric", "1"), ("api_calls", "0")]
        )
    ]


def test_failing_expectation_becomes_a_failed_dq_result(
    spark: SparkSession, tmp_path: Path
) -> None:
    settings = Settings(lake_root=str(tmp_path / "lake"))
    df = spark.createDataFrame(_usage_rows(), USAGE_SCHEMA)

    results = run_gx(df, "usage", settings, run_id="silver-test-1")

    by_name = {r.rule_name: r for r in results}
    assert len(by_name) == len(results) == 11
    assert {r.check_kind for r in results} == {"gx"}
    assert {r.table_name for r in results} == {"usage"}
    failed = [r for r in results if r.status == "failed"]
    assert [r.rule_name for r in failed] == ["gx:expect_column_values_to_be_in_set:metric"]
    (metric,) = failed
    assert (metric.severity, metric.rows_checked, metric.failed_rows) == ("warn", 4, 1)
    assert json.loads(metric.threshold or "{}")["value_set"] == [
        "api_calls",
        "storage_gb",
        "active_seats",
    ]
    not_null = by_name["gx:expect_column_values_to_not_be_null:customer_id"]
    assert (not_null.status, not_null.rows_checked, not_null.failed_rows) == ("passed", 4, 0)
    quantity = by_name["gx:expect_column_values_to_be_between:quantity"]
    assert (quantity.status, quantity.failed_rows) == ("passed", 0)
    row_count = by_name["gx:expect_table_row_count_to_be_between"]
    assert (row_count.status, row_count.rows_checked, row_count.observed_value) == (
        "passed",
        4,
        "4",
    )
    details = json.loads(metric.details or "{}")
    assert details["source_rule"] == "accepted:metric"
    assert details["data_docs"].startswith("file://")

    root = Path(gx_root(settings))
    (result_json,) = (root / "validations" / "usage" / "silver-test-1").glob("*.json")
    stored = json.loads(result_json.read_text())
    assert stored["success"] is False
    assert stored["statistics"]["unsuccessful_expectations"] == 1
    index = root / "data_docs" / "index.html"
    assert index.exists()
    assert data_docs_index(settings) == index.as_uri()
    html = index.read_text()
    assert "silver-test-1" in html and "FAILED" in html
    page = Path(details["data_docs"].removeprefix("file://"))
    assert page.exists() and "active_seats" in page.read_text()
    assert (root / "data_docs" / "expectations" / "silver" / "usage.html").exists()


def test_small_batches_validate_in_pandas_with_the_same_results(
    spark: SparkSession, tmp_path: Path
) -> None:
    settings = Settings(lake_root=str(tmp_path / "lake"))
    df = spark.createDataFrame(_usage_rows(), USAGE_SCHEMA)
    on_spark = run_gx(df, "usage", settings, run_id="silver-spark")
    in_pandas = run_gx(df, "usage", settings, run_id="silver-pandas", rows=4)

    def summary(results: list[DQResult]) -> dict[str, tuple[object, ...]]:
        return {r.rule_name: (r.status, r.rows_checked, r.failed_rows) for r in results}

    assert summary(in_pandas) == summary(on_spark)
    assert summary(in_pandas)["gx:expect_column_values_to_be_in_set:metric"] == ("failed", 4, 1)


def test_context_is_created_once_and_a_missing_column_fails_the_check(
    spark: SparkSession, tmp_path: Path
) -> None:
    assert gx_context() is gx_context()
    settings = Settings(lake_root=str(tmp_path / "lake"))
    df = spark.createDataFrame(_usage_rows(), USAGE_SCHEMA).drop("metric")

    results = run_gx(df, "usage", settings, run_id="silver-test-2")

    failed = {r.rule_name: r for r in results if r.status == "failed"}
    assert set(failed) == {
        "gx:expect_column_values_to_not_be_null:metric",
        "gx:expect_column_values_to_be_in_set:metric",
    }
    assert (
        "metric"
        in json.loads(failed["gx:expect_column_values_to_be_in_set:metric"].details or "")[
            "exception"
        ]
    )
    assert all(r.status == "passed" for r in results if r.rule_name not in failed)


def test_s3_lake_stores_json_and_page_through_the_object_store(
    spark: SparkSession, s3_server: S3Server
) -> None:
    settings = s3_server.settings()
    df = spark.createDataFrame(_usage_rows(), USAGE_SCHEMA)

    results = run_gx(df, "usage", settings, run_id="silver-s3")

    assert sum(r.status == "failed" for r in results) == 1
    prefix = settings.lake_root.removeprefix(f"s3a://{s3_server.bucket}/") + "/_dq/gx/"
    listed = s3_server.client().list_objects_v2(Bucket=s3_server.bucket, Prefix=prefix)
    keys = sorted(o["Key"].removeprefix(prefix) for o in listed.get("Contents", []))
    assert [k.split("/")[:3] for k in keys] == [
        ["data_docs", "validations", "silver"],
        ["validations", "usage", "silver-s3"],
    ]
    assert keys[0].endswith("/usage.html") and keys[1].endswith(".json")
    details = json.loads(results[0].details or "{}")
    assert details["data_docs"] == f"{gx_root(settings)}/{keys[0]}"
    assert data_docs_index(settings) == f"{gx_root(settings)}/data_docs/validations/"
