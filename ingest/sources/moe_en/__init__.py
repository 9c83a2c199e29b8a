"""Ministry of Education, English site (en.moe.gov.cn): press releases and media highlights.

The incremental walk and its cursor are `ingest.sources.releases.PagedListingCrawl` (see its module
docstring), as for moe_zh: `index.html`, `index_1.html`, … of every configured column, up to the
last page the pager states. Articles are discovered by URL shape (`article_pattern`) and parsed
generically, since the English templates are not pinned down; `selectors` in sources.yml override
the extractor.

URLs are stored as on the real site (the configured `base_url`), whatever `EDUOPEN_MOE_EN_URL`
points the fetches at.
"""

from __future__ import annotations

import re
from datetime import date
from functools import partial
from typing import TYPE_CHECKING

from ingest.sources.moe_en.article import parse_article
from ingest.sources.moe_en.listing import ARTICLE_PATH, FIRST_PAGE, NEXT_PAGE, parse_listing, parse_page_count
from ingest.sources.releases import PagedListingCrawl, today_for

if TYPE_CHECKING:
    from ingest.sources.base import IngestSummary, SourceContext

__all__ = ["parse_article", "parse_listing", "run"]


def run(ctx: SourceContext, *, today: date | None = None) -> IngestSummary:
    """Fetch what is new or changed on the configured MOE English columns into `raw.release_version`.

    `today` (default: `EDUOPEN_TODAY`, else the source's `today`, else the date in Beijing) sets the
    horizon. Raises FetchError when a listing cannot be fetched and SourceError (after the other
    columns) when a first page shows no article link; unreachable articles are quarantined.
    """
    from ingest.sources.base import IngestSummary

    cfg = ctx.config
    pattern = re.compile(cfg.get("article_pattern")) if cfg.get("article_pattern") else ARTICLE_PATH
    selectors = cfg.get("selectors") or {}
    return PagedListingCrawl(
        ctx,
        IngestSummary(source=ctx.name),
        today_for(ctx, today),
        parse_listing=partial(parse_listing, pattern=pattern),
        parse_article=partial(parse_article, selectors=selectors),
        page_count=parse_page_count,
        first_page=FIRST_PAGE,
        next_page=NEXT_PAGE,
    ).run()
