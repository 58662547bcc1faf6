"""Day one of a real business: load four months of history the documented way, defaults only.

`finlake ingest plans.csv --type plans`, `... fx.csv --type fx_rates` (weekday rates only, as
ECB publishes), `... subscriptions.jsonl --type subscription --historical`,
`... payments.jsonl --type payment --historical`, then `finlake run all`, each as a real
subprocess with default settings. Every expected number below is derived by hand from the
definitions in DESIGN.md section 4 (not computed by any finlake code):

FX: EUR 1.10 (Jan), 1.08 (Feb), 1.09 (Mar), 1.11 (Apr); GBP 1.27 (Jan-Feb), 1.25 (Mar-Apr);
weekdays only, Jan 1 to Apr 30 2026.

- c1 (NA, USD): pro 2 x 99 = 198 from Jan 5; upgraded Feb 20 to enterprise 2 x 499 = 998.
- c2 (EMEA, EUR): pro 92 EUR from Saturday Jan 10 at Friday's 1.10 = 101.20; cancellation
  announced Mar 15, effective May 31 (after the last published rate: needs none).
- c3 (EMEA, GBP): pro 79 GBP from Feb 2 at 1.27 = 100.33; moves to NA on Mar 2, repriced at
  1.25 = 98.75; a downgrade to 23 GBP scheduled for Jun 1, after the last GBP rate: accepted,
  converted at the rate in force on Jun 1 (Apr 30's 1.25) = 28.75.
- c4 (NA, USD): starter 29 from Mar 3, cancelled Mar 20: a new and a churn movement, no logo
  churn.
Payments: refunds belong to the refunded payment (plan, region, rate): c1's Feb 5 payment
(pro) is half refunded on Feb 25 after the upgrade; c2's Feb 10 payment (1.08) is refunded on
Mar 2 (1.09 that day) at 99.36.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from conf.settings import Settings
from jobs.lake import Lake

pytestmark = pytest.mark.integration

EUR = {1: "1.10", 2: "1.08", 3: "1.09", 4: "1.11"}
GBP = {1: "1.27", 2: "1.27", 3: "1.25", 4: "1.25"}
PLANS = [
    ("starter_monthly", "Starter", "starter", "monthly", "USD", "29.00"),
    ("pro_monthly", "Pro", "pro", "monthly", "USD", "99.00"),
    ("enterprise_monthly", "Enterprise", "enterprise", "monthly", "USD", "499.00"),
]
COUNTRY = {"NA": "US", "EMEA": "DE"}


def _sub(
    customer: str,
    action: str,
    at: str,
    plan: str,
    qty: int,
    price: str,
    currency: str,
    region: str,
    **extra: Any,
) -> dict[str, Any]:
    number = customer[1:]
    digest = hashlib.sha256(f"{customer}|{action}|{at}".encode()).hexdigest()[:12]
    return {
        "event_id": f"00000000-0000-4000-8000-{digest}",
        "event_time": at,
        "subscription_id": f"s{number}",
        "customer_id": customer,
        "plan_id": plan,
        "action": action,
        "quantity": qty,
        "unit_price": price,
        "currency": currency,
        "billing_period": "monthly",
        "region": region,
        "customer_segment": extra.pop("segment", "smb"),
        "customer_country": extra.pop("country", COUNTRY[region]),
        **extra,
    }


def _pay(
    n: int, customer: str, invoice: str, amount: str, currency: str, status: str, at: str
) -> dict[str, Any]:
    return {
        "event_id": f"00000000-0000-4000-9000-{n:012d}",
        "event_time": at,
        "payment_id": f"p{n}",
        "customer_id": customer,
        "subscription_id": f"s{customer[1:]}",
        "invoice_id": invoice,
        "amount": amount,
        "currency": currency,
        "status": status,
        "payment_method": "card",
    }


SUBSCRIPTIONS = [
    _sub("c1", "activated", "2026-01-05T10:00:00Z", "pro_monthly", 2, "99.00", "USD", "NA"),
    _sub("c2", "activated", "2026-01-10T09:00:00+01:00", "pro_monthly", 1, "92.00", "EUR", "EMEA"),
    _sub(
        "c3",
        "activated",
        "2026-02-02T12:00:00Z",
        "pro_monthly",
        1,
        "79.00",
        "GBP",
        "EMEA",
        country="GB",
    ),
    _sub(
        "c1",
        "upgraded",
        "2026-02-20T15:00:00Z",
        "enterprise_monthly",
        2,
        "499.00",
        "USD",
        "NA",
        segment="mid_market",
    ),
    _sub("c3", "renewed", "2026-03-02T12:00:00Z", "pro_monthly", 1, "79.00", "GBP", "NA"),
    _sub("c4", "activated", "2026-03-03T12:00:00Z", "starter_monthly", 1, "29.00", "USD", "NA"),
    _sub(
        "c2",
        "cancelled",
        "2026-03-15T12:00:00Z",
        "pro_monthly",
        1,
        "92.00",
        "EUR",
        "EMEA",
        effective_date="2026-05-31",
        cancel_reason="voluntary",
    ),
    _sub(
        "c4",
        "cancelled",
        "2026-03-20T12:00:00Z",
        "starter_monthly",
        1,
        "29.00",
        "USD",
        "NA",
        cancel_reason="voluntary",
    ),
    _sub(
        "c3",
        "downgraded",
        "2026-04-20T12:00:00Z",
        "starter_monthly",
        1,
        "23.00",
        "GBP",
        "NA",
        effective_date="2026-06-01",
    ),
]
PAYMENTS = [
    _pay(1, "c1", "inv1", "198.00", "USD", "succeeded", "2026-01-05T10:05:00Z"),
    _pay(2, "c2", "inv2", "92.00", "EUR", "succeeded", "2026-01-10T08:05:00Z"),
    _pay(3, "c3", "inv3", "79.00", "GBP", "succeeded", "2026-02-02T12:05:00Z"),
    _pay(4, "c1", "inv4", "198.00", "USD", "succeeded", "2026-02-05T10:05:00Z"),
    _pay(5, "c2", "inv5", "92.00", "EUR", "succeeded", "2026-02-10T08:05:00Z"),
    _pay(6, "c1", "inv4", "99.00", "USD", "refunded", "2026-02-25T10:00:00Z"),
    _pay(7, "c2", "inv5", "92.00", "EUR", "refunded", "2026-03-02T09:00:00Z"),
    _pay(8, "c3", "inv8", "79.00", "GBP", "succeeded", "2026-03-02T12:05:00Z"),
    _pay(9, "c1", "inv9", "998.00", "USD", "succeeded", "2026-03-05T10:05:00Z"),
    _pay(10, "c4", "inv10", "29.00", "USD", "succeeded", "2026-03-03T12:05:00Z"),
    _pay(11, "c2", "inv11", "92.00", "EUR", "succeeded", "2026-03-10T08:05:00Z"),
    _pay(12, "c1", "inv12", "998.00", "USD", "failed", "2026-04-05T10:05:00Z"),
    _pay(13, "c1", "inv12", "998.00", "USD", "succeeded", "2026-04-08T10:05:00Z"),
    _pay(14, "c3", "inv14", "79.00", "GBP", "succeeded", "2026-04-02T12:05:00Z"),
    _pay(15, "c2", "inv15", "92.00", "EUR", "succeeded", "2026-04-10T08:05:00Z"),
]


def _weekdays() -> Iterator[dt.date]:
    day = dt.date(2026, 1, 1)
    while day <= dt.date(2026, 4, 30):
        if day.weekday() < 5:
            yield day
        day += dt.timedelta(days=1)


def _write_inputs(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        name: folder / name
        for name in ("plans.csv", "fx.csv", "subscriptions.jsonl", "payments.jsonl")
    }
    with paths["plans.csv"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["plan_id", "plan_name", "tier", "billing_period", "currency", "list_price"]
        )
        writer.writerows(PLANS)
    with paths["fx.csv"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rate_date", "currency", "rate_to_usd"])
        for day in _weekdays():
            writer.writerow([day.isoformat(), "EUR", EUR[day.month]])
            writer.writerow([day.isoformat(), "GBP", GBP[day.month]])
    paths["subscriptions.jsonl"].write_text("".join(json.dumps(e) + "\n" for e in SUBSCRIPTIONS))
    paths["payments.jsonl"].write_text("".join(json.dumps(e) + "\n" for e in PAYMENTS))
    return paths


def finlake(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the `finlake` CLI as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "jobs.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _env(lake_root: Path) -> dict[str, str]:
    drop = ("FINLAKE_ENV", "FINLAKE_API_KEYS", "FINLAKE_LAKE_ROOT", "FINLAKE_LANDING_ROOT")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["FINLAKE_LAKE_ROOT"] = str(lake_root)
    return env


@pytest.fixture(scope="module")
def history_lake(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A fresh lake loaded with the four documented commands and `finlake run all`."""
    root = tmp_path_factory.mktemp("history")
    paths = _write_inputs(root / "files")
    env = _env(root / "lake")
    for args in (
        ("ingest", str(paths["plans.csv"]), "--type", "plans"),
        ("ingest", str(paths["fx.csv"]), "--type", "fx_rates"),
        ("ingest", str(paths["subscriptions.jsonl"]), "--type", "subscription", "--historical"),
        ("ingest", str(paths["payments.jsonl"]), "--type", "payment", "--historical"),
        ("run", "all"),
    ):
        done = finlake(env, *args)
        assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    return Settings(lake_root=str(root / "lake"))


def _mrr(spark: SparkSession, settings: Settings) -> dict[tuple[dt.date, str], tuple[Decimal, int]]:
    rows = (
        Lake(spark, settings)
        .read("gold.mrr_daily")
        .groupBy("metric_date", "region")
        .agg(F.sum("mrr_usd"), F.sum("active_subscriptions"))
        .collect()
    )
    return {(r[0], r[1]): (r[2], int(r[3])) for r in rows}


def _d(text: str) -> Decimal:
    return Decimal(text).quantize(Decimal("0.0001"))


def test_daily_mrr_by_hand(spark: SparkSession, history_lake: Settings) -> None:
    mrr = _mrr(spark, history_lake)
    expected = {
        (dt.date(2026, 1, 10), "EMEA"): ("101.20", 1),  # Saturday: Friday's EUR rate
        (dt.date(2026, 1, 31), "NA"): ("198", 1),
        (dt.date(2026, 1, 31), "EMEA"): ("101.20", 1),
        (dt.date(2026, 2, 28), "NA"): ("998", 1),
        (dt.date(2026, 2, 28), "EMEA"): ("201.53", 2),
        (dt.date(2026, 3, 10), "NA"): ("1125.75", 3),
        (dt.date(2026, 3, 31), "NA"): ("1096.75", 2),
        (dt.date(2026, 3, 31), "EMEA"): ("101.20", 1),
        (dt.date(2026, 5, 30), "EMEA"): ("101.20", 1),
        (dt.date(2026, 6, 1), "NA"): ("1026.75", 2),  # scheduled downgrade at Apr 30's rate
    }
    for key, (value, active) in expected.items():
        assert mrr[key] == (_d(value), active), key
    assert (dt.date(2026, 5, 31), "EMEA") not in mrr  # the scheduled cancellation applied
    today = max(day for day, _ in mrr)
    assert today == dt.datetime.now(dt.UTC).date()  # runs through the as-of date (arrival)
    assert mrr[(today, "NA")] == (_d("1026.75"), 2)  # quiet days carry the state


def test_movements_with_transfer_by_hand(spark: SparkSession, history_lake: Settings) -> None:
    rows = {
        (r["month_start_date"], r["region"]): r
        for r in Lake(spark, history_lake).read("gold.mrr_movements_monthly").collect()
    }
    columns = (
        "opening",
        "new",
        "expansion",
        "contraction",
        "churn",
        "reactivation",
        "transfer",
        "closing",
    )
    expected = {
        (dt.date(2026, 1, 1), "NA"): ("0", "198", "0", "0", "0", "0", "0", "198"),
        (dt.date(2026, 1, 1), "EMEA"): ("0", "101.20", "0", "0", "0", "0", "0", "101.20"),
        (dt.date(2026, 2, 1), "NA"): ("198", "0", "800", "0", "0", "0", "0", "998"),
        (dt.date(2026, 2, 1), "EMEA"): ("101.20", "100.33", "0", "0", "0", "0", "0", "201.53"),
        (dt.date(2026, 3, 1), "NA"): ("998", "29", "0", "-1.58", "-29", "0", "100.33", "1096.75"),
        (dt.date(2026, 3, 1), "EMEA"): ("201.53", "0", "0", "0", "0", "0", "-100.33", "101.20"),
        (dt.date(2026, 5, 1), "EMEA"): ("101.20", "0", "0", "0", "-101.20", "0", "0", "0"),
        (dt.date(2026, 6, 1), "NA"): ("1096.75", "0", "0", "-70", "0", "0", "0", "1026.75"),
    }
    for key, values in expected.items():
        got = tuple(rows[key][f"{c}_mrr_usd"] for c in columns)
        assert got == tuple(_d(v) for v in values), key


def test_churn_grr_nrr_by_hand(spark: SparkSession, history_lake: Settings) -> None:
    rows = {
        (r["month_start_date"], r["region"]): r
        for r in Lake(spark, history_lake).read("gold.churn_monthly").collect()
    }
    march_emea = rows[(dt.date(2026, 3, 1), "EMEA")]
    assert (march_emea["opening_customers"], march_emea["churned_customers"]) == (2, 0)
    assert march_emea["retained_mrr_usd"] == _d("199.95")
    assert march_emea["grr"] == pytest.approx(199.95 / 201.53)
    assert march_emea["nrr"] == pytest.approx(199.95 / 201.53)
    march_na = rows[(dt.date(2026, 3, 1), "NA")]  # c4 joined and left: no logo churn
    assert (march_na["opening_customers"], march_na["logo_churn_rate"]) == (1, 0.0)
    may_emea = rows[(dt.date(2026, 5, 1), "EMEA")]
    assert (may_emea["churned_customers"], may_emea["voluntary_churned_customers"]) == (1, 1)
    assert (may_emea["logo_churn_rate"], may_emea["grr"], may_emea["nrr"]) == (1.0, 0.0, 0.0)
    assert rows[(dt.date(2026, 2, 1), "NA")]["nrr"] == pytest.approx(998 / 198)


def test_revenue_by_hand(spark: SparkSession, history_lake: Settings) -> None:
    lake = Lake(spark, history_lake)
    by_plan = {
        (r[0], r[1]): r[2]
        for r in lake.read("gold.revenue_daily")
        .groupBy(F.trunc("revenue_date", "month"), "plan_id")
        .agg(F.sum("net_usd"))
        .collect()
    }
    assert by_plan == {
        (dt.date(2026, 1, 1), "pro_monthly"): _d("299.20"),
        (dt.date(2026, 2, 1), "pro_monthly"): _d("298.69"),  # refund on pro, not enterprise
        (dt.date(2026, 3, 1), "pro_monthly"): _d("99.67"),
        (dt.date(2026, 3, 1), "starter_monthly"): _d("29"),
        (dt.date(2026, 3, 1), "enterprise_monthly"): _d("998"),
        (dt.date(2026, 4, 1), "pro_monthly"): _d("200.87"),
        (dt.date(2026, 4, 1), "enterprise_monthly"): _d("998"),
    }
    daily = {
        (r["revenue_date"], r["region"]): r
        for r in lake.read("gold.revenue_region_daily").collect()
    }
    march_2_emea = daily[(dt.date(2026, 3, 2), "EMEA")]
    assert march_2_emea["refunds_usd"] == _d("99.36")  # at the refunded payment's rate
    assert daily[(dt.date(2026, 3, 2), "NA")]["net_revenue_usd"] == _d("98.75")  # c3 moved
    assert daily[(dt.date(2026, 4, 5), "NA")]["failed_payments_usd"] == _d("998")
    assert daily[(dt.date(2026, 2, 25), "NA")]["net_revenue_usd"] == _d("-99")


def test_late_fx_rate_restates_the_scheduled_change(
    spark: SparkSession, history_lake: Settings, tmp_path: Path
) -> None:
    """When Jun 1's GBP rate arrives, the downgrade is reconverted and the change is logged."""
    fx = tmp_path / "fx-june.csv"
    fx.write_text("rate_date,currency,rate_to_usd\n2026-06-01,GBP,1.30\n")
    env = _env(Path(history_lake.lake_root))
    for args in (("ingest", str(fx), "--type", "fx_rates"), ("run", "all")):
        done = finlake(env, *args)
        assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    mrr = _mrr(spark, history_lake)
    assert mrr[(dt.date(2026, 6, 1), "NA")] == (_d("1027.90"), 2)  # 998 + 23 x 1.30
    assert mrr[(dt.date(2026, 5, 31), "NA")] == (_d("1096.75"), 2)
    restated = (
        Lake(spark, history_lake)
        .read("ops.restatements")
        .filter((F.col("metric") == "mrr_usd") & (F.col("metric_date") == dt.date(2026, 6, 1)))
    )
    row = restated.first()
    assert row is not None and (row["old_value"], row["new_value"]) == ("1026.7500", "1027.9000")


def test_history_without_historical_flag_fails_with_the_cause(tmp_path: Path) -> None:
    """All rows too late: the run fails (DQ exit code) naming the reason and the fix."""
    paths = _write_inputs(tmp_path / "files")
    env = _env(tmp_path / "lake")
    for args in (
        ("ingest", str(paths["plans.csv"]), "--type", "plans"),
        ("ingest", str(paths["fx.csv"]), "--type", "fx_rates"),
        ("ingest", str(paths["subscriptions.jsonl"]), "--type", "subscription"),
    ):
        assert finlake(env, *args).returncode == 0
    done = finlake(env, "run", "all")
    assert done.returncode == 4, (done.stdout[-2000:], done.stderr[-2000:])
    output = done.stdout + done.stderr
    assert "9 of 9 rows quarantined" in output
    assert "too_late 9" in output and "--historical" in output
