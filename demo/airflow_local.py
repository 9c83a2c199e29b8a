"""Airflow's embedded local mode for EduOpen: the same DAGs, a SQLite metadata DB, no services.

    python -m demo.airflow_local setup        # migrate the metadata DB, create the writer pool
    python -m demo.airflow_local dags-test    # run the three DAGs once, in order (`airflow dags test`)
    python -m demo.airflow_local standalone   # scheduler + UI on http://localhost:8080 (`make airflow`)

Everything Airflow writes (metadata DB, airflow.cfg, logs) lives in `<EDUOPEN_HOME>/airflow`.
Airflow always runs in a subprocess with the environment of `airflow_env`: Airflow reads its
configuration once, at import, so it must not be imported into a process that already has one.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from eduopen.core.errors import EduOpenError
from eduopen.core.paths import PROJECT_DIR, Home
from eduopen.orchestration.lineage import openlineage_env
from eduopen.orchestration.pools import WRITER_POOL

DAGS_DIR = PROJECT_DIR / "dags"
# Order matters: the warehouse DAG reads what the two ingest DAGs wrote.
DAG_IDS = (
    "eduopen_ingest_releases",
    "eduopen_ingest_statistics",
    "eduopen_ingest_landing",
    "eduopen_warehouse",
    "eduopen_docs",
)
UI_URL = "http://localhost:8080"
# The scheduler's workers, and so every task forked from them, start with what tasks import.
TASK_PRELOAD_SETTINGS = {
    "AIRFLOW__SCHEDULER__MP_START_METHOD": "forkserver",
    "AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD": "eduopen.orchestration.task_preload",
}

Echo = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def airflow_home(home: Home) -> Path:
    return home.root / "airflow"


def metadata_db(home: Home) -> Path:
    return airflow_home(home) / "airflow.db"


def airflow_env(home: Home, base: Mapping[str, str] | None = None, *, dags_folder: Path = DAGS_DIR) -> dict[str, str]:
    """Environment for every Airflow subprocess of the local mode (`dags_folder` differs only in tests).

    Starts from `base` (default: this process's environment), so `EDUOPEN_*` settings such as the
    source URLs reach the tasks, and other `AIRFLOW__*` settings an operator set still apply;
    the ones below always win because the local mode depends on them.
    """
    env = dict(os.environ if base is None else base)
    # Unit-test mode swaps in test config (and its own SQLite DB); never wanted for real runs.
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    af_home = airflow_home(home)
    python_path = [str(PROJECT_DIR)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    # `airflow standalone` starts its components as `airflow ...` from PATH: make it this venv's.
    path = [str(Path(sys.executable).parent)] + [p for p in env.get("PATH", "").split(os.pathsep) if p]
    env.update(
        {
            "EDUOPEN_HOME": str(home.root),
            "AIRFLOW_HOME": str(af_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # SQLite needs an absolute path (four slashes); LocalExecutor is what Airflow 3 runs on it
            # (`airflow standalone` forces it anyway; `dags test` runs tasks in-process without one).
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{af_home / 'airflow.db'}",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(af_home / "logs"),
            "PYTHONPATH": os.pathsep.join(dict.fromkeys(python_path)),
            "PATH": os.pathsep.join(dict.fromkeys(path)),
            # One DuckDB writer at a time anyway (the pool): a few worker processes, not the default 32.
            "AIRFLOW__CORE__PARALLELISM": "4",
            # The local UI is for this machine only.
            "AIRFLOW__API__HOST": "127.0.0.1",
            # Astronomer Cosmos (the warehouse DAG's dbt tasks): no usage telemetry from the scheduler,
            # and its dbt partial-parse cache inside this home, not in a /tmp folder every home shares.
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "AIRFLOW__COSMOS__CACHE_DIR": str(af_home / "cosmos"),
        }
    )
    # LocalExecutor's workers start from a forkserver that imported dbt, Great Expectations and the
    # pipeline once, so no task pays those imports (eduopen/orchestration/task_preload.py); an
    # operator's own choice of start method wins.
    for key, value in TASK_PRELOAD_SETTINGS.items():
        env.setdefault(key, value)
    # OpenLineage events to a file in the home, unless the operator pointed them elsewhere.
    env.update(openlineage_env(home, env))
    return env


def _airflow(args: Sequence[str]) -> list[str]:
    # `python -m airflow` of this interpreter: no reliance on PATH or on a venv's bin/ layout.
    return [sys.executable, "-m", "airflow", *args]


def _query(db: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Read the metadata DB directly: one millisecond instead of a 4-second `airflow` CLI start."""
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return []
    finally:
        con.close()


def _run_logged(args: Sequence[str], env: Mapping[str, str], log_path: Path) -> int:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        return subprocess.run(
            _airflow(args),
            env=dict(env),
            cwd=PROJECT_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        ).returncode


def _setup_stamp(home: Home) -> Path:
    return airflow_home(home) / ".eduopen-setup"


def _wanted_stamp() -> str:
    return f"apache-airflow {version('apache-airflow')}"


def setup(home: Home, echo: Echo = _stderr) -> bool:
    """Migrate the metadata DB, create the writer pool and the dbt manifest the warehouse DAG draws
    its dbt tasks from; a no-op once done for this Airflow version and this dbt project.

    Returns True when something had to be done.
    """
    manifest_written = _ensure_dbt_manifest(home, echo)
    # The home's folders, the OpenLineage file's among them, before any task writes there.
    home.ensure()
    af_home = airflow_home(home)
    af_home.mkdir(parents=True, exist_ok=True)
    env = airflow_env(home)
    db = metadata_db(home)
    stamp = _setup_stamp(home)
    migrated = (
        stamp.exists()
        and stamp.read_text(encoding="utf-8").strip() == _wanted_stamp()
        and bool(_query(db, "select version_num from alembic_version"))
    )
    pool_ok = _query(db, "select slots from slot_pool where pool = ?", (WRITER_POOL,)) == [(1,)]
    if migrated and pool_ok:
        return manifest_written
    logs = af_home / "logs" / "setup"
    if not migrated:
        started = time.monotonic()
        if _run_logged(["db", "migrate"], env, logs / "db-migrate.log") != 0:
            raise EduOpenError(f"airflow db migrate failed; see {logs / 'db-migrate.log'}")
        stamp.write_text(_wanted_stamp() + "\n", encoding="utf-8")
        echo(f"Airflow metadata DB ready: {db} ({time.monotonic() - started:.1f}s)")
    if not pool_ok:
        args = ["pools", "set", WRITER_POOL, "1", "EduOpen: one writer per DuckDB file at a time"]
        if _run_logged(args, env, logs / "pools-set.log") != 0:
            raise EduOpenError(f"airflow pools set {WRITER_POOL} failed; see {logs / 'pools-set.log'}")
        echo(f"Airflow pool {WRITER_POOL}: 1 slot")
    return True


def _ensure_dbt_manifest(home: Home, echo: Echo) -> bool:
    """`dbt parse` when the manifest is missing or stale. A project dbt cannot parse is reported, not
    raised: the warehouse DAG then runs one `dbt build` task, which fails with dbt's own message."""
    from eduopen.warehouse.manifest import dbt_tasks, ensure_manifest

    if dbt_tasks() == "single":
        return False
    started = time.monotonic()
    try:
        path, written = ensure_manifest(home)
    except EduOpenError as exc:
        echo(f"dbt manifest not written ({exc}); the warehouse DAG runs dbt as one task")
        return False
    if written:
        echo(f"dbt manifest for the warehouse DAG: {path} ({time.monotonic() - started:.1f}s)")
    return written


# The line of the DAGs' failure callback (eduopen/orchestration/notifier.py), else a traceback's last line.
_CALLBACK_LINE = re.compile(r"EduOpen task failed: \S+ \([^)]*\): (.+?)(?: \[eduopen\.airflow\].*)?$")
_ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Failed|Held|Disallowed)): (.+)$")


def _last_error(log_path: Path) -> str | None:
    """Why the run failed, as one line from its log, if the log says."""
    from_callback = from_traceback = None
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if match := _CALLBACK_LINE.search(line):
            from_callback = match.group(1).strip()
        elif match := _ERROR_LINE.match(line.strip()):
            from_traceback = f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(2)}"
    return from_callback or from_traceback


def _last_run_pk(db: Path, dag_id: str) -> int:
    rows = _query(db, "select max(id) from dag_run where dag_id = ?", (dag_id,))
    return (rows[0][0] if rows else None) or 0


def dags_test(
    home: Home, dag_ids: Sequence[str] = DAG_IDS, echo: Echo = _stderr, *, dags_folder: Path = DAGS_DIR
) -> list[dict[str, Any]]:
    """Run each DAG once with `airflow dags test`, in the order given; stop at the first failure.

    Success means both a zero exit code and a `success` state of the run recorded in the metadata
    DB: the exit code alone has not always reflected failed tasks (apache/airflow#24948).
    Returns one summary per DAG: run id, state, seconds, state of each task, log file.
    """
    setup(home, echo)
    env = airflow_env(home, dags_folder=dags_folder)
    # A failed local run should say why at once, not after the production retry backoff.
    env.setdefault("EDUOPEN_TASK_RETRIES", "0")
    db = metadata_db(home)
    results: list[dict[str, Any]] = []
    for dag_id in dag_ids:
        log_path = airflow_home(home) / "logs" / "dags_test" / f"{dag_id}.log"
        before = _last_run_pk(db, dag_id)
        echo(f"Airflow dags test {dag_id} …")
        started = time.monotonic()
        code = _run_logged(["dags", "test", dag_id], env, log_path)
        seconds = round(time.monotonic() - started, 1)
        run = _query(
            db,
            "select run_id, state from dag_run where dag_id = ? and id > ? order by id desc limit 1",
            (dag_id, before),
        )
        run_id, state = run[0] if run else (None, None)
        tasks = (
            dict(
                _query(
                    db,
                    "select task_id, state from task_instance where dag_id = ? and run_id = ? order by task_id",
                    (dag_id, run_id),
                )
            )
            if run_id
            else {}
        )
        result = {
            "dag_id": dag_id,
            "run_id": run_id,
            "state": state,
            "exit_code": code,
            "seconds": seconds,
            "tasks": tasks,
            "log": str(log_path),
        }
        results.append(result)
        if code != 0 or state != "success":
            failed = [t for t, s in tasks.items() if s != "success"]
            why = _last_error(log_path)
            raise EduOpenError(
                f"Airflow DAG {dag_id} failed (exit {code}, run state {state or 'none'}"
                + (f", tasks not successful: {', '.join(failed)}" if failed else "")
                + ")"
                + (f": {why}" if why else "")
                + f"; log: {log_path}"
            )
        echo(f"  ✓ {dag_id}: success in {seconds:.1f}s ({task_summary(tasks)})")
    return results


def task_summary(tasks: Mapping[str, str]) -> str:
    """The tasks of a run in a line: their ids, or per task group a count when there are many."""
    if len(tasks) <= 8:
        return ", ".join(tasks) or "no tasks"
    groups: dict[str, int] = {}
    for task_id in tasks:
        group = task_id.split(".", 1)[0]
        groups[group] = groups.get(group, 0) + 1
    return f"{len(tasks)} tasks: " + ", ".join(
        name if count == 1 and name in tasks else f"{name} ({count} tasks)" for name, count in groups.items()
    )


def standalone(home: Home, echo: Echo = _stderr) -> int:
    """`airflow standalone` (scheduler, DAG processor, triggerer, API server + UI) until Ctrl-C."""
    setup(home, echo)
    passwords = airflow_home(home) / "simple_auth_manager_passwords.json.generated"
    echo(f"Airflow UI: {UI_URL} · user: admin · password: generated on first start into {passwords}")
    echo(
        "New DAGs start paused: unpause them in the UI (ingest DAGs fetch from EDUOPEN_<SOURCE>_URL "
        "when set, else from the real sites)."
    )
    # A shell's background job inherits SIGINT ignored; standalone needs it to shut down cleanly.
    proc = subprocess.Popen(
        _airflow(["standalone"]),
        env=airflow_env(home),
        cwd=PROJECT_DIR,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )

    def stop_gracefully(signum: int, frame: object) -> None:
        # `airflow standalone` stops its components only on SIGINT; on SIGTERM it would die and
        # leave the scheduler and API server running as orphans.
        proc.send_signal(signal.SIGINT)

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, stop_gracefully)
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                # From a terminal the child got the same SIGINT; from elsewhere, pass it on.
                proc.send_signal(signal.SIGINT)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.airflow_local", description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, help="EduOpen home (default: $EDUOPEN_HOME or ./data)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="migrate the metadata DB and create the writer pool (idempotent)")
    p = sub.add_parser("dags-test", help="run the DAGs once each, in order, with `airflow dags test`")
    p.add_argument("dag_ids", nargs="*", default=list(DAG_IDS), metavar="DAG_ID")
    sub.add_parser("standalone", help=f"scheduler + UI on {UI_URL} (Ctrl-C stops)")
    args = parser.parse_args(argv)
    home = Home(args.home.resolve()) if args.home else Home.from_env()
    try:
        if args.command == "setup":
            if not setup(home):
                _stderr(f"Airflow local mode already set up in {airflow_home(home)}")
        elif args.command == "dags-test":
            dags_test(home, args.dag_ids)
        else:
            return standalone(home)
    except EduOpenError as exc:
        _stderr(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
