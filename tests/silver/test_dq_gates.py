"""Silver's table gates are pure: counts in, results out, with the cause and the fix."""

from __future__ import annotations

import datetime as dt

from silver.dq import (
    GateLimits,
    freshness_check,
    quarantine_ratio_check,
    schema_drift_checks,
    volume_checks,
)

LIMITS = GateLimits(
    max_quarantine_ratio=0.2,
    min_rows=10,
    horizon_days=35,
    fx_max_staleness_days=7,
    freshness_max_hours=72.0,
    volume_anomaly_factor=5.0,
)


def test_all_rows_too_late_fails_and_names_the_fix() -> None:
    result = quarantine_ratio_check("subscription", 23, 23, {"too_late": 23}, LIMITS)
    assert result.is_critical_failure
    assert result.details is not None
    assert result.details.startswith("23 of 23 rows quarantined: too_late 23")
    assert "35-day restatement horizon" in result.details
    assert "finlake ingest FILE --type TYPE --historical" in result.details


def test_top_reasons_are_listed_by_count() -> None:
    reasons = {"ref:fx_rates": 4, "too_late": 9, "ref:plans": 2, "type:quantity": 1}
    result = quarantine_ratio_check("subscription", 20, 16, reasons, LIMITS)
    assert result.details is not None
    listed = [part.split(" ")[0] for part in result.details.split(": ", 1)[1].split("; ")]
    assert listed == ["too_late", "ref:fx_rates", "ref:plans"]
    assert "--type fx_rates" in result.details


def test_small_batches_and_low_ratios_pass() -> None:
    assert not quarantine_ratio_check("payment", 9, 8, {"too_late": 8}, LIMITS).is_critical_failure
    assert quarantine_ratio_check("payment", 9, 9, {"too_late": 9}, LIMITS).is_critical_failure
    assert not quarantine_ratio_check("payment", 100, 20, {"x": 20}, LIMITS).is_critical_failure
    assert quarantine_ratio_check("payment", 100, 21, {"x": 21}, LIMITS).is_critical_failure


def test_freshness_measures_arrival_not_business_time() -> None:
    now = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
    history_just_loaded = freshness_check("payment", now - dt.timedelta(minutes=5), now, LIMITS)
    assert history_just_loaded is not None and not history_just_loaded.is_critical_failure
    stopped = freshness_check("payment", now - dt.timedelta(hours=80), now, LIMITS)
    assert stopped is not None and stopped.is_critical_failure
    assert stopped.details is not None and "80 h" in stopped.details
    assert freshness_check("usage", None, now, LIMITS) is None  # never arrived: no verdict


def test_schema_drift_needs_a_real_batch() -> None:
    assert schema_drift_checks("usage", 19, {"not_null:metric": 19}) == []
    [drift] = schema_drift_checks("usage", 40, {"not_null:metric": 39, "range:quantity": 40})
    assert drift.rule_name == "schema_drift:metric" and drift.is_critical_failure


def test_volume_anomaly_is_a_warning() -> None:
    anomaly, volume = volume_checks("usage", 1000, 100.0, LIMITS)
    assert anomaly.status == "failed" and anomaly.severity == "warn"
    assert volume.rule_name == "volume" and volume.rows_checked == 1000
    assert [r.rule_name for r in volume_checks("usage", 10, None, LIMITS)] == ["volume"]
