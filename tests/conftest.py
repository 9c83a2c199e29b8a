"""Shared fixtures: an isolated EDUOPEN_HOME, the replay server, and the real recorded data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    from eduopen.core.paths import Home

    root = tmp_path / "home"
    monkeypatch.setenv("EDUOPEN_HOME", str(root))
    return Home(root).ensure()


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """The recorded bundle served on loopback, every source pointed at it."""
    from demo.replay.server import ReplayServer
    from eduopen.core.config import Settings

    with ReplayServer() as server:
        missing = server.unreplayed(Settings.load().network_source_names())
        assert not missing, f"sources without a replay bundle would reach the live web: {missing}"
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("EDUOPEN_MIN_DELAY_S", "0")
        yield server


# The scale-out test compares what it publishes with what the LocalExecutor test published just
# before it (collection order) on the same worker.
SHARED_UNITS = {"tests/e2e/test_real_airflow_scale_out.py": "tests/e2e/test_real_airflow.py"}


def work_unit(nodeid: str) -> str:
    """What one xdist worker runs together: a test file, so its module fixtures are built once; the
    whole reliability suite, so its session fixtures (one clean pipeline run) are too; a test and
    the one whose result it reads (`SHARED_UNITS`)."""
    path = nodeid.split("::", 1)[0]
    return "tests/reliability" if path.startswith("tests/reliability/") else SHARED_UNITS.get(path, path)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`pytest -n N` (as `make test` runs it) hands out work units, not single tests."""
    from xdist.scheduler import LoadScopeScheduling

    # Keep the order of pytest_collection_modifyitems (longest units first), not xdist's default
    # of the units with the most tests first, which would start the one-test e2e files last.
    config.option.loadscopereorder = False

    class WorkUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return WorkUnitScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Units holding end-to-end tests go first, those running Airflow first of all: they are the
    longest (a few minutes each), and a long unit started last would end the run alone."""

    def weight(item: pytest.Item) -> int:
        e2e, airflow = item.get_closest_marker("e2e"), item.get_closest_marker("airflow")
        return 2 if e2e and airflow else 1 if e2e else 0

    unit_weight: dict[str, int] = {}
    for item in items:
        unit = work_unit(item.nodeid)
        unit_weight[unit] = max(unit_weight.get(unit, 0), weight(item))
    items.sort(key=lambda item: -unit_weight[work_unit(item.nodeid)])
