"""MOE (Chinese site) listing pages: `…/index.html`, `…/index_1.html`, … → listing items.

A listing looks like

    <ul id="list">
      <li><a href="./moe_1485/202607/t20260719_1444325.html" title="全文标题">截断的标题…</a>
          <span>2026-07-19</span></li>
    </ul>
    <script>createPageHTML(4, 0, "index", "html");</script>   <!-- pages in all, this page -->
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urljoin

from eduopen.core.errors import ParseError
from ingest.sources.html_article import ListingItem, normalize_space, parse_html

DEFAULT_CONTAINER = "ul#list"
DEFAULT_ITEM = "ul#list > li"
# Page names of a column, for `releases.paged_url`: `index.html`, then `index_1.html`, `index_2.html`, …
FIRST_PAGE = "index.html"
NEXT_PAGE = "index_{n}.html"

_ISO_DATE = re.compile(r"((?:19|20)\d{2})-(\d{1,2})-(\d{1,2})")
_PAGE_COUNT = re.compile(rb"createPageHTML\(\s*(\d+)\s*,\s*(\d+)")


def parse_listing(
    data: bytes,
    page_url: str,
    content_type: str | None = None,
    *,
    container: str = DEFAULT_CONTAINER,
    item: str = DEFAULT_ITEM,
) -> list[ListingItem]:
    """Items of one listing page, in page order, duplicates kept, URLs made absolute.

    Raises ParseError when the page has no listing container at all (the site's layout changed),
    which is different from a legitimately empty list.
    """
    tree = parse_html(data, content_type)
    if tree.css_first(container) is None:
        raise ParseError(
            f"{page_url}: listing layout changed: no {container!r} on the page; update moe_zh.selectors in sources.yml"
        )
    items: list[ListingItem] = []
    nodes = tree.css(item)
    for node in nodes:
        link = node.css_first("a[href]")
        if link is None:
            continue
        href = (link.attributes.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "#")):
            continue
        title = normalize_space(link.attributes.get("title") or "") or normalize_space(link.text())
        span = node.css_first("span")
        items.append(
            ListingItem(
                url=urljoin(page_url, href),
                title=title,
                date=_listing_date(span.text() if span is not None else node.text()),
            )
        )
    if nodes and not items:
        raise ParseError(f"{page_url}: listing layout changed: {len(nodes)} entries but no links in them")
    return items


def parse_page_count(data: bytes) -> int | None:
    """Number of pages the column says it has (from its `createPageHTML(n, i, …)` call), if stated."""
    match = _PAGE_COUNT.search(data)
    return int(match.group(1)) if match else None


def _listing_date(text: str) -> date | None:
    match = _ISO_DATE.search(text)
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None
