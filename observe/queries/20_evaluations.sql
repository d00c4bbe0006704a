-- Feedback and evaluations per day and name: gen_ai.evaluation.result events (judges, thumbs,
-- human review). Over the `evaluations` table, which holds scores and labels only.
-- Athena/Trino: the same (cast the division to double in Trino).
CREATE OR REPLACE VIEW evaluation_scores AS
SELECT cast(coalesce(event_time, received_at) AS date) AS day,
       coalesce(name, '(unnamed)') AS name,
       count(*) AS results,
       avg(score_value) AS mean_score,
       count(DISTINCT trace_id) AS traces
FROM evaluations
GROUP BY 1, 2;
