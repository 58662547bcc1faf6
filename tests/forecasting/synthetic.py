"""Tiny synthetic Gold facts (revenue_daily, mrr_daily) with weekly seasonality and trend.

Two regions x two plans every day; optionally a `legacy_monthly` plan sold only in NA that
stops after `legacy_last_day` (no rows afterwards: no revenue, no active subscription), and
days without any row at all (`no_rows_days`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np

REGIONS: tuple[str, ...] = ("EMEA", "NA")
PLANS: tuple[str, ...] = ("basic_monthly", "pro_monthly")
LEGACY_PLAN = "legacy_monthly"


def revenue_rows(
    start: dt.date,
    days: int,
    seed: int = 7,
    gaps: tuple[int, ...] = (40, 41),
    legacy_last_day: int | None = None,
    no_rows_days: tuple[int, ...] = (),
) -> list[tuple[dt.date, str, str, Decimal]]:
    """`(revenue_date, region, plan_id, net_usd)`; `gaps` are days missing for EMEA/basic."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[dt.date, str, str, Decimal]] = []
    for r_i, region in enumerate(REGIONS):
        for p_i, plan in enumerate(PLANS):
            level = 1000.0 * (1 + r_i) * (1 + 2 * p_i)
            for day in range(days):
                if region == "EMEA" and plan == "basic_monthly" and day in gaps:
                    continue
                weekly = 0.15 * level * np.sin(2 * np.pi * day / 7 + r_i)
                value = level + 2.0 * day * (1 + p_i) + weekly + rng.normal(0, 0.03 * level)
                rows.append(
                    (
                        start + dt.timedelta(days=day),
                        region,
                        plan,
                        Decimal(f"{value:.4f}"),
                    )
                )
    if legacy_last_day is not None:
        legacy_rng = np.random.default_rng(seed + 1)
        for day in range(min(days, legacy_last_day + 1)):
            value = 400.0 + 40.0 * np.sin(2 * np.pi * day / 7) + legacy_rng.normal(0, 10)
            rows.append(
                (start + dt.timedelta(days=day), "NA", LEGACY_PLAN, Decimal(f"{value:.4f}"))
            )
    return [r for r in rows if (r[0] - start).days not in no_rows_days]


def mrr_rows(
    start: dt.date,
    days: int,
    seed: int = 11,
    no_rows_days: tuple[int, ...] = (),
    legacy_last_day: int | None = None,
) -> list[tuple[dt.date, str, str, str, Decimal, int, int]]:
    """MRR_DAILY rows (one segment); a day in `no_rows_days` has no active subscription."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[dt.date, str, str, str, Decimal, int, int]] = []
    for r_i, region in enumerate(REGIONS):
        for p_i, plan in enumerate(PLANS):
            base = 200 * (1 + r_i) + 100 * p_i
            for day in range(days):
                weekly = 6 * np.sin(2 * np.pi * day / 7)
                subs = round(float(base + 0.8 * day + weekly + rng.normal(0, 2)))
                if day in no_rows_days:
                    continue
                rows.append(
                    (
                        start + dt.timedelta(days=day),
                        region,
                        plan,
                        "smb",
                        Decimal(subs * 49),
                        subs,
                        max(1, subs // 2),
                    )
                )
    if legacy_last_day is not None:
        for day in range(min(days, legacy_last_day + 1)):
            subs = 60 - day // 10  # slowly shrinking until it is retired
            legacy = (start + dt.timedelta(days=day), "NA", LEGACY_PLAN, "smb")
            rows.append((*legacy, Decimal(subs * 29), subs, subs))
    return rows
