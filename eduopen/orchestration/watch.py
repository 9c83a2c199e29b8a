"""Cheap change detectors behind the Airflow AssetWatchers (`eduopen/orchestration/triggers.py`).

Two questions, asked every few seconds or minutes by the triggerer, each answered without touching
the raw catalog (that DuckDB file has one writer: the ingest task):

* **Release listings** — has the first page of a release listing (a MOE column, a State Council
  listing, a feed) gained an item URL not seen before? Each first page is requested conditionally
  with the ETag / Last-Modified the watcher itself stored last time, so an unchanged site costs one
  304 per listing. Which pages, and how item URLs are read from them, each source states itself
  (`Source.listings` in `ingest.sources.base`); this module knows no source by name. Only an item
  URL that is new to the watcher counts as news, so an edited or re-ordered listing does not wake
  the pipeline (the cron fallback still revisits it). Watermarks and seen URLs live in the
  watcher's own state file, `$EDUOPEN_HOME/state/watch/release_listings.json`, with the new URLs
  announced but not yet confirmed delivered: a triggerer killed between the poll that saw a release
  and the Asset event reaching the metadata DB announces it again after its restart (at least once;
  the ingest skips what it already has, so a repeat costs one no-change run, never a lost release).
* **Landing folder** — has a file settled in `$EDUOPEN_HOME/landing/` (the rules of
  `ingest.sources.landing.candidates`, plus the same size and mtime on two polls in a row) that
  was not announced yet?

Every request goes through the source's own `ingest.http.PoliteClient`, configured from
`sources.yml` as for a run (User-Agent, robots.txt, per-host delay, timeouts, allowed hosts, size
and truncation checks), but without a raw store, so nothing is recorded, and without retries: the
next poll is the retry.

Everything here is synchronous and free of Airflow, so it is unit-tested on its own; the triggers
call it through `asyncio.to_thread`. The DAG files read `poll_interval_s` at parse time, so the
module itself imports nothing heavy: `requests` and the parsers are imported where they are used.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eduopen.core.config import WATCH_POLL_S, Settings, SourceConfig
from eduopen.core.errors import FetchError, ParseError
from eduopen.core.files import atomic_write_json
from eduopen.core.paths import Home

if TYPE_CHECKING:
    from ingest.http import PoliteClient
    from ingest.sources import Registry
    from ingest.sources.base import ItemReader

log = logging.getLogger("eduopen.watch")

# The real sites: ten conditional requests every five minutes is well inside any crawl etiquette.
DEFAULT_RELEASE_POLL_S = 300.0
# The landing folder is a local directory listing: polling it often costs nothing.
DEFAULT_LANDING_POLL_S = 15.0
STATE_VERSION = 1
# First pages list 20-30 items; remembering far more than that only guards against an old item
# scrolling back onto a first page, which would cost one spurious (harmless) pipeline run.
SEEN_PER_LISTING = 500
# A first page lists a few dozen items; anything far larger is not the page the watcher expects.
MAX_LISTING_BYTES = 5_000_000
ROBOTS_TTL_S = 24 * 3600  # RFC 9309 §2.4: a cached robots.txt should not be used for longer


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
    parse: ItemReader = field(compare=False, repr=False)
    accept: str | None = None


def release_listings(
    settings: Settings, sources: Sequence[str] | None = None, registry: Registry | None = None
) -> list[Listing]:
    """The pages to watch of every enabled source (or of the `sources` given), as each source states.

    Every enabled source's settings are checked first: a misspelt key stops the watcher as it stops
    a run. A source that is not watched states no pages; the cron schedule fetches it.
    """
    from ingest.sources import REGISTRY

    registry = registry or REGISTRY
    registry.check_settings(settings)
    names = list(sources) if sources else settings.source_names()
    listings: list[Listing] = []
    for name in names:
        for page in registry.source(name).listings(settings.source(name)):
            listings.append(Listing(name, page.label, page.url, page.read_items, page.accept))
    return listings


def watch_client(cfg: SourceConfig) -> PoliteClient:
    """The source's polite client as a watcher uses it: without a raw store, and without retries.

    No store: the triggerer must not open the raw catalog, whose one writer is the ingest. No
    retries: the next poll is the retry, and a poll must not sit out a long backoff. The body cap
    is a listing's, far below an article's or a data download's.
    """
    from ingest.http import PoliteClient

    client = PoliteClient.for_source(cfg, None)
    client.max_retries = 0
    client.max_bytes = min(client.max_bytes, MAX_LISTING_BYTES)
    return client


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
    """Polls the listings' first pages; remembers validators and seen item URLs in `state_path`.

    Each source's pages go through that source's polite client (`client_for(source)`), made anew
    once a day so robots.txt is read again.

    A new item URL is saved as seen and as pending in one write. It stays pending until
    `confirm_announced()` says the event announcing it was delivered; a watcher started on a state
    file with pending items announces them again at its first poll.
    """

    def __init__(self, listings: Sequence[Listing], state_path: Path, client_for: Callable[[str], PoliteClient]):
        self.listings = list(listings)
        self.state_path = state_path
        self.client_for = client_for
        self.clock: Callable[[], float] = time.monotonic
        self._clients: dict[str, tuple[float, PoliteClient]] = {}
        self.state: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, list[str]] = {}  # source -> item URLs announced, delivery unconfirmed
        self._announced: set[tuple[str, str]] = set()  # (source, URL) announced by this process
        self._load()

    @classmethod
    def from_config(
        cls, home: Home, sources: Sequence[str] | None = None, settings: Settings | None = None
    ) -> ReleaseListingWatch:
        settings = settings or Settings.load()
        return cls(
            release_listings(settings, sources),
            state_dir(home) / "release_listings.json",
            lambda source: watch_client(settings.source(source)),
        )

    def client(self, source: str) -> PoliteClient:
        now = self.clock()
        made = self._clients.get(source)
        if made is not None and now - made[0] <= ROBOTS_TTL_S:
            return made[1]
        if made is not None:
            made[1].close()
        client = self.client_for(source)
        self._clients[source] = (now, client)
        return client

    def close(self) -> None:
        for _made, client in self._clients.values():
            client.close()
        self._clients.clear()

    def _load(self) -> None:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            # A corrupt state file costs one full fetch of each listing and one wake-up, no more.
            log.warning("watch: ignoring unreadable state %s (%s)", self.state_path, exc)
            return
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            return
        self.state = dict(data.get("listings") or {})
        self.pending = {str(source): list(urls) for source, urls in (data.get("pending") or {}).items() if urls}

    def _save(self) -> None:
        atomic_write_json(
            self.state_path,
            {"version": STATE_VERSION, "listings": self.state, "pending": self.pending},
            indent=1,
            sort_keys=True,
        )

    def confirm_announced(self) -> None:
        """The events of every earlier poll were delivered: their items are no longer pending."""
        if not self._announced:
            return
        self.pending = {
            source: kept
            for source, urls in self.pending.items()
            if (kept := [url for url in urls if (source, url) not in self._announced])
        }
        self._announced.clear()
        self._save()

    def poll(self) -> ListingPoll:
        """Check every listing once; the state file is updated before returning.

        The result's new items are the pending ones not announced by this process yet (left by a
        watcher that stopped before its event was confirmed), then those first seen now.
        """
        started = time.monotonic()
        result = ListingPoll()
        for source, urls in self.pending.items():
            carried = [url for url in urls if (source, url) not in self._announced]
            if carried:
                result.new_items.setdefault(source, []).extend(carried)
        dirty = False
        for listing in self.listings:
            result.checked += 1
            entry = self.state.get(listing.url) or {}
            try:
                fetched = self.client(listing.source).get_with_validators(
                    listing.url,
                    etag=entry.get("etag"),
                    last_modified=entry.get("last_modified"),
                    accept=listing.accept,
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
                self.pending.setdefault(listing.source, []).extend(new)
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
        self._announced.update((source, url) for source, urls in result.new_items.items() for url in urls)
        result.seconds = round(time.monotonic() - started, 3)
        return result


# -- landing folder ----------------------------------------------------------------------------


def landing_settle_s(settings: Settings | None = None) -> float:
    """The settle time of the landing ingest: `EDUOPEN_LANDING_SETTLE_S`, else `landing.settle_s`.

    Every enabled source's settings are checked first, as at the start of a run.
    """
    from ingest.sources import REGISTRY
    from ingest.sources.landing import Options, settle_seconds

    settings = settings or Settings.load()
    REGISTRY.check_settings(settings)
    if "landing" not in settings.data.sources:
        return settle_seconds(Options())
    return settle_seconds(REGISTRY.source("landing").options_of(settings.source("landing")))


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
    def from_config(cls, home: Home, settle_s: float | None = None, settings: Settings | None = None) -> LandingWatch:
        """The watch of `home`'s landing folder; the settings are checked even when `settle_s` is given."""
        settle = landing_settle_s(settings)
        return cls(home.landing, settle_s=settle if settle_s is None else settle_s)

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
