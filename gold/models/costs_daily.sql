-- table: gold.costs_daily (grain, key and tests: conf/catalog.py)
-- grain: cost_date x region x cost_center; amounts converted at the rate in force on the incurred date
-- depends_on: cost_facts
SELECT
    incurred_date AS cost_date,
    CAST(date_format(incurred_date, 'yyyyMMdd') AS INT) AS date_key,
    region,
    cost_center,
    CAST(sum(amount_usd) AS DECIMAL(18, 4)) AS amount_usd,
    CAST(sum(CASE WHEN amount_usd < 0 THEN amount_usd ELSE 0 END) AS DECIMAL(18, 4)) AS credits_usd,
    count(*) AS cost_items
FROM cost_facts
GROUP BY incurred_date, region, cost_center
