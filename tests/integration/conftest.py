"""Integration fixtures: a real S3-compatible server (moto) on loopback.

`s3_server` is session-scoped and shared (never stop it in a test); it exposes the endpoint,
bucket and credentials, a boto3 client, finlake `Settings` and the Spark S3A options. Tests
that need to take a store down use `disposable_s3_server`, their own server on its own port.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from conf.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

S3_ACCESS_KEY = "finlake-test-access"
S3_SECRET_KEY = "finlake-test-secret"
S3_REGION = "us-east-1"
S3_BUCKET = "finlake-test"


class MotoServer:
    """moto's threaded S3 server on 127.0.0.1 that can be stopped and restarted on its port."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._server: Any = None

    def start(self) -> MotoServer:
        """Start serving (on the same port as before after a stop)."""
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket (connections are then refused)."""
        if self._server is not None:
            self._server.stop()
            self._server._server.server_close()
            self._server = None

    @property
    def endpoint(self) -> str:
        """`http://127.0.0.1:{port}`."""
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class S3Server:
    """Connection facts of a running S3-compatible server with one created bucket."""

    endpoint: str
    bucket: str
    access_key: str = S3_ACCESS_KEY
    secret_key: str = S3_SECRET_KEY
    region: str = S3_REGION

    def client(self) -> S3Client:
        """A boto3 S3 client for this server (path-style addressing)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )

    def lake_root(self, prefix: str | None = None) -> str:
        """`s3a://{bucket}/{prefix}`; a fresh unique prefix by default."""
        return f"s3a://{self.bucket}/{prefix or 'lake-' + uuid.uuid4().hex[:12]}"

    def settings(self, prefix: str | None = None, **overrides: Any) -> Settings:
        """Test-profile finlake settings whose lake lives on this server."""
        values: dict[str, Any] = {
            "lake_root": self.lake_root(prefix),
            "s3_endpoint": self.endpoint,
            "s3_region": self.region,
            "s3_access_key": self.access_key,
            "s3_secret_key": self.secret_key,
            "s3_path_style": True,
            **overrides,
        }
        return Settings(**values)

    def spark_conf(self) -> dict[str, str]:
        """Hadoop S3A options pointing Spark at this server."""
        return {
            "spark.hadoop.fs.s3a.endpoint": self.endpoint,
            "spark.hadoop.fs.s3a.access.key": self.access_key,
            "spark.hadoop.fs.s3a.secret.key": self.secret_key,
            "spark.hadoop.fs.s3a.endpoint.region": self.region,
            "spark.hadoop.fs.s3a.path.style.access": "true",
            "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
            "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
            "spark.hadoop.fs.s3a.aws.credentials.provider": (
                "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
            ),
        }


def _create_bucket(server: S3Server) -> None:
    client = server.client()
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if server.bucket not in existing:
        client.create_bucket(Bucket=server.bucket)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """Shared moto S3 server on a free loopback port, with bucket `finlake-test` created."""
    moto = MotoServer().start()
    server = S3Server(endpoint=moto.endpoint, bucket=S3_BUCKET)
    _create_bucket(server)
    yield server
    moto.stop()


@pytest.fixture
def s3_settings(s3_server: S3Server) -> Settings:
    """Settings whose lake is a fresh prefix of the shared bucket."""
    return s3_server.settings()


@pytest.fixture
def disposable_s3_server() -> Iterator[tuple[MotoServer, S3Server]]:
    """A private moto server (and bucket) that a test may stop and restart."""
    moto = MotoServer().start()
    server = S3Server(endpoint=moto.endpoint, bucket=f"finlake-disposable-{uuid.uuid4().hex[:8]}")
    _create_bucket(server)
    yield moto, server
    moto.stop()
