"""A real local Trino over a tiny Gold/ops lake built with Spark (fixtures shared by the serving
tests, which import them) and the checks that the lake is registered.

The tiny inline dataset follows the table catalog's schemas exactly (`tests/catalog_schemas.py`);
`tests/integration/test_trino_zz_generated.py` serves a lake the real pipeline built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from conf.settings import Settings
from jobs import trino
from tests.catalog_schemas import spark_schema

pytestmark = [pytest.mark.integration, pytest.mark.trino]

D = Decimal
START = dt.date(2026, 1, 1)
DAYS = 90
REGIONS = ("NA", "EMEA", "APAC")
PLANS = ("basic", "pro")
SEGMENTS = ("smb", "enterprise")
MONTHS = (dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1))
MONEY = T.DecimalType(18, 4)

FORECAST_SCHEMA = T.StructType(
    [
        T.StructField("unique_id", T.StringType(), False),
        T.StructField("metric", T.StringType(), True),
        T.StructField("level", T.StringType(), True),
        T.StructField("key", T.StringType(), True),
        T.StructField("forecast_date", T.DateType(), False),
        T.StructField("point", MONEY, True),
        T.StructField("lo_80", MONEY, True),
        T.StructField("hi_80", MONEY, True),
        T.StructField("lo_95", MONEY, True),
        T.StructField("hi_95", MONEY, True),
        T.StructField("base_point", MONEY, True),
        T.StructField("model", T.StringType(), False),
        T.StructField("selection_mode", T.StringType(), False),
        T.StructField("run_id", T.StringType(), False),
        T.StructField("as_of_date", T.DateType(), False),
        T.StructField("created_at", T.TimestampType(), False),
    ]
)
VARIANCE_SCHEMA = T.StructType(
    [
        T.StructField("run_id", T.StringType(), False),
        T.StructField("unique_id", T.StringType(), False),
        T.StructField("metric", T.StringType(), True),
        T.StructField("level", T.StringType(), True),
        T.StructField("key", T.StringType(), True),
        T.StructField("forecast_date", T.DateType(), False),
        T.StructField("as_of_date", T.DateType(), False),
        T.StructField("model", T.StringType(), False),
        T.StructField("actual", T.DoubleType(), True),
        T.StructField("forecast", T.DoubleType(), True),
        T.StructField("is_inside_80", T.BooleanType(), True),
        T.StructField("is_inside_95", T.BooleanType(), True),
        T.StructField("is_alert", T.BooleanType(), True),
    ]
)


def _days() -> list[dt.date]:
    return [START + dt.timedelta(days=i) for i in range(DAYS)]


def _mrr_rows() -> list[tuple[Any, ...]]:
    rows = []
    for i, day in enumerate(_days()):
        for r, region in enumerate(REGIONS):
            for p, plan in enumerate(PLANS):
                for s, segment in enumerate(SEGMENTS):
                    subs = 10 + i // 7 + r * 3 + p * 2 + s
                    price = D("49.9900") if plan == "basic" else D("199.1250")
                    rows.append((day, region, plan, segment, price * subs, subs, subs - s))
    return rows


MONTHS_V2 = (dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1))
V2_REGIONS = ("NA", "EMEA", "APAC")
MISSING_CHURN_ROW = (dt.date(2026, 2, 1), "APAC")  # a month without a row: answered as zeros
EMPTY_CHURN_ROW = (dt.date(2026, 3, 1), "APAC")  # no opening customers: rates null


def movement_rows_v2() -> list[tuple[Any, ...]]:
    """Per-region bridges whose transfers (NA gains what EMEA loses) sum to 0 every month."""
    rows = []
    for r, region in enumerate(V2_REGIONS):
        opening = D("10000.0000") + 1000 * r
        for m, month in enumerate(MONTHS_V2):
            new, exp = D("1200.5000") + 10 * m, D("300.2500")
            con, churn, react = D("-150.1250"), D("-400.0000") - 5 * r, D("50.0000")
            transfer = {"NA": D("25.5000"), "EMEA": D("-25.5000"), "APAC": D(0)}[region] * (m + 1)
            closing = opening + new + exp + con + churn + react + transfer
            rows.append((month, region, opening, new, exp, con, churn, react, transfer, closing))
            opening = closing
    return rows


def _rate(numerator: Decimal, denominator: Decimal) -> float | None:
    return float(numerator / denominator) if denominator else None


def churn_rows_v2() -> list[tuple[Any, ...]]:
    """Customer-level churn rows whose rates follow from their components.

    APAC has no opening customers in March (rates null) and no row at all in February.
    """
    rows = []
    for r, region in enumerate(V2_REGIONS):
        for m, month in enumerate(MONTHS_V2):
            if (month, region) == MISSING_CHURN_ROW:
                continue
            empty = (month, region) == EMPTY_CHURN_ROW
            opening, churned = (0, 0) if empty else (100 + 10 * r + m, 3 + r + m)
            opening_mrr = D(0) if empty else D("20000.0000") + D("1000.5000") * r
            retained = D(0) if empty else opening_mrr - D("950.2500") - 100 * m
            closing = D(0) if empty else retained + D("1400.7500") + 50 * r
            grr, nrr = _rate(retained, opening_mrr), _rate(closing, opening_mrr)
            rows.append(
                (month, region, opening, churned, max(churned - 1, 0), min(churned, 1),
                 opening_mrr, retained, closing, _rate(D(churned), D(opening)), grr, nrr,
                 None if grr is None else 1 - grr, None if nrr is None else 1 - nrr)
            )  # fmt: skip
    return rows


def _revenue_rows() -> list[tuple[Any, ...]]:
    rows = []
    for i, day in enumerate(_days()):
        for r, region in enumerate(REGIONS):
            gross = D("1000.0000") + D("12.3456") * i + 100 * r
            refunds, failed = D("-20.5000"), D("35.0000")
            net = gross + refunds
            costs = D("400.1234") + r
            cogs = costs - D("100.0000")
            margin = net - cogs
            rows.append(
                (day, region, gross, refunds, net, failed, costs, cogs, margin, float(margin / net))
            )
    return rows


def _forecast_rows() -> list[tuple[Any, ...]]:
    rows = []
    runs = (("run-feb", dt.date(2026, 2, 28)), ("run-mar", dt.date(2026, 3, 31)))
    for run_id, as_of in runs:
        created = dt.datetime.combine(as_of, dt.time(23, 0))
        for uid, level, key in (
            ("revenue/total", "total", "total"),
            ("revenue/region=NA", "region", "NA"),
        ):
            for h in range(1, 31):
                day = as_of + dt.timedelta(days=h)
                point = D("3500.0000") + 10 * h
                rows.append(
                    (uid, "revenue", level, key, day, point, point - 100, point + 100,
                     point - 250, point + 250, point, "AutoETS", "champion", run_id, as_of, created)
                )  # fmt: skip
    return rows


def _variance_rows() -> list[tuple[Any, ...]]:
    rows = []
    for h in range(1, 31):
        day = dt.date(2026, 2, 28) + dt.timedelta(days=h)
        if day > START + dt.timedelta(days=DAYS - 1):
            break
        forecast = 3500.0 + 10 * h
        actual = forecast + (150.0 if h % 5 == 0 else -40.0)
        rows.append(
            ("run-feb", "revenue/total", "revenue", "total", "total", day, dt.date(2026, 2, 28),
             "AutoETS", actual, forecast, abs(actual - forecast) <= 100, True, False)
        )  # fmt: skip
    return rows


def _ops_rows() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    t0 = dt.datetime(2026, 4, 1, 2, 0)
    runs = [
        ("r-1", "gold", "succeeded", t0, t0 + dt.timedelta(minutes=3), 180.0, 10, 10,
         None, None, None, None),
        ("r-2", "gold", "succeeded", t0 + dt.timedelta(days=1),
         t0 + dt.timedelta(days=1, minutes=4), 240.0, 12, 12, None, None, None, None),
        ("r-3", "gold", "failed", t0 + dt.timedelta(days=2),
         t0 + dt.timedelta(days=2, minutes=1), 60.0, None, None, None, None, "boom", None),
    ]  # fmt: skip
    dq = []
    for run_id, at, failed in (("dq-1", t0, 5), ("dq-2", t0 + dt.timedelta(days=1), 2)):
        dq += [
            (run_id, at, "silver.payment", "row_rule", "amount_positive", "quarantine",
             "failed" if failed else "passed", 100, failed, None, None, None),
            (run_id, at, "silver.subscription", "row_rule", "region_accepted", "critical",
             "failed" if run_id == "dq-1" else "passed", 100, 1 if run_id == "dq-1" else 0,
             None, None, None),
            (run_id, at, "silver.usage", "table_check", "freshness", "warn", "passed", 100, 0,
             None, None, None),
        ]  # fmt: skip
    return runs, dq


GOLD_TABLES: dict[str, tuple[T.StructType, Any]] = {
    "mrr_daily": (spark_schema("gold.mrr_daily"), _mrr_rows),
    "mrr_movements_monthly": (spark_schema("gold.mrr_movements_monthly"), movement_rows_v2),
    "churn_monthly": (spark_schema("gold.churn_monthly"), churn_rows_v2),
    "revenue_region_daily": (spark_schema("gold.revenue_region_daily"), _revenue_rows),
    "forecast_revenue_daily": (FORECAST_SCHEMA, _forecast_rows),
    "forecast_variance": (VARIANCE_SCHEMA, _variance_rows),
}
PARTITIONS = {"revenue_region_daily": ["region"], "forecast_revenue_daily": ["run_id"]}
_BUILT: dict[str, dict[str, str]] = {}


def build_lake(spark: SparkSession, settings: Settings) -> dict[str, str]:
    """Write the tiny Gold and ops Delta tables once per lake; return {schema.table: path}."""
    if settings.lake_root in _BUILT:
        return _BUILT[settings.lake_root]
    paths: dict[str, str] = {}
    for name, (schema, rows) in GOLD_TABLES.items():
        path = settings.location(f"gold.{name}")
        writer = spark.createDataFrame(rows(), schema).write.format("delta").mode("overwrite")
        writer.partitionBy(*PARTITIONS.get(name, [])).save(path)
        paths[f"gold.{name}"] = path
    runs, dq = _ops_rows()
    for name, schema, rows in (
        ("pipeline_runs", spark_schema("ops.pipeline_runs"), runs),
        ("dq_results", spark_schema("ops.dq_results"), dq),
    ):
        path = settings.location(f"ops.{name}")
        spark.createDataFrame(rows, schema).write.format("delta").mode("overwrite").save(path)
        paths[f"ops.{name}"] = path
    _BUILT[settings.lake_root] = paths
    return paths


_SESSION: dict[str, Settings] = {}


@pytest.fixture(scope="session")
def trino_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of an own lake served by the real local Trino.

    Trino is reused when already up and stopped at the end if started here. The lake is one per
    test session even though several modules import this fixture (memoised below).
    """
    if "settings" not in _SESSION:
        _SESSION["settings"] = Settings(lake_root=str(tmp_path_factory.mktemp("trino-lake")))
    settings = _SESSION["settings"]
    was_up = trino.is_ready(settings)
    trino.start(settings)
    yield settings
    if not was_up:
        trino.stop(settings)


@pytest.fixture(scope="session")
def served_lake(spark: SparkSession, trino_server: Settings) -> dict[str, str]:
    """The tiny lake, written with Spark and registered in Trino."""
    paths = build_lake(spark, trino_server)
    trino.register_tables(trino_server)
    return paths


def test_every_gold_and_ops_table_is_registered(
    served_lake: dict[str, str], trino_server: Settings
) -> None:
    from api.trino_client import TrinoMetricsStore

    assert set(served_lake) <= TrinoMetricsStore(trino_server).available_tables()


def test_registration_is_idempotent(served_lake: dict[str, str], trino_server: Settings) -> None:
    first = trino.register_tables(trino_server)
    second = trino.register_tables(trino_server)
    assert first == second
    assert set(served_lake) <= set(second)
