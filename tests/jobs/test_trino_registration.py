"""Registration waits out Trino's post-start window where scans find no node (no server here)."""

from __future__ import annotations

from typing import Any

import pytest
from trino.exceptions import TrinoQueryError

from jobs.trino import registration


class _Cursor:
    """A DB-API cursor stand-in that fails its first `failures` statements with `error`."""

    def __init__(self, failures: int, error: str = "NO_NODES_AVAILABLE") -> None:
        self.failures = failures
        self.error = error
        self.statements: list[str] = []

    def execute(self, sql: str, params: Any = None) -> None:
        self.statements.append(sql)
        if len(self.statements) <= self.failures:
            raise TrinoQueryError({"errorName": self.error, "message": "no nodes"})

    def fetchall(self) -> list[list[int]]:
        return [[1]]


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registration.time, "sleep", lambda _s: None)


def test_no_nodes_is_retried_until_a_scan_schedules() -> None:
    cursor = _Cursor(failures=3)
    registration.wait_schedulable(cursor, "delta", "gold.mrr_daily")
    assert len(cursor.statements) == 4
    assert cursor.statements[-1] == (
        'SELECT count(*) FROM (SELECT 1 FROM "delta"."gold"."mrr_daily" LIMIT 1)'
    )


def test_other_errors_are_raised_at_once() -> None:
    cursor = _Cursor(failures=1, error="TABLE_NOT_FOUND")
    with pytest.raises(TrinoQueryError, match="TABLE_NOT_FOUND"):
        registration.wait_schedulable(cursor, "delta", "gold.mrr_daily")
    assert len(cursor.statements) == 1


def test_no_nodes_past_the_deadline_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registration, "SCHEDULABLE_TIMEOUT_S", -1.0)
    with pytest.raises(TrinoQueryError, match="NO_NODES_AVAILABLE"):
        registration.wait_schedulable(_Cursor(failures=99), "delta", "gold.mrr_daily")
