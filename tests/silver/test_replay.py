"""Pure planning of replay objects: grouping, original arrival time, determinism."""

from __future__ import annotations

import datetime as dt

import pytest

from bronze.landing import event_key, parse_event_key
from silver.replay import ReplayTarget, may_change_event_id, plan_replay_objects

T1 = dt.datetime(2024, 1, 5, 23, 59, 59, 999_999, tzinfo=dt.UTC)
T2 = dt.datetime(2024, 1, 6, 23, 59, 59, 999_999, tzinfo=dt.UTC)


def _target(qid: str, received_at: dt.datetime, line: bytes = b'{"a":1}') -> ReplayTarget:
    return ReplayTarget(
        quarantine_id=qid,
        event_type="payment",
        event_id="e",
        source_object_key=event_key("payment", received_at, "batch", "orig"),
        failed_rules=("range:amount",),
        original_payload_hash="h",
        line=line,
        kind="correction",
    )


def test_objects_keep_the_original_arrival_and_are_deterministic() -> None:
    targets = [_target("q2", T1), _target("q1", T1, b'{"b":2}'), _target("q3", T2)]
    objects = plan_replay_objects(targets)
    assert len(objects) == 2
    first = objects[0]
    key = parse_event_key(first.key)
    assert (key.source, key.received_at, key.event_type) == ("replay", T1, "payment")
    assert [line.target.quarantine_id for line in first.lines] == ["q1", "q2"]
    assert [line.line_number for line in first.lines] == [1, 2]
    assert first.content == b'{"b":2}\n{"a":1}\n'
    again = plan_replay_objects(list(reversed(targets)))
    assert [o.key for o in again] == [o.key for o in objects]
    assert {line.replay_id for o in again for line in o.lines} == {
        line.replay_id for o in objects for line in o.lines
    }
    changed = plan_replay_objects([_target("q2", T1, b'{"a":2}'), targets[1]])
    assert changed[0].key != first.key


def test_multi_line_payloads_are_refused() -> None:
    with pytest.raises(ValueError, match="several lines"):
        plan_replay_objects([_target("q1", T1, b'{"a":\n1}')])


def test_event_id_may_change_only_when_it_was_broken() -> None:
    assert may_change_event_id(["format:event_id"])
    assert may_change_event_id(["malformed:invalid_json"])
    assert not may_change_event_id(["range:amount", "ref:customers"])
