"""Response bodies of the API (documented in OpenAPI)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class IngestAccepted(BaseModel):
    """A batch was stored durably in the landing zone."""

    accepted: int
    object_key: str
    received_at: str


class FieldError(BaseModel):
    """One structural problem of one event."""

    field: str | None
    type: str
    msg: str


class EventErrors(BaseModel):
    """All problems of the event at `index` of the batch."""

    index: int
    event_id: str | None
    errors: list[FieldError]


class ValidationFailed(BaseModel):
    """The request was refused as a whole; nothing was landed."""

    detail: str
    errors: list[EventErrors] = []


class ErrorBody(BaseModel):
    """Generic error."""

    detail: str


class Health(BaseModel):
    """Liveness / readiness status (nothing else: probes are unauthenticated)."""

    status: Literal["ok", "ready", "unavailable"]


# ---------------------------------------------------------------------------- metrics API
# Response models of /v1/metrics/* (api/routes/metrics.py). Money is a decimal string in USD
# (4 places, never a float); rates are fractions (0.05 = 5 %), null when undefined.


class Region(StrEnum):
    """Sales region."""

    NA = "NA"
    EMEA = "EMEA"
    APAC = "APAC"
    LATAM = "LATAM"


class Segment(StrEnum):
    """Customer segment."""

    SMB = "smb"
    MID_MARKET = "mid_market"
    ENTERPRISE = "enterprise"


class Grain(StrEnum):
    """Period of a time series."""

    DAY = "day"
    MONTH = "month"


class ForecastMetric(StrEnum):
    """Forecast series metric."""

    REVENUE = "revenue"
    ACTIVE_SUBSCRIPTIONS = "active_subscriptions"


class ForecastLevel(StrEnum):
    """Hierarchy level of a forecast series."""

    TOTAL = "total"
    REGION = "region"
    PLAN = "plan"


class MetricsErrorCode(StrEnum):
    """Machine-readable `error` of a metrics API error body."""

    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    INVALID_QUERY = "invalid_query"
    METRICS_STORE_UNAVAILABLE = "metrics_store_unavailable"
    TABLE_UNAVAILABLE = "table_unavailable"
    QUERY_FAILED = "query_failed"


Money = Annotated[
    Decimal,
    Field(description="USD, decimal string with 4 places (never a float)", examples=["1234.5600"]),
]
Rate = Annotated[
    float | None,
    Field(description="a fraction (0.05 = 5 %); null when its denominator is 0", examples=[0.05]),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParameterError(_Strict):
    """One invalid request parameter."""

    parameter: str = Field(examples=["region"])
    message: str = Field(examples=["Input should be 'NA', 'EMEA', 'APAC' or 'LATAM'"])


class MetricsError(_Strict):
    """Every error of the metrics API (401, 403, 422, 500, 503) has this body."""

    error: MetricsErrorCode
    detail: str = Field(description="what went wrong", examples=["unknown region 'MARS'"])
    hint: str | None = Field(default=None, description="what to do about it")
    allowed: list[str] | None = Field(
        default=None, description="accepted values of the parameter at fault"
    )
    max_days: int | None = Field(default=None, description="longest accepted range, in days")
    errors: list[ParameterError] | None = Field(
        default=None, description="each invalid parameter (422 on malformed input)"
    )


class FreshnessInfo(_Strict):
    """How fresh the main table of a response is."""

    table: str = Field(examples=["gold.mrr_daily"])
    max_date: dt.date | None = Field(description="latest business date in the table")
    last_pipeline_run_finished_at: dt.datetime | None = Field(
        description="finish of the latest successful job in ops.pipeline_runs"
    )


class FailedRule(_Strict):
    """A data-quality rule that failed in the latest DQ run."""

    table_name: str | None
    rule_name: str | None
    severity: str | None = Field(examples=["critical", "quarantine", "warn"])
    failed_rows: int | None


class DqStatus(_Strict):
    """Status of the latest data-quality run (ops.dq_results)."""

    status: Literal["passed", "warning", "failed", "unknown"]
    run_id: str | None = None
    checked_at: dt.datetime | None = None
    rules_checked: int | None = None
    rules_failed: int | None = None
    failed_rules: list[FailedRule] = Field(default_factory=list)
    detail: str | None = None


class Provenance(_Strict):
    """Where a response's numbers come from."""

    tables: dict[str, int | None] = Field(
        description="Delta version of every table read (null: not published)",
        examples=[{"gold.mrr_daily": 12, "ops.pipeline_runs": 40, "ops.dq_results": 9}],
    )
    freshness: FreshnessInfo
    dq: DqStatus
    cached: bool = Field(description="served from the cache of these table versions")


class DateRange(_Strict):
    """First and last date a table holds."""

    min: dt.date | None
    max: dt.date | None


class DateRanges(_Strict):
    """Date coverage of the served tables (`forecast`: the latest run's horizon)."""

    mrr: DateRange
    revenue: DateRange
    forecast: DateRange | None = None


class Dimensions(_Strict):
    """Filter values and date ranges the other endpoints accept."""

    regions: list[Region]
    plans: list[str] = Field(examples=[["basic_monthly", "pro_monthly"]])
    segments: list[str] = Field(examples=[["enterprise", "mid_market", "smb"]])
    date_ranges: DateRanges


class MrrPoint(_Strict):
    """MRR of one day, or of the last day of a month inside the range (a stock)."""

    period_start: dt.date = Field(examples=["2024-03-01"])
    as_of_date: dt.date = Field(description="the day the value is of", examples=["2024-03-31"])
    mrr_usd: Money
    active_subscriptions: int = Field(examples=[227])


class MovementMonth(_Strict):
    """One month's MRR bridge: opening + the six movements = closing (exactly)."""

    month_start_date: dt.date = Field(examples=["2024-03-01"])
    opening_mrr_usd: Money
    new_mrr_usd: Money
    expansion_mrr_usd: Money
    contraction_mrr_usd: Money = Field(description="<= 0")
    churn_mrr_usd: Money = Field(description="<= 0")
    reactivation_mrr_usd: Money
    transfer_mrr_usd: Money = Field(
        description="customers moving between regions (signed); sums to 0 over all regions"
    )
    closing_mrr_usd: Money


class _ChurnFigures(_Strict):
    month_start_date: dt.date = Field(examples=["2024-03-01"])
    opening_customers: int = Field(description="customers with MRR at the month's opening")
    churned_customers: int = Field(description="opening customers with no MRR at the close")
    voluntary_churned_customers: int
    involuntary_churned_customers: int
    opening_mrr_usd: Money
    retained_mrr_usd: Money = Field(description="sum over opening customers of min(close, open)")
    cohort_closing_mrr_usd: Money = Field(description="closing MRR of the opening customers")
    logo_churn_rate: Rate
    grr: Rate
    nrr: Rate
    gross_revenue_churn_rate: Rate
    net_revenue_churn_rate: Rate


class ChurnRegionMonth(_ChurnFigures):
    """Churn of one month and region (the customer's region at the month's opening)."""

    region: Region


class ChurnTotalMonth(_ChurnFigures):
    """Churn of one month over all regions in the answer, recomputed from summed components."""


class ChurnData(_Strict):
    """Churn by region and in total."""

    by_region: list[ChurnRegionMonth]
    total: list[ChurnTotalMonth]


class RevenuePeriod(_Strict):
    """Revenue, costs and margin of one period and region."""

    period_start: dt.date = Field(examples=["2024-03-01"])
    region: Region
    gross_revenue_usd: Money
    refunds_usd: Money
    net_revenue_usd: Money
    failed_payments_usd: Money
    costs_usd: Money
    gross_margin_usd: Money
    gross_margin_pct: Rate


class ForecastPoint(_Strict):
    """Point forecast and interval bounds of one day."""

    forecast_date: dt.date
    point: Money | None
    lo_80: Money | None
    hi_80: Money | None
    lo_95: Money | None
    hi_95: Money | None


class ActualPoint(_Strict):
    """Actual value of a forecast day and whether it fell inside the intervals."""

    forecast_date: dt.date
    actual: float | None
    is_inside_80: bool | None
    is_inside_95: bool | None
    is_alert: bool | None


class ForecastData(_Strict):
    """One forecast run of one series, with the actuals known so far."""

    unique_id: str = Field(examples=["revenue/total", "revenue/region=EMEA"])
    run_id: str | None = Field(description="null when no run exists for the series")
    model: str | None = Field(examples=["AutoETS"])
    as_of_date: dt.date | None = Field(description="last actual day the run was trained on")
    forecast: list[ForecastPoint]
    actual: list[ActualPoint]


class DimensionsQuery(_Strict):
    """Echo of the request (none)."""


class MrrQuery(_Strict):
    """Echo of the request parameters."""

    start: dt.date
    end: dt.date
    grain: Grain
    region: Region | None
    plan: str | None
    segment: Segment | None


class RangeRegionQuery(_Strict):
    """Echo of the request parameters."""

    start: dt.date
    end: dt.date
    region: Region | None


class RevenueQuery(RangeRegionQuery):
    """Echo of the request parameters."""

    grain: Grain


class ForecastQuery(_Strict):
    """Echo of the request parameters."""

    start: dt.date
    end: dt.date
    metric: ForecastMetric
    level: ForecastLevel
    key: str
    run_id: str | None


class DimensionsResponse(_Strict):
    """GET /v1/metrics/dimensions."""

    data: Dimensions
    query: DimensionsQuery
    provenance: Provenance


class MrrResponse(_Strict):
    """GET /v1/metrics/mrr."""

    data: list[MrrPoint]
    query: MrrQuery
    provenance: Provenance


class MovementsResponse(_Strict):
    """GET /v1/metrics/mrr/movements."""

    data: list[MovementMonth]
    query: RangeRegionQuery
    provenance: Provenance


class ChurnResponse(_Strict):
    """GET /v1/metrics/churn."""

    data: ChurnData
    query: RangeRegionQuery
    provenance: Provenance


class RevenueResponse(_Strict):
    """GET /v1/metrics/revenue."""

    data: list[RevenuePeriod]
    query: RevenueQuery
    provenance: Provenance


class ForecastResponse(_Strict):
    """GET /v1/metrics/forecast."""

    data: ForecastData
    query: ForecastQuery
    provenance: Provenance
