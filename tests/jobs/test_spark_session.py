"""The Spark session factory: launcher settings win, cached JARs, no secrets on command lines.

Sessions that must start their own JVM (embedded with a spark-defaults.conf, or launched by
spark-submit) run in a subprocess and print their effective settings as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyspark
import pytest
from pyspark.sql import SparkSession

from conf.settings import Settings
from jobs.bootstrap import resolve_jars
from jobs.spark import (
    CODE_ARCHIVE_ALIAS,
    LISTING_PARALLELISM,
    cached_jars,
    fill_unset,
    jar_cache_dir,
    listing_tasks,
    read_properties,
    record_jar_cache,
    spark_submit_args,
    submit_args_conf,
    without_jars_on_python_path,
)

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
from conf.settings import get_settings
from jobs.spark import get_spark
spark = get_spark(get_settings(), "finlake-probe")
spark.range(2).write.format("delta").save(sys.argv[1])
conf = dict(spark.sparkContext.getConf().getAll())
keys = ["spark.master", "spark.driver.bindAddress", "spark.jars", "spark.jars.packages",
        "spark.app.name"]
seen = {k: conf.get(k) for k in keys}
seen["shuffle"] = spark.conf.get("spark.sql.shuffle.partitions")
seen["extensions"] = spark.conf.get("spark.sql.extensions")
seen["timezone"] = spark.conf.get("spark.sql.session.timeZone")
seen["s3a_secret"] = spark.sparkContext._jsc.hadoopConfiguration().get("fs.s3a.secret.key")
seen["delta_rows"] = spark.read.format("delta").load(sys.argv[1]).count()
print(json.dumps(seen))
"""


def test_column_calls_do_not_record_python_call_sites(spark: SparkSession) -> None:
    """DataFrame debugging is off: a column function is one JVM call, not two to five."""
    from pyspark.errors.utils import is_debugging_enabled

    assert spark.conf.get("spark.python.sql.dataFrameDebugging.enabled") == "false"
    assert not is_debugging_enabled()


def test_many_named_files_are_listed_in_a_few_tasks(spark: SparkSession, tmp_path: Path) -> None:
    """Reading 40 named files (over Spark's threshold of 32) lists them in one Spark job of
    `listing_tasks` tasks, not one task per file; every file is read."""
    paths = []
    for i in range(40):
        path = tmp_path / f"object-{i:02d}.jsonl"
        path.write_text(f'{{"n": {i}}}\n')
        paths.append(str(path))
    tasks = int(spark.conf.get(LISTING_PARALLELISM) or 0)
    assert tasks == listing_tasks(int(spark.conf.get("spark.sql.shuffle.partitions") or 0))
    tracker = spark.sparkContext.statusTracker()
    group = "listing-test"
    spark.sparkContext.setJobGroup(group, "listing")
    try:
        frame = spark.read.format("binaryFile").load(paths)
        assert frame.count() == 40
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
    stages = [
        stage
        for job in tracker.getJobIdsForGroup(group)
        if (info := tracker.getJobInfo(job)) is not None
        for stage_id in info.stageIds
        if (stage := tracker.getStageInfo(stage_id)) is not None
    ]
    listing = [s for s in stages if s.name.startswith("load at")]  # the listing job's stage
    assert listing, [s.name for s in stages]
    assert all(s.numTasks <= tasks < 40 for s in stages)


def test_python_tasks_do_not_get_the_package_jars(spark: SparkSession, tmp_path: Path) -> None:
    includes: list[str] = spark.sparkContext._python_includes
    assert not [p for p in includes if p.lower().endswith(".jar")]

    def paths(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import sys

        for _ in batches:
            yield pd.DataFrame({"entry": sys.path})

    worker_path = spark.range(1, numPartitions=1).mapInPandas(paths, "entry string").collect()
    assert not [r.entry for r in worker_path if "io.delta" in r.entry]  # e.g. io.delta_delta-*.jar
    # Delta still works: the JARs stay on the JVM classpath
    spark.range(3).write.format("delta").save(str(tmp_path / "t"))
    assert spark.read.format("delta").load(str(tmp_path / "t")).count() == 3


def test_package_jars_are_taken_off_the_python_path_other_includes_stay(
    spark: SparkSession,
) -> None:
    context = spark.sparkContext
    original = list(context._python_includes)
    context._python_includes = [*original, "io.delta_delta-spark_4.1_2.13-4.4.0.jar", "code.zip"]
    try:
        without_jars_on_python_path(spark)
        assert context._python_includes == [*original, "code.zip"]
    finally:
        context._python_includes = original


@pytest.fixture
def cache_settings(tmp_path: Path) -> Settings:
    """Settings with a private cache dir holding a complete recorded JAR cache (tiny files)."""
    settings = Settings(cache_dir=tmp_path / "cache", lake_root=str(tmp_path / "lake"))
    ivy = tmp_path / "ivy-jars"
    ivy.mkdir()
    resolved = []
    for name in (
        "io.delta_delta-spark_4.1_2.13-4.4.0.jar",
        "org.apache.hadoop_hadoop-aws-3.4.2.jar",
    ):
        (ivy / name).write_bytes(b"PK\x05\x06" + b"\0" * 18)
        resolved.append(f"file://{ivy / name}")
    record_jar_cache(settings, resolved)
    return settings


def test_recorded_jar_cache_is_used_until_a_file_goes_missing(cache_settings: Settings) -> None:
    jars = cached_jars(cache_settings)
    assert jars is not None and [p.parent for p in jars] == [jar_cache_dir(cache_settings)] * 2
    args = spark_submit_args(cache_settings, "finlake-gold", dist_dir=Path("/nonexistent"))
    assert args[args.index("--jars") + 1] == ",".join(str(p) for p in jars)
    assert "--packages" not in args and not any("spark.jars.ivy" in a for a in args)

    jars[0].unlink()
    assert cached_jars(cache_settings) is None
    args = spark_submit_args(cache_settings, "finlake-gold", dist_dir=Path("/nonexistent"))
    assert args[args.index("--packages") + 1].split(",") == cache_settings.spark_packages
    assert "--jars" not in args


def test_spark_submit_args_ship_code_and_python_but_never_a_secret(
    cache_settings: Settings, tmp_path: Path
) -> None:
    secret = "s3-secret-value-that-must-not-leak"
    settings = cache_settings.model_copy(
        update={
            "lake_root": "s3a://bucket/lake",
            "s3_endpoint": "http://127.0.0.1:9000",
            "s3_access_key": "access-id-value",
            "s3_secret_key": secret,
        }
    )
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "finlake-0.1.0-code.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    args = spark_submit_args(settings, "finlake-silver", dist_dir=dist, python="/venv/bin/python")

    text = " ".join(args)
    assert secret not in text and "access-id-value" not in text
    assert "secret.key" not in text and "access.key" not in text
    assert args[:2] == ["--name", "finlake-silver"]
    archive = args[args.index("--archives") + 1]
    assert archive == f"{(dist / 'finlake-0.1.0-code.zip').resolve()}#{CODE_ARCHIVE_ALIAS}"
    confs = dict(a.split("=", 1) for a in args[1:] if "=" in a and a.startswith("spark."))
    assert confs["spark.executorEnv.PYTHONPATH"] == CODE_ARCHIVE_ALIAS
    assert (
        confs["spark.pyspark.python"] == confs["spark.pyspark.driver.python"] == "/venv/bin/python"
    )
    assert "spark.master" not in confs and "--master" not in args  # the launcher's choice


def test_fill_unset_keeps_the_launchers_values_and_appends_extensions() -> None:
    wanted = {
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    }
    preset = {"spark.sql.shuffle.partitions": "400", "spark.sql.extensions": "com.acme.Ext"}
    assert fill_unset(wanted, preset) == {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.extensions": "com.acme.Ext,io.delta.sql.DeltaSparkSessionExtension",
    }
    already = {"spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension"}
    assert "spark.sql.extensions" not in fill_unset(wanted, already)


def test_spark_defaults_and_submit_args_are_read_like_spark_does(tmp_path: Path) -> None:
    defaults = tmp_path / "spark-defaults.conf"
    defaults.write_text(
        "# cluster defaults\n"
        "spark.master                 spark://10.0.0.1:7077\n"
        "spark.executor.memory=4g\n"
        "spark.driver.extraJavaOptions -Dfoo=bar -Dx=1\n"
        "! old-style comment\n"
    )
    assert read_properties(defaults) == {
        "spark.master": "spark://10.0.0.1:7077",
        "spark.executor.memory": "4g",
        "spark.driver.extraJavaOptions": "-Dfoo=bar -Dx=1",
    }
    conf, properties, load_defaults = submit_args_conf(
        "--master local[1] --conf spark.sql.shuffle.partitions=7 "
        f"--properties-file {defaults} --driver-memory 1g pyspark-shell"
    )
    assert conf == {
        "spark.master": "local[1]",
        "spark.sql.shuffle.partitions": "7",
        "spark.driver.memory": "1g",
    }
    assert properties == defaults and load_defaults is False
    assert submit_args_conf("pyspark-shell") == ({}, None, True)


@pytest.fixture(scope="module")
def jar_cache() -> Settings:
    """This machine's settings with the JAR cache complete (`make install` did it already)."""
    settings = Settings()
    resolve_jars(settings)
    return settings


def _probe_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK_", "SPARK_"))}
    env.update(PYTHONPATH=str(REPO), FINLAKE_ENV="test", **extra)
    # a fresh shell in CI has no venv on PATH: spark-submit's `find-spark-home` and the driver's
    # `python3` must still be the venv's, as they are for a user with the venv active
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env["SPARK_HOME"] = str(Path(pyspark.__file__).parent)
    return env


@pytest.mark.integration
def test_embedded_session_uses_cached_jars_quietly_and_honours_spark_defaults(
    jar_cache: Settings, tmp_path: Path
) -> None:
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    (conf_dir / "spark-defaults.conf").write_text("spark.sql.shuffle.partitions 5\n")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "t")],
        env=_probe_env(SPARK_CONF_DIR=str(conf_dir), FINLAKE_SPARK_MASTER="local[1]"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["spark.master"] == "local[1]"  # FINLAKE_SPARK_MASTER, embedded
    assert seen["spark.driver.bindAddress"] == "127.0.0.1"
    assert seen["shuffle"] == "5"  # spark-defaults.conf beats finlake's default (2)
    assert seen["spark.jars.packages"] is None
    cached = cached_jars(jar_cache)
    assert cached and str(cached[0]) in (seen["spark.jars"] or "")
    assert seen["delta_rows"] == 2
    output = done.stdout + done.stderr
    for ivy_line in (":: resolving dependencies", "ivy", "artifacts copied"):
        assert ivy_line not in output.lower(), f"Ivy output on a cached start: {ivy_line!r}"


@pytest.mark.integration
def test_spark_submit_settings_win_over_finlakes(jar_cache: Settings, tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    secret = "probe-secret-not-on-any-command-line"
    args = spark_submit_args(jar_cache, "finlake-probe", dist_dir=tmp_path)
    submit = str(Path(sys.executable).parent / "spark-submit")
    launcher = ["--master", "local[1]", "--conf", "spark.sql.shuffle.partitions=3"]
    done = subprocess.run(
        [submit, *launcher, *args, str(script), str(tmp_path / "t")],
        env=_probe_env(
            FINLAKE_SPARK_MASTER="local[2]",
            FINLAKE_LAKE_ROOT="s3a://probe-bucket/lake",
            FINLAKE_S3_ACCESS_KEY="probe-access",
            FINLAKE_S3_SECRET_KEY=secret,
        ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["spark.master"] == "local[1]"  # spark-submit's --master, not FINLAKE_SPARK_MASTER
    assert seen["shuffle"] == "3"  # spark-submit's --conf
    assert seen["spark.app.name"] == "finlake-probe"
    assert seen["spark.driver.bindAddress"] is None  # no loopback pinning under a launcher
    assert seen["extensions"] == "io.delta.sql.DeltaSparkSessionExtension"  # filled by finlake
    assert seen["timezone"] == "UTC"
    assert seen["s3a_secret"] == secret  # set on the driver's Hadoop conf, not on a command line
    assert seen["delta_rows"] == 2
    assert secret not in " ".join(args)
