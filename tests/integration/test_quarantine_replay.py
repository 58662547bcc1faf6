"""Fix-and-replay of quarantined rows through the landing zone, with its audit trail."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from bronze.landing import parse_event_key, reference_key
from bronze.objectstore import LocalObjectStore
from conf.settings import Settings
from jobs.generator import generate
from jobs.lake import Lake
from jobs.quarantine_replay import (
    Correction,
    ReplayRejected,
    open_quarantine_counts,
    read_corrections,
    replay_status,
    request_replay,
    status_read_only,
)
from tests.pipeline_fixtures import GeneratedLake, run_pipeline

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> GeneratedLake:
    """A tiny defects lake of this module only."""
    root = tmp_path_factory.mktemp("replay-lake")
    settings = Settings(
        lake_root=str(root), freshness_max_hours=24 * 365 * 30, max_quarantine_ratio=0.5
    )
    store = LocalObjectStore(settings.landing)
    manifest = generate(
        store,
        root / "truth",
        seed=31,
        start=dt.date(2024, 1, 1),
        days=20,
        customers=25,
        defects=True,
        horizon_days=settings.restatement_horizon_days,
    )
    return GeneratedLake(settings, store, root / "truth", manifest)


def _table(spark: SparkSession, lake: GeneratedLake, layer: Any, name: str) -> Any:
    return Lake(spark, lake.settings).read(f"{layer}.{name}")  # type: ignore[arg-type]


def _quarantined(spark: SparkSession, lake: GeneratedLake, rule: str) -> list[Any]:
    return (
        _table(spark, lake, "silver", "quarantine")
        .filter(F.array_contains("failed_rules", rule))
        .orderBy("quarantine_id")
        .collect()
    )


def _gold_payments(spark: SparkSession, lake: GeneratedLake) -> tuple[int, dict[str, Decimal]]:
    """Payments counted by Gold and their net amount per payment currency."""
    df = _table(spark, lake, "gold", "revenue_daily")
    count = int(df.agg(F.sum("payments")).first()[0])
    by_currency = df.groupBy("currency").agg(F.sum("net_amount").alias("net"))
    return count, {r["currency"]: r["net"] for r in by_currency.collect() if r["net"]}


def _silver_payments(spark: SparkSession, lake: GeneratedLake) -> tuple[int, dict[str, Decimal]]:
    """Silver payments and their net (succeeded minus refunded) per payment currency."""
    df = _table(spark, lake, "silver", "payment")
    net = F.when(F.col("status") == "succeeded", F.col("amount")).when(
        F.col("status") == "refunded", -F.col("amount")
    )
    by_currency = df.groupBy("currency").agg(F.sum(net).cast("decimal(18,4)").alias("net"))
    return df.count(), {r["currency"]: r["net"] for r in by_currency.collect() if r["net"]}


def test_corrections_are_replayed_once_and_audited(
    spark: SparkSession, lake: GeneratedLake, tmp_path: Path
) -> None:
    settings = lake.settings
    run_pipeline(spark, lake)
    base_silver = _silver_payments(spark, lake)
    assert _gold_payments(spark, lake) == base_silver

    range_rows = _quarantined(spark, lake, "range:amount")
    null_rows = _quarantined(spark, lake, "not_null:customer_id")
    assert len(range_rows) >= 2 and null_rows
    customer = _table(spark, lake, "silver", "subscription").first()["customer_id"]

    # corrections file: fix every null customer and all but one negative amount
    fixed, still_broken = range_rows[:-1], range_rows[-1]
    lines = []
    for row in null_rows:
        lines.append(
            {
                "quarantine_id": row["quarantine_id"],
                "payload": {**json.loads(row["payload"]), "customer_id": customer},
            }
        )
    for row in fixed:
        lines.append(
            {
                "quarantine_id": row["quarantine_id"],
                "payload": {**json.loads(row["payload"]), "amount": "42.50"},
            }
        )
    lines.append(
        {
            "quarantine_id": still_broken["quarantine_id"],
            "payload": {**json.loads(still_broken["payload"]), "amount": "-1.00"},
        }
    )
    path = tmp_path / "corrections.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    corrections = read_corrections(path)

    # refused as a whole when one correction is structurally invalid or changes the event_id
    bad = Correction(null_rows[0]["quarantine_id"], {**corrections[0].payload, "amount": "x"})
    with pytest.raises(ReplayRejected, match="nothing was landed"):
        request_replay(spark, settings, corrections=[bad], store=lake.store)
    moved = Correction(
        null_rows[0]["quarantine_id"],
        {**corrections[0].payload, "event_id": "00000000-0000-4000-8000-000000000000"},
    )
    with pytest.raises(ReplayRejected, match="keeps the event_id"):
        request_replay(spark, settings, corrections=[moved], store=lake.store)
    assert not any(parse_event_key(k).source == "replay" for k in lake.store.list("events/"))

    result = request_replay(
        spark, settings, corrections=corrections, store=lake.store, requested_by="tester"
    )
    assert result["rows"] == len(lines)
    original_received = {
        r["quarantine_id"]: parse_event_key(r["source_object_key"]).received_at
        for r in [*null_rows, *range_rows]
    }
    audit = {r["quarantine_id"]: r for r in replay_status(spark, settings).collect()}
    assert set(audit) == set(original_received)
    for qid, row in audit.items():
        key = parse_event_key(row["landing_object_key"])
        assert key.source == "replay"
        assert key.received_at == original_received[qid]  # lateness classified as originally
        assert row["outcome"] == "pending" and row["requested_by"] == "tester"
        assert row["original_payload_hash"] != row["corrected_payload_hash"]
    # the same request again lands nothing and is refused (already replayed)
    with pytest.raises(ReplayRejected, match="already replayed"):
        request_replay(spark, settings, corrections=corrections, store=lake.store)

    run_pipeline(spark, lake)

    # `finlake quarantine status` (delta-rs, read-only) resolves what Spark is about to store
    read_only = status_read_only(settings)
    audit = {r["quarantine_id"]: r for r in replay_status(spark, settings).collect()}
    assert {r["quarantine_id"]: r["outcome"] for r in read_only["rows"]} == {
        q: r["outcome"] for q, r in audit.items()
    }
    assert read_only["open_quarantine"] == open_quarantine_counts(spark, settings)
    accepted_ids = {r["quarantine_id"] for r in [*null_rows, *fixed]}
    assert {q for q, r in audit.items() if r["outcome"] == "accepted"} == accepted_ids
    again = audit[still_broken["quarantine_id"]]
    assert again["outcome"] == "quarantined_again"
    assert "range:amount" in again["outcome_rules"]

    payment_df = _table(spark, lake, "silver", "payment")
    assert payment_df.groupBy("event_id").count().filter("count > 1").count() == 0
    event_ids = [r["event_id"] for r in [*null_rows, *fixed]]
    replayed = payment_df.filter(F.col("event_id").isin(event_ids)).collect()
    assert sorted(r["event_id"] for r in replayed) == sorted(event_ids)
    assert {r["source"] for r in replayed} == {"replay"}
    assert all(r["customer_id"] is not None and r["amount"] > 0 for r in replayed)
    corrected_hashes = {audit[q]["corrected_payload_hash"] for q in accepted_ids}
    assert {r["payload_hash"] for r in replayed} == corrected_hashes
    assert payment_df.filter(F.col("event_id") == still_broken["event_id"]).count() == 0

    # the still-broken correction is quarantined again under its new lineage
    requarantined = (
        _table(spark, lake, "silver", "quarantine")
        .filter(F.col("quarantine_id") == again["outcome_quarantine_id"])
        .collect()
    )
    assert len(requarantined) == 1
    assert requarantined[0]["source_object_key"] == again["landing_object_key"]
    assert requarantined[0]["source"] == "replay"

    # counted once: Silver grew by exactly the accepted rows, Gold agrees with Silver
    after_silver = _silver_payments(spark, lake)
    assert after_silver[0] == base_silver[0] + len(accepted_ids)
    assert _gold_payments(spark, lake) == after_silver
    open_counts = open_quarantine_counts(spark, settings)
    assert open_counts.get("not_null:customer_id", 0) == 0
    assert open_counts.get("range:amount", 0) == 1  # only the re-quarantined successor

    # second round: fix the successor row, and re-submit unknown-plan rows after fixing plans
    successor = requarantined[0]
    fix = Correction(
        successor["quarantine_id"], {**json.loads(successor["payload"]), "amount": "7.00"}
    )
    with pytest.raises(ReplayRejected, match="its successor"):
        request_replay(
            spark,
            settings,
            corrections=[Correction(still_broken["quarantine_id"], fix.payload)],
            store=lake.store,
        )
    request_replay(spark, settings, corrections=[fix], store=lake.store)
    plans = lake.store.get(next(iter(lake.store.list("reference/plans/"))))
    lake.store.put_if_absent(
        reference_key("plans", "plans-legacy"),
        plans.splitlines()[0]
        + b"\nlegacy_platinum,Legacy Platinum,enterprise,monthly,USD,999.00\n",
    )
    unknown_plan = _quarantined(spark, lake, "ref:plans")
    assert unknown_plan
    by_rule = request_replay(spark, settings, rule="ref:plans", store=lake.store)
    assert by_rule["rows"] == len(unknown_plan)
    run_pipeline(spark, lake)

    audit = {r["quarantine_id"]: r for r in replay_status(spark, settings).collect()}
    assert audit[successor["quarantine_id"]]["outcome"] == "accepted"
    for row in unknown_plan:
        assert audit[row["quarantine_id"]]["outcome"] == "accepted"
        assert audit[row["quarantine_id"]]["replay_kind"] == "rule"
        # re-submitted unchanged: same payload hash as the quarantined original
        assert audit[row["quarantine_id"]]["corrected_payload_hash"] == row["payload_hash"]
    subs = _table(spark, lake, "silver", "subscription")
    assert subs.filter(F.col("plan_id") == "legacy_platinum").count() == len(unknown_plan)
    final = _silver_payments(spark, lake)
    assert final[0] == after_silver[0] + 1
    assert _gold_payments(spark, lake) == final
    assert open_quarantine_counts(spark, settings).get("range:amount", 0) == 0


def test_status_and_refusals_on_an_empty_lake(spark: SparkSession, tmp_path: Path) -> None:
    settings = Settings(lake_root=str(tmp_path / "empty"))
    store = LocalObjectStore(settings.landing)
    assert replay_status(spark, settings).collect() == []
    assert open_quarantine_counts(spark, settings) == {}
    with pytest.raises(ReplayRejected, match="no such quarantined row"):
        request_replay(spark, settings, corrections=[Correction("nope", {})], store=store)
    with pytest.raises(ReplayRejected, match="either corrections or a rule"):
        request_replay(spark, settings, store=store)
    assert request_replay(spark, settings, rule="range:amount", store=store)["rows"] == 0
    assert list(store.list()) == []
