"""FX as-of lookups: weekends take Friday's rate, staleness limits, USD and money-less rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from silver.reference import to_fx_daily, with_fx_flag, with_rate_on
from silver.rules import reference_flag

FRI, SAT, SUN, MON = (dt.date(2026, 1, d) for d in (9, 10, 11, 12))
RATES = "rate_date date, currency string, rate_to_usd decimal(38,24)"


def _rates(spark: SparkSession) -> object:
    return spark.createDataFrame(
        [(FRI, "EUR", Decimal("1.10")), (MON, "EUR", Decimal("1.12"))], RATES
    )


def test_weekends_carry_fridays_rate(spark: SparkSession) -> None:
    daily = to_fx_daily(_rates(spark), dt.date(2026, 1, 14))  # type: ignore[arg-type]
    got = daily.select("rate_date", "rate_to_usd", "published_date").orderBy("rate_date")
    expected = spark.createDataFrame(
        [
            (FRI, Decimal("1.10"), FRI),
            (SAT, Decimal("1.10"), FRI),
            (SUN, Decimal("1.10"), FRI),
            (MON, Decimal("1.12"), MON),
            (dt.date(2026, 1, 13), Decimal("1.12"), MON),
            (dt.date(2026, 1, 14), Decimal("1.12"), MON),
        ],
        "rate_date date, rate_to_usd decimal(38,24), published_date date",
    )
    assert_df_equality(got, expected, ignore_nullable=True)


def test_usd_needs_no_rate_and_unknown_dates_get_none(spark: SparkSession) -> None:
    daily = to_fx_daily(_rates(spark), MON)  # type: ignore[arg-type]
    rows_df = spark.createDataFrame(
        [("a", SAT, "EUR"), ("b", SAT, "USD"), ("c", dt.date(2026, 1, 2), "EUR")],
        "id string, d date, currency string",
    )
    got = {r["id"]: r["rate_to_usd"] for r in with_rate_on(rows_df, daily, "d").collect()}
    assert got == {"a": Decimal("1.10"), "b": Decimal("1"), "c": None}


def test_fx_flag_staleness_money_and_scheduled_changes(spark: SparkSession) -> None:
    daily = to_fx_daily(_rates(spark), dt.date(2026, 3, 1))  # type: ignore[arg-type]
    rows = [
        ("weekend", SUN, "EUR", True, False),
        ("stale", dt.date(2026, 1, 20), "EUR", True, False),  # 8 days after Monday's rate
        ("fresh", dt.date(2026, 1, 19), "EUR", True, False),  # 7 days: still fresh
        ("no_money", dt.date(2026, 2, 20), "EUR", False, False),
        ("scheduled", dt.date(2026, 2, 20), "EUR", True, True),
        ("unknown_currency", SUN, "CHF", True, True),
        ("usd", dt.date(2020, 1, 1), "USD", True, False),
    ]
    df = spark.createDataFrame(
        rows, "id string, d date, currency string, money boolean, scheduled boolean"
    )
    flagged = with_fx_flag(df, daily, "d", 7, F.col("money"), F.col("scheduled"))
    got = {r["id"]: r[reference_flag("fx_rates")] for r in flagged.collect()}
    assert got == {
        "weekend": True,
        "stale": False,
        "fresh": True,
        "no_money": True,
        "scheduled": True,
        "unknown_currency": False,
        "usd": True,
    }
