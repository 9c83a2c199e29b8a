"""Cheap change detectors behind the Airflow AssetWatchers (`eduopen/orchestration/triggers.py`).

Two questions, asked every few seconds or minutes by the triggerer, each answered without touching
the raw catalog (that DuckDB file has one writer: the ingest task):

* **Release listings** — has the first page of a release listing (a MOE column, a State Council
  listing, a feed) gained an item URL not seen before? Each first page is requested conditionally
  with the ETag / Last-Modified the watcher itself stored last time, so an unchanged site costs one
  304 per listing. A page that changed is parsed with its source's own `parse_listing` (or
  `parse_feed`); only an item URL that is new to the watcher counts as news, so an edited or
  re-ordered listing does not wake the pipeline (the cron fallback still revisits it). Watermarks
  and seen URLs live in the watcher's own state file, `$EDUOPEN_HOME/state/watch/release_listings.json`.
* **Landing folder** — has a file settled in `$EDUOPEN_HOME/landing/` (the rules of
  `ingest.sources.landing.candidates`, plus the same size and mtime on two polls in a row) that
  was not announced yet?

Politeness as in `ingest.http`: the identifying User-Agent of `sources.yml`, robots.txt obeyed
(through `PoliteClient.is_allowed`), the per-host delay between two requests, short explicit
timeouts and a body cap. No retries: the next poll is the retry.

Everything here is synchronous and free of Airflow, so it is unit-tested on its own; the triggers
call it through `asyncio.to_thread`. The DAG files read `poll_interval_s` at parse time, so the
module itself imports nothing heavy: `requests` and the parsers are imported where they are used.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from eduopen.core.config import LANDING_SETTLE_S, WATCH_POLL_S, Settings, SourceConfig
from eduopen.core.errors import FetchError, ParseError, RobotsDisallowed
from eduopen.core.files import atomic_write_json
from eduopen.core.paths import Home

if TYPE_CHECKING:
    import requests

log = logging.getLogger("eduopen.watch")

# The real sites: ten conditional requests every five minutes is well inside any crawl etiquette.
DEFAULT_RELEASE_POLL_S = 300.0
# The landing folder is a local directory listing: polling it often costs nothing.
DEFAULT_LANDING_POLL_S = 15.0
STATE_VERSION = 1
# First pages list 20-30 items; remembering far more than that only guards against an old item
# scrolling back onto a first page, which would cost one spurious (harmless) pipeline run.
SEEN_PER_LISTING = 500
MAX_LISTING_BYTES = 5_000_000
ROBOTS_TTL_S = 24 * 3600  # RFC 9309 §2.4: a cached robots.txt should not be used for longer
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"

ItemParser = Callable[[bytes, str, str | None], list[str]]  # (body, page URL, Content-Type) -> item URLs


def poll_interval_s(default: float) -> float:
    """`EDUOPEN_WATCH_POLL_S` when set (tests poll every few seconds), else `default`."""
    seconds = WATCH_POLL_S.value()
    return default if seconds is None else seconds


def state_dir(home: Home) -> Path:
    return home.state / "watch"


def added_data(summaries: Iterable[Mapping[str, Any]]) -> bool:
    """Whether an ingest run stored anything a transform would see: new rows, new or changed releases.

    Quarantined items alone do not count: a listed link that never works is re-quarantined on
    every run, and rebuilding the warehouse for it would undo the point of a no-change run.
    """
    keys = ("new_rows", "new_releases", "changed_releases")
    return any(int(summary.get(key) or 0) > 0 for summary in summaries for key in keys)


# -- release listings --------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """The first page of one release listing: where it is fetched and how its item URLs are read."""

    source: str
    name: str
    url: str
    parse: ItemParser = field(compare=False, repr=False)
    accept: str | None = None
    min_delay_s: float = 1.0


def _moe_zh_items(cfg: SourceConfig) -> ItemParser:
    from ingest.sources.moe_zh.listing import DEFAULT_CONTAINER, DEFAULT_ITEM, parse_listing

    selectors: dict[str, Any] = cfg.get("selectors") or {}
    container = selectors.get("listing_container", DEFAULT_CONTAINER)
    item = selectors.get("listing_item", DEFAULT_ITEM)

    def parse(data: bytes, url: str, content_type: str | None) -> list[str]:
        return [it.url for it in parse_listing(data, url, content_type, container=container, item=item)]

    return parse


def _pattern_items(module: str, cfg: SourceConfig) -> ItemParser:
    import importlib
    import re

    listing = importlib.import_module(module)
    pattern = re.compile(cfg.get("article_pattern")) if cfg.get("article_pattern") else listing.ARTICLE_PATH

    def parse(data: bytes, url: str, content_type: str | None) -> list[str]:
        return [it.url for it in listing.parse_listing(data, url, content_type, pattern=pattern)]

    return parse


def _feed_items(data: bytes, url: str, content_type: str | None) -> list[str]:
    from ingest.sources.feeds.parse import parse_feed

    return [entry.url for entry in parse_feed(data, url, content_type).entries]


def _column_first_pages(cfg: SourceConfig, first_page: str) -> list[tuple[str, str]]:
    """(name, first page URL below the fetch base) of each configured column."""
    pagination: dict[str, Any] = cfg.get("pagination") or {}
    first = str(pagination.get("first", first_page))
    out = []
    for entry in cfg.get("columns") or []:
        path = "/" + str(entry["path"]).strip("/") + "/"
        out.append((str(entry.get("name") or path.strip("/")), urljoin(cfg.base_url + path, first)))
    return out


def _feed_urls(cfg: SourceConfig) -> list[tuple[str, str]]:
    """(name, fetch URL) of each configured feed, resolved as `ingest.sources.feeds` does."""
    out = []
    for entry in cfg.get("urls") or []:
        spec = entry if isinstance(entry, dict) else {"url": entry}
        raw = str(spec["url"]).strip()
        url = raw if urlsplit(raw).scheme else cfg.base_url + "/" + raw.lstrip("/")
        out.append((str(spec.get("name") or urlsplit(url).path.rsplit("/", 1)[-1]), url))
    return out


def release_listings(settings: Settings, sources: Sequence[str] | None = None) -> list[Listing]:
    """The first pages to watch for every `kind: releases` source (or the `sources` given).

    A release source of a kind this module cannot read yet is logged and left to the cron fallback.
    """
    names = list(sources) if sources else [n for n in settings.source_names() if settings.source(n).kind == "releases"]
    listings: list[Listing] = []
    for name in names:
        cfg = settings.source(name)
        delay = cfg.min_delay_s
        if name == "moe_zh":
            parse = _moe_zh_items(cfg)
            pages = _column_first_pages(cfg, "index.html")
        elif name in ("moe_en", "gov_en"):
            parse = _pattern_items(f"ingest.sources.{name}.listing", cfg)
            pages = _column_first_pages(cfg, "index.html" if name == "moe_en" else "")
        elif name == "feeds":
            feeds = _feed_urls(cfg)
            listings += [Listing(name, feed, url, _feed_items, FEED_ACCEPT, delay) for feed, url in feeds]
            continue
        else:
            log.warning("watch: no listing watcher for release source %s; only the cron fallback fetches it", name)
            continue
        listings += [Listing(name, column, url, parse, None, delay) for column, url in pages]
    return listings


@dataclass(frozen=True)
class Fetched:
    """One answer to a listing request: 304, or 200 with its (capped) body and validators."""

    url: str
    not_modified: bool
    content: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None


class ListingFetcher:
    """Conditional GET of small pages, politely: User-Agent, robots.txt, per-host delay, timeouts.

    robots.txt is read through `ingest.http.PoliteClient.is_allowed` (no raw store behind it), and
    re-read once a day. `sleep` and `clock` are attributes so tests can record waits.
    """

    def __init__(
        self,
        user_agent: str,
        *,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 10.0,
        max_bytes: int = MAX_LISTING_BYTES,
        respect_robots: bool = True,
        session: requests.Session | None = None,
    ):
        import requests

        if not user_agent.strip():
            raise ValueError("an identifying user_agent is required")
        self.user_agent = user_agent
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.max_bytes = max_bytes
        self.respect_robots = respect_robots
        self.session = session or requests.Session()
        self.sleep: Callable[[float], None] = time.sleep
        self.clock: Callable[[], float] = time.monotonic
        self.request_count = 0
        self.conditional_count = 0
        self._last_request: dict[str, float] = {}
        self._robots: Any = None
        self._robots_since = 0.0
        self._lock = threading.Lock()

    def close(self) -> None:
        self.session.close()
        if self._robots is not None:
            self._robots.close()

    def _robots_client(self) -> Any:
        from ingest.http import PoliteClient

        now = self.clock()
        if self._robots is None or now - self._robots_since > ROBOTS_TTL_S:
            if self._robots is not None:
                self._robots.close()
            connect, read = self.timeout
            self._robots = PoliteClient(
                "watch",
                user_agent=self.user_agent,
                min_delay_s=0,
                connect_timeout_s=connect,
                read_timeout_s=read,
                max_retries=0,
            )
            self._robots_since = now
        return self._robots

    def _wait_for_host(self, url: str, min_delay_s: float) -> None:
        host = urlsplit(url).netloc.lower()
        delay = max(min_delay_s, self._robots.host_delay_s(url) if self._robots is not None else 0.0)
        with self._lock:
            last = self._last_request.get(host)
            now = self.clock()
            slot = now if last is None else max(now, last + delay)
            self._last_request[host] = slot
        if slot > now:
            self.sleep(slot - now)

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        min_delay_s: float = 1.0,
    ) -> Fetched:
        """GET `url`, conditionally when validators are given. Raises FetchError / RobotsDisallowed."""
        import requests

        from ingest.http import conditional_headers

        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchError(f"refusing non-http(s) URL {url}", url=url)
        if self.respect_robots and not self._robots_client().is_allowed(url):
            raise RobotsDisallowed(f"robots.txt of {urlsplit(url).netloc} disallows {url}", url=url)
        self._wait_for_host(url, min_delay_s)
        headers = {"User-Agent": self.user_agent}
        if accept:
            headers["Accept"] = accept
        headers.update(conditional_headers(etag, last_modified))
        self.request_count += 1
        self.conditional_count += int(bool(etag or last_modified))
        try:
            # Redirects are not followed: a listing that moved is a configuration change, and
            # following it here would bypass the host allow-list of the ingest client.
            resp = self.session.get(url, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False)
        except requests.RequestException as exc:
            raise FetchError(f"GET {url}: {type(exc).__name__}: {exc}", url=url) from exc
        with resp:
            if resp.status_code == 304:
                return Fetched(
                    url,
                    True,
                    etag=resp.headers.get("ETag") or etag,
                    last_modified=resp.headers.get("Last-Modified") or last_modified,
                )
            if resp.status_code != 200:
                raise FetchError(f"GET {url}: HTTP {resp.status_code}", url=url, status=resp.status_code)
            body = bytearray()
            try:
                for chunk in resp.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise FetchError(f"GET {url}: listing larger than {self.max_bytes} bytes", url=url)
            except requests.RequestException as exc:
                raise FetchError(f"GET {url}: body interrupted ({type(exc).__name__})", url=url) from exc
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and len(body) < int(declared):
                raise FetchError(f"GET {url}: truncated body ({len(body)} of {declared} bytes)", url=url)
            return Fetched(
                url,
                False,
                bytes(body),
                resp.headers.get("Content-Type"),
                resp.headers.get("ETag"),
                resp.headers.get("Last-Modified"),
            )


@dataclass
class ListingPoll:
    """What one poll over every watched listing found."""

    new_items: dict[str, list[str]] = field(default_factory=dict)  # source -> new item URLs
    checked: int = 0
    unchanged: int = 0
    changed: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def fired(self) -> bool:
        return any(self.new_items.values())

    def payload(self) -> dict[str, Any]:
        """JSON for the TriggerEvent, kept small: it lands in the Asset event's `extra`."""
        urls = [url for items in self.new_items.values() for url in items]
        return {
            "new_items": len(urls),
            "by_source": {source: len(items) for source, items in self.new_items.items() if items},
            "sample": urls[:5],
            "listings_checked": self.checked,
            "listings_changed": self.changed,
        }


class ReleaseListingWatch:
    """Polls the listings' first pages; remembers validators and seen item URLs in `state_path`."""

    def __init__(self, listings: Sequence[Listing], state_path: Path, fetcher: ListingFetcher):
        self.listings = list(listings)
        self.state_path = state_path
        self.fetcher = fetcher
        self.state: dict[str, dict[str, Any]] = self._load()

    @classmethod
    def from_config(
        cls, home: Home, sources: Sequence[str] | None = None, settings: Settings | None = None
    ) -> ReleaseListingWatch:
        settings = settings or Settings.load()
        return cls(
            release_listings(settings, sources),
            state_dir(home) / "release_listings.json",
            ListingFetcher(settings.user_agent),
        )

    def close(self) -> None:
        self.fetcher.close()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            # A corrupt state file costs one full fetch of each listing and one wake-up, no more.
            log.warning("watch: ignoring unreadable state %s (%s)", self.state_path, exc)
            return {}
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            return {}
        return dict(data.get("listings") or {})

    def _save(self) -> None:
        atomic_write_json(self.state_path, {"version": STATE_VERSION, "listings": self.state}, indent=1, sort_keys=True)

    def poll(self) -> ListingPoll:
        """Check every listing once; the state file is updated before returning."""
        started = time.monotonic()
        result = ListingPoll()
        dirty = False
        for listing in self.listings:
            result.checked += 1
            entry = self.state.get(listing.url) or {}
            try:
                fetched = self.fetcher.get(
                    listing.url,
                    etag=entry.get("etag"),
                    last_modified=entry.get("last_modified"),
                    accept=listing.accept,
                    min_delay_s=listing.min_delay_s,
                )
            except FetchError as exc:
                result.failed.append(f"{listing.source}/{listing.name}: {exc}")
                continue
            if fetched.not_modified:
                result.unchanged += 1
                continue
            result.changed += 1
            try:
                items = listing.parse(fetched.content, listing.url, fetched.content_type)
            except ParseError as exc:
                # Validators are not kept: the page is read again next poll, in case it was cut short.
                result.failed.append(f"{listing.source}/{listing.name}: {exc}")
                continue
            seen = list(entry.get("seen") or [])
            known = set(seen)
            new = [url for url in dict.fromkeys(items) if url not in known]
            if new:
                result.new_items.setdefault(listing.source, []).extend(new)
            self.state[listing.url] = {
                "source": listing.source,
                "name": listing.name,
                "etag": fetched.etag,
                "last_modified": fetched.last_modified,
                "seen": (seen + new)[-SEEN_PER_LISTING:],
                "changed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            dirty = True
        if dirty:
            self._save()
        result.seconds = round(time.monotonic() - started, 3)
        return result


# -- landing folder ----------------------------------------------------------------------------


def landing_settle_s(settings: Settings | None = None) -> float:
    """The settle time of the landing ingest: `EDUOPEN_LANDING_SETTLE_S`, else `landing.settle_s`."""
    from ingest.sources.landing import DEFAULT_SETTLE_S

    override = LANDING_SETTLE_S.value()
    if override is not None:
        return override
    settings = settings or Settings.load()
    if "landing" in settings.data.sources:
        return float(settings.source("landing").get("settle_s", DEFAULT_SETTLE_S))
    return DEFAULT_SETTLE_S


Signature = tuple[int, int]  # (size, mtime_ns)


class LandingWatch:
    """Announces each file of the landing folder once, after it has settled.

    Settled: what the landing ingest would take (`ingest.sources.landing.candidates`: a regular,
    non-hidden file directly in the folder, not modified for `settle_s`), and seen with the same
    size and mtime at the previous poll, so a copy in progress that keeps an old mtime is not
    announced half-written. Announcements are remembered in memory only: after a triggerer
    restart a file still waiting in the folder is announced again, which is what it needs (the
    ingest moves every file it read to `processed/` or `rejected/`, and skips known bytes).
    """

    def __init__(self, folder: Path, *, settle_s: float):
        self.folder = folder
        self.settle_s = settle_s
        self._previous: dict[str, Signature] = {}
        self._announced: dict[str, Signature] = {}

    @classmethod
    def from_config(cls, home: Home, settle_s: float | None = None) -> LandingWatch:
        return cls(home.landing, settle_s=landing_settle_s() if settle_s is None else settle_s)

    def _signatures(self) -> dict[str, Signature]:
        out: dict[str, Signature] = {}
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return out
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISREG(info.st_mode):
                out[entry.name] = (info.st_size, info.st_mtime_ns)
        return out

    def poll(self, now: float | None = None) -> list[str]:
        """Names of files that settled since the last poll and were not announced yet."""
        from ingest.sources.landing import candidates

        current = self._signatures()
        ready, _waiting = candidates(self.folder, settle_s=self.settle_s, now=now)
        fresh = []
        for path in ready:
            signature = current.get(path.name)
            if signature is None or self._previous.get(path.name) != signature:
                continue  # first sighting (or changed since): confirm at the next poll
            if self._announced.get(path.name) != signature:
                fresh.append(path.name)
                self._announced[path.name] = signature
        # Files gone (processed, rejected, deleted) are forgotten; a new drop under the same name
        # is a new file.
        self._announced = {name: sig for name, sig in self._announced.items() if name in current}
        self._previous = current
        return fresh


def landing_payload(names: Sequence[str]) -> dict[str, Any]:
    return {"files": len(names), "names": list(names)[:20]}
