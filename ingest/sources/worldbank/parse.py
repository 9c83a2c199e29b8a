"""Pure parsers for World Bank API v2 answers (bytes in, records out).

A page is `[{page, pages, per_page, total, sourceid, lastupdated}, [record, ...]]`; older answers
give every number as a string (`"page": "1"`, `"value": "123.4"`). A refused query is still HTTP
200: `[{"message": [{"id": "120", "key": "Invalid value", "value": "..."}]}]`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from eduopen.core.errors import ParseError, SourceError


@dataclass(frozen=True)
class WbRecord:
    indicator_id: str
    geo_unit: str
    year: int
    value: float | None
    value_raw: str | None
    obs_status: str | None


@dataclass(frozen=True)
class RejectedRecord:
    raw: Any
    reason: str


@dataclass(frozen=True)
class WbPage:
    page: int
    pages: int
    per_page: int
    total: int
    last_updated: str | None
    indicator_name: str | None = None
    records: list[WbRecord] = field(default_factory=list)
    rejected: list[RejectedRecord] = field(default_factory=list)

    @property
    def received(self) -> int:
        """Records on this page, parsed or not: what `total` counts."""
        return len(self.records) + len(self.rejected)


def _int(value: Any, what: str) -> int:
    try:
        if value is None or isinstance(value, bool):
            raise ValueError
        number = float(value) if isinstance(value, int | float) else float(str(value).strip())
        if not number.is_integer():
            raise ValueError
        return int(number)
    except (TypeError, ValueError):
        raise ParseError(f"World Bank page header: {what} is not an integer ({value!r})") from None


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("boolean is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        if text == "":
            return None
        number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"not finite: {value!r}")
    return number


def refusal_message(doc: Any) -> str | None:
    """The World Bank's own error text when `doc` is a refusal, else None."""
    if not (isinstance(doc, list) and doc and isinstance(doc[0], dict) and "message" in doc[0]):
        return None
    messages = doc[0]["message"]
    if not isinstance(messages, list):
        messages = [messages]
    parts = []
    for message in messages:
        if isinstance(message, dict):
            parts.append(f"{message.get('id')} {message.get('key')}: {message.get('value')}")
        else:
            parts.append(str(message))
    return "; ".join(parts) or "unspecified error"


def parse_page(data: bytes, *, indicator: str) -> WbPage:
    """Parse one page for `indicator`; a refusal raises SourceError, a malformed page ParseError."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"World Bank answer for {indicator}: not valid JSON ({exc}); truncated?") from exc
    refusal = refusal_message(doc)
    if refusal is not None:
        raise SourceError(f"World Bank refused the query for indicator {indicator}: {refusal}")
    if not (isinstance(doc, list) and len(doc) == 2 and isinstance(doc[0], dict)):
        raise ParseError(f"World Bank answer for {indicator}: expected [header, records]")
    header, items = doc
    if items is None:
        # The API says "no data" with a null record list (and total 0).
        items = []
    if not isinstance(items, list):
        raise ParseError(f"World Bank answer for {indicator}: records are not a list")
    page = WbPage(
        page=_int(header.get("page"), "page"),
        pages=_int(header.get("pages"), "pages"),
        per_page=_int(header.get("per_page"), "per_page"),
        total=_int(header.get("total"), "total"),
        last_updated=str(header["lastupdated"]) if header.get("lastupdated") else None,
        indicator_name=_indicator_name(items),
    )
    for raw in items:
        try:
            page.records.append(_record(raw))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            page.rejected.append(RejectedRecord(raw, f"bad record: {exc}"))
    return page


def _indicator_name(items: list[Any]) -> str | None:
    for raw in items:
        if isinstance(raw, dict) and isinstance(raw.get("indicator"), dict) and raw["indicator"].get("value"):
            return str(raw["indicator"]["value"]).strip()
    return None


def _record(raw: dict[str, Any]) -> WbRecord:
    indicator_id = str(raw["indicator"]["id"]).strip()
    # Aggregates (regions, income groups) have an ISO3-like code too, a few only a 2-character id;
    # both are kept and told apart in staging.
    geo = str(raw.get("countryiso3code") or "").strip() or str(raw["country"]["id"] or "").strip()
    if not geo:
        raise ValueError("no country code")
    year = int(str(raw["date"]).strip())
    value = _number(raw.get("value"))
    value_raw = None if raw.get("value") is None else str(raw["value"])
    obs_status = str(raw.get("obs_status") or "").strip() or None
    return WbRecord(indicator_id, geo, year, value, value_raw, obs_status)


def check_page(page: WbPage, *, indicator: str, expected_page: int, first: WbPage | None = None) -> None:
    """Raise SourceError when a page is not the page asked for, or the listing moved under us."""
    if page.page != expected_page:
        raise SourceError(
            f"World Bank answered page {page.page} when asked for page {expected_page} of {indicator}: "
            "paging parameter ignored"
        )
    foreign = {r.indicator_id for r in page.records} - {indicator}
    if foreign:
        raise SourceError(f"World Bank ignored the indicator filter: asked {indicator}, got {sorted(foreign)[:5]}")
    if first is not None and (page.pages, page.total, page.last_updated) != (
        first.pages,
        first.total,
        first.last_updated,
    ):
        raise SourceError(
            f"World Bank data for {indicator} changed while paging (pages/total/lastupdated "
            f"{first.pages}/{first.total}/{first.last_updated} -> "
            f"{page.pages}/{page.total}/{page.last_updated}); run again"
        )


def check_complete(pages: list[WbPage], *, indicator: str) -> None:
    """Every record the header promised must have arrived; an empty answer is not 'no data'."""
    if not pages or pages[0].total == 0:
        raise SourceError(
            f"World Bank returned no records for indicator {indicator}: unknown, archived or out of range"
        )
    received = sum(p.received for p in pages)
    if received != pages[0].total or len(pages) != pages[0].pages:
        raise SourceError(
            f"World Bank truncated paging for {indicator}: total {pages[0].total} in {pages[0].pages} pages, "
            f"received {received} in {len(pages)} pages"
        )
