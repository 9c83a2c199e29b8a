"""Recognise a dropped table by its content and turn it into raw rows (pure: table in, rows out).

Formats, each recognised from its header (never from the file name):

- `uis_export`: `indicatorId,geoUnit,year,value,qualifier,magnitude` -> observation, `uis_export`
- `uis_bulk`: `INDICATOR_ID,COUNTRY_ID,YEAR,VALUE,MAGNITUDE,QUALIFIER` -> observation, `uis_bulk`
- `uis_bulk_label`: `INDICATOR_ID,INDICATOR_LABEL_EN` -> indicator_definition, `uis_bulk`
- `worldbank_bulk`: a preamble, then `Country Name,Country Code,Indicator Name,Indicator Code,1960,...`
  -> observation, `worldbank_bulk` (wide years made long)
- `oecd_sdmx`: SDMX-CSV (`STRUCTURE,...,TIME_PERIOD,...,OBS_VALUE,...`) -> flow_observation, `oecd`
- `owid`: `Entity,Code,Year,<metric>...` -> observation, `owid`, indicator `owid:<metric>`
- `uis_top_destinations`: `year,origin_country_name,dest_country_lumped,value_lumped,cond_all` (the
  top-10 destinations of each origin, derived from UIS origin x destination flows) ->
  flow_observation, `uis_top_destinations`; English names mapped to ISO3 by `country_names.csv`,
  the lumped "Other countries" rows skipped (an aggregate, not a country) and counted, an unknown
  name quarantined

A header that is recognisably one of these but lacks a needed column is a *changed header*:
`FormatRejected` names the missing columns. Values stay as given: a UIS NIL/NA/SUPP magnitude
makes the value NULL (never 0); an empty cell of a wide format is no observation at all.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from eduopen.core.errors import ParseError
from ingest.sources.landing.tables import Table
from ingest.sources.oecd.parse import looks_like_sdmx_csv, parse_sdmx_rows

MISSING_MAGNITUDES = frozenset({"NIL", "NA", "SUPP"})
WB_BULK_COLUMNS = ("Country Name", "Country Code", "Indicator Name", "Indicator Code")
# The same six fields under two spellings, keyed by role (the files order them differently).
UIS_EXPORT_COLUMNS = {
    "indicator": "indicatorId",
    "geo": "geoUnit",
    "year": "year",
    "value": "value",
    "qualifier": "qualifier",
    "magnitude": "magnitude",
}
UIS_BULK_COLUMNS = {
    "indicator": "INDICATOR_ID",
    "geo": "COUNTRY_ID",
    "year": "YEAR",
    "value": "VALUE",
    "qualifier": "QUALIFIER",
    "magnitude": "MAGNITUDE",
}
UIS_LABEL_COLUMNS = ("INDICATOR_ID", "INDICATOR_LABEL_EN")
OWID_COLUMNS = ("Entity", "Code", "Year")
TOP_DESTINATIONS_COLUMNS = ("year", "origin_country_name", "dest_country_lumped", "value_lumped", "cond_all")
# One flow series: students from the origin enrolled in the destination (UIS flows, top 10 kept).
TOP_DESTINATIONS_INDICATOR = "students_by_origin_destination"
COUNTRY_NAMES_FILE = Path(__file__).with_name("country_names.csv")
# cond_all is "a b c d", each letter or "-": the UIS flags of the value, in this order
# (documented in data/README.md of 360-info/report-global-education, which derived the file).
COND_FLAGS = (
    ("a", "INCLUDES", "magnitude"),
    ("b", "INCLUDED", "magnitude"),
    ("c", "NAT_EST", "qualifier"),
    ("d", "UIS_EST", "qualifier"),
)
SOURCES = {
    "uis_export": "uis_export",
    "uis_bulk": "uis_bulk",
    "uis_bulk_label": "uis_bulk",
    "worldbank_bulk": "worldbank_bulk",
    "oecd_sdmx": "oecd",
    "owid": "owid",
    "uis_top_destinations": "uis_top_destinations",
}
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_YEAR = re.compile(r"^-?\d{1,4}$")
_PREAMBLE_ROWS = 10


class FormatRejected(ParseError):
    """The file as a whole cannot be loaded; `detected_format` says what it looked like, if anything."""

    def __init__(self, message: str, detected_format: str | None = None):
        super().__init__(message)
        self.detected_format = detected_format


@dataclass(frozen=True)
class RejectedRow:
    line: int
    raw: list[str]
    reason: str


@dataclass
class Parsed:
    """Rows for one raw table, plus the rows refused; `units` is what the bad share is counted on
    (data rows, or non-empty value cells of a wide format)."""

    family: str
    table: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    units: int = 0
    data_version: str | None = None
    # indicator_definition rows the file also carries (names of its indicators), same source
    definitions: list[dict[str, Any]] = field(default_factory=list)
    # rows left out on purpose (not errors): reason -> count, e.g. lumped aggregates
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return SOURCES[self.family]

    @property
    def bad_share(self) -> float:
        return len(self.rejected) / self.units if self.units else 0.0


def parse_number(text: str) -> float | None:
    """A numeric cell -> float; empty -> None; anything else (text, NaN, inf) -> ValueError."""
    text = text.strip()
    if text == "":
        return None
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"not finite: {text!r}")
    return number


def parse_year(text: str) -> int:
    text = text.strip()
    if not _YEAR.match(text):
        raise ValueError(f"year {text!r} is not a year")
    return int(text)


def _clean(cell: str) -> str:
    return cell.strip().lstrip("\ufeff").strip()


def _index(header: Sequence[str], *, case_sensitive: bool = False) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, cell in enumerate(header):
        key = _clean(cell) if case_sensitive else _clean(cell).lower()
        if key and key not in found:
            found[key] = i
    return found


def _require(family: str, header: Sequence[str], names: Sequence[str]) -> dict[str, int]:
    """Column positions by (case-insensitive) name, or FormatRejected naming what is missing."""
    index = _index(header)
    missing = [n for n in names if n.lower() not in index]
    if missing:
        raise FormatRejected(
            f"{family}: header changed, missing column(s) {', '.join(missing)} "
            f"(header: {','.join(_clean(c) for c in header)[:200]})",
            family,
        )
    return {n: index[n.lower()] for n in names}


def _width_problem(row: Sequence[str], header_width: int) -> str | None:
    if len(row) < header_width:
        return f"short row: {len(row)} fields, header has {header_width}"
    if any(c.strip() for c in row[header_width:]):
        return f"{len(row)} fields, header has {header_width} (unquoted delimiter in a value?)"
    return None


def detect(table: Table) -> tuple[str, int]:
    """(family, index of the header row) from the content; FormatRejected when nothing fits."""
    rows = table.rows
    head = [(i, r) for i, r in enumerate(rows[:_PREAMBLE_ROWS]) if any(c.strip() for c in r)]
    if not head:
        raise FormatRejected("no content: every row is empty")
    first_cells = [_clean(r[0]) if r else "" for _, r in head]
    if "Data Source" in first_cells or "Country Name" in first_cells:
        for i, row in head:
            if row and _clean(row[0]) == "Country Name":
                return "worldbank_bulk", i
        raise FormatRejected(
            "worldbank_bulk: header changed, no 'Country Name' row after the preamble", "worldbank_bulk"
        )
    header_at, header = head[0]
    lower = {_clean(c).lower() for c in header}
    if "indicator_label_en" in lower:
        return "uis_bulk_label", header_at
    if "country_id" in lower or "indicator_id" in lower:
        return "uis_bulk", header_at
    if "indicatorid" in lower or "geounit" in lower:
        return "uis_export", header_at
    if looks_like_sdmx_csv(header):
        return "oecd_sdmx", header_at
    if "entity" in lower:
        return "owid", header_at
    if "dest_country_lumped" in lower or "origin_country_name" in lower:
        return "uis_top_destinations", header_at
    raise FormatRejected(f"unrecognised format: header {','.join(_clean(c) for c in header)[:200]!r}")


def parse_table(table: Table) -> Parsed:
    """Recognise and parse a table; FormatRejected for an unknown format or a changed header."""
    family, header_at = detect(table)
    parser = {
        "uis_export": lambda: _parse_uis(table, header_at, family, UIS_EXPORT_COLUMNS),
        "uis_bulk": lambda: _parse_uis(table, header_at, family, UIS_BULK_COLUMNS),
        "uis_bulk_label": lambda: _parse_labels(table, header_at),
        "worldbank_bulk": lambda: _parse_worldbank(table, header_at),
        "oecd_sdmx": lambda: _parse_oecd(table, header_at),
        "owid": lambda: _parse_owid(table, header_at),
        "uis_top_destinations": lambda: _parse_top_destinations(table, header_at),
    }[family]
    return parser()


def _data_rows(table: Table, header_at: int):
    for line, row in zip(table.lines[header_at + 1 :], table.rows[header_at + 1 :], strict=True):
        if any(c.strip() for c in row):
            yield line, row


def _parse_uis(table: Table, header_at: int, family: str, names: dict[str, str]) -> Parsed:
    """UIS data-browser export and BDDS `*_DATA_NATIONAL.csv`: the same six fields, two spellings."""
    header = table.rows[header_at]
    cols = _require(family, header, list(names.values()))
    indicator_c, geo_c, year_c, value_c, qualifier_c, magnitude_c = (
        cols[names[role]] for role in ("indicator", "geo", "year", "value", "qualifier", "magnitude")
    )
    parsed = Parsed(family, "observation")
    seen: set[tuple[str, str, int]] = set()
    for line, row in _data_rows(table, header_at):
        parsed.units += 1
        try:
            problem = _width_problem(row, len(header))
            if problem:
                raise ValueError(problem)
            indicator, geo = row[indicator_c].strip(), row[geo_c].strip()
            if not indicator or not geo:
                raise ValueError("empty indicator or geo unit")
            year = parse_year(row[year_c])
            magnitude = row[magnitude_c].strip() or None
            raw_value = row[value_c].strip()
            if magnitude in MISSING_MAGNITUDES:
                # Missing stays missing: NIL/NA/SUPP rows carry a placeholder (often 0), never data.
                value = None
            else:
                try:
                    value = parse_number(raw_value)
                except ValueError:
                    raise ValueError(f"non-numeric value {raw_value!r} in column {names['value']}") from None
            if (indicator, geo, year) in seen:
                raise ValueError(f"duplicate row for {indicator} {geo} {year}")
            seen.add((indicator, geo, year))
            parsed.rows.append(
                {
                    "indicator_id": indicator,
                    "geo_unit": geo,
                    "year": year,
                    "value": value,
                    "value_raw": raw_value or None,
                    "magnitude": magnitude,
                    "qualifier": row[qualifier_c].strip() or None,
                    "data_version": None,
                }
            )
        except ValueError as exc:
            parsed.rejected.append(RejectedRow(line, list(row), str(exc)))
    return parsed


def _parse_labels(table: Table, header_at: int) -> Parsed:
    header = table.rows[header_at]
    cols = _require("uis_bulk_label", header, UIS_LABEL_COLUMNS)
    parsed = Parsed("uis_bulk_label", "indicator_definition")
    seen: set[str] = set()
    for line, row in _data_rows(table, header_at):
        parsed.units += 1
        problem = _width_problem(row, len(header))
        indicator = row[cols["INDICATOR_ID"]].strip() if not problem else ""
        if problem or not indicator or indicator in seen:
            reason = problem or (f"duplicate INDICATOR_ID {indicator}" if indicator else "empty INDICATOR_ID")
            parsed.rejected.append(RejectedRow(line, list(row), reason))
            continue
        seen.add(indicator)
        parsed.rows.append(
            {
                "indicator_id": indicator,
                "name": row[cols["INDICATOR_LABEL_EN"]].strip() or None,
                "theme": None,
                "last_data_update": None,
            }
        )
    return parsed


def _parse_worldbank(table: Table, header_at: int) -> Parsed:
    """WDI bulk CSV: a preamble, then one row per country × indicator with a column per year."""
    header = table.rows[header_at]
    cols = _require("worldbank_bulk", header, WB_BULK_COLUMNS)
    years = {i: int(_clean(c)) for i, c in enumerate(header) if re.fullmatch(r"\d{4}", _clean(c))}
    if not years:
        raise FormatRejected("worldbank_bulk: header changed, no year columns after Indicator Code", "worldbank_bulk")
    parsed = Parsed("worldbank_bulk", "observation")
    for row in table.rows[:header_at]:
        if len(row) > 1 and _clean(row[0]) == "Last Updated Date":
            parsed.data_version = row[1].strip() or None
    seen: set[tuple[str, str, int]] = set()
    names: dict[str, str] = {}
    for line, row in _data_rows(table, header_at):
        problem = _width_problem(row, len(header))
        country, indicator = (
            (row[cols["Country Code"]].strip(), row[cols["Indicator Code"]].strip()) if not problem else ("", "")
        )
        if problem or not country or not indicator:
            parsed.units += 1
            reason = problem or "empty Country Code or Indicator Code"
            parsed.rejected.append(RejectedRow(line, list(row), reason))
            continue
        for i, year in years.items():
            cell = row[i].strip()
            if cell in ("", ".."):  # ".." is the World Bank's own "no data"
                continue
            parsed.units += 1
            try:
                value = parse_number(cell)
            except ValueError:
                parsed.rejected.append(
                    RejectedRow(line, [country, indicator, str(year), cell], f"non-numeric value {cell!r} for {year}")
                )
                continue
            if (indicator, country, year) in seen:
                parsed.rejected.append(
                    RejectedRow(line, [country, indicator, str(year), cell], f"duplicate {indicator} {country} {year}")
                )
                continue
            seen.add((indicator, country, year))
            names.setdefault(indicator, row[cols["Indicator Name"]].strip())
            parsed.rows.append(
                {
                    "indicator_id": indicator,
                    "geo_unit": country,
                    "year": year,
                    "value": value,
                    "value_raw": cell,
                    "magnitude": None,
                    "qualifier": None,
                    "data_version": parsed.data_version,
                }
            )
    parsed.definitions = _definitions(names, parsed.data_version)
    return parsed


def _definitions(names: dict[str, str], last_update: str | None = None) -> list[dict[str, Any]]:
    return [
        {"indicator_id": indicator, "name": name or None, "theme": None, "last_data_update": last_update}
        for indicator, name in names.items()
    ]


def _parse_owid(table: Table, header_at: int) -> Parsed:
    """Our World in Data grapher CSV: `Entity,Code,Year` then one column per metric."""
    header = table.rows[header_at]
    cols = _require("owid", header, OWID_COLUMNS)
    fixed = set(cols.values())
    metrics = {i: _clean(c) for i, c in enumerate(header) if i not in fixed and _clean(c)}
    if not metrics:
        raise FormatRejected("owid: header changed, no metric column after Entity,Code,Year", "owid")
    parsed = Parsed("owid", "observation")
    seen: set[tuple[str, str, int]] = set()
    for line, row in _data_rows(table, header_at):
        try:
            problem = _width_problem(row, len(header))
            if problem:
                raise ValueError(problem)
            # OWID's own aggregates ("Africa", "High-income countries") have no code: keep the name.
            geo = row[cols["Code"]].strip() or row[cols["Entity"]].strip()
            if not geo:
                raise ValueError("empty Entity and Code")
            year = parse_year(row[cols["Year"]])
        except ValueError as exc:
            parsed.units += 1
            parsed.rejected.append(RejectedRow(line, list(row), str(exc)))
            continue
        for i, metric in metrics.items():
            cell = row[i].strip()
            if cell == "":
                continue
            parsed.units += 1
            indicator = f"owid:{metric}"
            try:
                value = parse_number(cell)
            except ValueError:
                reason = f"non-numeric value {cell!r} in column {metric}"
                parsed.rejected.append(RejectedRow(line, list(row), reason))
                continue
            if (indicator, geo, year) in seen:
                parsed.rejected.append(RejectedRow(line, list(row), f"duplicate {metric} {geo} {year}"))
                continue
            seen.add((indicator, geo, year))
            parsed.rows.append(
                {
                    "indicator_id": indicator,
                    "geo_unit": geo,
                    "year": year,
                    "value": value,
                    "value_raw": cell,
                    "magnitude": None,
                    "qualifier": None,
                    "data_version": None,
                }
            )
    return parsed


def _parse_oecd(table: Table, header_at: int) -> Parsed:
    header = table.rows[header_at]
    try:
        answer = parse_sdmx_rows(header, _data_rows(table, header_at))
    except ParseError as exc:
        raise FormatRejected(str(exc), "oecd_sdmx") from exc
    parsed = Parsed("oecd_sdmx", "flow_observation", units=answer.rows_seen)
    parsed.rejected = [RejectedRow(r.line, list(r.raw), r.reason) for r in answer.rejected]
    parsed.rows = [
        {
            "indicator_id": r.indicator_id,
            "origin": r.origin,
            "destination": r.destination,
            "year": r.year,
            "value": r.value,
            "value_raw": r.value_raw,
            "magnitude": r.magnitude,
            "qualifier": None,
            "data_version": None,
        }
        for r in answer.records
    ]
    parsed.definitions = _definitions(answer.indicator_names)
    return parsed


@dataclass(frozen=True)
class CountryNames:
    """English name forms -> ISO3, and the names that stand for a group of countries."""

    iso3: dict[str, str]
    aggregates: frozenset[str]


@cache
def country_names() -> CountryNames:
    iso3: dict[str, str] = {}
    aggregates: set[str] = set()
    with COUNTRY_NAMES_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key = row["name"].strip().casefold()
            if row["kind"] == "aggregate":
                aggregates.add(key)
            else:
                iso3[key] = row["country_iso3"].strip()
    return CountryNames(iso3, frozenset(aggregates))


def parse_cond_all(text: str) -> tuple[str | None, str | None]:
    """`a - c -` -> (magnitude 'INCLUDES', qualifier 'NAT_EST'); a malformed code raises ValueError."""
    marks = text.split()
    if len(marks) != len(COND_FLAGS):
        raise ValueError(f"cond_all {text!r} is not four marks")
    found: dict[str, list[str]] = {"magnitude": [], "qualifier": []}
    for mark, (letter, flag, kind) in zip(marks, COND_FLAGS, strict=True):
        if mark == letter:
            found[kind].append(flag)
        elif mark != "-":
            raise ValueError(f"cond_all {text!r}: {mark!r} where {letter!r} or '-' belongs")
    return "|".join(found["magnitude"]) or None, "|".join(found["qualifier"]) or None


def _parse_top_destinations(table: Table, header_at: int) -> Parsed:
    """Top-10 destinations by origin: one flow per row, names mapped to ISO3, aggregates skipped."""
    header = table.rows[header_at]
    cols = _require("uis_top_destinations", header, TOP_DESTINATIONS_COLUMNS)
    names = country_names()
    parsed = Parsed("uis_top_destinations", "flow_observation")
    seen: set[tuple[str, str, int]] = set()
    for line, row in _data_rows(table, header_at):
        parsed.units += 1
        try:
            problem = _width_problem(row, len(header))
            if problem:
                raise ValueError(problem)
            origin_name = row[cols["origin_country_name"]].strip()
            destination_name = row[cols["dest_country_lumped"]].strip()
            if {origin_name.casefold(), destination_name.casefold()} & names.aggregates:
                # "Other countries" lumps every destination outside the top 10: no one country's flow.
                parsed.units -= 1
                parsed.skipped["aggregate (e.g. 'Other countries'), not a country"] = (
                    parsed.skipped.get("aggregate (e.g. 'Other countries'), not a country", 0) + 1
                )
                continue
            codes = []
            for role, name in (("origin", origin_name), ("destination", destination_name)):
                code = names.iso3.get(name.casefold())
                if code is None:
                    raise ValueError(f"unknown {role} country name {name!r} (not in {COUNTRY_NAMES_FILE.name})")
                codes.append(code)
            year = parse_year(row[cols["year"]])
            raw_value = row[cols["value_lumped"]].strip()
            try:
                value = parse_number(raw_value)
            except ValueError:
                raise ValueError(f"non-numeric value {raw_value!r} in column value_lumped") from None
            magnitude, qualifier = parse_cond_all(row[cols["cond_all"]])
            if (codes[0], codes[1], year) in seen:
                raise ValueError(f"duplicate row for {codes[0]} -> {codes[1]} {year}")
            seen.add((codes[0], codes[1], year))
            parsed.rows.append(
                {
                    "indicator_id": TOP_DESTINATIONS_INDICATOR,
                    "origin": codes[0],
                    "destination": codes[1],
                    "year": year,
                    "value": value,
                    "value_raw": raw_value or None,
                    "magnitude": magnitude,
                    "qualifier": qualifier,
                    "data_version": None,
                }
            )
        except ValueError as exc:
            parsed.rejected.append(RejectedRow(line, list(row), str(exc)))
    parsed.definitions = _definitions(
        {
            TOP_DESTINATIONS_INDICATOR: (
                "Internationally mobile students from the origin country enrolled in the destination country, "
                "top 10 destinations of each origin, from UIS flows (number)"
            )
        }
    )
    return parsed
