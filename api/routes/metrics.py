"""Metrics API (`read` scope): MRR, movements, churn, revenue by region, forecast vs actual.

All reads go through Trino (`api.trino_client`); every SQL value is a bound parameter and every
identifier a constant of this module. Bodies are `{"data", "query", "provenance"}` (see
`api.metrics_deps`); money is rendered as decimal strings.

Definitions: monthly MRR is the MRR of the last day of the month inside the range (a stock);
`gross_margin_pct` of an aggregated row is `gross_margin_usd / net_revenue_usd` (a fraction,
null unless net revenue > 0, as in `gold/models/revenue_region_daily.sql`); the
`total` churn rows sum the regional counts and recompute `logo_churn_rate` from them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse

from api.metrics_deps import Freshness, MetricsServiceDep, ReadPrincipal
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

REGIONS: tuple[str, ...] = ("NA", "EMEA", "APAC", "LATAM")
SEGMENTS: tuple[str, ...] = ("smb", "mid_market", "enterprise")
FORECAST_METRICS: dict[str, str] = {
    "revenue": "gold.forecast_revenue_daily",
    "active_subscriptions": "gold.forecast_active_subscriptions",
}
FORECAST_LEVELS: tuple[str, ...] = ("total", "region", "plan")
MAX_DAYS: dict[str, int] = {"day": 731, "month": 3660}
PLAN_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
RETRY_AFTER_SECONDS = 10

MRR_DAILY = "gold.mrr_daily"
MOVEMENTS = "gold.mrr_movements_monthly"
CHURN = "gold.churn_monthly"
REVENUE = "gold.revenue_region_daily"
VARIANCE = "gold.forecast_variance"

Grain = Literal["day", "month"]
StartQ = Annotated[dt.date, Query(description="first date (YYYY-MM-DD), inclusive")]
EndQ = Annotated[dt.date, Query(description="last date (YYYY-MM-DD), inclusive")]
RegionQ = Annotated[str | None, Query(description="one of NA, EMEA, APAC, LATAM")]

api_router = APIRouter(prefix="/v1/metrics", tags=["metrics"])


# ----------------------------------------------------------------------------- helpers


def _unprocessable(message: str, **extra: Any) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail={"error": "invalid_query", "message": message, **extra},
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


def _check_region(region: str | None) -> None:
    if region is not None and region not in REGIONS:
        raise _unprocessable(f"unknown region {region!r}", allowed=list(REGIONS))


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _serve(build: Callable[[], dict[str, Any]]) -> JSONResponse:
    """Run a metrics query; map store failures to clear 503 bodies."""
    try:
        return JSONResponse(build())
    except StoreUnavailableError as exc:
        log.warning("metrics store unavailable", extra={"error": str(exc)})
        return JSONResponse(
            {
                "error": "metrics_store_unavailable",
                "detail": f"{exc}; the metrics API reads Gold through Trino "
                "(start it with `finlake trino up`)",
            },
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    except TableUnavailableError as exc:
        return JSONResponse(
            {
                "error": "table_unavailable",
                "detail": f"{exc}; run the pipeline, then `finlake trino register`",
            },
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    except StoreQueryError as exc:
        log.error("metrics query failed", extra={"error": str(exc)})
        return JSONResponse(
            {"error": "query_failed", "detail": "the metrics query failed; see server logs"},
            status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )


def _ratio(numerator: Any, denominator: Any) -> float | None:
    if numerator is None or denominator is None or Decimal(denominator) <= 0:
        return None
    return float(Decimal(numerator) / Decimal(denominator))


# ----------------------------------------------------------------------------- dimensions


def _dimensions(store: MetricsStore, catalog: str) -> dict[str, Any]:
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
    return {
        "regions": list(REGIONS),
        "plans": [r["plan_id"] for r in plans],
        "segments": [r["customer_segment"] for r in segments],
        "date_ranges": {
            "mrr": {"min": ranges["mrr_min"], "max": ranges["mrr_max"]},
            "revenue": {"min": ranges["revenue_min"], "max": ranges["revenue_max"]},
        },
    }


@api_router.get("/dimensions", summary="Regions, plans, segments and date ranges served")
def dimensions(principal: ReadPrincipal, service: MetricsServiceDep) -> JSONResponse:
    """Filter values and date ranges the other endpoints accept."""
    return _serve(
        lambda: service.respond(
            "dimensions",
            {},
            [MRR_DAILY, REVENUE],
            Freshness(MRR_DAILY, "metric_date"),
            lambda store: _dimensions(store, service.catalog),
        )
    )


def _known_plans(service: Any) -> set[str]:
    body = service.respond(
        "dimensions",
        {},
        [MRR_DAILY, REVENUE],
        Freshness(MRR_DAILY, "metric_date"),
        lambda store: _dimensions(store, service.catalog),
    )
    return set(body["data"]["plans"])


# ----------------------------------------------------------------------------- MRR


def _mrr_rows(
    store: MetricsStore,
    catalog: str,
    start: dt.date,
    end: dt.date,
    grain: str,
    filters: dict[str, str | None],
) -> list[dict[str, Any]]:
    where = ["metric_date BETWEEN ? AND ?"]
    params: list[object] = [start, end]
    for column in ("region", "plan_id", "customer_segment"):  # constant identifiers
        value = filters.get(column)
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    daily = (
        "SELECT metric_date, sum(mrr_usd) AS mrr_usd, "
        "sum(active_subscriptions) AS active_subscriptions "
        f"FROM {table_ref(catalog, MRR_DAILY)} WHERE {' AND '.join(where)} GROUP BY metric_date"
    )
    if grain == "day":
        sql = (
            f"SELECT metric_date AS period_start, metric_date AS as_of_date, mrr_usd, "
            f"active_subscriptions FROM ({daily}) ORDER BY metric_date"
        )
    else:
        sql = (
            "SELECT date_trunc('month', metric_date) AS period_start, "
            "max(metric_date) AS as_of_date, max_by(mrr_usd, metric_date) AS mrr_usd, "
            "max_by(active_subscriptions, metric_date) AS active_subscriptions "
            f"FROM ({daily}) GROUP BY date_trunc('month', metric_date) ORDER BY 1"
        )
    return store.fetch(sql, params)


@api_router.get("/mrr", summary="MRR and active subscriptions over a date range")
def mrr(
    principal: ReadPrincipal,
    service: MetricsServiceDep,
    start: StartQ,
    end: EndQ,
    grain: Grain = "day",
    region: RegionQ = None,
    plan: Annotated[str | None, Query(description="plan_id")] = None,
    segment: Annotated[str | None, Query(description="smb, mid_market or enterprise")] = None,
) -> JSONResponse:
    """MRR (USD) and active subscriptions per day or month (end-of-month value)."""
    _check_range(start, end, grain)
    _check_region(region)
    if segment is not None and segment not in SEGMENTS:
        raise _unprocessable(f"unknown segment {segment!r}", allowed=list(SEGMENTS))
    if plan is not None and not PLAN_ID.match(plan):
        raise _unprocessable(f"malformed plan {plan!r}")
    query = {"start": start, "end": end, "grain": grain, "region": region, "plan": plan}
    query["segment"] = segment
    filters = {"region": region, "plan_id": plan, "customer_segment": segment}

    def build() -> dict[str, Any]:
        if plan is not None and plan not in _known_plans(service):
            raise _unprocessable(f"unknown plan {plan!r}")
        return service.respond(
            "mrr",
            query,
            [MRR_DAILY],
            Freshness(MRR_DAILY, "metric_date"),
            lambda store: _mrr_rows(store, service.catalog, start, end, grain, filters),
        )

    return _serve(build)


@api_router.get("/mrr/movements", summary="Monthly MRR movements (opening + moves = closing)")
def mrr_movements(
    principal: ReadPrincipal,
    service: MetricsServiceDep,
    start: StartQ,
    end: EndQ,
    region: RegionQ = None,
) -> JSONResponse:
    """New, expansion, contraction, churn and reactivation MRR per month (USD)."""
    _check_range(start, end, "month")
    _check_region(region)
    columns = (
        "opening_mrr_usd",
        "new_mrr_usd",
        "expansion_mrr_usd",
        "contraction_mrr_usd",
        "churn_mrr_usd",
        "reactivation_mrr_usd",
        "closing_mrr_usd",
    )
    where = "month_start_date BETWEEN ? AND ?"
    params: list[object] = [_month_start(start), end]
    if region is not None:
        where += " AND region = ?"
        params.append(region)
    sums = ", ".join(f"sum({c}) AS {c}" for c in columns)
    sql = (
        f"SELECT month_start_date, {sums} FROM {table_ref(service.catalog, MOVEMENTS)} "
        f"WHERE {where} GROUP BY month_start_date ORDER BY month_start_date"
    )
    return _serve(
        lambda: service.respond(
            "mrr_movements",
            {"start": start, "end": end, "region": region},
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
CHURN_RATES = (
    "logo_churn_rate",
    "gross_revenue_churn_rate",
    "net_revenue_churn_rate",
    "grr",
    "nrr",
)


def _churn(store: MetricsStore, sql: str, params: list[object]) -> dict[str, Any]:
    rows = store.fetch(sql, params)
    totals: dict[Any, dict[str, Any]] = {}
    for row in rows:
        total = totals.setdefault(
            row["month_start_date"],
            {"month_start_date": row["month_start_date"], **dict.fromkeys(CHURN_COUNTS, 0)},
        )
        for column in CHURN_COUNTS:
            total[column] += int(row[column] or 0)
    for total in totals.values():
        opening = total["opening_customers"]
        total["logo_churn_rate"] = total["churned_customers"] / opening if opening else None
    return {"by_region": rows, "total": list(totals.values())}


@api_router.get("/churn", summary="Logo and revenue churn, GRR and NRR per month")
def churn(
    principal: ReadPrincipal,
    service: MetricsServiceDep,
    start: StartQ,
    end: EndQ,
    region: RegionQ = None,
) -> JSONResponse:
    """Churn per month and region, plus monthly totals of the counts and logo churn."""
    _check_range(start, end, "month")
    _check_region(region)
    where = "month_start_date BETWEEN ? AND ?"
    params: list[object] = [_month_start(start), end]
    if region is not None:
        where += " AND region = ?"
        params.append(region)
    sql = (
        f"SELECT month_start_date, region, {', '.join(CHURN_COUNTS + CHURN_RATES)} "
        f"FROM {table_ref(service.catalog, CHURN)} WHERE {where} "
        "ORDER BY month_start_date, region"
    )
    return _serve(
        lambda: service.respond(
            "churn",
            {"start": start, "end": end, "region": region},
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
PERIOD_EXPR: dict[str, str] = {"day": "revenue_date", "month": "date_trunc('month', revenue_date)"}


def _revenue(store: MetricsStore, sql: str, params: list[object]) -> list[dict[str, Any]]:
    rows = store.fetch(sql, params)
    for row in rows:
        row["gross_margin_pct"] = _ratio(row["gross_margin_usd"], row["net_revenue_usd"])
    return rows


@api_router.get("/revenue", summary="Revenue, costs and gross margin by region")
def revenue(
    principal: ReadPrincipal,
    service: MetricsServiceDep,
    start: StartQ,
    end: EndQ,
    grain: Grain = "day",
    region: RegionQ = None,
) -> JSONResponse:
    """Gross/net revenue, refunds, failed payments, costs and margin per period and region."""
    _check_range(start, end, grain)
    _check_region(region)
    period = PERIOD_EXPR[grain]
    where = "revenue_date BETWEEN ? AND ?"
    params: list[object] = [start, end]
    if region is not None:
        where += " AND region = ?"
        params.append(region)
    sums = ", ".join(f"sum({c}) AS {c}" for c in REVENUE_MONEY)
    sql = (
        f"SELECT {period} AS period_start, region, {sums} "
        f"FROM {table_ref(service.catalog, REVENUE)} WHERE {where} "
        f"GROUP BY {period}, region ORDER BY 1, 2"
    )
    return _serve(
        lambda: service.respond(
            "revenue",
            {"start": start, "end": end, "grain": grain, "region": region},
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
    if run_id is None:
        return {"unique_id": unique_id, "run_id": None, "forecast": [], "actual": []}
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
    model = forecast[0]["model"] if forecast else None
    as_of = forecast[0]["as_of_date"] if forecast else None
    points = [{k: v for k, v in r.items() if k not in ("model", "as_of_date")} for r in forecast]
    return {
        "unique_id": unique_id,
        "run_id": run_id,
        "model": model,
        "as_of_date": as_of,
        "forecast": points,
        "actual": actual,
    }


@api_router.get("/forecast", summary="Forecast vs actual with 80/95% intervals")
def forecast(
    principal: ReadPrincipal,
    service: MetricsServiceDep,
    start: StartQ,
    end: EndQ,
    metric: Annotated[str, Query(description="revenue or active_subscriptions")] = "revenue",
    level: Annotated[str, Query(description="total, region or plan")] = "total",
    key: Annotated[str, Query(description="total, a region or a plan_id")] = "total",
    run_id: Annotated[str | None, Query(description="default: latest run with actuals")] = None,
) -> JSONResponse:
    """Point forecast, interval bounds and actuals (from `gold.forecast_variance`) of a run."""
    _check_range(start, end, "day")
    if metric not in FORECAST_METRICS:
        raise _unprocessable(f"unknown metric {metric!r}", allowed=list(FORECAST_METRICS))
    if level not in FORECAST_LEVELS:
        raise _unprocessable(f"unknown level {level!r}", allowed=list(FORECAST_LEVELS))
    if level == "total" and key != "total":
        raise _unprocessable("level 'total' takes key 'total'")
    if level == "region":
        _check_region(key)
    if level == "plan" and not PLAN_ID.match(key):
        raise _unprocessable(f"malformed plan {key!r}")
    if run_id is not None and not PLAN_ID.match(run_id):
        raise _unprocessable(f"malformed run_id {run_id!r}")
    unique_id = f"{metric}/total" if level == "total" else f"{metric}/{level}={key}"
    table = FORECAST_METRICS[metric]
    query = {"start": start, "end": end, "metric": metric, "level": level, "key": key}
    query["run_id"] = run_id

    def build() -> dict[str, Any]:
        versions = service.versions()  # one snapshot for the response and its lookups
        has_variance = versions.get(VARIANCE) is not None
        tables = [table, VARIANCE] if has_variance else [table]

        def memo(name: str, fn: Callable[[MetricsStore], Any]) -> Any:
            return service.memo(("forecast", name, unique_id), tables, versions, fn)

        return service.respond(
            "forecast",
            query,
            tables,
            Freshness(VARIANCE if has_variance else table, "forecast_date"),
            lambda store: _forecast(
                store, service.catalog, table, has_variance, unique_id, start, end, run_id, memo
            ),
            versions=versions,
        )

    return _serve(build)


router = APIRouter()
router.include_router(api_router)
router.include_router(dashboard.router)
