"""Catalog model tests: key, not-null, invariants and foreign keys, all in one job."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession

from conf.catalog import table
from gold.model_tests import to_fk_violations, to_model_test_counts


def _movements(spark: SparkSession) -> DataFrame:
    m = Decimal
    rows = [
        (dt.date(2026, 3, 1), "NA", m(100), m(10), m(0), m(0), m(0), m(0), m(5), m(115)),  # ok
        (dt.date(2026, 3, 1), "EMEA", m(100), m(10), m(0), m(0), m(0), m(0), m(-5), m(106)),  # off
        (dt.date(2026, 3, 1), "EMEA", m(0), m(0), m(0), m(0), m(0), m(0), m(0), m(0)),  # dup key
        (dt.date(2026, 4, 1), "LATAM", m(0), m(0), m(0), m(0), m(0), m(0), m(0), m(0)),  # no dim
    ]
    spec = table("gold.mrr_movements_monthly")
    return spark.createDataFrame(rows, ", ".join(f"{c.name} {c.type}" for c in spec.columns))


def test_every_failing_test_is_counted_in_one_pass(spark: SparkSession) -> None:
    regions = spark.createDataFrame([("NA",), ("EMEA",)], "region string")
    counts = to_model_test_counts(
        {"gold.mrr_movements_monthly": _movements(spark)}, {"gold.dim_region": regions}
    )
    failing = {(r["test_name"], r["failed"]) for r in counts.collect() if r["failed"]}
    assert failing == {
        ("unique_key", 1),
        ("invariant:mrr_bridge", 1),
        ("fk:region->gold.dim_region.region", 1),
    }
    assert {r["table_name"] for r in counts.collect()} == {"gold.mrr_movements_monthly"}


def test_foreign_keys_list_the_missing_values(spark: SparkSession) -> None:
    spec = table("gold.mrr_daily")
    [region_fk] = [fk for fk in spec.foreign_keys if fk.column == "region"]
    # a missing value counts once however often it occurs; repeated target values are fine
    facts = spark.createDataFrame(
        [("NA",), ("UNKNOWN",), (None,), ("UNKNOWN",), ("NA",)], "region string"
    )
    dims = spark.createDataFrame([("NA",), ("EMEA",), ("NA",)], "region string")
    assert [r[0] for r in to_fk_violations(facts, region_fk, dims).collect()] == ["UNKNOWN"]
