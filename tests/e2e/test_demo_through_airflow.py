"""`make demo` end to end: the DAGs run through Airflow against the replay, twice, same result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e
PROJECT_DIR = Path(__file__).resolve().parents[2]


def _demo(home: Path) -> subprocess.CompletedProcess:
    # dbt as one task: the per-node Cosmos graph under `dags test` has its own end-to-end test
    # (tests/unit/dags/test_cosmos_dag.py); here it would only add minutes to each of the two runs.
    env = {**os.environ, "EDUOPEN_HOME": str(home), "EDUOPEN_DBT_TASKS": "single"}
    for key in [k for k in env if k.endswith("_URL") and k.startswith("EDUOPEN_")]:
        env.pop(key)
    return subprocess.run(
        [sys.executable, "-m", "demo"], env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600
    )


def _rows(home: Path) -> dict[str, int]:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
            ).fetchall()
        ]
        return {t: con.execute(f'select count(*) from marts."{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()


def test_demo_runs_the_dags_through_airflow_and_is_idempotent(tmp_path):
    home = tmp_path / "home"
    first = _demo(home)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "eduopen_warehouse: success" in first.stderr
    rows = _rows(home)
    assert rows["fct_policy_release"] > 0 and rows["fct_student_mobility"] > 0
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        (chn_2018,) = con.execute(
            "select inbound_students from marts.fct_student_mobility where country_iso3 = 'CHN' and year = 2018"
        ).fetchone()
        titles = [t for (t,) in con.execute("select title from marts.fct_policy_release").fetchall()]
    finally:
        con.close()
    assert chn_2018 == 178271
    assert any("来华留学" in t for t in titles)

    second = _demo(home)
    assert second.returncode == 0, second.stderr[-3000:]
    assert _rows(home) == rows
