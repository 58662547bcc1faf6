"""Hypothesis-generated landing lines through Bronze's and Silver's pure transforms.

Every generated line (valid events, missing fields, wrong types, out-of-range values, bad
enums, weird unicode, truncated JSON, non-JSON text, invalid UTF-8, duplicates) must end in
exactly one bucket: valid, quarantined (with a reason), duplicate or malformed. Nothing is
lost, and every valid row honours the contract.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bronze.events import lines_from_objects, with_bronze_envelope, with_lineage
from silver.events import SILVER_TYPES, Lateness, to_typed_events, with_classification
from silver.reference import to_fx_daily
from silver.types import References

pytestmark = [pytest.mark.badinput, pytest.mark.integration]

ROWS = 200
RECEIVED_AT = dt.datetime(2024, 3, 10, 12, 0)
BASE: dict[str, dict[str, Any]] = {
    "subscription": {
        "subscription_id": "sub-1",
        "customer_id": "cus-1",
        "plan_id": "pro",
        "action": "activated",
        "quantity": 3,
        "unit_price": "49.99",
        "currency": "USD",
        "billing_period": "monthly",
        "region": "EMEA",
        "customer_segment": "smb",
        "customer_country": "DE",
    },
    "payment": {
        "payment_id": "pay-1",
        "customer_id": "cus-1",
        "subscription_id": None,
        "invoice_id": "inv-1",
        "amount": "149.97",
        "currency": "USD",
        "status": "succeeded",
        "payment_method": "card",
    },
    "usage": {
        "customer_id": "cus-1",
        "subscription_id": "sub-1",
        "metric": "api_calls",
        "quantity": 1200,
    },
    "operational_cost": {
        "cost_id": "cost-1",
        "cost_center": "infrastructure",
        "vendor": "cloud-co",
        "amount": "-12.5",
        "currency": "USD",
        "region": "EMEA",
        "incurred_date": "2024-03-09",
    },
}
ENUM_FIELDS = (
    "action",
    "billing_period",
    "region",
    "customer_segment",
    "status",
    "cost_center",
    "currency",
)
NUMERIC_FIELDS = ("quantity", "unit_price", "amount")
WEIRD = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\n\r"), min_size=0, max_size=30
)
JUNK_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    WEIRD,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def landing_line(draw: st.DrawFn) -> tuple[str, bytes]:
    """(event_type, raw line bytes) for one valid or broken event."""
    event_type = draw(st.sampled_from(list(BASE)))
    event: dict[str, Any] = {
        "event_id": str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)), version=4)),
        "event_time": "2024-03-09T10:15:00+00:00",
        **BASE[event_type],
    }
    kind = draw(
        st.sampled_from(
            (
                "valid",
                "missing",
                "wrong_type",
                "out_of_range",
                "bad_enum",
                "weird_unicode",
                "bad_time",
                "truncated",
                "not_json",
                "invalid_utf8",
                "extra_field",
            )
        )
    )
    field = draw(st.sampled_from(sorted(event)))
    if kind == "missing":
        del event[field]
    elif kind == "wrong_type":
        event[field] = draw(JUNK_VALUES)
    elif kind == "out_of_range":
        numeric = [f for f in NUMERIC_FIELDS if f in event] or [field]
        event[draw(st.sampled_from(numeric))] = draw(
            st.sampled_from((-1, 0, "-0.0001", "1e40", 10**30, "NaN"))
        )
    elif kind == "bad_enum":
        enums = [f for f in ENUM_FIELDS if f in event] or [field]
        event[draw(st.sampled_from(enums))] = draw(WEIRD)
    elif kind == "weird_unicode":
        event[field] = draw(WEIRD)
    elif kind == "bad_time":
        event["event_time"] = draw(
            st.sampled_from(("yesterday", "2024-13-45T99:00:00Z", "", "2999-01-01T00:00:00Z"))
        )
    elif kind == "extra_field":
        event[draw(WEIRD)] = draw(JUNK_VALUES)
    line = json.dumps(event, ensure_ascii=draw(st.booleans())).encode("utf-8")
    if kind == "truncated":
        line = line[: draw(st.integers(1, max(1, len(line) - 1)))]
    elif kind == "not_json":
        line = draw(WEIRD).encode("utf-8")
    elif kind == "invalid_utf8":
        line = b"\xff\xfe" + line[: draw(st.integers(0, len(line)))]
    if not line.strip():
        line = b"{"  # blank lines are not lines; keep one malformed character instead
    return event_type, line


def _bronze(spark: SparkSession, lines: list[tuple[str, bytes]]) -> DataFrame:
    """Bronze rows of the lines, one landing object per event type."""
    objects = []
    for event_type in BASE:
        content = b"\n".join(line for t, line in lines if t == event_type)
        if content:
            key = f"events/{event_type}/received_date=2024-03-10/x_api_{event_type}.jsonl"
            objects.append((key, event_type, bytearray(content)))
    objects_df = spark.createDataFrame(objects, "key string, event_type string, content binary")
    keys_df = objects_df.select(
        "key",
        "event_type",
        F.lit("api").alias("source"),
        F.lit(RECEIVED_AT).alias("received_at"),
        F.lit(RECEIVED_AT.date()).alias("received_date"),
    )
    return (
        lines_from_objects(objects_df.select("key", "content"))
        .join(keys_df, "key")
        .withColumnRenamed("key", "source_object_key")
        .transform(with_bronze_envelope)
        .transform(lambda df: with_lineage(df, "hypothesis-batch"))
    )


def _references(spark: SparkSession) -> References:
    rates = spark.createDataFrame(
        [(dt.date(2024, 3, 9), "EUR", Decimal("1.1"))],
        "rate_date date, currency string, rate_to_usd decimal(38,24)",
    )
    return References(
        plans_df=spark.createDataFrame([("pro",)], "plan_id string"),
        fx_daily_df=to_fx_daily(rates, dt.date(2024, 12, 31)),
        customers_df=spark.createDataFrame([("cus-1",)], "customer_id string"),
        paid_df=spark.createDataFrame([], "invoice_id string, currency string"),
        fx_max_staleness_days=7,
    )


@settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(lines=st.lists(landing_line(), min_size=ROWS, max_size=ROWS))
def test_every_generated_row_is_valid_or_quarantined(
    spark: SparkSession, lines: list[tuple[str, bytes]]
) -> None:
    """Rows in = valid + quarantined + duplicates + malformed, with reasons and valid contracts."""
    if lines:  # duplicates: replay the first few lines verbatim at the end
        lines = lines + lines[:5]
    lateness = Lateness(allowed_days=1, horizon_days=35, future_minutes=10)
    bronze_df = _bronze(spark, lines).cache()
    assert bronze_df.count() == len(lines), "Bronze lost or invented lines"
    refs = _references(spark)
    outcomes: dict[tuple[str, int], str] = {}
    for row in (
        bronze_df.filter("is_parse_error")
        .select("source_object_key", "line_number", "parse_error")
        .collect()
    ):
        assert row["parse_error"] in ("invalid_utf8", "invalid_json")
        outcomes[(row[0], row[1])] = "malformed"
    for spec in SILVER_TYPES:
        rows_df = bronze_df.filter(
            ~F.col("is_parse_error") & (F.col("event_type") == spec.event_type)
        )
        typed_df = to_typed_events(rows_df, spec, refs, lateness).cache()
        empty = spark.createDataFrame(
            [], "event_id string, payload_hash string, source_object_key string, line_number long"
        )
        classified = with_classification(typed_df, empty)
        required = [n for n, f in spec.model.model_fields.items() if f.is_required()]
        rows = classified.collect()
        # the Silver job appends valid rows without a key check of its own (key `event_id`)
        valid_ids = [row["event_id"] for row in rows if row["dedup_outcome"] == "valid"]
        assert len(valid_ids) == len(set(valid_ids)), "valid rows share an event_id"
        for row in rows:
            key = (row["source_object_key"], row["line_number"])
            assert key not in outcomes, f"line {key} classified twice"
            outcome = row["dedup_outcome"]
            outcomes[key] = outcome
            assert outcome in ("valid", "quarantined", "duplicate", "conflicting_duplicate")
            if outcome == "quarantined":
                assert row["quarantine_rules"], "quarantined without a reason"
            if outcome == "valid":
                missing = [n for n in required if row[n] is None]
                assert not missing, f"valid row with null required fields {missing}: {row}"
        typed_df.unpersist()
    bronze_df.unpersist()
    assert len(outcomes) == len(lines), "rows lost between Bronze and Silver"
    assert "valid" in outcomes.values()
