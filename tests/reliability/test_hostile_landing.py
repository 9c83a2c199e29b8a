"""Hostile files in the landing folder, through `pipeline.ingest(["landing"])`: names that climb out
of the folder or link outside it, decompression bombs (honest and lying about their size), files too
big to read, and spreadsheet formulas in cells. One good file is always dropped beside them: it must
load whole, whatever its neighbours are, and the run must not fail because of them.
"""

from __future__ import annotations

import io
import json
import os
import struct
import time
import zipfile
from pathlib import Path

import pytest

from eduopen import pipeline
from eduopen.core.paths import Home
from tests.reliability.conftest import use_env
from tests.reliability.support import query, run_env, sha256_file, write_sources_file

pytestmark = pytest.mark.timeout(120)

UIS_HEADER = "indicatorId,geoUnit,year,value,qualifier,magnitude"
GOOD_ROWS = [f"26637,THA,{2000 + i},{1000 + i},," for i in range(40)]
LIMITS = {"max_file_bytes": 300_000, "xlsx_max_uncompressed_bytes": 5_000_000, "xlsx_max_compression_ratio": 100}


@pytest.fixture
def landing_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    home = Home(tmp_path / "home").ensure()
    sources = write_sources_file(tmp_path / "sources.yml", sources=["landing"], overrides={"landing": LIMITS})
    use_env(monkeypatch, run_env(home, sources, {}))
    monkeypatch.setenv("EDUOPEN_LANDING_SETTLE_S", "0")
    (home.landing / "good.csv").write_text("\n".join([UIS_HEADER, *GOOD_ROWS]) + "\n", encoding="utf-8")
    return home


def loaded_batches(home: Home) -> dict[str, int]:
    return dict(query(home.catalog, "select batch_sha256, count(*) from observation group by 1"))


def assert_good_file_loaded_whole(home: Home, good_sha: str) -> None:
    assert loaded_batches(home) == {good_sha: len(GOOD_ROWS)}
    assert (home.landing / "processed" / "good.csv").exists()


def reason_for(home: Home, name: str) -> str:
    return (home.landing / "rejected" / f"{name}.reason.txt").read_text(encoding="utf-8")


def workbook(rows: list[list[object]], *, sheet_padding: int = 0) -> bytes:
    """A real XLSX; `sheet_padding` spaces inside the sheet XML make it inflate that much bigger."""
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    if not sheet_padding:
        return out.getvalue()
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    padded = io.BytesIO()
    with zipfile.ZipFile(padded, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", b" " * sheet_padding + b"</sheetData>")
            target.writestr(info.filename, data)
    return padded.getvalue()


def understate_size(archive: bytes, member: str, declared: int) -> bytes:
    """Rewrite the zip headers so `member` claims to unpack to `declared` bytes (a lying bomb)."""
    data = bytearray(archive)
    offset = data.rfind(b"PK\x05\x06")
    entries, directory = struct.unpack_from("<H", data, offset + 10)[0], struct.unpack_from("<I", data, offset + 16)[0]
    position = directory
    for _ in range(entries):
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, position + 28)
        name = bytes(data[position + 46 : position + 46 + name_len]).decode()
        if name == member:
            struct.pack_into("<I", data, position + 24, declared)  # central directory: uncompressed size
            local = struct.unpack_from("<I", data, position + 42)[0]
            struct.pack_into("<I", data, local + 22, declared)  # local header: uncompressed size
        position += 46 + name_len + extra_len + comment_len
    return bytes(data)


def test_names_that_climb_out_or_link_outside_are_never_read_or_moved(landing_home: Home, tmp_path: Path):
    home = landing_home
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.csv"
    secret.write_text("\n".join([UIS_HEADER, "26637,CHN,2020,1,,"]) + "\n", encoding="utf-8")
    before = sha256_file(secret)
    (home.landing / "link.csv").symlink_to(secret)
    (home.landing / "..\\..\\outside\\secret.csv").write_text(secret.read_text(encoding="utf-8"), encoding="utf-8")
    (home.landing / ".in-progress.csv").write_text(secret.read_text(encoding="utf-8"), encoding="utf-8")
    (home.landing / "nested").mkdir()
    (home.landing / "nested" / "deeper.csv").write_text(secret.read_text(encoding="utf-8"), encoding="utf-8")
    outside_listing = sorted(p.name for p in tmp_path.iterdir())

    pipeline.ingest(["landing"], home)

    assert_good_file_loaded_whole(home, sha256_file(home.landing / "processed" / "good.csv"))
    assert query(home.catalog, "select count(*) from observation where geo_unit = 'CHN'") == [(0,)]  # lost
    assert sha256_file(secret) == before and (home.landing / "link.csv").is_symlink()
    assert (home.landing / "..\\..\\outside\\secret.csv").exists() and (home.landing / "nested" / "deeper.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == outside_listing  # nothing written beside the home


def test_xlsx_decompression_bomb_is_rejected_before_inflating_and_the_good_file_still_loads(landing_home: Home):
    home = landing_home
    bomb = workbook([UIS_HEADER.split(","), ["26637", "CHN", 2020, 1, None, None]], sheet_padding=60_000_000)
    assert len(bomb) < LIMITS["max_file_bytes"]  # small on disk: only its unpacked size gives it away
    (home.landing / "bomb.xlsx").write_bytes(bomb)

    started = time.monotonic()
    pipeline.ingest(["landing"], home)

    assert time.monotonic() - started < 20
    assert "decompression bomb" in reason_for(home, "bomb.xlsx")
    assert_good_file_loaded_whole(home, sha256_file(home.landing / "processed" / "good.csv"))


def test_xlsx_lying_about_its_unpacked_size_is_rejected_without_inflating_past_the_lie(landing_home: Home):
    home = landing_home
    honest = workbook([UIS_HEADER.split(","), ["26637", "CHN", 2020, 1, None, None]], sheet_padding=60_000_000)
    (home.landing / "liar.xlsx").write_bytes(understate_size(honest, "xl/worksheets/sheet1.xml", 4096))

    pipeline.ingest(["landing"], home)

    # zipfile stops at the declared size and then fails the CRC: never 60 MB in memory.
    assert "liar.xlsx" in {p.name for p in (home.landing / "rejected").iterdir()}
    assert query(home.catalog, "select count(*) from observation where geo_unit = 'CHN'") == [(0,)]
    assert_good_file_loaded_whole(home, sha256_file(home.landing / "processed" / "good.csv"))


def test_oversized_landing_file_is_rejected_without_being_parsed(landing_home: Home):
    home = landing_home
    rows = [f"26637,CHN,{1900 + i % 200},{i},," for i in range(20_000)]
    big = home.landing / "huge.csv"
    big.write_text("\n".join([UIS_HEADER, *rows]) + "\n", encoding="utf-8")
    assert os.path.getsize(big) > LIMITS["max_file_bytes"]

    pipeline.ingest(["landing"], home)

    assert "exceeds max_file_bytes" in reason_for(home, "huge.csv")
    assert query(home.catalog, "select count(*) from observation where geo_unit = 'CHN'") == [(0,)]
    assert_good_file_loaded_whole(home, sha256_file(home.landing / "processed" / "good.csv"))


def test_formula_cells_in_a_landing_csv_are_never_evaluated_and_are_kept_verbatim_in_quarantine(landing_home: Home):
    home = landing_home
    formulas = ["=1+1", '+cmd|" /C calc"!A0', "@SUM(A1:A9)"]
    rows = [
        *GOOD_ROWS[:10],
        *(f"26637,VNM,{2000 + i},{cell},," for i, cell in enumerate(formulas)),
        *(f"26637,VNM,{2010 + i},{500 + i},," for i in range(60)),
    ]
    (home.landing / "with_formulas.csv").write_text("\n".join([UIS_HEADER, *rows]) + "\n", encoding="utf-8")

    pipeline.ingest(["landing"], home)

    vnm = query(home.catalog, "select year, value from observation where geo_unit = 'VNM' order by year")
    assert [y for y, _ in vnm] == list(range(2010, 2070))  # kept: every numeric row
    assert all(v == 500 + (y - 2010) for y, v in vnm)  # never 2 (=1+1) or any computed value
    kept_raw = [
        json.loads(d)
        for (d,) in query(
            home.catalog,
            "select detail from quarantine where locator like 'landing/with_formulas.csv%' order by locator",
        )
    ]
    # Lost as values, kept as evidence: each quarantined row holds the cell exactly as dropped.
    assert [next(c for c in row if c in formulas) for row in kept_raw] == formulas
