"""Bootstrap: cache the Spark JARs once, and build the code distribution for spark-submit.

* `python -m jobs.bootstrap` (`make install`, `make jars`): resolve the Delta Lake and hadoop-aws
  packages once through Ivy and record the resolved JAR files under
  `{cache_dir}/jars/<key>/`; every later session loads those files directly (no Ivy run, no
  Ivy output). `--force` resolves again.
* the same command compiles finlake's local file system for Hadoop (`jobs.jvm`) into
  `{cache_dir}/jvm/` when a JDK compiler is there, and records the drivers' class-data-sharing
  archive there (a short Delta workload in a child JVM; about 40 s, once per JDK/Spark/JARs);
* `python -m jobs.bootstrap dist [--dir dist]` (`make dist`): the project wheel
  (`finlake-<version>-py3-none-any.whl`, package data included; what a packed venv installs),
  the same files as `finlake-<version>-code.zip` (Spark unpacks `.zip` archives on executors,
  not `.whl`), and `spark-submit.json`: the launch settings of `jobs.spark.launch_conf` for
  the Airflow `spark_submit` runner.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path

from conf.settings import Settings
from jobs.jvm import build_local_fs_jar
from jobs.spark import (
    cached_jars,
    driver_class_archive,
    embedded_conf,
    ensure_java17,
    get_spark,
    launch_conf,
    record_jar_cache,
    user_spark_conf,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAUNCH_FILE = "spark-submit.json"


def resolve_jars(settings: Settings, force: bool = False) -> list[Path]:
    """The cached JAR files of the Spark packages, resolved through Ivy when not cached yet."""
    jars = None if force else cached_jars(settings)
    if jars:
        return jars
    spark = get_spark(settings, "finlake-bootstrap", use_jar_cache=False)
    try:
        resolved = (spark.sparkContext.getConf().get("spark.jars") or "").split(",")
        spark.range(1).count()
    finally:
        spark.stop()
    return record_jar_cache(settings, [j for j in resolved if j])


def _class_archive(settings: Settings) -> Path:
    """Where the archive of the workload's driver (and so of every embedded driver) lives."""
    ensure_java17()
    return driver_class_archive(
        settings, embedded_conf(settings, "finlake-classes", user_spark_conf())
    )


def record_driver_classes(settings: Settings) -> Path | None:
    """Build the drivers' class-data-sharing archive (`jobs.jvm`) unless it is there already.

    A child process runs a short Delta workload in a JVM that writes the classes it loaded
    when it exits; the archive is renamed into place only once that JVM is gone.
    """
    archive = _class_archive(settings)
    if archive.is_file():
        return archive
    done = subprocess.run(
        [sys.executable, "-m", "jobs.bootstrap", "classes"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    path = Path(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else None
    if done.returncode != 0 or path is None or not path.is_file():
        print(f"class archive not built (exit {done.returncode}): {done.stderr[-2000:]}")
        return None
    return path


def _class_workload(settings: Settings) -> Path:
    """The workload whose classes the archive holds; returns the archive's path."""
    archive = _class_archive(settings)
    spark = get_spark(settings, "finlake-classes", dump_classes=True)
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp, "table"))
        rows = spark.range(200).select(
            F.col("id").alias("event_id"),
            (F.col("id") % 7).cast("string").alias("region"),
            (F.col("id") * 1.5).cast("decimal(18,2)").alias("amount_usd"),
            F.date_add(F.lit("2025-01-01").cast("date"), (F.col("id") % 30).cast("int")).alias(
                "event_date"
            ),
        )
        rows.write.format("delta").save(path)
        rows.filter("event_id < 50").write.format("delta").mode("append").save(path)
        (
            DeltaTable.forPath(spark, path)
            .alias("t")
            .merge(rows.alias("s"), "t.event_id = s.event_id")
            .whenNotMatchedInsertAll()
            .execute()
        )
        spark.read.format("delta").load(path).groupBy("region", "event_date").agg(
            F.sum("amount_usd")
        ).orderBy("region").collect()
        spark.read.format("delta").option("versionAsOf", 0).load(path).count()
    gateway = spark.sparkContext._gateway
    spark.stop()
    proc = getattr(gateway, "proc", None)
    if gateway is not None and proc is not None:  # the archive is written as the JVM exits
        gateway.shutdown()
        proc.stdin.close()
        proc.wait(timeout=600)
    part = archive.with_suffix(".part")
    if part.is_file():
        part.replace(archive)
    return archive


def _package_dirs(root: Path) -> list[str]:
    """Top-level folders the wheel packs (`tool.setuptools.packages.find.include`)."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    patterns: list[str] = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and any(fnmatch.fnmatch(p.name, pat) for pat in patterns)
    )


def build_dist(out_dir: Path, settings: Settings, root: Path = PROJECT_ROOT) -> dict[str, Path]:
    """Build the wheel, the code archive and `spark-submit.json` into `out_dir`.

    The build runs on a fresh copy of the package folders, so files deleted from the checkout
    never linger in the wheel (setuptools reuses its `build/` folder otherwise).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in [*out_dir.glob("finlake-*"), out_dir / LAUNCH_FILE]:
        old.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="finlake-dist-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(root / name, src / name)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for name in _package_dirs(root):
            shutil.copytree(root / name, src / name, ignore=ignore)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out_dir), str(src)],
            check=True,
            cwd=tmp,
        )
    (wheel,) = out_dir.glob("finlake-*.whl")
    version = wheel.name.split("-")[1]
    archive = out_dir / f"finlake-{version}-code.zip"
    shutil.copyfile(wheel, archive)
    launch = out_dir / LAUNCH_FILE
    launch.write_text(json.dumps(launch_conf(settings, dist_dir=out_dir), indent=2) + "\n")
    return {"wheel": wheel, "code_archive": archive, "launch": launch}


def main(argv: Sequence[str] | None = None) -> int:
    """Cache the Spark JARs (default) or build the spark-submit distribution (`dist`)."""
    parser = argparse.ArgumentParser(prog="python -m jobs.bootstrap", description=__doc__)
    parser.add_argument("--force", action="store_true", help="resolve the JARs again")
    parser.add_argument(
        "--no-class-archive",
        action="store_true",
        help="skip the drivers' class archive (images whose drivers spark-submit starts)",
    )
    sub = parser.add_subparsers(dest="command")
    dist = sub.add_parser("dist", help="wheel + code archive + spark-submit.json")
    sub.add_parser("classes", help="(internal) the class archive's workload, in its own JVM")
    dist.add_argument("--dir", type=Path, default=PROJECT_ROOT / "dist")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    settings = Settings()
    if args.command == "classes":
        print(_class_workload(settings))
        return 0
    if args.command == "dist":
        built = build_dist(args.dir.resolve(), settings)
        for kind, path in built.items():
            print(f"{kind}: {path}")
        return 0
    local_fs = build_local_fs_jar(settings.cache_dir)
    jars = resolve_jars(settings, force=args.force)
    where = jars[0].parent if jars else settings.cache_dir
    print(f"spark jars ready: {len(jars)} files in {where} ({time.perf_counter() - t0:.1f}s)")
    print(f"local file system: {local_fs or 'Hadoop default (no JDK compiler)'}")
    classes = None if args.no_class_archive else record_driver_classes(settings)
    print(f"driver class archive: {classes or 'none (drivers start without one)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
