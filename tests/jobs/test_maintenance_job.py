"""Maintenance job: OPTIMIZE compacts, VACUUM keeps time travel inside the retention."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conf.settings import Settings
from jobs import delta_io
from jobs.maintenance_job import main, run_maintenance

pytestmark = pytest.mark.integration


def test_optimize_and_vacuum_keep_data_and_time_travel(spark: Any, tmp_path: Path) -> None:
    settings = Settings(lake_root=str(tmp_path))
    path = settings.table_path("gold", "t_small_files")
    for i in range(4):
        delta_io.append(spark.createDataFrame([(i, f"v{i}")], "id int, value string"), path)
    before = sorted(spark.read.format("delta").load(path).collect())

    result = run_maintenance(spark, settings, layers=["gold"], retention_days=30)

    table = result["tables"]["gold.t_small_files"]
    assert table["files_removed"] >= 4 and table["files_added"] == 1
    assert sorted(spark.read.format("delta").load(path).collect()) == before
    # version 1 (one row) is still readable: VACUUM kept files younger than 30 days
    assert delta_io.read_delta(spark, path, version=1).count() == 1
    runs = spark.read.format("delta").load(settings.table_path("ops", "pipeline_runs"))
    assert runs.filter("job_name = 'maintenance' AND status = 'succeeded'").count() == 1


def test_retention_below_the_floor_is_refused(spark: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="below 7 d"):
        run_maintenance(spark, Settings(lake_root=str(tmp_path)), retention_days=1)
    with pytest.raises(SystemExit):
        main(["--retention-days", "3"])
