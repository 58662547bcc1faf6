-- grain: revenue_date x customer_id x plan_id x currency
-- key: revenue_date, customer_id, plan_id, currency
-- not_null: revenue_date, date_key, customer_id, customer_key, region, plan_id, currency, net_usd
-- fk: region -> dim_region.region, date_key -> dim_time.date_key, customer_key -> dim_customer.customer_key
-- invariant: net_usd = gross_usd - refunds_usd AND net_amount = gross_amount - refund_amount
-- depends_on: payment_enriched
SELECT
    event_date AS revenue_date,
    CAST(date_format(event_date, 'yyyyMMdd') AS INT) AS date_key,
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
FROM payment_enriched
GROUP BY event_date, customer_id, customer_key, region, plan_id, currency
