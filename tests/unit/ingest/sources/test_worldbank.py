"""World Bank API v2 answers: both number forms, refusals, and paging that must add up."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.replay.server import BUNDLE_DIR, ReplayServer, relative_file_for
from eduopen.core.config import SourceConfig
from eduopen.core.errors import ParseError, SourceError
from eduopen.core.paths import Home
from ingest.http import PoliteClient
from ingest.raw_store import RawStore
from ingest.sources.base import SourceContext
from ingest.sources.worldbank import run
from ingest.sources.worldbank.parse import check_complete, check_page, parse_page

INDICATOR = "SP.POP.TOTL"
QUERY = "date=2000:2025&format=json&page={page}&per_page=1000"
ORIGINALS = BUNDLE_DIR.parent / "originals"


def _bundle_page(indicator: str, page: int = 1) -> bytes:
    rel = relative_file_for(f"/v2/country/all/indicator/{indicator}", QUERY.format(page=page))
    return (BUNDLE_DIR / "worldbank" / rel).read_bytes()


def _record(value, *, iso3="CHN", country_id="CN", date="2020", indicator=INDICATOR, obs_status=""):
    return {
        "indicator": {"id": indicator, "value": "Population, total"},
        "country": {"id": country_id, "value": "China"},
        "countryiso3code": iso3,
        "date": date,
        "value": value,
        "unit": "",
        "obs_status": obs_status,
        "decimal": 0,
    }


def _answer(*records, page=1, pages=1, total=None, lastupdated="2025-07-01") -> bytes:
    header = {
        "page": page,
        "pages": pages,
        "per_page": 1000,
        "total": len(records) if total is None else total,
        "sourceid": "2",
        "lastupdated": lastupdated,
    }
    return json.dumps([header, list(records)]).encode()


def test_number_answer_gives_values_years_and_the_last_updated_date():
    page = parse_page(_answer(_record(1411100000), _record(1412360000, date="2021")), indicator=INDICATOR)
    assert [(r.geo_unit, r.year, r.value) for r in page.records] == [
        ("CHN", 2020, 1411100000.0),
        ("CHN", 2021, 1412360000.0),
    ]
    assert (page.page, page.pages, page.total, page.last_updated) == (1, 1, 2, "2025-07-01")


def test_indicator_name_is_taken_from_the_records():
    assert parse_page(_answer(_record(1.0)), indicator=INDICATOR).indicator_name == "Population, total"


def test_string_number_answer_parses_like_the_number_answer():
    as_strings = json.dumps(
        [
            {"page": "1", "pages": "1", "per_page": "1000", "total": "1", "sourceid": "2", "lastupdated": "2025-06-30"},
            [{**_record("63.6"), "decimal": "1"}],
        ]
    ).encode()
    page = parse_page(as_strings, indicator=INDICATOR)
    assert (page.page, page.pages, page.total) == (1, 1, 1)
    assert page.records[0].value == 63.6
    assert page.records[0].value_raw == "63.6"


def test_bundled_pages_hold_the_real_bulk_file_cell_for_cell():
    indicator = "NY.GDP.MKTP.CD"
    first = parse_page(_bundle_page(indicator), indicator=indicator)
    pages = [first] + [parse_page(_bundle_page(indicator, n), indicator=indicator) for n in range(2, first.pages + 1)]
    check_complete(pages, indicator=indicator)
    served = {(r.geo_unit, r.year): r.value for p in pages for r in p.records}
    with (ORIGINALS / "worldbank-bulk" / "GDP.csv").open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    expected = {
        (row[1], int(year)): float(cell) if cell else None
        for row in rows
        for year, cell in zip(header[4:], row[4:], strict=True)
        if 2000 <= int(year) <= 2025
    }
    assert served == expected
    assert served[("CHN", 2019)] == 14279968506271.7  # GDP.csv, China, 2019


def test_null_value_stays_null_never_zero():
    page = parse_page(_answer(_record(None, date="2024")), indicator=INDICATOR)
    assert page.records[0].value is None
    assert page.records[0].value_raw is None


def test_aggregate_without_iso3_code_keeps_its_country_id():
    page = parse_page(_answer(_record(42.7, iso3="", country_id="1W")), indicator=INDICATOR)
    assert page.records[0].geo_unit == "1W"


def test_obs_status_is_kept_as_the_magnitude_flag():
    page = parse_page(_answer(_record(5.0, obs_status="E")), indicator=INDICATOR)
    assert page.records[0].obs_status == "E"


def test_error_answer_raises_source_error_with_the_world_bank_message():
    refusal = b'[{"message":[{"id":"120","key":"Invalid value","value":"The provided parameter value is not valid"}]}]'
    with pytest.raises(SourceError, match="120 Invalid value: The provided parameter value is not valid"):
        parse_page(refusal, indicator="NOT.AN.INDICATOR")


def test_truncated_body_is_a_parse_error():
    with pytest.raises(ParseError, match="not valid JSON"):
        parse_page(_answer(_record(1.0))[:-5], indicator=INDICATOR)


def test_record_without_a_year_is_rejected_not_dropped():
    page = parse_page(_answer(_record(1.0, date="n/a"), _record(2.0)), indicator=INDICATOR)
    assert len(page.records) == 1
    assert len(page.rejected) == 1 and "n/a" in page.rejected[0].reason
    assert page.received == 2


def test_paging_short_of_the_total_is_truncated():
    first = parse_page(_answer(_record(1.0), pages=2, total=3), indicator=INDICATOR)
    second = parse_page(_answer(_record(2.0, date="2021"), page=2, pages=2, total=3), indicator=INDICATOR)
    with pytest.raises(SourceError, match="truncated paging"):
        check_complete([first, second], indicator=INDICATOR)


def test_missing_page_is_truncated_even_when_counts_look_right():
    first = parse_page(_answer(_record(1.0), pages=2, total=1), indicator=INDICATOR)
    with pytest.raises(SourceError, match="truncated paging"):
        check_complete([first], indicator=INDICATOR)


def test_empty_answer_is_an_error_not_zero_rows():
    header = {"page": 1, "pages": 0, "per_page": 1000, "total": 0, "sourceid": None, "lastupdated": "2025-07-01"}
    page = parse_page(json.dumps([header, None]).encode(), indicator=INDICATOR)
    with pytest.raises(SourceError, match="no records"):
        check_complete([page], indicator=INDICATOR)


def test_page_parameter_ignored_is_caught():
    page = parse_page(_answer(_record(1.0), page=1, pages=2, total=2), indicator=INDICATOR)
    with pytest.raises(SourceError, match="paging parameter ignored"):
        check_page(page, indicator=INDICATOR, expected_page=2)


def test_indicator_filter_ignored_is_caught():
    page = parse_page(_answer(_record(1.0, indicator="NY.GDP.MKTP.CD")), indicator=INDICATOR)
    with pytest.raises(SourceError, match="ignored the indicator filter"):
        check_page(page, indicator=INDICATOR, expected_page=1)


def test_data_changing_between_pages_is_caught():
    first = parse_page(_answer(_record(1.0), pages=2, total=2), indicator=INDICATOR)
    moved = _answer(_record(2.0), page=2, pages=2, total=2, lastupdated="2025-07-02")
    later = parse_page(moved, indicator=INDICATOR)
    with pytest.raises(SourceError, match="changed while paging"):
        check_page(later, indicator=INDICATOR, expected_page=2, first=first)


# -- run(): the adapter against a local replay of a hand-made bundle ---------------------------


@pytest.fixture
def wb_bundle(tmp_path: Path) -> Path:
    root = tmp_path / "bundle"
    (root / "worldbank").mkdir(parents=True)
    (root / "worldbank" / "robots.txt").write_text("User-agent: *\nAllow: /\n")
    return root


def _put(bundle: Path, page: int, body: bytes) -> None:
    rel = relative_file_for(f"/v2/country/all/indicator/{INDICATOR}", QUERY.format(page=page))
    path = bundle / "worldbank" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)


@pytest.fixture
def context(wb_bundle: Path, home: Home, monkeypatch: pytest.MonkeyPatch) -> Iterator[SourceContext]:
    monkeypatch.setenv("EDUOPEN_MIN_DELAY_S", "0")
    with ReplayServer(["worldbank"], bundle=wb_bundle) as server, RawStore(home) as store:
        settings = {"base_url": server.url("worldbank"), "indicators": {INDICATOR: "population"}}
        cfg = SourceConfig.parse("worldbank", settings, {}, "EduOpenBot/test")
        with PoliteClient.for_source(cfg, store) as client:
            yield SourceContext(cfg, store, client, home)


def test_truncated_paging_loads_nothing_and_keeps_no_cursor(wb_bundle, context):
    _put(wb_bundle, 1, _answer(_record(1.0), _record(2.0, date="2021"), pages=2, total=4))
    _put(wb_bundle, 2, _answer(_record(3.0, date="2022"), page=2, pages=2, total=4))
    with pytest.raises(SourceError, match="truncated paging"):
        run(context)
    assert context.store.count("observation") == 0
    assert context.store.get_cursor("worldbank", f"lastupdated:{INDICATOR}") is None


def test_all_pages_load_and_an_unchanged_first_page_skips_the_rest(wb_bundle, context):
    _put(wb_bundle, 1, _answer(_record(1.0), _record(2.0, date="2021"), pages=2, total=3))
    _put(wb_bundle, 2, _answer(_record(None, date="2022"), page=2, pages=2, total=3))
    first = run(context)
    assert first.new_rows == 3
    rows = context.store.con.execute(
        "select year, value, data_version from observation where source = 'worldbank' order by year"
    ).fetchall()
    assert rows == [(2020, 1.0, "2025-07-01"), (2021, 2.0, "2025-07-01"), (2022, None, "2025-07-01")]
    before = context.client.request_count
    second = run(context)
    assert second.new_rows == 0 and second.skipped_reason
    assert context.client.request_count - before == 1  # page 1 only, conditionally


def test_refusal_through_the_adapter_names_the_indicator(wb_bundle, context):
    _put(wb_bundle, 1, b'[{"message":[{"id":"175","key":"Invalid format","value":"The indicator was not found."}]}]')
    with pytest.raises(SourceError, match=f"{INDICATOR}.*175"):
        run(context)
