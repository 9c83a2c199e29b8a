"""Ingestion: the polite HTTP client, robots and charsets, one folder per source, the raw store,
and the figures read out of release texts. It knows nothing of dbt, the gate or Airflow."""
