"""The landing folder: formats recognised from content, bad files set aside with a reason, and
nothing outside the folder ever read."""

from __future__ import annotations

import csv
import io
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from demo.run import DEMO_LANDING_DIR
from eduopen.core.errors import ParseError
from ingest.sources.base import IngestSummary, SourceContext
from ingest.sources.landing import candidates, is_safe_name, run
from ingest.sources.landing.formats import FormatRejected, parse_table
from ingest.sources.landing.tables import XlsxLimits, check_zip_bomb, read_table

UA = "EduOpenBot/test"
UIS_HEADER = "indicatorId,geoUnit,year,value,qualifier,magnitude"
ECE = "ECE: Eastern Europe, Caucasus and Central Asia (CIS) (UNSDCode:98202)"


def _drop(landing_ctx: SourceContext, name: str, data: bytes | str) -> Path:
    path = landing_ctx.home.landing / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _query(landing_ctx: SourceContext, sql: str, params: list | None = None) -> list[tuple]:
    return landing_ctx.store.con.execute(sql, params or []).fetchall()


def _uis_rows(n: int, *, start: int = 1990, geo: str = "CHN") -> list[str]:
    return [f"26637,{geo},{start + i},{1000 + i},," for i in range(n)]


def _parse(data: bytes | str):
    return parse_table(read_table(data.encode() if isinstance(data, str) else data))


def _xlsx(rows: list[list[object]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# -- the real UIS files ---------------------------------------------------------------------


@pytest.fixture
def real_export(shared_data: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "inbound_intl.csv"
    shutil.copyfile(shared_data / "uis-export" / "inbound_intl.csv", copy)
    return copy


def test_real_uis_export_loads_china_inbound_by_year(landing_ctx, real_export):
    shutil.copyfile(real_export, landing_ctx.home.landing / real_export.name)
    summary = run(landing_ctx)
    chn = dict(
        _query(
            landing_ctx,
            "select year, value from observation where source = 'uis_export' "
            "and indicator_id = '26637' and geo_unit = 'CHN'",
        )
    )
    assert chn[2018] == 178271
    assert chn[2023] == 200892
    data_rows = sum(1 for line in real_export.read_text(encoding="utf-8").splitlines()[1:] if line.strip())
    assert summary.new_rows == data_rows
    assert (landing_ctx.home.landing / "processed" / real_export.name).exists()
    assert _query(landing_ctx, "select status, detected_format, rows_loaded from landing_file") == [
        ("processed", "uis_export.csv", data_rows)
    ]


def test_real_uis_export_keeps_regional_rows_with_their_comma_names(landing_ctx, real_export):
    shutil.copyfile(real_export, landing_ctx.home.landing / real_export.name)
    run(landing_ctx)
    region = _query(landing_ctx, "select value from observation where geo_unit = ? and year = 2000", [ECE])
    assert region == [(88788.0,)]


def test_real_uis_export_missing_flags_load_as_null_never_zero(landing_ctx, real_export):
    with open(real_export, encoding="utf-8", newline="") as handle:
        flagged = sum(1 for row in csv.DictReader(handle) if row["magnitude"] in ("NA", "NIL"))
    assert flagged > 0
    shutil.copyfile(real_export, landing_ctx.home.landing / real_export.name)
    run(landing_ctx)
    ((nulls, non_null),) = _query(
        landing_ctx,
        "select count(*) filter (where value is null), "
        "count(*) filter (where value is not null) "
        "from observation where magnitude in ('NA', 'NIL')",
    )
    assert (nulls, non_null) == (flagged, 0)
    assert _query(landing_ctx, "select value, value_raw from observation where geo_unit = 'AFG' and year = 2009") == [
        (None, "0")
    ]


def test_real_opri_labels_load_as_indicator_definitions(landing_ctx, shared_data, tmp_path):
    copy = tmp_path / "OPRI_LABEL.csv"
    shutil.copyfile(shared_data / "uis-export" / "OPRI_LABEL.csv", copy)
    shutil.copyfile(copy, landing_ctx.home.landing / copy.name)
    run(landing_ctx)
    assert _query(landing_ctx, "select count(*) from indicator_definition where source = 'uis_bulk'") == [(1105,)]
    assert _query(landing_ctx, "select name from indicator_definition where indicator_id = '10'") == [
        ("Official entrance age to early childhood educational development (years)",)
    ]


# -- formats, from content ------------------------------------------------------------------


def test_format_is_recognised_from_content_not_from_the_name(landing_ctx):
    _drop(landing_ctx, "world_bank_download.xlsx", "\n".join([UIS_HEADER, *_uis_rows(3)]) + "\n")
    run(landing_ctx)
    recorded = _query(landing_ctx, "select detected_format, status from landing_file")
    assert recorded == [("uis_export.csv", "processed")]
    assert _query(landing_ctx, "select distinct source from observation") == [("uis_export",)]


def test_uis_bulk_national_data_nil_is_null_and_qualifier_kept():
    parsed = _parse(
        "INDICATOR_ID,COUNTRY_ID,YEAR,VALUE,MAGNITUDE,QUALIFIER\n"
        "26637,CHN,2019,201177,,\n26637,AFG,2020,0,NIL,\n26637,THA,2016,31571,,UIS_EST\n"
    )
    assert (parsed.family, parsed.source, parsed.table) == ("uis_bulk", "uis_bulk", "observation")
    values = {r["geo_unit"]: (r["value"], r["magnitude"], r["qualifier"]) for r in parsed.rows}
    assert values == {"CHN": (201177.0, None, None), "AFG": (None, "NIL", None), "THA": (31571.0, None, "UIS_EST")}


def test_supp_magnitude_means_missing_whatever_the_value():
    parsed = _parse(f"{UIS_HEADER}\n26637,CHN,2020,12,,SUPP\n")
    assert parsed.rows[0]["value"] is None and parsed.rows[0]["value_raw"] == "12"


WB_BULK = (
    '\ufeff"Data Source","World Development Indicators",\n'
    "\n"
    '"Last Updated Date","2025-07-01",\n'
    "\n"
    '"Country Name","Country Code","Indicator Name","Indicator Code","2021","2022","2023",\n'
    '"China","CHN","School enrollment, tertiary (% gross)","SE.TER.ENRR","63.6","68.1","",\n'
    '"World","WLD","School enrollment, tertiary (% gross)","SE.TER.ENRR","42","42.7","",\n'
)


def test_worldbank_bulk_csv_wide_years_become_long_rows():
    parsed = _parse(WB_BULK)
    assert (parsed.family, parsed.source) == ("worldbank_bulk", "worldbank_bulk")
    assert parsed.data_version == "2025-07-01"
    rows = {(r["geo_unit"], r["year"]): r["value"] for r in parsed.rows}
    # Empty cells are no observation at all, not zeros.
    assert rows == {("CHN", 2021): 63.6, ("CHN", 2022): 68.1, ("WLD", 2021): 42.0, ("WLD", 2022): 42.7}
    assert {r["indicator_id"] for r in parsed.rows} == {"SE.TER.ENRR"}
    (definition,) = parsed.definitions
    assert definition["indicator_id"] == "SE.TER.ENRR"
    assert definition["name"] == "School enrollment, tertiary (% gross)"


def test_worldbank_bulk_without_its_header_row_is_a_changed_header():
    with pytest.raises(FormatRejected, match="worldbank_bulk: header changed"):
        _parse(WB_BULK.replace('"Country Name"', '"Economy"'))


def test_owid_grapher_csv_metric_becomes_an_owid_indicator():
    parsed = _parse(
        "Entity,Code,Year,Share of the population with tertiary education\n"
        "China,CHN,2020,9.7\nAfrica,,2020,3.1\nJapan,JPN,2020,\n"
    )
    assert (parsed.family, parsed.source) == ("owid", "owid")
    assert {(r["indicator_id"], r["geo_unit"], r["value"]) for r in parsed.rows} == {
        ("owid:Share of the population with tertiary education", "CHN", 9.7),
        ("owid:Share of the population with tertiary education", "Africa", 3.1),
    }


def test_oecd_sdmx_csv_dropped_lands_as_flows(landing_ctx):
    _drop(
        landing_ctx,
        "export.csv",
        "STRUCTURE,STRUCTURE_ID,STRUCTURE_NAME,ACTION,REF_AREA,Reference area,ORIGIN,Country of origin,"
        "TIME_PERIOD,Time period,OBS_VALUE,Observation value,OBS_STATUS,Observation status\n"
        "DATAFLOW,OECD.EDU.IMEP:DSD_X@DF_MOB(1.0),Mobility,I,GBR,United Kingdom,CHN,China,2021,,"
        "151690,,A,\n",
    )
    run(landing_ctx)
    flows = _query(landing_ctx, "select source, indicator_id, origin, destination, year, value from flow_observation")
    assert flows == [("oecd", "DSD_X@DF_MOB", "CHN", "GBR", 2021, 151690.0)]


TOP_HEADER = "year,origin_country_name,dest_country_lumped,value_lumped,cond_all"
DEMO_FLOWS = DEMO_LANDING_DIR / "uis-popular-destinations-china-asean.csv"


def _top(*rows: str) -> str:
    # synthetic rows in the real file's layout (values made up)
    return "\n".join([TOP_HEADER, *rows]) + "\n"


def test_top_destinations_names_map_to_iso3_and_cond_all_to_flags():
    parsed = _parse(
        _top(
            "2019,China,Hong Kong,100,- - - -",
            "2019,China,Macao,20,- - c -",
            "2019,Laos,Viet Nam,30,a - - d",
            "2019,China,Republic of Korea,40,- - c d",
        )
    )
    assert parsed.family == "uis_top_destinations" and parsed.source == "uis_top_destinations"
    assert [(r["origin"], r["destination"], r["value"], r["magnitude"], r["qualifier"]) for r in parsed.rows] == [
        ("CHN", "HKG", 100, None, None),
        ("CHN", "MAC", 20, None, "NAT_EST"),
        ("LAO", "VNM", 30, "INCLUDES", "UIS_EST"),
        ("CHN", "KOR", 40, None, "NAT_EST|UIS_EST"),
    ]
    assert not parsed.rejected


def test_top_destinations_other_countries_is_skipped_and_counted_not_loaded():
    parsed = _parse(_top("2019,China,Japan,100,- - - -", "2019,China,Other countries,999,- - - -"))
    assert [r["destination"] for r in parsed.rows] == ["JPN"]
    assert parsed.skipped == {"aggregate (e.g. 'Other countries'), not a country": 1}
    assert not parsed.rejected and parsed.units == 1


def test_top_destinations_unknown_name_is_quarantined_with_the_name():
    parsed = _parse(
        _top(
            "2019,China,Japan,100,- - - -", "1998,Sudan (pre-secession),Canada,15,- - - -", "2019,China,Japan,5,x - - -"
        )
    )
    reasons = [r.reason for r in parsed.rejected]
    assert reasons[0] == "unknown origin country name 'Sudan (pre-secession)' (not in country_names.csv)"
    assert "cond_all 'x - - -'" in reasons[1]


def test_demo_flows_file_loads_every_country_row_and_skips_only_the_lumped_rows(landing_ctx):
    shutil.copyfile(DEMO_FLOWS, landing_ctx.home.landing / DEMO_FLOWS.name)
    summary = run(landing_ctx)
    with DEMO_FLOWS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    lumped = sum(r["dest_country_lumped"] == "Other countries" for r in rows)
    assert summary.new_rows == len(rows) - lumped and summary.quarantined == 0
    assert any(f"{lumped} rows skipped" in note for note in summary.notes)
    assert _query(
        landing_ctx,
        "select value from flow_observation where source = 'uis_top_destinations' "
        "and origin = 'CHN' and destination = 'HKG' and year = 2019",
    ) == [(35622.998999999996,)]


def test_semicolon_csv_from_a_european_excel_is_read():
    parsed = _parse("indicatorId;geoUnit;year;value;qualifier;magnitude\n26637;CHN;2020;225100;;\n")
    assert parsed.rows[0]["value"] == 225100


# -- rejection -------------------------------------------------------------------------------


def test_changed_header_is_rejected_with_a_reason_file_naming_the_column(landing_ctx):
    _drop(landing_ctx, "inbound.csv", "indicatorId,geoUnit,yr,value,qualifier,magnitude\n26637,CHN,2020,225100,,\n")
    summary = run(landing_ctx)
    reason = (landing_ctx.home.landing / "rejected" / "inbound.csv.reason.txt").read_text(encoding="utf-8")
    assert "header changed, missing column(s) year" in reason
    assert (landing_ctx.home.landing / "rejected" / "inbound.csv").exists()
    assert not (landing_ctx.home.landing / "inbound.csv").exists()
    assert summary.new_rows == 0 and landing_ctx.store.count("observation") == 0
    assert _query(landing_ctx, "select status, detected_format from landing_file") == [("rejected", "uis_export.csv")]


def test_mostly_non_numeric_values_reject_the_whole_file(landing_ctx):
    rows = _uis_rows(10) + ["26637,CHN,2001,n/a,,", "26637,CHN,2002,twelve,,"]
    _drop(landing_ctx, "bad.csv", "\n".join([UIS_HEADER, *rows]) + "\n")
    run(landing_ctx)
    reason = (landing_ctx.home.landing / "rejected" / "bad.csv.reason.txt").read_text(encoding="utf-8")
    assert "2 of 12 values bad" in reason and "non-numeric value 'n/a'" in reason
    assert landing_ctx.store.count("observation") == 0


def test_a_few_bad_rows_are_quarantined_and_the_rest_loaded(landing_ctx):
    rows = _uis_rows(40) + ["26637,CHN,2040,abc,,"]
    _drop(landing_ctx, "mostly_fine.csv", "\n".join([UIS_HEADER, *rows]) + "\n")
    summary = run(landing_ctx)
    assert summary.new_rows == 40 and summary.quarantined == 1
    assert _query(landing_ctx, "select locator, reason from quarantine") == [
        ("landing/mostly_fine.csv:line 42", "non-numeric value 'abc' in column value")
    ]
    assert (landing_ctx.home.landing / "processed" / "mostly_fine.csv").exists()


def test_unrecognised_file_is_rejected(landing_ctx):
    _drop(landing_ctx, "notes.csv", "name,comment\nAlice,hello\n")
    run(landing_ctx)
    assert "unrecognised format" in (landing_ctx.home.landing / "rejected" / "notes.csv.reason.txt").read_text()


def test_header_only_file_is_rejected_not_loaded_as_no_data(landing_ctx):
    _drop(landing_ctx, "empty.csv", UIS_HEADER + "\n")
    run(landing_ctx)
    assert "no loadable rows" in (landing_ctx.home.landing / "rejected" / "empty.csv.reason.txt").read_text()


def test_binary_file_is_rejected():
    with pytest.raises(ParseError, match="binary"):
        read_table(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


# -- XLSX ------------------------------------------------------------------------------------


def test_xlsx_version_of_a_csv_gives_the_same_rows():
    rows = [
        UIS_HEADER.split(","),
        [26637, "CHN", 2018, 178271, None, None],
        [26637, ECE, 2000, 88788.5, "UIS_EST", None],
        [26637, "AFG", 2009, 0, None, "NIL"],
    ]
    as_csv = io.StringIO()
    csv.writer(as_csv).writerows([["" if c is None else c for c in r] for r in rows])
    from_csv = _parse(as_csv.getvalue())
    from_xlsx = parse_table(read_table(_xlsx(rows)))
    assert from_xlsx.rows == from_csv.rows
    assert [r["value"] for r in from_xlsx.rows] == [178271, 88788.5, None]


def test_xlsx_dropped_in_landing_is_loaded_and_recorded_as_xlsx(landing_ctx):
    _drop(landing_ctx, "export.xlsx", _xlsx([UIS_HEADER.split(","), [26637, "CHN", 2023, 200892, None, None]]))
    run(landing_ctx)
    assert _query(landing_ctx, "select detected_format from landing_file") == [("uis_export.xlsx",)]
    assert _query(landing_ctx, "select value from observation where geo_unit = 'CHN'") == [(200892.0,)]


def _with_member(workbook: bytes, name: str, data: bytes) -> bytes:
    out = io.BytesIO(workbook)
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


def test_decompression_bomb_like_xlsx_is_rejected_before_inflating(landing_ctx):
    bomb = _with_member(_xlsx([UIS_HEADER.split(",")]), "xl/media/padding.bin", b"\0" * (32 * 1024 * 1024))
    assert len(bomb) < 200_000
    _drop(landing_ctx, "looks_small.xlsx", bomb)
    run(landing_ctx)
    reason = (landing_ctx.home.landing / "rejected" / "looks_small.xlsx.reason.txt").read_text()
    assert "compression ratio" in reason and "decompression bomb" in reason


def test_xlsx_larger_than_the_cap_when_unpacked_is_refused():
    with pytest.raises(ParseError, match="would unpack to"):
        check_zip_bomb(_xlsx([["a"]]), XlsxLimits(max_uncompressed_bytes=1000))


def test_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("API_SP.POP.TOTL.csv", WB_BULK)
    with pytest.raises(ParseError, match="not an XLSX or ODS workbook: unzip it"):
        read_table(out.getvalue())


# -- the folder ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../evil.csv", "..", "/etc/passwd", "a/b.csv", "..\\evil.csv", ".hidden.csv"])
def test_names_with_path_components_or_dots_are_never_followed(name):
    assert not is_safe_name(name)


def test_plain_names_are_accepted():
    assert is_safe_name("inbound_intl.csv") and is_safe_name("学生.xlsx")


def test_symlinks_and_subfolders_are_not_read(landing_ctx, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("\n".join([UIS_HEADER, *_uis_rows(2)]) + "\n")
    (landing_ctx.home.landing / "link.csv").symlink_to(outside)
    (landing_ctx.home.landing / "sub").mkdir()
    (landing_ctx.home.landing / "sub" / "nested.csv").write_text(outside.read_text())
    summary = run(landing_ctx)
    assert summary.new_rows == 0 and landing_ctx.store.count("landing_file") == 0
    assert outside.exists() and (landing_ctx.home.landing / "link.csv").is_symlink()
    assert (landing_ctx.home.landing / "sub" / "nested.csv").exists()


def test_dotfiles_and_files_still_being_written_are_left_alone(tmp_path):
    (tmp_path / ".upload.csv.part").write_text("x")
    fresh = tmp_path / "fresh.csv"
    fresh.write_text("x")
    settled = tmp_path / "settled.csv"
    settled.write_text("x")
    old = time.time() - 60
    os.utime(settled, (old, old))
    ready, waiting = candidates(tmp_path, settle_s=2)
    assert ready == [settled]
    assert waiting == ["fresh.csv: still being written, left for the next run"]


def test_same_bytes_dropped_again_load_nothing_new_and_keep_both_copies(landing_ctx):
    content = "\n".join([UIS_HEADER, *_uis_rows(3)]) + "\n"
    _drop(landing_ctx, "inbound.csv", content)
    assert run(landing_ctx).new_rows == 3
    _drop(landing_ctx, "inbound.csv", content)
    second: IngestSummary = run(landing_ctx)
    assert second.new_rows == 0 and "identical to inbound.csv" in second.notes[0]
    processed = sorted(p.name for p in (landing_ctx.home.landing / "processed").iterdir())
    assert processed == ["inbound-1.csv", "inbound.csv"]
    assert landing_ctx.store.count("observation") == 3


def test_a_rejected_file_fixed_and_dropped_again_is_loaded(landing_ctx):
    _drop(landing_ctx, "inbound.csv", "indicatorId,geoUnit,yr,value,qualifier,magnitude\n26637,CHN,2020,1,,\n")
    run(landing_ctx)
    _drop(landing_ctx, "inbound.csv", "\n".join([UIS_HEADER, *_uis_rows(2)]) + "\n")
    assert run(landing_ctx).new_rows == 2
    statuses = _query(landing_ctx, "select status from landing_file order by processed_at")
    assert statuses == [("rejected",), ("processed",)]
