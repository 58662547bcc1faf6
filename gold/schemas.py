"""Published schemas of the Gold marts read by forecasting, Trino and the metrics API.

Money is decimal(18,4) USD; movement columns are signed so that
``opening + new + expansion + contraction + churn + reactivation = closing`` exactly.
"""

from __future__ import annotations

from pyspark.sql import types as T

MONEY = T.DecimalType(18, 4)


def _s(*fields: tuple[str, T.DataType, bool]) -> T.StructType:
    return T.StructType([T.StructField(n, t, nullable) for n, t, nullable in fields])


# gold.mrr_daily — grain: metric_date x region x plan_id x customer_segment
MRR_DAILY = _s(
    ("metric_date", T.DateType(), False),
    ("region", T.StringType(), False),
    ("plan_id", T.StringType(), False),
    ("customer_segment", T.StringType(), False),
    ("mrr_usd", MONEY, False),
    ("active_subscriptions", T.LongType(), False),
    ("active_customers", T.LongType(), False),
)

# gold.mrr_movements_monthly — grain: month_start_date x region
MRR_MOVEMENTS_MONTHLY = _s(
    ("month_start_date", T.DateType(), False),
    ("region", T.StringType(), False),
    ("opening_mrr_usd", MONEY, False),
    ("new_mrr_usd", MONEY, False),
    ("expansion_mrr_usd", MONEY, False),
    ("contraction_mrr_usd", MONEY, False),  # <= 0
    ("churn_mrr_usd", MONEY, False),  # <= 0
    ("reactivation_mrr_usd", MONEY, False),
    ("closing_mrr_usd", MONEY, False),
)

# gold.churn_monthly — grain: month_start_date x region
CHURN_MONTHLY = _s(
    ("month_start_date", T.DateType(), False),
    ("region", T.StringType(), False),
    ("opening_customers", T.LongType(), False),
    ("churned_customers", T.LongType(), False),
    ("voluntary_churned_customers", T.LongType(), False),
    ("involuntary_churned_customers", T.LongType(), False),
    ("logo_churn_rate", T.DoubleType(), True),
    ("gross_revenue_churn_rate", T.DoubleType(), True),
    ("net_revenue_churn_rate", T.DoubleType(), True),
    ("grr", T.DoubleType(), True),
    ("nrr", T.DoubleType(), True),
)

# gold.revenue_region_daily — grain: revenue_date x region
REVENUE_REGION_DAILY = _s(
    ("revenue_date", T.DateType(), False),
    ("region", T.StringType(), False),
    ("gross_revenue_usd", MONEY, False),
    ("refunds_usd", MONEY, False),
    ("net_revenue_usd", MONEY, False),
    ("failed_payments_usd", MONEY, False),
    ("costs_usd", MONEY, False),
    ("gross_margin_usd", MONEY, False),
    ("gross_margin_pct", T.DoubleType(), True),
)
