-- table: gold.revenue_region_daily (grain, key and tests: conf/catalog.py)
-- grain: revenue_date x region
-- depends_on: revenue_daily, costs_daily
WITH revenue AS (
    SELECT revenue_date, region,
        sum(gross_usd) AS gross_revenue_usd, sum(refunds_usd) AS refunds_usd,
        sum(net_usd) AS net_revenue_usd, sum(failed_usd) AS failed_payments_usd
    FROM revenue_daily GROUP BY revenue_date, region
), costs AS (
    SELECT cost_date AS revenue_date, region,
        sum(amount_usd) AS costs_usd,
        sum(CASE WHEN cost_center IN ('infrastructure', 'support') THEN amount_usd ELSE 0 END) AS cogs_usd
    FROM costs_daily GROUP BY cost_date, region
)
SELECT
    revenue_date,
    region,
    CAST(coalesce(r.gross_revenue_usd, 0) AS DECIMAL(18, 4)) AS gross_revenue_usd,
    CAST(coalesce(r.refunds_usd, 0) AS DECIMAL(18, 4)) AS refunds_usd,
    CAST(coalesce(r.net_revenue_usd, 0) AS DECIMAL(18, 4)) AS net_revenue_usd,
    CAST(coalesce(r.failed_payments_usd, 0) AS DECIMAL(18, 4)) AS failed_payments_usd,
    CAST(coalesce(c.costs_usd, 0) AS DECIMAL(18, 4)) AS costs_usd,
    CAST(coalesce(c.cogs_usd, 0) AS DECIMAL(18, 4)) AS cogs_usd,
    CAST(coalesce(r.net_revenue_usd, 0) - coalesce(c.cogs_usd, 0) AS DECIMAL(18, 4)) AS gross_margin_usd,
    CASE WHEN coalesce(r.net_revenue_usd, 0) > 0
        THEN CAST((coalesce(r.net_revenue_usd, 0) - coalesce(c.cogs_usd, 0)) / r.net_revenue_usd AS DOUBLE)
    END AS gross_margin_pct
FROM revenue r FULL OUTER JOIN costs c USING (revenue_date, region)
