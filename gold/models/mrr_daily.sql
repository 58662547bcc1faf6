-- grain: metric_date x region x plan_id x customer_segment
-- key: metric_date, region, plan_id, customer_segment
-- not_null: metric_date, region, plan_id, customer_segment, mrr_usd, active_subscriptions
-- fk: region -> dim_region.region, plan_id -> dim_plan.plan_id
-- invariant: mrr_usd >= 0 AND active_subscriptions > 0
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
