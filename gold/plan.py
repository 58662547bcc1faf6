"""Which dates a Gold run rebuilds: incremental, backfill or full (pure planning).

Gold runs through the as-of date (`--until`, else the latest arrival Silver processed), so quiet
days carry state and scheduled changes apply on their date. An incremental run starts at the
earliest business date touched by Silver runs Gold has not consumed yet, or the day after the
last published date; it consumes every pending run. A backfill rebuilds whole months around
`[start, end]` and consumes only the runs whose dates it covered, so later months and pending
late data stay correct. Monthly marts are rebuilt from the first month the range touches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

# dim_time spans the data plus the forecast horizon and a year of planning.
DIM_TIME_PLANNING_DAYS = 366


@dataclass(frozen=True)
class PendingRun:
    """A Silver run whose affected business dates Gold has not consumed yet."""

    run_id: str
    first_date: dt.date
    last_date: dt.date


@dataclass(frozen=True)
class GoldRange:
    """Dates a run rebuilds (`start`..`end` inclusive) and the Silver runs it consumes."""

    start: dt.date
    end: dt.date
    full: bool
    consumed: tuple[str, ...]

    @property
    def month_start(self) -> dt.date:
        """First day of the first month the monthly marts rebuild."""
        return self.start.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    """Last day of `day`'s month."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def plan_range(
    *,
    data_start: dt.date,
    as_of: dt.date,
    published_end: dt.date | None,
    pending: Sequence[PendingRun],
    start: dt.date | None = None,
    end: dt.date | None = None,
    full: bool = False,
) -> GoldRange | None:
    """The range to rebuild, or None when there is nothing to do."""
    every = tuple(sorted(r.run_id for r in pending))
    if full or published_end is None:
        return GoldRange(data_start, as_of, True, every)
    if start is not None or end is not None:
        first = max((start or data_start).replace(day=1), data_start)
        last = min(month_end(end or as_of), as_of)
        if first > last:
            return None
        covered = tuple(
            sorted(r.run_id for r in pending if first <= r.first_date and r.last_date <= last)
        )
        return GoldRange(first, last, False, covered)
    candidates = [published_end + dt.timedelta(days=1), *(r.first_date for r in pending)]
    first = max(min(candidates), data_start)
    if first > as_of:
        return None if not every else GoldRange(as_of, as_of, False, every)
    return GoldRange(first, as_of, False, every)


def dim_time_bounds(
    data_start: dt.date, as_of: dt.date, horizon_days: int
) -> tuple[dt.date, dt.date]:
    """dim_time covers the data and the forecast horizon plus a planning year."""
    return data_start, as_of + dt.timedelta(days=horizon_days + DIM_TIME_PLANNING_DAYS)
