"""State Council of the PRC, English site (english.www.gov.cn): latest policy releases.

The incremental walk of moe_zh and moe_en (`ingest.sources.releases.PagedListingCrawl`) with gov.cn's
pagination: the column URL itself, then `page_1.html`, `page_2.html`, … (`pagination` in
sources.yml); the site states no page count, so a column also ends at the first missing page.
URLs are stored on the configured `base_url` (https://english.www.gov.cn), whatever
`EDUOPEN_GOV_EN_URL` points the fetches at.
"""

from __future__ import annotations

import re
from datetime import date
from functools import partial
from typing import TYPE_CHECKING

from eduopen.core.config import SourceConfig
from ingest.sources.base import Source, WatchedListing
from ingest.sources.gov_en.article import parse_article
from ingest.sources.gov_en.listing import ARTICLE_PATH, FIRST_PAGE, NEXT_PAGE, parse_listing
from ingest.sources.html_article import ArticleSelectors
from ingest.sources.releases import PagedListingCrawl, PagedReleaseOptions, first_pages, today_for

if TYPE_CHECKING:
    from ingest.sources.base import IngestSummary, SourceContext

__all__ = ["SOURCE", "parse_article", "parse_listing", "run"]


class Options(PagedReleaseOptions):
    article_pattern: re.Pattern[str] = ARTICLE_PATH
    selectors: ArticleSelectors = ArticleSelectors()


def run(ctx: SourceContext, *, today: date | None = None) -> IngestSummary:
    """Fetch new or changed State Council English releases into `raw.release_version`.

    Errors as for moe_en: FetchError when a listing cannot be fetched, SourceError (after the other
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
        first_page=FIRST_PAGE,
        next_page=NEXT_PAGE,
    ).run()


def watched(cfg: SourceConfig, options: Options) -> list[WatchedListing]:
    """The first page of every column, whose article links are found by the configured pattern."""
    return first_pages(cfg, options, FIRST_PAGE, partial(parse_listing, pattern=options.article_pattern))


SOURCE = Source(kind="releases", options=Options, run=run, watch=watched, supports_since=True)
