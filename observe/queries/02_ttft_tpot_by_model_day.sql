-- TTFT and TPOT p95 by model and day (the day the span started, UTC).
-- Athena/Trino: approx_percentile for quantile_cont; cast(start_time AS date) is the same.
CREATE OR REPLACE VIEW ttft_tpot_by_model_day AS
SELECT cast(start_time AS date) AS day,
       coalesce(response_model, request_model) AS model,
       count(*) AS calls,
       quantile_cont(ttft_ms, 0.95) AS ttft_p95_ms,
       quantile_cont(tpot_ms, 0.95) AS tpot_p95_ms
FROM metrics
WHERE ttft_ms IS NOT NULL OR tpot_ms IS NOT NULL
GROUP BY 1, 2;
