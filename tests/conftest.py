"""Shared fixtures: one Spark session (Delta enabled) and test settings for the whole run."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conf.settings import Settings, get_settings
from tests.pipeline_fixtures import (  # noqa: F401  (session fixtures shared by all tests)
    clean_lake,
    clean_pipeline,
    dirty_lake,
    dirty_pipeline,
    dirty_silver,
)

os.environ["FINLAKE_ENV"] = "test"
os.environ.setdefault(
    "FINLAKE_API_KEYS",
    '{"test-ingest-key-7f3a9c2e5b8d4f01": ["ingest"], '
    '"test-read-key-7f3a9c2e5b8d4f01aa": ["read"], '
    '"test-admin-key-7f3a9c2e5b8d4f01a": ["ingest", "read"]}',
)
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")


@pytest.fixture(scope="session")
def session_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake root shared by the session's Spark-level tests."""
    return tmp_path_factory.mktemp("lake")


@pytest.fixture(scope="session")
def settings(session_lake: Path) -> Settings:
    """Test-profile settings rooted in a temporary lake."""
    get_settings.cache_clear()
    return Settings(lake_root=str(session_lake))


@pytest.fixture(scope="session")
def spark(settings: Settings) -> Iterator[object]:
    """The one SparkSession of the test run (Delta enabled, 2 shuffle partitions)."""
    from jobs.spark import get_spark

    # The one driver of the whole suite (45-68 min): more heap than one job's default of 4g.
    session = get_spark(settings.model_copy(update={"spark_driver_memory": "6g"}), "finlake-tests")
    yield session
    session.stop()


@pytest.fixture(autouse=True, scope="module")
def _release_spark_memory() -> Iterator[None]:
    """After each module, drop what the shared driver still holds for that module's lakes.

    One JVM runs the whole suite over hundreds of throwaway lakes: cached DataFrames and
    Delta snapshots of deleted tables would otherwise pile up until broadcasts fail for heap.
    """
    yield
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        return
    gc.collect()  # frees Python DataFrames, so py4j releases the JVM plans they hold
    session.catalog.clearCache()
    jvm = session.sparkContext._jvm
    jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()
    jvm.java.lang.System.gc()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under `make test` (FINLAKE_FORBID_SKIPS=1) a skipped test fails the run: nothing may be
    silently left out because a tool is missing; the test must fail with the fix instead."""
    if os.environ.get("FINLAKE_FORBID_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and session.exitstatus == 0:
        names = ", ".join(getattr(report, "nodeid", "?") for report in skipped[:10])
        if reporter is not None:
            reporter.write_line(
                f"FINLAKE_FORBID_SKIPS: {len(skipped)} test(s) skipped ({names}); "
                "a missing tool must fail with its install command, not skip",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
