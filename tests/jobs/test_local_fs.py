"""finlake's fork-free local file system (`jobs.jvm`): loaded, and behaving as Hadoop's own.

The suite's session is an embedded local-mode session, so it runs on these classes; every
Delta test of the suite therefore exercises them as well.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from conf.settings import Settings
from jobs.jvm import LOCAL_FS_CONF, local_fs_conf, local_fs_jar_path
from jobs.spark import _local_fs


def _hadoop(spark: SparkSession) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    return jvm, spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[union-attr]


def _path(jvm: Any, path: Path) -> Any:
    return jvm.org.apache.hadoop.fs.Path(path.as_uri())


def test_the_session_runs_on_the_fork_free_classes(spark: SparkSession, tmp_path: Path) -> None:
    jvm, conf = _hadoop(spark)
    fs = jvm.org.apache.hadoop.fs.FileSystem.get(_path(jvm, tmp_path).toUri(), conf)
    assert fs.getClass().getName() == "finlake.hadoop.NoForkLocalFileSystem"
    assert fs.getRaw().getClass().getName() == "finlake.hadoop.NoForkRawLocalFileSystem"
    context = jvm.org.apache.hadoop.fs.FileContext.getFileContext(conf)
    assert context.getDefaultFileSystem().getClass().getName() == "finlake.hadoop.NoForkLocalFs"


@pytest.mark.parametrize("mode", [0o640, 0o755, 0o600, 0o444])
def test_permissions_are_set_as_asked(spark: SparkSession, tmp_path: Path, mode: int) -> None:
    jvm, conf = _hadoop(spark)
    target = tmp_path / "file.txt"
    target.write_text("x")
    fs = jvm.org.apache.hadoop.fs.FileSystem.get(_path(jvm, tmp_path).toUri(), conf)
    fs.setPermission(_path(jvm, target), jvm.org.apache.hadoop.fs.permission.FsPermission(mode))
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_created_files_get_the_default_permission_under_the_umask(
    spark: SparkSession, tmp_path: Path
) -> None:
    jvm, conf = _hadoop(spark)
    fs = jvm.org.apache.hadoop.fs.FileSystem.get(_path(jvm, tmp_path).toUri(), conf)
    out = fs.create(_path(jvm, tmp_path / "created.txt"))
    out.write(b"abc")
    out.close()
    umask = jvm.org.apache.hadoop.fs.permission.FsPermission.getUMask(conf).toShort()
    expected = 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "created.txt").stat().st_mode) == expected
    assert (tmp_path / "created.txt").read_bytes() == b"abc"
    assert (tmp_path / ".created.txt.crc").exists()  # still the checksummed file system


@pytest.mark.parametrize("qualified", [True, False])
def test_link_status_is_hadoops_for_a_file_a_link_and_a_missing_path(
    spark: SparkSession, tmp_path: Path, qualified: bool
) -> None:
    jvm, conf = _hadoop(spark)
    ours = jvm.finlake.hadoop.NoForkRawLocalFileSystem()
    hadoops = jvm.org.apache.hadoop.fs.RawLocalFileSystem()
    for fs in (ours, hadoops):
        fs.initialize(jvm.java.net.URI("file:///"), conf)
    plain, link = tmp_path / "plain.txt", tmp_path / "link.txt"
    plain.write_text("hello")
    os.symlink(plain, link)

    def status(fs: Any, path: Path) -> tuple[Any, ...]:
        hadoop_path = _path(jvm, path) if qualified else jvm.org.apache.hadoop.fs.Path(str(path))
        try:
            found = fs.getFileLinkStatus(hadoop_path)
        except Exception as exc:
            return ("missing", "FileNotFoundException" in str(exc))
        target = found.getSymlink().toUri().getPath() if found.isSymlink() else None
        return (found.isSymlink(), found.isFile(), found.getLen(), target)

    for path in (plain, link, tmp_path / "missing.txt"):
        assert status(ours, path) == status(hadoops, path)
    assert status(ours, tmp_path / "missing.txt") == ("missing", True)
    if not qualified:  # Hadoop reads the link only for a path without a scheme
        assert status(ours, link)[::3] == (True, str(plain))


def test_file_context_renames_without_overwriting(spark: SparkSession, tmp_path: Path) -> None:
    """Delta's log store commits by a FileContext rename that must fail on an existing target."""
    jvm, conf = _hadoop(spark)
    context = jvm.org.apache.hadoop.fs.FileContext.getFileContext(conf)
    source, target = tmp_path / "00001.json.tmp", tmp_path / "00001.json"
    source.write_text("{}")
    target.write_text("{}")
    none = jvm.org.apache.hadoop.fs.Options.Rename.NONE
    renames = jvm.org.apache.hadoop.fs.Options.Rename
    options = spark.sparkContext._gateway.new_array(renames, 1)  # type: ignore[union-attr]
    options[0] = none
    with pytest.raises(Exception, match="FileAlreadyExistsException"):
        context.rename(_path(jvm, source), _path(jvm, target), options)
    target.unlink()
    context.rename(_path(jvm, source), _path(jvm, target), options)
    assert target.read_text() == "{}" and not source.exists()


def test_conf_only_when_built_and_not_set_by_the_user(tmp_path: Path) -> None:
    assert local_fs_conf(tmp_path) == {}  # nothing built in this cache
    jar = local_fs_jar_path(tmp_path)
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"PK")
    assert local_fs_conf(tmp_path) == {"spark.driver.extraClassPath": str(jar), **LOCAL_FS_CONF}
    settings = Settings(cache_dir=tmp_path)
    assert _local_fs(settings, {}) == local_fs_conf(tmp_path)
    assert _local_fs(settings, {"spark.driver.extraClassPath": "/opt/x.jar"}) == {}
    assert _local_fs(settings, {"spark.hadoop.fs.file.impl": "my.Fs"}) == {}
