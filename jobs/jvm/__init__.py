"""finlake's JVM helpers: a local file system for Hadoop that forks no processes, and a
class-data-sharing archive that shortens every driver's start.

Without Hadoop's native library (pyspark does not ship one), Hadoop's local file system runs a
`chmod` process for every file it creates and a `readlink` for every link-status lookup; Delta's
log store does one of those per commit. One daily run on a local lake forked some 600 processes
(docs/benchmarks.md, issue 18). `finlake/hadoop/*.java` does the same through `java.nio`.

`build_local_fs_jar` compiles them once against the Hadoop API that pyspark ships (`make
install` runs it through `jobs.bootstrap`) into `{cache_dir}/jvm/`, keyed by the sources and the
Spark version. `local_fs_conf` gives the settings of an embedded local-mode session that use the
JAR, or nothing when it was not built (no JDK compiler, e.g. the runtime image): Hadoop's own
classes then do the same work, more slowly.

A fresh driver JVM loads and verifies tens of thousands of Spark and Delta classes before its
first query. `jobs.bootstrap` records them once in a class-data-sharing archive (a short Delta
workload in a JVM started with `-XX:ArchiveClassesAtExit`), keyed by the JDK, the Spark
version and the JARs; `class_archive_options` makes later drivers map it. A JVM that finds the
archive unusable (another JDK, changed JARs) starts without it, silently (docs/benchmarks.md,
issue 18).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("finlake.jvm")

SOURCES = Path(__file__).resolve().parent / "finlake" / "hadoop"
LOCAL_FS_CONF = {
    "spark.hadoop.fs.file.impl": "finlake.hadoop.NoForkLocalFileSystem",
    "spark.hadoop.fs.AbstractFileSystem.file.impl": "finlake.hadoop.NoForkLocalFs",
}


def _spark_jars_dir() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent / "jars"


def local_fs_jar_path(cache_dir: Path) -> Path:
    """Where the JAR of the current sources and Spark version lives (built or not)."""
    import pyspark

    digest = hashlib.sha256(pyspark.__version__.encode())
    for source in sorted(SOURCES.glob("*.java")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return cache_dir / "jvm" / f"finlake-hadoop-{digest.hexdigest()[:16]}.jar"


def _javac() -> str | None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and Path(java_home, "bin", "javac").is_file():
        return str(Path(java_home, "bin", "javac"))
    return shutil.which("javac")


def build_local_fs_jar(cache_dir: Path) -> Path | None:
    """Compile the local file system classes into the cache (once); None without a compiler."""
    target = local_fs_jar_path(cache_dir)
    if target.is_file():
        return target
    javac = _javac()
    hadoop_api = sorted(_spark_jars_dir().glob("hadoop-client-api-*.jar"))
    if javac is None or not hadoop_api:
        log.warning("no JDK compiler or Hadoop API JAR: Hadoop's local file system stays in use")
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        classes = Path(tmp, "classes")
        command = [javac, "--release", "17", "-nowarn", "-cp", str(hadoop_api[-1])]
        command += ["-d", str(classes), *map(str, sorted(SOURCES.glob("*.java")))]
        subprocess.run(command, check=True, capture_output=True, text=True)
        partial = target.with_suffix(".part")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
            for path in sorted(classes.rglob("*.class")):
                jar.write(path, path.relative_to(classes).as_posix())
        partial.replace(target)
    return target


def local_fs_conf(cache_dir: Path) -> dict[str, str]:
    """Settings of an embedded local-mode session that load the built JAR, else nothing."""
    jar = local_fs_jar_path(cache_dir)
    if not jar.is_file():
        log.info("the fork-free local file system is not built: run `make install`")
        return {}
    return {"spark.driver.extraClassPath": str(jar), **LOCAL_FS_CONF}


# Class-data-sharing messages off: a JVM that cannot use the archive just starts without it.
CDS_QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"


def class_archive_path(cache_dir: Path, key: Sequence[str]) -> Path:
    """The class-data-sharing archive of a driver whose JDK, Spark and JARs are `key`."""
    digest = hashlib.sha256("\n".join(key).encode()).hexdigest()[:16]
    return cache_dir / "jvm" / f"driver-classes-{digest}.jsa"


def class_archive_options(archive: Path, *, dump: bool = False) -> str:
    """JVM options that map `archive` (or, with `dump`, write it when the JVM exits)."""
    if dump:  # written beside the archive; `jobs.bootstrap` renames it once the JVM is gone
        return f"-XX:ArchiveClassesAtExit={archive.with_suffix('.part')} {CDS_QUIET}"
    return f"-XX:SharedArchiveFile={archive} {CDS_QUIET}" if archive.is_file() else ""
