"""Silver on generated data with defects: every injected defect is counted exactly."""

from __future__ import annotations

from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.lake import Lake
from jobs.silver_job import _pending_from_log
from tests.pipeline_fixtures import GeneratedLake

pytestmark = pytest.mark.integration


def _quarantine_by_reason(spark: SparkSession, lake: GeneratedLake) -> dict[str, int]:
    df = Lake(spark, lake.settings).read("silver.quarantine")
    return {r[0]: int(r[1]) for r in df.groupBy("reason").count().collect()}


def test_each_defect_kind_is_counted_exactly(
    spark: SparkSession, dirty_lake: GeneratedLake, dirty_silver: dict[str, Any]
) -> None:
    defects = dirty_lake.manifest["defects"]
    reasons = _quarantine_by_reason(spark, dirty_lake)
    malformed = reasons.pop("malformed:invalid_json", 0) + reasons.pop("malformed:invalid_utf8", 0)
    assert malformed == defects["malformed_lines"]
    assert reasons == {
        "not_null:customer_id": defects["null_required"],
        "range:amount": defects["out_of_range"],
        "ref:plans": defects["unknown_plan"],
        "conflicting_duplicate": defects["conflicting_duplicates"],
        "too_late": defects["too_late"],
        "ref:refunded_payment": defects["orphan_refunds"],
    }
    runs = [dirty_silver["first"], dirty_silver["second"]]
    types = ("subscription", "payment", "usage", "operational_cost")
    assert sum(r[t]["duplicates"] for r in runs for t in types) == defects["exact_duplicates"]
    assert sum(r[t]["late"] for r in runs for t in types) == defects["late_events"]


def test_valid_rows_are_the_generated_events(
    spark: SparkSession, dirty_lake: GeneratedLake, dirty_silver: dict[str, Any]
) -> None:
    per_type = dirty_lake.manifest["lines_per_type"]
    defects = dirty_lake.manifest["defects"]
    counts = {t: Lake(spark, dirty_lake.settings).read(f"silver.{t}").count() for t in per_type}
    assert sum(counts.values()) == dirty_lake.manifest["events"]
    bronze = Lake(spark, dirty_lake.settings).read("bronze.events")
    assert bronze.count() == dirty_lake.manifest["lines"]
    assert bronze.filter("is_parse_error").count() == defects["malformed_lines"]
    payments = Lake(spark, dirty_lake.settings).read("silver.payment")
    assert dict(payments.dtypes)["amount"] == "decimal(18,4)"
    assert payments.filter(F.col("books_date") != F.col("event_date")).isEmpty()
    assert payments.select("event_id").distinct().count() == payments.count()


def test_dq_results_and_runs_are_recorded(
    spark: SparkSession, dirty_lake: GeneratedLake, dirty_silver: dict[str, Any]
) -> None:
    dq = Lake(spark, dirty_lake.settings).read("ops.dq_results")
    failed = {
        r["rule_name"]: r["failed_rows"]
        for r in dq.filter("table_name = 'payment' AND check_kind = 'row_rule'").collect()
        if r["failed_rows"]
    }
    assert failed["range:amount"] + 0 >= 1
    runs = Lake(spark, dirty_lake.settings).read("ops.pipeline_runs")
    assert {r["job_name"] for r in runs.collect()} >= {"bronze", "silver"}
    assert not dirty_silver["second"]["critical_failures"]


def test_pending_batches_from_the_delta_log_match_the_data(
    spark: SparkSession, dirty_lake: GeneratedLake, dirty_silver: dict[str, Any]
) -> None:
    lake = Lake(spark, dirty_lake.settings)
    from_log = _pending_from_log(lake, None, set())
    assert from_log is not None, "Bronze files written by Spark carry one batch id each"
    from_data = (
        lake.read("bronze.events")
        .groupBy("batch_id", "received_date")
        .count()
        .orderBy("batch_id", "received_date")
        .collect()
    )
    assert from_log == [(r[0], r[1], r[2]) for r in from_data]
    first_batch = from_log[0][0]
    rest = _pending_from_log(lake, None, {first_batch})
    assert rest == [p for p in from_log if p[0] != first_batch]
