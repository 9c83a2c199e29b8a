"""Pure parser for OECD SDMX-CSV (`format=csvfilewithlabels`): bytes or rows in, flow records out.

Columns are found by their SDMX id, never by position: with labels the header interleaves ids and
labels (`REF_AREA,Reference area,ORIGIN,Country of origin,...`); the SDMX-CSV 1.0 "both" form
writes `REF_AREA: Reference area` and `AUS: Australia`. Either way a dimension's code is what is
kept. A header without the columns a flow needs is a changed format: ParseError naming them.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from eduopen.core.errors import ParseError

_ID = re.compile(r"^[A-Z][A-Z0-9_]*$")
_STRUCTURE_COLUMNS = frozenset({"STRUCTURE", "STRUCTURE_ID", "STRUCTURE_NAME", "ACTION", "DATAFLOW"})
# Alternatives in order of preference: the EAG mobility flows call the host REF_AREA or DESTINATION
# and the home country ORIGIN or COUNTERPART_AREA, depending on the data structure.
DESTINATION_COLUMNS = ("DESTINATION", "REF_AREA")
ORIGIN_COLUMNS = ("ORIGIN", "COUNTERPART_AREA")
MISSING_VALUES = frozenset({"", "NaN", "nan", "NA"})


@dataclass(frozen=True)
class FlowRecord:
    indicator_id: str
    origin: str
    destination: str
    year: int
    value: float | None
    value_raw: str | None
    magnitude: str | None


@dataclass(frozen=True)
class RejectedRow:
    line: int
    raw: list[str]
    reason: str


@dataclass
class SdmxAnswer:
    records: list[FlowRecord] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    rows_seen: int = 0
    # indicator_id -> its label (the MEASURE label, or the dataflow's STRUCTURE_NAME)
    indicator_names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Column:
    index: int
    labelled: bool  # values are "CODE: label"


def _columns(header: Sequence[str]) -> dict[str, _Column]:
    found: dict[str, _Column] = {}
    for index, cell in enumerate(header):
        name = cell.strip().lstrip("\ufeff")
        labelled = ":" in name
        code = name.split(":", 1)[0].strip() if labelled else name
        if _ID.match(code) and code not in found:
            found[code] = _Column(index, labelled)
    return found


def looks_like_sdmx_csv(header: Sequence[str]) -> bool:
    """Whether a header is SDMX-CSV at all (then a missing column is a changed header, not another format)."""
    columns = _columns(header)
    return bool({"OBS_VALUE", "TIME_PERIOD"} & columns.keys()) or (
        bool(header) and header[0].strip().lstrip("\ufeff").split(":")[0] in ("STRUCTURE", "DATAFLOW")
    )


def _pick(columns: dict[str, _Column], names: Sequence[str]) -> str | None:
    return next((name for name in names if name in columns), None)


def dataflow_id(structure_id: str) -> str | None:
    """`OECD.EDU.IMEP:DSD_X@DF_Y(1.0)` (or with `: label`) -> `DSD_X@DF_Y`."""
    text = structure_id.split(": ", 1)[0].strip()
    match = re.match(r"^(?:[^:]+:)?([^()]+?)(?:\([^)]*\))?$", text)
    return match.group(1) if match else None


def _number(text: str) -> float | None:
    text = text.strip()
    if text in MISSING_VALUES:
        return None
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"not finite: {text!r}")
    return number


@dataclass(frozen=True)
class _SdmxLayout:
    """Where a header puts what a flow record is built from, and how to read a row by it."""

    columns: dict[str, _Column]
    origin: str
    destination: str
    structure: str | None
    obs_index: int
    # What tells two rows with the same key apart: the id columns before OBS_VALUE, less the
    # dataflow's bookkeeping (STRUCTURE*, ACTION, DATAFLOW).
    dimensions: list[str]
    needed: int  # the highest index a row must reach
    label_at: frozenset[int]  # header cells that are labels of the id before them

    @classmethod
    def of(cls, header: Sequence[str]) -> _SdmxLayout:
        columns = _columns(header)
        destination = _pick(columns, DESTINATION_COLUMNS)
        origin = _pick(columns, ORIGIN_COLUMNS)
        missing = [
            label
            for label, present in (
                (" or ".join(DESTINATION_COLUMNS), destination),
                (" or ".join(ORIGIN_COLUMNS), origin),
                ("TIME_PERIOD", "TIME_PERIOD" in columns),
                ("OBS_VALUE", "OBS_VALUE" in columns),
            )
            if not present
        ]
        if missing:
            raise ParseError(f"OECD SDMX-CSV header changed: missing column(s) {', '.join(missing)}")
        assert destination is not None and origin is not None
        obs_index = columns["OBS_VALUE"].index
        return cls(
            columns=columns,
            origin=origin,
            destination=destination,
            structure=_pick(columns, ("STRUCTURE_ID", "DATAFLOW")),
            obs_index=obs_index,
            dimensions=[
                name for name, col in columns.items() if col.index < obs_index and name not in _STRUCTURE_COLUMNS
            ],
            needed=max(col.index for col in columns.values() if col.index <= obs_index),
            label_at=frozenset(
                i for i, cell in enumerate(header) if not _ID.match(cell.strip().split(":", 1)[0].strip())
            ),
        )

    def code(self, cells: Sequence[str], name: str) -> str:
        column = self.columns.get(name)
        if column is None or column.index >= len(cells):
            return ""
        value = cells[column.index].strip()
        return value.split(": ", 1)[0].strip() if column.labelled else value

    def label(self, cells: Sequence[str], name: str) -> str:
        """The label beside an id column (`ID,Label` pairs), or after the code (`CODE: label`)."""
        column = self.columns.get(name)
        if column is None or column.index >= len(cells):
            return ""
        if column.labelled:
            parts = cells[column.index].split(": ", 1)
            return parts[1].strip() if len(parts) == 2 else ""
        beside = column.index + 1
        return cells[beside].strip() if beside in self.label_at and beside < len(cells) else ""

    def observation(self, cells: Sequence[str], default_indicator: str | None) -> tuple[FlowRecord, str]:
        """The row's record and its indicator's label ('' when the row names none); ValueError says why not."""
        if len(cells) <= self.needed:
            raise ValueError(f"short row: {len(cells)} fields, header needs {self.needed + 1}")
        if self.code(cells, "ACTION").upper() == "D":
            raise ValueError("a deletion (ACTION=D) is not an observation")
        measure = self.code(cells, "MEASURE")
        indicator = self._indicator(cells, measure, default_indicator)
        origin, destination = self.code(cells, self.origin), self.code(cells, self.destination)
        if not origin or not destination:
            raise ValueError("empty origin or destination")
        year = self._year(cells)
        raw_value = cells[self.obs_index].strip()
        record = FlowRecord(
            indicator,
            origin,
            destination,
            year,
            self._value(cells, raw_value),
            raw_value or None,
            self.code(cells, "OBS_STATUS") or None,
        )
        name = self.label(cells, "MEASURE") if measure else self.code(cells, "STRUCTURE_NAME")
        return record, name

    def _indicator(self, cells: Sequence[str], measure: str, default_indicator: str | None) -> str:
        structure = self.structure
        indicator = (
            measure or (dataflow_id(cells[self.columns[structure].index]) if structure else None) or default_indicator
        )
        if not indicator:
            raise ValueError("no MEASURE, no dataflow id and no default indicator")
        return indicator

    def _year(self, cells: Sequence[str]) -> int:
        period = self.code(cells, "TIME_PERIOD")
        if not re.fullmatch(r"\d{4}", period):
            raise ValueError(f"TIME_PERIOD {period!r} is not a year")
        return int(period)

    def _value(self, cells: Sequence[str], raw_value: str) -> float | None:
        try:
            value = _number(raw_value)
        except ValueError:
            raise ValueError(f"non-numeric OBS_VALUE {raw_value!r}") from None
        multiplier = self.code(cells, "UNIT_MULT")
        if value is not None and multiplier.lstrip("-").isdigit() and int(multiplier):
            # UNIT_MULT n: the value counts units of 10^n; value_raw keeps it as sent.
            value *= 10 ** int(multiplier)
        return value

    def duplicate_error(self, record: FlowRecord, earlier: Sequence[str], cells: Sequence[str]) -> ValueError:
        differing = [d for d in self.dimensions if self.code(earlier, d) != self.code(cells, d)]
        return ValueError(
            f"duplicate {record.indicator_id} {record.origin}->{record.destination} {record.year}: rows differ in "
            f"{', '.join(differing) or 'no dimension'}; fix that dimension in the query key"
        )


def parse_sdmx_rows(
    header: Sequence[str], rows: Iterable[tuple[int, Sequence[str]]], *, default_indicator: str | None = None
) -> SdmxAnswer:
    """Parse data rows (`(line number, cells)`) under an SDMX-CSV header.

    indicator_id is the MEASURE code when the flow has one, else the dataflow id (from
    STRUCTURE_ID / DATAFLOW), else `default_indicator`. Two rows for the same indicator, origin,
    destination and year differ in another dimension the query did not fix: they are rejected,
    naming that dimension, rather than one silently winning.
    """
    layout = _SdmxLayout.of(header)
    answer = SdmxAnswer()
    seen: dict[tuple[str, str, str, int], Sequence[str]] = {}
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        answer.rows_seen += 1
        try:
            record, name = layout.observation(cells, default_indicator)
            key = (record.indicator_id, record.origin, record.destination, record.year)
            if key in seen:
                raise layout.duplicate_error(record, seen[key], cells)
        except ValueError as exc:
            answer.rejected.append(RejectedRow(line, list(cells), str(exc)))
            continue
        seen[key] = cells
        if name:
            answer.indicator_names.setdefault(record.indicator_id, name)
        answer.records.append(record)
    return answer


def parse_sdmx_csv(data: bytes, *, default_indicator: str | None = None) -> SdmxAnswer:
    """Parse a whole SDMX-CSV body (UTF-8, with or without BOM)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"OECD SDMX-CSV is not UTF-8 ({exc}); truncated or not CSV?") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ParseError("OECD SDMX-CSV answer is empty") from None
    except csv.Error as exc:
        raise ParseError(f"OECD SDMX-CSV header unreadable: {exc}") from exc
    if not looks_like_sdmx_csv(header):
        raise ParseError(f"not SDMX-CSV: header starts {','.join(header[:6])!r}")
    try:
        return parse_sdmx_rows(header, ((reader.line_num, row) for row in reader), default_indicator=default_indicator)
    except csv.Error as exc:
        raise ParseError(f"OECD SDMX-CSV unreadable at line {reader.line_num}: {exc}") from exc
