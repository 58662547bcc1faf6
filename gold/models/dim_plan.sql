-- table: gold.dim_plan (grain, key and tests: conf/catalog.py)
-- grain: one row per plan of the catalog
-- depends_on: plans
SELECT
    CAST(xxhash64(plan_id) AS BIGINT) AS plan_key,
    plan_id,
    plan_name,
    tier,
    billing_period,
    currency AS list_currency,
    list_price,
    CASE billing_period WHEN 'annual' THEN CAST(round(list_price / 12, 4) AS DECIMAL(18, 4))
        ELSE list_price END AS list_mrr
FROM plans
