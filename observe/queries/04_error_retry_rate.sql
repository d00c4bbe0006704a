-- Error rate and retry rate per day: errors of any kind (provider, tool, validation, policy).
-- Athena/Trino: count_if exists in both; the division needs a cast to double in Trino.
CREATE OR REPLACE VIEW error_retry_rate AS
SELECT cast(start_time AS date) AS day,
       count(*) AS spans,
       count_if(status_code = 'error' OR error_type IS NOT NULL) AS errors,
       count_if(status_code = 'error' OR error_type IS NOT NULL) / count(*) AS error_rate,
       count_if(retry_count > 0) AS retried_spans,
       coalesce(sum(retry_count), 0) AS retries,
       count_if(retry_count > 0) / count(*) AS retry_rate
FROM metrics
GROUP BY 1;
