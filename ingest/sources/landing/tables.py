"""Bytes of a dropped file -> a table of text cells, whatever the container (CSV or XLSX).

Pure and defensive: text encodings are tried in a fixed order, the CSV delimiter is taken from
the first line, and an XLSX workbook is measured (zip members' declared sizes) before a single
byte is inflated, so a decompression bomb is refused instead of filling memory.
"""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time

from eduopen.core.errors import ParseError

DEFAULT_XLSX_MAX_UNCOMPRESSED = 200 * 1024 * 1024
DEFAULT_XLSX_MAX_RATIO = 100.0
# Below this a workbook cannot hurt whatever its ratio; tiny, repetitive sheets compress very well.
RATIO_CHECK_FLOOR = 1024 * 1024
_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class XlsxLimits:
    max_uncompressed_bytes: int = DEFAULT_XLSX_MAX_UNCOMPRESSED
    max_compression_ratio: float = DEFAULT_XLSX_MAX_RATIO


@dataclass
class Table:
    """Rows of text cells; `lines[i]` is where `rows[i]` is in the file (CSV line / sheet row)."""

    rows: list[list[str]]
    lines: list[int]
    container: str  # "csv" | "xlsx"


def read_table(data: bytes, *, limits: XlsxLimits | None = None) -> Table:
    """Read a CSV or XLSX file's first sheet into text cells; ParseError says why it cannot be."""
    if data.startswith(b"PK\x03\x04"):
        return read_xlsx(data, limits=limits or XlsxLimits())
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ParseError("legacy Excel .xls (OLE2) workbook: save it as .xlsx or CSV and drop it again")
    if not data.strip():
        raise ParseError("empty file")
    return read_csv(decode_text(data))


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 with BOM (Excel 'Unicode text'), else Windows-1252 (Excel 'CSV')."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ParseError(f"damaged UTF-16 text: {exc}") from exc
    if b"\x00" in data[:8192]:
        raise ParseError("binary file: neither CSV text nor an XLSX workbook")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ParseError(f"text is neither UTF-8 nor Windows-1252: {exc}") from exc


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(text: str) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise ParseError(f"CSV unreadable at line {reader.line_num}: {exc}") from exc
    return Table(rows, lines, "csv")


def check_zip_bomb(data: bytes, limits: XlsxLimits) -> zipfile.ZipFile:
    """Open the zip and refuse it, from the declared sizes alone, when it would inflate too far.

    Declared sizes cannot be used to lie past the check: `zipfile` stops at a member's declared
    size and then fails its CRC.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ParseError(f"damaged ZIP/XLSX container: {exc}") from exc
    members = archive.infolist()
    unpacked = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if unpacked > limits.max_uncompressed_bytes:
        raise ParseError(
            f"XLSX would unpack to {unpacked:,} bytes (limit {limits.max_uncompressed_bytes:,}): "
            "refused as a possible decompression bomb"
        )
    ratio = unpacked / max(packed, 1)
    if unpacked > RATIO_CHECK_FLOOR and ratio > limits.max_compression_ratio:
        raise ParseError(
            f"XLSX compression ratio {ratio:.0f}:1 exceeds {limits.max_compression_ratio:.0f}:1 "
            "(refused as a possible decompression bomb)"
        )
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise ParseError("ZIP archive that is not an XLSX workbook: unzip it and drop the CSV inside")
    return archive


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # A whole number stored as a float (Excel stores every number so) reads back as "2018".
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def read_xlsx(data: bytes, *, limits: XlsxLimits) -> Table:
    """The first worksheet as text cells (cached formula results, not formulas)."""
    import openpyxl  # heavy; only when a workbook is actually dropped
    from openpyxl.utils.exceptions import InvalidFileException

    check_zip_bomb(data, limits).close()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it does not know
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except InvalidFileException as exc:
        raise ParseError(f"not a readable XLSX workbook: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - any failure of a third-party parser on untrusted bytes
        raise ParseError(f"not a readable XLSX workbook: {type(exc).__name__}: {exc}") from exc
    try:
        if not workbook.worksheets:
            raise ParseError("XLSX workbook has no worksheet")
        sheet = workbook.worksheets[0]
        # Many writers store a wrong <dimension>; without this, read-only mode would cut rows off.
        sheet.reset_dimensions()
        rows: list[list[str]] = []
        lines: list[int] = []
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                rows.append([_cell_text(v) for v in values])
                lines.append(number)
        except Exception as exc:  # noqa: BLE001 - malformed sheet XML surfaces as many exception types
            raise ParseError(f"XLSX worksheet unreadable: {type(exc).__name__}: {exc}") from exc
    finally:
        workbook.close()
    # Read-only mode leaves out trailing empty cells: pad so an empty last column is "" not absent.
    width = max((len(r) for r in rows), default=0)
    for row in rows:
        row.extend([""] * (width - len(row)))
    return Table(rows, lines, "xlsx")
