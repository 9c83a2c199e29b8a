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

from pydantic import BaseModel, ConfigDict
from selectolax.lexbor import LexborHTMLParser, LexborNode

from eduopen.core.errors import ParseError

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
# State Council (gov.cn) layout: /policies/latestreleases/202611/20/content_WS….html
_URL_DAY_DIR = re.compile(r"/((?:19|20)\d{2})(\d{2})/(\d{2})/")


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

    def as_row(self, *, content_sha256: str, listing_column: str | None, first_seen_at: datetime) -> dict[str, Any]:
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


def require_title_and_body(
    locator: str, data: bytes, *, title: str | None, body: LexborNode | None, title_sources: str, body_sources: str
) -> tuple[str, LexborNode]:
    """The page's title and body element; ParseError naming what is missing when either is.

    Whether the bytes arrived whole is the transport's question (`ingest.http` refuses a body short
    of its Content-Length or cut mid-chunk); a page that arrived whole but lacks `</html>` or closes
    none of its tags is read for what it has, as browsers do. Only a page without a title or a body
    is refused, and the reason says which and where they were looked for.
    """
    if title and body is not None:
        return title, body
    if not data.strip():
        raise ParseError(f"{locator}: empty page (0 bytes of markup): no title and no article body")
    if not title and body is None:
        raise ParseError(
            f"{locator}: no title and no article body ({len(data)} bytes): no {title_sources}; no {body_sources}"
        )
    if not title:
        raise ParseError(f"{locator}: no title (no {title_sources})")
    raise ParseError(f"{locator}: no article body (no {body_sources})")


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


def _walk(node: LexborNode, out: list[str], buf: list[str], skip: frozenset[int], skip_chrome: bool) -> None:
    for child in node.iter(include_text=True):
        if child.is_text_node:
            buf.append(child.text_content or "")
            continue
        tag = child.tag or ""
        if tag.startswith("-") or tag in _SKIP_TAGS or child.mem_id in skip:
            continue
        if skip_chrome and _names_chrome(child):
            continue
        if tag == "br":
            _flush(out, buf)
        elif tag in _CELL_TAGS:
            buf.append(_CELL_MARK)
            _walk(child, out, buf, skip, skip_chrome)
        elif tag in _BLOCK_TAGS:
            _flush(out, buf)
            _walk(child, out, buf, skip, skip_chrome)
            _flush(out, buf)
        else:
            _walk(child, out, buf, skip, skip_chrome)


def _flush(out: list[str], buf: list[str]) -> None:
    if not buf:
        return
    cells = [normalize_space(part) for part in "".join(buf).split(_CELL_MARK)]
    line = "\t".join(cell for cell in cells if cell)
    if line:
        out.append(line)
    buf.clear()


def block_paragraphs(node: LexborNode, *, exclude: Iterable[str] = (), skip_chrome: bool = False) -> list[str]:
    """The visible text of `node` as paragraphs: one per block element, table cells tab-joined.

    `exclude`: selectors of descendants to leave out (a title block repeated inside the body).
    `skip_chrome`: leave out descendants named as page furniture (footer, share box, …): when a
    page never closes its body element, the parser nests everything after it, footer included, inside.
    """
    skip = frozenset(found.mem_id for selector in exclude for found in node.css(selector))
    out: list[str] = []
    buf: list[str] = []
    _walk(node, out, buf, skip, skip_chrome)
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
    """Article URLs carry the publication day: `/202607/t20260719_1444325.html` (TRS, MOE),
    `/202611/20/content_WS….html` (gov.cn)."""
    path = urlsplit(url).path
    match = _URL_DATE.search(path) or _URL_DAY_DIR.search(path)
    if not match:
        return None
    year, month, day = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, tzinfo=tz)
    except ValueError:
        return None


def attachment_links(node: LexborNode, base_url: str, extensions: tuple[str, ...] = ATTACHMENT_EXTENSIONS) -> list[str]:
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


# -- generic pages (sites whose layout is not pinned down) ------------------------------------
# Where a site's templates are not known well enough for selectors, listings are read by the shape
# of article URLs and articles by what every news template has: title metadata, a date in the
# metadata or the URL, and the body as the element holding the most paragraph text.
_GENERIC_TITLE_META = ("og:title", "ArticleTitle", "twitter:title")
_GENERIC_DATE_META = (
    "PubDate",
    "firstpublishedtime",
    "publishdate",
    "article:published_time",
    "pubdate",
    "dc.date",
    "date",
)
_TITLE_SUFFIX = re.compile(r"\s+[-|–—_｜]\s+|\s*[_｜|]\s*")
_CHROME_TAGS = frozenset({"header", "nav", "footer", "aside", "form"})
# Words in a class or id that name page furniture; matched as whole words of `article-header`,
# `nav_bar`, … so `headline` or `footnote` (article text) are not taken for chrome.
_CHROME_WORDS = frozenset(
    "footer foot header nav navbar menu breadcrumb breadcrumbs crumb copyright sidebar side "
    "share related topbar".split()
)
_WORD_SPLIT = re.compile(r"[\s_-]+")
_LISTING_ROW_TAGS = frozenset({"li", "tr", "td", "dd", "dt", "p"})
_EN_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}
_EN_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_EN_TIME = r"(?:,?\s+(\d{1,2}):(\d{2}))?"
_EN_DATE_MDY = re.compile(rf"\b{_EN_MONTH}\s+(\d{{1,2}}),?\s+((?:19|20)\d{{2}}){_EN_TIME}", re.I)
_EN_DATE_DMY = re.compile(rf"\b(\d{{1,2}})\s+{_EN_MONTH},?\s+((?:19|20)\d{{2}}){_EN_TIME}", re.I)
_DAY_DASH_TIME = re.compile(r"^(\s*(?:19|20)\d{2}-\d{1,2}-\d{1,2})-(\d{1,2}:\d{2})")
_SOURCE_LINE_EN = re.compile(r"(?:^|[|｜]\s*)Source\s*[:：]\s*([^|｜]+?)\s*(?:[|｜]|$)", re.I)


def meta_any(tree: LexborHTMLParser, name: str) -> str | None:
    """`content` of `<meta name=...>` or `<meta property=...>` (Open Graph), compared case-insensitively."""
    wanted = name.lower()
    for node in tree.css("meta[content]"):
        key = node.attributes.get("name") or node.attributes.get("property") or ""
        if key.strip().lower() == wanted:
            value = normalize_space(node.attributes.get("content") or "")
            if value:
                return value
    return None


def parse_any_datetime(text: str | None, *, tz: timezone = SHANGHAI) -> datetime | None:
    """ISO 8601 with or without offset, `2026-11-05-20:37:00` (gov.cn), Chinese dates, `Nov 5, 2026`.

    A stated UTC offset is kept; a bare time is on `tz`, the publisher's clock.
    """
    if not text:
        return None
    text = _DAY_DASH_TIME.sub(r"\1 \2", text.strip())
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is not None:
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)
    found = parse_cn_datetime(text, tz=tz)
    if found is not None:
        return found
    for pattern, order in ((_EN_DATE_MDY, "mdy"), (_EN_DATE_DMY, "dmy")):
        match = pattern.search(text)
        if not match:
            continue
        if order == "mdy":
            month_name, day, year, hour, minute = match.groups()
        else:
            day, month_name, year, hour, minute = match.groups()
        month = _EN_MONTHS.get(month_name.lower().rstrip("."))
        try:
            return datetime(int(year), month or 0, int(day), int(hour or 0), int(minute or 0), tzinfo=tz)
        except ValueError:
            return None
    return None


def _names_chrome(node: LexborNode) -> bool:
    """The element itself is page furniture by its tag or by a word of its class or id."""
    if node.tag in _CHROME_TAGS:
        return True
    attrs = node.attributes
    words = _WORD_SPLIT.split(f"{attrs.get('id') or ''} {attrs.get('class') or ''}".lower())
    return bool(_CHROME_WORDS.intersection(words))


def _is_chrome(node: LexborNode) -> bool:
    """Inside the page's header, navigation, footer or a share/related box (never article text)."""
    current: LexborNode | None = node
    while current is not None and current.tag not in ("body", "html"):
        if _names_chrome(current):
            return True
        current = current.parent
    return False


def largest_text_block(tree: LexborHTMLParser) -> LexborNode | None:
    """The element whose own `<p>` children hold the most text: the article body of a news page."""
    totals: dict[int, int] = {}
    nodes: dict[int, LexborNode] = {}
    for para in tree.css("body p"):
        parent = para.parent
        if parent is None or _is_chrome(para):
            continue
        size = len(normalize_space(para.text()))
        if not size:
            continue
        totals[parent.mem_id] = totals.get(parent.mem_id, 0) + size
        nodes[parent.mem_id] = parent
    if not totals:
        return None
    best = max(totals, key=lambda key: totals[key])
    return nodes[best]


def page_title(tree: LexborHTMLParser) -> str | None:
    """`<title>` without the site name: "Article title - Ministry of Education of the PRC" → the head."""
    node = tree.css_first("title")
    if node is None:
        return None
    full = normalize_space(node.text())
    head = _TITLE_SUFFIX.split(full, maxsplit=1)[0].strip()
    return head or full or None


def first_node(tree: LexborHTMLParser | LexborNode, selectors: Iterable[str]) -> LexborNode | None:
    """The first element matched by the first selector that matches anything."""
    for selector in selectors:
        node = tree.css_first(selector)
        if node is not None:
            return node
    return None


def heading_text(tree: LexborHTMLParser, selectors: Iterable[str]) -> str | None:
    """Text of the first non-empty heading matched by `selectors` (in order) outside the page chrome."""
    for selector in selectors:
        for node in tree.css(selector):
            text = normalize_space(node.text())
            if text and not _is_chrome(node):
                return text
    return None


_LABEL_CELL = re.compile(r"^([^:：]{1,12})[:：]\s*(.*)$")


def labelled_cells(node: LexborNode) -> dict[str, str]:
    """`label：value` pairs of a metadata table (public-information pages print one above the text).

    A label cell ends with a colon and is followed by its value cell (`<td>发文字号：</td><td>教外〔…〕1号</td>`),
    or carries the value itself (`<td>发文字号：教外〔…〕1号</td>`). Labels lose their inner spaces
    (`索 引 号` → `索引号`); the first value of a label wins.
    """
    found: dict[str, str] = {}
    for row in node.css("tr"):
        cells = [normalize_space(cell.text()) for cell in row.css("td, th")]
        index = 0
        while index < len(cells):
            match = _LABEL_CELL.match(cells[index])
            index += 1
            if not match:
                continue
            label, value = match.group(1).replace(" ", ""), match.group(2).strip()
            if not value and index < len(cells) and not _LABEL_CELL.match(cells[index]):
                value = cells[index]
                index += 1
            if value:
                found.setdefault(label, value)
    return found


class ArticleSelectors(BaseModel):
    """CSS selectors that override the generic article extractor, once the layout is known."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str | None = None
    date: str | None = None
    body: str | None = None


def parse_generic_article(
    data: bytes,
    url: str,
    content_type: str | None = None,
    *,
    source: str,
    language: str,
    selectors: dict[str, str] | None = None,
    body_candidates: tuple[str, ...] = (),
) -> ReleaseRecord:
    """A news article of a site whose template is not pinned down (see the section comment).

    Title: `selectors['title']`, og:title, ArticleTitle meta, `<h1>`, `<title>` without the site name.
    Date: `selectors['date']`, PubDate / firstpublishedtime / article:published_time meta, the URL.
    Body: `selectors['body']`, else the first of `body_candidates` (the site's known body containers)
    on the page, else the element with the most `<p>` text. A page need not end in `</html>` nor
    close its tags; ParseError when it has no title or no body.
    """
    selectors = selectors or {}
    tree = parse_html(data, content_type)

    title = _selected_text(tree, selectors.get("title"))
    for name in _GENERIC_TITLE_META:
        title = title or meta_any(tree, name)
    title = title or heading_text(tree, ("h1",)) or page_title(tree)

    body_node = tree.css_first(selectors["body"]) if selectors.get("body") else None
    body_node = body_node or first_node(tree, body_candidates) or largest_text_block(tree)
    body_sources = "paragraphs outside the page chrome"
    if body_candidates:
        body_sources = f"{', '.join(body_candidates)} or {body_sources}"
    if selectors.get("body"):
        body_sources = f"{selectors['body']!r} (selector not found) or {body_sources}"
    title, body_node = require_title_and_body(
        url,
        data,
        title=title,
        body=body_node,
        title_sources="og:title, ArticleTitle, <h1> or <title>",
        body_sources=body_sources,
    )
    paragraphs = block_paragraphs(body_node, skip_chrome=True)
    if paragraphs and paragraphs[0] == title:
        paragraphs = paragraphs[1:]
    attachments = tuple(attachment_links(body_node, url))
    if not paragraphs and not attachments:
        raise ParseError(f"{url}: article body is empty")

    published_at = parse_any_datetime(_selected_text(tree, selectors.get("date")))
    for name in _GENERIC_DATE_META:
        published_at = published_at or parse_any_datetime(meta_any(tree, name))
    published_at = published_at or date_from_article_url(url)

    content_source = meta_any(tree, "ContentSource")
    issuing_body = content_source or _source_label(tree)
    return ReleaseRecord(
        source=source,
        language=language,
        url=url,
        title=title,
        published_at=published_at,
        body_text="\n".join(paragraphs),
        issuing_body=issuing_body,
        document_number=find_document_number(paragraphs),
        content_source=content_source,
        attachments=attachments,
    )


def _selected_text(tree: LexborHTMLParser, selector: str | None) -> str | None:
    if not selector:
        return None
    node = tree.css_first(selector)
    text = normalize_space(node.text()) if node is not None else ""
    return text or None


def _source_label(tree: LexborHTMLParser) -> str | None:
    """`Source: Xinhua` (English templates) or `来源：…` in the page's text lines, first one wins."""
    if tree.body is None:
        return None
    for line in block_paragraphs(tree.body):
        match = _SOURCE_LINE_EN.search(line)
        label = match.group(1).strip() if match else find_source_label(line)
        if label:
            return label.strip("()（）")
    return None


def discover_links(data: bytes, page_url: str, content_type: str | None, pattern: re.Pattern[str]) -> list[ListingItem]:
    """Links of a listing page whose URL path matches `pattern`, in page order, each URL once.

    Templates often link an article twice (picture and headline): the first non-empty title wins.
    The date comes from the URL, else from the link's own row (`li`, `tr`, …) of the listing.
    """
    tree = parse_html(data, content_type)
    found: dict[str, ListingItem] = {}
    for link in tree.css("a[href]"):
        href = (link.attributes.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        absolute = urljoin(page_url, href).split("#", 1)[0]
        if not pattern.search(urlsplit(absolute).path):
            continue
        title = normalize_space(link.attributes.get("title") or "") or normalize_space(link.text())
        known = found.get(absolute)
        if known is not None:
            if not known.title and title:
                found[absolute] = ListingItem(absolute, title, known.date)
            continue
        found[absolute] = ListingItem(absolute, title, _link_date(link, absolute))
    return list(found.values())


def _link_date(link: LexborNode, url: str) -> date | None:
    from_url = date_from_article_url(url)
    if from_url is not None:
        return from_url.date()
    row = link.parent
    for _ in range(2):
        if row is None:
            break
        if row.tag in _LISTING_ROW_TAGS:
            found = parse_any_datetime(normalize_space(row.text()))
            if found is not None:
                return found.date()
        row = row.parent
    return None
