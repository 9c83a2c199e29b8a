"""Shared pieces for sources that publish releases as HTML articles (MOE, State Council, …).

Everything here is pure: bytes or parsed trees in, values out. Fetching, storing and deciding
what to fetch stay in each source's `run`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ingest.errors import ParseError

# China has kept one offset without DST since 1991, so a fixed offset named after the zone is exact
# and does not depend on the host's tzdata.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

ATTACHMENT_EXTENSIONS: tuple[str, ...] = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".zip", ".rar", ".wps")

_BLOCK_TAGS = frozenset(
    "address article aside blockquote center dd div dl dt figcaption figure footer form h1 h2 h3 h4 h5 "
    "h6 header hr li main nav ol p pre section table tbody thead tfoot tr ul".split()
)
_CELL_TAGS = frozenset({"td", "th"})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "iframe", "template", "head", "object", "svg"})
_CELL_MARK = "\x1f"

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PUNCT_CJK = "\u3000-\u303f\uff00-\uffef"
# Whitespace between two CJK characters is an artefact of line-wrapped HTML source, not a word gap.
_CJK_GAP = re.compile(f"(?<=[{_CJK}{_PUNCT_CJK}]) (?=[{_CJK}{_PUNCT_CJK}])")
_SPACES = re.compile(r"[\s\u3000\xa0\u200b\ufeff]+")

# 教外厅函〔2026〕12号, 国办发〔2020〕14号; typesetters also use [ ] ［ ］ 【 】 for the year brackets.
_DOC_NUMBER_CORE = r"[〔［\[【]\s*(?:19|20)\d{2}\s*[〕］\]】]\s*第?\s*\d{1,4}\s*号"
_DOC_NUMBER_LINE = re.compile(rf"^[{_CJK}]{{1,12}}{_DOC_NUMBER_CORE}$")
_DOC_NUMBER_INLINE = re.compile(rf"(?<![{_CJK}])[{_CJK}]{{1,10}}{_DOC_NUMBER_CORE}")

_SOURCE_LABEL = re.compile(r"(?:来源|信息来源|稿件来源|发布机构)\s*[:：]\s*([^|｜\s\u3000]+)")
_DATETIME = re.compile(
    r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*日?"
    r"(?:\s*T?\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?)?"
)
_URL_DATE = re.compile(r"/t((?:19|20)\d{2})(\d{2})(\d{2})_\d+")


@dataclass(frozen=True)
class ListingItem:
    """One entry of a listing page: where the article is, what it is called, when it is dated."""

    url: str
    title: str
    date: date | None


@dataclass(frozen=True)
class ReleaseRecord:
    """A parsed policy release; one `raw.release_version` row once its bytes' sha256 is known."""

    source: str
    language: str
    url: str
    title: str
    published_at: datetime | None
    body_text: str
    issuing_body: str | None = None
    document_number: str | None = None
    content_source: str | None = None
    attachments: tuple[str, ...] = field(default_factory=tuple)

    def as_row(self, *, content_sha256: str, listing_column: str | None, first_seen_at: datetime
               ) -> dict[str, Any]:
        """The `raw.release_version` row for these bytes (attachments as a JSON array string)."""
        return {
            "source": self.source,
            "url": self.url,
            "content_sha256": content_sha256,
            "language": self.language,
            "title": self.title,
            "published_at": self.published_at,
            "body_text": self.body_text,
            "issuing_body": self.issuing_body,
            "document_number": self.document_number,
            "content_source": self.content_source,
            "listing_column": listing_column,
            "attachments": json.dumps(list(self.attachments), ensure_ascii=False),
            "first_seen_at": first_seen_at,
        }


# -- decoding and parsing ---------------------------------------------------------------------
def decode_html(data: bytes, content_type: str | None) -> str:
    """Bytes to text with the charset from the header, else the page's <meta>, else a guess."""
    # Imported here so the parsers load even where only part of the package is installed.
    from ingest.charset import decode_body

    return decode_body(data, content_type)


def parse_html(data: bytes, content_type: str | None) -> LexborHTMLParser:
    return LexborHTMLParser(decode_html(data, content_type))


def require_complete_document(data: bytes, locator: str) -> None:
    """Refuse a page cut off in transit: a half page parses into a plausible but wrong record."""
    tail = data[-4096:].rstrip().lower()
    if b"</html>" not in tail:
        raise ParseError(f"{locator}: truncated HTML (no closing </html>); refetch it or inspect the blob")


def meta_content(tree: LexborHTMLParser, name: str) -> str | None:
    """`content` of `<meta name=...>` (name compared case-insensitively), whitespace-normalised."""
    wanted = name.lower()
    for node in tree.css("meta[name]"):
        if (node.attributes.get("name") or "").strip().lower() == wanted:
            value = normalize_space(node.attributes.get("content") or "")
            if value:
                return value
    return None


# -- text -------------------------------------------------------------------------------------
def normalize_space(text: str) -> str:
    """Collapse whitespace (incl. full-width and no-break spaces) and drop it between CJK chars."""
    return _CJK_GAP.sub("", _SPACES.sub(" ", text)).strip()


def _walk(node: LexborNode, out: list[str], buf: list[str]) -> None:
    for child in node.iter(include_text=True):
        if child.is_text_node:
            buf.append(child.text_content or "")
            continue
        tag = child.tag or ""
        if tag.startswith("-") or tag in _SKIP_TAGS:
            continue
        if tag == "br":
            _flush(out, buf)
        elif tag in _CELL_TAGS:
            buf.append(_CELL_MARK)
            _walk(child, out, buf)
        elif tag in _BLOCK_TAGS:
            _flush(out, buf)
            _walk(child, out, buf)
            _flush(out, buf)
        else:
            _walk(child, out, buf)


def _flush(out: list[str], buf: list[str]) -> None:
    if not buf:
        return
    cells = [normalize_space(part) for part in "".join(buf).split(_CELL_MARK)]
    line = "\t".join(cell for cell in cells if cell)
    if line:
        out.append(line)
    buf.clear()


def block_paragraphs(node: LexborNode) -> list[str]:
    """The visible text of `node` as paragraphs: one per block element, table cells tab-joined."""
    out: list[str] = []
    buf: list[str] = []
    _walk(node, out, buf)
    _flush(out, buf)
    return out


# -- fields -----------------------------------------------------------------------------------
def find_document_number(paragraphs: Iterable[str]) -> str | None:
    """The official document number (文号), e.g. 教外厅函〔2026〕12号, if the text carries one.

    A paragraph that is nothing but a number (how notices print it under the title) wins over a
    number quoted inside a sentence, which may cite another document.
    """
    paragraphs = [p.replace(" ", "") for p in paragraphs]
    for para in paragraphs:
        if _DOC_NUMBER_LINE.match(para):
            return para
    for para in paragraphs:
        match = _DOC_NUMBER_INLINE.search(para)
        if match:
            return match.group(0)
    return None


def find_source_label(text: str) -> str | None:
    """The organisation after a `来源：` label (as printed under MOE titles), if any."""
    match = _SOURCE_LABEL.search(text)
    if not match:
        return None
    value = match.group(1).strip("　 ;；,，")
    return value or None


def parse_cn_datetime(text: str | None, *, tz: timezone = SHANGHAI) -> datetime | None:
    """`2026-07-19 14:44`, `2026-07-19`, `2026年7月19日 14:44` → aware datetime in `tz`."""
    if not text:
        return None
    match = _DATETIME.search(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        return None


def date_from_article_url(url: str, *, tz: timezone = SHANGHAI) -> datetime | None:
    """TRS-published URLs carry the publication day: `/202607/t20260719_1444325.html`."""
    match = _URL_DATE.search(urlsplit(url).path)
    if not match:
        return None
    try:
        return datetime(*(int(g) for g in match.groups()), tzinfo=tz)
    except ValueError:
        return None


def attachment_links(node: LexborNode, base_url: str,
                     extensions: tuple[str, ...] = ATTACHMENT_EXTENSIONS) -> list[str]:
    """Absolute URLs of links under `node` to documents (PDF, Word, Excel, archives), in page order."""
    found: list[str] = []
    for link in node.css("a[href]"):
        href = (link.attributes.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        absolute = urljoin(base_url, href)
        if urlsplit(absolute).path.lower().endswith(extensions) and absolute not in found:
            found.append(absolute)
    return found


def dedupe_by_url(items: Iterable[ListingItem]) -> Iterator[ListingItem]:
    """First occurrence of each URL, in listing order."""
    seen: set[str] = set()
    for item in items:
        if item.url not in seen:
            seen.add(item.url)
            yield item
