"""Rendering of the local Trino install: catalog variants, JVM/memory sizing, repository URL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from conf.settings import Settings
from jobs import trino

pytestmark = [pytest.mark.integration, pytest.mark.trino]


def _props(text: str) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )


def test_local_lake_catalog(tmp_path: Path) -> None:
    settings = Settings(lake_root=str(tmp_path / "lake"), cache_dir=tmp_path / "cache")
    etc = trino.write_config(settings, java_major=25)
    catalog = _props((etc / "catalog" / "delta.properties").read_text())
    assert catalog["connector.name"] == "delta_lake"
    assert catalog["fs.native-local.enabled"] == "true"
    assert catalog["delta.register-table-procedure.enabled"] == "true"
    assert catalog["hive.metastore.catalog.dir"].startswith("local:///")
    assert "fs.native-s3.enabled" not in catalog
    config = _props((etc / "config.properties").read_text())
    node = _props((etc / "node.properties").read_text())
    assert node["node.bind-ip"] == "127.0.0.1"
    assert config["http-server.http.port"] == str(settings.trino_port)
    jvm = (etc / "jvm.config").read_text()
    assert "-Xmx3G" in jvm and "--add-modules=jdk.incubator.vector" in jvm
    assert config["query.max-memory-per-node"] == "1GB"
    assert config["memory.heap-headroom-per-node"] == "768MB"


def test_s3_lake_catalog(tmp_path: Path) -> None:
    settings = Settings(
        lake_root="s3a://finlake-bucket/lake",
        cache_dir=tmp_path / "cache",
        s3_endpoint="http://127.0.0.1:9000",
        s3_access_key=SecretStr("key"),
        s3_secret_key=SecretStr("secret"),
    )
    etc = trino.write_config(settings, java_major=24)
    catalog = _props((etc / "catalog" / "delta.properties").read_text())
    assert catalog["fs.native-s3.enabled"] == "true"
    assert catalog["s3.endpoint"] == "http://127.0.0.1:9000"
    assert catalog["s3.path-style-access"] == "true"
    assert catalog["s3.aws-access-key"] == "key"
    assert (etc / "catalog" / "delta.properties").stat().st_mode & 0o077 == 0
    assert "jdk.incubator.vector" not in (etc / "jvm.config").read_text()
    assert trino.trino_location(settings, "s3a://finlake-bucket/lake/gold/mrr_daily") == (
        "s3://finlake-bucket/lake/gold/mrr_daily"
    )


def test_repository_url_comes_from_env_or_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINLAKE_MAVEN_REPO", "http://127.0.0.1:1/mirror/")
    assert trino.artifact_url("476") == (
        "http://127.0.0.1:1/mirror/io/trino/trino-server/476/trino-server-476.tar.gz"
    )
    monkeypatch.delenv("FINLAKE_MAVEN_REPO")
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".m2").mkdir()
    (tmp_path / ".m2" / "settings.xml").write_text(
        "<settings><mirrors><mirror>"
        "<id>corp</id><mirrorOf>central</mirrorOf><url>http://127.0.0.1:2/m2</url>"
        "</mirror></mirrors></settings>"
    )
    assert trino.maven_repo_url() == "http://127.0.0.1:2/m2"


def test_procedure_arguments_are_allow_listed() -> None:
    assert trino._procedure_literal("local:///tmp/lake/gold/t", trino.SAFE_LOCATION) == (
        "'local:///tmp/lake/gold/t'"
    )
    for bad in ("local:///tmp/x' OR 1=1 --", "local:///tmp/a\\b", "file:///etc"):
        with pytest.raises(ValueError, match="unsafe"):
            trino._procedure_literal(bad, trino.SAFE_LOCATION)
    assert re.match(trino.IDENTIFIER, "mrr_daily")
    with pytest.raises(ValueError, match="unsafe"):
        trino._procedure_literal('gold"; DROP', trino.IDENTIFIER)


def test_secure_mode_renders_tls_password_and_access_rules(tmp_path: Path) -> None:
    import json

    from api.trino_client import API_TABLES

    secure = Settings(
        lake_root=str(tmp_path / "lake"),
        cache_dir=tmp_path / "cache",
        trino_port=9443,
        trino_scheme="https",
        trino_tls_keystore=tmp_path / "trino.p12",
        trino_tls_keystore_password=SecretStr("store-secret"),
        trino_password_file=tmp_path / "password.db",
        trino_group_file=tmp_path / "group.txt",
    )
    etc = trino.write_config(secure, java_major=25)
    config = _props((etc / "config.properties").read_text())
    assert config["http-server.https.port"] == "9443"
    assert config["http-server.authentication.type"] == "PASSWORD"
    assert config["http-server.http.port"] != "9443"  # internal traffic only, on loopback
    assert config["discovery.uri"] == f"http://127.0.0.1:{config['http-server.http.port']}"
    assert len(config["internal-communication.shared-secret"]) >= 32
    assert (
        _props((etc / "password-authenticator.properties").read_text())[
            "password-authenticator.name"
        ]
        == "file"
    )
    assert _props((etc / "access-control.properties").read_text())["access-control.name"] == "file"
    rules = json.loads((etc / "rules.json").read_text())
    api_tables = [r for r in rules["tables"] if r.get("user") == "finlake-api"]
    assert {r["schema"] for r in api_tables} == {"gold", "ops"}
    for table in API_TABLES:
        schema, name = table.split(".")
        (rule,) = [r for r in api_tables if r["schema"] == schema]
        assert re.fullmatch(rule["table"], name) and re.fullmatch(rule["table"], f"{name}$history")
        assert rule["privileges"] == ["SELECT"]
    assert not any(re.fullmatch(r["table"], "secrets_audit") for r in api_tables)
    analysts = [r for r in rules["tables"] if r.get("group") == "analysts"]
    assert [(r["schema"], r["privileges"]) for r in analysts] == [("gold", ["SELECT"])]
    for path in etc.rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o077 == 0, path

    # back to open mode: the security files are gone
    open_mode = Settings(lake_root=str(tmp_path / "lake"), cache_dir=tmp_path / "cache")
    etc = trino.write_config(open_mode, java_major=25)
    assert not (etc / "rules.json").exists()
    assert not (etc / "password-authenticator.properties").exists()
    assert "authentication" not in (etc / "config.properties").read_text()


def test_password_file_lines_are_pbkdf2_as_trino_reads_them() -> None:
    import hashlib

    line = trino.password_file_line("finlake-api", "correct horse battery")
    user, iterations, salt, digest = line.split(":")
    assert user == "finlake-api" and int(iterations) >= 100_000
    expected = hashlib.pbkdf2_hmac(
        "sha1", b"correct horse battery", bytes.fromhex(salt), int(iterations), dklen=64
    )
    assert digest == expected.hex()
    with pytest.raises(ValueError):
        trino.password_file_line("bad:user", "x")
