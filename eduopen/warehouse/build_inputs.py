"""What a complete dbt build read, recorded in the file it built, so the next build builds only
what changed since, or nothing.

After a `dbt build` of the whole project succeeds, `record` writes one row into the built file's
`main.build_inputs`: a fingerprint of the dbt project's files (models, macros, seeds, tests, vars
in `dbt_project.yml`), the dbt and DuckDB versions, what identifies the content of every raw table
the project reads as a dbt source (`eduopen.warehouse.audit.raw_table_fingerprint`), and the row
count of every table the build left. The file is validated and published as is, and the next audit
copy starts from it. Every model is a function of those inputs (none reads the clock or the
environment), so when `since_last_build` finds the project and the built tables as recorded, only
the models the changed sources feed can differ from a complete rebuild; when no source changed,
none can, and dbt need not run.

The row counts catch a published file changed by hand (a duplicate inserted into a table that a
test guards); they cannot catch a value edited in place. A build with a selection of its caller's,
and any build that fails, leaves no record, so the next build is a complete one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import duckdb

from eduopen.core.config import duckdb_config
from eduopen.warehouse.audit import raw_table_fingerprint
from eduopen.warehouse.manifest import project_fingerprint

RECORD_SCHEMA = "main"
RECORD_TABLE = "build_inputs"
_RECORD = f'"{RECORD_SCHEMA}"."{RECORD_TABLE}"'


@dataclass(frozen=True)
class BuildInputs:
    """The fingerprints of one build's inputs and of the tables it left."""

    project: str
    versions: dict[str, str]
    # "schema.table" -> `raw_table_fingerprint` of each raw table read as a dbt source
    sources: dict[str, list[int | str]]
    # "schema.table" -> the dbt selectors of the sources reading it (`source:raw.observation`)
    selectors: dict[str, list[str]]
    # "schema.table" -> rows, of every table the build left (raw tables aside)
    built_rows: dict[str, int]
    # the build's advisory test warnings: a build skipped for want of anything new still names them
    warnings: list[str]

    def to_json(self) -> str:
        return json.dumps(
            {
                "project": self.project,
                "versions": self.versions,
                "sources": self.sources,
                "selectors": self.selectors,
                "built_rows": self.built_rows,
                "warnings": self.warnings,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> BuildInputs:
        data = json.loads(text)
        return cls(
            data["project"], data["versions"], data["sources"], data["selectors"], data["built_rows"], data["warnings"]
        )


@dataclass(frozen=True)
class SinceLastBuild:
    """What changed since the last complete build of a file whose project and built tables did not."""

    previous: BuildInputs
    # the raw source tables whose content changed, "schema.table"
    changed_sources: list[str]

    def selector(self) -> str:
        """The dbt selector of everything the changed sources feed (their models, and downstream)."""
        return " ".join(
            sorted({f"{selector}+" for table in self.changed_sources for selector in self.previous.selectors[table]})
        )


def tool_versions() -> dict[str, str]:
    """A new dbt or DuckDB may compile or compute differently: part of what a build depended on."""
    return {name: version(name) for name in ("dbt-core", "dbt-duckdb", "duckdb")}


def since_last_build(db_path: Path) -> SinceLastBuild | None:
    """Which raw source tables changed since the last complete build of `db_path`, or None when
    a complete build is needed: no record, another project or tool version, or built tables that
    are not as that build left them.

    With the project and the built tables as they were, a model none of the changed sources feeds
    would be rebuilt from the same inputs into the same table: only what they feed needs building.
    """
    con = duckdb.connect(str(db_path), read_only=True, config=duckdb_config())
    try:
        previous = _read_record(con)
        if previous is None:
            return None
        if previous.project != project_fingerprint() or previous.versions != tool_versions():
            return None
        if _built_rows(con) != previous.built_rows:
            return None
        now = source_fingerprints(con, list(previous.sources))
    finally:
        con.close()
    return SinceLastBuild(
        previous, sorted(table for table, fingerprint in now.items() if fingerprint != previous.sources[table])
    )


def forget(db_path: Path) -> None:
    """Drop the record before a build starts: a build that fails or is partial must leave none."""
    con = duckdb.connect(str(db_path), config=duckdb_config())
    try:
        con.execute(f"drop table if exists {_RECORD}")
    finally:
        con.close()


def record(db_path: Path, manifest: Path, *, project: str, warnings: list[str]) -> BuildInputs:
    """Write the record of a complete build that just succeeded into `db_path`.

    `manifest` is the build's own `manifest.json` (which raw tables the project reads); `project`
    the project fingerprint taken before dbt parsed, so an edit during the build is not covered.
    """
    selectors: dict[str, set[str]] = {}
    for node in json.loads(manifest.read_text(encoding="utf-8")).get("sources", {}).values():
        relation = f"{node['schema']}.{node.get('identifier') or node['name']}"
        selectors.setdefault(relation, set()).add(f"source:{node['source_name']}.{node['name']}")
    con = duckdb.connect(str(db_path), config=duckdb_config())
    try:
        fingerprints = source_fingerprints(con, sorted(selectors))
        con.execute(f"create or replace table {_RECORD} (inputs varchar not null)")
        inputs = BuildInputs(
            project,
            tool_versions(),
            fingerprints,
            {relation: sorted(names) for relation, names in selectors.items()},
            _built_rows(con),
            list(warnings),
        )
        con.execute(f"insert into {_RECORD} values (?)", [inputs.to_json()])
        con.execute("checkpoint")
    finally:
        con.close()
    return inputs


def source_fingerprints(con: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, list[int | str]]:
    """ "schema.table" -> its `raw_table_fingerprint` (["absent"] when missing)."""
    present = {
        f"{schema}.{name}"
        for schema, name in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
    }
    return {
        table: raw_table_fingerprint(con, _quoted(table), table.split(".", 1)[1]) if table in present else ["absent"]
        for table in tables
    }


def _quoted(table: str) -> str:
    return ".".join(f'"{part}"' for part in table.split(".", 1))


def _built_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() where schema_name <> 'raw' "
        "and not (schema_name = ? and table_name = ?) order by 1, 2",
        [RECORD_SCHEMA, RECORD_TABLE],
    ).fetchall()
    return {
        f"{schema}.{name}": con.execute(f'select count(*) from "{schema}"."{name}"').fetchall()[0][0]
        for schema, name in tables
    }


def _read_record(con: duckdb.DuckDBPyConnection) -> BuildInputs | None:
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [RECORD_SCHEMA, RECORD_TABLE]
    ).fetchall()[0][0]
    if not exists:
        return None
    rows = con.execute(f"select inputs from {_RECORD}").fetchall()
    if len(rows) != 1:
        return None
    try:
        return BuildInputs.from_json(rows[0][0])
    except (ValueError, KeyError, TypeError):
        return None
