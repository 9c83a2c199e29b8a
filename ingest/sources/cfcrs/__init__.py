"""Sino-foreign cooperative education: the Ministry of Education's register (www.crs.jsj.edu.cn).

The supervision platform (中外合作办学监管工作信息平台) lists every approved institution (机构) and
programme (项目) by region and level: `/aproval/getbyarea/{region}` (approved or reviewed by the
Ministry: 本科及以上) and `/aproval/localbyarea/{region}` (approved locally and filed: 高等专科), each
name linking to its detail page. One version of each entry, as its detail page and list state it,
is a row of `raw.cooperative_record`; how the walk stays incremental is `register.RegisterCrawl`.

It is watched like the release sources: a new approval is a new detail URL on a list page, which
fires the release-listings watcher and so the ingest and the warehouse.

URLs are stored as on the real site (the configured `base_url`), even when the pages are fetched
from a mirror or the replay given by `EDUOPEN_CFCRS_URL`, so an entry keeps one identity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from eduopen.core.config import SourceConfig
from ingest.sources.base import Source, SourceOptions, WatchedListing
from ingest.sources.cfcrs.detail import parse_detail
from ingest.sources.cfcrs.listing import detail_urls, parse_listing
from ingest.sources.cfcrs.register import REGION_NAMES, RegisterCrawl, RegisterPage

if TYPE_CHECKING:
    from ingest.sources.base import IngestSummary, SourceContext

__all__ = ["SOURCE", "parse_detail", "parse_listing", "run"]


class RegisterList(BaseModel):
    """One kind of list page: its path below `base_url` with `{region}`, and the level it lists."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    level: Literal["undergraduate", "vocational"]


DEFAULT_LISTS = (
    RegisterList(path="/aproval/getbyarea/{region}", level="undergraduate"),
    RegisterList(path="/aproval/localbyarea/{region}", level="vocational"),
)


class Options(SourceOptions):
    lists: list[RegisterList] = list(DEFAULT_LISTS)
    regions: list[int] = Field(default_factory=lambda: list(range(1, len(REGION_NAMES) + 1)), min_length=1)


def register_pages(base_url: str, options: Options) -> list[RegisterPage]:
    """Every list page of the configured lists and regions, below `base_url`."""
    return [
        RegisterPage(url=base_url + kind.path.format(region=region), level=kind.level, region=region)
        for kind in options.lists
        for region in options.regions
    ]


def run(ctx: SourceContext) -> IngestSummary:
    """Fetch the register's new and changed entries into `raw.cooperative_record`.

    Raises SourceError (after walking the other pages) when a list page cannot be fetched or read;
    detail pages that cannot be had or read are quarantined and the run goes on.
    """
    from ingest.sources.base import IngestSummary

    options = SOURCE.options_of(ctx.config)
    pages = register_pages(ctx.config.canonical_base_url, options)
    return RegisterCrawl(ctx, IngestSummary(source=ctx.name), pages).run()


def watched(cfg: SourceConfig, options: Options) -> list[WatchedListing]:
    """Every list page below the fetch base; its items are the detail URLs it links to."""
    return [
        WatchedListing(f"{page.level}/{page.region}", page.url, detail_urls)
        for page in register_pages(cfg.base_url, options)
    ]


SOURCE = Source(kind="releases", options=Options, run=run, watch=watched, supports_since=True)
