"""Airflow event triggers behind EduOpen's AssetWatchers: new releases listed, a file landed.

The DAG files build these at parse time, so this module imports nothing heavy: Airflow's trigger
base class and `eduopen.orchestration.watch`, whose HTTP client and parsers are imported only when a poll runs,
in the triggerer. Every blocking call runs in a worker thread (`asyncio.to_thread`), so one slow
site never stalls the triggerer's event loop.

Each trigger polls forever and yields a `TriggerEvent` whenever its detector reports something
new; Airflow turns each event into an Asset event on the watched Asset, which schedules the DAG.
A failed poll (site down, bad config) is logged and retried at the next interval: an exception
escaping `run()` would stop the watcher until the triggerer restarts it.

Only serializable values are kwargs (`serialize()`), and only those that define the watch: the
EduOpen home and the source URLs are read from the triggerer's environment when it runs, so a
mirror or a replay (`EDUOPEN_<SOURCE>_URL`) does not change the trigger's identity.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from eduopen.core.paths import Home
from eduopen.orchestration.watch import (
    DEFAULT_LANDING_POLL_S,
    DEFAULT_RELEASE_POLL_S,
    LandingWatch,
    ReleaseListingWatch,
    landing_payload,
)


def _home(root: str | None) -> Home:
    return Home(Path(root).resolve()) if root else Home.from_env()


class ReleaseListingTrigger(BaseEventTrigger):
    """Fires when a release listing's first page lists an item URL the watcher has not seen.

    :param sources: sources to watch (default: every enabled source; those a watcher cannot poll
        state no listings, see `ingest.sources.base.Source`).
    :param poll_interval: seconds between two polls of all listings.
    :param home: EduOpen home holding the watcher's state (default: `$EDUOPEN_HOME` at run time).
    """

    def __init__(
        self,
        *,
        sources: list[str] | None = None,
        poll_interval: float = DEFAULT_RELEASE_POLL_S,
        home: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.sources = list(sources) if sources else None
        self.poll_interval = float(poll_interval)
        self.home = home

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"sources": self.sources, "poll_interval": self.poll_interval, "home": self.home},
        )

    def _open(self) -> ReleaseListingWatch:
        return ReleaseListingWatch.from_config(_home(self.home), self.sources)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        watch: Any = None
        try:
            while True:
                try:
                    if watch is None:
                        watch = await asyncio.to_thread(self._open)
                    else:
                        # The triggerer hands a yielded event to the metadata DB within about a
                        # second; a poll interval later it is recorded, so its items stop being
                        # pending (a restart before this announces them again).
                        await asyncio.to_thread(watch.confirm_announced)
                    result = await asyncio.to_thread(watch.poll)
                except Exception as exc:  # a watcher must outlive any one bad poll
                    self.log.warning("release listing watch: poll failed: %s: %s", type(exc).__name__, exc)
                else:
                    for failure in result.failed:
                        self.log.warning("release listing watch: %s", failure)
                    if result.fired:
                        payload = result.payload()
                        self.log.info(
                            "release listing watch: %d new item(s): %s", payload["new_items"], payload["by_source"]
                        )
                        yield TriggerEvent(payload)
                await asyncio.sleep(self.poll_interval)
        finally:
            if watch is not None:
                watch.close()


class LandingFolderTrigger(BaseEventTrigger):
    """Fires when a new file has settled in the landing folder (`$EDUOPEN_HOME/landing`).

    :param poll_interval: seconds between two listings of the folder.
    :param settle_s: how long a file must stay unmodified (default: the landing source's setting).
    :param home: EduOpen home (default: `$EDUOPEN_HOME` at run time).
    """

    def __init__(
        self,
        *,
        poll_interval: float = DEFAULT_LANDING_POLL_S,
        settle_s: float | None = None,
        home: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.poll_interval = float(poll_interval)
        self.settle_s = None if settle_s is None else float(settle_s)
        self.home = home

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"poll_interval": self.poll_interval, "settle_s": self.settle_s, "home": self.home},
        )

    def _open(self) -> LandingWatch:
        return LandingWatch.from_config(_home(self.home), self.settle_s)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        watch: Any = None
        while True:
            try:
                if watch is None:
                    watch = await asyncio.to_thread(self._open)
                names = await asyncio.to_thread(watch.poll)
            except Exception as exc:  # a watcher must outlive any one bad poll
                self.log.warning("landing watch: poll failed: %s: %s", type(exc).__name__, exc)
            else:
                if names:
                    self.log.info("landing watch: %d new file(s): %s", len(names), ", ".join(names[:5]))
                    yield TriggerEvent(landing_payload(names))
            await asyncio.sleep(self.poll_interval)
