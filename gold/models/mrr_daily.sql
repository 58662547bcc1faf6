-- table: gold.mrr_daily (grain, key and tests: conf/catalog.py)
-- grain: metric_date x region x plan_id x customer_segment
-- depends_on: subscriptions_snapshot
SELECT
    snapshot_date AS metric_date,
    region,
    plan_id,
    customer_segment,
    CAST(sum(mrr_usd) AS DECIMAL(18, 4)) AS mrr_usd,
    count(*) AS active_subscriptions,
    count(DISTINCT customer_id) AS active_customers
FROM subscriptions_snapshot
WHERE is_active
GROUP BY snapshot_date, region, plan_id, customer_segment
