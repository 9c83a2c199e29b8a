"""Bytes of a dropped file -> a table of text cells, whatever the container (CSV, XLSX, XLS, ODS).

Pure and defensive: text is decoded only when its encoding is known for sure (`decode_file_text`:
a byte-order mark, UTF-8, or GB18030 / Windows-1252 told apart), never with replacement characters;
the CSV delimiter is taken from the first line; a zipped workbook (XLSX, ODS) is measured from its
members' declared sizes before a single byte is inflated, so a decompression bomb is refused
instead of filling memory. XLSX is read by openpyxl, legacy Excel `.xls` and OpenDocument `.ods`
by calamine.
"""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time

from eduopen.core.errors import ParseError
from ingest.charset import decode_file_text

DEFAULT_XLSX_MAX_UNCOMPRESSED = 200 * 1024 * 1024
DEFAULT_XLSX_MAX_RATIO = 100.0
# Below this a workbook cannot hurt whatever its ratio; tiny, repetitive sheets compress very well.
RATIO_CHECK_FLOOR = 1024 * 1024
_DELIMITERS = (",", ";", "\t")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


@dataclass(frozen=True)
class XlsxLimits:
    """Bounds on any zipped workbook, ODS as well as XLSX (named after the `xlsx_max_*` options)."""

    max_uncompressed_bytes: int = DEFAULT_XLSX_MAX_UNCOMPRESSED
    max_compression_ratio: float = DEFAULT_XLSX_MAX_RATIO


@dataclass
class Table:
    """Rows of text cells; `lines[i]` is where `rows[i]` is in the file (CSV line / sheet row)."""

    rows: list[list[str]]
    lines: list[int]
    container: str  # "csv" | "xlsx" | "xls" | "ods"
    encoding: str | None = None  # the codec a CSV was decoded with


def read_table(data: bytes, *, limits: XlsxLimits | None = None) -> Table:
    """Read a CSV, XLSX, XLS or ODS file's first sheet into text cells; ParseError says why it cannot be."""
    if data.startswith(b"PK\x03\x04"):
        limits = limits or XlsxLimits()
        if zipped_workbook_kind(data, limits) == "ods":
            return read_with_calamine(data, "ods")
        return read_xlsx(data, limits=limits)
    if data.startswith(OLE2_MAGIC):
        return read_with_calamine(data, "xls")
    if not data.strip():
        raise ParseError("empty file")
    text, encoding = decode_file_text(data)
    table = read_csv(text)
    table.encoding = encoding
    return table


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


def zipped_workbook_kind(data: bytes, limits: XlsxLimits) -> str:
    """ "xlsx" or "ods" once the zip has passed the bomb check; ParseError for any other zip."""
    with check_zip_bomb(data, limits) as archive:
        names = set(archive.namelist())
        if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
            return "xlsx"
        # ODF puts its media type, stored uncompressed, in a first member named `mimetype`.
        if "mimetype" in names and archive.read("mimetype").strip() == ODS_MIMETYPE:
            return "ods"
    raise ParseError("ZIP archive that is not an XLSX or ODS workbook: unzip it and drop the CSV inside")


def check_zip_bomb(data: bytes, limits: XlsxLimits) -> zipfile.ZipFile:
    """Open the zip and refuse it, from the declared sizes alone, when it would inflate too far.

    Declared sizes cannot be used to lie past the check: `zipfile` stops at a member's declared
    size and then fails its CRC.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ParseError(f"damaged ZIP/XLSX/ODS container: {exc}") from exc
    members = archive.infolist()
    unpacked = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if unpacked > limits.max_uncompressed_bytes:
        raise ParseError(
            f"workbook would unpack to {unpacked:,} bytes (limit {limits.max_uncompressed_bytes:,}): "
            "refused as a possible decompression bomb"
        )
    ratio = unpacked / max(packed, 1)
    if unpacked > RATIO_CHECK_FLOOR and ratio > limits.max_compression_ratio:
        raise ParseError(
            f"workbook compression ratio {ratio:.0f}:1 exceeds {limits.max_compression_ratio:.0f}:1 "
            "(refused as a possible decompression bomb)"
        )
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


def read_with_calamine(data: bytes, container: str) -> Table:
    """The first sheet of a legacy Excel (.xls) or OpenDocument (.ods) workbook as text cells."""
    import python_calamine  # only when such a workbook is actually dropped

    label = container.upper()
    try:
        with python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
            if not workbook.sheet_names:
                raise ParseError(f"{label} workbook has no worksheet")
            # Rows and columns before the data are kept, so a row's number is its row in the sheet.
            values = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except ParseError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of a third-party parser on untrusted bytes
        raise ParseError(f"not a readable {label} workbook: {type(exc).__name__}: {exc}") from exc
    rows = [[_cell_text(v) for v in row] for row in values]
    width = max((len(r) for r in rows), default=0)
    for row in rows:
        row.extend([""] * (width - len(row)))
    return Table(rows, list(range(1, len(rows) + 1)), container)


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
