-- Serving throughput: output tokens per second of span time, per model and day.
-- Athena/Trino: approx_percentile for quantile_cont.
CREATE OR REPLACE VIEW tokens_per_s AS
SELECT cast(start_time AS date) AS day,
       coalesce(response_model, request_model) AS model,
       count(*) AS calls,
       quantile_cont(output_tokens_per_s, 0.50) AS p50_tokens_per_s,
       sum(output_tokens) / nullif(sum(duration_ms) / 1000.0, 0) AS overall_tokens_per_s
FROM metrics
WHERE output_tokens_per_s IS NOT NULL
GROUP BY 1, 2;
