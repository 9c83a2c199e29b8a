"""`make demo` end to end: the DAGs run through Airflow against the replay, twice, same result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.support.lineage_graph import downstream, edges, read_events

pytestmark = pytest.mark.e2e
PROJECT_DIR = Path(__file__).resolve().parents[2]


def _demo(home: Path) -> subprocess.CompletedProcess:
    # The default dbt mode, one task; the opt-in per-node Cosmos graph under `dags test` has its own
    # end-to-end test (tests/unit/dags/test_cosmos_dag.py).
    env = {**os.environ, "EDUOPEN_HOME": str(home)}
    env.pop("EDUOPEN_DBT_TASKS", None)
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
    _lineage_leads_from_the_sources_to_every_published_mart(home, rows)

    second = _demo(home)
    assert second.returncode == 0, second.stderr[-3000:]
    assert _rows(home) == rows


def _lineage_leads_from_the_sources_to_every_published_mart(home: Path, rows: dict[str, int]) -> None:
    """What a lineage tool draws from the OpenLineage file the local mode writes by default."""
    events = read_events(home / "lineage" / "openlineage.jsonl")
    jobs = {event["job"]["name"] for event in events}
    assert {
        "eduopen_ingest_releases.ingest_moe_zh",
        "eduopen_warehouse.prepare_audit",
        "eduopen_warehouse.publish",
    } <= jobs
    graph = edges(events)
    catalog, warehouse = (f"duckdb://{(home / name).resolve()}" for name in ("raw/catalog.duckdb", "warehouse.duckdb"))
    moe_zh = ("http://www.moe.gov.cn", "/jyb_xwfb/gzdt_gzdt/")
    uis = ("https://api.uis.unesco.org", "/api/public")
    # source → raw catalog
    assert (catalog, "catalog.main.release_version") in graph[moe_zh]
    assert (catalog, "catalog.main.observation") in graph[uis]
    # → the audit copy → the dbt models (one job each) → the published marts and their Parquet files
    assert (warehouse, "warehouse.marts.fct_policy_release") in downstream(graph, moe_zh)
    from_uis = downstream(graph, uis)
    assert (warehouse, "warehouse.marts.fct_student_mobility") in from_uis
    assert ("file", str((home / "exports" / "fct_student_mobility.parquet").resolve())) in from_uis
    assert any(name.startswith("audit.staging.") for _, name in from_uis)
    # Every mart is built by a dbt job, then published from the audit copy.
    audit = f"duckdb://{(home / 'audit.duckdb').resolve()}"
    built = {(d["namespace"], d["name"]) for event in events for d in event.get("outputs") or []}
    for mart in rows:
        assert (audit, f"audit.marts.{mart}") in built, mart
        assert (warehouse, f"warehouse.marts.{mart}") in graph[(audit, f"audit.marts.{mart}")], mart
