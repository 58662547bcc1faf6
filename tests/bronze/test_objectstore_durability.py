"""The local store fsyncs every folder it creates and every new entry before acknowledging."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bronze.landing import event_key
from bronze.objectstore import LocalObjectStore


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """Paths passed to os.fsync (the real fsync still runs: this only records its target)."""
    paths: list[Path] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        paths.append(Path(os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    yield paths


def test_a_new_received_date_folder_is_made_durable(tmp_path: Path, synced: list[Path]) -> None:
    store = LocalObjectStore(tmp_path / "landing")
    received_at = dt.datetime(2026, 11, 25, 10, 15, tzinfo=dt.UTC)
    key = event_key("usage", received_at, "api", "a1")

    assert store.put_if_absent(key, b"{}\n")

    target = store.root / key
    day = target.parent
    assert day.name == "received_date=2026-11-25"
    # the object's bytes, then every created folder's entry in its parent, then the object's
    for folder in (store.root, day.parent.parent, day.parent, day):
        assert folder.parent in synced, f"entry of {folder} in {folder.parent} not fsynced"
    assert synced[-1] == day  # the object's own entry is synced last, before acknowledging
    assert any(p.name.startswith(".tmp-") for p in synced)  # the data itself


def test_an_existing_folder_only_syncs_the_new_entry(tmp_path: Path, synced: list[Path]) -> None:
    store = LocalObjectStore(tmp_path)
    received_at = dt.datetime(2026, 11, 25, 10, 15, tzinfo=dt.UTC)
    store.put_if_absent(event_key("usage", received_at, "api", "a1"), b"{}\n")
    synced.clear()

    assert store.put_if_absent(event_key("usage", received_at, "api", "a2"), b"{}\n")

    day = (store.root / event_key("usage", received_at, "api", "a2")).parent
    assert [p for p in synced if not p.name.startswith(".tmp-")] == [day]
