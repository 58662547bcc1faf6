-- grain: cost_date x region x cost_center
-- key: cost_date, region, cost_center
-- not_null: cost_date, date_key, region, cost_center, amount_usd
-- fk: region -> dim_region.region, date_key -> dim_time.date_key
-- depends_on: operational_cost
SELECT
    incurred_date AS cost_date,
    CAST(date_format(incurred_date, 'yyyyMMdd') AS INT) AS date_key,
    region,
    cost_center,
    CAST(sum(amount_usd) AS DECIMAL(18, 4)) AS amount_usd,
    CAST(sum(CASE WHEN amount_usd < 0 THEN amount_usd ELSE 0 END) AS DECIMAL(18, 4)) AS credits_usd,
    count(*) AS cost_items
FROM operational_cost
GROUP BY incurred_date, region, cost_center
