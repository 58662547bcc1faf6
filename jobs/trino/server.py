"""Install, start, probe and stop the local single-node Trino (the `bin/launcher` daemon)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import ssl
import subprocess
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conf.settings import Settings
from jobs.trino.config import write_config
from jobs.trino.java import find_trino_java, java_major
from jobs.trino.maven import download_tarball
from jobs.trino.paths import KEEP_PLUGINS, TRINO_MIN_JAVA, trino_paths

log = logging.getLogger(__name__)

PID_GRACE_S = 15.0


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
    if marker.exists() and marker.read_text().split() == [paths.version, *sorted(KEEP_PLUGINS)]:
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
    marker.write_text(" ".join([paths.version, *sorted(KEEP_PLUGINS)]) + "\n")
    return paths.install


def base_url(settings: Settings) -> str:
    """`http(s)://host:port` of the configured Trino."""
    return f"{settings.trino_scheme}://{settings.trino_host}:{settings.trino_port}"


def server_info(settings: Settings, timeout: float = 2.0) -> dict[str, Any] | None:
    """`/v1/info` of the configured Trino (no login needed), or None when it does not answer."""
    context = None
    if settings.trino_scheme == "https":
        cafile = str(settings.trino_ca_file) if settings.trino_ca_file else None
        context = ssl.create_default_context(cafile=cafile)
    try:
        with urllib.request.urlopen(
            f"{base_url(settings)}/v1/info", timeout=timeout, context=context
        ) as response:
            info: dict[str, Any] = json.loads(response.read())
    except (OSError, ValueError):
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


def pid_alive(settings: Settings) -> bool:
    """Whether the process named by the launcher's pid file is running."""
    pid_file = trino_paths(settings).pid_file
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def wait_ready(settings: Settings, timeout_s: float = 240.0) -> None:
    """Block until `/v1/info` says the server is not starting (or raise)."""
    started = time.monotonic()
    deadline = started + timeout_s
    while time.monotonic() < deadline:
        if is_ready(settings):
            return
        # the daemonized launcher may write its pid file a moment after returning
        if not pid_alive(settings) and time.monotonic() - started > PID_GRACE_S:
            break
        time.sleep(0.25)
    log_tail = ""
    server_log = trino_paths(settings).server_log
    if server_log.exists():
        log_tail = "\n".join(server_log.read_text(errors="replace").splitlines()[-30:])
    raise TimeoutError(f"Trino did not become ready (see {server_log})\n{log_tail}")


def start(settings: Settings, timeout_s: float = 240.0) -> float:
    """Install, configure and start Trino in the background; return seconds until ready."""
    if is_ready(settings):
        return 0.0
    install(settings)
    java_home = find_trino_java()
    write_config(settings, java_major(java_home) or TRINO_MIN_JAVA)
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


def stop(settings: Settings, timeout_s: float = 60.0) -> None:
    """Stop the background Trino started by `start` and wait until it is gone.

    A server that has not shut down gracefully within `timeout_s` is killed.
    """
    paths = trino_paths(settings)
    if not paths.install.exists():
        return
    java_home = find_trino_java()
    _launcher(settings, "stop", java_home)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(settings) and server_info(settings, timeout=1.0) is None:
            return
        time.sleep(0.25)
    log.warning("trino did not stop within %.0f s; killing it", timeout_s)
    _launcher(settings, "kill", java_home)
