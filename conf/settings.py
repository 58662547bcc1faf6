"""The one `Settings` object of finlake; the profile is chosen by `FINLAKE_ENV`."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Profile = Literal["local", "test", "prod"]
Layer = Literal["landing", "bronze", "silver", "gold", "ops", "_checkpoints", "_dq"]
ApiScope = Literal["ingest", "read"]
API_SCOPES: tuple[ApiScope, ...] = get_args(ApiScope)

# Public on purpose (local profile, loopback only); exempt from the minimum length.
PLACEHOLDER_API_KEY = "finlake-local-dev-key"
MIN_API_KEY_LENGTH = 32
API_KEY_DIGEST_PREFIX = "sha256:"
_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")
DELTA_VERSION = "4.4.0"
SPARK_SCALA = "4.1_2.13"
HADOOP_AWS_VERSION = "3.4.2"


def default_cache_dir() -> Path:
    """Folder that survives between runs (JARs, Trino, downloads)."""
    return Path(os.environ.get("FINLAKE_CACHE_DIR", Path.home() / ".cache" / "finlake"))


def api_key_digest(key: str) -> str:
    """Hex SHA-256 of an API key: the only form in which settings keep a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def is_loopback_host(host: str) -> bool:
    """Whether a host name or address only reaches this machine."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ApiKey(BaseModel):
    """One API key as settings keep it: its SHA-256 digest (never the key) and its scopes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    digest: SecretStr = Field(description="hex SHA-256 of the key")
    scopes: frozenset[ApiScope] = Field(min_length=1, description="granted scopes")

    @field_validator("digest")
    @classmethod
    def _hex_digest(cls, value: SecretStr) -> SecretStr:
        if not _HEX_DIGEST.match(value.get_secret_value()):
            raise ValueError("digest must be 64 lower-case hex digits")
        return value


PLACEHOLDER_API_KEY_DIGEST = api_key_digest(PLACEHOLDER_API_KEY)


def _api_key_entries(value: Mapping[Any, Any]) -> tuple[ApiKey, ...]:
    """`{"<key>" | "sha256:<hex digest>": ["ingest", "read"]}` -> digests with known scopes.

    Errors name the entry's position, never the key (the settings error hides inputs too).
    """
    entries: list[ApiKey] = []
    seen: dict[str, int] = {}
    for position, (key, scopes) in enumerate(value.items(), start=1):
        if not isinstance(key, str):
            raise ValueError(f"API key #{position} is not a string")
        if key.startswith(API_KEY_DIGEST_PREFIX):
            digest = key.removeprefix(API_KEY_DIGEST_PREFIX).lower()
            if not _HEX_DIGEST.match(digest):
                raise ValueError(f"API key #{position}: {API_KEY_DIGEST_PREFIX} needs 64 hex")
        elif key == PLACEHOLDER_API_KEY:
            digest = PLACEHOLDER_API_KEY_DIGEST
        elif len(key.strip()) < MIN_API_KEY_LENGTH or key != key.strip():
            raise ValueError(
                f"API key #{position} is shorter than {MIN_API_KEY_LENGTH} characters or has "
                "surrounding whitespace (generate one with `finlake api-key new`)"
            )
        else:
            digest = api_key_digest(key)
        if not isinstance(scopes, list | tuple | set | frozenset) or not scopes:
            raise ValueError(f"API key #{position} needs a non-empty list of scopes")
        unknown = sorted(str(scope) for scope in scopes if scope not in API_SCOPES)
        if unknown:
            raise ValueError(
                f"API key #{position} has unknown scopes {unknown}; known: {list(API_SCOPES)}"
            )
        if digest in seen:
            raise ValueError(f"API keys #{seen[digest]} and #{position} are the same key")
        seen[digest] = position
        entries.append(ApiKey(digest=SecretStr(digest), scopes=frozenset(scopes)))
    return tuple(entries)


class Settings(BaseSettings):
    """Runtime settings; every field can be set as `FINLAKE_<NAME>`."""

    # Inputs are hidden from validation errors: a bad FINLAKE_API_KEYS must not be logged.
    model_config = SettingsConfigDict(
        env_prefix="FINLAKE_", extra="ignore", hide_input_in_errors=True
    )

    env: Profile = "local"
    lake_root: str = Field(default="./lakehouse", description="local path or s3a://bucket/prefix")
    landing_root: str | None = Field(default=None, description="defaults to {lake_root}/landing")
    cache_dir: Path = Field(default_factory=default_cache_dir)

    # Spark
    spark_master: str = "local[2]"
    spark_shuffle_partitions: int = 2
    spark_driver_memory: str = "4g"
    spark_log_level: str = "ERROR"

    # S3-compatible object store (used when a root starts with s3:// or s3a://)
    s3_endpoint: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    s3_path_style: bool = True

    # Bronze: landing objects per Delta commit
    bronze_chunk_objects: int = Field(default=2000, ge=1)

    # Silver: late data and quality gates
    allowed_lateness_days: int = 1
    restatement_horizon_days: int = 35
    future_tolerance_minutes: int = 10
    max_quarantine_ratio: float = 0.2
    freshness_max_hours: float = 72.0
    volume_anomaly_factor: float = 5.0
    alert_sink: Literal["log", "webhook", "smtp"] = "log"
    alert_webhook_url: str | None = None
    alert_smtp_host: str = "localhost"
    alert_smtp_port: int = 25
    alert_email_to: str = "finance-data@localhost"

    # Forecasting
    forecast_horizon_days: int = 30
    forecast_levels: tuple[int, ...] = (80, 95)
    forecast_season_length: int = 7
    forecast_reselect_every_days: int = 7
    forecast_mase_drift_ratio: float = 0.2
    forecast_lookback_days: int = 730
    forecast_cv_windows: int = 3
    forecast_cv_step_days: int = 7

    # API
    api_keys: tuple[ApiKey, ...] = Field(
        default_factory=lambda: (
            ApiKey(digest=SecretStr(PLACEHOLDER_API_KEY_DIGEST), scopes=frozenset(API_SCOPES)),
        ),
        description=(
            'JSON {"<key>": ["ingest", "read"]}; a key is >= 32 characters, or given as '
            '"sha256:<hex digest>"; only SHA-256 digests are kept (as secrets)'
        ),
    )
    max_events_per_request: int = 1000
    max_body_bytes: int = 5 * 1024 * 1024
    max_inflight_body_bytes: int = Field(
        default=128 * 1024 * 1024,
        ge=1,
        description="memory budget of the ingest requests in flight in one process (each "
        "reserves 4x its body size); above it new requests get 429 with Retry-After",
    )

    # Trino (client side: the metrics API and `finlake trino register`)
    trino_host: str = Field(default="127.0.0.1", description="Trino coordinator host")
    trino_port: int = Field(default=8089, description="Trino port (HTTPS port when TLS is on)")
    trino_catalog: str = "delta"
    trino_scheme: Literal["http", "https"] = Field(
        default="http", description="http only on loopback; https (TLS) everywhere else"
    )
    trino_user: str | None = Field(
        default=None,
        description="Trino user; None: the component's own (API finlake-api, jobs finlake)",
    )
    trino_password: SecretStr | None = Field(
        default=None, description="password of trino_user (HTTP basic auth, https only)"
    )
    trino_ca_file: Path | None = Field(
        default=None, description="PEM CA bundle that signs Trino's certificate (None: system)"
    )
    # Trino (server side: `finlake trino up` with TLS, password file and access rules)
    trino_tls_keystore: Path | None = Field(
        default=None,
        description="PKCS#12 keystore of the local server; set, it serves HTTPS with password "
        "authentication and file-based access control",
    )
    trino_tls_keystore_password: SecretStr | None = Field(
        default=None, description="password of trino_tls_keystore"
    )
    trino_password_file: Path | None = Field(
        default=None, description="Trino password file (user:bcrypt or PBKDF2 hash per line)"
    )
    trino_group_file: Path | None = Field(
        default=None, description="Trino group file (`analysts:alice,bob` lines), optional"
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _hash_api_keys(cls, value: Any) -> Any:
        """Keep only digests: raw keys are hashed here and never stored."""
        if isinstance(value, Mapping):
            return _api_key_entries(value)
        return value

    @property
    def has_placeholder_key(self) -> bool:
        """Whether the public placeholder API key is configured."""
        return any(k.digest.get_secret_value() == PLACEHOLDER_API_KEY_DIGEST for k in self.api_keys)

    @model_validator(mode="after")
    def _check_trino_auth(self) -> Settings:
        if self.trino_password is not None and self.trino_scheme != "https":
            raise ValueError("FINLAKE_TRINO_PASSWORD needs FINLAKE_TRINO_SCHEME=https")
        if self.trino_tls_keystore is not None and (
            self.trino_tls_keystore_password is None or self.trino_password_file is None
        ):
            raise ValueError(
                "FINLAKE_TRINO_TLS_KEYSTORE needs FINLAKE_TRINO_TLS_KEYSTORE_PASSWORD and "
                "FINLAKE_TRINO_PASSWORD_FILE"
            )
        remote = not is_loopback_host(self.trino_host)
        if (
            self.env == "prod"
            and remote
            and (self.trino_scheme != "https" or self.trino_password is None)
        ):
            raise ValueError(
                "profile 'prod' reaches a remote Trino only over https with a password "
                "(FINLAKE_TRINO_SCHEME, FINLAKE_TRINO_PASSWORD)"
            )
        return self

    @model_validator(mode="after")
    def _check_profile(self) -> Settings:
        if self.env != "local" and self.has_placeholder_key:
            raise ValueError(
                f"profile {self.env!r} refuses the placeholder API key; set FINLAKE_API_KEYS"
            )
        if self.env == "prod" and not self.is_s3:
            raise ValueError("profile 'prod' needs an s3a:// FINLAKE_LAKE_ROOT")
        if not self.is_s3:
            self.lake_root = str(Path(self.lake_root).expanduser().resolve())
        return self

    @property
    def landing(self) -> str:
        """Root of the landing zone (write-once raw objects)."""
        return self.landing_root or f"{self.lake_root.rstrip('/')}/landing"

    def table_path(self, layer: Layer, table: str) -> str:
        """Path of a Delta table: `{lake_root}/{layer}/{table}`."""
        return f"{self.lake_root.rstrip('/')}/{layer}/{table}"

    @property
    def is_s3(self) -> bool:
        """Whether the lakehouse lives in an S3-compatible store."""
        return self.lake_root.startswith(("s3://", "s3a://"))

    @property
    def spark_packages(self) -> list[str]:
        """Maven coordinates Spark resolves (and caches) at start."""
        return [
            f"io.delta:delta-spark_{SPARK_SCALA}:{DELTA_VERSION}",
            f"org.apache.hadoop:hadoop-aws:{HADOOP_AWS_VERSION}",
        ]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process (cached; tests clear the cache)."""
    return Settings()
