"""A lake path that cannot be written: a clear error and no partial Gold table.

Tests run as root, so permission bits (chmod) do not stop writes. Instead the Gold layer
folder is replaced by a regular *file*: creating anything below a file fails with ENOTDIR
for every user, root included, exactly like a lost mount or a full/read-only volume would
fail the first write.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.gold_job import run_gold
from jobs.lake import Lake
from tests.fault.conftest import copy_lake
from tests.pipeline_fixtures import GeneratedLake

pytestmark = [pytest.mark.fault, pytest.mark.integration]


def test_unwritable_gold_layer_fails_clearly_without_partial_tables(
    spark: SparkSession, silver_lake: GeneratedLake, tmp_path: Path
) -> None:
    """run_gold raises, no Gold table exists, Silver is untouched, the run is logged failed."""
    lake = copy_lake(silver_lake, tmp_path / "lake")
    settings = lake.settings
    gold_dir = Path(settings.lake_root) / "gold"
    assert not gold_dir.exists()
    gold_dir.write_text("not a directory\n")
    silver_version = Lake(spark, settings).version("silver.subscription")

    with pytest.raises(Exception) as failure:
        run_gold(spark, settings, raise_on_critical=False)
    message = str(failure.value)
    hints = ("not a directory", "is not a directory", "mkdirs", "already exists", "parent")
    assert "gold" in message and any(h in message.lower() for h in hints), message[:2000]

    assert gold_dir.is_file() and gold_dir.read_text() == "not a directory\n"
    assert Lake(spark, settings).version("silver.subscription") == silver_version
    runs = (
        Lake(spark, settings)
        .read("ops.pipeline_runs")
        .filter(F.col("job_name") == "gold")
        .collect()
    )
    assert [r["status"] for r in runs] == ["failed"]
    assert runs[0]["error"]

    # after the disk is fixed, a rerun builds Gold whole
    gold_dir.unlink()
    result = run_gold(spark, settings, raise_on_critical=False)
    assert result["range_start"] and Lake(spark, settings).exists("gold.mrr_daily")
