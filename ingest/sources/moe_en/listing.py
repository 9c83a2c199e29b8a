"""MOE English site (en.moe.gov.cn) listing pages: `…/index.html`, `…/index_1.html`, … → listing items.

The templates of the English site are not pinned down, so articles are found by the shape of their
URL, not by selectors: `/news/<column>/YYYYMM/tYYYYMMDD_NNNNNN.html`, e.g.
`/news/press_releases/202408/t20240823_1146878.html`. The day in the URL dates the item. The site
is published with the same TRS system as the Chinese one: the same page names, and a pager script
that states the page count (`createPageHTML(pages, page, "index", "html")`).
"""

from __future__ import annotations

import re

from ingest.sources.html_article import ListingItem, discover_links
from ingest.sources.moe_zh.listing import FIRST_PAGE, NEXT_PAGE, parse_page_count

__all__ = ["ARTICLE_PATH", "FIRST_PAGE", "NEXT_PAGE", "parse_listing", "parse_page_count"]

ARTICLE_PATH = re.compile(r"^/news/[a-z_]+/(?:19|20)\d{4}/t(?:19|20)\d{6}_\d+\.html$")


def parse_listing(
    data: bytes, page_url: str, content_type: str | None = None, *, pattern: re.Pattern[str] = ARTICLE_PATH
) -> list[ListingItem]:
    """Article links of one listing page, absolute, each URL once, in page order.

    An empty list on a first page means the layout (or the URL scheme) changed; the run decides.
    """
    return discover_links(data, page_url, content_type, pattern)
