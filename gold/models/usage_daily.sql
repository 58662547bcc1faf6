-- table: gold.usage_daily (grain, key and tests: conf/catalog.py)
-- grain: usage_date x subscription_id x metric
-- depends_on: usage
SELECT
    event_date AS usage_date,
    CAST(date_format(event_date, 'yyyyMMdd') AS INT) AS date_key,
    subscription_id,
    max(customer_id) AS customer_id,
    metric,
    CAST(sum(quantity) AS DECIMAL(18, 4)) AS quantity,
    count(*) AS readings
FROM usage
GROUP BY event_date, subscription_id, metric
