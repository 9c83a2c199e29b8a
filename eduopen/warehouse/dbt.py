"""Invoking dbt in-process on the EduOpen project: its arguments, the runner, reading its results.

Every dbt command of EduOpen goes through `invoke_dbt` with `common_args`: the project and
profiles of `dbt_project/`, and `target/` and `logs/` under the home (`dbt_dir`), so the project
folder stays clean and homes side by side never share dbt's state. The database dbt writes is
chosen per call (`EDUOPEN_DBT_DB_PATH`, read by `profiles.yml`).

Import-light: DAG files import this module at parse time; dbt itself is imported only when a
command runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from eduopen.core.config import DBT_DB_PATH
from eduopen.core.errors import EduOpenError, ExitCode
from eduopen.core.paths import DBT_PROJECT_DIR, Home

# dbt statuses that mean the build cannot be trusted ("warn" is fine: advisory tests). Nodes
# downstream of a failure are "skipped": counted, but not named, since they are not the cause.
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})


class TransformError(EduOpenError):
    """dbt could not build the audit warehouse; nothing was published."""

    exit_code = ExitCode.TRANSFORM_FAILED

    def __init__(self, message: str, *, failed_nodes: list[str] | None = None):
        super().__init__(message)
        self.failed_nodes = failed_nodes or []


def dbt_dir(home: Home) -> Path:
    """dbt's target/ and logs/ for this home: keeps the project clean and parallel homes apart."""
    return home.root / "dbt"


def common_args(home: Home, *, work_dir: Path | None = None) -> list[str]:
    """The arguments every dbt command of EduOpen takes after its name; `work_dir` (default
    `dbt_dir(home)`) holds its target/ and logs/."""
    work_dir = work_dir or dbt_dir(home)
    return [
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
        "--quiet",
    ]


def invoke_dbt(args: list[str], *, db_path: Path, home: Home) -> list[Any]:
    """Run dbt in-process on `db_path`; return its node results or raise TransformError.

    A node that failed is not an error here (its result says so, see `FAILED_STATUSES`): the caller
    decides what a failed node means. dbt's handle on `db_path` is closed before this returns.
    """
    outcome = _run(args, db_path=db_path, home=home)
    result = outcome.result
    nodes = list(getattr(result, "results", None) or [])
    if not outcome.success and not any(str(r.status) in FAILED_STATUSES for r in nodes):
        raise TransformError(f"dbt {args[0]} failed; see {dbt_dir(home) / 'logs' / 'dbt.log'}")
    return nodes


class ModelRelation(NamedTuple):
    """Where a dbt model is built: its schema and its relation name (the alias, else the model's name)."""

    schema: str
    name: str


def list_models(home: Home, select: str) -> list[ModelRelation]:
    """The relations of the project's models a dbt selector (e.g. `tag:x`) picks, sorted.

    `dbt ls` parses the project (into this home's target/, so the next build parses only what
    changed) and opens no database.
    """
    args = ["ls", *common_args(home), "--resource-type", "model", "--select", select]
    args += ["--output", "json", "--output-keys", "name schema alias"]
    # `ls` prints its answer on stdout even when quiet, which would garble the CLI's JSON there.
    args += ["--log-level", "none", "--log-level-file", "debug"]
    outcome = _run(args, db_path=home.audit, home=home)
    if not outcome.success:
        raise TransformError(f"dbt ls --select {select} failed; see {dbt_dir(home) / 'logs' / 'dbt.log'}")
    nodes = [json.loads(line) for line in outcome.result or []]
    return sorted(ModelRelation(node["schema"], node.get("alias") or node["name"]) for node in nodes)


def first_line(text: str | None) -> str:
    """The first line of a dbt message, cut to 300 characters: enough to name the cause in one line."""
    return (text or "").strip().splitlines()[0][:300] if (text or "").strip() else ""


def release_dbt_duckdb() -> None:
    """Close dbt-duckdb's cached database handle so the audit file is free for the next writer.

    dbt-duckdb keeps one environment per process in a class attribute and only drops it at exit;
    the validate and publish steps (same process under the CLI, or under `airflow dags test`)
    must not find the file open.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a hard dependency
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        if env is not None:
            env.close()
            DuckDBConnectionManager._ENV = None


def _run(args: list[str], *, db_path: Path, home: Home) -> Any:
    # Imported here: dbt is a heavy import and DAG files import this module at parse time.
    from dbt.cli.main import dbtRunner

    dbt_dir(home).mkdir(parents=True, exist_ok=True)
    with _env(DBT_DB_PATH.name, str(db_path)):
        try:
            outcome = dbtRunner().invoke(args)
        finally:
            release_dbt_duckdb()
    if outcome.exception is not None:
        raise TransformError(
            f"dbt {args[0]} could not run: {first_line(str(outcome.exception))}"
        ) from outcome.exception
    return outcome


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous
