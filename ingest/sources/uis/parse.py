"""Pure parsers for UNESCO UIS Data API answers (bytes in, records out).

The API answers HTTP 200 with empty `records` and a hint for an unknown geo unit, and silently
ignores unknown query parameters; both must surface as errors, never as "no data".
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from eduopen.core.errors import ParseError, SourceError

MISSING_MAGNITUDES = frozenset({"NIL", "NA", "SUPP"})


@dataclass(frozen=True)
class UisRecord:
    indicator_id: str
    geo_unit: str
    year: int
    value: float | None
    value_raw: str | None
    magnitude: str | None
    qualifier: str | None


@dataclass(frozen=True)
class RejectedRecord:
    raw: dict[str, Any]
    reason: str


@dataclass(frozen=True)
class DataAnswer:
    records: list[UisRecord]
    rejected: list[RejectedRecord]
    hints: list[dict[str, Any]]


def _load_json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"UIS {what}: not valid JSON ({exc}); truncated download?") from exc


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("boolean is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        number = float(str(value).strip().replace(",", ""))
    if not math.isfinite(number):
        raise ValueError(f"not finite: {value!r}")
    return number


def parse_data(data: bytes) -> DataAnswer:
    """Parse `/data/indicators`; rows that are not numbers are rejected, not dropped silently."""
    doc = _load_json(data, "data answer")
    if not isinstance(doc, dict) or "records" not in doc or not isinstance(doc["records"], list):
        raise ParseError("UIS data answer has no 'records' list")
    hints = [h for h in doc.get("hints") or [] if isinstance(h, dict)]
    records: list[UisRecord] = []
    rejected: list[RejectedRecord] = []
    for raw in doc["records"]:
        try:
            indicator = str(raw["indicatorId"]).strip()
            geo = str(raw["geoUnit"]).strip()
            year = int(raw["year"])
            magnitude = raw.get("magnitude") or None
            value = _number(raw.get("value"))
            if magnitude in MISSING_MAGNITUDES:
                # Missing stays missing: a NIL/NA/SUPP flag never becomes a zero.
                value = None
            records.append(
                UisRecord(
                    indicator,
                    geo,
                    year,
                    value,
                    None if raw.get("value") is None else str(raw.get("value")),
                    magnitude,
                    raw.get("qualifier") or None,
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            rejected.append(RejectedRecord(raw if isinstance(raw, dict) else {"raw": raw}, f"bad record: {exc}"))
    return DataAnswer(records, rejected, hints)


def check_answer(answer: DataAnswer, *, indicator: str, start: int | None, geo_unit: str | None = None) -> None:
    """Raise SourceError when the answer is not an answer to what was asked."""
    if answer.hints and not answer.records:
        messages = "; ".join(f"{h.get('code')}: {h.get('message')}" for h in answer.hints)
        raise SourceError(f"UIS refused the query for indicator {indicator}: {messages}")
    if not answer.records:
        raise SourceError(
            f"UIS returned no records for indicator {indicator}"
            f"{' and geo unit ' + geo_unit if geo_unit else ''}: unknown indicator or an ignored parameter"
        )
    foreign = {r.indicator_id for r in answer.records} - {indicator}
    if foreign:
        raise SourceError(f"UIS ignored the indicator filter: asked {indicator}, got {sorted(foreign)[:5]}")
    if geo_unit and any(r.geo_unit != geo_unit for r in answer.records):
        raise SourceError(f"UIS ignored the geoUnit filter {geo_unit}")
    if start is not None and any(r.year < start for r in answer.records):
        raise SourceError(f"UIS ignored the start filter: years before {start} in the answer")


def parse_version(data: bytes) -> str:
    """`/versions/default` -> the data version string (our change cursor)."""
    doc = _load_json(data, "version answer")
    if isinstance(doc, list):
        doc = doc[0] if doc else {}
    version = doc.get("version") if isinstance(doc, dict) else None
    if not version:
        raise ParseError("UIS version answer has no 'version'")
    return str(version)


def parse_indicator_definitions(data: bytes) -> list[dict[str, Any]]:
    doc = _load_json(data, "indicator definitions")
    if not isinstance(doc, list):
        raise ParseError("UIS indicator definitions: expected a list")
    return [
        {
            "indicator_id": str(item.get("indicatorCode") or item.get("indicatorId")),
            "name": item.get("name"),
            "theme": item.get("theme"),
            "last_data_update": item.get("lastDataUpdate"),
        }
        for item in doc
        if item.get("indicatorCode") or item.get("indicatorId")
    ]


def parse_geo_unit_definitions(data: bytes) -> list[dict[str, Any]]:
    doc = _load_json(data, "geo unit definitions")
    if not isinstance(doc, list):
        raise ParseError("UIS geo unit definitions: expected a list")
    return [
        {"geo_unit": str(item["id"]), "name": item.get("name"), "geo_unit_type": item.get("type")}
        for item in doc
        if item.get("id")
    ]
