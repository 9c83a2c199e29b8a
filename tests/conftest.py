"""Shared fixtures: an isolated EDUOPEN_HOME, the replay server, and the real recorded data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_DIR.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """`../shared/data` (real recorded responses); tests using it skip cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data (real recorded responses) is not present")
    return SHARED_DATA


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh EDUOPEN_HOME for one test."""
    from ingest.config import Home

    root = tmp_path / "home"
    monkeypatch.setenv("EDUOPEN_HOME", str(root))
    return Home(root).ensure()


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """The recorded bundle served on loopback, every source pointed at it."""
    from ingest.config import Settings
    from ingest.replay.server import ReplayServer

    with ReplayServer() as server:
        missing = server.unreplayed(Settings.load().network_source_names())
        assert not missing, f"sources without a replay bundle would reach the live web: {missing}"
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("EDUOPEN_MIN_DELAY_S", "0")
        yield server


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Work units for `pytest -n` (`--dist loadgroup`, as `make test` runs it).

    Each test file is one unit, so a module-scoped fixture is built once; the reliability suite is
    one unit, so its session fixtures (one clean pipeline run) are too. Units holding end-to-end
    tests go first: they are the longest, and a long unit started last would end the run alone.
    """
    tests_dir = PROJECT_DIR / "tests"
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            relative = item.path.relative_to(tests_dir)
            group = "reliability" if relative.parts[0] == "reliability" else relative.as_posix()
            item.add_marker(pytest.mark.xdist_group(group))
    groups_with_e2e = {_group(item) for item in items if item.get_closest_marker("e2e")}
    items.sort(key=lambda item: _group(item) not in groups_with_e2e)


def _group(item: pytest.Item) -> str:
    return item.get_closest_marker("xdist_group").args[0]
