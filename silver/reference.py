"""Reference data (plan catalog, daily FX rates) and the lookups Silver's rules rely on."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from bronze.schemas import MONEY, RATE
from silver.rules import reference_flag


def to_plans(raw_df: DataFrame) -> DataFrame:
    """silver.plans — grain: plan_id (the latest landed catalog row wins)."""
    latest = Window.partitionBy("plan_id").orderBy(F.col("_object").desc())
    return (
        raw_df.select(
            F.trim("plan_id").alias("plan_id"),
            "plan_name",
            "tier",
            "billing_period",
            "currency",
            F.col("list_price").try_cast(MONEY).alias("list_price"),
            "_object",
        )
        .filter(F.col("plan_id").isNotNull())
        .withColumn("_rank", F.row_number().over(latest))
        .filter("_rank = 1")
        .drop("_rank", "_object")
    )


def to_fx_rates(raw_df: DataFrame) -> DataFrame:
    """silver.fx_rates — grain: rate_date x currency (the latest landed file wins)."""
    latest = Window.partitionBy("rate_date", "currency").orderBy(F.col("_object").desc())
    return (
        raw_df.select(
            F.col("rate_date").try_cast("date").alias("rate_date"),
            F.upper(F.trim("currency")).alias("currency"),
            F.col("rate_to_usd").try_cast(RATE).alias("rate_to_usd"),
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


def with_known_flag(df: DataFrame, keys_df: DataFrame, column: str, table: str) -> DataFrame:
    """Add the reference flag of `table`: True when `column` is among `keys_df`'s keys."""
    keys = keys_df.select(F.col(column).alias("_key")).distinct().withColumn("_hit", F.lit(True))
    return (
        df.join(F.broadcast(keys), df[column] == keys["_key"], "left")
        .withColumn(reference_flag(table), F.coalesce(F.col("_hit"), F.lit(False)))
        .drop("_key", "_hit")
    )


def with_fx_rate(df: DataFrame, fx_df: DataFrame, date_column: str) -> DataFrame:
    """Add `rate_to_usd` of (`date_column`, currency) and the fx_rates reference flag."""
    rates = fx_df.select(
        F.col("rate_date").alias("_rate_date"),
        F.col("currency").alias("_rate_currency"),
        F.col("rate_to_usd"),
    )
    joined = df.join(
        F.broadcast(rates),
        (df[date_column] == rates["_rate_date"]) & (df["currency"] == rates["_rate_currency"]),
        "left",
    )
    return joined.withColumn(reference_flag("fx_rates"), F.col("rate_to_usd").isNotNull()).drop(
        "_rate_date", "_rate_currency"
    )


def to_usd(amount: Column, rate: Column) -> Column:
    """Amount times rate, rounded half-up to 4 places, as decimal(18,4)."""
    return F.round(amount * rate, 4).cast(MONEY)
