"""The home writer lock, exercised across real processes (flock semantics differ from threads)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from eduopen.core.errors import LockHeld
from eduopen.core.locking import writer_lock
from eduopen.core.paths import Home

# spawn, not fork: each side is a fresh interpreter, as two Airflow tasks or two CLI runs would be.
ctx = multiprocessing.get_context("spawn")


def _hold(root: str, acquired, release, wait_s: float = 0) -> None:
    with writer_lock(Home(Path(root)), wait_s=wait_s):
        acquired.set()
        release.wait(30)


def _try(root: str, wait_s: float, results) -> None:
    started = time.monotonic()
    try:
        with writer_lock(Home(Path(root)), wait_s=wait_s):
            results.put(("acquired", time.time(), time.monotonic() - started))
    except LockHeld as exc:
        results.put(("held", str(exc), time.monotonic() - started))


def _start_holder(root: Path):
    acquired, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(str(root), acquired, release))
    proc.start()
    assert acquired.wait(30), "holder process never got the lock"
    return proc, release


def test_second_process_is_refused_and_told_the_holders_pid(tmp_path: Path) -> None:
    holder, release = _start_holder(tmp_path / "home")
    try:
        with pytest.raises(LockHeld, match=rf"another EduOpen writer \(pid {holder.pid}\) holds"):
            with writer_lock(Home(tmp_path / "home")):
                pass
    finally:
        release.set()
        holder.join(30)


def test_lock_file_names_the_holder_pid_while_held_and_is_cleared_after(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    with writer_lock(home) as path:
        assert path == home.lock
        assert path.read_text().strip() == str(os.getpid())
    assert home.lock.read_text() == ""


def test_waiter_gets_the_lock_once_the_holder_releases_within_wait_s(tmp_path: Path) -> None:
    root = tmp_path / "home"
    holder, release = _start_holder(root)
    results = ctx.Queue()
    waiter = ctx.Process(target=_try, args=(str(root), 20.0, results))
    waiter.start()
    time.sleep(0.5)
    released_at = time.time()
    release.set()
    outcome, acquired_at, _ = results.get(timeout=30)
    waiter.join(30)
    holder.join(30)
    assert outcome == "acquired"
    assert acquired_at >= released_at  # it waited for the holder rather than slipping in


def test_waiter_gives_up_after_wait_s_while_the_holder_keeps_it(tmp_path: Path) -> None:
    root = tmp_path / "home"
    holder, release = _start_holder(root)
    try:
        results = ctx.Queue()
        waiter = ctx.Process(target=_try, args=(str(root), 0.4, results))
        waiter.start()
        outcome, message, waited = results.get(timeout=30)
        waiter.join(30)
    finally:
        release.set()
        holder.join(30)
    assert outcome == "held"
    assert f"pid {holder.pid}" in message and "after waiting 0.4 s" in message
    assert 0.35 <= waited < 10


def test_lock_of_a_killed_holder_is_free_at_once(tmp_path: Path) -> None:
    root = tmp_path / "home"
    holder, _ = _start_holder(root)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(30)
    with writer_lock(Home(root)):
        assert Home(root).lock.read_text().strip() == str(os.getpid())


def test_lock_is_reentrant_in_one_thread_and_held_until_the_outer_block_ends(tmp_path: Path) -> None:
    root = tmp_path / "home"
    results = ctx.Queue()
    with writer_lock(Home(root)):
        with writer_lock(Home(root)):
            pass
        # The inner block must not have released the outer one.
        probe = ctx.Process(target=_try, args=(str(root), 0, results))
        probe.start()
        outcome, *_ = results.get(timeout=30)
        probe.join(30)
    assert outcome == "held"
    probe = ctx.Process(target=_try, args=(str(root), 0, results))
    probe.start()
    outcome, *_ = results.get(timeout=30)
    probe.join(30)
    assert outcome == "acquired"


def test_missing_home_directory_is_created(tmp_path: Path) -> None:
    home = Home(tmp_path / "not" / "yet" / "there")
    with writer_lock(home):
        assert home.lock.exists()
