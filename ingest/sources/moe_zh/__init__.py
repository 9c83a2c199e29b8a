"""Ministry of Education, Chinese site (www.moe.gov.cn): news and policy releases.

The incremental walk and its cursor are `ingest.sources.releases.PagedListingCrawl` (see its module
docstring), the same as for moe_en and gov_en: columns of `index.html`, `index_1.html`, … whose
pager script states the page count. What is MOE's own is reading the pages with CSS selectors
(`moe_zh.selectors` in sources.yml: `listing_container`, `listing_item`, `article_body`,
`article_title_meta`), so a first page whose list container holds no entries is quarantined as
`listing_empty`, and a layout failure asks for the selectors to be updated.

URLs are stored as on the real site (the configured `base_url`), even when the pages are fetched
from a mirror or the replay given by `EDUOPEN_MOE_ZH_URL`, so a release keeps one identity.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from eduopen.core.config import SourceConfig
from ingest.sources.base import Source, WatchedListing
from ingest.sources.moe_zh.article import DEFAULT_BODY, DEFAULT_TITLE_META, parse_article
from ingest.sources.moe_zh.listing import (
    DEFAULT_CONTAINER,
    DEFAULT_ITEM,
    FIRST_PAGE,
    NEXT_PAGE,
    parse_listing,
    parse_page_count,
)
from ingest.sources.releases import ListingLayout, PagedListingCrawl, PagedReleaseOptions, first_pages, today_for

if TYPE_CHECKING:
    from ingest.sources.base import IngestSummary, SourceContext

__all__ = ["SOURCE", "parse_article", "parse_listing", "run"]


class Selectors(BaseModel):
    """CSS selectors of MOE's listing and article templates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listing_container: str = DEFAULT_CONTAINER
    listing_item: str = DEFAULT_ITEM
    article_body: str = DEFAULT_BODY
    article_title_meta: str = DEFAULT_TITLE_META


class Options(PagedReleaseOptions):
    selectors: Selectors = Selectors()


def run(ctx: SourceContext, *, today: date | None = None) -> IngestSummary:
    """Fetch what is new or changed on the configured MOE columns into `raw.release_version`.

    `today` (default: `EDUOPEN_TODAY`, else the `today` key of the source's config, else the date in
    Beijing) sets the horizon; pass it to replay a recorded snapshot as of its recording day. Raises
    FetchError when a listing cannot be fetched and SourceError (after finishing the other columns)
    when a listing no longer has the expected layout; refused articles are quarantined and the run
    goes on.
    """
    from ingest.sources.base import IngestSummary

    options = SOURCE.options_of(ctx.config)
    selectors = options.selectors
    container = selectors.listing_container
    return PagedListingCrawl(
        ctx,
        IngestSummary(source=ctx.name),
        today_for(ctx, today),
        options,
        parse_listing=partial(parse_listing, container=container, item=selectors.listing_item),
        parse_article=partial(parse_article, body=selectors.article_body, title_meta=selectors.article_title_meta),
        page_count=parse_page_count,
        first_page=FIRST_PAGE,
        next_page=NEXT_PAGE,
        layout=ListingLayout(
            settings="selectors", empty_reason="listing_empty", empty_detail=f"{container!r} holds no entries"
        ),
    ).run()


def watched(cfg: SourceConfig, options: Options) -> list[WatchedListing]:
    """The first page of every column, read with the configured listing selectors."""
    selectors = options.selectors
    read = partial(parse_listing, container=selectors.listing_container, item=selectors.listing_item)
    return first_pages(cfg, options, FIRST_PAGE, read)


SOURCE = Source(kind="releases", options=Options, run=run, watch=watched, supports_since=True)
