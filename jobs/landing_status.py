"""Landing-zone status for orchestration: objects received on and up to a date (no Spark).

`python -m jobs.landing_status --date 2024-01-31` prints one JSON line with the number of event
objects received that day and on or before it, per event type. Exit 0 when the landing zone is
reachable, 3 when it is not (the store is down): the first task of the daily DAG, so an
unreachable landing zone fails fast instead of inside Spark.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bronze.landing import parse_event_key
from bronze.objectstore import ObjectStore, ObjectStoreUnavailable, make_object_store
from conf.settings import get_settings
from jobs.exit_codes import EXIT_UNAVAILABLE
from jobs.observability import configure_logging


def landing_status(store: ObjectStore, day: dt.date) -> dict[str, Any]:
    """Counts of landing event objects received on `day` and on or before it."""
    on_day: Counter[str] = Counter()
    until_day: Counter[str] = Counter()
    ignored = 0
    for key in store.list("events/"):
        try:
            parsed = parse_event_key(key)
        except ValueError:
            ignored += 1
            continue
        received = parsed.received_at.date()
        if received <= day:
            until_day[parsed.event_type] += 1
        if received == day:
            on_day[parsed.event_type] += 1
    return {
        "date": day.isoformat(),
        "objects_on_date": sum(on_day.values()),
        "objects_until_date": sum(until_day.values()),
        "by_type_on_date": dict(sorted(on_day.items())),
        "ignored_keys": ignored,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: `python -m jobs.landing_status --date DATE`."""
    configure_logging()
    parser = argparse.ArgumentParser(description="landing objects received up to a date")
    parser.add_argument("--date", type=dt.date.fromisoformat, required=True)
    args = parser.parse_args(argv)
    try:
        status = landing_status(make_object_store(get_settings()), args.date)
    except ObjectStoreUnavailable as exc:
        print(json.dumps({"error": f"landing zone unavailable: {exc}"}))
        return EXIT_UNAVAILABLE
    print(json.dumps(status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
