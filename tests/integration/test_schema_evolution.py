"""Schema evolution: a new optional contract field flows through Silver and Gold safely.

The contract variant is a subclass of `PaymentEvent` with an optional `discount_code`, swapped
in for the payment contract (`bronze.contracts.EVENT_MODELS` and Silver's payment type) for this
test only, as a release that adds the field to the contract would.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bronze import contracts
from bronze.contracts import Code, PaymentEvent
from bronze.landing import event_key, reference_key
from bronze.objectstore import LocalObjectStore
from conf.catalog import TABLES, TableName
from conf.settings import Settings
from jobs import silver_job
from jobs.bronze_job import run_bronze
from jobs.generator import generate
from jobs.gold_job import run_gold
from jobs.lake import Lake
from jobs.silver_job import run_silver
from silver import events, payment

pytestmark = pytest.mark.integration

START = dt.date(2024, 1, 1)
DAYS = 20


class PaymentEventV2(PaymentEvent):
    """Payment contract with a new optional field."""

    discount_code: Code | None = None


def _payment(
    customer_id: str, subscription_id: str, day: dt.date, n: int, **extra: Any
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.UUID(int=1000 + n, version=4)),
        "event_time": f"{day.isoformat()}T10:{n:02d}:00Z",
        "payment_id": f"pay_evo_{n}",
        "customer_id": customer_id,
        "subscription_id": subscription_id,
        "invoice_id": f"inv_evo_{n}",
        "amount": f"{10 + n}.00",
        "currency": "USD",
        "status": "succeeded",
        "payment_method": "card",
        **extra,
    }


DAY_TABLES: dict[TableName, str] = {
    name: spec.range_column
    for name, spec in TABLES.items()
    if spec.layer == "gold" and spec.range_column and spec.range_column != "month_start_date"
}


def _day_tables(spark: SparkSession, settings: Settings, until: dt.date) -> dict[str, DataFrame]:
    lake = Lake(spark, settings)
    return {name: lake.read(name).filter(F.col(col) <= until) for name, col in DAY_TABLES.items()}


def _evolve_payment_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    evolved = replace(payment.SILVER, model=PaymentEventV2)
    types = tuple(evolved if t.event_type == "payment" else t for t in events.SILVER_TYPES)
    monkeypatch.setitem(contracts.EVENT_MODELS, "payment", PaymentEventV2)
    monkeypatch.setattr(silver_job, "SILVER_TYPES", types)


def _same(left: DataFrame, right: DataFrame) -> bool:
    return left.exceptAll(right).isEmpty() and right.exceptAll(left).isEmpty()


def test_optional_field_evolves_silver_and_gold(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(lake_root=str(tmp_path / "lake"), freshness_max_hours=24 * 365 * 30)
    store = LocalObjectStore(settings.landing)
    generate(store, tmp_path / "truth", seed=41, start=START, days=DAYS, customers=25)
    run_bronze(spark, settings, store=store)
    run_silver(spark, settings, store=store)
    run_gold(spark, settings)

    lake = Lake(spark, settings)
    silver_path = lake.path("silver.payment")
    old_silver = lake.read("silver.payment").localCheckpoint(eager=True)
    old_columns = old_silver.columns
    assert "discount_code" not in old_columns
    last_day = START + dt.timedelta(days=DAYS - 1)
    old_gold = {
        k: v.localCheckpoint(eager=True) for k, v in _day_tables(spark, settings, last_day).items()
    }
    version_before = lake.version("silver.payment")

    # new events the day after: two carry the new field, two do not
    sub = Lake(spark, settings).read("silver.subscription").first()
    assert sub is not None
    new_day = last_day + dt.timedelta(days=1)
    events = [
        _payment(sub["customer_id"], sub["subscription_id"], new_day, 1, discount_code="SPRING24"),
        _payment(sub["customer_id"], sub["subscription_id"], new_day, 2, discount_code="VIP"),
        _payment(sub["customer_id"], sub["subscription_id"], new_day, 3),
        _payment(sub["customer_id"], sub["subscription_id"], new_day, 4),
    ]
    received_at = dt.datetime.combine(new_day, dt.time(12), dt.UTC)
    store.put_if_absent(
        event_key("payment", received_at, "api", "evolution"),
        b"\n".join(json.dumps(e).encode() for e in events) + b"\n",
    )
    store.put_if_absent(
        reference_key("fx_rates", "fx-evolution"),
        f"rate_date,currency,rate_to_usd\n{new_day.isoformat()},USD,1.000000\n".encode(),
    )

    _evolve_payment_contract(monkeypatch)
    run_bronze(spark, settings, store=store)
    summary = run_silver(spark, settings, store=store)
    assert summary["payment"]["valid"] == 4
    gold = run_gold(spark, settings)
    assert not gold.get("skipped")

    # Silver gained the column: values for new rows, nulls for the rest
    silver_df = lake.read("silver.payment")
    assert dict(silver_df.dtypes)["discount_code"] == "string"
    codes = {
        r["payment_id"]: r["discount_code"]
        for r in silver_df.filter(F.col("payment_id").startswith("pay_evo_")).collect()
    }
    assert codes == {
        "pay_evo_1": "SPRING24",
        "pay_evo_2": "VIP",
        "pay_evo_3": None,
        "pay_evo_4": None,
    }
    assert silver_df.filter(
        ~F.col("payment_id").startswith("pay_evo_") & F.col("discount_code").isNotNull()
    ).isEmpty()

    # earlier Silver rows unchanged (every old column, every old row)
    assert _same(
        silver_df.filter(~F.col("payment_id").startswith("pay_evo_")).select(*old_columns),
        old_silver,
    )

    # Gold rebuilt fine: earlier dates identical, the new day counted
    for name, before in old_gold.items():
        assert _same(_day_tables(spark, settings, last_day)[name], before), name
    revenue = lake.read("gold.revenue_daily")
    new_rows = (
        revenue.filter(F.col("revenue_date") == new_day)
        .agg(F.sum("payments"), F.sum("gross_usd"))
        .first()
    )
    assert new_rows is not None and new_rows[0] == 4
    assert float(new_rows[1]) == 11 + 12 + 13 + 14

    # Delta history shows the schema change: the append commit carries new metadata
    history = DeltaTable.forPath(spark, silver_path).history().orderBy("version").collect()
    evolved = [h for h in history if h["version"] > (version_before or 0)]
    assert [h["operation"] for h in evolved] == ["WRITE"]
    version = evolved[0]["version"]
    assert "discount_code" not in lake.read("silver.payment", version - 1).columns
    assert "discount_code" in lake.read("silver.payment", version).columns
    log_file = Path(silver_path) / "_delta_log" / f"{version:020d}.json"
    actions = [json.loads(line) for line in log_file.read_text().splitlines()]
    schemas = [a["metaData"]["schemaString"] for a in actions if "metaData" in a]
    assert len(schemas) == 1
    fields = {f["name"]: f for f in json.loads(schemas[0])["fields"]}
    assert fields["discount_code"]["type"] == "string" and fields["discount_code"]["nullable"]
