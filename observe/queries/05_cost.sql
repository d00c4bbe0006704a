-- Unit economics: cost per request (priced call), per task (trace) and per feature.
-- A feature label usually sits on the root span, not on the model call: it is taken from any
-- span of the trace. Null cost (unknown model) is left out, never counted as zero.
-- Athena/Trino: approx_percentile for quantile_cont; max_by/any_value differ (use arbitrary()).
CREATE OR REPLACE VIEW cost_per_request AS
SELECT cast(start_time AS date) AS day,
       coalesce(response_model, request_model) AS model,
       count(*) AS requests,
       sum(cost_usd) AS cost_usd,
       avg(cost_usd) AS cost_per_request_usd,
       quantile_cont(cost_usd, 0.95) AS p95_cost_usd
FROM metrics
WHERE cost_usd IS NOT NULL
GROUP BY 1, 2;

CREATE OR REPLACE VIEW cost_per_trace AS
SELECT trace_id,
       min(start_time) AS started,
       max(feature) AS feature,
       sum(cost_usd) AS cost_usd,
       count_if(cost_usd IS NOT NULL) AS priced_calls
FROM metrics
WHERE trace_id IS NOT NULL
GROUP BY trace_id;

CREATE OR REPLACE VIEW cost_per_day AS
SELECT cast(started AS date) AS day,
       count(*) AS traces,
       sum(cost_usd) AS cost_usd,
       avg(cost_usd) AS cost_per_trace_usd
FROM cost_per_trace
WHERE priced_calls > 0
GROUP BY 1;

CREATE OR REPLACE VIEW cost_per_feature AS
SELECT coalesce(feature, '(none)') AS feature,
       count(*) AS traces,
       sum(cost_usd) AS cost_usd,
       avg(cost_usd) AS cost_per_trace_usd
FROM cost_per_trace
WHERE priced_calls > 0
GROUP BY 1;
