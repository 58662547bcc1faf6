"""The uniform shape of Silver's per-type logic: one `SilverEventType` per `silver/<type>.py`.

Each event type declares its contract, the date it changes the books (`books_date`, used for
lateness and for the Gold dates it affects), its reference lookups and, where a rule needs the
batch itself (a refund needs its refunded payment), a batch rule applied after the row rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel
from pyspark.sql import Column, DataFrame

from bronze.contracts import EventType


@dataclass(frozen=True)
class References:
    """Reference frames the rules look up (all small, broadcast in joins)."""

    plans_df: DataFrame
    fx_daily_df: DataFrame
    customers_df: DataFrame
    paid_df: DataFrame
    fx_max_staleness_days: int


def _no_batch_rules(df: DataFrame, refs: References) -> DataFrame:
    return df


@dataclass(frozen=True)
class SilverEventType:
    """Per-type Silver logic behind one signature."""

    event_type: EventType
    model: type[BaseModel]
    books_date: Callable[[], Column]
    with_references: Callable[[DataFrame, References], DataFrame]
    with_batch_rules: Callable[[DataFrame, References], DataFrame] = _no_batch_rules
