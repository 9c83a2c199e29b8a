"""State Council English site (english.www.gov.cn) listing pages → listing items.

`/policies/latestreleases/` is the first page, then `page_1.html`, `page_2.html`, …; articles are
found by the shape of their URL, `/policies/<section>/YYYYMM/DD/content_WS<hex>.html`, whose
directories date the item.
"""

from __future__ import annotations

import re

from ingest.sources.html_article import ListingItem, discover_links

__all__ = ["ARTICLE_PATH", "FIRST_PAGE", "NEXT_PAGE", "parse_listing"]

ARTICLE_PATH = re.compile(r"^/policies/[a-z0-9_]+/(?:19|20)\d{4}/\d{2}/content_WS[0-9a-f]+\.html$")
FIRST_PAGE = ""
NEXT_PAGE = "page_{n}.html"


def parse_listing(
    data: bytes, page_url: str, content_type: str | None = None, *, pattern: re.Pattern[str] = ARTICLE_PATH
) -> list[ListingItem]:
    """Article links of one listing page, absolute, each URL once, in page order."""
    return discover_links(data, page_url, content_type, pattern)
