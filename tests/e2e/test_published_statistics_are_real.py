"""The demo's published statistics are what the sources published, each traced to its source row.

The whole pipeline runs on the replay (with the demo's landing file dropped as `make demo` drops
it); the published warehouse is then compared with the real files the replay was built from
(demo/replay/originals, demo/replay/landing): every published or estimated value equals the
file's, every derived value is recomputed from its inputs, and no value exists without a source
row. `differences()` does the comparison; the last test proves it notices a changed value.
The Ministry's own numbers are held to the text of the releases they cite: every statistic and
figure sits in a sentence of its release, written there as published (`release_differences()`).
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from demo.replay.server import BUNDLE_DIR
from demo.run import DEMO_LANDING_DIR, DEMO_LANDING_FILES, drop_demo_landing_files
from eduopen import pipeline
from ingest.sources.landing.formats import COUNTRY_NAMES_FILE

pytestmark = pytest.mark.e2e

EXPORT = BUNDLE_DIR.parent / "originals" / "uis-export" / "data.csv"
FLOWS = DEMO_LANDING_DIR / DEMO_LANDING_FILES[0]
UIS_VERSION = "20250225-2ae60fad"
ESTIMATE_FLAGS = {"UIS_EST", "NAT_EST"}
MISSING_MAGNITUDES = {"NIL", "NA", "SUPP"}
MEASURES = {"inbound": "26637", "net_flow": "MENF.5T8"}


def _export_rows() -> dict[tuple[str, str, int], dict[str, str]]:
    """(indicator, ISO3, year) -> the export row, national units only (an ISO3 id, no ':')."""
    with EXPORT.open(encoding="utf-8", newline="") as handle:
        return {
            (r["indicatorId"], r["geoUnit"], int(r["year"])): r
            for r in csv.DictReader(handle)
            if len(r["geoUnit"]) == 3 and r["geoUnit"].isupper()
        }


def _flow_rows() -> dict[tuple[str, str, int], dict[str, str]]:
    """(origin ISO3, destination ISO3, year) -> the landing file's row, the lumped rows left out."""
    with COUNTRY_NAMES_FILE.open(encoding="utf-8", newline="") as handle:
        iso3 = {r["name"]: r["country_iso3"] for r in csv.DictReader(handle) if r["kind"] == "country"}
    with FLOWS.open(encoding="utf-8", newline="") as handle:
        return {
            (iso3[r["origin_country_name"]], iso3[r["dest_country_lumped"]], int(r["year"])): r
            for r in csv.DictReader(handle)
            if r["dest_country_lumped"] != "Other countries"
        }


def _expected_status(qualifier: str) -> str:
    return "estimate" if set(qualifier.split("|")) & ESTIMATE_FLAGS else "published"


def _published_value(row: dict[str, str] | None) -> float | None:
    if row is None or row["magnitude"] in MISSING_MAGNITUDES:
        return None
    return float(row["value"])


def differences(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every way the published statistics differ from the real files (empty when they agree)."""
    return _mobility_differences(con) + _flow_differences(con)


def _mobility_differences(con: duckdb.DuckDBPyConnection) -> list[str]:
    export = _export_rows()
    found: list[str] = []
    mobility = con.execute("""
        select country_iso3, year, inbound_students, inbound_status, inbound_source,
               outbound_students, outbound_status, outbound_source,
               net_flow, net_flow_status, net_flow_source, data_version
        from marts.fct_student_mobility""").fetchall()
    seen: set[tuple[str, int]] = set()
    for (
        iso3,
        year,
        inbound,
        inbound_status,
        inbound_source,
        outbound,
        outbound_status,
        outbound_source,
        net_flow,
        net_flow_status,
        net_flow_source,
        data_version,
    ) in mobility:
        seen.add((iso3, year))
        where = f"{iso3} {year}"
        if data_version != UIS_VERSION:
            found.append(f"{where}: data_version {data_version!r}")
        for measure, value, status, source in (
            ("inbound", inbound, inbound_status, inbound_source),
            ("net_flow", net_flow, net_flow_status, net_flow_source),
        ):
            row = export.get((MEASURES[measure], iso3, year))
            expected = _published_value(row)
            if value != expected:
                found.append(f"{where}: {measure} {value} published, the export has {expected}")
            if value is not None and status != _expected_status(row["qualifier"]):
                found.append(f"{where}: {measure}_status {status!r} for qualifier {row['qualifier']!r}")
            if value is None and status is not None:
                found.append(f"{where}: {measure}_status {status!r} without a value")
            if value is not None and source != "uis":
                found.append(f"{where}: {measure}_source {source!r}")
        # No source publishes outbound in the demo: each value must be inbound - net flow.
        derivable = inbound is not None and net_flow is not None and inbound - net_flow >= 0
        if derivable and (outbound != inbound - net_flow or outbound_status != "derived" or outbound_source != "uis"):
            found.append(
                f"{where}: outbound {outbound} ({outbound_status}, {outbound_source}), "
                f"inbound - net flow is {inbound - net_flow}"
            )
        if not derivable and (outbound is not None or outbound_status is not None):
            found.append(f"{where}: outbound {outbound} ({outbound_status}) with nothing to derive it from")
    for indicator, iso3, year in export:
        if (iso3, year) not in seen and indicator in MEASURES.values():
            found.append(f"{iso3} {year}: the export's {indicator} row was not published")
    return found


def _flow_differences(con: duckdb.DuckDBPyConnection) -> list[str]:
    found: list[str] = []
    flows = _flow_rows()
    published_flows = con.execute("""
        select origin_iso3, destination_iso3, year, students, students_status, source, data_version
        from marts.fct_mobility_flow""").fetchall()
    for origin, destination, year, students, status, source, data_version in published_flows:
        where = f"{origin}->{destination} {year}"
        row = flows.get((origin, destination, year))
        if row is None or source != "uis_top_destinations":
            found.append(f"{where}: {students} from {source}, no row in {FLOWS.name}")
            continue
        if students != float(row["value_lumped"]):
            found.append(f"{where}: {students} published, the file has {row['value_lumped']}")
        flags = row["cond_all"].split()
        expected = "estimate" if "c" in flags or "d" in flags else "published"
        if status != expected:
            found.append(f"{where}: students_status {status!r} for cond_all {row['cond_all']!r}")
        if not (data_version or "").startswith("sha256:"):
            found.append(f"{where}: data_version {data_version!r} names no file")
    missing = set(flows) - {(o, d, y) for o, d, y, *_ in published_flows}
    found += [f"{o}->{d} {y}: in {FLOWS.name}, not published" for o, d, y in sorted(missing)]
    return found


@pytest.fixture(scope="module")
def published_home(tmp_path_factory) -> Iterator[Path]:
    """The demo's pipeline run (without Airflow) on the replay; yields the home."""
    from demo.replay.server import ReplayServer
    from eduopen.core.config import Settings
    from eduopen.core.paths import Home

    mp = pytest.MonkeyPatch()
    home = Home(tmp_path_factory.mktemp("statistics") / "home").ensure()
    mp.setenv("EDUOPEN_HOME", str(home.root))
    mp.setenv("EDUOPEN_MIN_DELAY_S", "0")
    drop_demo_landing_files(home)
    with ReplayServer() as replay:
        assert not replay.unreplayed(Settings.load().network_source_names())
        for key, value in replay.env().items():
            mp.setenv(key, value)
        pipeline.run_pipeline(["all"], home)
    yield home
    mp.undo()


@pytest.fixture(scope="module")
def warehouse(published_home) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(published_home.warehouse), read_only=True)
    yield con
    con.close()


def test_every_published_statistic_is_the_source_files_value_or_derived_from_them(warehouse):
    found = differences(warehouse)
    assert not found, f"{len(found)} differences, e.g.:\n" + "\n".join(found[:20])


def test_chinas_series_and_flows_are_published_with_their_status(warehouse):
    china = {
        year: row
        for year, *row in warehouse.execute("""
        select year, inbound_students, inbound_status, outbound_students, outbound_status, net_flow, net_flow_status
        from marts.fct_student_mobility where country_iso3 = 'CHN'""").fetchall()
    }
    # UIS, February 2025 release: inbound 201,177 and net flow -858,847 in 2019
    assert china[2019] == [201177, "published", 1060024, "derived", -858847, "published"]
    to_hong_kong = warehouse.execute("""
        select students, students_status from marts.fct_mobility_flow
        where origin_iso3 = 'CHN' and destination_iso3 = 'HKG' and year = 2019""").fetchall()
    assert to_hong_kong == [(35622.998999999996, "published")]
    assert {
        r
        for (r,) in warehouse.execute(
            "select country_iso3 from marts.dim_country where country_iso3 in ('HKG', 'MAC')"
        ).fetchall()
    } == {"HKG", "MAC"}


def _found_in_changed_copy(home: Path, tmp_path: Path, compare, *changes: str) -> list[str]:
    """What `compare` finds in a copy of the published warehouse after `changes`."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(home.warehouse, copy)
    con = duckdb.connect(str(copy))
    try:
        for change in changes:
            con.execute(change)
        return compare(con)
    finally:
        con.close()


def test_a_changed_value_is_noticed(published_home, tmp_path):
    found = _found_in_changed_copy(
        published_home,
        tmp_path,
        differences,
        "update marts.fct_student_mobility set inbound_students = inbound_students + 1 "
        "where country_iso3 = 'USA' and year = 2021",
        "update marts.fct_mobility_flow set students = students * 1.05 "
        "where origin_iso3 = 'CHN' and destination_iso3 = 'AUS' and year = 2019",
    )
    assert any(d.startswith("USA 2021: inbound") for d in found)
    assert any(d.startswith("CHN->AUS 2019:") for d in found)


def _written_forms(value: float, unit: str) -> set[str]:
    """The ways a release writes `value`: 492185, 492,185, 49.22万, 52.44%, 3.02万 …"""
    if unit == "percent":
        return {f"{value:g}%", f"{value:.2f}%"}
    forms = {f"{value:.0f}", f"{value:,.0f}"}
    for digits in range(5):
        written = f"{value / 10_000:.{digits}f}"
        forms |= {written + "万", written.rstrip("0").rstrip(".") + "万"}  # 1.60万 and 1.6万
    return forms


def release_differences(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every MOE figure or statistic not found, as published, in the text of the release it cites."""
    found: list[str] = []
    bodies = {
        rid: (title or "") + "\n" + (body or "")
        for rid, title, body in con.execute(
            "select release_id, title, body_text from marts.fct_policy_release"
        ).fetchall()
    }
    compact = {rid: text.replace(" ", "") for rid, text in bodies.items()}
    statistics = con.execute("""
        select release_id, period_year, breakdown, member, value, unit, sentence
        from marts.fct_moe_student_statistic""").fetchall()
    for release_id, year, breakdown, member, value, unit, sentence in statistics:
        where = f"{year} {breakdown} {member}"
        if release_id not in bodies:
            found.append(f"{where}: release {release_id} is not published")
            continue
        if sentence.replace(" ", "") not in compact[release_id]:
            found.append(f"{where}: sentence not in the release text: {sentence[:60]}")
        if not any(form in sentence.replace(" ", "") for form in _written_forms(value, unit)):
            found.append(f"{where}: {value} {unit} is not written in its sentence: {sentence[:60]}")
    figures = con.execute("select figure_id, release_id, metric, sentence from marts.fct_release_figure").fetchall()
    for figure_id, release_id, metric, sentence in figures:
        if sentence.replace(" ", "") not in compact.get(release_id, ""):
            found.append(f"figure {figure_id} ({metric}): sentence not in its release: {sentence[:60]}")
    # students coming to China, per country, are MOE's own by-country numbers and nothing else
    unsourced = con.execute("""
        select e.country_iso3, e.year, e.students_to_china from marts.mart_country_exchange e
        where e.students_to_china is not null and not exists (
            select 1 from marts.fct_moe_student_statistic s
            where s.breakdown = 'country' and s.country_iso3 = e.country_iso3 and s.period_year = e.year
              and s.value = e.students_to_china and s.url = e.students_to_china_url)""").fetchall()
    found += [f"{iso3} {year}: students_to_china {value} has no MOE statistic" for iso3, year, value in unsourced]
    return found


def test_moe_numbers_are_written_in_the_releases_they_cite(warehouse):
    found = release_differences(warehouse)
    assert not found, f"{len(found)} differences, e.g.:\n" + "\n".join(found[:20])


def test_students_coming_to_china_are_moes_2018_statistics(warehouse):
    # MOE, 2018年来华留学统计 (2019-04-12): the top 15 countries of origin
    to_china = dict(
        warehouse.execute("""
        select country_iso3, students_to_china from marts.mart_country_exchange
        where year = 2018 and students_to_china is not null""").fetchall()
    )
    assert len(to_china) == 15
    assert (to_china["KOR"], to_china["THA"], to_china["PAK"], to_china["MYS"]) == (50600, 28608, 28023, 9479)
    scorecard = warehouse.execute("""
        select moe_reported_inbound, moe_reported_inbound_all_types, moe_reported_outbound, moe_reported_returnees
        from marts.mart_opening_up_scorecard where year = 2018""").fetchone()
    # degree-seeking 258,122 beside UIS inbound; all types 492,185; 66.21万 went abroad, 51.94万 returned
    assert scorecard == (258122, 492185, 662100, 519400)


def test_a_number_missing_from_its_release_is_noticed(published_home, tmp_path):
    found = _found_in_changed_copy(
        published_home,
        tmp_path,
        release_differences,
        "update marts.fct_moe_student_statistic set value = value + 1 "
        "where country_iso3 = 'KOR' and period_year = 2018 and breakdown = 'country'",
        "update marts.mart_country_exchange set students_to_china = 30000 where country_iso3 = 'THA' and year = 2018",
    )
    assert any(d.startswith("2018 country 韩国: 50601.0 persons is not written") for d in found)
    assert any(d.startswith("THA 2018: students_to_china 30000") for d in found)
