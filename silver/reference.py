"""Reference data (plan catalog, FX rates) and the lookups Silver's rules and Gold rely on.

FX is an as-of lookup: a date takes the latest rate published on or before it. Real feeds
publish no weekend or holiday rates, so `to_fx_daily` forward-fills each currency's rates into a
dense daily table that records, for every date, the rate in force and the date it was
published; Silver's reference rule accepts a rate up to `max_staleness_days` old, Gold converts
with the rate in force. USD needs no row (rate 1).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from bronze.schemas import MONEY
from silver.rules import reference_flag

RATE = "decimal(38,24)"
REPORTING_CURRENCY = "USD"


def to_plans(raw_df: DataFrame) -> DataFrame:
    """silver.plans — grain: plan_id (the latest landed catalog row wins)."""
    latest = Window.partitionBy("plan_id").orderBy(F.col("_object").desc())
    return (
        raw_df.select(
            F.trim("plan_id").alias("plan_id"),
            F.col("plan_name").cast("string").alias("plan_name"),
            F.col("tier").cast("string").alias("tier"),
            F.col("billing_period").cast("string").alias("billing_period"),
            F.upper(F.trim("currency")).alias("currency"),
            F.col("list_price").cast("string").try_cast(MONEY).alias("list_price"),
            "_object",
        )
        .filter(F.col("plan_id").isNotNull() & (F.length("plan_id") > 0))
        .withColumn("_rank", F.row_number().over(latest))
        .filter("_rank = 1")
        .drop("_rank", "_object")
    )


def to_fx_rates(raw_df: DataFrame) -> DataFrame:
    """silver.fx_rates — grain: rate_date x currency (the latest landed file wins)."""
    latest = Window.partitionBy("rate_date", "currency").orderBy(F.col("_object").desc())
    return (
        raw_df.select(
            F.col("rate_date").cast("string").try_cast("date").alias("rate_date"),
            F.upper(F.trim("currency")).alias("currency"),
            F.col("rate_to_usd").cast("string").try_cast(RATE).alias("rate_to_usd"),
            "_object",
        )
        .filter(
            F.col("rate_date").isNotNull()
            & F.col("currency").isNotNull()
            & (F.col("rate_to_usd") > 0)
        )
        .withColumn("_rank", F.row_number().over(latest))
        .filter("_rank = 1")
        .drop("_rank", "_object")
    )


def to_fx_daily(fx_df: DataFrame, end_date: dt.date) -> DataFrame:
    """Dense as-of rates: one row per currency and date from its first rate to `end_date`.

    Columns: rate_date, currency, rate_to_usd (the latest rate published on or before the
    date), published_date (its publication date). Dates after the last published rate carry
    that rate; callers judge staleness from `published_date`.
    """
    bounds = fx_df.groupBy("currency").agg(
        F.min("rate_date").alias("_first"), F.max("rate_date").alias("_last")
    )
    days = bounds.select(
        "currency",
        F.explode(F.sequence("_first", F.greatest("_last", F.lit(end_date)))).alias("rate_date"),
    )
    filled = (
        Window.partitionBy("currency")
        .orderBy("rate_date")
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    published = fx_df.select(
        "currency", "rate_date", "rate_to_usd", F.col("rate_date").alias("_published")
    )
    return (
        days.join(published, ["currency", "rate_date"], "left")
        .withColumn("published_date", F.last("_published", ignorenulls=True).over(filled))
        .withColumn("rate_to_usd", F.last("rate_to_usd", ignorenulls=True).over(filled))
        .select("rate_date", "currency", "rate_to_usd", "published_date")
    )


def with_rate_on(
    df: DataFrame, fx_daily_df: DataFrame, date_col: str, prefix: str = ""
) -> DataFrame:
    """Add `{prefix}rate_to_usd` and `{prefix}rate_published_date` in force on `date_col`.

    USD converts at 1 (published on the date itself); an unknown currency or a date before the
    currency's first rate gets nulls.
    """
    rates = fx_daily_df.select(
        F.col("rate_date").alias("_fx_date"),
        F.col("currency").alias("_fx_currency"),
        F.col("rate_to_usd").alias("_fx_rate"),
        F.col("published_date").alias("_fx_published"),
    )
    joined = df.join(
        F.broadcast(rates),
        (df[date_col] == rates["_fx_date"]) & (df["currency"] == rates["_fx_currency"]),
        "left",
    )
    is_usd = F.col("currency") == F.lit(REPORTING_CURRENCY)
    return (
        joined.withColumn(
            f"{prefix}rate_to_usd",
            F.when(is_usd, F.lit(1).cast(RATE)).otherwise(F.col("_fx_rate")),
        )
        .withColumn(
            f"{prefix}rate_published_date",
            F.when(is_usd, F.col(date_col)).otherwise(F.col("_fx_published")),
        )
        .drop("_fx_date", "_fx_currency", "_fx_rate", "_fx_published")
    )


def with_fx_flag(
    df: DataFrame,
    fx_daily_df: DataFrame,
    date_col: str,
    max_staleness_days: int,
    carries_money: Column,
    is_scheduled: Column | None = None,
) -> DataFrame:
    """Add the `fx_rates` reference flag: a rate within the staleness limit is known.

    Rows that carry no money need no rate. A scheduled change (`is_scheduled`) dated after the
    currency's last published rate is accepted: Gold converts it with the rate in force when
    it takes effect. Rows in a currency without any rate are never accepted.
    """
    last_published = fx_daily_df.groupBy(F.col("currency").alias("_lp_currency")).agg(
        F.max("published_date").alias("_last_published")
    )
    with_rate = with_rate_on(df, fx_daily_df, date_col, prefix="_chk_").join(
        F.broadcast(last_published), F.col("currency") == F.col("_lp_currency"), "left"
    )
    is_usd = F.col("currency") == F.lit(REPORTING_CURRENCY)
    fresh = F.col("_chk_rate_to_usd").isNotNull() & (
        F.datediff(F.col(date_col), F.col("_chk_rate_published_date")) <= max_staleness_days
    )
    ahead = F.col("_last_published").isNotNull() & (F.col(date_col) > F.col("_last_published"))
    scheduled = (is_scheduled if is_scheduled is not None else F.lit(False)) & ahead
    known = is_usd | ~F.coalesce(carries_money, F.lit(True)) | fresh | scheduled
    return with_rate.withColumn(reference_flag("fx_rates"), F.coalesce(known, F.lit(False))).drop(
        "_chk_rate_to_usd", "_chk_rate_published_date", "_lp_currency", "_last_published"
    )


def with_known_flag(df: DataFrame, keys_df: DataFrame, column: str, table: str) -> DataFrame:
    """Add the reference flag of `table`: True when `column` is among `keys_df`'s keys."""
    keys = keys_df.select(F.col(column).alias("_key")).distinct().withColumn("_hit", F.lit(True))
    return (
        df.join(F.broadcast(keys), df[column] == keys["_key"], "left")
        .withColumn(reference_flag(table), F.coalesce(F.col("_hit"), F.lit(False)))
        .drop("_key", "_hit")
    )


def to_usd(amount: Column, rate: Column) -> Column:
    """Amount times rate, rounded half-up to 4 places, as decimal(18,4).

    The rate is narrowed to decimal(28,24) (rates below 10,000 USD per unit) so the exact
    product keeps 19 decimals before the final half-up rounding to 4.
    """
    product = amount.cast(MONEY) * rate.cast("decimal(28,24)")
    return F.round(product, 4).cast(MONEY)
