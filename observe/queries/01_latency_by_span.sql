-- Latency by span name: "a single latency_ms metric is not enough".
-- Athena/Trino: approx_percentile(duration_ms, 0.5) (and 0.95, 0.99) for quantile_cont.
CREATE OR REPLACE VIEW latency_by_span AS
SELECT name,
       count(*) AS spans,
       quantile_cont(duration_ms, 0.50) AS p50_ms,
       quantile_cont(duration_ms, 0.95) AS p95_ms,
       quantile_cont(duration_ms, 0.99) AS p99_ms
FROM metrics
WHERE duration_ms IS NOT NULL
GROUP BY name;
