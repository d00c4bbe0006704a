-- Tool success: calls, failures and the failure rate per tool and day.
CREATE OR REPLACE VIEW tool_failure_rate AS
SELECT cast(start_time AS date) AS day,
       coalesce(tool_name, '(unnamed)') AS tool_name,
       count(*) AS calls,
       count_if(tool_status = 'error') AS failures,
       count_if(tool_status = 'error') / count(*) AS failure_rate
FROM metrics
WHERE tool_status IS NOT NULL
GROUP BY 1, 2;
