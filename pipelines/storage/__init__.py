"""The DuckDB warehouse: schema, sessions, upserts, crawl runs, procurement processes, snapshot and Parquet."""
