"""`bronze.events.with_bronze_envelope`: the canonical payload hash, checked against Python."""

from __future__ import annotations

import hashlib
import json

from pyspark.sql import SparkSession

from bronze.events import with_bronze_envelope


def _expected_hash(values: dict[str, str]) -> str:
    """sha256 of the payload's entries sorted by key, as Spark's `to_json` writes them."""
    entries = [{"key": k, "value": values[k]} for k in sorted(values)]
    return hashlib.sha256(json.dumps(entries, separators=(",", ":")).encode()).hexdigest()


def test_the_hash_ignores_key_order_and_spacing(spark: SparkSession) -> None:
    lines = [
        '{"event_id": "e1", "quantity": 2, "metric": "api_calls", "b": "x"}',
        '{"b":"x","metric":"api_calls","quantity":2,"event_id":"e1"}',
        '{"event_id":"e1","quantity":3,"metric":"api_calls","b":"x"}',
    ]
    df = spark.createDataFrame([(line, True) for line in lines], "line string, is_utf8 boolean")
    hashes = [r["payload_hash"] for r in with_bronze_envelope(df).collect()]
    first = {"event_id": "e1", "quantity": "2", "metric": "api_calls", "b": "x"}
    assert hashes[0] == hashes[1] == _expected_hash(first)
    assert hashes[2] == _expected_hash(first | {"quantity": "3"})


def test_a_line_that_is_not_json_hashes_its_text(spark: SparkSession) -> None:
    df = spark.createDataFrame([("not json", True)], "line string, is_utf8 boolean")
    row = with_bronze_envelope(df).first()
    assert row is not None
    assert row["parse_error"] == "invalid_json"
    assert row["payload_hash"] == hashlib.sha256(b"not json").hexdigest()
