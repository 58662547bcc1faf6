-- grain: cohort_month x months_since_signup
-- key: cohort_month, months_since_signup
-- not_null: cohort_month, months_since_signup, cohort_customers, retained_customers
-- invariant: retained_customers <= cohort_customers
-- depends_on: subscriptions_snapshot, month_ends
WITH active AS (
    SELECT customer_id, snapshot_date FROM subscriptions_snapshot WHERE is_active
    GROUP BY customer_id, snapshot_date
), first_seen AS (
    SELECT customer_id, CAST(trunc(min(snapshot_date), 'MM') AS DATE) AS cohort_month
    FROM active GROUP BY customer_id
), cohort_size AS (
    SELECT cohort_month, count(*) AS cohort_customers FROM first_seen GROUP BY cohort_month
), retained AS (
    SELECT f.cohort_month, m.month_start_date,
        count(DISTINCT a.customer_id) AS retained_customers
    FROM first_seen f
    JOIN month_ends m ON m.month_start_date >= f.cohort_month
    LEFT JOIN active a ON a.customer_id = f.customer_id AND a.snapshot_date = m.month_end_date
    GROUP BY f.cohort_month, m.month_start_date
)
SELECT
    r.cohort_month,
    CAST(months_between(r.month_start_date, r.cohort_month) AS INT) AS months_since_signup,
    s.cohort_customers,
    r.retained_customers,
    CAST(r.retained_customers AS DOUBLE) / s.cohort_customers AS retention_rate
FROM retained r JOIN cohort_size s USING (cohort_month)
