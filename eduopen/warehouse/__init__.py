"""The audit warehouse: the copy of the raw tables dbt reads, and dbt itself (build, docs, compile,
the manifest Cosmos renders)."""
