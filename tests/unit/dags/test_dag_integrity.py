"""The DAG files parse cleanly, stay thin, declare retries/pools/docs, and wire Assets end to end.

Airflow reads its configuration once, at import, and creates `$AIRFLOW_HOME/logs` on the way; so
everything that imports Airflow runs in a subprocess with `AIRFLOW_HOME` in a tmp dir (the same
environment `demo.airflow_local` gives Airflow), and nothing leaks into ~/airflow.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from demo.airflow_local import DAG_IDS, DAGS_DIR, airflow_env, dags_test, setup, task_summary
from eduopen.core.config import Settings
from eduopen.core.errors import EduOpenError
from eduopen.core.paths import DBT_PROJECT_DIR, PROJECT_DIR, Home
from eduopen.orchestration.pools import WRITER_POOL

pytestmark = pytest.mark.airflow

DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))
HEAVY_MODULES = ("requests", "duckdb", "dbt", "great_expectations", "pandas", "eduopen.pipeline")
MARKER = "@@EDUOPEN-JSON@@"

# Loads the DAG folder the way the DAG processor does (bundle path on sys.path, .airflowignore
# honoured) and describes every DAG and task as JSON. It also fires each task's failure callback
# with a made-up failure to capture the line it logs.
DAGBAG_PROBE = textwrap.dedent("""
    import importlib, json, logging, sys
    from pathlib import Path
    from types import SimpleNamespace
    from airflow.dag_processing.dagbag import BundleDagBag

    folder, pool = Path(sys.argv[1]), sys.argv[2]
    bag = BundleDagBag(dag_folder=folder, bundle_path=folder, bundle_name="dags-folder", known_pools={pool})
    lines = []
    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())
    logging.getLogger("eduopen.airflow").addHandler(Keep())

    def describe_task(dag, t):
        for callback in t.on_failure_callback or []:
            ti = SimpleNamespace(dag_id=dag.dag_id, task_id=t.task_id, run_id="manual__x", try_number=3,
                                 max_tries=2)
            # As the tasks raise it: the pipeline's error wrapped to skip retries.
            wrapper = RuntimeError("AirflowFailException stand-in")
            wrapper.__cause__ = ValueError("row count\\n dropped by 12%")
            callback({"ti": ti, "exception": wrapper})
        return {
            "pool": t.pool, "priority_weight": t.priority_weight, "weight_rule": str(t.weight_rule),
            "retries": t.retries, "retry_exponential_backoff": t.retry_exponential_backoff,
            "execution_timeout_s": t.execution_timeout.total_seconds() if t.execution_timeout else None,
            "outlets": sorted(o.uri for o in t.outlets), "upstream": sorted(t.upstream_task_ids),
            "doc_md": t.doc_md or "", "failure_callbacks": len(t.on_failure_callback or []),
        }

    def describe_watcher(asset, watcher):
        # What the triggerer will do with it: import the class path, rebuild it from the kwargs.
        classpath, kwargs = watcher.trigger.serialize()
        module, _, name = classpath.rpartition(".")
        rebuilt = getattr(importlib.import_module(module), name)(**kwargs).serialize()
        return {"asset": asset.uri, "name": watcher.name, "trigger": classpath, "kwargs": kwargs,
                "round_trips": rebuilt == (classpath, kwargs)}

    dags = {}
    for dag in bag.dags.values():
        condition = getattr(dag.timetable, "asset_condition", None)
        # AssetOrTimeSchedule wraps its cron timetable; a plain cron schedule is the timetable.
        fallback = getattr(dag.timetable, "timetable", dag.timetable)
        assets = list(getattr(condition, "objects", [])) or ([condition] if hasattr(condition, "uri") else [])
        dags[dag.dag_id] = {
            "file": Path(dag.fileloc).name, "tags": sorted(dag.tags), "doc_md": dag.doc_md or "",
            "owner": dag.owner, "max_active_runs": dag.max_active_runs, "catchup": dag.catchup,
            "timetable": type(dag.timetable).__name__,
            "cron": getattr(fallback, "expression", None),
            "asset_condition": type(condition).__name__ if condition is not None else None,
            "schedule_assets": sorted(o.uri for o in assets),
            "watchers": [describe_watcher(a, w) for a in assets for w in getattr(a, "watchers", [])],
            "tasks": {t.task_id: describe_task(dag, t) for t in dag.tasks},
        }
    print("@@EDUOPEN-JSON@@" + json.dumps({
        "import_errors": bag.import_errors,
        "warnings": {k: [str(w) for w in v] for k, v in bag.captured_warnings.items()},
        "parsed_files": sorted(s.file for s in bag.dagbag_stats),
        "dags": dags, "failure_lines": lines,
    }))
""")

# Runs one DAG file with sockets and SQLite refused, then reports which heavy modules it pulled in
# and how long it took beyond the `airflow.sdk` import every DAG file pays anyway.
FILE_PROBE = textwrap.dedent("""
    import json, runpy, socket, sqlite3, sys, time
    folder, path, heavy = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    from airflow.sdk import Asset, Param, dag, task  # every DAG file pays these anyway
    sys.path.insert(0, folder)  # what Airflow's bundle loader does
    attempts = []
    def refuse(*args, **kwargs):
        attempts.append(repr(args)[:200])
        raise OSError("no network or database while parsing a DAG file")
    socket.socket.connect = socket.socket.connect_ex = refuse
    socket.create_connection = socket.getaddrinfo = refuse
    sqlite3.connect = refuse
    started = time.perf_counter()
    runpy.run_path(path, run_name="eduopen_dag_probe")
    parse_s = time.perf_counter() - started
    present = [m for m in heavy if m in sys.modules]
    print("@@EDUOPEN-JSON@@" + json.dumps({"heavy": present, "attempts": attempts, "parse_s": parse_s}))
""")


def _marked_json(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise AssertionError(f"probe printed no result; stdout tail:\n{stdout[-2000:]}")


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Run the DagBag probe and one import probe per DAG file concurrently (each pays Airflow's import)."""
    env = airflow_env(Home(tmp_path_factory.mktemp("eduopen-home")))
    commands = {"dagbag": [sys.executable, "-c", DAGBAG_PROBE, str(DAGS_DIR), WRITER_POOL]}
    for path in DAG_FILES:
        commands[path.name] = [sys.executable, "-c", FILE_PROBE, str(DAGS_DIR), str(path), ",".join(HEAVY_MODULES)]
    running = {
        name: subprocess.Popen(cmd, env=env, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, cmd in commands.items()
    }
    results = {}
    for name, proc in running.items():
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, f"{name} probe failed:\n{err[-4000:]}"
        results[name] = _marked_json(out)
    return results


@pytest.fixture(scope="module")
def dags(probes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return probes["dagbag"]["dags"]


def test_dag_folder_imports_without_errors_or_warnings(probes: dict[str, dict[str, Any]]) -> None:
    assert probes["dagbag"]["import_errors"] == {}
    assert probes["dagbag"]["warnings"] == {}


def test_the_eduopen_dags_are_found_and_helpers_are_not_parsed_as_dag_files(
    probes: dict[str, dict[str, Any]], dags: dict[str, dict[str, Any]]
) -> None:
    # The landing DAG only runs on its watcher and the freshness DAG judges time passing, so the
    # local `dags test` sequence may leave them out.
    assert sorted(dags) == sorted({*DAG_IDS, "eduopen_ingest_landing", "eduopen_freshness"})
    assert probes["dagbag"]["parsed_files"] == [p.name for p in DAG_FILES]


def test_every_dag_declares_owner_tags_docs_and_one_active_run(dags: dict[str, dict[str, Any]]) -> None:
    for dag_id, dag in dags.items():
        assert dag["owner"] == "eduopen", dag_id
        assert "eduopen" in dag["tags"] and len(dag["tags"]) >= 2, dag_id
        assert dag["doc_md"].strip().startswith("### EduOpen"), dag_id
        assert dag["max_active_runs"] == 1, dag_id
        assert dag["catchup"] is False, dag_id


def test_every_task_declares_retries_backoff_timeout_docs_and_failure_callback(
    dags: dict[str, dict[str, Any]],
) -> None:
    for dag_id, dag in dags.items():
        for task_id, t in dag["tasks"].items():
            where = f"{dag_id}.{task_id}"
            assert t["retries"] == 2, where
            assert t["retry_exponential_backoff"] > 1, where
            assert t["execution_timeout_s"] and t["execution_timeout_s"] <= 3 * 3600, where
            assert t["doc_md"].strip(), where
            assert t["failure_callbacks"] == 1, where


def test_every_task_writes_through_the_single_duckdb_writer_pool(dags: dict[str, dict[str, Any]]) -> None:
    # Every EduOpen task writes a DuckDB file (raw catalog, audit or published warehouse).
    pools = {f"{dag_id}.{task_id}": t["pool"] for dag_id, dag in dags.items() for task_id, t in dag["tasks"].items()}
    assert pools and set(pools.values()) == {WRITER_POOL}, pools


def test_a_warehouse_build_under_way_takes_the_writer_slot_before_any_other_task(
    dags: dict[str, dict[str, Any]],
) -> None:
    weights = {
        (dag_id, task_id): (t["priority_weight"], t["weight_rule"])
        for dag_id, dag in dags.items()
        for task_id, t in dag["tasks"].items()
    }
    assert {rule for _, rule in weights.values()} == {"absolute"}
    under_way = {
        w
        for (dag_id, task_id), (w, _) in weights.items()
        if dag_id == "eduopen_warehouse" and task_id != "prepare_audit"
    }
    others = {w for (dag_id, _), (w, _) in weights.items() if dag_id != "eduopen_warehouse"}
    assert min(under_way) > max(others)
    # Its first task queues behind the ingest tasks before it, so one build takes in all they loaded.
    assert weights[("eduopen_warehouse", "prepare_audit")][0] == max(others)


def test_failure_callback_logs_one_line_naming_task_try_and_the_pipeline_error(
    probes: dict[str, dict[str, Any]],
) -> None:
    lines = probes["dagbag"]["failure_lines"]
    assert lines, "no failure callback logged anything"
    line = next(x for x in lines if "eduopen_warehouse.validate" in x)
    assert "\n" not in line
    assert "try 3/3" in line and "run manual__x" in line
    assert line.endswith("ValueError: row count dropped by 12%")


def _configured(kind: str) -> list[str]:
    settings = Settings.load()
    return [n for n in settings.source_names() if settings.source(n).kind == kind]


@pytest.mark.parametrize(
    ("dag_id", "kind", "asset"),
    [
        ("eduopen_ingest_releases", "releases", "eduopen://raw/releases"),
        ("eduopen_ingest_statistics", "statistics", "eduopen://raw/statistics"),
        ("eduopen_ingest_landing", "files", "eduopen://raw/statistics"),
    ],
)
def test_ingest_dag_has_one_task_per_configured_source_each_emitting_its_raw_asset(
    dags: dict[str, dict[str, Any]], dag_id: str, kind: str, asset: str
) -> None:
    configured = _configured(kind)
    dag = dags[dag_id]
    assert configured, f"no {kind} source in sources.yml"
    assert sorted(dag["tasks"]) == sorted(f"ingest_{name}" for name in configured)
    assert all(t["outlets"] == [asset] for t in dag["tasks"].values())


@pytest.mark.parametrize(
    ("dag_id", "watched", "trigger", "cron"),
    [
        (
            "eduopen_ingest_releases",
            "eduopen://watch/release-listings",
            "eduopen.orchestration.triggers.ReleaseListingTrigger",
            "0 */6 * * *",
        ),
        (
            "eduopen_ingest_landing",
            "eduopen://watch/landing",
            "eduopen.orchestration.triggers.LandingFolderTrigger",
            "15 * * * *",
        ),
    ],
)
def test_event_driven_ingest_runs_on_its_watcher_with_cron_only_as_fallback(
    dags: dict[str, dict[str, Any]], dag_id: str, watched: str, trigger: str, cron: str
) -> None:
    dag = dags[dag_id]
    assert dag["timetable"] == "AssetOrTimeSchedule"
    assert dag["schedule_assets"] == [watched]
    assert dag["cron"] == cron
    (watcher,) = dag["watchers"]
    assert watcher["asset"] == watched and watcher["trigger"] == trigger
    # The triggerer rebuilds the trigger from its class path and kwargs alone.
    assert watcher["round_trips"] is True
    # Where to poll is read from the triggerer's environment, not frozen into the trigger at parse time.
    assert watcher["kwargs"]["home"] is None
    assert not any("://" in str(value) for value in watcher["kwargs"].values())


def test_release_watcher_polls_every_release_source_of_the_ingest_dag(
    dags: dict[str, dict[str, Any]],
) -> None:
    (watcher,) = dags["eduopen_ingest_releases"]["watchers"]
    assert watcher["kwargs"]["sources"] == _configured("releases")
    assert watcher["kwargs"]["poll_interval"] > 0


def test_statistics_ingest_runs_on_a_daily_cron_without_a_watcher(dags: dict[str, dict[str, Any]]) -> None:
    dag = dags["eduopen_ingest_statistics"]
    assert dag["timetable"] == "CronTriggerTimetable"
    assert dag["cron"] == "30 2 * * *"
    assert dag["watchers"] == []


def test_ingest_dags_cover_the_sources_of_the_first_slice(dags: dict[str, dict[str, Any]]) -> None:
    assert "ingest_moe_zh" in dags["eduopen_ingest_releases"]["tasks"]
    assert "ingest_uis" in dags["eduopen_ingest_statistics"]["tasks"]


def test_warehouse_dag_runs_on_either_raw_asset_not_on_a_cron(dags: dict[str, dict[str, Any]]) -> None:
    warehouse = dags["eduopen_warehouse"]
    assert warehouse["timetable"] == "AssetTriggeredTimetable"
    assert warehouse["asset_condition"] == "AssetAny"
    produced = {
        uri
        for dag_id, dag in dags.items()
        if dag_id.startswith("eduopen_ingest_")
        for t in dag["tasks"].values()
        for uri in t["outlets"]
    }
    # Each Asset the warehouse waits for is one some ingest task actually emits, and vice versa.
    assert set(warehouse["schedule_assets"]) == produced == {"eduopen://raw/releases", "eduopen://raw/statistics"}


def test_warehouse_gate_sits_between_dbt_and_publish_and_publish_emits_the_marts(
    dags: dict[str, dict[str, Any]],
) -> None:
    # The probe's fresh home has no dbt manifest, so dbt is the one `dbt_build` task here; the
    # one-task-per-model shape Cosmos draws from a manifest is specified in test_cosmos_dag.py.
    tasks = dags["eduopen_warehouse"]["tasks"]
    assert sorted(tasks) == ["dbt_build", "prepare_audit", "publish", "validate"]
    assert tasks["prepare_audit"]["upstream"] == []
    assert tasks["dbt_build"]["upstream"] == ["prepare_audit"]
    assert tasks["validate"]["upstream"] == ["dbt_build"]
    assert tasks["publish"]["upstream"] == ["validate"]
    # One Asset per model file of the dbt project's marts folder (the folder dbt builds into `marts`).
    marts = sorted(path.stem for path in (DBT_PROJECT_DIR / "models" / "marts").glob("*.sql"))
    assert len(marts) >= 10
    assert tasks["publish"]["outlets"] == [f"eduopen://marts/{mart}" for mart in marts]
    assert all(tasks[t]["outlets"] == [] for t in ("prepare_audit", "dbt_build", "validate"))


def test_docs_dag_runs_on_the_published_mart_assets(dags: dict[str, dict[str, Any]]) -> None:
    docs = dags["eduopen_docs"]
    assert docs["timetable"] == "AssetTriggeredTimetable"
    assert set(docs["schedule_assets"]) == set(dags["eduopen_warehouse"]["tasks"]["publish"]["outlets"])


def test_freshness_dag_checks_the_sources_daily_on_its_own_clock(dags: dict[str, dict[str, Any]]) -> None:
    freshness = dags["eduopen_freshness"]
    assert freshness["timetable"] == "CronTriggerTimetable" and freshness["cron"] == "0 5 * * *"
    assert list(freshness["tasks"]) == ["source_freshness"]


@pytest.mark.parametrize("dag_file", [p.name for p in DAG_FILES])
def test_dag_file_imports_nothing_heavy_and_opens_no_connection(
    probes: dict[str, dict[str, Any]], dag_file: str
) -> None:
    probe = probes[dag_file]
    print(f"{dag_file}: parsed in {probe['parse_s'] * 1000:.0f} ms beyond the airflow.sdk import")
    assert probe["heavy"] == []
    assert probe["attempts"] == []
    # How long a parse takes is the bench's figure (`make bench`, DAG parse), not a timed test: on a
    # shared machine the wall clock says more about the neighbours than about the file.


def test_airflow_env_keeps_airflow_inside_eduopen_home_and_passes_eduopen_settings(tmp_path: Path) -> None:
    base = {
        "PATH": "/usr/bin",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "EDUOPEN_UIS_URL": "http://127.0.0.1:9/uis",
        "PYTHONPATH": "/elsewhere",
    }
    env = airflow_env(Home(tmp_path), base)
    af_home = tmp_path / "airflow"
    assert "AIRFLOW__CORE__UNIT_TEST_MODE" not in env
    assert env["EDUOPEN_UIS_URL"] == "http://127.0.0.1:9/uis"
    assert env["EDUOPEN_HOME"] == str(tmp_path)
    assert env["AIRFLOW_HOME"] == str(af_home)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{af_home}/airflow.db"
    assert env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] == str(af_home / "logs")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(PROJECT_DIR / "dags")
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["PYTHONPATH"].split(":") == [str(PROJECT_DIR), "/elsewhere"]
    assert base["AIRFLOW__CORE__UNIT_TEST_MODE"] == "True"  # the caller's mapping is left alone


TRIVIAL_DAGS = """
import os
from datetime import datetime, timedelta, timezone
from airflow.sdk import dag, task

ARGS = {"retries": int(os.environ.get("EDUOPEN_TASK_RETRIES", "3")), "retry_delay": timedelta(minutes=5)}

@dag(schedule=None, start_date=datetime(2025, 1, 1, tzinfo=timezone.utc), default_args=ARGS)
def tiny_ok():
    @task
    def hello():
        return {"ok": True}
    hello()

@dag(schedule=None, start_date=datetime(2025, 1, 1, tzinfo=timezone.utc), default_args=ARGS)
def tiny_broken():
    @task
    def gate():
        raise RuntimeError("gate rejected the build")
    gate()

tiny_ok()
tiny_broken()
"""


def test_dags_test_reports_success_then_stops_at_the_failed_dag_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EDUOPEN_TASK_RETRIES", raising=False)
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "tiny.py").write_text(TRIVIAL_DAGS, encoding="utf-8")
    home = Home(tmp_path / "home")
    lines: list[str] = []

    started = time.monotonic()
    assert setup(home, lines.append) is True
    setup_s = time.monotonic() - started
    assert setup(home, lines.append) is False  # second time: nothing to do
    with pytest.raises(EduOpenError) as failed:
        dags_test(home, ["tiny_ok", "tiny_broken", "never_reached"], lines.append, dags_folder=folder)
    total_s = time.monotonic() - started
    print(f"setup {setup_s:.1f}s; setup + two `dags test` runs {total_s:.1f}s")

    message = str(failed.value)
    assert "tiny_broken" in message and "run state failed" in message
    assert "tasks not successful: gate" in message
    assert "RuntimeError: gate rejected the build" in message
    assert any("✓ tiny_ok: success" in line for line in lines)
    assert not any("never_reached" in line for line in lines)
    # The local mode turns retries off, so the failure is reported without the 5-minute retry wait.
    assert total_s < 240


def test_a_run_of_many_tasks_is_summed_up_per_task_group_in_one_line() -> None:
    dbt = {f"dbt.model_{i}.run": "success" for i in range(78)}
    tasks = {**dbt, "prepare_audit": "success", "publish": "success", "validate": "success"}
    assert task_summary(tasks) == "81 tasks: dbt (78 tasks), prepare_audit, publish, validate"
    assert task_summary({"ingest_uis": "success", "ingest_oecd": "success"}) == "ingest_uis, ingest_oecd"


# Calls the ingest task of the statistics DAG as Airflow would, with the run's params, against the
# replayed UIS API, and reports what each run asked the API for.
SINCE_PROBE = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from airflow.dag_processing.dagbag import BundleDagBag
    from demo.replay.server import ReplayServer

    folder, pool = Path(sys.argv[1]), sys.argv[2]
    bag = BundleDagBag(dag_folder=folder, bundle_path=folder, bundle_name="dags-folder", known_pools={pool})
    params = {d.dag_id: {k: d.params.get_param(k).dump() for k in d.params} for d in bag.dags.values()}
    task = bag.dags["eduopen_ingest_statistics"].get_task("ingest_uis")
    runs = {}
    with ReplayServer(["uis"]) as replay:
        os.environ.update({**replay.env(), "EDUOPEN_MIN_DELAY_S": "0"})
        for since in (None, "2005-01-01"):
            replay.reset_log()
            try:
                task.python_callable("uis", outlet_events=None, params={"since": since})
                outcome = "success"
            except Exception as exc:
                outcome = type(exc).__name__
            runs[str(since)] = {"outcome": outcome, "paths": [r.path for r in replay.requests("uis")]}
    print("@@EDUOPEN-JSON@@" + json.dumps({"params": params, "runs": runs}))
""")


def test_ingest_dags_pass_their_since_param_through_to_the_sources(tmp_path: Path) -> None:
    env = airflow_env(Home(tmp_path / "home"))
    probe = subprocess.run(
        [sys.executable, "-c", SINCE_PROBE, str(DAGS_DIR), WRITER_POOL],
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert probe.returncode == 0, probe.stderr[-4000:]
    result = _marked_json(probe.stdout)
    for dag_id in ("eduopen_ingest_releases", "eduopen_ingest_statistics"):
        since = result["params"][dag_id]["since"]
        assert since["value"] is None
        assert since["schema"]["type"] == ["null", "string"] and since["schema"]["format"] == "date"
    assert "since" not in result["params"]["eduopen_ingest_landing"]  # landing cannot re-crawl

    incremental, back_to_2005 = result["runs"]["None"], result["runs"]["2005-01-01"]
    assert incremental["outcome"] == "success"
    assert any("start=1998" in path for path in incremental["paths"])  # sources.yml's start_year
    # Asked from 2005, a year the replay never recorded: the API's 404 fails the source.
    assert back_to_2005["outcome"] == "SourceError"
    assert any("start=2005" in path for path in back_to_2005["paths"])
