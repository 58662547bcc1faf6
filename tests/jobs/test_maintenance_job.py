"""Maintenance job: OPTIMIZE compacts, VACUUM keeps time travel inside the retention."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from conf.settings import Settings
from jobs.lake import Lake
from jobs.maintenance_job import main, run_maintenance

pytestmark = pytest.mark.integration


def test_optimize_and_vacuum_keep_data_and_time_travel(spark: Any, tmp_path: Path) -> None:
    settings = Settings(lake_root=str(tmp_path))
    lake = Lake(spark, settings)
    for i in range(4):
        row = [(f"run{i}", "mrr_usd", dt.date(2026, 1, 1 + i), "NA", "1", "2", None)]
        lake.append("ops.restatements", spark.createDataFrame(row, lake.schema("ops.restatements")))
    before = sorted(lake.read("ops.restatements").collect())

    result = run_maintenance(spark, settings, layers=["ops"], retention_days=30)

    table = result["tables"]["ops.restatements"]
    assert table["files_removed"] >= 4 and table["files_added"] == 1
    assert sorted(lake.read("ops.restatements").collect()) == before
    # version 1 (one row) is still readable: VACUUM kept files younger than 30 days
    assert lake.read("ops.restatements", version=1).count() == 1
    runs = lake.read("ops.pipeline_runs")
    assert runs.filter("job_name = 'maintenance' AND status = 'succeeded'").count() == 1


def test_retention_below_the_floor_is_refused(spark: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="below 7 d"):
        run_maintenance(spark, Settings(lake_root=str(tmp_path)), retention_days=1)
    with pytest.raises(SystemExit):
        main(["--retention-days", "3"])
