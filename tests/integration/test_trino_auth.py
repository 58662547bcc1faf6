"""A real Trino in secure mode: TLS, password file, groups and file-based access control.

The server gets a self-signed certificate made here (`cryptography`), a PBKDF2 password file
for the admin (`finlake`), the metrics API (`finlake-api`) and an analyst, and the access
rules rendered by `jobs.trino.config`. Proven: a wrong or missing password and plain HTTP are
refused, the analyst reads `gold` but never `ops`, the API user reads exactly the tables the
metrics API serves (and their `$history`) and can change nothing.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from api.trino_client import API_TABLES, StoreUnavailableError, TrinoMetricsStore
from conf.catalog import TABLES
from conf.settings import Settings
from jobs import trino
from jobs.trino.paths import trino_paths

pytestmark = [pytest.mark.integration, pytest.mark.trino]

PASSWORDS = {name: secrets.token_urlsafe(24) for name in ("finlake", "finlake-api", "alice")}
LAKE_TABLES = ("gold.mrr_daily", "gold.internal_scratch", "ops.pipeline_runs", "ops.secrets_audit")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _self_signed(folder: Path, password: str) -> tuple[Path, Path]:
    """A PKCS#12 keystore for Trino and the PEM certificate that clients trust."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    keystore = folder / "trino.p12"
    keystore.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"trino", key, cert, None, serialization.BestAvailableEncryption(password.encode())
        )
    )
    pem = folder / "trino-ca.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return keystore, pem


def _private_cache(tmp: Path) -> Path:
    """A cache dir of its own (etc, data, metastore) that reuses the installed server."""
    shared = trino_paths(Settings())
    trino.install(Settings())  # once per machine; a no-op when installed
    own = tmp / "cache"
    (own / "trino").mkdir(parents=True)
    (own / "trino" / shared.install.name).symlink_to(shared.install)
    (own / "trino" / "downloads").symlink_to(shared.downloads)
    return own


def _extra(settings: Settings) -> dict[str, dict[str, str]]:
    """The lake's tables outside the catalog (what the API user must never read)."""
    extra: dict[str, dict[str, str]] = {}
    for table in LAKE_TABLES:
        layer, name = table.split(".")
        if table not in TABLES:
            extra.setdefault(layer, {})[name] = f"{settings.lake_root}/{layer}/{name}"
    return extra


@pytest.fixture(scope="module")
def secure(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Settings]]:
    """Settings per user of one secured Trino over a small lake (admin, api, alice)."""
    tmp = tmp_path_factory.mktemp("trino-auth")
    lake = tmp / "lake"
    for table in LAKE_TABLES:
        layer, name = table.split(".")
        spark.range(3).withColumnRenamed("id", "version").write.format("delta").save(
            str(lake / layer / name)
        )
    store_password = secrets.token_urlsafe(16)
    keystore, pem = _self_signed(tmp, store_password)
    password_file = tmp / "password.db"
    password_file.write_text(
        "".join(trino.password_file_line(u, p) + "\n" for u, p in PASSWORDS.items())
    )
    group_file = tmp / "group.txt"
    group_file.write_text("analysts:alice\n")
    for secret in (keystore, password_file):
        os.chmod(secret, 0o600)
    server = {
        "lake_root": str(lake),
        "cache_dir": _private_cache(tmp),
        "trino_port": _free_port(),
        "trino_scheme": "https",
        "trino_host": "127.0.0.1",
        "trino_ca_file": pem,
        "trino_tls_keystore": keystore,
        "trino_tls_keystore_password": store_password,
        "trino_password_file": password_file,
        "trino_group_file": group_file,
    }
    users = {
        "admin": Settings(**server, trino_password=PASSWORDS["finlake"]),
        "api": Settings(
            **server, trino_user="finlake-api", trino_password=PASSWORDS["finlake-api"]
        ),
        "alice": Settings(**server, trino_user="alice", trino_password=PASSWORDS["alice"]),
        "wrong": Settings(**server, trino_user="finlake-api", trino_password="not-the-password"),
    }
    trino.start(users["admin"])
    try:
        registered = trino.register_tables(users["admin"], extra=_extra(users["admin"]))
        assert registered == sorted(LAKE_TABLES)
        yield users
    finally:
        trino.stop(users["admin"])


def _query(settings: Settings, sql: str, params: list[Any] | None = None) -> list[list[Any]]:
    conn = trino.connect(settings)
    try:
        cursor = conn.cursor()
        cursor.execute(sql, params)
        rows: list[list[Any]] = cursor.fetchall()
        return rows
    finally:
        conn.close()


def test_the_server_speaks_tls_only_to_clients(secure: dict[str, Settings]) -> None:
    import requests

    admin = secure["admin"]
    config = (trino_paths(admin).etc / "config.properties").read_text()
    assert "http-server.authentication.type=PASSWORD" in config
    internal_port = int(config.split("http-server.http.port=")[1].split()[0])
    assert internal_port != admin.trino_port
    # the client port is TLS: plain HTTP to it fails
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{admin.trino_port}/v1/info", timeout=5)
    # the internal HTTP port refuses client statements, with or without credentials
    statement = requests.post(
        f"http://127.0.0.1:{internal_port}/v1/statement",
        data="SELECT 1",
        headers={"X-Trino-User": "finlake"},
        auth=("finlake", PASSWORDS["finlake"]),
        timeout=10,
    )
    assert statement.status_code in (401, 403), statement.status_code
    assert (trino_paths(admin).etc / "rules.json").stat().st_mode & 0o077 == 0


def test_a_wrong_or_missing_password_is_refused(secure: dict[str, Settings]) -> None:
    from trino.exceptions import HttpError

    with pytest.raises(HttpError, match="401"):
        _query(secure["wrong"], "SELECT 1")
    anonymous = secure["api"].model_copy(update={"trino_password": None})
    with pytest.raises(HttpError, match="401"):
        _query(anonymous, "SELECT 1")
    with pytest.raises(StoreUnavailableError):
        TrinoMetricsStore(secure["wrong"]).fetch("SELECT 1")


def test_the_analyst_reads_gold_but_never_ops(secure: dict[str, Settings]) -> None:
    from trino.exceptions import TrinoUserError

    alice = secure["alice"]
    assert _query(alice, 'SELECT count(*) FROM delta.gold."mrr_daily"') == [[3]]
    assert _query(alice, "SELECT count(*) FROM delta.gold.internal_scratch") == [[3]]
    for table in ("ops.pipeline_runs", "ops.secrets_audit", 'ops."pipeline_runs$history"'):
        with pytest.raises(TrinoUserError, match="Access Denied"):
            _query(alice, f"SELECT count(*) FROM delta.{table}")
    visible = _query(alice, "SELECT table_schema FROM delta.information_schema.tables")
    assert {row[0] for row in visible} <= {"gold", "information_schema"}
    with pytest.raises(TrinoUserError, match="Access Denied"):
        _query(alice, "CREATE TABLE delta.gold.mine AS SELECT 1 AS x")


def test_the_api_user_reads_exactly_what_the_api_serves(secure: dict[str, Settings]) -> None:
    from trino.exceptions import TrinoUserError

    api = secure["api"]
    store = TrinoMetricsStore(api)
    served_here = {t for t in LAKE_TABLES if t in API_TABLES}
    assert served_here == {"gold.mrr_daily", "ops.pipeline_runs"}
    assert store.available_tables() == served_here
    versions = store.table_versions(sorted(served_here))
    assert versions == {"gold.mrr_daily": 0, "ops.pipeline_runs": 0}
    assert store.fetch('SELECT count(*) AS n FROM "delta"."ops"."pipeline_runs"') == [{"n": 3}]
    for table in ("gold.internal_scratch", "ops.secrets_audit"):
        with pytest.raises(TrinoUserError, match="Access Denied"):
            _query(api, f"SELECT count(*) FROM delta.{table}")
    for statement in (
        "INSERT INTO delta.gold.mrr_daily VALUES (9)",
        "DELETE FROM delta.ops.pipeline_runs",
        "CREATE TABLE delta.gold.api_made AS SELECT 1 AS x",
        "CALL delta.system.unregister_table(schema_name => 'gold', table_name => 'mrr_daily')",
    ):
        with pytest.raises(TrinoUserError, match="Access Denied"):
            _query(api, statement)
    # the admin's registration still works, and the table is still there for the API
    assert "gold.mrr_daily" in trino.register_tables(secure["admin"], extra=_extra(secure["admin"]))
