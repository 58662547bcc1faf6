"""Metrics API (`read` scope): MRR, movements, churn, revenue by region, forecast vs actual.

All reads go through Trino (`api.trino_client`); every SQL value is a bound parameter and every
identifier a constant of this module. Bodies are `{"data", "query", "provenance"}` (see
`api.metrics_deps` and the response models in `api.models`); money is rendered as decimal
strings. Every error body is `api.models.MetricsError`.

Definitions: monthly MRR is the MRR of the last day of the month inside the range (a stock);
`gross_margin_pct` of an aggregated row is `gross_margin_usd / net_revenue_usd` (a fraction,
null unless net revenue > 0, as in `gold/models/revenue_region_daily.sql`). Gaps are zero:
every day (or month) between the first and the last date the table holds is answered, and one
without rows under the filters is 0 (a calendar join), never skipped or carried forward; dates
outside the table's coverage are not answered.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from api.metrics_deps import Freshness, MetricsServiceDep, ReadPrincipal
from api.models import (
    ChurnResponse,
    DimensionsResponse,
    ForecastLevel,
    ForecastMetric,
    ForecastResponse,
    Grain,
    MetricsError,
    MetricsErrorCode,
    MovementsResponse,
    MrrResponse,
    Region,
    RevenueResponse,
    Segment,
)
from api.routes import dashboard
from api.trino_client import (
    MetricsStore,
    Row,
    StoreQueryError,
    StoreUnavailableError,
    TableUnavailableError,
    table_ref,
)

log = logging.getLogger("finlake.api.metrics")

REGIONS: tuple[str, ...] = tuple(r.value for r in Region)
SEGMENTS: tuple[str, ...] = tuple(s.value for s in Segment)
FORECAST_METRICS: dict[str, str] = {
    "revenue": "gold.forecast_revenue_daily",
    "active_subscriptions": "gold.forecast_active_subscriptions",
}
MAX_DAYS: dict[str, int] = {"day": 731, "month": 3660}
PLAN_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
RETRY_AFTER_SECONDS = 10
ENUM_PARAMETERS: dict[str, tuple[str, ...]] = {
    "region": REGIONS,
    "segment": SEGMENTS,
    "grain": tuple(g.value for g in Grain),
    "metric": tuple(m.value for m in ForecastMetric),
    "level": tuple(lv.value for lv in ForecastLevel),
}

MRR_DAILY = "gold.mrr_daily"
MOVEMENTS = "gold.mrr_movements_monthly"
CHURN = "gold.churn_monthly"
REVENUE = "gold.revenue_region_daily"
VARIANCE = "gold.forecast_variance"

StartQ = Annotated[dt.date, Query(description="first date (YYYY-MM-DD), inclusive")]
EndQ = Annotated[dt.date, Query(description="last date (YYYY-MM-DD), inclusive")]
RegionQ = Annotated[Region | None, Query(description="only this region (default: all)")]
GrainQ = Annotated[Grain, Query(description="one row per day or per month")]


# ----------------------------------------------------------------------------- errors


class MetricsHTTPError(Exception):
    """An error answered with a `MetricsError` body."""

    def __init__(
        self,
        status_code: int,
        error: MetricsErrorCode,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        """`extra`: optional MetricsError fields (hint, allowed, max_days, errors)."""
        super().__init__(detail)
        self.status_code = status_code
        self.body = MetricsError(error=error, detail=detail, **extra)
        self.headers = headers

    def response(self) -> JSONResponse:
        """The JSON response of this error."""
        return JSONResponse(
            self.body.model_dump(mode="json", exclude_none=True),
            status_code=self.status_code,
            headers=self.headers,
        )


def _from_validation(exc: RequestValidationError) -> MetricsHTTPError:
    errors = []
    allowed: list[str] | None = None
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p not in ("query", "path", "header")]
        parameter = ".".join(loc) or "request"
        errors.append({"parameter": parameter, "message": str(error.get("msg", "invalid"))})
        if allowed is None and parameter in ENUM_PARAMETERS:
            allowed = list(ENUM_PARAMETERS[parameter])
    detail = "; ".join(f"{e['parameter']}: {e['message']}" for e in errors)
    return MetricsHTTPError(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        MetricsErrorCode.INVALID_QUERY,
        detail,
        errors=errors,
        allowed=allowed,
    )


def _from_http(exc: HTTPException) -> MetricsHTTPError:
    codes = {
        status.HTTP_401_UNAUTHORIZED: MetricsErrorCode.UNAUTHORIZED,
        status.HTTP_403_FORBIDDEN: MetricsErrorCode.FORBIDDEN,
    }
    code = codes.get(exc.status_code, MetricsErrorCode.INVALID_QUERY)
    hint = {
        MetricsErrorCode.UNAUTHORIZED: "send a key with the `read` scope in the X-API-Key header",
        MetricsErrorCode.FORBIDDEN: "use a key with the `read` scope",
    }.get(code)
    return MetricsHTTPError(
        exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}), hint=hint
    )


class MetricsRoute(APIRoute):
    """Route whose every error (auth, validation, store) is a `MetricsError` body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler: map its exceptions to MetricsError responses."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except MetricsHTTPError as exc:
                return exc.response()
            except RequestValidationError as exc:
                return _from_validation(exc).response()
            except HTTPException as exc:
                return _from_http(exc).response()

        return route


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": MetricsError, "description": "missing or unknown API key"},
    403: {"model": MetricsError, "description": "the key lacks the `read` scope"},
    422: {"model": MetricsError, "description": "invalid parameters (range, filter, format)"},
    500: {"model": MetricsError, "description": "the metrics query failed (a server bug)"},
    503: {
        "model": MetricsError,
        "description": "the metrics store (Trino) is down or a table is not published yet; "
        "retry after `Retry-After` seconds",
    },
}

api_router = APIRouter(
    prefix="/v1/metrics", tags=["metrics"], route_class=MetricsRoute, responses=ERROR_RESPONSES
)


def _unprocessable(message: str, **extra: Any) -> MetricsHTTPError:
    return MetricsHTTPError(
        status.HTTP_422_UNPROCESSABLE_CONTENT, MetricsErrorCode.INVALID_QUERY, message, **extra
    )


def _check_range(start: dt.date, end: dt.date, grain: str = "day") -> None:
    if start > end:
        raise _unprocessable(f"start {start} is after end {end}")
    limit = MAX_DAYS[grain]
    if (end - start).days + 1 > limit:
        raise _unprocessable(
            f"range of {(end - start).days + 1} days is too long for grain {grain!r} "
            f"(at most {limit} days)",
            max_days=limit,
        )


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _serve(build: Callable[[], dict[str, Any]]) -> JSONResponse:
    """Run a metrics query; map store failures to MetricsError bodies (never naming hosts)."""
    retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    try:
        return JSONResponse(build())
    except StoreUnavailableError as exc:
        log.warning("metrics store unavailable", extra={"error": str(exc)})
        raise MetricsHTTPError(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            MetricsErrorCode.METRICS_STORE_UNAVAILABLE,
            "the metrics store (Trino) is unavailable; the metrics API reads Gold through it",
            headers=retry,
            hint="start it with `finlake trino up`, then retry",
        ) from exc
    except TableUnavailableError as exc:
        raise MetricsHTTPError(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            MetricsErrorCode.TABLE_UNAVAILABLE,
            str(exc),
            headers=retry,
            hint="run the pipeline, then `finlake trino register`",
        ) from exc
    except StoreQueryError as exc:
        log.error("metrics query failed", extra={"error": str(exc)})
        raise MetricsHTTPError(
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            MetricsErrorCode.QUERY_FAILED,
            "the metrics query failed; see the server logs",
        ) from exc


def _ratio(numerator: Any, denominator: Any) -> float | None:
    if numerator is None or denominator is None or Decimal(denominator) <= 0:
        return None
    return float(Decimal(numerator) / Decimal(denominator))


def _calendar(table: str, column: str, step: str) -> str:
    """CTEs `bounds` and `calendar(d)`: each day/month of [?, ?] inside the table's coverage.

    Two parameters: start and end. The coverage is the table's own first and last date, so a
    filter that matches no rows still answers 0 for every covered period (and nothing outside).
    """
    lo = "date_trunc('month', CAST(? AS date))" if step == "MONTH" else "CAST(? AS date)"
    return (
        f"bounds AS (SELECT greatest(min({column}), {lo}) AS lo, "
        f"least(max({column}), CAST(? AS date)) AS hi FROM {table}), "
        "calendar AS (SELECT d FROM bounds "
        f"CROSS JOIN UNNEST(sequence(lo, greatest(lo, hi), INTERVAL '1' {step})) AS t(d) "
        "WHERE d <= hi)"
    )


# ----------------------------------------------------------------------------- dimensions


def _dimensions(store: MetricsStore, catalog: str, forecast_table: str | None) -> dict[str, Any]:
    mrr = table_ref(catalog, MRR_DAILY)
    rev = table_ref(catalog, REVENUE)
    plans = store.fetch(f"SELECT DISTINCT plan_id FROM {mrr} ORDER BY plan_id")
    segments = store.fetch(f"SELECT DISTINCT customer_segment FROM {mrr} ORDER BY 1")
    ranges = store.fetch(
        f"SELECT (SELECT min(metric_date) FROM {mrr}) AS mrr_min, "
        f"(SELECT max(metric_date) FROM {mrr}) AS mrr_max, "
        f"(SELECT min(revenue_date) FROM {rev}) AS revenue_min, "
        f"(SELECT max(revenue_date) FROM {rev}) AS revenue_max"
    )[0]
    date_ranges: dict[str, Any] = {
        "mrr": {"min": ranges["mrr_min"], "max": ranges["mrr_max"]},
        "revenue": {"min": ranges["revenue_min"], "max": ranges["revenue_max"]},
    }
    if forecast_table is not None:
        fc = table_ref(catalog, forecast_table)
        horizon = store.fetch(
            f"SELECT min(forecast_date) AS lo, max(forecast_date) AS hi FROM {fc} "
            f"WHERE run_id = (SELECT max_by(run_id, created_at) FROM {fc})"
        )[0]
        date_ranges["forecast"] = {"min": horizon["lo"], "max": horizon["hi"]}
    return {
        "regions": list(REGIONS),
        "plans": [r["plan_id"] for r in plans],
        "segments": [r["customer_segment"] for r in segments],
        "date_ranges": date_ranges,
    }


def _dimensions_body(service: Any) -> dict[str, Any]:
    versions = service.versions()
    revenue_fc = FORECAST_METRICS["revenue"]
    forecast = revenue_fc if versions.get(revenue_fc) is not None else None
    tables = [MRR_DAILY, REVENUE, *([forecast] if forecast else [])]
    body: dict[str, Any] = service.respond(
        "dimensions",
        {},
        tables,
        Freshness(MRR_DAILY, "metric_date"),
        lambda store: _dimensions(store, service.catalog, forecast),
        versions=versions,
    )
    return body


@api_router.get(
    "/dimensions",
    summary="Regions, plans, segments and date ranges served",
    response_model=DimensionsResponse,
)
def dimensions(principal: ReadPrincipal, service: MetricsServiceDep) -> JSONResponse:
    """Filter values and date ranges the other endpoints accept; `date_ranges.forecast` is the
    horizon of the latest revenue forecast run (absent before the first forecast)."""
    return _serve(lambda: _dimensions_body(service))


# ----------------------------------------------------------------------------- MRR


def _mrr_rows(
    store: MetricsStore,
    catalog: str,
    start: dt.date,
    end: dt.date,
    grain: str,
    filters: dict[str, str | None],
) -> list[dict[str, Any]]:
    table = table_ref(catalog, MRR_DAILY)
    where = ["metric_date BETWEEN ? AND ?"]
    params: list[object] = [start, end, start, end]
    for column in ("region", "plan_id", "customer_segment"):  # constant identifiers
        value = filters.get(column)
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    filled = (
        f"WITH {_calendar(table, 'metric_date', 'DAY')}, "
        "daily AS (SELECT metric_date, sum(mrr_usd) AS mrr_usd, "
        "sum(active_subscriptions) AS active_subscriptions "
        f"FROM {table} WHERE {' AND '.join(where)} GROUP BY metric_date), "
        "filled AS (SELECT c.d AS metric_date, "
        "CAST(coalesce(daily.mrr_usd, 0) AS decimal(38, 4)) AS mrr_usd, "
        "coalesce(daily.active_subscriptions, 0) AS active_subscriptions "
        "FROM calendar c LEFT JOIN daily ON daily.metric_date = c.d) "
    )
    if grain == "day":
        sql = (
            f"{filled}SELECT metric_date AS period_start, metric_date AS as_of_date, mrr_usd, "
            "active_subscriptions FROM filled ORDER BY metric_date"
        )
    else:
        sql = (
            f"{filled}SELECT date_trunc('month', metric_date) AS period_start, "
            "max(metric_date) AS as_of_date, max_by(mrr_usd, metric_date) AS mrr_usd, "
            "max_by(active_subscriptions, metric_date) AS active_subscriptions "
            "FROM filled GROUP BY date_trunc('month', metric_date) ORDER BY 1"
        )
    return store.fetch(sql, params)


@api_router.get(
    "/mrr", summary="MRR and active subscriptions over a date range", response_model=MrrResponse
)
def mrr(
    principal: ReadPrincipal,
    service: MetricsServiceDep,
    start: StartQ,
    end: EndQ,
    grain: GrainQ = Grain.DAY,
    region: RegionQ = None,
    plan: Annotated[str | None, Query(description="only this plan_id (see /dimensions)")] = None,
    segment: Annotated[Segment | None, Query(description="only this customer segment")] = None,
) -> JSONResponse:
    """MRR (USD) and active subscriptions per day, or per month as the value of the month's
    last day inside the range. A day without rows under the filters is 0."""
    _check_range(start, end, grain.value)
    if plan is not None and not PLAN_ID.match(plan):
        raise _unprocessable(f"malformed plan {plan!r}")
    filters: dict[str, str | None] = {
        "region": region.value if region else None,
        "plan_id": plan,
        "customer_segment": segment.value if segment else None,
    }
    query = {
        "start": start,
        "end": end,
        "grain": grain.value,
        "region": filters["region"],
        "plan": plan,
        "segment": filters["customer_segment"],
    }

    def build() -> dict[str, Any]:
        if plan is not None and plan not in set(_dimensions_body(service)["data"]["plans"]):
            raise _unprocessable(f"unknown plan {plan!r}", hint="GET /v1/metrics/dimensions")
        body: dict[str, Any] = service.respond(
            "mrr",
            query,
            [MRR_DAILY],
            Freshness(MRR_DAILY, "metric_date"),
            lambda store: _mrr_rows(store, service.catalog, start, end, grain.value, filters),
        )
        return body

    return _serve(build)


# ----------------------------------------------------------------------------- movements

MOVEMENT_COLUMNS = (
    "opening_mrr_usd",
    "new_mrr_usd",
    "expansion_mrr_usd",
    "contraction_mrr_usd",
    "churn_mrr_usd",
    "reactivation_mrr_usd",
    "transfer_mrr_usd",
    "closing_mrr_usd",
)


@api_router.get(
    "/mrr/movements",
    summary="Monthly MRR bridge: opening + movements (incl. transfers) = closing",
    response_model=MovementsResponse,
)
def mrr_movements(
    principal: ReadPrincipal,
    service: MetricsServiceDep,
    start: StartQ,
    end: EndQ,
    region: RegionQ = None,
) -> JSONResponse:
    """New, expansion, contraction, churn, reactivation and transfer MRR per month (USD).

    `opening + new + expansion + contraction + churn + reactivation + transfer = closing`
    holds per region and in total. `transfer_mrr_usd` is MRR of customers who moved region
    (+ in the region they moved to, - in the one they left), so it sums to 0 over all regions.
    A month without a row for the region is all zeros.
    """
    _check_range(start, end, "month")
    table = table_ref(service.catalog, MOVEMENTS)
    where = "month_start_date BETWEEN ? AND ?"
    params: list[object] = [start, end, _month_start(start), end]
    if region is not None:
        where += " AND region = ?"
        params.append(region.value)
    sums = ", ".join(f"sum({c}) AS {c}" for c in MOVEMENT_COLUMNS)
    filled = ", ".join(
        f"CAST(coalesce(m.{c}, 0) AS decimal(38, 4)) AS {c}" for c in MOVEMENT_COLUMNS
    )
    sql = (
        f"WITH {_calendar(table, 'month_start_date', 'MONTH')}, "
        f"moves AS (SELECT month_start_date, {sums} FROM {table} WHERE {where} "
        "GROUP BY month_start_date) "
        f"SELECT c.d AS month_start_date, {filled} "
        "FROM calendar c LEFT JOIN moves m ON m.month_start_date = c.d ORDER BY 1"
    )
    return _serve(
        lambda: service.respond(
            "mrr_movements",
            {"start": start, "end": end, "region": region.value if region else None},
            [MOVEMENTS],
            Freshness(MOVEMENTS, "month_start_date"),
            lambda store: store.fetch(sql, params),
        )
    )


# ----------------------------------------------------------------------------- churn

CHURN_COUNTS = (
    "opening_customers",
    "churned_customers",
    "voluntary_churned_customers",
    "involuntary_churned_customers",
)
CHURN_MONEY = ("opening_mrr_usd", "retained_mrr_usd", "cohort_closing_mrr_usd")
CHURN_RATES = (
    "logo_churn_rate",
    "grr",
    "nrr",
    "gross_revenue_churn_rate",
    "net_revenue_churn_rate",
)
CHURN_DESCRIPTION = """\
Churn per month and region, plus monthly totals (ChartMogul's customer-level definitions).

The cohort of a month is the customers with MRR at its opening, each counted in their region
at the opening. Per row:

* `logo_churn_rate = churned_customers / opening_customers` (opening customers with no MRR at
  the close; customers who join and leave inside the month are new and churn movements, not
  logo churn)
* `grr = retained_mrr_usd / opening_mrr_usd`, where `retained_mrr_usd` = Σ min(close, open)
  over the opening customers
* `nrr = cohort_closing_mrr_usd / opening_mrr_usd`, where `cohort_closing_mrr_usd` = Σ close
  over the opening customers
* `gross_revenue_churn_rate = 1 - grr`, `net_revenue_churn_rate = 1 - nrr`

Rates are null when their denominator is 0. `total` rows sum the counts and the three MRR
components over the regions in the answer and recompute every rate from those sums (exact
decimals, never an average of rates). A month without a row for a region is zeros (rates
null).
"""


def churn_total(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Monthly totals: summed counts and MRR components, rates recomputed from the sums."""
    totals: dict[Any, dict[str, Any]] = {}
    for row in rows:
        total = totals.setdefault(
            row["month_start_date"],
            {
                "month_start_date": row["month_start_date"],
                **dict.fromkeys(CHURN_COUNTS, 0),
                **dict.fromkeys(CHURN_MONEY, Decimal(0)),
            },
        )
        for column in CHURN_COUNTS:
            total[column] += int(row[column] or 0)
        for column in CHURN_MONEY:
            total[column] += Decimal(row[column] or 0)
    for total in totals.values():
        opening, opening_mrr = total["opening_customers"], total["opening_mrr_usd"]
        total["logo_churn_rate"] = (
            float(Decimal(total["churned_customers"]) / opening) if opening else None
        )
        grr = total["retained_mrr_usd"] / opening_mrr if opening_mrr > 0 else None
        nrr = total["cohort_closing_mrr_usd"] / opening_mrr if opening_mrr > 0 else None
        total["grr"] = float(grr) if grr is not None else None
        total["nrr"] = float(nrr) if nrr is not None else None
        total["gross_revenue_churn_rate"] = float(1 - grr) if grr is not None else None
        total["net_revenue_churn_rate"] = float(1 - nrr) if nrr is not None else None
    return list(totals.values())


def _churn(store: MetricsStore, sql: str, params: list[object]) -> dict[str, Any]:
    rows = store.fetch(sql, params)
    return {"by_region": rows, "total": churn_total(rows)}


@api_router.get(
    "/churn",
    summary="Logo churn, GRR and NRR per month (customer level)",
    description=CHURN_DESCRIPTION,
    response_model=ChurnResponse,
)
def churn(
    principal: ReadPrincipal,
    service: MetricsServiceDep,
    start: StartQ,
    end: EndQ,
    region: RegionQ = None,
) -> JSONResponse:
    """See the description (OpenAPI) for every formula."""
    _check_range(start, end, "month")
    table = table_ref(service.catalog, CHURN)
    params: list[object] = [start, end]
    if region is not None:
        regions = "regions AS (SELECT CAST(? AS varchar) AS region)"
        params.append(region.value)
    else:
        regions = f"regions AS (SELECT DISTINCT region FROM {table})"
    counts = ", ".join(f"coalesce(c.{col}, 0) AS {col}" for col in CHURN_COUNTS)
    money = ", ".join(
        f"CAST(coalesce(c.{col}, 0) AS decimal(38, 4)) AS {col}" for col in CHURN_MONEY
    )
    rates = ", ".join(f"c.{col}" for col in CHURN_RATES)
    sql = (
        f"WITH {_calendar(table, 'month_start_date', 'MONTH')}, {regions} "
        f"SELECT k.d AS month_start_date, r.region, {counts}, {money}, {rates} "
        "FROM calendar k CROSS JOIN regions r "
        f"LEFT JOIN {table} c ON c.month_start_date = k.d AND c.region = r.region "
        "ORDER BY 1, 2"
    )
    return _serve(
        lambda: service.respond(
            "churn",
            {"start": start, "end": end, "region": region.value if region else None},
            [CHURN],
            Freshness(CHURN, "month_start_date"),
            lambda store: _churn(store, sql, params),
        )
    )


# ----------------------------------------------------------------------------- revenue

REVENUE_MONEY = (
    "gross_revenue_usd",
    "refunds_usd",
    "net_revenue_usd",
    "failed_payments_usd",
    "costs_usd",
    "gross_margin_usd",
)


def _revenue(store: MetricsStore, sql: str, params: list[object]) -> list[dict[str, Any]]:
    rows = store.fetch(sql, params)
    for row in rows:
        row["gross_margin_pct"] = _ratio(row["gross_margin_usd"], row["net_revenue_usd"])
    return rows


@api_router.get(
    "/revenue",
    summary="Revenue, costs and gross margin by region",
    response_model=RevenueResponse,
)
def revenue(
    principal: ReadPrincipal,
    service: MetricsServiceDep,
    start: StartQ,
    end: EndQ,
    grain: GrainQ = Grain.DAY,
    region: RegionQ = None,
) -> JSONResponse:
    """Gross/net revenue, refunds, failed payments, costs and margin per period and region.

    Net revenue = succeeded payments - refunds (a refund is dated on its day and attributed to
    the plan, region and FX rate of the payment it refunds). A period without rows for a region
    is zeros; without a region filter every region the table holds is listed.
    """
    _check_range(start, end, grain.value)
    table = table_ref(service.catalog, REVENUE)
    params: list[object] = [start, end]
    if region is not None:
        regions = "regions AS (SELECT CAST(? AS varchar) AS region)"
        params.append(region.value)
    else:
        regions = f"regions AS (SELECT DISTINCT region FROM {table})"
    period = "c.d" if grain is Grain.DAY else "date_trunc('month', c.d)"
    sums = ", ".join(
        f"CAST(coalesce(sum(v.{col}), 0) AS decimal(38, 4)) AS {col}" for col in REVENUE_MONEY
    )
    sql = (
        f"WITH {_calendar(table, 'revenue_date', 'DAY')}, {regions} "
        f"SELECT {period} AS period_start, r.region, {sums} "
        "FROM calendar c CROSS JOIN regions r "
        f"LEFT JOIN {table} v ON v.revenue_date = c.d AND v.region = r.region "
        f"GROUP BY {period}, r.region ORDER BY 1, 2"
    )
    return _serve(
        lambda: service.respond(
            "revenue",
            {
                "start": start,
                "end": end,
                "grain": grain.value,
                "region": region.value if region else None,
            },
            [REVENUE],
            Freshness(REVENUE, "revenue_date"),
            lambda store: _revenue(store, sql, params),
        )
    )


# ----------------------------------------------------------------------------- forecast


def forecast_runs(store: MetricsStore, catalog: str, unique_id: str) -> list[Row]:
    """Runs with actuals of one series: run_id, as_of_date and its first/last/count of dates."""
    return store.fetch(
        "SELECT run_id, max(as_of_date) AS as_of_date, min(forecast_date) AS first_date, "
        "max(forecast_date) AS last_date, count(DISTINCT forecast_date) AS n_dates "
        f"FROM {table_ref(catalog, VARIANCE)} WHERE unique_id = ? GROUP BY run_id",
        [unique_id],
    )


def pick_run(runs: Sequence[Row], start: dt.date, end: dt.date) -> tuple[str | None, bool]:
    """The latest run (as_of_date, then run_id) with actuals in `[start, end]`; and if sure.

    A run whose dates are contiguous has a date in the window iff its range meets the window.
    When a run with gaps meets the window the answer is not sure (`False`): ask the table.
    """
    best: tuple[dt.date, str] | None = None
    for run in runs:
        first, last = run["first_date"], run["last_date"]
        if first is None or first > end or last < start:
            continue
        if (last - first).days + 1 != run["n_dates"]:
            return None, False
        candidate = (run["as_of_date"], str(run["run_id"]))
        if best is None or candidate > best:
            best = candidate
    return (best[1] if best else None), True


def _forecast(
    store: MetricsStore,
    catalog: str,
    table: str,
    has_variance: bool,
    unique_id: str,
    start: dt.date,
    end: dt.date,
    run_id: str | None,
    memo: Callable[[str, Callable[[MetricsStore], Any]], Any],
) -> dict[str, Any]:
    """Forecast and actuals of one run; `memo(name, fn)` caches per-series lookups by version."""
    fc = table_ref(catalog, table)
    if run_id is None and has_variance:
        runs = memo("runs_with_actuals", lambda s: forecast_runs(s, catalog, unique_id))
        run_id, is_sure = pick_run(runs, start, end)
        if not is_sure:
            rows = store.fetch(
                f"SELECT run_id FROM {table_ref(catalog, VARIANCE)} "
                "WHERE unique_id = ? AND forecast_date BETWEEN ? AND ? "
                "ORDER BY as_of_date DESC, run_id DESC LIMIT 1",
                [unique_id, start, end],
            )
            run_id = rows[0]["run_id"] if rows else None
    if run_id is None:
        run_id = memo(
            "latest_run",
            lambda s: s.fetch(
                f"SELECT max_by(run_id, created_at) AS run_id FROM {fc} WHERE unique_id = ?",
                [unique_id],
            )[0]["run_id"],
        )
    empty: dict[str, Any] = {
        "unique_id": unique_id,
        "run_id": run_id,
        "model": None,
        "as_of_date": None,
        "forecast": [],
        "actual": [],
    }
    if run_id is None:
        return empty
    window: list[object] = [run_id, unique_id, start, end]
    with ThreadPoolExecutor(max_workers=2) as pool:  # the two reads are independent
        forecast_future = pool.submit(
            store.fetch,
            "SELECT forecast_date, point, lo_80, hi_80, lo_95, hi_95, model, as_of_date "
            f"FROM {fc} WHERE run_id = ? AND unique_id = ? AND forecast_date BETWEEN ? AND ? "
            "ORDER BY forecast_date",
            window,
        )
        actual: list[dict[str, Any]] = []
        if has_variance:
            actual = store.fetch(
                "SELECT forecast_date, actual, is_inside_80, is_inside_95, is_alert "
                f"FROM {table_ref(catalog, VARIANCE)} "
                "WHERE run_id = ? AND unique_id = ? AND forecast_date BETWEEN ? AND ? "
                "ORDER BY forecast_date",
                window,
            )
        forecast = forecast_future.result()
    points = [{k: v for k, v in r.items() if k not in ("model", "as_of_date")} for r in forecast]
    return {
        **empty,
        "model": forecast[0]["model"] if forecast else None,
        "as_of_date": forecast[0]["as_of_date"] if forecast else None,
        "forecast": points,
        "actual": actual,
    }


@api_router.get(
    "/forecast",
    summary="Forecast vs actual with 80/95% intervals",
    response_model=ForecastResponse,
)
def forecast(
    principal: ReadPrincipal,
    service: MetricsServiceDep,
    start: StartQ,
    end: EndQ,
    metric: Annotated[ForecastMetric, Query(description="series metric")] = (
        ForecastMetric.REVENUE
    ),
    level: Annotated[ForecastLevel, Query(description="hierarchy level")] = ForecastLevel.TOTAL,
    key: Annotated[str, Query(description="`total`, a region or a plan_id")] = "total",
    run_id: Annotated[str | None, Query(description="default: latest run with actuals")] = None,
) -> JSONResponse:
    """Point forecast, interval bounds and actuals (from `gold.forecast_variance`) of one run:
    by default the latest run with actuals in the range, else the latest run of the series."""
    _check_range(start, end, "day")
    if level is ForecastLevel.TOTAL and key != "total":
        raise _unprocessable("level 'total' takes key 'total'")
    if level is ForecastLevel.REGION and key not in REGIONS:
        raise _unprocessable(f"unknown region {key!r}", allowed=list(REGIONS))
    if level is ForecastLevel.PLAN and not PLAN_ID.match(key):
        raise _unprocessable(f"malformed plan {key!r}")
    if run_id is not None and not PLAN_ID.match(run_id):
        raise _unprocessable(f"malformed run_id {run_id!r}")
    unique_id = (
        f"{metric.value}/total"
        if level is ForecastLevel.TOTAL
        else f"{metric.value}/{level.value}={key}"
    )
    table = FORECAST_METRICS[metric.value]
    query = {
        "start": start,
        "end": end,
        "metric": metric.value,
        "level": level.value,
        "key": key,
        "run_id": run_id,
    }

    def build() -> dict[str, Any]:
        versions = service.versions()  # one snapshot for the response and its lookups
        has_variance = versions.get(VARIANCE) is not None
        tables = [table, VARIANCE] if has_variance else [table]

        def memo(name: str, fn: Callable[[MetricsStore], Any]) -> Any:
            return service.memo(("forecast", name, unique_id), tables, versions, fn)

        body: dict[str, Any] = service.respond(
            "forecast",
            query,
            tables,
            Freshness(VARIANCE if has_variance else table, "forecast_date"),
            lambda store: _forecast(
                store, service.catalog, table, has_variance, unique_id, start, end, run_id, memo
            ),
            versions=versions,
        )
        return body

    return _serve(build)


router = APIRouter()
router.include_router(api_router)
router.include_router(dashboard.router)
