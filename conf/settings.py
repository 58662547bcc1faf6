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

    env: Profile = Field(
        default="local",
        description="profile: `local` (a folder, placeholder API key allowed), `test`, or `prod` "
        "(needs an s3a:// lake and real API keys)",
    )
    lake_root: str = Field(
        default="./lakehouse",
        description="root of every Delta table: a local folder (resolved to an absolute path) "
        "or s3a://bucket/prefix",
    )
    landing_root: str | None = Field(
        default=None, description="landing zone of raw objects; defaults to {lake_root}/landing"
    )
    cache_dir: Path = Field(
        default_factory=default_cache_dir,
        description="persistent cache of Spark JARs (ivy/), the Trino install and downloads; "
        "also read from FINLAKE_CACHE_DIR before settings load",
        json_schema_extra={"doc_default": "~/.cache/finlake"},
    )
    log_format: Literal["auto", "text", "json"] = Field(
        default="auto",
        description="console log format of the CLI and jobs: `auto` is human-readable text on a "
        "terminal and JSON lines (with run_id) otherwise",
    )

    # Spark
    spark_master: str = Field(
        default="local[2]",
        description="Spark master URL: local[N] or spark://host:port of a standalone cluster",
    )
    spark_shuffle_partitions: int = Field(
        default=2, ge=1, description="spark.sql.shuffle.partitions and default parallelism"
    )
    spark_driver_memory: str = Field(default="4g", description="spark.driver.memory")
    spark_log_level: str = Field(
        default="ERROR", description="log level of the Spark JVM (ERROR, WARN, INFO, ...)"
    )

    # S3-compatible object store (used when a root starts with s3:// or s3a://)
    s3_endpoint: str | None = Field(
        default=None,
        description="endpoint URL of an S3-compatible store (unset: AWS S3 of s3_region)",
    )
    s3_region: str = Field(default="us-east-1", description="region of the S3 bucket")
    s3_access_key: SecretStr | None = Field(
        default=None, description="S3 access key id (unset: the default AWS credential chain)"
    )
    s3_secret_key: SecretStr | None = Field(default=None, description="S3 secret access key")
    s3_path_style: bool = Field(
        default=True, description="path-style S3 addressing (needed by most local S3 servers)"
    )

    # Bronze: landing objects per Delta commit
    bronze_chunk_objects: int = Field(
        default=2000, ge=1, description="landing objects appended to bronze.events per Delta commit"
    )

    # Silver: late data and quality gates
    allowed_lateness_days: int = Field(
        default=1,
        description="an event arriving more than this many days after its business date is "
        "late: accepted, and the affected Gold dates are recomputed and logged as restatements",
    )
    restatement_horizon_days: int = Field(
        default=35,
        description="late events older than this many days are quarantined as `too_late` "
        "(history loads with `finlake ingest --historical` are exempt)",
    )
    future_tolerance_minutes: int = Field(
        default=10,
        description="events timestamped more than this many minutes in the future are quarantined",
    )
    max_quarantine_ratio: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="critical DQ gate: a run fails (exit 4) when more than this share of an "
        "event type's rows is quarantined (every reason counts, too_late included)",
    )
    quarantine_gate_min_rows: int = Field(
        default=10,
        ge=1,
        description="rows an event type needs in a run before the quarantine-ratio gate applies",
    )
    fx_max_staleness_days: int = Field(
        default=7,
        ge=0,
        description="FX is an as-of lookup: a rate published up to this many days before a date "
        "converts it (feeds publish no weekend rates)",
    )
    freshness_max_hours: float = Field(
        default=72.0,
        description="critical DQ gate: fails when nothing of an event type has arrived for this "
        "many hours (arrival time, so history loads never trip it)",
    )
    volume_anomaly_factor: float = Field(
        default=5.0,
        description="DQ warning when a batch's row count is more than this factor above or "
        "below the trailing mean of the last 7 runs",
    )
    alert_sink: Literal["log", "webhook", "smtp"] = Field(
        default="log", description="where critical DQ alerts go: the log, a webhook or email"
    )
    alert_webhook_url: str | None = Field(
        default=None, description="Slack-compatible webhook URL (alert_sink=webhook)"
    )
    alert_smtp_host: str = Field(
        default="localhost", description="SMTP server of email alerts (alert_sink=smtp)"
    )
    alert_smtp_port: int = Field(default=25, description="SMTP port of email alerts")
    alert_email_to: str = Field(
        default="finance-data@localhost", description="recipient of email alerts"
    )

    # Forecasting
    forecast_horizon_days: int = Field(
        default=30, ge=1, description="days forecast ahead of the last actual day"
    )
    forecast_levels: tuple[int, ...] = Field(
        default=(80, 95), description="prediction-interval levels in percent"
    )
    forecast_season_length: int = Field(
        default=7, ge=1, description="season length in days (weekly seasonality)"
    )
    forecast_reselect_every_days: int = Field(
        default=7,
        description="re-run model selection (AutoARIMA order search, champion) every N days; "
        "in between, stored orders are refitted",
    )
    forecast_mase_drift_ratio: float = Field(
        default=0.2,
        description="re-select a series early when its MASE worsens by more than this ratio",
    )
    forecast_lookback_days: int = Field(
        default=730, ge=1, description="days of history a model is trained on"
    )
    forecast_cv_windows: int = Field(
        default=3, ge=1, description="backtest (cross-validation) windows per series"
    )
    forecast_cv_step_days: int = Field(default=7, ge=1, description="days between backtest cutoffs")
    forecast_cv_reselect: bool = Field(
        default=False,
        description="rerun AutoARIMA order selection at every backtest cutoff (slower); by "
        "default orders are chosen once on the data before the first cutoff",
    )

    # API
    api_keys: tuple[ApiKey, ...] = Field(
        default_factory=lambda: (
            ApiKey(digest=SecretStr(PLACEHOLDER_API_KEY_DIGEST), scopes=frozenset(API_SCOPES)),
        ),
        json_schema_extra={
            "doc_default": '{"finlake-local-dev-key": ["ingest", "read"]} (local only)'
        },
        description=(
            'JSON {"<key>": ["ingest", "read"]}; a key is >= 32 characters, or given as '
            '"sha256:<hex digest>"; only SHA-256 digests are kept (as secrets)'
        ),
    )
    max_events_per_request: int = Field(
        default=1000, description="most events accepted in one ingest request"
    )
    max_body_bytes: int = Field(
        default=5 * 1024 * 1024, description="largest ingest request body in bytes"
    )
    max_inflight_body_bytes: int = Field(
        default=128 * 1024 * 1024,
        ge=1,
        description="memory budget of the ingest requests in flight in one process (each "
        "reserves 4x its body size); above it new requests get 429 with Retry-After",
    )

    # Trino (client side: the metrics API and `finlake trino register`)
    trino_host: str = Field(default="127.0.0.1", description="Trino coordinator host")
    trino_port: int = Field(default=8089, description="Trino port (HTTPS port when TLS is on)")
    trino_catalog: str = Field(default="delta", description="Trino catalog of the Delta tables")
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

    def location(self, name: str) -> str:
        """Where a catalog table (`layer.table`, see conf/catalog.py) lives in this lake."""
        from conf.catalog import location

        return location(self.lake_root, name)

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
