"""gold.mrr_movements_monthly — grain: month_start_date x region; and gold.churn_monthly.

Movements are daily changes of each customer's total MRR (customer level, so cancelling one
of several subscriptions is contraction, not churn), classified as:
new (0 -> >0, first time), reactivation (0 -> >0 again), expansion (up), contraction (down,
still > 0), churn (to 0). Contraction and churn are negative, so
``opening + new + expansion + contraction + churn + reactivation = closing`` exactly.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from gold.schemas import MONEY

MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")


def to_customer_mrr_changes(changes_df: DataFrame, end_date: dt.date) -> DataFrame:
    """One row per customer and date on which the customer's total MRR changed."""
    per_sub = Window.partitionBy("subscription_id").orderBy("effective_date")
    per_customer = Window.partitionBy("customer_id").orderBy("change_date")
    before = per_customer.rowsBetween(Window.unboundedPreceding, -1)
    deltas = (
        changes_df.filter(F.col("effective_date") <= F.lit(end_date))
        .withColumn("_prev", F.coalesce(F.lag("mrr_usd").over(per_sub), F.lit(0).cast(MONEY)))
        .withColumn("_delta", F.col("mrr_usd") - F.col("_prev"))
        .groupBy("customer_id", F.col("effective_date").alias("change_date"))
        .agg(
            F.sum("_delta").alias("delta_mrr_usd"),
            F.max("region").alias("region"),
            F.max(F.when(F.col("status") == "cancelled", F.col("cancel_reason"))).alias(
                "cancel_reason"
            ),
        )
        .filter(F.col("delta_mrr_usd") != 0)
    )
    cur = F.sum("delta_mrr_usd").over(per_customer.rowsBetween(Window.unboundedPreceding, 0))
    classified = (
        deltas.withColumn("mrr_usd", cur.cast(MONEY))
        .withColumn("prev_mrr_usd", (F.col("mrr_usd") - F.col("delta_mrr_usd")).cast(MONEY))
        .withColumn("_had_mrr", F.max((F.col("mrr_usd") > 0).cast("int")).over(before))
        .withColumn(
            "movement",
            F.when(
                F.col("prev_mrr_usd") == 0,
                F.when(F.coalesce("_had_mrr", F.lit(0)) == 1, F.lit("reactivation")).otherwise(
                    F.lit("new")
                ),
            )
            .when(F.col("mrr_usd") == 0, F.lit("churn"))
            .when(F.col("delta_mrr_usd") > 0, F.lit("expansion"))
            .otherwise(F.lit("contraction")),
        )
        .withColumn("month_start_date", F.trunc("change_date", "month").cast("date"))
    )
    return classified.select(
        "customer_id",
        "region",
        "change_date",
        "month_start_date",
        "movement",
        F.col("delta_mrr_usd").cast(MONEY).alias("delta_mrr_usd"),
        "prev_mrr_usd",
        "mrr_usd",
        "cancel_reason",
    )


def to_mrr_movements_monthly(
    customer_changes_df: DataFrame, daily_totals_df: DataFrame, months_df: DataFrame
) -> DataFrame:
    """Monthly bridge per region.

    `daily_totals_df` has (metric_date, region, mrr_usd) totals; `months_df` has
    (month_start_date, month_end_date, region) for every month and region to publish, where
    month_end_date is the month's last day or the data's end date.
    """
    sums = (
        customer_changes_df.groupBy("month_start_date", "region")
        .pivot("movement", list(MOVEMENTS))
        .agg(F.sum("delta_mrr_usd"))
    )
    totals = daily_totals_df.select("metric_date", "region", "mrr_usd")
    opening = totals.select(
        F.date_add("metric_date", 1).alias("month_start_date"),
        "region",
        F.col("mrr_usd").alias("opening_mrr_usd"),
    )
    closing = totals.select(
        F.col("metric_date").alias("month_end_date"),
        "region",
        F.col("mrr_usd").alias("closing_mrr_usd"),
    )
    zero = F.lit(0).cast(MONEY)
    return (
        months_df.join(sums, ["month_start_date", "region"], "left")
        .join(opening, ["month_start_date", "region"], "left")
        .join(closing, ["month_end_date", "region"], "left")
        .select(
            "month_start_date",
            "region",
            F.coalesce("opening_mrr_usd", zero).cast(MONEY).alias("opening_mrr_usd"),
            *[F.coalesce(m, zero).cast(MONEY).alias(f"{m}_mrr_usd") for m in MOVEMENTS],
            F.coalesce("closing_mrr_usd", zero).cast(MONEY).alias("closing_mrr_usd"),
        )
    )


def filter_bridge_breaks(movements_df: DataFrame) -> DataFrame:
    """Rows whose opening + movements differ from closing (must be empty)."""
    total = F.col("opening_mrr_usd")
    for movement in MOVEMENTS:
        total = total + F.col(f"{movement}_mrr_usd")
    return movements_df.filter(total != F.col("closing_mrr_usd"))


def to_churn_monthly(
    customer_changes_df: DataFrame, movements_df: DataFrame, opening_customers_df: DataFrame
) -> DataFrame:
    """gold.churn_monthly — grain: month_start_date x region.

    Logo churn = churned customers / customers with MRR at the month's opening. Gross revenue
    churn = -(churn + contraction) / opening MRR; net revenue churn subtracts expansion and
    reactivation; GRR = 1 - gross revenue churn; NRR = 1 - net revenue churn.
    """
    churned = (
        customer_changes_df.filter(F.col("movement") == "churn")
        .groupBy("month_start_date", "region")
        .agg(
            F.count("*").alias("churned_customers"),
            F.sum((F.col("cancel_reason") == "voluntary").cast("long")).alias(
                "voluntary_churned_customers"
            ),
            F.sum((F.col("cancel_reason") == "involuntary").cast("long")).alias(
                "involuntary_churned_customers"
            ),
        )
    )
    opening = F.col("opening_mrr_usd").cast("double")
    lost = -(F.col("churn_mrr_usd") + F.col("contraction_mrr_usd")).cast("double")
    gained = (F.col("expansion_mrr_usd") + F.col("reactivation_mrr_usd")).cast("double")
    safe = F.when(opening > 0, opening)
    customers = F.col("opening_customers")
    return (
        movements_df.join(opening_customers_df, ["month_start_date", "region"], "left")
        .join(churned, ["month_start_date", "region"], "left")
        .select(
            "month_start_date",
            "region",
            F.coalesce(customers, F.lit(0)).cast("long").alias("opening_customers"),
            F.coalesce("churned_customers", F.lit(0)).cast("long").alias("churned_customers"),
            F.coalesce("voluntary_churned_customers", F.lit(0))
            .cast("long")
            .alias("voluntary_churned_customers"),
            F.coalesce("involuntary_churned_customers", F.lit(0))
            .cast("long")
            .alias("involuntary_churned_customers"),
            (F.coalesce("churned_customers", F.lit(0)) / F.when(customers > 0, customers)).alias(
                "logo_churn_rate"
            ),
            (lost / safe).alias("gross_revenue_churn_rate"),
            ((lost - gained) / safe).alias("net_revenue_churn_rate"),
            (1 - lost / safe).alias("grr"),
            (1 - (lost - gained) / safe).alias("nrr"),
        )
    )
