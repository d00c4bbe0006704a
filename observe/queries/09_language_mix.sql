-- Language mix per day (ISO 639-1 of the user turn); null means too short to tell.
-- Athena/Trino: window functions are the same.
CREATE OR REPLACE VIEW language_mix AS
SELECT cast(start_time AS date) AS day,
       coalesce(language, '(unknown)') AS language,
       count(*) AS calls,
       count(*) / sum(count(*)) OVER (PARTITION BY cast(start_time AS date)) AS share
FROM metrics
WHERE input_chars IS NOT NULL OR output_chars IS NOT NULL
GROUP BY 1, 2;
