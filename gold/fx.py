"""USD conversion for Gold: the FX rate in force on a date, MRR and amounts in USD.

Rates come from `silver.fx_rates` as a dense as-of table (`silver.reference.to_fx_daily`): a
date converts at the latest rate published on or before it; USD converts at 1. Money is
decimal(18,4), rounded half-up once, at the end, from the exact product.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

MONEY = "decimal(18,4)"
_PRICE = "decimal(18,4)"
_RATE = "decimal(28,24)"  # rates below 10,000 USD per unit, 24 decimals


def to_usd(amount: Column, rate: Column) -> Column:
    """round_half_up(amount x rate, 4) as decimal(18,4).

    decimal(18,4) x decimal(28,24) keeps 19 exact decimals before the rounding to 4 (Spark
    trims the 28 product decimals to fit 38 digits), so the result equals exact arithmetic.
    """
    return F.round(amount.cast(MONEY) * rate.cast(_RATE), 4).cast(MONEY)


def mrr_usd(quantity: Column, unit_price: Column, billing_period: Column, rate: Column) -> Column:
    """round_half_up(quantity x unit_price x rate / (12 if annual), 4) as decimal(18,4)."""
    per_period = (quantity.cast("decimal(12,0)") * unit_price.cast(_PRICE)).cast(_PRICE)
    usd = per_period * rate.cast(_RATE)
    monthly = F.when(billing_period == "annual", usd / F.lit(12)).otherwise(usd)
    return F.round(monthly, 4).cast(MONEY)
