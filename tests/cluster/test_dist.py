"""`make dist`: the wheel carries every package file of the checkout (code and data), the code
archive is the same files, and spark-submit.json holds launch settings only."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from jobs.bootstrap import _package_dirs
from jobs.spark import CODE_ARCHIVE_ALIAS

pytestmark = [pytest.mark.cluster]

REPO = Path(__file__).resolve().parents[2]


def _tracked_package_files() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", *_package_dirs(REPO)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return set(listed)


def test_wheel_and_code_archive_hold_every_package_file(dist_dir: Path) -> None:
    (wheel,) = dist_dir.glob("finlake-*-py3-none-any.whl")
    (archive,) = dist_dir.glob("finlake-*-code.zip")
    with zipfile.ZipFile(wheel) as whl, zipfile.ZipFile(archive) as code:
        in_wheel = set(whl.namelist())
        assert in_wheel == set(code.namelist())
    tracked = _tracked_package_files()
    assert {"conf/rules/silver_rules.yaml", "gold/models/mrr_daily.sql"} <= tracked
    missing = sorted(tracked - in_wheel)
    assert missing == [], f"package files missing from the wheel: {missing}"
    assert not [n for n in in_wheel if n.startswith("dags/")], "the DAGs ship on their own"
    assert not [n for n in in_wheel if n.endswith(".pyc")]


def test_launch_settings_name_the_archive_and_no_secret(dist_dir: Path) -> None:
    launch = json.loads((dist_dir / "spark-submit.json").read_text())
    (archive,) = dist_dir.glob("finlake-*-code.zip")
    assert launch["spark.archives"] == f"{archive.resolve()}#{CODE_ARCHIVE_ALIAS}"
    assert launch["spark.executorEnv.PYTHONPATH"] == CODE_ARCHIVE_ALIAS
    assert Path(launch["spark.pyspark.python"]).exists()
    assert ("spark.jars" in launch) != ("spark.jars.packages" in launch)
    assert not [k for k in launch if "secret" in k or "access.key" in k or k == "spark.master"]
