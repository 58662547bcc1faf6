"""Trino's Delta Lake connector reads a Spark-written Delta table from an S3 server (moto)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from conf.settings import Settings
from jobs import trino
from tests.catalog_schemas import spark_schema
from tests.integration.conftest import S3Server
from tests.integration.test_trino_lake import trino_server  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.trino]


def test_trino_reads_delta_on_s3(
    spark: SparkSession,
    s3_server: S3Server,
    trino_server: Settings,  # noqa: F811
) -> None:
    settings = s3_server.settings(trino_port=trino_server.trino_port)
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in s3_server.spark_conf().items():
        hadoop.set(key.removeprefix("spark.hadoop."), value)
    path = settings.location("gold.mrr_daily")
    rows = [
        (
            dt.date(2026, 1, 1) + dt.timedelta(days=i),
            "NA",
            "pro",
            "smb",
            Decimal("10.5000") * i,
            i,
            i,
        )
        for i in range(20)
    ]
    frame = spark.createDataFrame(rows, spark_schema("gold.mrr_daily"))
    frame.write.format("delta").partitionBy("region").mode("overwrite").save(path)
    frame.limit(3).write.format("delta").mode("append").save(path)
    expected = spark.read.format("delta").load(path).agg(F.count("*"), F.sum("mrr_usd")).first()

    # Restart the shared server with the S3 variant of the catalog (local files stay enabled).
    trino.stop(settings)
    trino.start(settings)
    assert "gold.mrr_daily" in trino.register_tables(settings)
    conn = trino.connect(settings)
    try:
        cursor = conn.cursor()
        cursor.execute('SELECT count(*), sum(mrr_usd) FROM "gold"."mrr_daily"')
        count, total = cursor.fetchall()[0]
        cursor.execute('SELECT max(version) FROM "gold"."mrr_daily$history"')
        version = cursor.fetchall()[0][0]
    finally:
        conn.close()
    assert (count, total) == (expected[0], expected[1])
    assert version == 1
    # Give the local-lake tests their registrations back (the S3 catalog also serves local files).
    trino.register_tables(trino_server)
