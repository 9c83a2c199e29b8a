"""Source adapters, one folder each. `REGISTRY` maps a source name to its `run(ctx)` function."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.sources.base import IngestSummary, SourceContext

# name in sources.yml -> module under ingest.sources that defines `run(ctx) -> IngestSummary`
MODULES: dict[str, str] = {
    "moe_zh": "ingest.sources.moe_zh",
    "moe_en": "ingest.sources.moe_en",
    "gov_en": "ingest.sources.gov_en",
    "feeds": "ingest.sources.feeds",
    "uis": "ingest.sources.uis",
    "worldbank": "ingest.sources.worldbank",
    "oecd": "ingest.sources.oecd",
    "landing": "ingest.sources.landing",
}


def runner(name: str) -> Callable[[SourceContext], IngestSummary]:
    module = importlib.import_module(MODULES[name])
    return module.run
