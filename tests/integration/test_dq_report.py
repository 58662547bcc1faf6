"""`finlake dq report` over a temporary ops.dq_results / ops.pipeline_runs."""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from conf.settings import Settings, get_settings
from jobs.cli import main
from jobs.dq_report import build_report, data_docs_link
from jobs.lake import Lake
from silver.dq import DQResult

pytestmark = pytest.mark.integration

T0 = dt.datetime(2024, 3, 1, 6, 0, tzinfo=dt.UTC)
OLD, MID, NEW = "silver-old", "silver-mid", "silver-new"
REPO = Path(__file__).resolve().parents[2]
DOCS_PAGE = "file:///lake/_dq/gx/data_docs/validations/silver/payment/silver-new/x/payment.html"


def _dq(run_offset_h: int, **kwargs: object) -> DQResult:
    return DQResult(checked_at=T0 + dt.timedelta(hours=run_offset_h), **kwargs)  # type: ignore[arg-type]


@pytest.fixture()
def lake(spark: SparkSession, tmp_path: Path) -> Settings:
    settings = Settings(lake_root=str(tmp_path / "lake"))
    rows = [
        _dq(
            0,
            table_name="usage",
            check_kind="row_rule",
            rule_name="not_null:metric",
            severity="quarantine",
            status="failed",
            rows_checked=10,
            failed_rows=9,
        ).as_row(OLD),
        _dq(
            1,
            table_name="usage",
            check_kind="row_rule",
            rule_name="not_null:metric",
            severity="quarantine",
            status="passed",
            rows_checked=50,
            failed_rows=0,
        ).as_row(MID),
        _dq(
            2,
            table_name="payment",
            check_kind="row_rule",
            rule_name="range:amount",
            severity="quarantine",
            status="failed",
            rows_checked=1200,
            failed_rows=7,
        ).as_row(NEW),
        _dq(
            2,
            table_name="payment",
            check_kind="row_rule",
            rule_name="not_null:customer_id",
            severity="quarantine",
            status="failed",
            rows_checked=1200,
            failed_rows=2,
        ).as_row(NEW),
        _dq(
            2,
            table_name="payment",
            check_kind="table_check",
            rule_name="freshness",
            severity="critical",
            status="failed",
            observed_value="80.0h",
            threshold="72.0h",
        ).as_row(NEW),
        _dq(
            2,
            table_name="payment",
            check_kind="gx",
            rule_name="gx:expect_column_values_to_be_in_set:status",
            severity="warn",
            status="failed",
            rows_checked=1191,
            failed_rows=1,
            details=json.dumps({"data_docs": DOCS_PAGE}),
        ).as_row(NEW),
        _dq(
            2,
            table_name="usage",
            check_kind="gx",
            rule_name="gx:expect_column_values_to_not_be_null:metric",
            severity="warn",
            status="passed",
            rows_checked=300,
            failed_rows=0,
        ).as_row(NEW),
    ]
    io = Lake(spark, settings)
    io.append("ops.dq_results", spark.createDataFrame(rows, io.schema("ops.dq_results")))
    started = (T0 + dt.timedelta(hours=2)).replace(tzinfo=None)
    run = (
        NEW,
        "silver",
        "failed",
        started,
        started + dt.timedelta(seconds=42),
        42.0,
        1200,
        1191,
        "{}",
        "{}",
        "DQCriticalFailure: freshness",
        None,
    )
    io.append("ops.pipeline_runs", spark.createDataFrame([run], io.schema("ops.pipeline_runs")))
    return settings


def test_report_summarises_the_latest_runs(lake: Settings) -> None:
    text = build_report(lake, runs=2)
    lines = text.splitlines()
    assert lines[0] == "finlake data-quality report: latest 2 run(s)"
    index = (Path(lake.lake_root) / "_dq" / "gx" / "data_docs" / "index.html").as_uri()
    assert lines[1] == f"Data Docs: {index}"
    assert OLD not in text
    assert text.index(f"Run {NEW}") < text.index(f"Run {MID}")
    assert "[silver failed, started 2024-03-01 08:00:00 UTC, 42.0 s]" in text
    assert "error: DQCriticalFailure: freshness" in text
    assert "!!! CRITICAL: 1 failed critical check(s)" in text
    assert "!!!   payment:freshness  observed 80.0h  threshold 72.0h" in text
    payment = next(line for line in lines if line.lstrip("! ").startswith("payment "))
    assert payment.startswith("!!payment")
    assert "rows checked      1,200" in payment
    assert "checks   4, failed   4 (critical 1, quarantine 2, warn 1)" in payment
    assert "      quarantined: range:amount 7, not_null:customer_id 2" in lines
    assert "      warnings: gx:expect_column_values_to_be_in_set:status" in lines
    assert f"    {DOCS_PAGE}" in lines
    new_usage = next(line for line in lines if line.strip().startswith("usage"))
    assert "rows checked        300" in new_usage and "failed   0" in new_usage
    assert f"Run {MID}  [checked 2024-03-01 07:00:00 UTC; no ops.pipeline_runs row]" in lines


def test_cli_prints_the_report(
    lake: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FINLAKE_LAKE_ROOT", lake.lake_root)
    get_settings.cache_clear()
    try:
        assert main(["dq", "report", "--runs", "3"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "latest 3 run(s)" in out
    assert all(f"Run {run}" in out for run in (OLD, MID, NEW))


def test_empty_lake_says_so(tmp_path: Path) -> None:
    text = build_report(Settings(lake_root=str(tmp_path / "empty")), runs=5)
    assert "no DQ results recorded yet" in text


def test_report_reads_without_spark_in_under_two_seconds(lake: Settings) -> None:
    """The CLI answers from delta-rs: a fresh process never starts a JVM."""
    env = {**os.environ, "FINLAKE_LAKE_ROOT": lake.lake_root, "PYTHONPATH": str(REPO)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "jobs.cli", "dq", "report", "--runs", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert done.returncode == 0, done.stderr
    assert f"Run {NEW}" in done.stdout
    assert "SparkContext" not in done.stderr and "ivy" not in done.stderr.lower()
    # Wall time on a busy shared host is noise; the child's own CPU time is not.
    assert seconds < 2.0 or cpu < 1.5, f"took {seconds:.1f} s wall, {cpu:.1f} s CPU"


def test_data_docs_link_matches_the_gx_module(lake: Settings) -> None:
    from jobs.dq_gx import data_docs_index

    assert data_docs_link(lake) == data_docs_index(lake)
