from __future__ import annotations

from collections.abc import Iterator

import pytest

from eduopen.core.config import SourceConfig
from eduopen.core.paths import Home
from ingest.http import PoliteClient
from ingest.raw_store import RawStore
from ingest.sources.base import SourceContext

UA = "EduOpenBot/test"


@pytest.fixture
def landing_ctx(home: Home, monkeypatch: pytest.MonkeyPatch) -> Iterator[SourceContext]:
    """The landing source's context on a fresh home, files taken as soon as they are seen."""
    monkeypatch.delenv("EDUOPEN_LANDING_SETTLE_S", raising=False)
    cfg = SourceConfig.parse("landing", {"base_url": "file:///landing", "settle_s": 0}, {}, UA)
    with RawStore(home) as store:
        yield SourceContext(cfg, store, PoliteClient("landing", user_agent=UA), home)
