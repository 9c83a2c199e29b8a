"""How an ingest run reports its progress: per source, and per page fetched.

The pipeline reports a source starting and finishing; the polite client reports every page it
fetched (each GET that got an answer, 304s and final errors included), so sources report pages
without a line of their own. Whoever runs the ingest renders the events: the CLI draws a rich
progress display on a terminal and writes log lines otherwise; Airflow tasks and tests get
`NO_PROGRESS`. A reporter may be called from the client's threads, so it must be thread-safe.
"""

from __future__ import annotations

from typing import Protocol


class IngestProgress(Protocol):
    def source_started(self, source: str) -> None:
        """`source` is about to run."""

    def page_fetched(self, source: str, url: str, status: int, *, not_modified: bool) -> None:
        """`source`'s client got an answer for `url` (secrets masked); `not_modified` for a 304."""

    def source_finished(self, source: str, *, error: str | None = None) -> None:
        """`source` ended, with the reason it failed when it did."""


class NoProgress:
    """Reports nowhere: the default of every client and of `pipeline.ingest`."""

    def source_started(self, source: str) -> None:
        pass

    def page_fetched(self, source: str, url: str, status: int, *, not_modified: bool) -> None:
        pass

    def source_finished(self, source: str, *, error: str | None = None) -> None:
        pass


NO_PROGRESS: IngestProgress = NoProgress()
