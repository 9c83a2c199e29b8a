"""Files from Chinese analysts' machines: GBK / GB18030 and UTF-16 text, legacy `.xls` and `.ods`
workbooks. Each loads with its Chinese text intact, or is rejected with the reason; nothing is
ever loaded garbled, and a rejected file takes nothing already loaded with it.

Every table here is synthetic, written the way Excel and LibreOffice on Chinese Windows save them.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from ingest.sources.base import SourceContext
from ingest.sources.landing import run
from ingest.sources.landing.formats import parse_table
from ingest.sources.landing.tables import read_table

UA = "EduOpenBot/test"
UIS_HEADER = ["indicatorId", "geoUnit", "year", "value", "qualifier", "magnitude"]
UIS_ROWS: list[list[object]] = [
    UIS_HEADER,
    [26637, "CHN", 2018, 178271, "", ""],
    [26637, "KOR", 2018, 50600.5, "UIS_EST", ""],
    [26637, "AFG", 2009, 0, "", "NIL"],
]
# A World Bank bulk CSV as its Chinese-language download names countries and indicators, saved
# again by Excel on Chinese Windows (GBK, CRLF, quotes kept).
WB_CHINESE = (
    '"Data Source","世界发展指标",\r\n'
    "\r\n"
    '"Last Updated Date","2019-12-20",\r\n'
    "\r\n"
    '"Country Name","Country Code","Indicator Name","Indicator Code","2017","2018",\r\n'
    '"韩国","KOR","高等院校入学率（占总人数的百分比）","SE.TER.ENRR","90","91",\r\n'
    '"美国","USA","高等院校入学率（占总人数的百分比）","SE.TER.ENRR","80","81",\r\n'
    '"泰国","THA","高等院校入学率（占总人数的百分比）","SE.TER.ENRR","40","41",\r\n'
)
WB_INDICATOR_NAME = "高等院校入学率（占总人数的百分比）"
# An analyst's own table: Chinese headers, Chinese country names. No landing format has these
# columns, so it must be refused with its header readable in the reason.
ANALYST_TABLE = "国家,年份,人数\r\n韩国,2018,50600\r\n美国,2018,20996\r\n泰国,2018,28608\r\n"
METRIC = "来华留学生人数"
ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
OWID_CHINESE = [["Entity", "Code", "Year", METRIC], ["韩国", "KOR", 2018, 50600], ["泰国", "THA", 2018, 28608]]


def drop(landing_ctx: SourceContext, name: str, data: bytes) -> Path:
    path = landing_ctx.home.landing / name
    path.write_bytes(data)
    return path


def query(landing_ctx: SourceContext, sql: str) -> list[tuple]:
    return landing_ctx.store.con.execute(sql).fetchall()


def reason(landing_ctx: SourceContext, name: str) -> str:
    return (landing_ctx.home.landing / "rejected" / f"{name}.reason.txt").read_text(encoding="utf-8")


def as_csv(rows: list[list[object]], delimiter: str = ",") -> str:
    return "".join(delimiter.join(str(c) for c in row) + "\r\n" for row in rows)


def xls(rows: list[list[object]]) -> bytes:
    import xlwt

    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("Sheet1")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value != "":
                sheet.write(r, c, value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def ods(rows: list[list[object]]) -> bytes:
    """A minimal OpenDocument spreadsheet, as the ODF 1.2 package and table schemas define it."""

    def cell(value: object) -> str:
        if value == "":
            return "<table:table-cell/>"
        if isinstance(value, int | float):
            typed = f'office:value-type="float" office:value="{value}"'
        else:
            typed = 'office:value-type="string"'
        return f"<table:table-cell {typed}><text:p>{escape(str(value))}</text:p></table:table-cell>"

    body = "".join("<table:table-row>" + "".join(cell(v) for v in row) + "</table:table-row>" for row in rows)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="Sheet1">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{ODS_MIMETYPE}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), ODS_MIMETYPE, zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return out.getvalue()


# -- Chinese text files --------------------------------------------------------------------------


def test_gbk_world_bank_csv_with_chinese_names_loads_with_its_chinese_intact(landing_ctx):
    drop(landing_ctx, "高等教育入学率.csv", WB_CHINESE.encode("gbk"))
    summary = run(landing_ctx)
    assert summary.new_rows == 6 and summary.quarantined == 0
    assert query(landing_ctx, "select name from indicator_definition where indicator_id = 'SE.TER.ENRR'") == [
        (WB_INDICATOR_NAME,)
    ]
    assert query(landing_ctx, "select geo_unit, year, value from observation where year = 2018 order by geo_unit") == [
        ("KOR", 2018, 91.0),
        ("THA", 2018, 41.0),
        ("USA", 2018, 81.0),
    ]
    assert any("worldbank_bulk.csv read as gb18030" in note for note in summary.notes)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_owid_csv_with_a_chinese_metric_keeps_the_metric_name_in_every_encoding(landing_ctx, encoding):
    drop(landing_ctx, "owid.csv", as_csv(OWID_CHINESE).encode(encoding))
    run(landing_ctx)
    assert query(landing_ctx, "select indicator_id, geo_unit, value from observation order by geo_unit") == [
        (f"owid:{METRIC}", "KOR", 50600.0),
        (f"owid:{METRIC}", "THA", 28608.0),
    ]


def test_excel_unicode_text_utf16_tab_separated_loads(landing_ctx):
    drop(landing_ctx, "owid.txt", as_csv(OWID_CHINESE, "\t").encode("utf-16"))  # little-endian with its BOM
    summary = run(landing_ctx)
    assert summary.new_rows == 2
    assert query(landing_ctx, "select distinct indicator_id from observation") == [(f"owid:{METRIC}",)]
    assert query(landing_ctx, "select detected_format from landing_file") == [("owid.csv",)]


def test_chinese_headed_table_is_rejected_with_its_header_readable_in_the_reason(landing_ctx):
    drop(landing_ctx, "来华留学.csv", ANALYST_TABLE.encode("gbk"))
    summary = run(landing_ctx)
    assert "unrecognised format: header '国家,年份,人数'" in reason(landing_ctx, "来华留学.csv")
    assert summary.new_rows == 0 and landing_ctx.store.count("observation") == 0
    assert query(landing_ctx, "select locator from quarantine") == [("landing/来华留学.csv",)]


def test_text_that_cannot_be_decoded_for_sure_is_rejected_and_loaded_data_stays(landing_ctx):
    drop(landing_ctx, "owid.csv", as_csv(OWID_CHINESE).encode("gbk"))
    run(landing_ctx)
    big5 = "國家,年份,人數\r\n韓國,2018,50600\r\n美國,2018,20996\r\n".encode("big5")
    mixed = (
        b"Entity,Code,Year,value\r\n"
        + "韩国".encode("gbk")
        + b",KOR,2020,1\r\n"
        + "Côte d'Ivoire".encode("cp1252")
        + b",CIV,2020,2\r\n"
    )
    drop(landing_ctx, "big5.csv", big5)
    drop(landing_ctx, "mixed.csv", mixed)
    summary = run(landing_ctx)
    assert "not UTF-8 or GB18030 or Windows-1252 text that reads cleanly" in reason(landing_ctx, "big5.csv")
    assert "cannot tell which it is" in reason(landing_ctx, "mixed.csv")
    assert summary.new_rows == 0 and summary.quarantined == 2
    assert query(landing_ctx, "select file_name, status from landing_file order by file_name") == [
        ("big5.csv", "rejected"),
        ("mixed.csv", "rejected"),
        ("owid.csv", "processed"),
    ]
    assert query(landing_ctx, "select geo_unit, value from observation order by geo_unit") == [
        ("KOR", 50600.0),
        ("THA", 28608.0),
    ]


def test_windows_1252_csv_from_a_western_excel_still_loads(landing_ctx):
    rows = [["Entity", "Code", "Year", "Taux de scolarisation supérieur"], ["Côte d'Ivoire", "CIV", 2019, 9]]
    drop(landing_ctx, "owid.csv", as_csv(rows).encode("cp1252"))
    run(landing_ctx)
    assert query(landing_ctx, "select indicator_id, geo_unit from observation") == [
        ("owid:Taux de scolarisation supérieur", "CIV")
    ]


# -- legacy Excel and OpenDocument workbooks -----------------------------------------------------


@pytest.mark.parametrize(("container", "write"), [("xls", xls), ("ods", ods)])
def test_workbook_gives_the_same_rows_as_its_csv(container, write):
    from_csv = parse_table(read_table(as_csv(UIS_ROWS).encode()))
    table = read_table(write(UIS_ROWS))
    assert table.container == container
    assert parse_table(table).rows == from_csv.rows
    assert [r["value"] for r in from_csv.rows] == [178271, 50600.5, None]


@pytest.mark.parametrize(("name", "write"), [("留学生.xls", xls), ("留学生.ods", ods)])
def test_workbook_with_chinese_cells_dropped_in_landing_loads(landing_ctx, name, write):
    drop(landing_ctx, name, write(OWID_CHINESE))
    run(landing_ctx)
    container = name.rsplit(".", 1)[1]
    assert query(landing_ctx, "select detected_format from landing_file") == [(f"owid.{container}",)]
    assert query(landing_ctx, "select indicator_id, geo_unit, value from observation order by geo_unit") == [
        (f"owid:{METRIC}", "KOR", 50600.0),
        (f"owid:{METRIC}", "THA", 28608.0),
    ]


def test_damaged_xls_is_rejected_with_the_reason(landing_ctx):
    drop(landing_ctx, "broken.xls", xls(UIS_ROWS)[:600])
    run(landing_ctx)
    assert "not a readable XLS workbook" in reason(landing_ctx, "broken.xls")
    assert landing_ctx.store.count("observation") == 0


def test_chinese_headed_workbook_is_rejected_with_the_header_readable(landing_ctx):
    rows = [line.split(",") for line in ANALYST_TABLE.splitlines()]
    drop(landing_ctx, "来华留学.ods", ods(rows))
    run(landing_ctx)
    text = reason(landing_ctx, "来华留学.ods")
    assert "unrecognised format: header '国家,年份,人数'" in text and "detected_format: -" in text
