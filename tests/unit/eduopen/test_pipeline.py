"""The pipeline is where the writer lock is taken: every step that writes waits for another
process's run, and an Airflow task can hold the lock across two callbacks."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from eduopen import pipeline
from eduopen.cli import main
from eduopen.core.errors import ExitCode, LockHeld
from eduopen.core.locking import writer_lock
from eduopen.core.paths import Home

# spawn, not fork: the other side is a fresh interpreter, as another CLI run or Airflow task would be.
ctx = multiprocessing.get_context("spawn")


def _hold(root: str, acquired, release) -> None:
    with writer_lock(Home(Path(root))):
        acquired.set()
        release.wait(30)


def _try(root: str, results) -> None:
    try:
        with writer_lock(Home(Path(root))):
            results.put("acquired")
    except LockHeld:
        results.put("held")


def _probe(root: Path) -> str:
    results = ctx.Queue()
    probe = ctx.Process(target=_try, args=(str(root), results))
    probe.start()
    outcome = results.get(timeout=60)
    probe.join(30)
    return outcome


@pytest.fixture
def held_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A home whose writer lock another process holds; the steps give up after 0.2 s."""
    monkeypatch.setattr(pipeline, "WRITER_WAIT_S", 0.2)
    home = Home(tmp_path / "home").ensure()
    acquired, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(home.root), acquired, release))
    holder.start()
    assert acquired.wait(60), "holder process never got the lock"
    try:
        yield home
    finally:
        release.set()
        holder.join(30)


STEPS = {
    "ingest": lambda home: pipeline.ingest(["all"], home),
    "prepare_audit": lambda home: pipeline.prepare_audit(home),
    "build_audit": lambda home: pipeline.build_audit(False, home),
    "transform": lambda home: pipeline.transform(False, home),
    "validate": lambda home: pipeline.validate(home),
    "publish": lambda home: pipeline.publish(False, home),
    "rollback": lambda home: pipeline.publish(True, home),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_a_step_that_writes_waits_for_another_writer_and_touches_nothing(step: str, held_elsewhere: Home) -> None:
    home = held_elsewhere
    before = sorted(p.relative_to(home.root) for p in home.root.rglob("*"))
    with pytest.raises(LockHeld, match="after waiting 0.2 s"):
        STEPS[step](home)
    assert sorted(p.relative_to(home.root) for p in home.root.rglob("*")) == before


@pytest.mark.parametrize("command", [["ingest", "all"], ["publish"]])
def test_the_cli_exits_lock_held_while_another_process_writes(
    command: list[str], held_elsewhere: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDUOPEN_HOME", str(held_elsewhere.root))
    assert main(command) == ExitCode.LOCK_HELD
    assert "LockHeld: another EduOpen writer" in capsys.readouterr().err


def test_a_held_writer_is_kept_between_two_calls_and_released_by_its_owner(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    pipeline.hold_writer(home, owner=("dag", "task", "run", -1))
    try:
        assert _probe(home.root) == "held"
        pipeline.release_writer(("dag", "other task", "run", -1))  # not its owner: still held
        assert _probe(home.root) == "held"
        # The same thread goes on writing (an in-process `airflow dags test` runs later tasks here).
        with pipeline.writer(home, wait_s=0):
            pass
        assert _probe(home.root) == "held"
    finally:
        pipeline.release_writer(("dag", "task", "run", -1))
    assert _probe(home.root) == "acquired"
