"""Which dates a Gold run rebuilds: incremental, backfill (whole months) and full."""

from __future__ import annotations

import datetime as dt

from gold.plan import GoldRange, PendingRun, dim_time_bounds, month_end, plan_range

D = dt.date
START, AS_OF = D(2026, 1, 5), D(2026, 4, 20)


def test_first_run_is_full() -> None:
    rng = plan_range(
        data_start=START, as_of=AS_OF, published_end=None, pending=[PendingRun("s1", START, AS_OF)]
    )
    assert rng == GoldRange(START, AS_OF, True, ("s1",))


def test_incremental_starts_at_the_earliest_pending_date_and_consumes_all() -> None:
    pending = [
        PendingRun("late", D(2026, 3, 2), D(2026, 3, 2)),
        PendingRun("new", D(2026, 4, 20), D(2026, 4, 20)),
    ]
    rng = plan_range(data_start=START, as_of=AS_OF, published_end=D(2026, 4, 19), pending=pending)
    assert rng == GoldRange(D(2026, 3, 2), AS_OF, False, ("late", "new"))
    assert rng is not None and rng.month_start == D(2026, 3, 1)


def test_quiet_day_still_advances_to_the_as_of_date() -> None:
    rng = plan_range(data_start=START, as_of=AS_OF, published_end=D(2026, 4, 18), pending=[])
    assert rng == GoldRange(D(2026, 4, 19), AS_OF, False, ())
    assert plan_range(data_start=START, as_of=AS_OF, published_end=AS_OF, pending=[]) is None


def test_backfill_rebuilds_whole_months_and_consumes_only_what_it_covered() -> None:
    pending = [
        PendingRun("inside", D(2026, 2, 3), D(2026, 2, 20)),
        PendingRun("straddles", D(2026, 2, 25), D(2026, 3, 3)),
        PendingRun("later", D(2026, 4, 2), D(2026, 4, 2)),
    ]
    rng = plan_range(
        data_start=START,
        as_of=AS_OF,
        published_end=AS_OF,
        pending=pending,
        start=D(2026, 2, 10),
        end=D(2026, 2, 12),
    )
    assert rng == GoldRange(D(2026, 2, 1), D(2026, 2, 28), False, ("inside",))


def test_backfill_is_capped_by_the_data() -> None:
    rng = plan_range(
        data_start=START,
        as_of=AS_OF,
        published_end=AS_OF,
        pending=[],
        start=D(2025, 6, 1),
        end=D(2026, 9, 1),
    )
    assert rng == GoldRange(START, AS_OF, False, ())
    assert (
        plan_range(
            data_start=START,
            as_of=AS_OF,
            published_end=AS_OF,
            pending=[],
            start=D(2026, 6, 1),
            end=D(2026, 7, 1),
        )
        is None
    )


def test_full_rebuild_and_calendar_bounds() -> None:
    rng = plan_range(data_start=START, as_of=AS_OF, published_end=AS_OF, pending=[], full=True)
    assert rng == GoldRange(START, AS_OF, True, ())
    assert month_end(D(2024, 2, 10)) == D(2024, 2, 29)
    assert dim_time_bounds(START, AS_OF, 30) == (START, AS_OF + dt.timedelta(days=396))
