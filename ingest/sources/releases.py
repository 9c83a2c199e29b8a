"""What every release source does once it holds a parsed release, and the crawl of paged listings.

`store_release` writes one `raw.release_version` row, the headline figures found in its text
(`raw.release_figure`, see `ingest.figures`) and, for MOE's statistics releases, their tables
(`raw.release_statistic`, see `ingest.release_statistics`) in one transaction, so a version never
exists without its figures. moe_zh, moe_en, gov_en and feeds all store through it.

`PagedListingCrawl` is the incremental walk of the sites published as columns of paged listings
(moe_zh, moe_en, gov_en); each passes its own listing and article parsers, pager and `ListingLayout`.
Cursor, stated once: a release is known by its URL in `raw.release_version`. Each run walks every
configured column from its first page on, fetching the articles it does not know yet, and stops a
column at the first page with nothing new (every entry known, or older than the horizon), at the
last page the pager states, at the first missing page, or at `max_pages`. An unchanged first page
(HTTP 304) means an unchanged column, but only if the last walk of the column finished: a walk that
ends without a transient failure records the first page's sha256 (`column_complete:<column url>` in
`source_cursor`), and a 304 for any other bytes (the run crashed, an article answered 503) walks the
stored page again so what was missed is fetched. Only when a first page did change are the
`revisit_latest` most recent known releases re-requested conditionally, so a corrected article
becomes a new version (same URL, new bytes) and an unchanged site costs listing 304s alone.
What cannot be had is quarantined and the run goes on; a first page that shows no article link (the
layout changed) fails the run after the other columns.

A run given `since` (`eduopen ingest SOURCE --since DATE`) re-crawls history: its horizon is that
day, an unchanged first page does not skip the column, pages whose entries are all known do not
end the walk, and `max_pages` gives way to `SINCE_MAX_PAGES`; articles already stored are still
not fetched again. Such a run leaves the cursor as it was, so the next regular run still knows
whether its own last walk finished.

URLs are stored as on the real site (the configured `base_url`), even when the pages are fetched
from a mirror or a replay (`EDUOPEN_<SOURCE>_URL`), so a release keeps one identity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict, Field

from eduopen.core.config import SourceConfig
from eduopen.core.errors import FetchError, ParseError, RobotsDisallowed, SourceError
from ingest.figures import extract_figures
from ingest.release_statistics import parse_statistics, statistic_rows
from ingest.site import Refused, Site
from ingest.sources.base import SourceOptions, WatchedListing
from ingest.sources.html_article import SHANGHAI, ListingItem, ReleaseRecord, dedupe_by_url

if TYPE_CHECKING:
    from ingest.http import Response
    from ingest.sources.base import IngestSummary, SourceContext

DEFAULT_MAX_PAGES = 10
# A first run backfills this far back (to the 2016 Belt and Road education action); max_pages
# still bounds how deep a listing is walked.
DEFAULT_HORIZON_DAYS = 4000
DEFAULT_REVISIT_LATEST = 5
# Bounds a walk back to `since` when the pager states no count and no page is missing.
SINCE_MAX_PAGES = 1000
# source_cursor key (+ column URL): sha256 of the first page of the last walk that finished.
COMPLETE_CURSOR = "column_complete:"

ListingParser = Callable[[bytes, str, "str | None"], list[ListingItem]]
ArticleParser = Callable[[bytes, str, "str | None"], ReleaseRecord]
PageCounter = Callable[[bytes], "int | None"]


def figure_rows(record: ReleaseRecord, content_sha256: str) -> list[dict[str, Any]]:
    """The `raw.release_figure` rows of one stored version (title and body are searched)."""
    figures = extract_figures(
        record.body_text or "", title=record.title, language=record.language, published_year=_published_year(record)
    )
    return [
        {
            "source": record.source,
            "url": record.url,
            "content_sha256": content_sha256,
            "figure_index": index,
            "metric": figure.metric,
            "value": figure.value,
            "unit": figure.unit,
            "qualifier": figure.qualifier,
            "period_year": figure.period_year,
            "sentence": figure.sentence,
        }
        for index, figure in enumerate(figures)
    ]


def statistics_rows(record: ReleaseRecord, content_sha256: str) -> list[dict[str, Any]]:
    """The `raw.release_statistic` rows of one stored version (MOE statistics releases only)."""
    found = parse_statistics(
        record.body_text or "", title=record.title, language=record.language, published_year=_published_year(record)
    )
    return statistic_rows(found, source=record.source, url=record.url, content_sha256=content_sha256)


def _published_year(record: ReleaseRecord) -> int | None:
    return record.published_at.astimezone(SHANGHAI).year if record.published_at else None


def store_release(
    ctx: SourceContext,
    record: ReleaseRecord,
    content_sha256: str,
    column: str | None,
    *,
    first_seen_at: datetime | None = None,
) -> bool:
    """Store one version of a release and its figures; True when the version was new.

    `content_sha256` names the bytes the record was parsed from (the response body for pages; for
    feed entries, the blob of the entry's normalised content). Storing a version twice is a no-op.
    """
    row = record.as_row(
        content_sha256=content_sha256, listing_column=column, first_seen_at=first_seen_at or datetime.now(UTC)
    )
    figures = figure_rows(record, content_sha256)
    statistics = statistics_rows(record, content_sha256)
    con = ctx.store.con
    con.execute("begin")
    try:
        inserted = ctx.store.insert_rows("release_version", [row])
        ctx.store.insert_rows("release_figure", figures)
        ctx.store.insert_rows("release_statistic", statistics)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    if inserted and figures:
        ctx.log.info("%s: %d figure(s) in %s", record.source, len(figures), record.url)
    return inserted > 0


def horizon_cutoff(today: date, horizon_days: int) -> date:
    """Oldest listing date still worth fetching."""
    return today - timedelta(days=horizon_days)


def within_horizon(items: Iterable[ListingItem], cutoff: date) -> list[ListingItem]:
    """Items dated on or after `cutoff`. An undated item is kept: we cannot prove it is old."""
    return [it for it in items if it.date is None or it.date >= cutoff]


def paged_url(column_url: str, page: int, *, first: str, next_page: str, start: int = 1) -> str:
    """URL of page `page` (0-based) of a column: `first` for the first page, then `next_page` with
    `{n}` counting from `start` (`index_{n}.html` from 1 on MOE, `page_{n}.html` on gov.cn)."""
    name = first if page == 0 else next_page.format(n=start + page - 1)
    return urljoin(column_url, name)


class ReleaseOptions(SourceOptions):
    """The keys every release source reads."""

    horizon_days: int = Field(default=DEFAULT_HORIZON_DAYS, ge=0)


class ColumnSetting(BaseModel):
    """One column of a paged site: its path below `base_url`, and the name stored with its releases."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    name: str | None = None

    @property
    def slash_path(self) -> str:
        return "/" + self.path.strip("/") + "/"

    @property
    def label(self) -> str:
        return self.name or self.slash_path.strip("/")


class Pagination(BaseModel):
    """Page names of a column (see `paged_url`); a name left out is the source's own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first: str | None = None
    next: str | None = None
    start: int = 1


class PagedReleaseOptions(ReleaseOptions):
    """The keys of a site published as columns of paged listings."""

    columns: list[ColumnSetting] = []
    max_pages: int = Field(default=DEFAULT_MAX_PAGES, ge=1)
    revisit_latest: int = Field(default=DEFAULT_REVISIT_LATEST, ge=0)
    pagination: Pagination = Pagination()


def first_pages(
    cfg: SourceConfig, options: PagedReleaseOptions, first_page: str, read_items: Callable[..., list[ListingItem]]
) -> list[WatchedListing]:
    """What a watcher polls for a paged source: each column's first page below the fetch base."""

    def item_urls(data: bytes, url: str, content_type: str | None) -> list[str]:
        return [item.url for item in read_items(data, url, content_type)]

    first = options.pagination.first if options.pagination.first is not None else first_page
    return [
        WatchedListing(column.label, urljoin(cfg.base_url + column.slash_path, first), item_urls)
        for column in options.columns
    ]


@dataclass(frozen=True)
class Column:
    name: str
    url: str  # canonical, ends with '/'


@dataclass(frozen=True)
class ListingLayout:
    """How a source recognises articles on its listings, in the words a failed run reports.

    `settings` are the keys below the source in sources.yml that describe the layout (what to
    update when it changes); a first page without a single entry is quarantined as `empty_reason`
    with `empty_detail`. The defaults fit sources that find articles by the shape of their URL.
    """

    settings: str = "article_pattern / pagination"
    empty_reason: str = "listing_layout_changed"
    empty_detail: str = "no link matches the configured article pattern"


class PagedListingCrawl:
    """One run of a paged-listing release source; what was known at the start, what this run did."""

    def __init__(
        self,
        ctx: SourceContext,
        summary: IngestSummary,
        today: date,
        options: PagedReleaseOptions,
        *,
        parse_listing: ListingParser,
        parse_article: ArticleParser,
        page_count: PageCounter | None = None,
        first_page: str = "index.html",
        next_page: str = "index_{n}.html",
        layout: ListingLayout = ListingLayout(),
    ):
        self.ctx = ctx
        self.summary = summary
        self.parse_listing = parse_listing
        self.parse_article = parse_article
        self.page_count = page_count
        self.layout = layout
        cfg = ctx.config
        pagination = options.pagination
        self.first_page = pagination.first if pagination.first is not None else first_page
        self.next_page = pagination.next if pagination.next is not None else next_page
        self.page_start = pagination.start
        self.site = Site(cfg.canonical_base_url, cfg.base_url)
        self.since = ctx.since
        self.cutoff = ctx.since or horizon_cutoff(today, options.horizon_days)
        self.max_pages = options.max_pages if ctx.since is None else SINCE_MAX_PAGES
        self.revisit_latest = options.revisit_latest
        self.configured_columns = options.columns
        rows = ctx.store.con.execute("select distinct url from release_version where source = ?", [ctx.name]).fetchall()
        # Paging decisions use what was known before the run, so a page whose entries another
        # column just fetched does not end this column's walk early.
        self.known_before: frozenset[str] = frozenset(url for (url,) in rows)
        self.handled: set[str] = set()
        self.layout_failures: list[str] = []
        # Revisits only follow a changed listing, so an unchanged site costs listing 304s alone.
        self.listing_changed = False
        self.off_site = 0
        self.climbing = 0
        # Articles this run could not get for a reason another run may not meet (5xx, timeout).
        self.transient_failures = 0

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> IngestSummary:
        started = self.ctx.http.request_count
        for column in self.columns():
            self.walk(column)
        self.revisit()
        self.summary.requests = self.ctx.http.request_count - started
        if self.off_site:
            self.summary.notes.append(f"{self.off_site} listing entries link off-site; not fetched")
        if self.climbing:
            self.summary.notes.append(
                f"{self.climbing} listing entries climb out of their path (encoded ../ or backslashes); not fetched"
            )
        self.ctx.log.info("%s: %s", self.ctx.name, self.summary.as_dict())
        if self.layout_failures:
            settings = f"{self.ctx.name}.{self.layout.settings}"
            raise SourceError(
                f"{self.ctx.name}: {len(self.layout_failures)} listing page(s) show no article link as "
                f"configured (quarantined): {'; '.join(self.layout_failures)}. Update {settings} in "
                "sources.yml to the site's layout and re-run."
            )
        return self.summary

    def columns(self) -> list[Column]:
        if not self.configured_columns:
            name = self.ctx.name
            raise SourceError(f"{name}: no columns configured ({name}.columns in sources.yml)")
        return [
            Column(name=entry.label, url=self.site.canonical_base + entry.slash_path)
            for entry in self.configured_columns
        ]

    def walk(self, column: Column) -> None:
        """Walk one column; mark it complete when the walk ended with nothing failed transiently."""
        key = COMPLETE_CURSOR + column.url
        failures_before = self.transient_failures
        first_page_sha = self.walk_pages(column, key)
        if first_page_sha is not None and self.transient_failures == failures_before and self.since is None:
            self.ctx.store.set_cursor(self.ctx.name, key, first_page_sha)

    def walk_pages(self, column: Column, key: str) -> str | None:
        """The sha256 of the first page when the walk ended normally; None when skipped or refused.

        The cursor `key` holds the first page's sha256 once a walk finished and '' while one is under
        way, so a walk cut short (a crash, an article that answered 503) is walked again although
        the listing answers 304. After one, pages whose entries are all known no longer end the
        walk: the entries behind them may be exactly what was missed. The horizon, the page count
        and `max_pages` still do. A walk back to `since` goes on past known pages in the same way.
        """
        completed = self.ctx.store.get_cursor(self.ctx.name, key)
        resuming = not completed or self.since is not None
        page_count: int | None = None
        first_page_sha: str | None = None
        for page in range(self.max_pages):
            if page_count is not None and page >= page_count:
                break
            canonical = paged_url(
                column.url, page, first=self.first_page, next_page=self.next_page, start=self.page_start
            )
            resp = self.fetch_listing_page(canonical, page)
            if resp is None:
                break
            if page == 0:
                if not self.begin_walk(column, key, resp, completed):
                    return None
                first_page_sha = resp.sha256
            items = self.listing_entries(resp, canonical, first_page=page == 0)
            if items is None:
                return None
            if not items:
                break
            if self.page_count is not None:
                page_count = self.page_count(resp.content) or page_count
            if not self.fetch_new_entries(items, column, resuming=resuming):
                break
        return first_page_sha

    def fetch_listing_page(self, canonical: str, page: int) -> Response | None:
        """The listing page's response; None for a 404 after the first page, which is past the last."""
        try:
            resp = self.ctx.http.get(self.site.fetch_url(canonical), conditional=True)
        except FetchError as exc:
            if page > 0 and exc.status == 404:
                return None
            raise
        if resp.not_modified:
            self.summary.not_modified += 1
        return resp

    def begin_walk(self, column: Column, key: str, first_page: Response, completed: str | None) -> bool:
        """Whether the column needs walking; if so, its cursor says a walk is under way.

        A 304 skips the column only when the stored bytes are those of a walk that finished, and
        never in a walk back to `since`.
        """
        if first_page.not_modified and completed == first_page.sha256 and self.since is None:
            self.summary.notes.append(f"{column.name}: first page unchanged")
            return False
        if first_page.not_modified:
            purpose = f"walking back to {self.since}" if self.since else "finishing the last walk"
            self.summary.notes.append(f"{column.name}: first page unchanged, {purpose}")
        else:
            self.listing_changed = True
        if self.since is None:
            self.ctx.store.set_cursor(self.ctx.name, key, "")
        return True

    def listing_entries(self, resp: Response, canonical: str, *, first_page: bool) -> list[ListingItem] | None:
        """The page's entries; None when the page was refused as a changed layout."""
        try:
            items = self.parse_listing(resp.content, canonical, resp.headers.get("Content-Type"))
        except ParseError as exc:
            self.refuse_listing(canonical, "listing_layout_changed", resp.sha256, str(exc))
            return None
        if not items and first_page:
            # A column's first page always lists articles: none found means the site changed
            # its URLs or templates, not that there is no news.
            self.refuse_listing(
                canonical, self.layout.empty_reason, resp.sha256, f"{canonical}: {self.layout.empty_detail}"
            )
            return None
        return items

    def fetch_new_entries(self, items: list[ListingItem], column: Column, *, resuming: bool) -> bool:
        """Fetch the page's unknown entries within the horizon; whether the next page may hold more.

        A page past the horizon ends the walk; so does one with nothing new, unless the walk is
        finishing one that was cut short.
        """
        in_horizon = within_horizon(self.on_site(items), self.cutoff)
        fresh = [it for it in in_horizon if it.url not in self.known_before]
        for item in dedupe_by_url(fresh):
            if item.url not in self.handled:
                self.fetch_article(item, column.name)
        return bool(in_horizon) and (bool(fresh) or resuming)

    def revisit(self) -> None:
        """Re-request the newest known releases; a 200 with new bytes is a new version.

        Runs only when a column's first page changed: the site regenerates its listings when it
        publishes or edits, and an unchanged site must cost nothing but conditional listing requests.
        """
        if self.revisit_latest <= 0 or not self.known_before or not self.listing_changed:
            return
        rows = self.ctx.store.con.execute(
            """select url, arg_max(listing_column, first_seen_at)
               from release_version where source = ?
               group by url order by max(published_at) desc nulls last, url limit ?""",
            [self.ctx.name, self.revisit_latest],
        ).fetchall()
        for url, column in rows:
            if url in self.handled:
                continue
            self.handled.add(url)
            resp = self.get_article(url, gone_reason="article_withdrawn")
            if resp is None:
                continue
            if resp.not_modified:
                self.summary.not_modified += 1
                continue
            self.store_version(resp, url, column, changed=True)

    # -- articles ---------------------------------------------------------------------------
    def fetch_article(self, item: ListingItem, column: str) -> None:
        self.handled.add(item.url)
        resp = self.get_article(item.url)
        if resp is None:
            return
        if resp.not_modified:
            self.summary.not_modified += 1
        self.store_version(resp, item.url, column, changed=item.url in self.known_before)

    def get_article(self, url: str, *, gone_reason: str = "article_not_found") -> Response | None:
        """The article's response, or None after quarantining why it could not be had.

        `gone_reason` names a 404/410: a listed link that never worked, or a release taken down.
        """
        try:
            return self.ctx.http.get(self.site.fetch_url(url), conditional=True)
        except RobotsDisallowed as exc:
            self.transient_failures += 1  # robots.txt may have been unreachable this run only
            self.quarantine(url, "robots_disallowed", None, str(exc))
        except FetchError as exc:
            gone = exc.status in (404, 410)
            self.transient_failures += 0 if gone else 1
            self.quarantine(
                url, gone_reason if gone else "article_fetch_failed", None, {"status": exc.status, "error": str(exc)}
            )
        return None

    def store_version(self, resp: Response, url: str, column: str | None, *, changed: bool) -> None:
        try:
            record = self.parse_article(resp.content, url, resp.headers.get("Content-Type"))
        except ParseError as exc:
            self.quarantine(url, "article_parse_error", resp.sha256, str(exc))
            return
        if store_release(self.ctx, record, resp.sha256, column):
            self.summary.new_rows += 1
            if changed:
                self.summary.changed_releases += 1
            else:
                self.summary.new_releases += 1

    # -- helpers ----------------------------------------------------------------------------
    def refuse_listing(self, url: str, reason: str, sha256: str, detail: str) -> None:
        self.quarantine(url, reason, sha256, detail)
        self.layout_failures.append(f"{url} ({reason})")

    def quarantine(self, url: str, reason: str, sha256: str | None, detail: Any) -> None:
        self.ctx.log.warning("%s: quarantined %s: %s", self.ctx.name, url, reason)
        self.ctx.store.quarantine(source=self.ctx.name, locator=url, reason=reason, sha256=sha256, detail=detail)
        self.summary.quarantined += 1

    def on_site(self, items: list[ListingItem]) -> list[ListingItem]:
        """Entries on the source's host, rewritten to the canonical origin; others are counted and dropped.

        Off-site means another scheme (file:, data:), host, port or any userinfo. Entries whose path
        still climbs once resolved (`%2e%2e/`, backslashes) are dropped too: no real link has them.
        """
        kept = []
        for item in items:
            url = self.site.canonical_url(item.url)
            if url is Refused.OFF_SITE:
                self.off_site += 1
                continue
            if url is Refused.CLIMBS:
                self.climbing += 1
                continue
            kept.append(ListingItem(url=url, title=item.title, date=item.date))
        return kept


def today_for(ctx: SourceContext, today: date | None) -> date:
    """The day horizons count back from: the argument, else `EDUOPEN_TODAY`, else the source's `today`
    key in sources.yml, else today in Beijing."""
    configured = ctx.config.today
    if today is None and configured:
        today = date.fromisoformat(str(configured))
    return today or datetime.now(SHANGHAI).date()
