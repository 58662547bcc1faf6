"""Plan attribution of dated rows (payments) to the plan held on that date."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality
from pyspark.sql import SparkSession

from gold.subscriptions_snapshot import with_plan_on_date

D = [dt.date(2026, 3, day) for day in range(1, 11)]
CHANGES_SCHEMA = (
    "subscription_id string, plan_id string, effective_date date, next_change_date date"
)


def test_each_payment_takes_the_plan_valid_on_its_date(spark: SparkSession) -> None:
    changes_df = spark.createDataFrame(
        [
            ("s1", "basic", D[1], D[4]),  # basic from the 2nd
            ("s1", "pro", D[4], D[7]),  # upgraded on the 5th
            ("s1", "basic", D[7], None),  # downgraded on the 8th, still holds
            ("s2", "enterprise", D[2], None),
        ],
        CHANGES_SCHEMA,
    )
    payments_df = spark.createDataFrame(
        [
            ("p0", "s1", D[0]),  # before the first change: the first plan
            ("p1", "s1", D[1]),
            ("p2", "s1", D[3]),  # the day before the upgrade
            ("p3", "s1", D[4]),  # the upgrade day: end-of-day plan
            ("p4", "s1", D[9]),
            ("p5", "s2", D[9]),
            ("p6", None, D[5]),  # no subscription
            ("p7", "s9", D[5]),  # unknown subscription
        ],
        "payment_id string, subscription_id string, event_date date",
    )
    actual_df = payments_df.transform(lambda d: with_plan_on_date(d, changes_df, "event_date"))
    expected_df = spark.createDataFrame(
        [
            ("p0", "s1", D[0], "basic"),
            ("p1", "s1", D[1], "basic"),
            ("p2", "s1", D[3], "basic"),
            ("p3", "s1", D[4], "pro"),
            ("p4", "s1", D[9], "basic"),
            ("p5", "s2", D[9], "enterprise"),
            ("p6", None, D[5], "unassigned"),
            ("p7", "s9", D[5], "unassigned"),
        ],
        "payment_id string, subscription_id string, event_date date, plan_id string",
    )
    assert_df_equality(
        actual_df.select("payment_id", "subscription_id", "event_date", "plan_id"),
        expected_df,
        ignore_row_order=True,
        ignore_nullable=True,
    )
