"""Daily state through the as-of date: quiet days carry, scheduled changes apply on their date."""

from __future__ import annotations

from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession

from gold.dim_customer import to_dim_customer
from gold.fx import mrr_usd, to_usd
from gold.subscriptions_snapshot import to_subscription_changes, to_subscriptions_snapshot
from silver.reference import to_fx_daily
from tests.gold.conftest import Sub, day, fx_df, subs_df


def _snapshot(
    spark: SparkSession, subs: list[Sub], fx: DataFrame, end: int
) -> dict[object, tuple[object, ...]]:
    subscription_df = subs_df(spark, *subs)
    changes = to_subscription_changes(subscription_df, to_fx_daily(fx, day(31)))
    snap = to_subscriptions_snapshot(changes, to_dim_customer(subscription_df), day(1), day(end))
    return {
        (r["snapshot_date"], r["subscription_id"]): (r["status"], r["mrr_usd"], r["region"])
        for r in snap.collect()
    }


def test_scheduled_cancellation_applies_on_its_date(spark: SparkSession) -> None:
    """Announced on the 15th, effective on the 30th: MRR until the 29th, no row after."""
    subs = [
        Sub("s1", "c1", "activated", day(1), "100"),
        Sub("s1", "c1", "cancelled", day(15), "100", effective=day(30), cancel_reason="voluntary"),
    ]
    rows = _snapshot(spark, subs, fx_df(spark), end=31)
    assert rows[(day(20), "s1")] == ("active", Decimal("100.0000"), "EMEA")  # quiet day carried
    assert rows[(day(29), "s1")] == ("active", Decimal("100.0000"), "EMEA")
    assert rows[(day(30), "s1")] == ("cancelled", Decimal("0.0000"), "EMEA")
    assert (day(31), "s1") not in rows


def test_mrr_uses_the_rate_in_force_on_the_effective_date(spark: SparkSession) -> None:
    """Activated on a Sunday: Friday's rate; annual plans are divided by 12."""
    subs = [
        Sub("s1", "c1", "activated", day(8), "1200", currency="EUR", billing_period="annual"),
    ]
    rates = fx_df(spark, (day(6), "EUR", "1.085"), (day(9), "EUR", "1.2"))
    rows = _snapshot(spark, subs, rates, end=10)
    assert rows[(day(8), "s1")][1] == Decimal("108.5000")
    assert rows[(day(10), "s1")][1] == Decimal("108.5000")  # MRR moves only on events


def test_region_follows_the_customer_as_of_each_day(spark: SparkSession) -> None:
    subs = [
        Sub("s1", "c1", "activated", day(1), "10"),
        Sub("s2", "c1", "activated", day(2), "20"),
        Sub("s2", "c1", "renewed", day(5), "20", region="NA"),
    ]
    rows = _snapshot(spark, subs, fx_df(spark), end=6)
    assert rows[(day(4), "s1")][2] == "EMEA" and rows[(day(5), "s1")][2] == "NA"


def test_usd_rounding_is_half_up_from_the_exact_product(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [
            (Decimal("0.5"), Decimal("0.0001"), 1, "monthly"),
            (Decimal("10"), Decimal("0.000061412345678901234567"), 3, "annual"),
        ],
        "amount decimal(18,4), rate decimal(38,24), qty bigint, period string",
    )
    row = df.select(
        to_usd(df["amount"], df["rate"]).alias("usd"),
        mrr_usd(df["qty"], df["amount"], df["period"], df["rate"]).alias("mrr"),
    ).collect()
    assert [r["usd"] for r in row] == [Decimal("0.0001"), Decimal("0.0006")]
    # 3 x 10 x 0.0000614123... / 12 = 0.000153530864...
    assert [r["mrr"] for r in row] == [Decimal("0.0001"), Decimal("0.0002")]
