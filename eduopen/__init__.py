"""EduOpen's application package: everything after ingestion, layered by pipeline stage.

`core` (configuration, paths, the writer lock, errors, file helpers) is imported by every layer;
`warehouse` (the audit copy and dbt), `publish`, `report` and `status` work on what `ingest`
stored; `pipeline` runs the steps in order under the writer lock; `orchestration` (what the DAG
files import) and `cli` sit on top. The import-linter contracts in pyproject.toml keep it so.
"""
