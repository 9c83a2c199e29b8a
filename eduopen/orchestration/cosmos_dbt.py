"""How the warehouse DAG runs dbt: one Airflow task per dbt node, drawn by Astronomer Cosmos.

Cosmos renders the task group from the manifest that
`eduopen.warehouse.manifest` writes ahead of time (`LoadMode.DBT_MANIFEST`: no dbt run at parse time) and
is imported only inside `dbt_task_group`, so a parse that falls back to one `dbt build` task does
not pay for the import.

What the group looks like in the UI (group `dbt`):

* `<name>_model_build` / `<name>_seed_build`: one task per model or seed that builds it and runs
  its data tests and unit tests (Cosmos's `TestBehavior.BUILD`: `dbt build --select <node>`); a
  failed test fails the task and stops everything downstream of it, as in a whole `dbt build`;
* `<test>_test` for each test between two nodes (a `relationships` test), run once both exist;
* `<source>_source`: `dbt source freshness` of a raw source that declares freshness (Cosmos's
  source rendering); freshness only warns, so a quiet source does not stop the build;
* `<source>_source_test`: the tests on a raw source, after its freshness, before the staging
  models reading it.

Every dbt task runs in the one-slot writer pool; DuckDB allows one writing process per file,
so the pool queues the tasks instead of letting them fail on dbt-duckdb's file lock. Each task
also holds the EduOpen writer lock while it runs (so `eduopen transform` from a shell waits for
it), and closes its DuckDB handle when dbt is done, even when dbt runs inside the task process
(`InvocationMode.DBT_RUNNER`) and the process lives on, as under `airflow dags test`. The DAG's
`default_args` (retries, timeout, failure callback) apply to these tasks as to every other.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path
from typing import Any

from eduopen.core.config import DBT_DB_PATH
from eduopen.core.paths import DBT_PROJECT_DIR, Home
from eduopen.orchestration.lineage import openlineage_enabled
from eduopen.orchestration.pools import WRITER_POOL
from eduopen.warehouse.manifest import ManifestCheck

GROUP_ID = "dbt"
PROFILE_NAME, TARGET_NAME = "eduopen", "audit"

log = logging.getLogger("eduopen.airflow")


def dbt_executable() -> str:
    """The dbt of this interpreter's environment, else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def dbt_task_group(manifest: ManifestCheck, home: Home, *, full_refresh: str) -> Any:
    """The Cosmos `DbtTaskGroup` (group id `dbt`) of the EduOpen dbt project; call inside a DAG.

    `full_refresh` is a template rendering to true/false (e.g. `{{ params.full_refresh }}`).
    """
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import (
        DbtResourceType,
        ExecutionMode,
        InvocationMode,
        LoadMode,
        SourceRenderingBehavior,
        TestBehavior,
    )

    # No packages from the hub: nothing to install, and no probing for it per task at parse time.
    project = ProjectConfig(dbt_project_path=DBT_PROJECT_DIR, install_dbt_deps=False)
    # Set afterwards as a plain local Path: given to the constructor it becomes an ObjectStoragePath,
    # whose open() loads every Airflow plugin to collect hook lineage (~0.3 s in a fresh process).
    project.manifest_path = manifest.path
    render = RenderConfig(
        load_method=LoadMode.DBT_MANIFEST,
        # One task per node builds and tests it: one dbt start-up per node, not one for the node
        # and another for its tests.
        test_behavior=TestBehavior.BUILD,
        # A relationships test reads two models: run it once both are built, not after the first.
        should_detach_multiple_parents_tests=True,
        source_rendering_behavior=SourceRenderingBehavior.WITH_TESTS_OR_FRESHNESS,
        # Downstream DAGs wait for the *published* marts (publish emits them), not the audit copy.
        emit_datasets=False,
    )

    def convert_source(**kwargs: Any) -> Any:
        return source_then_its_tests(render_config=render, **kwargs)

    render.node_converters = {DbtResourceType.SOURCE: convert_source}
    group = DbtTaskGroup(
        group_id=GROUP_ID,
        project_config=project,
        profile_config=ProfileConfig(
            profile_name=PROFILE_NAME,
            target_name=TARGET_NAME,
            profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            # dbtRunner in the task process: no second interpreter start and dbt import per node
            # (the executable is only what InvocationMode.SUBPROCESS would run instead).
            invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=dbt_executable(),
        ),
        render_config=render,
        operator_args={
            "pool": WRITER_POOL,
            "env": {DBT_DB_PATH.name: str(home.audit)},
            # manifest.json and run_results.json in the task's throw-away copy of the project are
            # what Cosmos turns into the node's OpenLineage datasets; without OpenLineage nothing
            # reads them, and skipping them saves a third of each dbt invocation.
            "dbt_cmd_global_flags": [] if openlineage_enabled() else ["--no-write-json"],
            "full_refresh": full_refresh,
            "pre_execute": hold_writer_lock,
            "post_execute": release_writer_lock,
            "callback": release_audit_db,
        },
    )
    _document_tasks(group, manifest)
    return group


def source_then_its_tests(
    *,
    dag: Any,
    task_group: Any,
    node: Any,
    task_args: dict[str, Any],
    execution_mode: Any,
    test_indirect_selection: Any,
    render_config: Any,
    **_: Any,
) -> Any:
    """Cosmos node converter for a raw source: Cosmos's freshness task, then Cosmos's test task.

    Under `TestBehavior.BUILD`, Cosmos 1.15 renders a source as its `dbt source freshness` task
    only, and no task runs the tests declared on the source (it renders them after the source
    only under `TestBehavior.AFTER_EACH`). Both tasks come from Cosmos's own task factories; the
    staging models reading the source wait for the last of them. A source with tests but no
    freshness gets its test task alone, not a freshness check with nothing to check.
    """
    from cosmos.airflow.graph import create_task_metadata, create_test_task_metadata
    from cosmos.core.airflow import get_airflow_task

    freshness = None
    if node.has_freshness:
        metadata = create_task_metadata(
            node=node,
            execution_mode=execution_mode,
            args=task_args,
            dbt_dag_task_group_identifier=f"{dag.dag_id}__{task_group.group_id}",
            render_config=render_config,
        )
        freshness = get_airflow_task(metadata, dag, task_group) if metadata else None
    if not node.has_test:
        return freshness
    tests = get_airflow_task(
        create_test_task_metadata(
            f"{node.name}_source_test",
            execution_mode,
            test_indirect_selection,
            task_args=task_args,
            node=node,
            render_config=render_config,
        ),
        dag,
        task_group,
    )
    if freshness is not None:
        freshness >> tests
    return tests


def hold_writer_lock(context: Any) -> None:
    """pre_execute of every dbt task: take the EduOpen writer lock (waits for a shell run to finish)."""
    from eduopen import pipeline

    pipeline.hold_writer(Home.from_env(), owner=_ti_key(context))


def release_writer_lock(context: Any, result: Any = None) -> None:
    """post_execute: give the lock back. After a failure Airflow skips post_execute; the task
    process ends then and the kernel drops the lock (the lock is re-entrant within a thread, so
    later tasks of an in-process `airflow dags test` are not blocked by it either)."""
    from eduopen import pipeline

    pipeline.release_writer(_ti_key(context))


def release_audit_db(project_dir: str, **_: Any) -> None:
    """Cosmos callback after each dbt invocation: close dbt-duckdb's handle on the audit file."""
    from eduopen.warehouse.dbt import release_dbt_duckdb

    release_dbt_duckdb()


def _ti_key(context: Any) -> tuple[str, str, str, int]:
    ti = context["ti"]
    return (ti.dag_id, ti.task_id, ti.run_id, getattr(ti, "map_index", -1))


def _document_tasks(group: Any, manifest: ManifestCheck) -> None:
    """Give every task of the group its doc in the UI: the dbt node, its description, what it runs."""
    prefix = f"{group.group_id}."
    for task_id, task in group.dag.task_dict.items():
        if not task_id.startswith(prefix):
            continue
        node = (getattr(task, "extra_context", None) or {}).get("dbt_node_config") or {}
        unique_id = node.get("unique_id", "")
        command = " ".join(getattr(task, "base_cmd", None) or ["dbt"])
        selected = getattr(task, "select", None) or ""
        if task_id.endswith("_source_test"):
            what = f"`dbt {command} --select {selected}`: the tests on raw source `{unique_id}`."
        elif command == "test" and unique_id.startswith("test."):
            what = f"`dbt {command} --select {selected}`: a test between two nodes, run once both are built."
        elif command == "source freshness":
            what = (
                f"`dbt {command} --select {selected}`: how recent the newest load of raw source `{unique_id}` "
                "is; a stale source warns and the build goes on."
            )
        elif command == "build":
            what = (
                f"`dbt {command} --select {selected}`: builds `{unique_id}` into the audit warehouse, then "
                "runs its data tests and unit tests; a failure stops everything downstream."
            )
        else:
            what = f"`dbt {command} --select {selected}` of `{unique_id}` into the audit warehouse."
        description = manifest.descriptions.get(unique_id, "")
        task.doc_md = what + (f"\n\n{description}" if description and command != "test" else "")
