"""Bronze job on real Spark + Delta: exactly-once pickup, lineage, malformed lines kept."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from bronze.landing import event_key
from bronze.objectstore import LocalObjectStore
from conf.settings import Settings
from jobs.bronze_job import run_bronze
from jobs.bronze_objects import bronze_snapshot, indexed_objects
from jobs.lake import Lake

pytestmark = pytest.mark.integration

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
GOOD = (
    b'{"event_id":"11111111-1111-4111-8111-111111111111",'
    b'"event_time":"2024-03-01T10:00:00Z","customer_id":"c1"}'
)


@pytest.fixture()
def lake(tmp_path: Path) -> tuple[Settings, LocalObjectStore]:
    settings = Settings(lake_root=str(tmp_path / "lake"))
    return settings, LocalObjectStore(settings.landing)


def test_objects_are_picked_up_exactly_once(
    spark: SparkSession, lake: tuple[Settings, LocalObjectStore]
) -> None:
    settings, store = lake
    store.put_if_absent(event_key("usage", T0, "api", "a1"), GOOD + b"\n\n" + b"{broken\n")
    first = run_bronze(spark, settings, store=store)
    assert (first["objects"], first["rows"], first["parse_errors"]) == (1, 2, 1)
    again = run_bronze(spark, settings, store=store)
    assert again["objects"] == 0
    store.put_if_absent(
        event_key("payment", T0 + dt.timedelta(days=1), "batch", "b1"), b"\xff\xfe bad\n" + GOOD
    )
    third = run_bronze(spark, settings, store=store)
    assert (third["objects"], third["rows"], third["parse_errors"]) == (1, 2, 1)
    df = Lake(spark, settings).read("bronze.events")
    assert df.count() == 4
    errors = {r["parse_error"] for r in df.filter("is_parse_error").collect()}
    assert errors == {"invalid_json", "invalid_utf8"}
    good = df.filter(~F.col("is_parse_error")).orderBy("source_object_key").collect()
    assert [r["event_id"] for r in good] == ["11111111-1111-4111-8111-111111111111"] * 2
    assert good[0]["payload_hash"] == good[1]["payload_hash"]
    assert {r["source"] for r in good} == {"api", "batch"}
    lines = {(r["source"], r["line_number"], r["received_date"]) for r in good}
    assert lines == {("api", 1, dt.date(2024, 3, 1)), ("batch", 2, dt.date(2024, 3, 2))}


def test_until_limits_the_received_dates(
    spark: SparkSession, lake: tuple[Settings, LocalObjectStore]
) -> None:
    settings, store = lake
    for day in range(3):
        store.put_if_absent(
            event_key("usage", T0 + dt.timedelta(days=day), "batch", f"d{day}"), GOOD
        )
    assert run_bronze(spark, settings, until=dt.date(2024, 3, 2), store=store)["objects"] == 2
    assert run_bronze(spark, settings, store=store)["objects"] == 1


def test_bronze_is_append_only(
    spark: SparkSession, lake: tuple[Settings, LocalObjectStore]
) -> None:
    settings, store = lake
    store.put_if_absent(event_key("usage", T0, "api", "x1"), GOOD)
    run_bronze(spark, settings, store=store)
    bronze = Lake(spark, settings).path("bronze.events")
    props = spark.sql(f"SHOW TBLPROPERTIES delta.`{bronze}`").collect()
    assert {r["key"]: r["value"] for r in props}["delta.appendOnly"] == "true"
    with pytest.raises(Exception, match=r"(?i)append"):
        spark.sql(f"DELETE FROM delta.`{Lake(spark, settings).path('bronze.events')}`")


def test_csv_and_parquet_objects(
    spark: SparkSession, lake: tuple[Settings, LocalObjectStore], tmp_path: Path
) -> None:
    settings, store = lake
    csv = (
        b"event_id,event_time,customer_id\n"
        b"22222222-2222-4222-8222-222222222222,2024-03-01T00:00:00Z,c2\n"
    )
    store.put_if_absent(event_key("usage", T0, "batch", "c1", "csv"), csv)
    import pandas as pd

    pq = tmp_path / "x.parquet"
    pd.DataFrame(
        {
            "event_id": ["33333333-3333-4333-8333-333333333333"],
            "event_time": ["2024-03-01T00:00:00Z"],
        }
    ).to_parquet(pq)
    store.put_if_absent(event_key("usage", T0, "batch", "p1", "parquet"), pq.read_bytes())
    result = run_bronze(spark, settings, store=store)
    assert (result["rows"], result["parse_errors"]) == (2, 0)
    ids = {r[0] for r in Lake(spark, settings).read("bronze.events").select("event_id").collect()}
    assert ids == {"22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"}


def _index(spark: SparkSession, settings: Settings) -> set[str]:
    rows = Lake(spark, settings).read("ops.bronze_objects").select("source_object_key").collect()
    return {r[0] for r in rows}


def _bronze_keys(spark: SparkSession, settings: Settings) -> set[str]:
    rows = Lake(spark, settings).read("bronze.events").select("source_object_key").collect()
    return {r[0] for r in rows}


def test_the_object_index_is_used_only_while_the_log_proves_it_current(
    spark: SparkSession, lake: tuple[Settings, LocalObjectStore]
) -> None:
    """Index == Bronze's keys after every run; a gap in the log rebuilds it, never duplicates."""
    settings, store = lake
    bronze = Lake(spark, settings)
    assert indexed_objects(settings) is None  # no Bronze, no index
    store.put_if_absent(event_key("usage", T0, "api", "i1"), GOOD)
    run_bronze(spark, settings, store=store)
    assert (
        _index(spark, settings)
        == _bronze_keys(spark, settings)
        == {event_key("usage", T0, "api", "i1")}
    )
    assert indexed_objects(settings) == _index(spark, settings)

    # maintenance commits add no object: the index stays trusted
    spark.sql(f"OPTIMIZE delta.`{bronze.path('bronze.events')}`")
    assert indexed_objects(settings) == _index(spark, settings)
    store.put_if_absent(event_key("payment", T0, "batch", "i2"), GOOD)
    assert run_bronze(spark, settings, store=store)["objects"] == 1
    assert _index(spark, settings) == _bronze_keys(spark, settings)
    assert len(_index(spark, settings)) == 2

    # a Bronze commit the index never saw (a run killed before its index append)
    orphan = event_key("usage", T0 + dt.timedelta(days=1), "api", "i3")
    store.put_if_absent(orphan, GOOD)
    rows = bronze.read("bronze.events").limit(1).withColumn("source_object_key", F.lit(orphan))
    bronze.append("bronze.events", rows)
    assert indexed_objects(settings) is None
    assert run_bronze(spark, settings, store=store)["objects"] == 0  # not appended twice
    assert _index(spark, settings) == _bronze_keys(spark, settings)
    assert orphan in _index(spark, settings)
    assert indexed_objects(settings) == _index(spark, settings)


def test_an_index_of_another_bronze_table_is_not_trusted(
    spark: SparkSession, lake: tuple[Settings, LocalObjectStore]
) -> None:
    settings, store = lake
    store.put_if_absent(event_key("usage", T0, "api", "r1"), GOOD)
    run_bronze(spark, settings, store=store)
    shutil.rmtree(Lake(spark, settings).path("bronze.events"))
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()  # type: ignore[union-attr]
    assert indexed_objects(settings) is None
    assert run_bronze(spark, settings, store=store)["objects"] == 1
    assert _index(spark, settings) == _bronze_keys(spark, settings)


def test_without_delta_rs_spark_answers_the_same(
    spark: SparkSession, lake: tuple[Settings, LocalObjectStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, store = lake
    store.put_if_absent(event_key("usage", T0, "api", "s1"), GOOD)
    run_bronze(spark, settings, store=store)
    expected = bronze_snapshot(Lake(spark, settings))

    def unreadable(*_args: object, **_kwargs: object) -> None:
        raise OSError("log unreadable")

    monkeypatch.setattr("jobs.lake_reader.open_table", unreadable)
    assert bronze_snapshot(Lake(spark, settings)) == expected
    assert indexed_objects(settings) is None
    store.put_if_absent(event_key("usage", T0, "api", "s2"), GOOD)
    assert run_bronze(spark, settings, store=store)["objects"] == 1
    assert _index(spark, settings) == _bronze_keys(spark, settings)


def test_each_arrival_date_is_written_once_per_chunk_and_a_large_date_is_split(
    spark: SparkSession, lake: tuple[Settings, LocalObjectStore]
) -> None:
    """Many objects of a few dates give one file per date; a date larger than the adaptive
    target size is still written by several tasks (a history load landed in one day)."""
    settings, store = lake
    for i in range(6):
        store.put_if_absent(
            event_key("usage", T0 + dt.timedelta(days=i % 2), "batch", f"o{i}"), GOOD
        )
    run_bronze(spark, settings, store=store)
    bronze = Path(Lake(spark, settings).path("bronze.events"))
    per_date = {p.name: len(list(p.glob("*.parquet"))) for p in bronze.glob("received_date=*")}
    assert per_date == {"received_date=2024-03-01": 1, "received_date=2024-03-02": 1}

    def line() -> bytes:  # incompressible, so the shuffle really holds ~4 MB
        return GOOD.replace(b'"c1"', b'"c1","note":"' + os.urandom(1000).hex().encode() + b'"')

    day = T0 + dt.timedelta(days=5)
    for i in range(40):
        lines = b"\n".join(line() for _ in range(50))
        store.put_if_absent(event_key("usage", day, "batch", f"big{i}"), lines)
    key = "spark.sql.adaptive.advisoryPartitionSizeInBytes"
    previous = spark.conf.get(key)
    spark.conf.set(key, "64k")
    try:
        assert run_bronze(spark, settings, store=store)["rows"] == 2000
    finally:
        spark.conf.set(key, previous)
    assert len(list((bronze / "received_date=2024-03-06").glob("*.parquet"))) > 1
