"""`finlake ingest`: content-addressed, write-once copies of batch files (local store)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bronze.landing import parse_event_key
from bronze.objectstore import LocalObjectStore
from jobs.cli import main
from jobs.ingest import UnsupportedFile, ingest_file, marker_key


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    """An empty local landing zone."""
    return LocalObjectStore(tmp_path / "landing")


def test_each_format_keeps_its_bytes_and_extension(store: LocalObjectStore, tmp_path: Path) -> None:
    jsonl = tmp_path / "usage.jsonl"
    jsonl.write_text('{"metric": "api_calls", "quantity": 1.5}\n')
    csv = tmp_path / "usage.csv"
    csv.write_text("metric,quantity\napi_calls,2\n")
    parquet = tmp_path / "usage.parquet"
    pq.write_table(pa.table({"metric": ["api_calls"], "quantity": [3]}), parquet)

    results = [ingest_file(store, path, "usage") for path in (jsonl, csv, parquet)]

    assert [parse_event_key(r.object_key).ext for r in results] == ["jsonl", "csv", "parquet"]
    for path, result in zip((jsonl, csv, parquet), results, strict=True):
        assert result.outcome == "landed"
        assert store.get(result.object_key) == path.read_bytes()
        assert parse_event_key(result.object_key).object_id == result.sha256
        assert parse_event_key(result.object_key).source == "batch"


def test_second_ingest_of_same_content_is_a_noop(store: LocalObjectStore, tmp_path: Path) -> None:
    original = tmp_path / "a.csv"
    original.write_text("cost_id,amount\nc-1,-3.2500\n")
    renamed_copy = tmp_path / "b.csv"
    renamed_copy.write_bytes(original.read_bytes())

    first = ingest_file(store, original, "operational_cost")
    second = ingest_file(store, renamed_copy, "operational_cost")

    assert second.outcome == "already_ingested"
    assert second.object_key == first.object_key
    assert list(store.list("events/")) == [first.object_key]


def test_marker_without_data_is_completed_once(store: LocalObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "p.jsonl"
    source.write_text('{"payment_id": "p"}\n')
    first = ingest_file(store, source, "payment")
    Path(store.uri(first.object_key)).unlink()  # simulate a run that died after the marker

    redo = ingest_file(store, source, "payment")

    assert redo.outcome == "completed"
    assert redo.object_key == first.object_key
    assert store.get(first.object_key) == source.read_bytes()
    assert json.loads(store.get(marker_key(first.sha256)))["object_key"] == first.object_key


@pytest.mark.parametrize(
    ("name", "content"),
    [("x.txt", b"a"), ("x.parquet", b"not parquet"), ("x.jsonl", b"[1]\n"), ("x.csv", b"  \n")],
)
def test_unsupported_files_are_refused(
    store: LocalObjectStore, tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnsupportedFile):
        ingest_file(store, path, "usage")
    assert list(store.list()) == []


def test_cli_reports_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "u.jsonl"
    source.write_text('{"metric": "storage_gb"}\n')
    landing = str(tmp_path / "cli-landing")
    args = ["ingest", str(source), "--type", "usage", "--landing", landing]

    assert main(args) == 0
    assert main(args) == 0
    missing = [*args[:1], str(source), str(tmp_path / "missing.csv"), *args[2:]]
    assert main(missing) == 2  # a usage error, found before anything lands

    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert out[0].startswith("[1/1] landed")
    assert out[1].startswith("[1/1] skipped") and "already ingested" in out[1]
    assert len(out) == 2
    assert "missing.csv does not exist" in captured.err
    assert len(list(LocalObjectStore(landing).list("events/"))) == 1


def test_historical_files_land_as_a_history_load(store: LocalObjectStore, tmp_path: Path) -> None:
    path = tmp_path / "subscriptions.jsonl"
    path.write_text('{"event_id": "x"}\n')
    result = ingest_file(store, path, "subscription", historical=True)
    assert parse_event_key(result.object_key).source == "backfill"


def test_reference_files_are_validated_before_they_land(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    good = tmp_path / "fx.csv"
    good.write_text("rate_date,currency,rate_to_usd\n2026-01-02,EUR,1.1\n")
    result = ingest_file(store, good, "fx_rates")
    assert result.object_key.startswith("reference/fx_rates/")
    assert result.object_key.endswith(f"_batch_{result.sha256}.csv")
    assert store.get(result.object_key) == good.read_bytes()

    bad = tmp_path / "plans.csv"
    bad.write_text(
        "plan_id,plan_name,tier,billing_period,currency,list_price\npro,Pro,pro,monthly,USD,-1\n"
    )
    with pytest.raises(UnsupportedFile, match=r"plans.csv line 2, field 'list_price'"):
        ingest_file(store, bad, "plans")
    assert list(store.list("reference/plans/")) == []
    with pytest.raises(UnsupportedFile, match="--historical applies to event files"):
        ingest_file(store, good, "fx_rates", historical=True)


def test_cli_refuses_a_bad_reference_file_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from conf.settings import get_settings

    monkeypatch.setenv("FINLAKE_LAKE_ROOT", str(tmp_path / "lake"))
    get_settings.cache_clear()
    bad = tmp_path / "fx.csv"
    bad.write_text("rate_date,currency,rate_to_usd\n2026-01-02,EUR,abc\n")
    assert main(["ingest", str(bad), "--type", "fx_rates"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "fx.csv line 2, field 'rate_to_usd'" in out[0]
    get_settings.cache_clear()
