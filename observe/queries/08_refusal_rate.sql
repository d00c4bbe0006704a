-- Refusal rate per day and model, over the calls whose output was seen (refusal not null).
CREATE OR REPLACE VIEW refusal_rate AS
SELECT cast(start_time AS date) AS day,
       coalesce(response_model, request_model) AS model,
       count(*) AS answers,
       count_if(refusal) AS refusals,
       count_if(refusal) / count(*) AS refusal_rate
FROM metrics
WHERE refusal IS NOT NULL
GROUP BY 1, 2;
