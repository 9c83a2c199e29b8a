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
    "uis": "ingest.sources.uis",
}


def runner(name: str) -> Callable[[SourceContext], IngestSummary]:
    module = importlib.import_module(MODULES[name])
    return module.run
