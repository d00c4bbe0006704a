-- The two tables over the Hive layout, as DuckDB reads a local copy or a mounted store.
-- `{root}` is replaced by the store root (a directory, or s3://bucket/prefix with httpfs).
-- union_by_name: files of metrics schema 1 and 2 read together; columns a file lacks are null.
-- hive_types_autocast=false: a tenant id made of digits stays a string.
-- Athena/Trino: declare external tables instead, PARTITIONED BY (tenant, env, date) with
--   projection on date; the files also hold tenant and env as data columns, so leave those two
--   out of the column list (Athena rejects a name that is both) and read them from the partition.
CREATE OR REPLACE VIEW metrics AS
SELECT * FROM read_parquet('{root}/metrics/**/*.parquet', hive_partitioning = true, union_by_name = true,
                           hive_types_autocast = false);
