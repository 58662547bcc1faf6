"""Kill a job process (its whole process group, JVM included) once a Delta commit appears."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def kill_at_commit(
    proc: subprocess.Popen[bytes], commit: Path, log_path: Path, timeout_s: float
) -> None:
    """Wait for `commit` to exist, then SIGKILL `proc`'s process group; assert it died by it."""
    deadline = time.monotonic() + timeout_s
    try:
        while not commit.exists():
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, f"no commit {commit} in time"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, log_path.read_text()[-3000:]
