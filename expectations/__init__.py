"""The write–audit–publish quality gate: Great Expectations suites (reviewed JSON files in
`suites/`), their loader, and the `validate` step run on the audit warehouse.

Nothing heavy is imported here: GX takes seconds to import and DAG files must parse fast.
"""
