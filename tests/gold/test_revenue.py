"""Refunds belong to the payment they refund: its plan, region and FX rate (truth by hand)."""

from __future__ import annotations

from decimal import Decimal

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from gold.dim_customer import to_dim_customer
from gold.revenue import to_payment_facts
from gold.sql_models import run_model
from gold.subscriptions_snapshot import to_subscription_changes
from silver.reference import to_fx_daily
from tests.gold.conftest import PAY_SCHEMA, Sub, day, fx_df, pay, subs_df


def _revenue(
    spark: SparkSession, subs: list[Sub], payments: list[tuple[object, ...]], rates: object
) -> dict[tuple[object, ...], dict[str, object]]:
    subscription_df = subs_df(spark, *subs)
    fx_daily = to_fx_daily(rates, day(31))  # type: ignore[arg-type]
    payments_df = spark.createDataFrame(payments, PAY_SCHEMA)
    facts = to_payment_facts(
        payments_df,
        payments_df.filter(F.col("status") == "succeeded"),
        to_subscription_changes(subscription_df, fx_daily),
        to_dim_customer(subscription_df),
        fx_daily,
    )
    revenue = run_model(spark, "revenue_daily", {"payment_facts": facts})
    return {(r["revenue_date"], r["region"], r["plan_id"]): r.asDict() for r in revenue.collect()}


def test_refund_after_an_upgrade_nets_on_the_refunded_plan(spark: SparkSession) -> None:
    """Pay 99 on pro, upgrade to enterprise, refund: pro 0 and enterprise 0 (not +99/-99)."""
    subs = [
        Sub("s1", "c1", "activated", day(1), "99", plan_id="pro"),
        Sub("s1", "c1", "upgraded", day(10), "499", plan_id="enterprise"),
    ]
    payments = [
        pay(1, day(1), "c1", "s1", "inv1", "99"),
        pay(2, day(15), "c1", "s1", "inv1", "99", status="refunded"),
    ]
    rows = _revenue(spark, subs, payments, fx_df(spark))
    by_plan: dict[str, Decimal] = {}
    for (_, _, plan), row in rows.items():
        by_plan[plan] = by_plan.get(plan, Decimal(0)) + row["net_usd"]  # type: ignore[operator]
    assert by_plan == {"pro": Decimal("0.0000")}
    assert rows[(day(15), "EMEA", "pro")]["refunds_usd"] == Decimal("99.0000")


def test_foreign_refund_converts_at_the_original_rate(spark: SparkSession) -> None:
    """92 EUR paid at 1.10, fully refunded when EUR is 1.20: the refund is 101.20 USD."""
    subs = [Sub("s1", "c1", "activated", day(2), "92", currency="EUR")]
    rates = fx_df(spark, (day(2), "EUR", "1.10"), (day(9), "EUR", "1.20"))
    payments = [
        pay(1, day(2), "c1", "s1", "inv1", "92", currency="EUR"),
        pay(2, day(9), "c1", "s1", "inv1", "46", status="refunded", currency="EUR"),
        pay(3, day(10), "c1", "s1", "inv1", "46", status="refunded", currency="EUR"),
    ]
    rows = _revenue(spark, subs, payments, rates)
    assert rows[(day(2), "EMEA", "pro_monthly")]["gross_usd"] == Decimal("101.2000")
    assert rows[(day(9), "EMEA", "pro_monthly")]["refunds_usd"] == Decimal("50.6000")
    assert rows[(day(10), "EMEA", "pro_monthly")]["refunds_usd"] == Decimal("50.6000")
    assert sum(r["net_usd"] for r in rows.values()) == 0  # type: ignore[misc]


def test_refund_keeps_the_region_of_the_refunded_payment(spark: SparkSession) -> None:
    subs = [
        Sub("s1", "c1", "activated", day(1), "50", region="EMEA"),
        Sub("s1", "c1", "renewed", day(5), "50", region="NA"),  # the customer moved
    ]
    payments = [
        pay(1, day(2), "c1", "s1", "inv1", "50"),
        pay(2, day(6), "c1", "s1", "inv2", "50"),
        pay(3, day(8), "c1", "s1", "inv1", "50", status="refunded"),
    ]
    rows = _revenue(spark, subs, payments, fx_df(spark))
    assert rows[(day(8), "EMEA", "pro_monthly")]["net_usd"] == Decimal("-50.0000")
    assert rows[(day(6), "NA", "pro_monthly")]["net_usd"] == Decimal("50.0000")
    assert rows[(day(2), "EMEA", "pro_monthly")]["net_usd"] == Decimal("50.0000")


def test_refund_picks_the_latest_payment_before_it(spark: SparkSession) -> None:
    """Two succeeded attempts on one invoice: the refund belongs to the one before it."""
    subs = [
        Sub("s1", "c1", "activated", day(1), "10", plan_id="basic"),
        Sub("s1", "c1", "upgraded", day(4), "20", plan_id="pro"),
    ]
    payments = [
        pay(1, day(2), "c1", "s1", "inv1", "10"),
        pay(2, day(5), "c1", "s1", "inv1", "10"),  # double charge, on pro
        pay(3, day(6), "c1", "s1", "inv1", "10", status="refunded"),
    ]
    rows = _revenue(spark, subs, payments, fx_df(spark))
    assert rows[(day(6), "EMEA", "pro")]["refunds_usd"] == Decimal("10.0000")
