-- Retrieval score distribution per day: if scores drop after a corpus migration, evidence
-- quality has degraded even when uptime is perfect.
-- Athena/Trino: approx_percentile for quantile_cont.
CREATE OR REPLACE VIEW retrieval_scores AS
SELECT cast(start_time AS date) AS day,
       count(*) AS retrievals,
       avg(retrieval_score_mean) AS mean_score,
       quantile_cont(retrieval_score_mean, 0.05) AS p05_mean_score,
       quantile_cont(retrieval_score_mean, 0.50) AS p50_mean_score,
       quantile_cont(retrieval_score_mean, 0.95) AS p95_mean_score,
       avg(retrieval_score_min) AS mean_min_score,
       avg(retrieval_score_max) AS mean_max_score
FROM metrics
WHERE retrieval_score_mean IS NOT NULL
GROUP BY 1;
