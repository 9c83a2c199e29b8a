"""RSS 2.0 / Atom 1.0 bytes → feed entries, with feedparser.

feedparser reads the raw bytes: it finds the encoding (HTTP charset, XML declaration, BOM; a
`gb2312` label is decoded as its superset GB18030), unwraps CDATA and sanitises embedded HTML.
What it cannot know is which partial documents to refuse, and how to make text of HTML
descriptions; both are done here:

* a feed cut off in transit (no closing `</rss>`, `</feed>` or `</rdf:RDF>`) is a ParseError; a
  complete feed that is merely malformed (an unescaped `&`) is read by feedparser's lenient parser;
* HTML in descriptions and content becomes paragraphs of plain text, like article bodies.

An entry's identity is its link. Its version is the sha256 of its normalised content
(`FeedEntry.normalised()`: link, title, text, own date and attachments as canonical JSON), not of
the feed bytes, since one feed document holds many entries and changes whenever any one does:
an entry is stored again only when its own content changed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from selectolax.lexbor import LexborHTMLParser

from eduopen.core.errors import ParseError
from eduopen.core.files import sha256_hex
from ingest.sources.html_article import (
    ATTACHMENT_EXTENSIONS,
    ReleaseRecord,
    attachment_links,
    block_paragraphs,
    find_document_number,
    normalize_space,
)

SOURCE = "feeds"
LANGUAGES = ("zh", "en")
TITLE_FALLBACK_CHARS = 100
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_FEED_END = re.compile(rb"</(?:rss|feed|rdf:rdf)\s*>", re.IGNORECASE)
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")

# How an entry's published_at was found (stored in `content_source` when it is not the entry's own).
DATE_OWN = "entry"
DATE_FEED_UPDATED = "feed_updated"
DATE_FIRST_SEEN = "first_seen"


@dataclass(frozen=True)
class FeedEntry:
    """One item / entry as published: link, title, plain text, its own date if it has one."""

    url: str
    title: str
    body_text: str
    published_at: datetime | None
    author: str | None = None
    attachments: tuple[str, ...] = field(default_factory=tuple)

    def normalised(self) -> bytes:
        """The entry's content as canonical JSON: what its content_sha256 is computed over."""
        return json.dumps(
            {
                "url": self.url,
                "title": self.title,
                "body_text": self.body_text,
                "published_at": self.published_at.isoformat() if self.published_at else None,
                "attachments": list(self.attachments),
            },
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        ).encode("utf-8")

    @property
    def content_sha256(self) -> str:
        return sha256_hex(self.normalised())


@dataclass(frozen=True)
class ParsedFeed:
    """A feed document: its own metadata, its usable entries, and why any others were dropped."""

    format: str  # feedparser's version: rss20, atom10, rss10, …
    title: str | None
    language: str | None  # as declared, lower case (zh-cn)
    updated_at: datetime | None
    entries: list[FeedEntry]
    dropped: list[str] = field(default_factory=list)
    malformed: str | None = None  # why the strict XML parse failed, when the lenient one was used


def parse_feed(data: bytes, feed_url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse an RSS/Atom document. Raises ParseError for a cut-off document or one that is no feed."""
    if not _FEED_END.search(data[-4096:]):
        raise ParseError(f"{feed_url}: truncated or not a feed (no closing </rss>, </feed> or </rdf:RDF>)")
    headers = {"content-location": feed_url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(data, response_headers=headers, sanitize_html=True, resolve_relative_uris=True)
    if not parsed.get("version"):
        raise ParseError(f"{feed_url}: not an RSS or Atom feed ({_bozo_reason(parsed) or 'unknown format'})")
    feed = parsed.feed
    entries: list[FeedEntry] = []
    dropped: list[str] = []
    for raw in parsed.entries:
        entry = _entry(raw, feed_url)
        if isinstance(entry, str):
            dropped.append(entry)
        else:
            entries.append(entry)
    language = (feed.get("language") or "").strip().lower() or None
    return ParsedFeed(
        format=parsed.version,
        title=normalize_space(feed.get("title") or "") or None,
        language=language,
        updated_at=_when(feed.get("updated_parsed") or feed.get("published_parsed")),
        entries=entries,
        dropped=dropped,
        malformed=_bozo_reason(parsed),
    )


def _bozo_reason(parsed: Any) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    # A charset label feedparser had to correct is not damage: the text decoded fine.
    if exc is not None and type(exc).__name__ in ("CharacterEncodingOverride",):
        return None
    return f"{type(exc).__name__}: {exc}" if exc is not None else "malformed"


def _entry(raw: Any, feed_url: str) -> FeedEntry | str:
    """A FeedEntry, or the reason the entry cannot be one."""
    link = (raw.get("link") or "").strip()
    if not link:
        guid = (raw.get("id") or "").strip()
        link = guid if urlsplit(guid).scheme in ("http", "https") else ""
    if not link:
        return f"entry without link: {normalize_space(raw.get('title') or '')[:80]!r}"
    url = urljoin(feed_url, link)

    html_parts = [c.get("value") or "" for c in raw.get("content") or [] if _is_html(c.get("type"))]
    text_parts = [c.get("value") or "" for c in raw.get("content") or [] if not _is_html(c.get("type"))]
    summary = raw.get("summary") or ""
    summary_type = (raw.get("summary_detail") or {}).get("type")
    paragraphs: list[str] = []
    attachments: list[str] = []
    if html_parts or text_parts:
        chosen_html = max(html_parts, key=len) if html_parts else None
        if chosen_html is not None:
            paragraphs, attachments = html_text(chosen_html, url)
        else:
            paragraphs = plain_text(max(text_parts, key=len))
    elif summary:
        if _is_html(summary_type):
            paragraphs, attachments = html_text(summary, url)
        else:
            paragraphs = plain_text(summary)
    for enclosure in raw.get("enclosures") or []:
        href = urljoin(url, enclosure.get("href") or "")
        if urlsplit(href).path.lower().endswith(ATTACHMENT_EXTENSIONS) and href not in attachments:
            attachments.append(href)

    title = normalize_space(raw.get("title") or "")
    if _is_html((raw.get("title_detail") or {}).get("type")) and title:
        title = " ".join(html_text(title, url)[0]) or title
    if not title and paragraphs:
        # RSS 2.0 allows an item with a description only; its first line is what a reader sees.
        title = paragraphs[0][:TITLE_FALLBACK_CHARS]
    if not title:
        return f"entry without title or text: {url}"

    author = normalize_space(raw.get("author") or (raw.get("source") or {}).get("title") or "") or None
    return FeedEntry(
        url=url,
        title=title,
        body_text="\n".join(paragraphs),
        published_at=_when(raw.get("published_parsed") or raw.get("updated_parsed")),
        author=author,
        attachments=tuple(attachments),
    )


def _is_html(kind: str | None) -> bool:
    return kind is not None and any(t in kind.lower() for t in _HTML_TYPES)


def html_text(html: str, base_url: str) -> tuple[list[str], list[str]]:
    """Paragraphs of plain text and document links of an HTML fragment (a description in CDATA)."""
    tree = LexborHTMLParser(f"<html><body>{html}</body></html>")
    if tree.body is None:
        return [], []
    return block_paragraphs(tree.body), attachment_links(tree.body, base_url)


def plain_text(text: str) -> list[str]:
    return [line for line in (normalize_space(part) for part in text.splitlines()) if line]


def _when(parsed_time: Any) -> datetime | None:
    """feedparser's UTC struct_time → aware datetime (None when the date was missing or unreadable)."""
    if not parsed_time:
        return None
    try:
        year, month, day, hour, minute, second = parsed_time[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def entry_language(configured: str | None, declared: str | None, entry: FeedEntry) -> str:
    """'zh' or 'en' (the warehouse's languages): configuration, else the feed's <language>, else the
    script of the entry's own text (any Han character in the title means Chinese)."""
    for label in (configured, declared):
        short = (label or "").strip().lower().split("-")[0].split("_")[0]
        if short in LANGUAGES:
            return short
    return "zh" if _CJK.search(entry.title) or len(_CJK.findall(entry.body_text)) > 20 else "en"


def entry_record(
    entry: FeedEntry, *, language: str, feed: ParsedFeed, first_seen_at: datetime
) -> tuple[ReleaseRecord, str]:
    """The release record of an entry and how its date was found (DATE_OWN, DATE_FEED_UPDATED,
    DATE_FIRST_SEEN). An inferred date is marked in `content_source` as `published_at:<basis>`."""
    if entry.published_at is not None:
        published_at, basis = entry.published_at, DATE_OWN
    elif feed.updated_at is not None:
        published_at, basis = feed.updated_at, DATE_FEED_UPDATED
    else:
        published_at, basis = first_seen_at, DATE_FIRST_SEEN
    paragraphs = entry.body_text.split("\n") if entry.body_text else []
    record = ReleaseRecord(
        source=SOURCE,
        language=language,
        url=entry.url,
        title=entry.title,
        published_at=published_at,
        body_text=entry.body_text,
        issuing_body=entry.author or feed.title,
        document_number=find_document_number(paragraphs) if language == "zh" else None,
        content_source=None if basis == DATE_OWN else f"published_at:{basis}",
        attachments=entry.attachments,
    )
    return record, basis
