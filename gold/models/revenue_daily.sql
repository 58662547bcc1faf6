-- table: gold.revenue_daily (grain, key and tests: conf/catalog.py)
-- grain: revenue_date x customer version x plan_id x currency
-- Refunds carry the refunded payment's customer version, region, plan and USD rate (gold/revenue.py).
-- depends_on: payment_facts
SELECT
    revenue_date,
    CAST(date_format(revenue_date, 'yyyyMMdd') AS INT) AS date_key,
    customer_id,
    customer_key,
    region,
    plan_id,
    currency,
    CAST(sum(CASE WHEN status = 'succeeded' THEN amount ELSE 0 END) AS DECIMAL(18, 4)) AS gross_amount,
    CAST(sum(CASE WHEN status = 'refunded' THEN amount ELSE 0 END) AS DECIMAL(18, 4)) AS refund_amount,
    CAST(sum(CASE WHEN status = 'succeeded' THEN amount WHEN status = 'refunded' THEN -amount ELSE 0 END)
        AS DECIMAL(18, 4)) AS net_amount,
    CAST(sum(CASE WHEN status = 'failed' THEN amount ELSE 0 END) AS DECIMAL(18, 4)) AS failed_amount,
    CAST(sum(CASE WHEN status = 'succeeded' THEN amount_usd ELSE 0 END) AS DECIMAL(18, 4)) AS gross_usd,
    CAST(sum(CASE WHEN status = 'refunded' THEN amount_usd ELSE 0 END) AS DECIMAL(18, 4)) AS refunds_usd,
    CAST(sum(CASE WHEN status = 'succeeded' THEN amount_usd WHEN status = 'refunded' THEN -amount_usd ELSE 0 END)
        AS DECIMAL(18, 4)) AS net_usd,
    CAST(sum(CASE WHEN status = 'failed' THEN amount_usd ELSE 0 END) AS DECIMAL(18, 4)) AS failed_usd,
    count(*) AS payments
FROM payment_facts
GROUP BY revenue_date, customer_id, customer_key, region, plan_id, currency
