"""Silver's per-type chain: lateness by the books date, history loads, refunds, outcomes."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from bronze.contracts import PaymentEvent
from jobs.spark import execution_for
from silver.events import (
    OUTCOMES,
    Lateness,
    outcome_metrics,
    to_flagged_counts,
    to_typed_events,
    with_classification,
)
from silver.parse import with_parsed_payload
from silver.payment import SILVER as PAYMENT
from silver.reference import to_fx_daily
from silver.subscription import SILVER as SUBSCRIPTION
from silver.types import References

RECEIVED = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
LATENESS = Lateness(allowed_days=1, horizon_days=35, future_minutes=10)
BRONZE = (
    "event_type string, payload string, payload_hash string, source string, "
    "source_object_key string, line_number bigint, received_at timestamp, "
    "received_date date, batch_id string"
)


def _bronze(
    spark: SparkSession, event_type: str, payloads: list[tuple[str, dict[str, Any]]]
) -> DataFrame:
    rows = [
        (
            event_type,
            json.dumps(p),
            f"h{i}",
            source,
            f"events/{event_type}/obj",
            i + 1,
            RECEIVED.replace(tzinfo=None),
            RECEIVED.date(),
            "b1",
        )
        for i, (source, p) in enumerate(payloads)
    ]
    return spark.createDataFrame(rows, BRONZE)


@pytest.fixture(scope="module")
def refs(spark: SparkSession) -> References:
    rates = spark.createDataFrame(
        [(dt.date(2026, 1, 2), "EUR", Decimal("1.1"))],
        "rate_date date, currency string, rate_to_usd decimal(38,24)",
    )
    return References(
        plans_df=spark.createDataFrame([("pro",)], "plan_id string"),
        fx_daily_df=to_fx_daily(rates, dt.date(2026, 12, 31)),
        customers_df=spark.createDataFrame([("c1",)], "customer_id string"),
        paid_df=spark.createDataFrame([("inv-old", "USD")], "invoice_id string, currency string"),
        fx_max_staleness_days=100000,
    )


def _subscription(event_time: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": "3f1d2c4b-5a6e-4f70-8a9b-0c1d2e3f4a5b",
        "event_time": event_time,
        "subscription_id": "s1",
        "customer_id": "c1",
        "plan_id": "pro",
        "action": "activated",
        "quantity": 1,
        "unit_price": "99.00",
        "currency": "USD",
        "billing_period": "monthly",
        "region": "NA",
        "customer_segment": "smb",
        "customer_country": "US",
        **extra,
    }


def test_lateness_is_judged_on_the_books_date(spark: SparkSession, refs: References) -> None:
    payloads = [
        ("batch", _subscription("2026-01-10T10:00:00Z")),  # 142 days late: too late
        ("backfill", _subscription("2026-01-10T10:00:00Z")),  # a history load: never too late
        ("batch", _subscription("2026-05-20T10:00:00Z")),  # 12 days: late, accepted
        # announced long ago, takes effect in 5 days: changes the books then, not late
        (
            "batch",
            _subscription("2026-01-10T10:00:00Z", effective_date="2026-06-06", action="cancelled"),
        ),
    ]
    typed = to_typed_events(_bronze(spark, "subscription", payloads), SUBSCRIPTION, refs, LATENESS)
    got = [
        (r["quarantine_rules"], r["is_late"], r["books_date"])
        for r in typed.orderBy("line_number").collect()
    ]
    assert got == [
        (["too_late"], False, dt.date(2026, 1, 10)),
        ([], True, dt.date(2026, 1, 10)),
        ([], True, dt.date(2026, 5, 20)),
        ([], False, dt.date(2026, 6, 6)),
    ]


def _payment(n: int, invoice: str, status: str, currency: str = "USD") -> dict[str, Any]:
    return {
        "event_id": f"3f1d2c4b-5a6e-4f70-8a9b-0c1d2e3f4a{n:02d}",
        "event_time": "2026-05-30T10:00:00Z",
        "payment_id": f"p{n}",
        "customer_id": "c1",
        "invoice_id": invoice,
        "amount": "10.00",
        "currency": currency,
        "status": status,
        "payment_method": "card",
    }


def test_refunds_need_their_refunded_payment(spark: SparkSession, refs: References) -> None:
    payloads = [
        ("batch", _payment(1, "inv-old", "refunded")),  # its payment is already in Silver
        ("batch", _payment(2, "inv-new", "succeeded")),
        ("batch", _payment(3, "inv-new", "refunded")),  # its payment is in this batch
        ("batch", _payment(4, "inv-none", "refunded")),  # no such payment
        ("batch", _payment(5, "inv-old", "refunded", "EUR")),  # other currency: no match
    ]
    typed = to_typed_events(_bronze(spark, "payment", payloads), PAYMENT, refs, LATENESS)
    got = {r["payment_id"]: r["quarantine_rules"] for r in typed.collect()}
    assert got == {
        "p1": [],
        "p2": [],
        "p3": [],
        "p4": ["ref:refunded_payment"],
        "p5": ["ref:refunded_payment"],
    }


def test_every_row_gets_exactly_one_outcome(spark: SparkSession, refs: References) -> None:
    same = _payment(1, "inv-old", "refunded")
    changed = dict(same, amount="11.00")
    payloads = [
        ("batch", same),
        ("batch", same),
        ("batch", changed),
        ("batch", _payment(4, "x", "refunded")),
    ]
    typed = to_typed_events(_bronze(spark, "payment", payloads), PAYMENT, refs, LATENESS)
    existing = spark.createDataFrame(
        [], "event_id string, payload_hash string, source_object_key string, line_number bigint"
    )
    # payload_hash is per line in this fixture: make the duplicate's hash equal to the first
    typed = typed.withColumn(
        "payload_hash",
        F.when(F.col("line_number") == 2, F.lit("h0")).otherwise(F.col("payload_hash")),
    )
    outcomes = [
        r["dedup_outcome"]
        for r in with_classification(typed, existing).orderBy("line_number").collect()
    ]
    assert outcomes == ["valid", "duplicate", "conflicting_duplicate", "quarantined"]


def test_an_empty_silver_needs_no_join(spark: SparkSession, refs: References) -> None:
    """`existing_df=None` (first build, rebuild) classifies exactly as an empty Silver table.

    Without Silver rows the rows are classified in one window, rule failures in a group of
    their own: a failing row that arrived first must not take its event_id's first place.
    """
    same = _payment(1, "inv-old", "refunded")
    payloads = [
        ("batch", dict(same, invoice_id="inv-none")),  # fails ref:refunded_payment, arrives first
        ("batch", same),
        ("batch", same),
        ("batch", dict(same, amount="11.00")),
        ("batch", dict(_payment(2, "inv-none", "refunded"))),  # fails, alone
    ]
    typed = to_typed_events(_bronze(spark, "payment", payloads), PAYMENT, refs, LATENESS)
    typed = typed.withColumn(
        "payload_hash",
        F.when(F.col("line_number") == 3, F.lit("h1")).otherwise(F.col("payload_hash")),
    )
    empty = spark.createDataFrame(
        [], "event_id string, payload_hash string, source_object_key string, line_number bigint"
    )
    one_pass = with_classification(typed, None)
    assert_df_equality(
        one_pass, with_classification(typed, empty), ignore_row_order=True, ignore_nullable=True
    )
    outcomes = [r["dedup_outcome"] for r in one_pass.orderBy("line_number").collect()]
    assert outcomes == [
        "quarantined",
        "valid",
        "duplicate",
        "conflicting_duplicate",
        "quarantined",
    ]


@pytest.mark.parametrize("has_silver", [False, True])
def test_observed_counts_match_the_rows(
    spark: SparkSession, refs: References, has_silver: bool
) -> None:
    """Outcome counts observed while the rows are computed, and the flagged rows' names, equal
    counts taken from the collected rows in Python (the unknown field from the input dicts)."""
    first = _payment(1, "inv-old", "refunded")
    payloads = [
        ("batch", first),
        ("batch", dict(first, amount="11.00")),  # conflicting duplicate
        ("batch", dict(_payment(2, "inv-none", "refunded"), coupon="X1")),  # fails, unknown key
        ("batch", dict(_payment(3, "inv-old", "refunded"), coupon="X2")),  # valid, unknown key
        ("batch", dict(_payment(4, "inv-old", "refunded"), amount="ten")),  # fails a type rule
    ]
    typed = to_typed_events(_bronze(spark, "payment", payloads), PAYMENT, refs, LATENESS)
    existing = (
        spark.createDataFrame(
            [("3f1d2c4b-5a6e-4f70-8a9b-0c1d2e3f4a03", "other", "events/payment/old", 7)],
            "event_id string, payload_hash string, source_object_key string, line_number bigint",
        )
        if has_silver
        else None
    )
    observation = Observation("test-outcomes")
    classified = (
        with_classification(typed, existing)
        .observe(observation, *outcome_metrics())
        .localCheckpoint(eager=True)
    )
    metrics = observation.get
    rows = classified.collect()
    by_outcome = Counter(r["dedup_outcome"] for r in rows)
    assert metrics["rows"] == len(payloads)
    assert {o: metrics[o] for o in OUTCOMES if metrics[o]} == dict(by_outcome)
    assert metrics["late"] == sum(r["dedup_outcome"] == "valid" and r["is_late"] for r in rows)
    names = Counter(
        (kind, name)
        for r in rows
        for kind, column in (("quarantine_rule", "quarantine_rules"), ("warn_rule", "warn_rules"))
        for name in r[column]
    )
    names.update(
        ("unknown_field", key)
        for _, payload in payloads
        for key in payload
        if key not in PaymentEvent.model_fields
    )
    assert metrics["flagged"] == 3
    flagged = {(r["kind"], r["name"]): r["rows"] for r in to_flagged_counts(classified).collect()}
    assert flagged == dict(names)
    assert ("unknown_field", "coupon") in flagged


def test_the_payload_is_parsed_once(spark: SparkSession) -> None:
    """Every contract field comes out of one `from_json` (not one parse per field)."""
    parsed = with_parsed_payload(
        _bronze(spark, "payment", [("batch", _payment(1, "i", "paid"))]), PaymentEvent
    )
    plan = parsed._jdf.queryExecution().optimizedPlan().toString()
    assert plan.count("from_json(") == 1
    assert parsed.first()["_raw_invoice_id"] == "i"


def test_a_small_batch_joins_silver_by_broadcast(spark: SparkSession, refs: References) -> None:
    """A small run plans without adaptive execution, so its ids are broadcast to the join with
    Silver by a hint (`is_few`) rather than all of Silver's keys shuffled; same outcomes."""
    first = _payment(1, "inv-old", "refunded")
    payloads = [
        ("batch", first),
        ("batch", dict(first, amount="11.00")),  # conflicting duplicate within the batch
        ("batch", _payment(3, "inv-old", "refunded")),  # conflicts with the Silver row
        ("batch", _payment(4, "inv-none", "refunded")),  # fails a rule
    ]
    typed = to_typed_events(_bronze(spark, "payment", payloads), PAYMENT, refs, LATENESS)
    existing = spark.createDataFrame(
        [("3f1d2c4b-5a6e-4f70-8a9b-0c1d2e3f4a03", "other", "events/payment/old", 7)],
        "event_id string, payload_hash string, source_object_key string, line_number bigint",
    )
    with execution_for(spark, is_small=True):
        few = with_classification(typed, existing, is_few=True)
        plan = few._jdf.queryExecution().executedPlan().toString()
        assert "BroadcastHashJoin" in plan and "LeftSemi" in plan
        assert "SortMergeJoin LeftSemi" not in plan
        assert_df_equality(
            few, with_classification(typed, existing), ignore_row_order=True, ignore_nullable=True
        )
        outcomes = [r["dedup_outcome"] for r in few.orderBy("line_number").collect()]
    assert outcomes == ["valid", "conflicting_duplicate", "conflicting_duplicate", "quarantined"]
