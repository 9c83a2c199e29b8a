"""The analysts' example queries (`docs/analyst_queries.sql`, shown in the README) run and return rows.

Each query runs where the README says it runs: `marts.*` queries on the published warehouse opened
read-only, `read_parquet(...)` queries on a fresh in-memory DuckDB that has only the Parquet
exports (what a BI tool sees). The small published home is the one test_report.py builds, with
Parquet exports written the way publish writes them; a separate test keeps that fixture's columns
equal to the dbt contracts, so the queries cannot pass here against columns the real marts lack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import yaml

from eduopen.core.paths import DBT_PROJECT_DIR, PROJECT_DIR, Home
from tests.integration.test_report import build_published_home

QUERIES_FILE = PROJECT_DIR / "docs" / "analyst_queries.sql"
NAME_RE = re.compile(r"^-- name:\s*(?P<name>.+?)\s*$", re.MULTILINE)
TABLE_RE = re.compile(r"\bmarts\.(\w+)|exports/(\w+)\.parquet")


@dataclass(frozen=True)
class Query:
    name: str
    sql: str

    @property
    def reads_parquet(self) -> bool:
        return "read_parquet(" in self.sql


def load_queries(path: Path = QUERIES_FILE) -> list[Query]:
    """Split the file on `-- name:` lines; the text before the first one is the header comment."""
    text = path.read_text(encoding="utf-8")
    marks = list(NAME_RE.finditer(text))
    queries = []
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        sql = text[mark.end() : following.start() if following else len(text)].strip().rstrip(";").strip()
        queries.append(Query(mark["name"], sql))
    return queries


QUERIES = load_queries()


def _tables_referenced() -> set[str]:
    return {a or b for q in QUERIES for a, b in TABLE_RE.findall(q.sql)}


@pytest.fixture(scope="module")
def project_like_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory laid out like the project after `make demo`: data/warehouse.duckdb, data/exports/."""
    root = tmp_path_factory.mktemp("analyst")
    home = Home(root / "data")
    build_published_home(home)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        tables = [
            t for (t,) in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()
        ]
        for table in tables:
            target = str(home.exports / f"{table}.parquet").replace("'", "''")
            con.execute(f"copy (select * from marts.\"{table}\") to '{target}' (format parquet, compression zstd)")
    finally:
        con.close()
    return root


def test_the_queries_file_names_every_query_and_each_is_one_statement() -> None:
    names = [q.name for q in QUERIES]
    assert len(names) >= 8 and len(set(names)) == len(names)
    for query in QUERIES:
        # a query may open with comment lines saying how to read its answer
        code = "\n".join(line for line in query.sql.splitlines() if not line.lstrip().startswith("--"))
        assert code.lower().lstrip().startswith(("select", "with")), query.name
        assert ";" not in code, f"{query.name}: more than one statement"
    assert any(q.reads_parquet for q in QUERIES) and any(not q.reads_parquet for q in QUERIES)


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_example_query_returns_rows(query: Query, project_like_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project_like_dir)
    # A BI tool over the exports has no warehouse: parquet queries must not need one.
    con = duckdb.connect() if query.reads_parquet else duckdb.connect("data/warehouse.duckdb", read_only=True)
    try:
        rows = con.execute(query.sql).fetchall()
    finally:
        con.close()
    assert rows, f"{query.name!r} returned no rows"


def test_china_series_query_keeps_missing_years_missing(
    project_like_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project_like_dir)
    query = next(q for q in QUERIES if q.name.startswith("Students coming to China"))
    with duckdb.connect("data/warehouse.duckdb", read_only=True) as con:
        rows = {year: (outbound, ratio) for year, _, _, outbound, _, ratio, _ in con.execute(query.sql).fetchall()}
    assert rows[2017] == (None, None)  # outbound missing in the fixture: no ratio, no zero
    assert rows[2015][1] == round(120_000 / 520_000, 3)


def test_the_whole_file_runs_as_one_script_like_the_duckdb_cli(
    project_like_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `duckdb -readonly data/warehouse.duckdb < docs/analyst_queries.sql` runs the file top to bottom.
    monkeypatch.chdir(project_like_dir)
    with duckdb.connect("data/warehouse.duckdb", read_only=True) as con:
        for statement in con.extract_statements(QUERIES_FILE.read_text(encoding="utf-8")):
            assert con.execute(statement).fetchall()


def _contract_columns() -> dict[str, list[str]]:
    contracts: dict[str, list[str]] = {}
    for path in (DBT_PROJECT_DIR / "models" / "marts").glob("*.yml"):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            contracts[model["name"]] = [c["name"] for c in model.get("columns", [])]
    return contracts


@pytest.mark.parametrize("table", sorted(_tables_referenced()))
def test_fixture_mart_has_exactly_the_dbt_contract_columns(table: str, tmp_path: Path) -> None:
    contracts = _contract_columns()
    if table not in contracts:
        pytest.skip(f"marts.{table} has no model in dbt_project/models/marts yet")
    home = Home(tmp_path / "data")
    build_published_home(home)
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        fixture = [
            c
            for (c,) in con.execute(
                "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = ? "
                "order by column_index",
                [table],
            ).fetchall()
        ]
    assert fixture == contracts[table]
