"""The Airflow pool every DuckDB writer task runs in.

DuckDB allows one writer per file: with a single slot, Airflow queues writers instead of letting
them fail on the file lock. The local mode (`demo.airflow_local setup`) and the deployment's init
(`deploy/init.sh`) create it with one slot.
"""

WRITER_POOL = "eduopen_duckdb_writer"
