"""UIS Data API answers: the real recorded ones parse, and non-answers are told apart from data."""

from __future__ import annotations

import csv
import json

import pytest

from demo.replay.server import BUNDLE_DIR, relative_file_for
from eduopen.core.errors import ParseError, SourceError
from ingest.sources.uis.parse import (
    check_answer,
    parse_data,
    parse_geo_unit_definitions,
    parse_indicator_definitions,
    parse_version,
)

EXPORT = BUNDLE_DIR.parent / "originals" / "uis-export"


def _served(indicator: str) -> bytes:
    rel = relative_file_for("/api/public/data/indicators", f"indicator={indicator}&indicatorMetadata=false&start=1998")
    return (BUNDLE_DIR / "uis" / rel).read_bytes()


@pytest.mark.parametrize("indicator", ["26637", "MENF.5T8"])
def test_bundled_answer_is_the_uis_export_row_for_row(indicator):
    answer = parse_data(_served(indicator))
    check_answer(answer, indicator=indicator, start=1998)
    with (EXPORT / "data.csv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["indicatorId"] == indicator]
    expected = {
        (r["geoUnit"], int(r["year"])): (r["value"], r["qualifier"] or None, r["magnitude"] or None) for r in rows
    }
    served = {(r.geo_unit, r.year): (r.value_raw, r.qualifier, r.magnitude) for r in answer.records}
    assert not answer.rejected
    assert served == expected


def test_bundled_version_is_the_february_2025_release():
    version = json.loads((BUNDLE_DIR / "uis" / "api/public/versions/default").read_bytes())
    assert parse_version(json.dumps(version).encode()) == "20250225-2ae60fad"
    assert version["themeDataStatus"][0]["description"] == "February 2025 Data Release"


def test_real_records_answer_parses_with_values_and_years(shared_data):
    answer = parse_data((shared_data / "uis-api/uis_data_records.json").read_bytes())
    assert len(answer.records) == 14
    assert not answer.rejected
    first = answer.records[0]
    assert (first.indicator_id, first.geo_unit, first.year, first.value) == ("CR.1", "CHE", 2006, 97.72)
    check_answer(answer, indicator="CR.1", start=2000)


def test_real_empty_answer_is_an_error_not_zero_rows(shared_data):
    answer = parse_data((shared_data / "uis-api/uis_data_empty.json").read_bytes())
    assert answer.records == [] and answer.hints == []
    with pytest.raises(SourceError, match="no records"):
        check_answer(answer, indicator="26637", start=None)


def test_real_unknown_geo_unit_answer_names_the_hint(shared_data):
    answer = parse_data((shared_data / "uis-api/uis_data_unknown_geounit.json").read_bytes())
    with pytest.raises(SourceError, match="UIS::HINT::003"):
        check_answer(answer, indicator="26637", start=None, geo_unit="XXX")


def test_empty_and_unknown_geo_unit_are_told_apart(shared_data):
    empty = parse_data((shared_data / "uis-api/uis_data_empty.json").read_bytes())
    unknown = parse_data((shared_data / "uis-api/uis_data_unknown_geounit.json").read_bytes())
    messages = []
    for answer in (empty, unknown):
        with pytest.raises(SourceError) as caught:
            check_answer(answer, indicator="26637", start=None, geo_unit="XXX")
        messages.append(str(caught.value))
    assert "refused" not in messages[0] and "refused" in messages[1]


def test_real_versions_list_gives_the_newest_version(shared_data):
    assert parse_version((shared_data / "uis-api/uis_versions.json").read_bytes()) == "20260507-91260335"


def test_real_definitions_parse(shared_data):
    indicators = parse_indicator_definitions((shared_data / "uis-api/uis_definitions_indicators.json").read_bytes())
    assert any(i["indicator_id"] == "CR.1" for i in indicators)
    assert all(i["indicator_id"] and i["name"] for i in indicators)
    geo = parse_geo_unit_definitions((shared_data / "uis-api/uis_definitions_geounits.json").read_bytes())
    types = {g["geo_unit_type"] for g in geo}
    assert {"NATIONAL", "REGIONAL"} <= types
    assert {"geo_unit": "AUT", "name": "Austria", "geo_unit_type": "NATIONAL"} in geo


def _answer(*records, hints=()):
    return json.dumps({"hints": list(hints), "records": list(records)}).encode()


def _rec(value, magnitude=None, year=2020, indicator="26637", geo="CHN"):
    return {
        "indicatorId": indicator,
        "geoUnit": geo,
        "year": year,
        "value": value,
        "magnitude": magnitude,
        "qualifier": None,
    }


def test_missing_magnitudes_stay_missing_never_zero():
    answer = parse_data(_answer(_rec(None, "NA"), _rec(0, "NIL", year=2021), _rec(12.5, "SUPP", year=2022)))
    assert [r.value for r in answer.records] == [None, None, None]
    assert [r.magnitude for r in answer.records] == ["NA", "NIL", "SUPP"]


def test_string_numbers_are_accepted_and_non_numbers_rejected():
    answer = parse_data(_answer(_rec("1,234"), _rec("n/a", year=2021), _rec("NaN", year=2022)))
    assert [r.value for r in answer.records] == [1234.0]
    assert len(answer.rejected) == 2
    assert all("bad record" in r.reason for r in answer.rejected)


def test_ignored_indicator_parameter_is_detected():
    answer = parse_data(_answer(_rec(5, indicator="CR.1")))
    with pytest.raises(SourceError, match="ignored the indicator filter"):
        check_answer(answer, indicator="26637", start=None)


def test_ignored_start_parameter_is_detected():
    answer = parse_data(_answer(_rec(5, year=1990)))
    with pytest.raises(SourceError, match="ignored the start filter"):
        check_answer(answer, indicator="26637", start=2000)


def test_truncated_download_is_a_parse_error():
    whole = _answer(_rec(1), _rec(2, year=2021))
    with pytest.raises(ParseError, match="truncated"):
        parse_data(whole[: len(whole) // 2])
