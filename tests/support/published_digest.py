"""What a published warehouse holds, as one digest per mart: two deployments' results compared cheaply.

The real-Airflow test on LocalExecutor records the digest of the warehouse it published
(`record_reference`); the scale-out test on CeleryExecutor, fed the same replay the same way,
compares its own against it (`load_reference`). A reference only counts for the code and the
recorded sites it was produced from: it carries a fingerprint of both, and a stale one is ignored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb

from tests.support.browser import ARTIFACTS, PROJECT_DIR

REFERENCE = ARTIFACTS / "published-digest-localexecutor.json"
# What both tests feed the pipeline, in this order.
SCENARIO = "unpaused on the replay; then its new_release scenario; then uis_browser_export.csv in the landing folder"
# When this deployment loaded or first saw a row: true of one run only, never part of the content.
LOAD_TIME_COLUMNS = frozenset({"first_seen_at", "last_seen_at", "loaded_at", "inputs_loaded_through"})
# Everything the published content is made from: the pipeline's code, the dbt project, the gate,
# the DAGs, and the recorded sites the replay serves.
INPUTS = ("eduopen", "ingest", "expectations", "dags", "dbt_project", "demo/replay")
NOT_INPUTS = frozenset({"__pycache__", "target", "logs", "dbt_packages"})


def published_digest(warehouse: Path) -> dict[str, str]:
    """`{mart: "<rows> rows <sha256>"}` over every table of the `marts` schema, rows in a fixed
    order, the load-time columns left out."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [
            t for (t,) in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()
        ]
        digest = {}
        for table in sorted(tables):
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = ? "
                    "order by column_index",
                    [table],
                ).fetchall()
                if c not in LOAD_TIME_COLUMNS
            ]
            selected = ", ".join(f'"{c}"' for c in columns)
            rows, sha = con.execute(
                "select count(*), sha256(coalesce(string_agg(r::varchar, chr(10) order by r::varchar), '')) "
                f'from (select {selected} from marts."{table}") r'
            ).fetchone()
            digest[table] = f"{rows} rows {sha}"
        return digest
    finally:
        con.close()


def inputs_fingerprint() -> str:
    """sha256 over the path and bytes of every file the published content is made from."""
    sha = hashlib.sha256()
    for top in INPUTS:
        for path in sorted((PROJECT_DIR / top).rglob("*")):
            if path.is_file() and not NOT_INPUTS & set(path.parts) and path.suffix != ".pyc":
                sha.update(str(path.relative_to(PROJECT_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()


def record_reference(warehouse: Path, *, scenario: str) -> dict[str, str]:
    """Write the LocalExecutor run's digest with what produced it; returns the digest."""
    digest = published_digest(warehouse)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    REFERENCE.write_text(
        json.dumps({"inputs": inputs_fingerprint(), "scenario": scenario, "marts": digest}, indent=1) + "\n",
        encoding="utf-8",
    )
    return digest


def load_reference(*, scenario: str) -> dict[str, Any] | None:
    """The recorded LocalExecutor digest of `scenario`, or None when there is none for this code and replay."""
    try:
        recorded = json.loads(REFERENCE.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if recorded.get("scenario") != scenario or recorded.get("inputs") != inputs_fingerprint():
        return None
    return dict(recorded["marts"])
