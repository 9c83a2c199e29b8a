"""Fixtures of the fault suite: one clean run as the reference, and copies of its homes to break.

`clean_run` runs ingest -> transform -> validate -> publish once per session against the replay
(moe_zh and uis) and keeps two snapshots: the home right after ingest and the home after publish.
Tests copy a snapshot, inflict a fault, and compare what survives with the clean run.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo.replay.server import ReplayServer
from eduopen.core.paths import Home
from tests.reliability.support import SOURCES, mart_fingerprint, raw_counts, run_env, sha256_file, write_sources_file

# Crawl-time stamps: a run that re-fetches after a crash sees a release later than a clean run did.
CRAWL_TIME_COLUMNS = ("first_seen_at",)


@dataclass(frozen=True)
class CleanRun:
    after_ingest: Path  # home root right after a complete ingest
    published: Path  # home root after transform, validate and publish
    sources_file: Path
    marts: dict[str, str]  # mart_fingerprint, every column
    marts_without_crawl_time: dict[str, str]
    warehouse_sha256: str
    raw: dict[str, int]


def copy_home(source: Path, target: Path) -> Home:
    """A copy of a home to break; dbt's own logs and target stay behind (each home writes its own)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("dbt"))
    return Home(target)


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def run_steps(home: Home, *, ingest: bool = True) -> None:
    """One run of the pipeline steps, without docs (the report has its own test)."""
    from eduopen import pipeline

    if ingest:
        pipeline.ingest(["all"], home)
    pipeline.transform(home=home)
    pipeline.validate(home=home)
    pipeline.publish(home=home)


@pytest.fixture(scope="session")
def replay_server() -> Iterator[ReplayServer]:
    """The recorded moe_zh and uis sites on loopback, shared read-only by the suite."""
    with ReplayServer(list(SOURCES)) as server:
        yield server


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory, replay_server: ReplayServer) -> CleanRun:
    base = tmp_path_factory.mktemp("clean-run")
    sources_file = write_sources_file(base / "sources.yml")
    home = Home(base / "home").ensure()
    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, run_env(home, sources_file, replay_server.env()))
        from eduopen import pipeline

        pipeline.ingest(["all"], home)
        after_ingest = base / "after-ingest"
        shutil.copytree(home.root, after_ingest)
        run_steps(home, ingest=False)
    return CleanRun(
        after_ingest=after_ingest,
        published=home.root,
        sources_file=sources_file,
        marts=mart_fingerprint(home.warehouse),
        marts_without_crawl_time=mart_fingerprint(home.warehouse, exclude=CRAWL_TIME_COLUMNS),
        warehouse_sha256=sha256_file(home.warehouse),
        raw=raw_counts(home),
    )


@pytest.fixture
def replay_env(
    clean_run: CleanRun, replay_server: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Environment for runs of a test's own home (`tmp_path/home`) against the shared replay."""
    env = run_env(Home(tmp_path / "home"), clean_run.sources_file, replay_server.env())
    use_env(monkeypatch, env)
    return env
