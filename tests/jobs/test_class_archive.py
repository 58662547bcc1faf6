"""The drivers' class-data-sharing archive (`jobs.jvm`, built by `jobs.bootstrap`)."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from conf.settings import Settings
from jobs.jvm import CDS_QUIET, class_archive_options, class_archive_path
from jobs.spark import driver_class_archive


def test_options_map_an_existing_archive_or_dump_beside_it(tmp_path: Path) -> None:
    archive = class_archive_path(tmp_path, ["jdk", "4.1", "a.jar"])
    assert class_archive_options(archive) == ""  # not built: the JVM starts without one
    dump = class_archive_options(archive, dump=True)
    assert dump == f"-XX:ArchiveClassesAtExit={archive.with_suffix('.part')} {CDS_QUIET}"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"x")
    assert class_archive_options(archive) == f"-XX:SharedArchiveFile={archive} {CDS_QUIET}"


def test_the_archive_is_keyed_by_the_jars_and_the_class_path(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path)
    base = driver_class_archive(settings, {"spark.jars": "a.jar,b.jar"})
    assert base == driver_class_archive(settings, {"spark.jars": "a.jar,b.jar"})
    assert base != driver_class_archive(settings, {"spark.jars": "a.jar"})
    assert base != driver_class_archive(
        settings, {"spark.jars": "a.jar,b.jar", "spark.driver.extraClassPath": "fs.jar"}
    )
    assert base.parent == tmp_path / "jvm"


def test_the_suites_driver_maps_the_archive_make_install_built(spark: SparkSession) -> None:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    arguments = list(
        jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()
    )
    shared = [a for a in arguments if a.startswith("-XX:SharedArchiveFile=")]
    assert len(shared) == 1, arguments
    archive = Path(shared[0].split("=", 1)[1])
    assert archive.is_file() and archive.stat().st_size > 10_000_000
    assert "sharing" in jvm.java.lang.System.getProperty("java.vm.info")
