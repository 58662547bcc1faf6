"""Cluster fixtures: a Spark standalone cluster (master + 2 workers of 1 core) on loopback, the
project's spark-submit distribution (`make dist` equivalent) and a private S3 server (moto)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conf.settings import Settings
from jobs.bootstrap import build_dist
from tests.cluster.standalone import StandaloneCluster, shared_cluster
from tests.integration.conftest import MotoServer, S3Server


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    """The session's standalone cluster (shared with the Airflow runner test)."""
    with shared_cluster(tmp_path_factory.mktemp("spark-cluster")) as cluster:
        yield cluster


_built: list[Path] = []


@pytest.fixture(scope="session")
def dist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheel, code archive and spark-submit.json of this checkout (what `make dist` builds);
    built once per session, whichever suite asks first."""
    if not _built:
        out = tmp_path_factory.mktemp("dist")
        build_dist(out, Settings())
        _built.append(out)
    return _built[0]


@pytest.fixture(scope="session")
def cluster_s3() -> Iterator[S3Server]:
    """A moto S3 server of its own with a fresh bucket (the cluster suite's lake)."""
    moto = MotoServer().start()
    server = S3Server(
        endpoint=moto.endpoint,
        bucket=f"finlake-cluster-{uuid.uuid4().hex[:8]}",
        secret_key=f"finlake-cluster-secret-{uuid.uuid4().hex}",
    )
    server.client().create_bucket(Bucket=server.bucket)
    yield server
    moto.stop()
