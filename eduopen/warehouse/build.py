"""The transform step: the audit copy, then `dbt build` into it.

`transform` = `prepare_audit` (eduopen.warehouse.audit) + `run_dbt`: seeds, models and data tests
into `audit.duckdb`. The quality gate and the publish step come after. dbt's unit tests check the
models' SQL, not the data: they belong to development and CI (`run_unit_tests`, run by `make
test`), as dbt recommends, not to every build. A build with nothing new (the dbt project, the raw
tables it reads and the tables it built all as the last complete build left them,
eduopen.warehouse.build_inputs) does not run dbt at all; with only some raw tables changed, it
builds what those feed.

The caller holds the home's writer lock (`eduopen.pipeline`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import duckdb

from eduopen.core.paths import Home
from eduopen.warehouse import build_inputs
from eduopen.warehouse.audit import prepare_audit
from eduopen.warehouse.dbt import FAILED_STATUSES, TransformError, common_args, dbt_dir, first_line, invoke_dbt
from eduopen.warehouse.manifest import project_fingerprint

log = logging.getLogger("eduopen.transform")


def transform(home: Home | None = None, *, full_refresh: bool = False, select: str | None = None) -> dict:
    """Build the audit warehouse: raw copies, then `dbt build` (seeds, models, data tests).

    `select` is a dbt selector (e.g. `+fct_student_mobility`). Raises `TransformError` naming the
    failing nodes when any model, seed or test fails. Returns counts of models and tests, row
    counts of every mart, the elapsed seconds, `selection`: the dbt selector built (`select`, or
    what the raw sources changed since the last complete build feed; None: everything), and
    `dbt_skipped`: why dbt did not run (nothing new since the last complete build), else None.
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
    complete = not select
    since = None
    if complete and not full_refresh and home.audit.exists():
        since = build_inputs.since_last_build(home.audit)
    if since is not None and not since.changed_sources:
        return _nothing_new(home, since.previous, started)
    if home.audit.exists():
        build_inputs.forget(home.audit)
    project = project_fingerprint()
    args = ["build", *common_args(home), "--exclude-resource-type", "unit_test"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        # Only tests whose every parent is selected: a relationships test from an unselected mart
        # into a selected dimension would read a table this partial build never made.
        args += ["--select", select, "--indirect-selection", "cautious"]
    elif since is not None:
        # Only what the changed sources feed; every other table is as the last complete build left
        # it, so a test with any parent rebuilt runs (dbt's eager default), reading the others as is.
        select = since.selector()
        log.info("transform: raw sources changed since the last complete build: %s", ", ".join(since.changed_sources))
        args += ["--select", select]
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
    if complete:
        # The warnings of advisory tests this build did not run still stand.
        ran = {str(result.node.name) for result in results}
        kept = [w for w in since.previous.warnings if w.split(" (", 1)[0] not in ran] if since else []
        manifest = dbt_dir(home) / "target" / "manifest.json"
        build_inputs.record(home.audit, manifest, project=project, warnings=kept + warnings)
    return {
        **tally,
        "rows": mart_row_counts(home.audit),
        "warnings": warnings,
        "full_refresh": full_refresh,
        "selection": select,
        "dbt_skipped": None,
        "seconds": round(time.monotonic() - started, 2),
    }


def _nothing_new(home: Home, previous: build_inputs.BuildInputs, started: float) -> dict[str, Any]:
    reason = (
        f"nothing new since the last complete build: the dbt project, its {len(previous.sources)} "
        f"raw source tables and its {len(previous.built_rows)} built tables are as it left them"
    )
    log.info("transform: %s; dbt not run", reason)
    # What reads dbt's results after a build (lineage, the benchmark) must not take the last
    # build's for this one's.
    (dbt_dir(home) / "target" / "run_results.json").unlink(missing_ok=True)
    for warning in previous.warnings:
        log.warning("dbt warning: %s", warning)
    return {
        "models": 0,
        "seeds": 0,
        "tests": 0,
        "unit_tests": 0,
        "rows": mart_row_counts(home.audit),
        "warnings": list(previous.warnings),
        "full_refresh": False,
        "selection": None,
        "dbt_skipped": reason,
        "seconds": round(time.monotonic() - started, 2),
    }


def run_unit_tests(home: Home) -> int:
    """dbt's unit tests (`dbt test --select test_type:unit`) against the audit copy; returns how many ran.

    They need the relations the tested models read, so they run after a build. Raises
    `TransformError` naming the failing tests.
    """
    args = ["test", *common_args(home), "--select", "test_type:unit"]
    results = invoke_dbt(args, db_path=home.audit, home=home)
    failed = [
        f"{result.node.name} ({result.status}: {first_line(result.message)})"
        for result in results
        if str(result.status) in FAILED_STATUSES
    ]
    if failed:
        raise TransformError(f"dbt unit tests failed: {'; '.join(failed)}", failed_nodes=failed)
    return len(results)


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
