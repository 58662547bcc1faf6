-- table: gold.dim_region (grain, key and tests: conf/catalog.py)
-- grain: one row per sales region
-- depends_on: regions
SELECT
    CAST(xxhash64(region) AS BIGINT) AS region_key,
    region,
    CASE region
        WHEN 'NA' THEN 'North America'
        WHEN 'EMEA' THEN 'Europe, Middle East and Africa'
        WHEN 'APAC' THEN 'Asia-Pacific'
        WHEN 'LATAM' THEN 'Latin America'
        ELSE region
    END AS region_name
FROM regions
