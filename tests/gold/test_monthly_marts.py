"""Movements, transfers, churn/GRR/NRR and cohorts on a hand-written book (truth by hand).

EMEA: A 100 from Feb 1; B joins Mar 5 at 100, upgrades Mar 10 to 200, cancels Mar 25;
E 100 from Feb 1, moves to NA on Mar 15 repriced at 120.
NA: C 200 and H 100 from Feb 1 (H upgraded to 150 on Mar 12); F 50 from Feb 1, cancelled
(involuntary) Mar 10; D joins Mar 3 at 80 and cancels Mar 20; G 70 from Jan 10, cancelled
Feb 10, reactivated Mar 8. As of Mar 31.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.sql import SparkSession

from gold.dim_customer import to_dim_customer
from gold.monthly import to_month_states, to_monthly_marts
from gold.subscriptions_snapshot import to_subscription_changes
from tests.gold.conftest import Sub, day, subs_df

JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)
AS_OF = day(31)


def _book() -> list[Sub]:
    return [
        Sub("sA", "A", "activated", day(1, 2), "100"),
        Sub("sB", "B", "activated", day(5), "100"),
        Sub("sB", "B", "upgraded", day(10), "200"),
        Sub("sB", "B", "cancelled", day(25), "200", cancel_reason="voluntary"),
        Sub("sE", "E", "activated", day(1, 2), "100"),
        Sub("sE", "E", "renewed", day(15), "120", region="NA"),
        Sub("sC", "C", "activated", day(1, 2), "200", region="NA"),
        Sub("sH", "H", "activated", day(1, 2), "100", region="NA"),
        Sub("sH", "H", "upgraded", day(12), "150", region="NA"),
        Sub("sF", "F", "activated", day(1, 2), "50", region="NA"),
        Sub("sF", "F", "cancelled", day(10), "50", region="NA", cancel_reason="involuntary"),
        Sub("sD", "D", "activated", day(3), "80", region="NA"),
        Sub("sD", "D", "cancelled", day(20), "80", region="NA", cancel_reason="voluntary"),
        Sub("sG", "G", "activated", day(10, 1), "70", region="NA"),
        Sub("sG", "G", "cancelled", day(10, 2), "70", region="NA", cancel_reason="voluntary"),
        Sub("sG", "G", "reactivated", day(8), "70", region="NA"),
    ]


@pytest.fixture(scope="module")
def marts(spark: SparkSession, empty_fx: object) -> dict[str, dict[tuple[object, ...], object]]:
    subscription_df = subs_df(spark, *_book())
    changes_df = to_subscription_changes(subscription_df, empty_fx)  # type: ignore[arg-type]
    regions_df = spark.createDataFrame([("EMEA",), ("NA",)], "region string")
    states = to_month_states(changes_df, to_dim_customer(subscription_df), JAN, AS_OF)
    frames = to_monthly_marts(states, regions_df, JAN)
    out: dict[str, dict[tuple[object, ...], object]] = {}
    for name, df in frames.items():
        key = (
            ("cohort_month", "months_since_signup")
            if name == "cohort_retention"
            else (
                "month_start_date",
                "region",
            )
        )
        out[name] = {tuple(r[k] for k in key): r.asDict() for r in df.collect()}
    return out


def _m(value: str) -> Decimal:
    return Decimal(value).quantize(Decimal("0.0001"))


def test_bridge_with_transfers_per_region(
    marts: dict[str, dict[tuple[object, ...], object]],
) -> None:
    movements = marts["mrr_movements_monthly"]
    expected = {
        (MAR, "EMEA"): {
            "opening": "200",
            "new": "100",
            "expansion": "100",
            "contraction": "0",
            "churn": "-200",
            "reactivation": "0",
            "transfer": "-100",
            "closing": "100",
        },
        (MAR, "NA"): {
            "opening": "350",
            "new": "80",
            "expansion": "70",
            "contraction": "0",
            "churn": "-130",
            "reactivation": "70",
            "transfer": "100",
            "closing": "540",
        },
        (FEB, "EMEA"): {
            "opening": "0",
            "new": "200",
            "expansion": "0",
            "contraction": "0",
            "churn": "0",
            "reactivation": "0",
            "transfer": "0",
            "closing": "200",
        },
        (FEB, "NA"): {
            "opening": "70",
            "new": "350",
            "expansion": "0",
            "contraction": "0",
            "churn": "-70",
            "reactivation": "0",
            "transfer": "0",
            "closing": "350",
        },
        (JAN, "NA"): {
            "opening": "0",
            "new": "70",
            "expansion": "0",
            "contraction": "0",
            "churn": "0",
            "reactivation": "0",
            "transfer": "0",
            "closing": "70",
        },
    }
    for key, want in expected.items():
        row = movements[key]
        assert {k: row[f"{k}_mrr_usd"] for k in want} == {k: _m(v) for k, v in want.items()}, key
    assert sum(r["transfer_mrr_usd"] for r in movements.values()) == 0  # type: ignore[index]
    assert len(movements) == 6  # Jan..Mar x EMEA, NA (Jan EMEA all zero)


def test_churn_grr_nrr_over_opening_customers(
    marts: dict[str, dict[tuple[object, ...], object]],
) -> None:
    churn = marts["churn_monthly"]
    emea, na = churn[(MAR, "EMEA")], churn[(MAR, "NA")]
    # B joined and left inside March: new and churn movements, not logo churn.
    assert (emea["opening_customers"], emea["churned_customers"]) == (2, 0)  # type: ignore[index]
    assert emea["opening_mrr_usd"] == _m("200") and emea["retained_mrr_usd"] == _m("200")  # type: ignore[index]
    assert emea["cohort_closing_mrr_usd"] == _m("220")  # E's close counts after the move  # type: ignore[index]
    assert emea["logo_churn_rate"] == 0.0 and emea["grr"] == 1.0  # type: ignore[index]
    assert emea["nrr"] == pytest.approx(1.1)  # type: ignore[index]
    assert (na["opening_customers"], na["churned_customers"]) == (3, 1)  # type: ignore[index]
    assert (na["involuntary_churned_customers"], na["voluntary_churned_customers"]) == (1, 0)  # type: ignore[index]
    assert na["logo_churn_rate"] == pytest.approx(1 / 3)  # type: ignore[index]
    assert na["grr"] == pytest.approx(300 / 350) and na["nrr"] == pytest.approx(1.0)  # type: ignore[index]
    feb_na = churn[(FEB, "NA")]
    assert (feb_na["opening_customers"], feb_na["churned_customers"]) == (1, 1)  # type: ignore[index]
    assert feb_na["grr"] == 0.0 and feb_na["voluntary_churned_customers"] == 1  # type: ignore[index]
    assert churn[(FEB, "EMEA")]["grr"] is None  # no opening MRR  # type: ignore[index]


def test_issue_examples_of_customer_level_churn(spark: SparkSession, empty_fx: object) -> None:
    """Two customers at the opening (200, 100 -> 150) and one who joins and churns in-month."""
    book = [
        Sub("s1", "X", "activated", day(1, 2), "200"),
        Sub("s2", "Y", "activated", day(1, 2), "100"),
        Sub("s2", "Y", "upgraded", day(9), "150"),
        Sub("s3", "Z", "activated", day(5), "90"),
        Sub("s3", "Z", "cancelled", day(25), "90", cancel_reason="voluntary"),
    ]
    subscription_df = subs_df(spark, *book)
    states = to_month_states(
        to_subscription_changes(subscription_df, empty_fx),  # type: ignore[arg-type]
        to_dim_customer(subscription_df),
        MAR,
        AS_OF,
    )
    frames = to_monthly_marts(states, spark.createDataFrame([("EMEA",)], "region string"), MAR)
    row = frames["churn_monthly"].filter("month_start_date = '2026-03-01'").first()
    assert row is not None
    assert (row["logo_churn_rate"], row["grr"]) == (0.0, 1.0)
    assert row["nrr"] == pytest.approx(350 / 300)


def test_cohorts_by_month_of_first_mrr(marts: dict[str, dict[tuple[object, ...], object]]) -> None:
    cohorts = {
        k: (v["cohort_customers"], v["retained_customers"])
        for k, v in marts["cohort_retention"].items()
    }  # type: ignore[index]
    assert cohorts == {
        (JAN, 0): (1, 1),
        (JAN, 1): (1, 0),  # G churned in February
        (JAN, 2): (1, 1),  # and came back in March
        (FEB, 0): (5, 5),
        (FEB, 1): (5, 4),  # F churned
        (MAR, 0): (2, 0),  # B and D joined and left in March
    }
