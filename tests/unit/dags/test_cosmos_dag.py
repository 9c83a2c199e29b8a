"""dbt in Airflow, per node (`EDUOPEN_DBT_TASKS=per_node`, the opt-in): with a pre-built manifest
the warehouse DAG has one task per dbt node (Cosmos).

The manifest is generated once per module with `dbt parse` into a tmp EDUOPEN_HOME. Airflow reads
its configuration once, at import, so everything that imports Airflow runs in a subprocess with
the environment `demo.airflow_local` gives Airflow (AIRFLOW_HOME inside the tmp home).
The last test (marked e2e) runs the DAG for real with `airflow dags test` and compares the
published warehouse with what the plain `transform` builds from the same raw data.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from demo.airflow_local import DAGS_DIR, airflow_env
from eduopen.core.config import DBT_MANIFEST, DBT_TASKS
from eduopen.core.errors import ConfigError
from eduopen.core.paths import PROJECT_DIR, Home
from eduopen.orchestration.lineage import lineage_file
from eduopen.orchestration.pools import WRITER_POOL
from eduopen.warehouse.manifest import (
    check_manifest,
    generate_manifest,
    manifest_path,
    project_fingerprint,
    sidecar_path,
)
from tests.support.lineage_graph import downstream, edges, read_events

pytestmark = pytest.mark.airflow

MARKER = "@@EDUOPEN-JSON@@"
WAREHOUSE_FILE = DAGS_DIR / "eduopen_warehouse.py"
SEEN = datetime(2026, 8, 1, 2, 0, tzinfo=UTC)
HEAVY_MODULES = ("requests", "duckdb", "dbt", "great_expectations", "pandas", "eduopen.pipeline")

# Loads the DAG folder as the DAG processor does and describes the warehouse DAG's tasks as JSON,
# with the log lines the DAG files wrote while being parsed.
DAGBAG_PROBE = textwrap.dedent("""
    import json, logging, sys
    from pathlib import Path
    from airflow.dag_processing.dagbag import BundleDagBag

    lines = []
    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())
    logging.getLogger("eduopen.airflow").addHandler(Keep())

    folder, pool = Path(sys.argv[1]), sys.argv[2]
    bag = BundleDagBag(dag_folder=folder, bundle_path=folder, bundle_name="dags-folder", known_pools={pool})
    dag = bag.dags["eduopen_warehouse"]

    def describe(t):
        node = (getattr(t, "extra_context", None) or {}).get("dbt_node_config") or {}
        return {
            "operator": type(t).__name__, "group": t.task_group.group_id if t.task_group else None,
            "upstream": sorted(t.upstream_task_ids), "downstream": sorted(t.downstream_task_ids),
            "pool": t.pool, "retries": t.retries, "retry_exponential_backoff": t.retry_exponential_backoff,
            "execution_timeout_s": t.execution_timeout.total_seconds() if t.execution_timeout else None,
            "doc_md": t.doc_md or "", "failure_callbacks": len(t.on_failure_callback or []),
            "outlets": sorted(o.uri for o in t.outlets),
            "unique_id": node.get("unique_id"), "select": getattr(t, "select", None),
            "base_cmd": getattr(t, "base_cmd", None), "env": getattr(t, "env", None),
            "global_flags": getattr(t, "dbt_cmd_global_flags", None),
            "full_refresh": str(getattr(t, "full_refresh", "")),
            "invocation_mode": str(getattr(t, "invocation_mode", "")),
            "pre_execute": getattr(getattr(t, "_pre_execute_hook", None), "__name__", None),
            "post_execute": getattr(getattr(t, "_post_execute_hook", None), "__name__", None),
            "callback": getattr(getattr(t, "callback", None), "__name__", None),
        }

    print("@@EDUOPEN-JSON@@" + json.dumps({
        "import_errors": bag.import_errors,
        "warnings": {k: [str(w) for w in v] for k, v in bag.captured_warnings.items()},
        "tasks": {t.task_id: describe(t) for t in dag.tasks},
        "params": sorted(dag.params.keys()),
        "log": lines,
    }))
""")

# Parses the DAG file alone with sockets and SQLite refused; reports the time beyond the imports
# every DAG file pays anyway: `airflow.sdk` ("sdk"), or all of Airflow core and its plugins, as
# in a running DAG processor ("core"). Cosmos imports Airflow core modules, so "sdk" charges them
# to the DAG file.
PARSE_PROBE = textwrap.dedent("""
    import json, runpy, socket, sqlite3, sys, time
    folder, path, preload, heavy = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
    from airflow.sdk import Asset, Param, dag, task
    if preload == "core":
        import airflow.models.dagbag, airflow.models.taskinstance
        from airflow.sdk.plugins_manager import _get_plugins
        _get_plugins()
    sys.path.insert(0, folder)
    attempts = []
    def refuse(*args, **kwargs):
        attempts.append(repr(args)[:200])
        raise OSError("no network or database while parsing a DAG file")
    socket.socket.connect = socket.socket.connect_ex = refuse
    socket.create_connection = socket.getaddrinfo = refuse
    sqlite3.connect = refuse
    # What Airflow core and its plugins import (the OpenLineage provider: requests) is not the DAG file's.
    loaded_before = set(sys.modules)
    started, started_cpu = time.perf_counter(), time.process_time()
    namespace = runpy.run_path(path, run_name="eduopen_dag_probe")
    parse_s, parse_cpu_s = time.perf_counter() - started, time.process_time() - started_cpu
    print("@@EDUOPEN-JSON@@" + json.dumps({
        "parse_s": parse_s, "parse_cpu_s": parse_cpu_s,
        "heavy": [m for m in heavy if m in sys.modules and m not in loaded_before], "attempts": attempts,
        "manifest_used": namespace["MANIFEST"].usable,
    }))
""")


@pytest.fixture(autouse=True)
def per_node(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here is about the opt-in per-node mode."""
    monkeypatch.setenv(DBT_TASKS.name, "per_node")


def _marked_json(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise AssertionError(f"probe printed no result; stdout tail:\n{stdout[-2000:]}")


def _run_probes(commands: dict[str, tuple[Home, list[str]]]) -> dict[str, dict[str, Any]]:
    """Run the probes concurrently, each with the local mode's Airflow environment of its home."""
    running = {}
    for name, (home, args) in commands.items():
        env = airflow_env(home)
        env.pop(DBT_MANIFEST.name, None)
        env[DBT_TASKS.name] = "per_node"
        running[name] = subprocess.Popen(
            [sys.executable, "-c", *args],
            env=env,
            cwd=PROJECT_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    results = {}
    for name, proc in running.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{name} probe failed:\n{err[-4000:]}"
        results[name] = _marked_json(out)
    return results


@pytest.fixture(scope="module")
def manifest_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A home whose manifest `dbt parse` just wrote (what `python -m eduopen.warehouse.manifest` does)."""
    home = Home(tmp_path_factory.mktemp("with-manifest")).ensure()
    generate_manifest(home)
    return home


@pytest.fixture(scope="module")
def probes(manifest_home: Home, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    bare = Home(tmp_path_factory.mktemp("without-manifest"))
    commands: dict[str, tuple[Home, list[str]]] = {
        "bag_with": (manifest_home, [DAGBAG_PROBE, str(DAGS_DIR), WRITER_POOL]),
        "bag_without": (bare, [DAGBAG_PROBE, str(DAGS_DIR), WRITER_POOL]),
    }
    for which, home in (("with", manifest_home), ("without", bare)):
        for preload in ("sdk", "core"):
            commands[f"parse_{which}_{preload}"] = (
                home,
                [PARSE_PROBE, str(DAGS_DIR), str(WAREHOUSE_FILE), preload, ",".join(HEAVY_MODULES)],
            )
    return _run_probes(commands)


@pytest.fixture(scope="module")
def tasks(probes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return probes["bag_with"]["tasks"]


@pytest.fixture(scope="module")
def manifest(manifest_home: Home) -> dict[str, Any]:
    return json.loads(manifest_path(manifest_home).read_text(encoding="utf-8"))


def _nodes(manifest: dict[str, Any], *kinds: str) -> dict[str, dict[str, Any]]:
    return {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] in kinds}


def _dbt_tasks(tasks: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {task_id: t for task_id, t in tasks.items() if task_id.startswith("dbt.")}


def test_dag_folder_imports_cleanly_with_the_manifest(probes: dict[str, dict[str, Any]]) -> None:
    assert probes["bag_with"]["import_errors"] == {}
    assert probes["bag_with"]["warnings"] == {}
    assert not any("one `dbt build` task" in line for line in probes["bag_with"]["log"])


def test_cosmos_sends_no_usage_telemetry_in_the_local_mode(probes: dict[str, dict[str, Any]]) -> None:
    # With telemetry on, Cosmos adds a hidden param to the DAG for its scheduler-side listener.
    assert probes["bag_with"]["params"] == ["full_refresh"]


def _builder_id(unique_id: str) -> str:
    kind, _, name = unique_id.split(".", 2)
    return f"dbt.{name}_{kind}_build"


def test_every_dbt_model_and_seed_is_its_own_task_that_builds_it(
    tasks: dict[str, dict[str, Any]], manifest: dict[str, Any]
) -> None:
    builders = {t["unique_id"]: t for t in _dbt_tasks(tasks).values() if t["base_cmd"] == ["build"]}
    expected = _nodes(manifest, "model", "seed")
    assert len(expected) >= 20
    assert sorted(builders) == sorted(expected)
    for unique_id, t in builders.items():
        assert t["select"] == "fqn:" + ".".join(expected[unique_id]["fqn"]), unique_id
        assert tasks[_builder_id(unique_id)] is t, unique_id


def test_a_node_is_tested_by_the_task_that_builds_it_and_its_dependents_wait_for_it(
    tasks: dict[str, dict[str, Any]], manifest: dict[str, Any]
) -> None:
    model = "model.eduopen.int_releases_deduplicated"
    build = tasks[_builder_id(model)]
    assert build["unique_id"] == model and build["base_cmd"] == ["build"]
    assert not [
        t
        for t in _dbt_tasks(tasks).values()
        if t["base_cmd"] == ["test"] and t["select"] == "int_releases_deduplicated"
    ], "no separate test task"
    dependents = {uid for uid, node in _nodes(manifest, "model").items() if model in node["depends_on"]["nodes"]}
    assert dependents, "int_releases_deduplicated is expected to feed other models"
    for unique_id in dependents:
        assert _builder_id(model) in tasks[_builder_id(unique_id)]["upstream"], unique_id


def _sources(manifest: dict[str, Any], *, with_freshness: bool) -> set[str]:
    """Source names as Cosmos names their tasks (`raw_release_version`), by whether they declare freshness."""
    return {
        f"{node['source_name']}_{node['name']}"
        for node in manifest["sources"].values()
        if any(((node.get("freshness") or {}).get(key) or {}).get("count") for key in ("warn_after", "error_after"))
        is with_freshness
    }


def _tested_sources(manifest: dict[str, Any]) -> set[str]:
    return {
        parents[0].split(".", 2)[2].replace(".", "_")
        for node in _nodes(manifest, "test").values()
        if len(parents := node["depends_on"]["nodes"]) == 1 and parents[0].startswith("source.")
    }


def test_one_task_per_model_builds_and_tests_it_and_sources_have_their_own_tasks(
    tasks: dict[str, dict[str, Any]], manifest: dict[str, Any]
) -> None:
    """No task per model's tests: every test task runs the tests of a source or a test between nodes."""
    dbt_tasks = _dbt_tasks(tasks)
    tested_sources = _tested_sources(manifest)
    fresh_sources = _sources(manifest, with_freshness=True)
    assert tested_sources and fresh_sources
    by_kind: dict[str, set[str]] = {"build": set(), "test": set(), "source freshness": set()}
    for task_id, t in dbt_tasks.items():
        by_kind[" ".join(t["base_cmd"])].add(task_id)
    assert len(by_kind["build"]) == len(_nodes(manifest, "model", "seed"))
    multi_parent = {
        f"dbt.{n['name']}_test" for n in _nodes(manifest, "test").values() if len(n["depends_on"]["nodes"]) > 1
    }
    assert by_kind["test"] == {f"dbt.{s}_source_test" for s in tested_sources} | multi_parent
    assert by_kind["source freshness"] == {f"dbt.{s}_source" for s in fresh_sources}
    for name in fresh_sources:
        assert tasks[f"dbt.{name}_source"]["select"] == "source:" + name.replace("_", ".", 1)


def test_every_test_of_the_project_is_run_by_some_task(
    tasks: dict[str, dict[str, Any]], manifest: dict[str, Any]
) -> None:
    """Data tests on one node, tests between two nodes, tests on sources and dbt unit tests."""
    dbt_tasks = _dbt_tasks(tasks)
    test_tasks = {task_id for task_id, t in dbt_tasks.items() if t["base_cmd"] == ["test"]}
    build_tasks = {task_id for task_id, t in dbt_tasks.items() if t["base_cmd"] == ["build"]}
    unit_tests = manifest["unit_tests"]
    assert unit_tests, "the dbt project has unit tests"
    for unique_id, unit_test in unit_tests.items():
        # `dbt build --select <model>` runs the model's unit tests with its data tests.
        [model] = unit_test["depends_on"]["nodes"]
        assert _builder_id(model) in build_tasks, f"{unique_id}: its model {model} is built by no task"
    covered_by: dict[str, str] = {}
    for unique_id, node in _nodes(manifest, "test").items():
        parents = node["depends_on"]["nodes"]
        if len(parents) > 1:
            task_id = f"dbt.{node['name']}_test"
        elif parents[0].startswith("source."):
            task_id = f"dbt.{parents[0].split('.', 2)[2].replace('.', '_')}_source_test"
        else:
            task_id = _builder_id(parents[0])
        assert task_id in test_tasks | build_tasks, f"{unique_id} is run by no task (expected {task_id})"
        covered_by[unique_id] = task_id
    # Each test task runs at least one test: no empty `dbt test` invocations.
    assert {t for t in covered_by.values() if t in test_tasks} == test_tasks


def test_a_test_between_two_models_runs_once_both_are_tested(tasks: dict[str, dict[str, Any]]) -> None:
    detached = {task_id: t for task_id, t in tasks.items() if task_id.startswith("dbt.relationships_")}
    assert detached
    for task_id, t in detached.items():
        assert len(t["upstream"]) == 2 and all(u.endswith("_build") for u in t["upstream"]), task_id
        assert "validate" in t["downstream"], task_id


def test_a_source_is_checked_for_freshness_then_tested_before_the_staging_models_reading_it(
    tasks: dict[str, dict[str, Any]],
) -> None:
    freshness, source_test = tasks["dbt.raw_release_version_source"], tasks["dbt.raw_release_version_source_test"]
    assert freshness["base_cmd"] == ["source", "freshness"] and freshness["upstream"] == ["prepare_audit"]
    assert source_test["select"] == "source:raw.release_version"
    assert source_test["upstream"] == ["dbt.raw_release_version_source"]
    assert "dbt.raw_release_version_source_test" in tasks["dbt.stg_raw__release_versions_model_build"]["upstream"]
    # No freshness declared: its tests alone, straight after prepare_audit.
    assert "dbt.raw_release_figure_source" not in tasks
    assert tasks["dbt.raw_release_figure_source_test"]["upstream"] == ["prepare_audit"]


def test_prepare_audit_then_the_dbt_group_then_validate_then_publish(
    tasks: dict[str, dict[str, Any]], manifest: dict[str, Any]
) -> None:
    dbt_tasks = _dbt_tasks(tasks)
    assert tasks["prepare_audit"]["upstream"] == []
    roots = {task_id for task_id, t in dbt_tasks.items() if not set(t["upstream"]) & set(dbt_tasks)}
    leaves = {task_id for task_id, t in dbt_tasks.items() if not set(t["downstream"]) & set(dbt_tasks)}
    assert roots and all(dbt_tasks[r]["upstream"] == ["prepare_audit"] for r in roots)
    assert set(tasks["prepare_audit"]["downstream"]) == roots
    assert set(tasks["validate"]["upstream"]) == leaves
    assert all(t["group"] in ("dbt", None) or t["group"].startswith("dbt.") for t in dbt_tasks.values())
    assert tasks["publish"]["upstream"] == ["validate"]
    # One Asset per model dbt's own parse puts in the `marts` schema.
    marts = sorted(node["name"] for node in _nodes(manifest, "model").values() if node["schema"] == "marts")
    assert tasks["publish"]["outlets"] == [f"eduopen://marts/{mart}" for mart in marts]
    assert all(t["outlets"] == [] for task_id, t in tasks.items() if task_id != "publish")
    assert set(tasks) == {"prepare_audit", "validate", "publish", *dbt_tasks}


def test_dbt_tasks_write_the_audit_copy_one_at_a_time_under_the_writer_lock(
    tasks: dict[str, dict[str, Any]], manifest_home: Home
) -> None:
    dbt_tasks = _dbt_tasks(tasks)
    assert len(dbt_tasks) >= 40
    for task_id, t in dbt_tasks.items():
        assert t["pool"] == WRITER_POOL, task_id
        assert t["env"] == {"EDUOPEN_DBT_DB_PATH": str(manifest_home.audit)}, task_id
        assert t["pre_execute"] == "hold_writer_lock" and t["post_execute"] == "release_writer_lock", task_id
        assert t["callback"] == "release_audit_db", task_id
        assert t["invocation_mode"] == "InvocationMode.DBT_RUNNER", task_id
        # OpenLineage is on in the local mode: Cosmos reads dbt's artifacts for each node's lineage.
        assert t["global_flags"] == [], task_id
    builders = [t for t in dbt_tasks.values() if t["base_cmd"] == ["build"]]
    assert {t["full_refresh"] for t in builders} == {"{{ params.full_refresh }}"}


def test_every_task_declares_retries_backoff_timeout_docs_and_failure_callback(
    tasks: dict[str, dict[str, Any]],
) -> None:
    for task_id, t in tasks.items():
        assert t["retries"] == 2, task_id
        assert t["retry_exponential_backoff"] > 1, task_id
        assert t["execution_timeout_s"] and t["execution_timeout_s"] <= 3 * 3600, task_id
        assert t["failure_callbacks"] == 1, task_id
        assert t["doc_md"].strip(), task_id
    assert "country" in tasks["dbt.dim_country_model_build"]["doc_md"].lower()


def test_without_a_manifest_dbt_runs_as_one_dbt_build_task_and_the_log_says_why(
    probes: dict[str, dict[str, Any]],
) -> None:
    bag = probes["bag_without"]
    assert bag["import_errors"] == {} and bag["warnings"] == {}
    tasks = bag["tasks"]
    assert sorted(tasks) == ["dbt_build", "prepare_audit", "publish", "validate"]
    assert tasks["dbt_build"]["upstream"] == ["prepare_audit"]
    assert tasks["validate"]["upstream"] == ["dbt_build"]
    assert tasks["publish"]["upstream"] == ["validate"]
    assert any("one `dbt build` task" in line and "no dbt manifest at" in line for line in bag["log"]), bag["log"]


def test_parsing_the_dag_file_stays_fast_and_touches_no_network_or_database(
    probes: dict[str, dict[str, Any]],
) -> None:
    figures = {tuple(name.split("_")[1:]): probe for name, probe in probes.items() if name.startswith("parse_")}
    for (manifest, preload), probe in sorted(figures.items()):
        print(
            f"eduopen_warehouse.py parsed {manifest} manifest in {probe['parse_cpu_s'] * 1000:.0f} ms CPU "
            f"({probe['parse_s'] * 1000:.0f} ms wall) beyond the "
            f"{'airflow.sdk' if preload == 'sdk' else 'Airflow core + plugins'} import"
        )
        # Cosmos's operators import the OpenLineage provider when it is installed, whose client imports requests.
        by_cosmos = {"requests"} if manifest == "with" else set()
        assert set(probe["heavy"]) - by_cosmos == set(), (manifest, preload)
        assert probe["attempts"] == [], (manifest, preload)
        assert probe["manifest_used"] is (manifest == "with"), (manifest, preload)
    # CPU time: the probes run side by side, so wall time measures the machine's load as well.
    # What a DAG processor pays per parse (it has Airflow core and the plugins loaded already).
    # Beyond the bare airflow.sdk import, the Cosmos import also pays for Airflow core modules
    # (taskinstance, dagrun, ...): printed above, not asserted, as it is not a per-parse cost.
    assert figures[("with", "core")]["parse_cpu_s"] < 0.5
    assert figures[("without", "core")]["parse_cpu_s"] < 0.5
    assert figures[("without", "sdk")]["parse_cpu_s"] < 0.5


# -- the manifest itself ----------------------------------------------------------------------


def test_manifest_is_dbts_own(manifest: dict[str, Any]) -> None:
    assert {"metadata", "nodes", "sources", "unit_tests", "macros"} <= set(manifest)
    assert not [uid for uid in manifest["nodes"] if uid.startswith("unit_test.")]


def _tiny_project(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text("name: tiny\n", encoding="utf-8")
    (root / "models" / "a.sql").write_text("select 1 as x\n", encoding="utf-8")
    (root / "target").mkdir()
    (root / "target" / "run_results.json").write_text("{}", encoding="utf-8")
    return root


def _write_manifest(home: Home, fingerprint: str) -> None:
    path = manifest_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}", encoding="utf-8")
    sidecar_path(path).write_text(
        json.dumps({"project_fingerprint": fingerprint, "descriptions": {"model.tiny.a": "A."}}), encoding="utf-8"
    )


def test_manifest_check_says_missing_then_fresh_then_stale_after_a_model_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DBT_MANIFEST.name, raising=False)
    project = _tiny_project(tmp_path / "project")
    home = Home(tmp_path / "home")

    missing = check_manifest(home, project_dir=project)
    assert not missing.usable and "no dbt manifest at" in missing.reason

    _write_manifest(home, project_fingerprint(project))
    fresh = check_manifest(home, project_dir=project)
    assert fresh.usable and fresh.descriptions == {"model.tiny.a": "A."}

    # dbt's own output and a touched file do not make it stale; an edited model does.
    (project / "target" / "run_results.json").write_text('{"later": 1}', encoding="utf-8")
    os.utime(project / "models" / "a.sql")
    assert check_manifest(home, project_dir=project).usable
    (project / "models" / "a.sql").write_text("select 2 as x\n", encoding="utf-8")
    stale = check_manifest(home, project_dir=project)
    assert not stale.usable and "stale" in stale.reason


def test_a_new_model_file_makes_the_manifest_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DBT_MANIFEST.name, raising=False)
    project = _tiny_project(tmp_path / "project")
    home = Home(tmp_path / "home")
    _write_manifest(home, project_fingerprint(project))

    (project / "models" / "b.sql").write_text("select 1 as y\n", encoding="utf-8")

    assert not check_manifest(home, project_dir=project).usable


def test_single_dbt_task_is_chosen_over_a_fresh_manifest_and_a_typo_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DBT_MANIFEST.name, raising=False)
    project = _tiny_project(tmp_path / "project")
    home = Home(tmp_path / "home")
    _write_manifest(home, project_fingerprint(project))
    monkeypatch.setenv(DBT_TASKS.name, "per_node")
    assert check_manifest(home, project_dir=project).usable

    monkeypatch.setenv(DBT_TASKS.name, "single")
    single = check_manifest(home, project_dir=project)
    assert not single.usable and f"{DBT_TASKS.name}=single" in single.reason

    monkeypatch.setenv(DBT_TASKS.name, "per-model")
    with pytest.raises(ConfigError, match="per_node, single"):
        check_manifest(home, project_dir=project)


def test_manifest_path_comes_from_the_environment_when_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DBT_MANIFEST.name, raising=False)
    assert manifest_path(Home(tmp_path)) == tmp_path / "dbt" / "manifest.json"
    monkeypatch.setenv(DBT_MANIFEST.name, str(tmp_path / "elsewhere" / "m.json"))
    assert manifest_path(Home(tmp_path)) == tmp_path / "elsewhere" / "m.json"


# -- for real: `airflow dags test` against the plain transform --------------------------------


def _snapshot(db: Path) -> dict[str, tuple[list[str], str, int]]:
    """Columns, a hash of the sorted rows and the row count of every table and view of the warehouse."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'staging', 'marts') order by 1, 2"
        ).fetchall()
        snapshot = {}
        for schema, name in relations:
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                    "order by ordinal_position",
                    [schema, name],
                ).fetchall()
            ]
            rows = con.execute(f'select * from {schema}."{name}" order by all').fetchall()
            snapshot[f"{schema}.{name}"] = (columns, hashlib.sha256(repr(rows).encode()).hexdigest(), len(rows))
        return snapshot
    finally:
        con.close()


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.e2e
def test_airflow_dags_test_publishes_what_the_plain_transform_builds_and_a_failing_test_stops_it(
    tmp_path: Path, replay: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from demo.airflow_local import dags_test
    from eduopen import pipeline
    from eduopen.core.errors import EduOpenError
    from eduopen.warehouse.build import transform
    from ingest.raw_store import RawStore

    monkeypatch.delenv(DBT_MANIFEST.name, raising=False)
    plain, through_airflow = Home(tmp_path / "plain").ensure(), Home(tmp_path / "airflow")
    pipeline.ingest(["all"], plain)
    shutil.copytree(plain.root, through_airflow.root)

    transform(plain)
    [run] = dags_test(through_airflow, ["eduopen_warehouse"], lambda line: None)

    dbt_tasks = [task_id for task_id in run["tasks"] if task_id.startswith("dbt.")]
    print(f"eduopen_warehouse: {len(run['tasks'])} tasks ({len(dbt_tasks)} dbt) in {run['seconds']:.0f}s")
    assert len(dbt_tasks) >= 40, "the DAG fell back to one dbt build task: no usable manifest"
    assert set(run["tasks"].values()) == {"success"}
    published = _snapshot(through_airflow.warehouse)
    assert any(name.startswith("marts.") and rows for name, (_, _, rows) in published.items())
    assert published == _snapshot(plain.audit)
    # OpenLineage (the local mode's file): each dbt task's events name its parents and its model
    # (Cosmos reads dbt's artifacts), joining the raw catalog to the published marts.
    graph = edges(read_events(lineage_file(through_airflow)))
    catalog, warehouse = (f"duckdb://{path.resolve()}" for path in (through_airflow.catalog, through_airflow.warehouse))
    reached = downstream(graph, (catalog, "catalog.main.release_version"))
    assert (f"duckdb://{through_airflow.audit.resolve()}", "audit.staging.stg_raw__release_versions") in reached
    assert (warehouse, "warehouse.marts.fct_policy_release") in reached

    # A release in French breaks an accepted_values test on the staging model: the task that builds
    # and tests it fails, nothing downstream of it runs, the gate never starts and the published
    # file stays as it was.
    before = _file_sha(through_airflow.warehouse)
    with RawStore(through_airflow) as store:
        store.insert_rows(
            "release_version",
            [
                dict(
                    source="moe_en",
                    url="http://en.moe.gov.cn/news/press_releases/fr.html",
                    content_sha256="fr1",
                    language="fr",
                    title="Communiqué",
                    published_at=SEEN,
                    first_seen_at=SEEN,
                )
            ],
        )
    with pytest.raises(EduOpenError) as failed:
        dags_test(through_airflow, ["eduopen_warehouse"], lambda line: None)
    states = _run_states(through_airflow)
    assert states["dbt.stg_raw__release_versions_model_build"] == "failed"
    assert states["dbt.int_releases_deduplicated_model_build"] == "upstream_failed"
    assert states["validate"] == "upstream_failed" and states["publish"] == "upstream_failed"
    assert states["dbt.stg_uis__observations_model_build"] == "success"  # other branches still ran
    assert "dbt.stg_raw__release_versions_model_build" in str(failed.value)
    assert _file_sha(through_airflow.warehouse) == before


def _run_states(home: Home) -> dict[str, str]:
    import sqlite3

    from demo.airflow_local import metadata_db

    con = sqlite3.connect(f"file:{metadata_db(home)}?mode=ro", uri=True)
    try:
        (run_id,) = con.execute(
            "select run_id from dag_run where dag_id = 'eduopen_warehouse' order by id desc limit 1"
        ).fetchone()
        return dict(
            con.execute(
                "select task_id, state from task_instance where dag_id = 'eduopen_warehouse' and run_id = ?", [run_id]
            ).fetchall()
        )
    finally:
        con.close()
