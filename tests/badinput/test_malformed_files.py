"""Malformed batch files landed like `finlake ingest`, then Bronze + Silver on a tiny lake.

Truncated JSONL, Latin-1 bytes in a JSONL file, CSV with extra and missing columns (and a
short row), Parquet with wrong column types: every line reaches Bronze, and in Silver every
Bronze row is valid, quarantined with a reason, or a counted duplicate. Nothing is lost.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from bronze.objectstore import LocalObjectStore
from conf.settings import Settings
from jobs.bronze_job import run_bronze
from jobs.ingest import ingest_file
from jobs.lake import Lake
from jobs.silver_job import run_silver

pytestmark = [pytest.mark.badinput, pytest.mark.integration]

RECEIVED = dt.datetime(2024, 1, 8, 12, 0, tzinfo=dt.UTC)
EVENT_TIME = "2024-01-08T08:00:00+00:00"


def usage(**overrides: Any) -> dict[str, Any]:
    """A valid usage event."""
    return {
        "event_id": str(uuid.uuid4()),
        "event_time": EVENT_TIME,
        "customer_id": "cus-1",
        "subscription_id": "sub-1",
        "metric": "api_calls",
        "quantity": 42,
        **overrides,
    }


def write_files(folder: Path) -> dict[str, tuple[Path, int]]:
    """The malformed files and how many data lines each holds."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[Path, int]] = {}
    # truncated JSONL: 3 good lines, one exact duplicate, the last line cut mid-object
    good = [json.dumps(usage()) for _ in range(3)]
    truncated = "\n".join([*good, good[0], json.dumps(usage())[:37]])
    path = folder / "truncated.jsonl"
    path.write_text(truncated, encoding="utf-8")
    files["truncated_jsonl"] = (path, 5)
    # wrong encoding: a Latin-1 file (the metric "café" is not UTF-8) plus one ASCII line
    path = folder / "latin1.jsonl"
    lines = [json.dumps(usage(metric="café"), ensure_ascii=False), json.dumps(usage())]
    path.write_bytes("\n".join(lines).encode("latin-1"))
    files["latin1_jsonl"] = (path, 2)
    # CSV with an extra column, and a CSV missing the quantity column, with a short row
    path = folder / "extra.csv"
    rows = [usage() for _ in range(2)]
    header = [*rows[0].keys(), "unexpected_column"]
    body = [",".join([*map(str, r.values()), "surprise"]) for r in rows]
    path.write_text("\n".join([",".join(header), *body]) + "\n")
    files["csv_extra_column"] = (path, 2)
    path = folder / "missing.csv"
    header = ["event_id", "event_time", "customer_id", "subscription_id", "metric"]
    ok = usage()
    body = [
        ",".join(str(ok[c]) for c in header),
        ",".join([str(uuid.uuid4()), EVENT_TIME, "cus-2"]),  # short row
    ]
    path.write_text("\n".join([",".join(header), *body]) + "\n")
    files["csv_missing_columns"] = (path, 2)
    # Parquet with wrong types: quantity as text, event_time as an integer
    path = folder / "wrong_types.parquet"
    table = pa.table(
        {
            "event_id": [str(uuid.uuid4()) for _ in range(3)],
            "event_time": pa.array([1704700800, 1704700801, 1704700802], pa.int64()),
            "customer_id": ["cus-1", "cus-2", "cus-3"],
            "subscription_id": ["sub-1", "sub-2", "sub-3"],
            "metric": ["api_calls", "storage_gb", "active_seats"],
            "quantity": ["many", "12", "-3"],
        }
    )
    pq.write_table(table, path)
    files["parquet_wrong_types"] = (path, 3)
    return files


def test_malformed_files_are_quarantined_with_reasons_and_nothing_is_lost(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Bronze rows = valid + quarantined + duplicates, per file and in total."""
    settings = Settings(lake_root=str(tmp_path / "lake"), freshness_max_hours=24 * 10_000)
    store = LocalObjectStore(settings.landing)
    keys: dict[str, str] = {}
    for name, (path, _) in write_files(tmp_path / "files").items():
        result = ingest_file(store, path, "usage", now=RECEIVED)
        assert result.outcome == "landed"
        keys[name] = result.object_key

    bronze = run_bronze(spark, settings, store=store)
    silver = run_silver(spark, settings, store=store, raise_on_critical=False)

    bronze_df = Lake(spark, settings).read("bronze.events")
    per_key = {r[0]: r[1] for r in bronze_df.groupBy("source_object_key").count().collect()}
    for name, (_, lines) in write_files(tmp_path / "expected").items():
        assert per_key[keys[name]] == lines, f"{name}: Bronze holds a different number of lines"
    assert bronze["rows"] == sum(per_key.values())

    valid_df = Lake(spark, settings).read("silver.usage")
    quarantine_df = Lake(spark, settings).read("silver.quarantine")
    valid = {r[0]: r[1] for r in valid_df.groupBy("source_object_key").count().collect()}
    reasons: dict[str, list[str]] = {}
    for row in quarantine_df.select("source_object_key", "reason", "failed_rules").collect():
        assert row["reason"], "quarantined without a reason"
        assert row["reason"] == row["failed_rules"][0]
        reasons.setdefault(row["source_object_key"], []).append(row["reason"])

    duplicates = silver["usage"]["duplicates"]
    assert duplicates == 1  # the repeated line of the truncated file
    for name, key in keys.items():
        out = valid.get(key, 0) + len(reasons.get(key, [])) + (duplicates if "trunc" in name else 0)
        assert out == per_key[key], f"{name}: {per_key[key]} Bronze rows but {out} accounted"

    assert reasons[keys["truncated_jsonl"]] == ["malformed:invalid_json"]
    assert valid[keys["truncated_jsonl"]] == 3
    assert reasons[keys["latin1_jsonl"]] == ["malformed:invalid_utf8"]
    assert valid[keys["latin1_jsonl"]] == 1
    assert valid[keys["csv_extra_column"]] == 2  # unknown column: kept, flagged as drift
    assert keys["csv_extra_column"] not in reasons
    missing = reasons[keys["csv_missing_columns"]]
    assert len(missing) == 2 and all(r.startswith("not_null:") for r in missing)
    assert sorted(reasons[keys["parquet_wrong_types"]])[0].startswith(("type:", "not_null:"))
    assert len(reasons[keys["parquet_wrong_types"]]) == 3  # event_time does not parse

    total_bronze = sum(per_key.values())
    total_quarantined = quarantine_df.count()
    assert total_bronze == valid_df.count() + total_quarantined + duplicates
    drift = (
        Lake(spark, settings)
        .read("ops.dq_results")
        .filter(
            (F.col("table_name") == "usage") & (F.col("rule_name") == "schema_drift:unknown_fields")
        )
        .select("observed_value")
        .first()
    )
    assert drift is not None and "unexpected_column" in (drift[0] or "")
