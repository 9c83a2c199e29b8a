"""The transform step: the audit copy, then `dbt build` into it.

`transform` = `prepare_audit` (eduopen.warehouse.audit) + `run_dbt`: seeds, models, data tests and
unit tests into `audit.duckdb`. The quality gate and the publish step come after.

The caller holds the home's writer lock (`eduopen.pipeline`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import duckdb

from eduopen.core.paths import Home
from eduopen.warehouse.audit import prepare_audit
from eduopen.warehouse.dbt import FAILED_STATUSES, TransformError, common_args, dbt_dir, first_line, invoke_dbt

log = logging.getLogger("eduopen.transform")


def transform(home: Home | None = None, *, full_refresh: bool = False, select: str | None = None) -> dict:
    """Build the audit warehouse: raw copies, then `dbt build` (seeds, models, tests, unit tests).

    `select` is a dbt selector (e.g. `+fct_student_mobility`). Raises `TransformError` naming the
    failing nodes when any model, seed or test fails. Returns counts of models and tests, row
    counts of every mart and the elapsed seconds.
    """
    home = home or Home.from_env()
    started = time.monotonic()
    raw_counts = prepare_audit(home)
    summary = run_dbt(home, select=select, full_refresh=full_refresh)
    summary["raw_rows"] = raw_counts
    summary["seconds"] = round(time.monotonic() - started, 2)
    log.info("transform: %s", summary)
    return summary


def run_dbt(home: Home, *, select: str | None = None, full_refresh: bool = False) -> dict[str, Any]:
    """`dbt build` into the audit copy `prepare_audit` made; the second half of `transform`.

    The Airflow warehouse DAG runs the two halves as separate tasks (this one only when it has no
    pre-built manifest to draw one task per dbt node from). Same errors and summary as `transform`,
    without the raw row counts.
    """
    started = time.monotonic()
    args = ["build", *common_args(home)]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        # Only tests whose every parent is selected: a relationships test from an unselected mart
        # into a selected dimension would read a table this partial build never made.
        args += ["--select", select, "--indirect-selection", "cautious"]
    results = invoke_dbt(args, db_path=home.audit, home=home)

    tally = {"models": 0, "seeds": 0, "tests": 0, "unit_tests": 0}
    failed: list[str] = []
    # Advisory tests (unknown figure metric, unmapped geo unit, unlisted source) pass the build
    # but are named in the summary and the log, so an operator sees them without reading dbt.log.
    warnings: list[str] = []
    skipped = 0
    for result in results:
        kind = str(result.node.resource_type)
        key = {"model": "models", "seed": "seeds", "test": "tests", "unit_test": "unit_tests"}.get(kind)
        if key:
            tally[key] += 1
        if str(result.status) in FAILED_STATUSES:
            failed.append(f"{result.node.name} ({result.status}: {first_line(result.message)})")
        elif str(result.status) == "skipped":
            skipped += 1
        elif str(result.status) == "warn":
            warnings.append(f"{result.node.name} ({first_line(result.message)})")
    if failed:
        raise TransformError(
            f"dbt build failed on {len(failed)} node(s): {'; '.join(failed[:10])}"
            f"{' …' if len(failed) > 10 else ''} ({skipped} downstream node(s) skipped). "
            f"Fix the model or the data, then re-run `eduopen transform`; "
            f"full log: {dbt_dir(home) / 'logs' / 'dbt.log'}",
            failed_nodes=failed,
        )

    for warning in warnings:
        log.warning("dbt warning: %s", warning)
    return {
        **tally,
        "rows": mart_row_counts(home.audit),
        "warnings": warnings,
        "full_refresh": full_refresh,
        "seconds": round(time.monotonic() - started, 2),
    }


def mart_row_counts(db_path: Path) -> dict[str, int]:
    """Rows of every table in schema `marts`."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by table_name"
            ).fetchall()
        ]
        return {name: con.execute(f'select count(*) from marts."{name}"').fetchall()[0][0] for name in tables}
    finally:
        con.close()
