"""gold.churn_monthly — grain: month_start_date x region (the region at the month's opening).

Customer-level retention over the customers with MRR at the month's opening (the last day of
the previous month), ChartMogul's definitions:

- logo churn = opening customers with no MRR at the close / opening customers;
- GRR = sum over opening customers of min(close, open) / sum of open;
- NRR = sum over opening customers of close / sum of open;
- gross / net revenue churn rate = 1 - GRR / 1 - NRR.

The close is the month's last day, or the as-of date in the current month. A customer's close
counts wherever the customer is by then (moves do not churn anyone). Customers who join and
leave inside the month are new and churn movements (`gold.mrr_movements_monthly`), not logo
churn. A churned customer is voluntary or involuntary by the last `cancel_reason` of their
cancellations in the month. Components are stored so totals over regions are exact sums.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gold.fx import MONEY


def to_churn_monthly(
    points_df: DataFrame, states_df: DataFrame, bounds_df: DataFrame, months_df: DataFrame
) -> DataFrame:
    """Churn, GRR and NRR per month and opening region.

    `states_df` is (customer_id, bound_date, mrr_usd, region) on every opening and closing
    date of `bounds_df` (month_start_date, opening_date, closing_date); `months_df` has
    (month_start_date, region) for every month and region to publish.
    """
    opening = bounds_df.join(
        states_df.withColumnRenamed("bound_date", "opening_date"), "opening_date"
    ).filter(F.col("mrr_usd") > 0)
    closing = bounds_df.join(
        states_df.withColumnRenamed("bound_date", "closing_date"), "closing_date"
    ).select("month_start_date", "customer_id", F.col("mrr_usd").alias("close"))
    reasons = (
        points_df.filter(F.col("cancel_reason").isNotNull())
        .join(
            bounds_df,
            (F.col("change_date") > F.col("opening_date"))
            & (F.col("change_date") <= F.col("closing_date")),
        )
        .groupBy("month_start_date", "customer_id")
        .agg(F.max_by("cancel_reason", "change_date").alias("reason"))
    )
    cohort = (
        opening.select("month_start_date", "customer_id", "region", F.col("mrr_usd").alias("open"))
        .join(closing, ["month_start_date", "customer_id"], "left")
        .join(reasons, ["month_start_date", "customer_id"], "left")
        .withColumn("close", F.coalesce("close", F.lit(0).cast(MONEY)))
        .withColumn("is_churned", F.col("close") == 0)
    )
    sums = cohort.groupBy("month_start_date", "region").agg(
        F.count("*").alias("opening_customers"),
        F.sum(F.col("is_churned").cast("long")).alias("churned_customers"),
        F.sum((F.col("is_churned") & (F.col("reason") == "voluntary")).cast("long")).alias(
            "voluntary_churned_customers"
        ),
        F.sum((F.col("is_churned") & (F.col("reason") == "involuntary")).cast("long")).alias(
            "involuntary_churned_customers"
        ),
        F.sum("open").alias("opening_mrr_usd"),
        F.sum(F.least("open", "close")).alias("retained_mrr_usd"),
        F.sum("close").alias("cohort_closing_mrr_usd"),
    )
    return months_df.join(sums, ["month_start_date", "region"], "left").transform(with_rates)


def with_rates(df: DataFrame) -> DataFrame:
    """Zero-fill the components and derive logo churn, GRR, NRR and the churn rates."""
    zero = F.lit(0).cast(MONEY)
    counts = (
        "opening_customers",
        "churned_customers",
        "voluntary_churned_customers",
        "involuntary_churned_customers",
    )
    money = ("opening_mrr_usd", "retained_mrr_usd", "cohort_closing_mrr_usd")
    filled = df.select(
        "month_start_date",
        "region",
        *[F.coalesce(c, F.lit(0)).cast("long").alias(c) for c in counts],
        *[F.coalesce(c, zero).cast(MONEY).alias(c) for c in money],
    )
    customers = F.when(F.col("opening_customers") > 0, F.col("opening_customers"))
    opening = F.when(F.col("opening_mrr_usd") > 0, F.col("opening_mrr_usd").cast("double"))
    grr = F.col("retained_mrr_usd").cast("double") / opening
    nrr = F.col("cohort_closing_mrr_usd").cast("double") / opening
    return filled.select(
        "*",
        (F.col("churned_customers") / customers).alias("logo_churn_rate"),
        grr.alias("grr"),
        nrr.alias("nrr"),
        (1 - grr).alias("gross_revenue_churn_rate"),
        (1 - nrr).alias("net_revenue_churn_rate"),
    )
