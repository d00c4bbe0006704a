-- Cache efficiency: the application's exact/semantic cache (cache_hit) and the provider's
-- prompt cache (cache-read share of input tokens), per day.
-- Athena/Trino: the same; cast the divisions to double in Trino.
CREATE OR REPLACE VIEW cache_hit_rate AS
SELECT cast(start_time AS date) AS day,
       count_if(cache_hit IS NOT NULL) AS cache_lookups,
       count_if(cache_hit) AS cache_hits,
       count_if(cache_hit) / nullif(count_if(cache_hit IS NOT NULL), 0) AS cache_hit_rate,
       sum(cache_read_tokens) / nullif(sum(input_tokens), 0) AS prompt_cache_read_share
FROM metrics
GROUP BY 1;
