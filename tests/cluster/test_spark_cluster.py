"""The medallion pipeline on a real Spark standalone cluster, equal to a local run.

One tiny generated lake (45 days, 40 customers) lands twice on a private S3 server (moto):
under `local/` it goes through Bronze, Silver, Gold and the forecast as embedded jobs (the
entry points' `main`, one after another in one `local[2]` process, to save three JVM starts);
under `cluster/` the same jobs are `spark-submit`ted in client mode to the standalone master
(2 workers, 1 core each) with the arguments of `jobs.spark.spark_submit_args` (cached JARs,
code archive, the venv's Python) from a clean environment. Both runs overlap in time. The S3
credentials travel in the environment only.

Asserted: every Gold and forecast table has the checksum of the local run (the benchmark's
checksum; forecast run ids and timestamps left out), the master's JSON API lists the four
applications as finished with executors on both workers, and no process command line ever
carried the S3 secret.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from benchmarks.pipeline_bench import table_checksum
from bronze.objectstore import LocalObjectStore
from conf.settings import Settings
from jobs.generator import generate
from jobs.spark import spark_submit_args
from tests.cluster.standalone import StandaloneCluster, spark_env
from tests.integration.conftest import S3Server

pytestmark = [pytest.mark.cluster, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
START = dt.date(2024, 1, 1)
DAYS = 45
CUSTOMERS = 40
AS_OF = START + dt.timedelta(days=DAYS - 1)
JOB_TIMEOUT_S = 900
# Per-run columns of the forecast tables: everything else must be equal.
RUN_COLUMNS = ("run_id", "created_at")
FORECAST_TABLES = ("forecast_revenue_daily", "forecast_active_subscriptions", "forecast_variance")
LOCAL_RUN = """
import sys
from jobs import bronze_job, forecast_job, gold_job, silver_job
for main, args in ((bronze_job.main, []), (silver_job.main, []), (gold_job.main, []),
                   (forecast_job.main, sys.argv[1:])):
    code = main(args)
    if code:
        sys.exit(code)
"""
JOBS: tuple[tuple[str, list[str]], ...] = (
    ("bronze_job", []),
    ("silver_job", []),
    ("gold_job", []),
    ("forecast_job", ["--as-of", AS_OF.isoformat()]),
)


@dataclass
class CommandLineWatch:
    """Samples every process's command line (/proc) and keeps those containing `needle`."""

    needle: str
    hits: list[str] = field(default_factory=list)
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        while not self._stop.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if self.needle in text:
                    self.hits.append(text[:300])
            self.samples += 1
            self._stop.wait(0.25)

    def __enter__(self) -> CommandLineWatch:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _job_env(s3: S3Server, prefix: str, **extra: str) -> dict[str, str]:
    """Settings of a job as environment variables (the secret is only ever in here)."""
    env = spark_env(
        FINLAKE_ENV="test",
        FINLAKE_API_KEYS='{"cluster-test-key-0123456789abcdef0123": ["read"]}',
        FINLAKE_LAKE_ROOT=s3.lake_root(prefix),
        FINLAKE_S3_ENDPOINT=s3.endpoint,
        FINLAKE_S3_REGION=s3.region,
        FINLAKE_S3_ACCESS_KEY=s3.access_key,
        FINLAKE_S3_SECRET_KEY=s3.secret_key,
        FINLAKE_FRESHNESS_MAX_HOURS=str(24 * 365 * 30),  # a fixed 2024 lake must stay "fresh"
        FINLAKE_FORECAST_HORIZON_DAYS="7",
        FINLAKE_FORECAST_CV_WINDOWS="1",
        GX_ANALYTICS_ENABLED="False",
        TQDM_DISABLE="1",
        # The shared test venv's editable install may point at another checkout: import this
        # one (a fresh `make install` needs no PYTHONPATH).
        PYTHONPATH=str(REPO),
        **extra,
    )
    if "FINLAKE_CACHE_DIR" in os.environ:
        env["FINLAKE_CACHE_DIR"] = os.environ["FINLAKE_CACHE_DIR"]
    return env


def _run(
    command: list[str], env: dict[str, str], log: Path, timeout: float = JOB_TIMEOUT_S
) -> float:
    """Run one job to completion (output to `log`); its wall seconds. Fails on a non-zero exit."""
    t0 = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(
            command,
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    seconds = time.perf_counter() - t0
    assert done.returncode == 0, (
        f"{command[-3:]} exited {done.returncode}:\n{log.read_text()[-4000:]}"
    )
    return seconds


def _upload_landing(s3: S3Server, local_landing: Path, prefixes: tuple[str, ...]) -> int:
    client = s3.client()
    files = [p for p in local_landing.rglob("*") if p.is_file()]
    for prefix in prefixes:
        for path in files:
            key = f"{prefix}/landing/{path.relative_to(local_landing).as_posix()}"
            client.upload_file(str(path), s3.bucket, key)
    return len(files)


@pytest.fixture(scope="module")
def medallion_runs(
    spark_cluster: StandaloneCluster,
    dist_dir: Path,
    cluster_s3: S3Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    """Generate, land twice, run the four jobs locally and on the cluster; timings and logs."""
    work = tmp_path_factory.mktemp("cluster-medallion")
    manifest = generate(
        LocalObjectStore(work / "landing"),
        work / "truth",
        seed=7,
        start=START,
        days=DAYS,
        customers=CUSTOMERS,
    )
    objects = _upload_landing(cluster_s3, work / "landing", ("local", "cluster"))
    python = sys.executable
    submit = str(Path(python).parent / "spark-submit")
    settings = Settings(lake_root=cluster_s3.lake_root("cluster"))
    timings: dict[str, dict[str, float]] = {"local": {}, "cluster": {}}
    commands: list[list[str]] = []
    with CommandLineWatch(cluster_s3.secret_key) as watch:
        local_env = _job_env(cluster_s3, "local", FINLAKE_SPARK_MASTER="local[2]")
        local_command = [python, "-c", LOCAL_RUN, "--as-of", AS_OF.isoformat()]
        local_run = threading.Thread(
            target=lambda: timings["local"].update(
                all=_run(local_command, local_env, work / "local.log", JOB_TIMEOUT_S * len(JOBS))
            )
        )
        local_run.start()
        cluster_env = _job_env(cluster_s3, "cluster")
        try:
            for job, args in JOBS:
                app = f"finlake-{job.removesuffix('_job')}"
                command = [
                    submit,
                    *("--master", spark_cluster.master_url, "--deploy-mode", "client"),
                    *("--conf", "spark.ui.enabled=false"),
                    *spark_submit_args(settings, app, dist_dir=dist_dir, python=python),
                    str(REPO / "jobs" / f"{job}.py"),
                    *args,
                ]
                commands.append(command)
                timings["cluster"][job] = _run(command, cluster_env, work / f"cluster-{job}.log")
        finally:
            local_run.join()
        assert "all" in timings["local"], (work / "local.log").read_text()[-4000:]
    print(json.dumps({"events": manifest["events"], "objects": objects, "seconds": timings}))
    yield {
        "manifest": manifest,
        "timings": timings,
        "commands": commands,
        "watch": watch,
        "work": work,
    }


def _s3_tables(s3: S3Server, prefix: str) -> list[str]:
    """Delta tables under `{prefix}/gold/` of the bucket."""
    pages = (
        s3.client()
        .get_paginator("list_objects_v2")
        .paginate(Bucket=s3.bucket, Prefix=f"{prefix}/gold/")
    )
    names = {
        obj["Key"].split("/")[2]
        for page in pages
        for obj in page.get("Contents", [])
        if "/_delta_log/" in obj["Key"]
    }
    return sorted(names)


def _read_s3_with(spark: SparkSession, s3: S3Server) -> None:
    """Per-bucket S3A options on the test session (other suites' servers stay untouched)."""
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    options = {
        "endpoint": s3.endpoint,
        "endpoint.region": s3.region,
        "access.key": s3.access_key,
        "secret.key": s3.secret_key,
        "path.style.access": "true",
        "connection.ssl.enabled": "false",
    }
    for key, value in options.items():
        hadoop.set(f"fs.s3a.bucket.{s3.bucket}.{key}", value)


def test_gold_and_forecast_on_the_cluster_equal_the_local_run(
    spark: SparkSession, cluster_s3: S3Server, medallion_runs: dict[str, Any]
) -> None:
    tables = _s3_tables(cluster_s3, "cluster")
    assert tables == _s3_tables(cluster_s3, "local")
    assert {"dim_customer", "mrr_daily", "revenue_daily", *FORECAST_TABLES} <= set(tables)
    _read_s3_with(spark, cluster_s3)
    for name in tables:
        cluster_path = f"{cluster_s3.lake_root('cluster')}/gold/{name}"
        local_path = f"{cluster_s3.lake_root('local')}/gold/{name}"
        if name in FORECAST_TABLES:
            _assert_forecasts_close(spark, cluster_path, local_path, name)
            continue
        on_cluster = table_checksum(spark, cluster_path)
        local = table_checksum(spark, local_path)
        assert on_cluster == local, f"gold.{name}: cluster {on_cluster} != local {local}"
        assert local["rows"] > 0 or name == "cohort_retention", name


def _assert_forecasts_close(spark: SparkSession, got: str, want: str, name: str) -> None:
    """Forecast tables: same rows, models and keys; float columns equal to 1e-9 relative.

    Gold is exact (Decimal), but ARIMA fits are floating point and executors may sum in
    another order, so the last bits of a float may differ between a cluster and a local run.
    """
    frames = []
    for path in (got, want):
        df = spark.read.format("delta").load(path).drop(*RUN_COLUMNS).toPandas()
        keys = [c for c in sorted(df.columns) if df[c].dtype.kind not in "fc"]
        frames.append(df[sorted(df.columns)].sort_values(keys).reset_index(drop=True))
    # no actuals follow the last as-of date: the variance table may be empty, never one-sided
    assert len(frames[1]) > 0 or name == "forecast_variance", name
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=False, rtol=1e-9, obj=name)


def test_master_lists_the_finished_applications_with_executors(
    spark_cluster: StandaloneCluster, medallion_runs: dict[str, Any]
) -> None:
    names = {f"finlake-{job.removesuffix('_job')}" for job, _ in JOBS}
    completed = {
        app["name"]: app for app in spark_cluster.status()["completedapps"] if app["name"] in names
    }
    assert set(completed) == names
    for app in completed.values():
        assert app["state"] == "FINISHED", app
        assert app["cores"] >= 1 and app["memoryperexecutor"] > 0, app
    # each application ran an executor on every worker
    ids = {app["id"] for app in completed.values()}
    deadline = time.monotonic() + 30
    while True:
        per_worker = [
            {e["appid"] for e in w["finishedexecutors"] + w["executors"]}
            for w in spark_cluster.worker_status()
        ]
        if all(ids <= seen for seen in per_worker) or time.monotonic() > deadline:
            break
        time.sleep(1)
    for seen in per_worker:
        assert ids <= seen, f"worker saw apps {seen}, expected {ids}"


def test_no_command_line_carries_the_s3_secret(
    cluster_s3: S3Server, medallion_runs: dict[str, Any]
) -> None:
    watch = medallion_runs["watch"]
    assert watch.samples > 10, "the command-line watcher did not run"
    assert watch.hits == []
    for command in medallion_runs["commands"]:
        assert not any(cluster_s3.secret_key in arg for arg in command)
        assert not any("secret.key" in arg or "access.key" in arg for arg in command)
