"""SparkSession factory and spark-submit launch arguments (Delta Lake enabled, settings-driven).

A finlake driver starts in one of two ways:

* **embedded** (`python -m jobs.<job>`, the `finlake` CLI, tests): no launcher; finlake starts
  the JVM itself with `settings.spark_master` (`FINLAKE_SPARK_MASTER`), a loopback driver
  address when that master is local, the cached Delta/hadoop-aws JARs and its session settings,
  except for keys the user set in `spark-defaults.conf` or `PYSPARK_SUBMIT_ARGS`;
* **launched** (`spark-submit jobs/<job>.py`, EMR, a notebook kernel): the launcher already
  started the JVM with its master, deploy mode, memory, JARs and `spark-defaults.conf`. Those
  win: finlake only fills the session keys the launcher left unset (PySpark's builder options
  would otherwise override them).

JARs: `python -m jobs.bootstrap` resolves the Maven packages once with Ivy and records the
resolved files under `{cache_dir}/jars/<key>/`; sessions then load those files (`spark.jars`)
without any Ivy resolution. S3 credentials never appear on a command line: they come from the
provider chain (environment, instance role) or are set on the driver's Hadoop configuration
after the JVM started.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import re
import shlex
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

from conf.settings import Settings, get_settings
from jobs.jvm import class_archive_options, class_archive_path, local_fs_conf

log = logging.getLogger("finlake.spark")

JAVA17_CANDIDATES = ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/openjdk-17")
LOOPBACK = "127.0.0.1"
DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
JAR_MANIFEST = "finlake-jars.json"
# Session settings of a small run (`execution_for`): no whole-stage code generation, and
# expressions evaluated by their interpreted implementations (every Spark expression has one;
# Spark's own test suites run in this mode too). No adaptive execution either: it submits each
# shuffle stage as a job of its own and plans the rest again after it, which on a daily run's
# few thousand rows costs more than it can save (430 -> 235 Spark jobs for one new day;
# docs/benchmarks.md, issue 18). Joins whose small side adaptive execution used to discover at
# run time say so with a broadcast hint (`silver.dedup`).
SMALL_RUN_CONF = {
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}
# A large run gets a shuffle partition per this many input rows (`execution_for`).
ROWS_PER_SHUFFLE_PARTITION = 250_000
# Folder name of the code archive on executors (`--archives <zip>#finlake_code`).
CODE_ARCHIVE_ALIAS = "finlake_code"

# Only when finlake launches the JVM itself: the master and a loopback driver are local choices.
EMBEDDED_ONLY_KEYS = frozenset(
    {
        "spark.master",
        "spark.driver.host",
        "spark.driver.bindAddress",
        "spark.ui.enabled",
        "spark.ui.showConsoleProgress",
    }
)
# Read when the driver JVM starts: set by finlake in embedded mode, by the launcher otherwise.
LAUNCH_KEYS = frozenset(
    {
        "spark.jars",
        "spark.jars.packages",
        "spark.jars.ivy",
        "spark.driver.memory",
        "spark.driver.extraJavaOptions",
    }
)
# JVM options of a driver finlake starts (or hands to spark-submit): quiet logs, and a bounded
# Delta log cache (Delta reads it as a Java system property; unbounded by default, each entry
# holds a table's snapshot, and a long-lived driver touching many lakes runs out of heap).
DRIVER_JAVA_OPTIONS = "-Dlog4j2.level=ERROR -Ddelta.log.cacheSize=64"
# Comma-separated lists finlake appends to instead of filling.
LIST_KEYS = frozenset({"spark.sql.extensions"})
# A launcher that sets one of these chose how S3A authenticates: finlake adds no keys then.
S3A_CREDENTIAL_KEYS = (
    "spark.hadoop.fs.s3a.access.key",
    "spark.hadoop.fs.s3a.aws.credentials.provider",
)
# Java properties: the key ends at the first `=`, `:` or blank.
_PROPERTY_SEPARATOR = re.compile(r"\s*[=:]\s*|\s+")
# spark-submit options that map to one Spark setting (for PYSPARK_SUBMIT_ARGS).
_SUBMIT_OPTIONS = {
    "--master": "spark.master",
    "--name": "spark.app.name",
    "--driver-memory": "spark.driver.memory",
    "--driver-java-options": "spark.driver.extraJavaOptions",
    "--jars": "spark.jars",
    "--packages": "spark.jars.packages",
    "--py-files": "spark.submit.pyFiles",
    "--archives": "spark.archives",
}


def ensure_java17() -> None:
    """Point JAVA_HOME at a JDK 17 when none is set (Spark 4.1 runs on 17/21)."""
    if os.environ.get("JAVA_HOME"):
        return
    for candidate in JAVA17_CANDIDATES:
        if Path(candidate, "bin", "java").exists():
            os.environ["JAVA_HOME"] = candidate
            return


# ----------------------------------------------------------------------------- JAR cache


def jar_cache_dir(settings: Settings) -> Path:
    """Folder of the resolved JAR files of `settings.spark_packages` (keyed by coordinates)."""
    key = hashlib.sha256("\n".join(settings.spark_packages).encode()).hexdigest()[:16]
    return settings.cache_dir / "jars" / key


def cached_jars(settings: Settings) -> list[Path] | None:
    """The recorded JAR files of the packages, or None when the cache is missing or incomplete."""
    folder = jar_cache_dir(settings)
    try:
        manifest = json.loads((folder / JAR_MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("packages") != settings.spark_packages or not manifest.get("jars"):
        return None
    jars = [folder / name for name in manifest["jars"]]
    if not all(path.is_file() and path.stat().st_size > 0 for path in jars):
        return None
    return jars


def record_jar_cache(settings: Settings, resolved: Sequence[str]) -> list[Path]:
    """Copy (hard-link where possible) Ivy's resolved JARs into the cache; manifest last."""
    folder = jar_cache_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    for item in resolved:
        source = Path(item.removeprefix("file://").removeprefix("file:"))
        target = folder / source.name
        if not target.exists() or target.stat().st_size != source.stat().st_size:
            partial = target.with_suffix(".part")
            partial.unlink(missing_ok=True)
            try:
                os.link(source, partial)
            except OSError:
                shutil.copyfile(source, partial)
            partial.replace(target)
        names.append(source.name)
    manifest = {"packages": settings.spark_packages, "jars": names}
    partial_manifest = folder / f"{JAR_MANIFEST}.part"
    partial_manifest.write_text(json.dumps(manifest, indent=2) + "\n")
    partial_manifest.replace(folder / JAR_MANIFEST)
    return [folder / name for name in names]


def _jar_conf(settings: Settings, use_cache: bool = True) -> dict[str, str]:
    """`spark.jars` of the cached files, else the Maven packages resolved through Ivy."""
    jars = cached_jars(settings) if use_cache else None
    if jars:
        return {"spark.jars": ",".join(str(p) for p in jars)}
    return {
        "spark.jars.packages": ",".join(settings.spark_packages),
        "spark.jars.ivy": str(settings.cache_dir / "ivy"),
    }


# ----------------------------------------------------------------------------- settings


def _uses_s3(settings: Settings) -> bool:
    return settings.is_s3 or settings.landing.startswith(("s3://", "s3a://"))


def _s3a_conf(settings: Settings) -> dict[str, str]:
    """Non-secret S3A settings (endpoint, addressing); credentials are never in here."""
    conf = {
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.path.style.access": str(settings.s3_path_style).lower(),
        "spark.hadoop.fs.s3a.endpoint.region": settings.s3_region,
        "spark.delta.logStore.s3a.impl": "io.delta.storage.S3SingleDriverLogStore",
    }
    if settings.s3_endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = settings.s3_endpoint
        is_ssl = settings.s3_endpoint.startswith("https")
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(is_ssl).lower()
    return conf


def session_conf(settings: Settings, app_name: str) -> dict[str, str]:
    """Settings finlake needs in every session, whoever launched it (no secrets)."""
    conf: dict[str, str] = {
        "spark.app.name": app_name,
        "spark.sql.extensions": DELTA_EXTENSION,
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.default.parallelism": str(settings.spark_shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "false",
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.databricks.delta.stateReconstructionValidation.enabled": "false",
        "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        # Reading more than 32 named files lists them in a Spark job of one task per file
        # (Spark's default allows 10,000): Bronze's chunk of 2,000 landing objects spent 7-13 s
        # in 2,000 tasks of a few milliseconds each, 0.5 s in 8 (docs/benchmarks.md, issue 18)
        LISTING_PARALLELISM: str(listing_tasks(settings.spark_shuffle_partitions)),
        "spark.sql.warehouse.dir": str(settings.cache_dir / "spark-warehouse"),
        # PySpark's DataFrame debugging records the Python call site of every column function:
        # in a pool thread an extra JVM round trip per call (`getActiveSession`), on the main
        # thread four. Gold's model tests and Silver's rules build thousands of such calls a
        # run (9.4 s of one day's 119 s of Python thread time; docs/benchmarks.md, issue 18).
        # Errors keep their SQL context; only the Python line of a failing expression is lost.
        "spark.python.sql.dataFrameDebugging.enabled": "false",
    }
    if _uses_s3(settings):
        conf.update(_s3a_conf(settings))
    return conf


LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"


def listing_tasks(shuffle_partitions: int) -> int:
    """Tasks of a Spark job that lists many input files: four per shuffle partition, at least 8."""
    return max(8, 4 * shuffle_partitions)


def shuffle_partitions_for(rows: int, configured: int) -> int:
    """Shuffle partitions for a run over `rows` input rows: at least `configured`, and one
    per `ROWS_PER_SHUFFLE_PARTITION` rows."""
    return max(configured, math.ceil(rows / ROWS_PER_SHUFFLE_PARTITION))


@contextmanager
def execution_for(
    spark: SparkSession, *, is_small: bool, rows: int | None = None
) -> Iterator[None]:
    """Interpreted expressions inside the block when the run is small; Spark's defaults else.

    Spark generates and compiles Java code for every query (Janino, then the JIT). On a daily
    increment of a few thousand rows that compilation is most of the work: in a fresh
    process, one new day through Silver and Gold took 42 + 54 s compiled and 32 + 34 s
    interpreted, while a full rebuild was the same or slower interpreted (Silver 122 s vs
    126 s, Gold 59 s vs 69 s; docs/benchmarks.md, issue 18).

    A large run over `rows` input rows also gets more shuffle partitions than the session's
    (`shuffle_partitions_for`): the few partitions that keep a daily run's many small
    shuffles cheap made each task of a 3.3M-event first build sort a million rows and spill
    (docs/benchmarks.md, issue 18). Adaptive execution still merges partitions that turn out
    small. The previous values are restored.
    """
    if is_small:
        with session_settings(spark, SMALL_RUN_CONF):
            yield
        return
    configured = int(spark.conf.get("spark.sql.shuffle.partitions") or "200")
    partitions = shuffle_partitions_for(rows or 0, configured)
    with session_settings(spark, {"spark.sql.shuffle.partitions": str(partitions)}):
        yield


@contextmanager
def session_settings(spark: SparkSession, values: Mapping[str, str]) -> Iterator[None]:
    """Set session confs for a block and restore the previous values."""
    previous = {key: spark.conf.get(key, None) for key in values}
    for key, value in values.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, old in previous.items():
            if old is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, old)


def is_local_master(master: str | None) -> bool:
    """Whether a master URL runs everything in this process (`local`, `local[2]`, ...)."""
    return master is not None and (master == "local" or master.startswith("local["))


def spark_conf(settings: Settings, app_name: str, *, use_jar_cache: bool = True) -> dict[str, str]:
    """Every setting of an embedded finlake session (finlake launches the JVM); no secrets."""
    conf: dict[str, str] = {
        "spark.master": settings.spark_master,
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.driver.extraJavaOptions": DRIVER_JAVA_OPTIONS,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # No UI: keep little job/SQL history in the driver's status store.
        "spark.ui.retainedJobs": "100",
        "spark.ui.retainedStages": "100",
        "spark.sql.ui.retainedExecutions": "50",
        **_jar_conf(settings, use_jar_cache),
        **session_conf(settings, app_name),
    }
    if is_local_master(settings.spark_master):
        conf["spark.driver.host"] = LOOPBACK
        conf["spark.driver.bindAddress"] = LOOPBACK
    return conf


def fill_unset(wanted: Mapping[str, str], preset: Mapping[str, str]) -> dict[str, str]:
    """`wanted` minus the keys `preset` already has; list keys get our entries appended."""
    out: dict[str, str] = {}
    for key, value in wanted.items():
        if key not in preset:
            out[key] = value
        elif key in LIST_KEYS:
            have = [v.strip() for v in preset[key].split(",") if v.strip()]
            missing = [v for v in value.split(",") if v not in have]
            if missing:
                out[key] = ",".join([*have, *missing])
    return out


# ----------------------------------------------------------------------------- launcher


def launcher_conf() -> dict[str, str] | None:
    """Settings of the launcher that started this driver's JVM, or None when there is none.

    spark-submit (and EMR, which runs it) starts the JVM first and hands Python its gateway
    (`PYSPARK_GATEWAY_PORT`); the JVM's `spark.*` system properties then hold everything the
    launcher set: `--master`, `--conf`, `--properties-file`, `spark-defaults.conf`.
    """
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return None
    SparkContext._ensure_initialized()
    return dict(SparkConf().getAll())


def read_properties(path: Path) -> dict[str, str]:
    """A `spark-defaults.conf`-style file: `key value` or `key=value` lines, `#`/`!` comments."""
    out: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", "!")):
            key, *value = _PROPERTY_SEPARATOR.split(line, maxsplit=1)
            out[key] = value[0].strip() if value else ""
    return out


def _spark_home() -> Path:
    """`SPARK_HOME`, else the installed pyspark package (a pip install is a Spark home)."""
    import pyspark

    return Path(os.environ.get("SPARK_HOME") or Path(pyspark.__file__).resolve().parent)


def _defaults_file() -> Path | None:
    conf_dir = os.environ.get("SPARK_CONF_DIR")
    path = (Path(conf_dir) if conf_dir else _spark_home() / "conf") / "spark-defaults.conf"
    return path if path.is_file() else None


def submit_args_conf(args: str) -> tuple[dict[str, str], Path | None, bool]:
    """Settings named by spark-submit options (`PYSPARK_SUBMIT_ARGS`), its properties file,
    and whether `spark-defaults.conf` still applies."""
    conf: dict[str, str] = {}
    properties: Path | None = None
    load_defaults = False
    tokens = shlex.split(args)
    for i, token in enumerate(tokens):
        value = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in ("--conf", "-c") and "=" in value:
            key, _, val = value.partition("=")
            conf[key] = val
        elif token in _SUBMIT_OPTIONS:
            conf[_SUBMIT_OPTIONS[token]] = value
        elif token == "--properties-file":
            properties = Path(value)
        elif token == "--load-spark-defaults":
            load_defaults = True
    return conf, properties, load_defaults or properties is None


def user_spark_conf() -> dict[str, str]:
    """What the user configured for an embedded launch: spark-defaults.conf (or the
    `--properties-file` of PYSPARK_SUBMIT_ARGS), then PYSPARK_SUBMIT_ARGS's own options."""
    options, properties, load_defaults = submit_args_conf(os.environ.get("PYSPARK_SUBMIT_ARGS", ""))
    out: dict[str, str] = {}
    defaults = _defaults_file() if load_defaults else None
    for path in (defaults, properties):
        if path is not None:
            out.update(read_properties(path))
    out.update(options)
    return out


# ----------------------------------------------------------------------------- sessions


_SERVED_SESSION: SparkSession | None = None


def use_session(spark: SparkSession | None) -> None:
    """Make `get_spark` return `spark` (the warm driver's session); None: build one again."""
    global _SERVED_SESSION
    _SERVED_SESSION = spark


def get_spark(
    settings: Settings,
    app_name: str = "finlake",
    *,
    use_jar_cache: bool = True,
    dump_classes: bool = False,
) -> SparkSession:
    """Return the process's SparkSession: the launcher's settings first, finlake's fill the rest.

    `dump_classes`: the driver records the classes it loaded in its class-data-sharing archive
    when its JVM exits (`jobs.bootstrap`); otherwise it maps that archive when one was built.
    """
    if _SERVED_SESSION is not None:
        return _SERVED_SESSION
    ensure_java17()
    launched = launcher_conf()
    if launched is None:
        preset = user_spark_conf()
        conf = embedded_conf(settings, app_name, preset, use_jar_cache=use_jar_cache)
        if is_local_master(preset.get("spark.master", settings.spark_master)):
            os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
        if "spark.driver.extraJavaOptions" in conf:  # ours: the user set none
            archive = driver_class_archive(settings, conf)
            options = class_archive_options(archive, dump=dump_classes)
            conf["spark.driver.extraJavaOptions"] = f"{DRIVER_JAVA_OPTIONS} {options}".strip()
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    else:
        preset = launched
        conf = fill_unset(session_conf(settings, app_name), launched)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.spark_log_level)
    with_s3_credentials(spark, settings, preset)
    without_jars_on_python_path(spark)
    return spark


def embedded_conf(
    settings: Settings, app_name: str, preset: Mapping[str, str], *, use_jar_cache: bool = True
) -> dict[str, str]:
    """What an embedded session sets on top of the user's `preset` (see `get_spark`)."""
    conf = fill_unset(spark_conf(settings, app_name, use_jar_cache=use_jar_cache), preset)
    if is_local_master(preset.get("spark.master", settings.spark_master)):
        conf.update(_local_fs(settings, preset))
    else:  # a remote master must be able to reach this driver
        conf.pop("spark.driver.host", None)
        conf.pop("spark.driver.bindAddress", None)
    return conf


def driver_class_archive(settings: Settings, conf: Mapping[str, str]) -> Path:
    """The class-data-sharing archive of a driver with this JDK, Spark version and JARs."""
    import pyspark

    java_home = os.path.realpath(os.environ.get("JAVA_HOME", ""))
    key = [java_home, pyspark.__version__]
    key += [conf.get(k, "") for k in ("spark.jars", "spark.driver.extraClassPath")]
    return class_archive_path(settings.cache_dir, key)


def _local_fs(settings: Settings, preset: Mapping[str, str]) -> dict[str, str]:
    """The fork-free local file system (`jobs.jvm`) of a local-mode session, unless the user
    set the driver class path or a local file system of their own."""
    wanted = local_fs_conf(settings.cache_dir)
    return {} if any(key in preset for key in wanted) else wanted


def with_s3_credentials(spark: SparkSession, settings: Settings, preset: Mapping[str, str]) -> None:
    """Put `FINLAKE_S3_ACCESS_KEY/SECRET_KEY` on the driver's Hadoop configuration.

    Set after the JVM started, so the keys are on no command line (neither the JVM that PySpark
    launches nor a spark-submit); executors receive them inside each task's Hadoop
    configuration. Without these settings S3A uses its provider chain (`AWS_ACCESS_KEY_ID` /
    `AWS_SECRET_ACCESS_KEY`, web identity, instance or task role); a launcher that configured
    S3A credentials itself is left alone.
    """
    if not (settings.s3_access_key and settings.s3_secret_key) or not _uses_s3(settings):
        return
    if any(key in preset for key in S3A_CREDENTIAL_KEYS):
        return
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    hadoop.set("fs.s3a.access.key", settings.s3_access_key.get_secret_value())
    hadoop.set("fs.s3a.secret.key", settings.s3_secret_key.get_secret_value())


def without_jars_on_python_path(spark: SparkSession) -> None:
    """Keep the `--packages` JARs (Delta and its dependencies) off the Python workers' path.

    PySpark ships every resolved package JAR to each Python task as a path entry, and the
    worker calls `importlib.invalidate_caches()` per task, which makes every later import
    re-read ~40 JAR directories: measured here as ~0.13 s of extra wall time per
    `applyInPandas` task (24 tasks of a no-op UDF: 3.2 s with the JARs, 1.6 s without).
    The Python side of Delta comes from the installed `delta-spark` package, not the JAR.
    Cached JARs (`spark.jars`) are never on that path; this only matters for `--packages`.
    """
    context = spark.sparkContext
    includes: list[str] = getattr(context, "_python_includes", None) or []
    context._python_includes = [p for p in includes if not p.lower().endswith(".jar")]


# ----------------------------------------------------------------------------- spark-submit


def code_archive(dist_dir: Path) -> Path | None:
    """The project's code archive built by `make dist` (`finlake-<version>-code.zip`)."""
    found = sorted(dist_dir.glob("finlake-*-code.zip"))
    return found[-1].resolve() if found else None


def launch_conf(
    settings: Settings, *, dist_dir: Path | None = None, python: str | None = None
) -> dict[str, str]:
    """What spark-submit must pass when the driver JVM starts (JARs, Python, code): no secrets.

    The session settings are not in here: `get_spark` fills them in the driver unless the
    launcher or the cluster's `spark-defaults.conf` already set them.
    """
    python = python or sys.executable
    conf: dict[str, str] = {
        **_jar_conf(settings),
        "spark.driver.extraJavaOptions": DRIVER_JAVA_OPTIONS,
        "spark.pyspark.driver.python": python,
        "spark.pyspark.python": python,
    }
    archive = code_archive(dist_dir or Path("dist"))
    if archive is not None:
        conf["spark.archives"] = f"{archive}#{CODE_ARCHIVE_ALIAS}"
        conf["spark.executorEnv.PYTHONPATH"] = CODE_ARCHIVE_ALIAS
    return conf


def spark_submit_args(
    settings: Settings,
    app_name: str,
    *,
    dist_dir: Path | None = None,
    python: str | None = None,
) -> list[str]:
    """`spark-submit` arguments of a finlake job (before `jobs/<job>.py`); never a secret.

    The master and deploy mode are the caller's (`--master spark://...`); executors run
    `python` (default: this interpreter) and import the project from the code archive of
    `dist_dir` (default `./dist`, built by `make dist`) when there is one.
    """
    args = ["--name", app_name]
    for key, value in launch_conf(settings, dist_dir=dist_dir, python=python).items():
        if key == "spark.jars":
            args += ["--jars", value]
        elif key == "spark.jars.packages":
            args += ["--packages", value]
        elif key == "spark.archives":
            args += ["--archives", value]
        else:
            args += ["--conf", f"{key}={value}"]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Print the spark-submit arguments of a job: `python -m jobs.spark --app finlake-gold`."""
    parser = argparse.ArgumentParser(prog="python -m jobs.spark", description=main.__doc__)
    parser.add_argument("--app", default="finlake", help="application name (--name)")
    parser.add_argument("--dist", type=Path, default=Path("dist"), help="folder of `make dist`")
    parser.add_argument("--python", default=None, help="driver/executor Python (default: this)")
    parser.add_argument("--json", action="store_true", help="launch settings as JSON")
    args = parser.parse_args(argv)
    settings = get_settings()
    if code_archive(args.dist) is None:
        print(f"note: no code archive in {args.dist}/ (run `make dist`)", file=sys.stderr)
    if args.json:
        print(json.dumps(launch_conf(settings, dist_dir=args.dist, python=args.python), indent=2))
    else:
        found = spark_submit_args(settings, args.app, dist_dir=args.dist, python=args.python)
        print(shlex.join(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
