"""Ministry of Education, Chinese site (www.moe.gov.cn): news and policy releases.

Cursor, stated once: a release is known by its URL in `raw.release_version`. Each run walks every
configured column from `index.html` on, fetching the articles it does not know yet, and stops a
column at the first page with nothing new (every entry known, or older than the horizon), at the
end of the pagination, or at `max_pages`. An unchanged first page (HTTP 304) means an unchanged
column, but only if the last walk of the column finished: a walk that ends without a transient
failure records the first page's sha256 (`column_complete:<column url>` in `source_cursor`), and a
304 for any other bytes (the run crashed, an article answered 503) walks the stored page again so
what was missed is fetched. When a first page did change, the `revisit_latest` most recent known
releases are re-requested conditionally, so a corrected article becomes a new version (same URL,
new bytes).

URLs are stored as on the real site (the configured `base_url`), even when the pages are fetched
from a mirror or the replay given by `EDUOPEN_MOE_ZH_URL`, so a release keeps one identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ingest.errors import FetchError, ParseError, RobotsDisallowed, SourceError
from ingest.sources.html_article import SHANGHAI, ListingItem, dedupe_by_url
from ingest.sources.moe_zh.article import DEFAULT_BODY, DEFAULT_TITLE_META, parse_article
from ingest.sources.moe_zh.listing import (
    DEFAULT_CONTAINER,
    DEFAULT_ITEM,
    horizon_cutoff,
    page_url,
    parse_listing,
    parse_page_count,
    within_horizon,
)
from ingest.sources.releases import store_release

if TYPE_CHECKING:
    from ingest.http import Response
    from ingest.sources.base import IngestSummary, SourceContext

__all__ = ["parse_article", "parse_listing", "run"]

DEFAULT_MAX_PAGES = 10
DEFAULT_HORIZON_DAYS = 365
DEFAULT_REVISIT_LATEST = 5
COMPLETE_CURSOR = "column_complete:"


def run(ctx: SourceContext, *, today: date | None = None) -> IngestSummary:
    """Fetch what is new or changed on the configured MOE columns into `raw.release_version`.

    `today` (default: the `today` key of the source's config, else the date in Beijing) sets the
    horizon; pass it to replay a recorded snapshot as of its recording day. Raises FetchError when
    a listing cannot be fetched and SourceError (after finishing the other columns) when a listing
    no longer has the expected layout; refused articles are quarantined and the run goes on.
    """
    from ingest.sources.base import IngestSummary

    configured = ctx.config.today
    if today is None and configured:
        today = date.fromisoformat(str(configured))
    return _Crawl(ctx, IngestSummary(source=ctx.name), today or datetime.now(SHANGHAI).date()).run()


@dataclass(frozen=True)
class _Column:
    name: str
    url: str  # canonical, ends with '/'


class _Crawl:
    """One run's state: what was known at the start, what this run already handled."""

    def __init__(self, ctx: SourceContext, summary: IngestSummary, today: date):
        self.ctx = ctx
        self.summary = summary
        cfg = ctx.config
        self.fetch_base = cfg.base_url
        self.canonical_base = str(cfg.settings.get("base_url") or cfg.base_url).rstrip("/")
        self.cutoff = horizon_cutoff(today, int(cfg.get("horizon_days", DEFAULT_HORIZON_DAYS)))
        self.max_pages = int(cfg.get("max_pages", DEFAULT_MAX_PAGES))
        self.revisit_latest = int(cfg.get("revisit_latest", DEFAULT_REVISIT_LATEST))
        selectors: dict[str, Any] = cfg.get("selectors") or {}
        self.listing_container = selectors.get("listing_container", DEFAULT_CONTAINER)
        self.listing_item = selectors.get("listing_item", DEFAULT_ITEM)
        self.article_body = selectors.get("article_body", DEFAULT_BODY)
        self.title_meta = selectors.get("article_title_meta", DEFAULT_TITLE_META)
        rows = ctx.store.con.execute(
            "select distinct url from release_version where source = ?", [ctx.name]
        ).fetchall()
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
        started = self.ctx.client.request_count
        for column in self.columns():
            self.walk(column)
        self.revisit()
        self.summary.requests = self.ctx.client.request_count - started
        if self.off_site:
            self.summary.notes.append(f"{self.off_site} listing entries link off-site; not fetched")
        if self.climbing:
            self.summary.notes.append(f"{self.climbing} listing entries climb out of their path "
                                      "(encoded ../ or backslashes); not fetched")
        self.ctx.log.info("moe_zh: %s", self.summary.as_dict())
        if self.layout_failures:
            raise SourceError(
                f"moe_zh: {len(self.layout_failures)} listing page(s) no longer match the configured "
                f"selectors (quarantined): {'; '.join(self.layout_failures)}. Update moe_zh.selectors "
                "in sources.yml and re-run."
            )
        return self.summary

    def columns(self) -> list[_Column]:
        columns = self.ctx.config.get("columns") or []
        if not columns:
            raise SourceError("moe_zh: no columns configured (moe_zh.columns in sources.yml)")
        out = []
        for entry in columns:
            path = "/" + str(entry["path"]).strip("/") + "/"
            out.append(_Column(name=str(entry.get("name") or path.strip("/")), url=self.canonical_base + path))
        return out

    def walk(self, column: _Column) -> None:
        """Walk one column; mark it complete when the walk ended with nothing failed transiently."""
        key = COMPLETE_CURSOR + column.url
        failures_before = self.transient_failures
        first_page_sha = self.walk_pages(column, key)
        if first_page_sha is not None and self.transient_failures == failures_before:
            self.ctx.store.set_cursor(self.ctx.name, key, first_page_sha)

    def walk_pages(self, column: _Column, key: str) -> str | None:
        """The sha256 of the first page when the walk ended normally; None when it was skipped or refused.

        The cursor `key` holds the first page's sha256 once a walk finished, and '' while a walk is
        under way, so a walk cut short (a crash, an article that answered 503) is seen as such.
        After one, pages whose entries are all known no longer end the walk: the entries behind
        them may be exactly what was missed. The horizon, the page count and `max_pages` still do.
        """
        completed = self.ctx.store.get_cursor(self.ctx.name, key)
        resuming = not completed
        page_count: int | None = None
        first_page_sha: str | None = None
        for page in range(self.max_pages):
            if page_count is not None and page >= page_count:
                return first_page_sha
            canonical = page_url(column.url, page)
            try:
                resp = self.ctx.client.get(self.fetch_url(canonical), conditional=True)
            except FetchError as exc:
                if page > 0 and exc.status == 404:
                    return first_page_sha  # past the last page
                raise
            if resp.not_modified:
                self.summary.not_modified += 1
            if page == 0:
                if resp.not_modified and completed == resp.sha256:
                    self.summary.notes.append(f"{column.name}: first page unchanged")
                    return None
                if resp.not_modified:
                    self.summary.notes.append(f"{column.name}: first page unchanged, finishing the last walk")
                else:
                    self.listing_changed = True
                first_page_sha = resp.sha256
                self.ctx.store.set_cursor(self.ctx.name, key, "")
            content_type = resp.headers.get("Content-Type")
            try:
                items = parse_listing(resp.content, canonical, content_type,
                                      container=self.listing_container, item=self.listing_item)
            except ParseError as exc:
                self.refuse_listing(canonical, "listing_layout_changed", resp.sha256, str(exc))
                return None
            if not items:
                if page == 0:
                    # A column's first page is never empty on the real site: a layout change, not news.
                    self.refuse_listing(canonical, "listing_empty", resp.sha256,
                                        f"{canonical}: {self.listing_container!r} holds no entries")
                    return None
                return first_page_sha
            page_count = parse_page_count(resp.content) or page_count
            in_horizon = within_horizon(self.on_site(items), self.cutoff)
            fresh = [it for it in in_horizon if it.url not in self.known_before]
            for item in dedupe_by_url(fresh):
                if item.url not in self.handled:
                    self.fetch_article(item, column.name)
            if not in_horizon or (not fresh and not resuming):
                return first_page_sha
        return first_page_sha

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
            return self.ctx.client.get(self.fetch_url(url), conditional=True)
        except RobotsDisallowed as exc:
            self.transient_failures += 1  # robots.txt may have been unreachable this run only
            self.quarantine(url, "robots_disallowed", None, str(exc))
        except FetchError as exc:
            gone = exc.status in (404, 410)
            self.transient_failures += 0 if gone else 1
            self.quarantine(url, gone_reason if gone else "article_fetch_failed", None,
                            {"status": exc.status, "error": str(exc)})
        return None

    def store_version(self, resp: Response, url: str, column: str | None, *, changed: bool) -> None:
        try:
            record = parse_article(resp.content, url, resp.headers.get("Content-Type"),
                                   body=self.article_body, title_meta=self.title_meta)
        except ParseError as exc:
            self.quarantine(url, "article_parse_error", resp.sha256, str(exc))
            return
        # store_release also stores the figures found in the text (raw.release_figure).
        inserted = int(store_release(self.ctx, record, resp.sha256, column))
        self.summary.new_rows += inserted
        if inserted and changed:
            self.summary.changed_releases += 1
        elif inserted:
            self.summary.new_releases += 1

    # -- helpers ----------------------------------------------------------------------------
    def refuse_listing(self, url: str, reason: str, sha256: str, detail: str) -> None:
        self.quarantine(url, reason, sha256, detail)
        self.layout_failures.append(f"{url} ({reason})")

    def quarantine(self, url: str, reason: str, sha256: str | None, detail: Any) -> None:
        self.ctx.log.warning("moe_zh: quarantined %s: %s", url, reason)
        self.ctx.store.quarantine(source=self.ctx.name, locator=url, reason=reason, sha256=sha256,
                                  detail=detail)
        self.summary.quarantined += 1

    def on_site(self, items: list[ListingItem]) -> list[ListingItem]:
        """Entries on the MOE host, rewritten to the canonical origin; others are counted and dropped.

        Off-site means another scheme (file:, data:), host, port or any userinfo. Entries whose path
        still climbs once resolved (`%2e%2e/`, backslashes) are dropped too: no real link has them.
        """
        hosts = {urlsplit(self.canonical_base).netloc.lower(), urlsplit(self.fetch_base).netloc.lower()}
        kept = []
        for item in items:
            parts = urlsplit(item.url)
            if parts.scheme.lower() not in ("http", "https") or parts.netloc.lower() not in hosts:
                self.off_site += 1
                continue
            path = unquote(parts.path)
            if "\\" in path or any(segment in (".", "..") for segment in path.split("/")):
                self.climbing += 1
                continue
            canonical = urlsplit(self.canonical_base)
            url = urlunsplit((canonical.scheme, canonical.netloc, parts.path, parts.query, ""))
            kept.append(ListingItem(url=url, title=item.title, date=item.date))
        return kept

    def fetch_url(self, canonical_url: str) -> str:
        """Where to fetch a canonical URL from: the same path below the (possibly overridden) base."""
        if self.fetch_base == self.canonical_base or not canonical_url.startswith(self.canonical_base):
            return canonical_url
        return self.fetch_base + canonical_url[len(self.canonical_base):]
