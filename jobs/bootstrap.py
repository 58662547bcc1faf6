"""Resolve and cache the Spark JARs (Delta Lake, hadoop-aws) once: `python -m jobs.bootstrap`."""

from __future__ import annotations

import time

from conf.settings import Settings
from jobs.spark import get_spark


def main() -> None:
    """Start and stop a session so Ivy fills the JAR cache."""
    t0 = time.perf_counter()
    settings = Settings()
    spark = get_spark(settings, "finlake-bootstrap")
    spark.range(1).count()
    spark.stop()
    print(f"spark jars ready in {settings.cache_dir / 'ivy'} ({time.perf_counter() - t0:.1f}s)")


if __name__ == "__main__":
    main()
