"""uis, worldbank and landing through `pipeline.ingest` against the replay server: rows land in the
raw tables, and a second run on unchanged sources asks only conditionally and loads nothing."""

from __future__ import annotations

import json
import os
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from demo.replay.server import BUNDLE_DIR, ReplayServer, relative_file_for
from eduopen import pipeline
from eduopen.core.errors import ConfigError, SourceError


def _raw(home, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(home.catalog), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _data_requests(replay, source: str):
    return [r for r in replay.requests(source) if not r.path.endswith("robots.txt")]


def test_worldbank_loads_every_page_of_the_real_indicators(replay, home):
    (summary,) = pipeline.ingest(["worldbank"], home)
    counts = dict(_raw(home, "select indicator_id, count(*) from observation where source = 'worldbank' group by 1"))
    # every economy of the bulk files x every year 2000-2025 they have columns for
    assert counts == {"NY.GDP.MKTP.CD": 266 * 25, "SE.XPD.TOTL.GD.ZS": 272 * 26}
    assert summary.new_rows == sum(counts.values())
    values = {
        (i, g, y): v
        for i, g, y, v in _raw(
            home, "select indicator_id, geo_unit, year, value from observation where source = 'worldbank'"
        )
    }
    assert values[("NY.GDP.MKTP.CD", "CHN", 2019)] == 14279968506271.7  # on page 2 of 7
    assert values[("NY.GDP.MKTP.CD", "CHN", 2024)] is None  # empty cell stays NULL
    names = dict(_raw(home, "select indicator_id, name from indicator_definition where source = 'worldbank'"))
    assert names["NY.GDP.MKTP.CD"] == "GDP (current US$)" and len(names) == 2


def test_worldbank_second_run_asks_page_one_conditionally_and_loads_nothing(replay, home):
    pipeline.ingest(["worldbank"], home)
    before = _raw(home, "select count(*) from observation")
    replay.reset_log()
    (summary,) = pipeline.ingest(["worldbank"], home)
    seen = _data_requests(replay, "worldbank")
    assert len(seen) == 2 and all(r.conditional and r.status == 304 for r in seen)
    assert not any("page=2" in r.path for r in seen)
    assert summary.new_rows == 0
    assert _raw(home, "select count(*) from observation") == before


def test_uis_loads_the_export_values_under_the_february_2025_version(replay, home):
    (summary,) = pipeline.ingest(["uis"], home)
    counts = dict(_raw(home, "select indicator_id, count(*) from observation where source = 'uis' group by 1"))
    assert counts == {"26637": 6879, "MENF.5T8": 2307}
    assert _raw(
        home,
        "select value, qualifier from observation where source = 'uis' "
        "and indicator_id = 'MENF.5T8' and geo_unit = 'CHN' and year = 2019",
    ) == [(-858847, None)]
    assert _raw(home, "select distinct data_version from observation where source = 'uis'") == [("20250225-2ae60fad",)]


def test_since_refetches_uis_and_worldbank_from_its_year_past_their_cursors_and_stores_nothing_twice(replay, home):
    pipeline.ingest(["uis", "worldbank"], home)
    before = _raw(home, "select count(*) from observation")
    cursors = _raw(home, "select * from source_cursor order by all")
    replay.reset_log()
    # Unchanged data version and page 1: a plain run stops there; a run given `since` fetches it all
    # again from that year (the recorded years: UIS from 1998, the World Bank from 2000).
    (uis,) = pipeline.ingest(["uis"], home, since=date(1998, 7, 1))
    (worldbank,) = pipeline.ingest(["worldbank"], home, since="2000-01-01")
    seen = [r.path for r in _data_requests(replay, "uis") + _data_requests(replay, "worldbank")]
    assert sum("indicatorMetadata=false&start=1998" in path for path in seen) == 2  # both indicators
    assert sum("date=2000%3A2025" in path and "page=2&" in path for path in seen) == 2
    assert uis.skipped_reason is None and worldbank.skipped_reason is None
    assert uis.new_rows == worldbank.new_rows == 0
    assert _raw(home, "select count(*) from observation") == before
    assert _raw(home, "select * from source_cursor order by all") == cursors  # the regular runs' own

    with pytest.raises(SourceError, match="start=2005"):  # asked from 2005: a year the replay never recorded
        pipeline.ingest(["uis"], home, since=date(2005, 1, 1))


def test_since_is_refused_before_anything_runs_for_a_source_that_reads_files(home, replay, capsys):
    from eduopen.cli import main
    from eduopen.core.errors import ExitCode

    with pytest.raises(ConfigError, match="landing cannot re-crawl history"):
        pipeline.ingest(["uis", "landing"], home, since=date(2020, 1, 1))
    assert not home.catalog.exists()  # refused before the raw store was opened
    assert main(["ingest", "all", "--since", "2020-01-01"]) == ExitCode.CONFIG
    assert "landing cannot re-crawl history" in capsys.readouterr().err
    assert main(["ingest", "uis", "--since", "2999-01-01"]) == ExitCode.CONFIG
    assert "a day still to come" in capsys.readouterr().err
    assert not home.catalog.exists()


def test_oecd_is_off_and_not_replayed(replay):
    from eduopen.core.config import Settings

    assert "oecd" not in Settings.load().source_names()
    assert "oecd" not in replay.sources


def _settled(path: Path) -> None:
    old = time.time() - 60
    os.utime(path, (old, old))


# Synthetic rows (made-up values) in the real SDMX-CSV and WDI bulk layouts.
OECD_CSV = (
    "STRUCTURE,STRUCTURE_ID,STRUCTURE_NAME,ACTION,REF_AREA,Reference area,ORIGIN,Country of origin,"
    "TIME_PERIOD,Time period,OBS_VALUE,Observation value,OBS_STATUS,Observation status\r\n"
    "DATAFLOW,OECD.EDU.IMEP:DSD_X@DF_MOB(1.0),Mobility,I,AUS,Australia,CHN,China,2022,,117418,,A,\r\n"
)
WB_BULK = (
    '"Data Source","World Development Indicators",\n\n"Last Updated Date","2025-07-01",\n\n'
    '"Country Name","Country Code","Indicator Name","Indicator Code","2022","2023",\n'
    '"China","CHN","Population, total","SP.POP.TOTL","1412175000","1410710000",\n'
)


def test_landing_files_are_loaded_moved_and_not_loaded_twice(home):
    (home.landing / "flows.csv").write_text(OECD_CSV, encoding="utf-8")
    (home.landing / "API_SP.POP.TOTL.csv").write_text("\ufeff" + WB_BULK, encoding="utf-8")
    for path in home.landing.iterdir():
        _settled(path)
    (summary,) = pipeline.ingest(["landing"], home)
    assert summary.new_rows == 3
    assert _raw(home, "select source, year, value from observation order by year") == [
        ("worldbank_bulk", 2022, 1412175000),
        ("worldbank_bulk", 2023, 1410710000),
    ]
    assert _raw(home, "select source, origin, destination, value from flow_observation") == [
        ("oecd", "CHN", "AUS", 117418)
    ]
    processed = sorted(p.name for p in (home.landing / "processed").iterdir())
    assert processed == ["API_SP.POP.TOTL.csv", "flows.csv"]
    assert _raw(home, "select source, indicator_id, name from indicator_definition order by 1") == [
        ("oecd", "DSD_X@DF_MOB", "Mobility"),
        ("worldbank_bulk", "SP.POP.TOTL", "Population, total"),
    ]
    (again,) = pipeline.ingest(["landing"], home)
    assert again.new_rows == 0 and again.skipped_reason


def test_file_dropped_while_a_run_starts_waits_for_the_next_run(home, monkeypatch):
    monkeypatch.delenv("EDUOPEN_LANDING_SETTLE_S", raising=False)
    arriving = home.landing / "flows.csv"
    arriving.write_text(OECD_CSV, encoding="utf-8")  # modified just now: maybe still being written
    (first,) = pipeline.ingest(["landing"], home)
    assert first.new_rows == 0 and arriving.exists()
    _settled(arriving)
    (second,) = pipeline.ingest(["landing"], home)
    assert second.new_rows == 1 and not arriving.exists()


def test_truncated_worldbank_paging_fails_the_source_and_loads_none_of_it(home, tmp_path, monkeypatch):
    rel = relative_file_for(
        "/v2/country/all/indicator/NY.GDP.MKTP.CD", "date=2000:2025&format=json&page=2&per_page=1000"
    )
    header, records = json.loads((BUNDLE_DIR / "worldbank" / rel).read_bytes())
    cut = tmp_path / "overlay" / "worldbank" / rel
    cut.parent.mkdir(parents=True)
    cut.write_text(json.dumps([header, records[:-3]]), encoding="utf-8")
    with ReplayServer(["worldbank"], extra_roots=[tmp_path / "overlay"]) as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("EDUOPEN_MIN_DELAY_S", "0")
        with pytest.raises(SourceError, match="truncated paging for NY.GDP.MKTP.CD"):
            pipeline.ingest(["worldbank"], home)
    assert _raw(home, "select count(*) from observation where indicator_id = 'NY.GDP.MKTP.CD'") == [(0,)]
