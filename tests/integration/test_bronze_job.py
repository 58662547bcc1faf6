"""Bronze job on real Spark + Delta: exactly-once pickup, lineage, malformed lines kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from bronze.landing import event_key
from bronze.objectstore import LocalObjectStore
from conf.settings import Settings
from jobs.bronze_job import run_bronze
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
