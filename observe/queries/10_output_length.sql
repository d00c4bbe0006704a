-- Output length per day and model: words and characters of the answer, and output tokens.
-- Athena/Trino: approx_percentile for quantile_cont.
CREATE OR REPLACE VIEW output_length AS
SELECT cast(start_time AS date) AS day,
       coalesce(response_model, request_model) AS model,
       count(*) AS answers,
       quantile_cont(output_words, 0.50) AS p50_words,
       quantile_cont(output_words, 0.95) AS p95_words,
       avg(output_chars) AS mean_chars,
       avg(output_tokens) AS mean_output_tokens
FROM metrics
WHERE output_chars IS NOT NULL
GROUP BY 1, 2;
