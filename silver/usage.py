"""silver.usage — grain: one row per accepted usage event (event_id)."""

from __future__ import annotations

from bronze.contracts import UsageEvent

EVENT_TYPE = "usage"
MODEL = UsageEvent
