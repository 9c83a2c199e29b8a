"""Audit warehouses built by dbt from a small synthetic raw catalog, to test the quality gate on.

The raw rows are the bench generator's (`bench.scale.small_volume()`: 20 countries, 2 regions,
10 years, 300 releases, a few thousand rows per table; synthetic rows under the real source names
the dbt models read, written only into a throwaway home) and the marts are what the real
`dbt build` makes of them (`eduopen.pipeline.transform`). No mart is written by hand, so the
gate is tested on dbt's own output and a model change reaches these tests unchanged.

A dbt build costs a minute or more on a shared 2-core machine: `clean_build` builds once per test
session and every caller copies the home (`copy_home`) before touching it.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from bench.scale import append_increment, generate, small_volume, today
from eduopen import pipeline
from eduopen.core.paths import Home

# One calendar for every build of a session, so an increment continues the catalog it extends.
ANCHOR = today()
VOLUME = small_volume()

_clean_builds: dict[Path, Path] = {}


def build_home(root: Path, *, anchor: date = ANCHOR) -> Home:
    """A fresh home at `root`: the synthetic raw catalog, then a full dbt build into audit.duckdb."""
    home = Home(root).ensure()
    generate(home, VOLUME, anchor=anchor)
    pipeline.transform(full_refresh=True, home=home)
    return home


def rebuild(home: Home) -> None:
    """dbt again, from every raw row of the home's catalog (after a test changed it)."""
    pipeline.transform(full_refresh=True, home=home)


def grow(home: Home) -> None:
    """+1% of new raw data (the bench's increment), then dbt's incremental build on top of the
    published warehouse, as the pipeline runs it."""
    append_increment(home, VOLUME, anchor=ANCHOR)
    pipeline.transform(home=home)


def clean_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Root of a home holding a clean, unvalidated dbt build; built once per session. Copy it."""
    base = tmp_path_factory.getbasetemp()
    if base not in _clean_builds:
        _clean_builds[base] = build_home(tmp_path_factory.mktemp("clean-build") / "home").root
    return _clean_builds[base]


def copy_home(source: Home | Path, target: Path) -> Home:
    root = source.root if isinstance(source, Home) else source
    shutil.copytree(root, target, ignore=shutil.ignore_patterns(".writer.lock"))
    return Home(target)


def table_rows(path: Path) -> dict[str, int]:
    """Row count of every table of the warehouse at `path`, by `schema.table`."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            name
            for (name,) in con.execute(
                "select schema_name || '.' || table_name from duckdb_tables() where not temporary order by 1"
            ).fetchall()
        ]
        return {name: con.execute(f"select count(*) from {name}").fetchone()[0] for name in tables}
    finally:
        con.close()
