"""RSS 2.0 / Atom 1.0 feeds listed in config (`feeds.urls` in sources.yml): one release per entry.

Each configured feed is `{url, name, language?}`; `url` is a path below the source's `base_url`
(overridden by `EDUOPEN_FEEDS_URL`, as the replay does) or an absolute URL (its host must then be
in `feeds.allowed_hosts`). `name` becomes the release's `listing_column`.

Cursor: the feed document is requested conditionally; a 304 means nothing to do once the last
run finished reading that document (`feed_complete:<feed url>` in `source_cursor` holds its
sha256), else the stored document is read again, so a run that crashed half-way loses nothing.
An entry is known by
its link; it is stored again only when the sha256 of its normalised content changed (see
`feeds.parse`), and that normalised content is kept in the blob store under that sha256, so
`content_sha256` stays a blob key as for every other release. Entries older than the horizon are
skipped; an entry listed twice (in one feed or in two) is stored once, under the first feed.

Dates: an entry without its own date gets the feed's updated date, else the day it was first seen,
and the row says so in `content_source` (`published_at:feed_updated` / `published_at:first_seen`).

A run given `since` reads every feed document, unchanged or not, and stores the entries dated from
that day on that it does not hold yet (a feed lists only its latest entries: nothing older is had),
leaving the cursor as it was for the next regular run.

Failures: a feed that cannot be fetched or is no feed (cut off, HTML) is quarantined and the run
raises SourceError after the other feeds; an unusable entry (no link) is quarantined and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from eduopen.core.config import SourceConfig
from eduopen.core.errors import FetchError, ParseError, RobotsDisallowed, SourceError
from ingest.sources.base import Source, WatchedListing
from ingest.sources.feeds.parse import DATE_OWN, entry_language, entry_record, parse_feed
from ingest.sources.html_article import SHANGHAI
from ingest.sources.releases import ReleaseOptions, horizon_cutoff, store_release, today_for

if TYPE_CHECKING:
    from ingest.sources.base import IngestSummary, SourceContext
    from ingest.sources.feeds.parse import FeedEntry, ParsedFeed

__all__ = ["SOURCE", "parse_feed", "run"]

# source_cursor key (+ feed URL): sha256 of the last feed document read to the end.
COMPLETE_CURSOR = "feed_complete:"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"


class FeedSetting(BaseModel):
    """One configured feed: a path below `base_url` or an absolute URL, its name, its language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    name: str | None = None
    language: str | None = None


class Options(ReleaseOptions):
    urls: list[FeedSetting | str] = []


def run(ctx: SourceContext, *, today: date | None = None) -> IngestSummary:
    """Fetch every configured feed and store its new or changed entries in `raw.release_version`.

    Raises SourceError (after the other feeds) when a feed cannot be fetched or parsed.
    """
    from ingest.sources.base import IngestSummary

    options = SOURCE.options_of(ctx.config)
    return _FeedRun(ctx, IngestSummary(source=ctx.name), today_for(ctx, today), options).run()


@dataclass(frozen=True)
class _Feed:
    name: str
    url: str  # canonical
    fetch_url: str
    language: str | None


def configured_feeds(options: Options, *, canonical_base: str, fetch_base: str) -> list[_Feed]:
    """The configured feeds; a path is below the base, an absolute URL is fetched where it says."""
    out = []
    for spec in options.urls:
        spec = FeedSetting(url=spec) if isinstance(spec, str) else spec
        raw_url = spec.url.strip()
        if urlsplit(raw_url).scheme:
            canonical = fetch = raw_url
        else:
            path = "/" + raw_url.lstrip("/")
            canonical, fetch = canonical_base + path, fetch_base + path
        name = spec.name or urlsplit(canonical).path.rsplit("/", 1)[-1]
        out.append(_Feed(name=name, url=canonical, fetch_url=fetch, language=spec.language))
    return out


class _FeedRun:
    def __init__(self, ctx: SourceContext, summary: IngestSummary, today: date, options: Options):
        self.ctx = ctx
        self.summary = summary
        cfg = ctx.config
        self.fetch_base = cfg.base_url
        self.canonical_base = cfg.canonical_base_url
        self.since = ctx.since
        self.cutoff = ctx.since or horizon_cutoff(today, options.horizon_days)
        self.configured = configured_feeds(options, canonical_base=self.canonical_base, fetch_base=self.fetch_base)
        con = ctx.store.con
        self.versions: set[tuple[str, str]] = {
            (url, sha)
            for url, sha in con.execute(
                "select url, content_sha256 from release_version where source = ?", [ctx.name]
            ).fetchall()
        }
        self.first_seen: dict[str, datetime] = dict(
            con.execute(
                "select url, min(first_seen_at) from release_version where source = ? group by url", [ctx.name]
            ).fetchall()
        )
        self.handled: set[str] = set()
        self.failures: list[str] = []
        self.old = 0
        self.inferred_dates = 0

    def run(self) -> IngestSummary:
        started = self.ctx.http.request_count
        for feed in self.feeds():
            self.ingest_feed(feed)
        self.summary.requests = self.ctx.http.request_count - started
        if self.old:
            self.summary.notes.append(f"{self.old} entries older than the horizon skipped")
        if self.inferred_dates:
            self.summary.notes.append(f"{self.inferred_dates} new entries without their own date")
        self.ctx.log.info("feeds: %s", self.summary.as_dict())
        if self.failures:
            raise SourceError(
                f"feeds: {len(self.failures)} feed(s) could not be read (quarantined): "
                f"{'; '.join(self.failures)}. Check feeds.urls in sources.yml and re-run."
            )
        return self.summary

    def feeds(self) -> list[_Feed]:
        if not self.configured:
            raise SourceError("feeds: no feeds configured (feeds.urls in sources.yml)")
        return self.configured

    def ingest_feed(self, feed: _Feed) -> None:
        try:
            resp = self.ctx.http.get(feed.fetch_url, conditional=True, accept=ACCEPT)
        except RobotsDisallowed as exc:
            self.refuse(feed, "robots_disallowed", None, str(exc))
            return
        except FetchError as exc:
            self.refuse(feed, "feed_fetch_failed", None, {"status": exc.status, "error": str(exc)})
            return
        key = COMPLETE_CURSOR + feed.url
        if resp.not_modified:
            self.summary.not_modified += 1
            if self.ctx.store.get_cursor(self.ctx.name, key) == resp.sha256 and self.since is None:
                self.summary.notes.append(f"{feed.name}: unchanged")
                return
            self.summary.notes.append(f"{feed.name}: unchanged, finishing the last read")
        if self.since is None:
            self.ctx.store.set_cursor(self.ctx.name, key, "")
        try:
            parsed = parse_feed(resp.content, feed.url, resp.headers.get("Content-Type"))
        except ParseError as exc:
            self.refuse(feed, "feed_unparseable", resp.sha256, str(exc))
            return
        if parsed.malformed:
            self.summary.notes.append(f"{feed.name}: malformed XML read leniently ({parsed.malformed[:120]})")
        for reason in parsed.dropped:
            self.quarantine(feed.url, "feed_entry_unusable", resp.sha256, reason)
        if not parsed.entries and not parsed.dropped:
            self.summary.notes.append(f"{feed.name}: the feed lists no entries")
        for entry in parsed.entries:
            self.ingest_entry(entry, feed, parsed)
        if self.since is None:
            self.ctx.store.set_cursor(self.ctx.name, key, resp.sha256)

    def ingest_entry(self, entry: FeedEntry, feed: _Feed, parsed: ParsedFeed) -> None:
        if entry.url in self.handled:
            return
        self.handled.add(entry.url)
        # The horizon is counted in Beijing days, like the listing dates of the other sources.
        if entry.published_at is not None and entry.published_at.astimezone(SHANGHAI).date() < self.cutoff:
            self.old += 1
            return
        sha = entry.content_sha256
        if (entry.url, sha) in self.versions:
            return
        now = datetime.now(UTC)
        language = entry_language(feed.language, parsed.language, entry)
        record, basis = entry_record(
            entry, language=language, feed=parsed, first_seen_at=self.first_seen.get(entry.url, now)
        )
        stored = self.ctx.store.put(entry.normalised())
        assert stored == sha
        changed = entry.url in self.first_seen
        if not store_release(self.ctx, record, sha, feed.name, first_seen_at=now):
            return
        self.versions.add((entry.url, sha))
        self.first_seen.setdefault(entry.url, now)
        self.summary.new_rows += 1
        if changed:
            self.summary.changed_releases += 1
        else:
            self.summary.new_releases += 1
            if basis != DATE_OWN:
                self.inferred_dates += 1

    def refuse(self, feed: _Feed, reason: str, sha256: str | None, detail: Any) -> None:
        self.quarantine(feed.url, reason, sha256, detail)
        self.failures.append(f"{feed.name} ({reason})")

    def quarantine(self, locator: str, reason: str, sha256: str | None, detail: Any) -> None:
        self.ctx.log.warning("feeds: quarantined %s: %s", locator, reason)
        self.ctx.store.quarantine(source=self.ctx.name, locator=locator, reason=reason, sha256=sha256, detail=detail)
        self.summary.quarantined += 1


def feed_item_urls(data: bytes, url: str, content_type: str | None) -> list[str]:
    return [entry.url for entry in parse_feed(data, url, content_type).entries]


def watched(cfg: SourceConfig, options: Options) -> list[WatchedListing]:
    """Every configured feed, fetched where the run fetches it; its entries' links are the items."""
    feeds = configured_feeds(options, canonical_base=cfg.base_url, fetch_base=cfg.base_url)
    return [WatchedListing(feed.name, feed.fetch_url, feed_item_urls, ACCEPT) for feed in feeds]


SOURCE = Source(kind="releases", options=Options, run=run, watch=watched, supports_since=True)
