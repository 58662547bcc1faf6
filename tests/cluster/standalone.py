"""A Spark standalone cluster on loopback, started from the installed pyspark (no download).

One master and N workers (`spark-class org.apache.spark.deploy.{master.Master,worker.Worker}`),
each in its own process group so that stopping it also stops the executors and Python workers
it forked. `shared_cluster` hands one cluster to every suite of a pytest session (the cluster
tests and the Airflow spark_submit runner test) and stops it after the last user.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyspark

SPARK_HOME = Path(pyspark.__file__).resolve().parent
JAVA17 = Path("/usr/lib/jvm/java-17-openjdk-amd64")
LOOPBACK = "127.0.0.1"


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the process that started it dies (a killed
    pytest must not leave a cluster behind; Linux prctl PR_SET_PDEATHSIG, kept across exec)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def spark_env(**extra: str) -> dict[str, str]:
    """A clean environment for Spark daemons and spark-submit: JDK 17, loopback, no venv vars."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": LOOPBACK,
        "SPARK_NO_DAEMONIZE": "1",
    }
    java_home = os.environ.get("JAVA_HOME") or (str(JAVA17) if JAVA17.is_dir() else None)
    if java_home:
        env["JAVA_HOME"] = java_home
    env.update(extra)
    return env


@dataclass
class StandaloneCluster:
    """Master + workers on 127.0.0.1; `master_url`, `ui_url`, JSON status of each daemon."""

    workdir: Path
    workers: int = 2
    cores_per_worker: int = 1
    memory_per_worker: str = "2g"
    master_port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    worker_ui_ports: list[int] = field(default_factory=list)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def master_url(self) -> str:
        """`spark://127.0.0.1:<port>`."""
        return f"spark://{LOOPBACK}:{self.master_port}"

    @property
    def ui_url(self) -> str:
        """The master's web UI (its JSON API is `ui_url + "/json/"`)."""
        return f"http://{LOOPBACK}:{self.ui_port}"

    def _spawn(self, name: str, args: list[str]) -> None:
        log = (self.workdir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [str(SPARK_HOME / "bin" / "spark-class"), *args],
            env=spark_env(SPARK_LOG_DIR=str(self.workdir), SPARK_WORKER_DIR=str(self.workdir)),
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: executors die with it
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        log.close()
        self._procs.append(proc)

    def start(self, timeout: float = 120) -> StandaloneCluster:
        """Start the master and the workers; wait until every worker is ALIVE."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._spawn(
            "master",
            [
                "org.apache.spark.deploy.master.Master",
                *("--host", LOOPBACK, "--port", str(self.master_port)),
                *("--webui-port", str(self.ui_port)),
            ],
        )
        for i in range(self.workers):
            ui = free_port()
            self.worker_ui_ports.append(ui)
            work = self.workdir / f"worker-{i}"
            work.mkdir(exist_ok=True)
            self._spawn(
                f"worker-{i}",
                [
                    "org.apache.spark.deploy.worker.Worker",
                    *("--host", LOOPBACK, "--webui-port", str(ui), "--work-dir", str(work)),
                    *("--cores", str(self.cores_per_worker), "--memory", self.memory_per_worker),
                    self.master_url,
                ],
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_running()
            with contextlib.suppress(OSError, ValueError):
                if self.status().get("aliveworkers") == self.workers:
                    return self
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"standalone cluster not up in {timeout}s; logs in {self.workdir}")

    def _check_running(self) -> None:
        for proc in self._procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a Spark daemon exited ({proc.returncode}); see {self.workdir}")

    def status(self) -> dict[str, Any]:
        """The master's JSON API: workers, `activeapps`, `completedapps`."""
        with urllib.request.urlopen(f"{self.ui_url}/json/", timeout=5) as response:
            data: dict[str, Any] = json.load(response)
        return data

    def worker_status(self) -> list[dict[str, Any]]:
        """Each worker's JSON API (`executors`, `finishedexecutors` with their app ids)."""
        out = []
        for port in self.worker_ui_ports:
            with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/json/", timeout=5) as response:
                out.append(json.load(response))
        return out

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM every daemon's process group, SIGKILL what is left after `timeout`."""
        for proc in reversed(self._procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self._procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # executors/python workers left behind
            proc.wait()
        self._procs.clear()


_shared: StandaloneCluster | None = None
_users = 0


@contextlib.contextmanager
def shared_cluster(workdir: Path) -> Iterator[StandaloneCluster]:
    """One cluster per pytest session, whichever suite asks first; stopped after the last."""
    global _shared, _users
    if _shared is None:
        _shared = StandaloneCluster(workdir).start()
    _users += 1
    try:
        yield _shared
    finally:
        _users -= 1
        if _users == 0:
            _shared.stop()
            _shared = None
