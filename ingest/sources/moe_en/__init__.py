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

from eduopen.core.config import SourceConfig
from ingest.sources.base import Source, WatchedListing
from ingest.sources.html_article import ArticleSelectors
from ingest.sources.moe_en.article import parse_article
from ingest.sources.moe_en.listing import ARTICLE_PATH, FIRST_PAGE, NEXT_PAGE, parse_listing, parse_page_count
from ingest.sources.releases import PagedListingCrawl, PagedReleaseOptions, first_pages, today_for

if TYPE_CHECKING:
    from ingest.sources.base import IngestSummary, SourceContext

__all__ = ["SOURCE", "parse_article", "parse_listing", "run"]


class Options(PagedReleaseOptions):
    article_pattern: re.Pattern[str] = ARTICLE_PATH
    selectors: ArticleSelectors = ArticleSelectors()


def run(ctx: SourceContext, *, today: date | None = None) -> IngestSummary:
    """Fetch what is new or changed on the configured MOE English columns into `raw.release_version`.

    `today` (default: `EDUOPEN_TODAY`, else the source's `today`, else the date in Beijing) sets the
    horizon. Raises FetchError when a listing cannot be fetched and SourceError (after the other
    columns) when a first page shows no article link; unreachable articles are quarantined.
    """
    from ingest.sources.base import IngestSummary

    options = SOURCE.options_of(ctx.config)
    return PagedListingCrawl(
        ctx,
        IngestSummary(source=ctx.name),
        today_for(ctx, today),
        options,
        parse_listing=partial(parse_listing, pattern=options.article_pattern),
        parse_article=partial(parse_article, selectors=options.selectors.model_dump(exclude_none=True)),
        page_count=parse_page_count,
        first_page=FIRST_PAGE,
        next_page=NEXT_PAGE,
    ).run()


def watched(cfg: SourceConfig, options: Options) -> list[WatchedListing]:
    """The first page of every column, whose article links are found by the configured pattern."""
    return first_pages(cfg, options, FIRST_PAGE, partial(parse_listing, pattern=options.article_pattern))


SOURCE = Source(kind="releases", options=Options, run=run, watch=watched, supports_since=True)
