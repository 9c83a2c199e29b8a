"""What every source adapter receives and returns."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from eduopen.core.config import SourceConfig
from eduopen.core.paths import Home

if TYPE_CHECKING:  # keep parsers importable without the HTTP stack
    from ingest.http import PoliteClient
    from ingest.raw_store import RawStore


@dataclass
class SourceContext:
    """Everything a source needs to run once: its config, the raw store and a polite client."""

    config: SourceConfig
    store: RawStore
    client: PoliteClient | None  # None for sources that read files, not HTTP
    home: Home

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"eduopen.sources.{self.config.name}")


@dataclass
class IngestSummary:
    """What one run of one source did; printed by the CLI and returned to Airflow as XCom."""

    source: str
    requests: int = 0
    not_modified: int = 0
    new_rows: int = 0
    new_releases: int = 0
    changed_releases: int = 0
    quarantined: int = 0
    skipped_reason: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}
