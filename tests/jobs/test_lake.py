"""The IO layer enforces each table's declared schema and key before anything is committed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from conf.settings import Settings
from jobs.lake import Lake, TableContractViolation

pytestmark = pytest.mark.integration

D = dt.date(2026, 3, 1)


def _lake(spark: SparkSession, tmp_path: Path) -> Lake:
    return Lake(spark, Settings(lake_root=str(tmp_path)))


def _consumed(spark: SparkSession, rows: list[tuple[str, str]]) -> object:
    return spark.createDataFrame(rows, "run_id string, gold_run_id string")


def test_duplicate_or_null_keys_are_refused_and_nothing_is_written(
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = _lake(spark, tmp_path)
    with pytest.raises(TableContractViolation, match=r"1 duplicated key\(s\), 0 null"):
        lake.merge_insert("ops.gold_consumed", _consumed(spark, [("a", "g"), ("a", "h")]))  # type: ignore[arg-type]
    with pytest.raises(TableContractViolation, match=r"0 duplicated key\(s\), 1 null"):
        lake.merge_insert("ops.gold_consumed", _consumed(spark, [(None, "g")]))  # type: ignore[arg-type, list-item]
    assert not lake.exists("ops.gold_consumed")


def test_schema_mismatches_are_named(spark: SparkSession, tmp_path: Path) -> None:
    lake = _lake(spark, tmp_path)
    wrong = spark.createDataFrame([("a", 1)], "run_id string, gold_run_id int")
    with pytest.raises(TableContractViolation, match="gold_run_id is int, declared string"):
        lake.merge_insert("ops.gold_consumed", wrong)
    extra = spark.createDataFrame([("a", "g", 1)], "run_id string, gold_run_id string, x int")
    with pytest.raises(TableContractViolation, match=r"undeclared \['x'\]"):
        lake.merge_insert("ops.gold_consumed", extra)


def test_merge_insert_is_idempotent_and_columns_follow_the_catalog(
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = _lake(spark, tmp_path)
    reordered = spark.createDataFrame([("g", "a")], "gold_run_id string, run_id string")
    lake.merge_insert("ops.gold_consumed", reordered)
    lake.merge_insert("ops.gold_consumed", reordered)
    assert [tuple(r) for r in lake.read("ops.gold_consumed").collect()] == [("a", "g")]


def test_tables_are_created_with_their_properties_and_partitioning(
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = _lake(spark, tmp_path)
    empty = lake.read_or_empty("bronze.events")
    assert empty.count() == 0 and empty.columns[0] == "event_id"
    lake.append("bronze.events", empty)
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{lake.path('bronze.events')}`").first()
    assert detail is not None and detail["partitionColumns"] == ["received_date"]
    props = detail["properties"]
    assert props["delta.appendOnly"] == "true"
    assert props["delta.enableDeletionVectors"] == "false"


def test_replace_range_keeps_other_dates(spark: SparkSession, tmp_path: Path) -> None:
    lake = _lake(spark, tmp_path)
    schema = lake.schema("gold.costs_daily")
    day = dt.timedelta(days=1)
    one, zero = Decimal(1), Decimal(0)
    rows = [(D + i * day, 20260301 + i, "NA", "support", one, zero, 1) for i in range(3)]
    lake.replace("gold.costs_daily", spark.createDataFrame(rows, schema))
    lake.replace_range(
        "gold.costs_daily",
        spark.createDataFrame([(D + day, 20260302, "NA", "support", Decimal(9), zero, 2)], schema),
        D + day,
        D + day,
    )
    got = {r["cost_date"]: r["amount_usd"] for r in lake.read("gold.costs_daily").collect()}
    assert [int(got[D + i * day]) for i in range(3)] == [1, 9, 1]
    assert lake.version("gold.costs_daily") == 2


def test_a_creation_killed_before_its_first_commit_does_not_block_the_table(
    spark: SparkSession, tmp_path: Path
) -> None:
    """What a kill mid-create leaves (a `_delta_log` with a temp file, no commit) is cleared."""
    lake = _lake(spark, tmp_path)
    log = Path(lake.path("ops.gold_consumed")) / "_delta_log"
    (log / "_staged_commits").mkdir(parents=True)
    (log / ".00000000000000000000.json.c547792c.tmp").write_text("{")
    lake.merge_insert("ops.gold_consumed", _consumed(spark, [("a", "g")]))  # type: ignore[arg-type]
    assert lake.read("ops.gold_consumed").count() == 1
    assert not list(log.glob(".*.tmp"))


def test_a_committed_log_is_never_cleared(spark: SparkSession, tmp_path: Path) -> None:
    lake = _lake(spark, tmp_path)
    lake.merge_insert("ops.gold_consumed", _consumed(spark, [("a", "g")]))  # type: ignore[arg-type]
    lake.merge_insert("ops.gold_consumed", _consumed(spark, [("b", "g")]))  # type: ignore[arg-type]
    assert lake.read("ops.gold_consumed").count() == 2


def test_small_tables_read_without_spark_match_spark_and_fall_back_to_it(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = _lake(spark, tmp_path)
    assert lake.small_table_rows("ops.silver_batches", ["batch_id"]) == []
    arrived = dt.datetime(2026, 3, 1, 23, 30, 15, 250000)
    batches = spark.createDataFrame(
        [("b1", "usage", "s1", arrived, arrived), ("b1", "payment", "s1", arrived, None)],
        lake.schema("ops.silver_batches"),
    )
    lake.merge_insert("ops.silver_batches", batches)
    columns = ["batch_id", "event_type", "max_received_at"]
    by_type = lambda rows: sorted(rows, key=lambda r: r["event_type"])  # noqa: E731
    collected = by_type(
        r.asDict() for r in lake.read("ops.silver_batches").select(*columns).collect()
    )
    assert [r["max_received_at"] for r in collected] == [None, arrived]
    assert by_type(lake.small_table_rows("ops.silver_batches", columns)) == collected

    def unreadable(*args: object, **kwargs: object) -> list[dict[str, object]]:
        raise OSError("a log delta-rs cannot read")

    monkeypatch.setattr("jobs.lake.lake_reader.read_rows", unreadable)
    assert by_type(lake.small_table_rows("ops.silver_batches", columns)) == collected


def test_rows_built_in_python_have_their_key_checked_before_any_spark_job(
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = _lake(spark, tmp_path)
    with pytest.raises(TableContractViolation, match=r"1 duplicated key\(s\), 0 null"):
        lake.append_rows("ops.gold_consumed", [("a", "g"), ("a", "h")])
    with pytest.raises(TableContractViolation, match=r"0 duplicated key\(s\), 1 null"):
        lake.append_rows("ops.gold_consumed", [(None, "g")])
    assert not lake.exists("ops.gold_consumed")
    lake.append_rows("ops.gold_consumed", [("a", "g"), ("b", "g")])
    assert sorted(tuple(r) for r in lake.read("ops.gold_consumed").collect()) == [
        ("a", "g"),
        ("b", "g"),
    ]


def _costs(spark: SparkSession, lake: Lake, rows: list[tuple[object, ...]]) -> DataFrame:
    return spark.createDataFrame(rows, lake.schema("gold.costs_daily"))


def test_a_small_range_is_committed_by_delta_rs_exactly_as_spark_would(
    spark: SparkSession, tmp_path: Path
) -> None:
    """`is_small` commits through delta-rs; the table then equals one written by Spark only."""
    day, zero = dt.timedelta(days=1), Decimal(0)
    base = [
        (D + i * day, 20260301 + i, "NA", "support", Decimal("1.2500"), zero, 1) for i in (0, 1, 2)
    ]
    new = [
        (D + day, 20260302, "NA", "support", Decimal("9.1250"), zero, 2),
        (D + day, 20260302, "EU", "hosting", Decimal("0.0001"), Decimal("0.5000"), 3),
    ]
    by_spark, by_rs = _lake(spark, tmp_path / "spark"), _lake(spark, tmp_path / "rs")
    for lake, is_small in ((by_spark, False), (by_rs, True)):
        lake.replace("gold.costs_daily", _costs(spark, lake, base))
        lake.replace_range(
            "gold.costs_daily", _costs(spark, lake, new), D + day, D + day, is_small=is_small
        )
    assert_df_equality(
        by_rs.read("gold.costs_daily"),
        by_spark.read("gold.costs_daily"),
        ignore_row_order=True,
    )
    commit = by_rs.history("gold.costs_daily", 1).first()
    assert commit is not None and "delta-rs" in str(commit["engineInfo"])


def test_bookkeeping_rows_are_committed_by_delta_rs_with_spark_s_timestamps(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Rows appended to an existing table by delta-rs read back as rows Spark appended: a naive
    datetime is local time in both."""
    by_spark, by_rs = _lake(spark, tmp_path / "spark"), _lake(spark, tmp_path / "rs")
    arrived = dt.datetime(2026, 3, 1, 23, 30, 15, 250000)
    marks = [("b1", "usage", "s1", arrived, arrived), ("b2", "payment", "s1", arrived, None)]
    for lake in (by_spark, by_rs):
        lake.append_rows("ops.silver_batches", marks[:1])  # creates the table (Spark)
    by_spark.append(
        "ops.silver_batches",
        spark.createDataFrame(marks[1:], by_spark.schema("ops.silver_batches")),
    )
    by_rs.append_rows("ops.silver_batches", marks[1:])
    assert_df_equality(
        by_rs.read("ops.silver_batches"),
        by_spark.read("ops.silver_batches"),
        ignore_row_order=True,
    )
    commit = by_rs.history("ops.silver_batches", 1).first()
    assert commit is not None and "delta-rs" in str(commit["engineInfo"])
