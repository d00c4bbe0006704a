-- Redactions per entity type and day.
-- Athena/Trino: CROSS JOIN UNNEST(redactions) AS r(entity, n) instead of map_entries.
CREATE OR REPLACE VIEW redactions_by_type AS
SELECT day, entry.key AS entity, sum(entry.value) AS redactions
FROM (SELECT cast(start_time AS date) AS day, unnest(map_entries(redactions)) AS entry FROM metrics)
GROUP BY 1, 2;
