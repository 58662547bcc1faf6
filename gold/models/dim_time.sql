-- table: gold.dim_time (grain, key and tests: conf/catalog.py)
-- grain: one row per calendar date
-- depends_on: date_bounds
SELECT
    CAST(date_format(d, 'yyyyMMdd') AS INT) AS date_key,
    d AS calendar_date,
    dayofweek(d) AS day_of_week,
    date_format(d, 'EEEE') AS day_name,
    dayofweek(d) IN (1, 7) AS is_weekend,
    weekofyear(d) AS week_of_year,
    dayofmonth(d) AS day_of_month,
    month(d) AS month,
    date_format(d, 'MMMM') AS month_name,
    CAST(trunc(d, 'MM') AS DATE) AS month_start_date,
    quarter(d) AS quarter,
    year(d) AS year,
    d = last_day(d) AS is_month_end
FROM date_bounds
LATERAL VIEW explode(sequence(start_date, end_date, INTERVAL 1 DAY)) AS d
