"""Tiny synthetic Gold facts (revenue_daily, mrr_daily) with weekly seasonality and trend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np

REGIONS: tuple[str, ...] = ("EMEA", "NA")
PLANS: tuple[str, ...] = ("basic_monthly", "pro_monthly")


def revenue_rows(
    start: dt.date, days: int, seed: int = 7, gaps: tuple[int, ...] = (40, 41)
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
    return rows


def mrr_rows(
    start: dt.date, days: int, seed: int = 11, gaps: tuple[int, ...] = (50,)
) -> list[tuple[dt.date, str, str, str, Decimal, int, int]]:
    """MRR_DAILY rows; `gaps` are days with no snapshot at all (carry-forward expected)."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[dt.date, str, str, str, Decimal, int, int]] = []
    for r_i, region in enumerate(REGIONS):
        for p_i, plan in enumerate(PLANS):
            base = 200 * (1 + r_i) + 100 * p_i
            for day in range(days):
                if day in gaps:
                    continue
                weekly = 6 * np.sin(2 * np.pi * day / 7)
                subs = round(float(base + 0.8 * day + weekly + rng.normal(0, 2)))
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
    return rows
