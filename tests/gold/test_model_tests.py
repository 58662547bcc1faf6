"""Catalog model tests: not-null, invariants and foreign keys evaluate on the written rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pyspark.sql import SparkSession

from conf.catalog import table
from gold.model_tests import row_tests, to_fk_violations, to_row_test_counts


def test_bridge_invariant_and_not_null_catch_broken_rows(spark: SparkSession) -> None:
    spec = table("gold.mrr_movements_monthly")
    m = Decimal
    rows = [
        (dt.date(2026, 3, 1), "NA", m(100), m(10), m(0), m(0), m(0), m(0), m(5), m(115)),  # ok
        (dt.date(2026, 3, 1), "EMEA", m(100), m(10), m(0), m(0), m(0), m(0), m(-5), m(106)),  # off
        (dt.date(2026, 4, 1), None, m(0), m(0), m(0), m(0), m(0), m(0), m(0), m(0)),  # null key
    ]
    df = spark.createDataFrame(
        rows,
        ", ".join(f"{c.name} {c.type}" for c in spec.columns),
    )
    tests = row_tests(spec)
    counts = to_row_test_counts(df, tests).first()
    assert counts is not None
    failing = {t.name: int(counts[t.name] or 0) for t in tests if counts[t.name]}
    assert failing == {"not_null:region": 1, "invariant:mrr_bridge": 1}
    assert counts["_rows"] == 3


def test_foreign_keys_list_the_missing_values(spark: SparkSession) -> None:
    spec = table("gold.mrr_daily")
    [region_fk] = [fk for fk in spec.foreign_keys if fk.column == "region"]
    facts = spark.createDataFrame([("NA",), ("UNKNOWN",), (None,)], "region string")
    dims = spark.createDataFrame([("NA",), ("EMEA",)], "region string")
    assert [r[0] for r in to_fk_violations(facts, region_fk, dims).collect()] == ["UNKNOWN"]
