"""The one `Settings` object of finlake; the profile is chosen by `FINLAKE_ENV`."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Profile = Literal["local", "test", "prod"]
Layer = Literal["landing", "bronze", "silver", "gold", "ops", "_checkpoints", "_dq"]

PLACEHOLDER_API_KEY = "finlake-local-dev-key"
DELTA_VERSION = "4.4.0"
SPARK_SCALA = "4.1_2.13"
HADOOP_AWS_VERSION = "3.4.2"


def default_cache_dir() -> Path:
    """Folder that survives between runs (JARs, Trino, downloads)."""
    return Path(os.environ.get("FINLAKE_CACHE_DIR", Path.home() / ".cache" / "finlake"))


class Settings(BaseSettings):
    """Runtime settings; every field can be set as `FINLAKE_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="FINLAKE_", extra="ignore")

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
    max_quarantine_ratio: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="critical gate: share of a type's rows in a run that may be quarantined",
    )
    quarantine_gate_min_rows: int = Field(
        default=10, ge=1, description="rows a type needs in a run before the ratio gate applies"
    )
    fx_max_staleness_days: int = Field(
        default=7,
        ge=0,
        description="an FX rate published up to this many days before a date converts it",
    )
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
    forecast_cv_reselect: bool = False

    # API
    api_keys: dict[str, list[str]] = Field(
        default_factory=lambda: {PLACEHOLDER_API_KEY: ["ingest", "read"]}
    )
    max_events_per_request: int = 1000
    max_body_bytes: int = 5 * 1024 * 1024

    # Trino
    trino_host: str = "127.0.0.1"
    trino_port: int = 8089
    trino_catalog: str = "delta"

    @model_validator(mode="after")
    def _check_profile(self) -> Settings:
        if self.env != "local" and PLACEHOLDER_API_KEY in self.api_keys:
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
