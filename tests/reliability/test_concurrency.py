"""Concurrency: analysts reading the published warehouse from other processes while a publish
happens, and two pipeline runs started at the same moment on one home.

One scene serves all the tests here: three analyst processes read the published warehouse in a
loop (two hold a connection open, one connects afresh for every query) while two `eduopen
pipeline` processes start together on a site that has one new release. The writer lock decides
who runs first; the readers are never asked to stop for anyone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from demo.replay.server import ReplayServer
from eduopen.core.paths import PROJECT_DIR, Home
from tests.reliability.analyst_reader import FINGERPRINT_SQL
from tests.reliability.conftest import CleanRun, copy_home
from tests.reliability.support import SOURCES, mart_fingerprint, query, run_env, start_cli

pytestmark = pytest.mark.timeout(300)
READERS = {"hold-1": "hold", "hold-2": "hold", "fresh": "reconnect"}


@dataclass
class Scene:
    home: Home
    old: list
    new: list
    returncodes: list[int]
    logs: list[str]
    holders: list[int]  # lock holder pid, each time it changed
    waiting_seen: bool  # the other run was alive while the first one held the lock
    publishes_done_at: float
    lines: dict[str, list[dict]]


def fingerprint(warehouse: Path) -> list:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return json.loads(json.dumps(list(con.execute(FINGERPRINT_SQL).fetchone()), default=str))
    finally:
        con.close()


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def scene(clean_run: CleanRun, tmp_path_factory: pytest.TempPathFactory) -> Scene:
    base = tmp_path_factory.mktemp("concurrent")
    home = copy_home(clean_run.published, base / "home")
    old = fingerprint(home.warehouse)
    control = base / "control"
    control.mkdir()
    outs = {name: base / f"{name}.jsonl" for name in READERS}
    readers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability.analyst_reader",
                str(home.warehouse),
                str(outs[name]),
                str(control),
                mode,
            ],
            cwd=PROJECT_DIR,
        )
        for name, mode in READERS.items()
    ]
    try:
        wait_for(lambda: all(p.exists() and len(read_lines(p)) >= 3 for p in outs.values()), 60, "readers")
        holders: list[int] = []
        waiting_seen = False
        with ReplayServer(list(SOURCES), scenarios=["new_release"]) as replay:
            env = run_env(home, clean_run.sources_file, replay.env())
            logs = [base / f"run-{i}.log" for i in range(2)]
            runs = [start_cli(["pipeline"], env, log) for log in logs]
            pids = {p.pid for p in runs}
            deadline = time.monotonic() + 240
            while any(p.poll() is None for p in runs) and time.monotonic() < deadline:
                text = home.lock.read_text(encoding="ascii").strip() if home.lock.exists() else ""
                holder = int(text) if text.isdigit() else None
                if holder in pids:
                    if not holders or holders[-1] != holder:
                        holders.append(holder)
                    others = [p for p in runs if p.pid != holder]
                    waiting_seen |= len(holders) == 1 and all(p.poll() is None for p in others)
                time.sleep(0.02)
            returncodes = [p.wait(timeout=30) for p in runs]
        done = time.monotonic()
        # Readers go on for a while after the publishes, then the holders reconnect once.
        wait_for(
            lambda: all(any(r.get("t", 0) > done for r in read_lines(p)) for p in outs.values()),
            30,
            "reads after the publish",
        )
        (control / "reconnect").touch()
        wait_for(
            lambda: all(sum(r["gen"] == 1 for r in read_lines(outs[n])) >= 3 for n in ("hold-1", "hold-2")),
            30,
            "reads after reconnecting",
        )
    finally:
        (control / "stop").touch()
        for reader in readers:
            reader.wait(timeout=30)
    return Scene(
        home,
        old,
        fingerprint(home.warehouse),
        returncodes,
        [log.read_text(encoding="utf-8", errors="replace") for log in logs],
        holders,
        waiting_seen,
        done,
        {name: read_lines(path) for name, path in outs.items()},
    )


def test_two_pipeline_runs_started_together_take_turns_on_the_writer_lock(scene: Scene):
    refused = [i for i, rc in enumerate(scene.returncodes) if rc != 0]
    # One waits for the other (the steps wait for the lock) or is refused with LockHeld; never both run.
    assert refused == [] or (len(refused) == 1 and "LockHeld" in scene.logs[refused[0]]), scene.logs
    assert scene.waiting_seen, "the second run was never seen waiting while the first held the lock"
    assert len(scene.holders) == 2 - len(refused) and len(set(scene.holders)) == len(scene.holders)


def test_two_runs_together_leave_one_consistent_warehouse_with_the_new_release(scene: Scene, clean_run: CleanRun):
    marts = mart_fingerprint(scene.home.warehouse)
    assert {t: marts[t] for t in ("fct_student_mobility", "dim_country", "dim_indicator")} == {
        t: clean_run.marts[t] for t in ("fct_student_mobility", "dim_country", "dim_indicator")
    }
    assert scene.new[0] == scene.old[0] + 1  # the one new release, once
    raw = query(scene.home.catalog, "select count(*), count(distinct (url, content_sha256)) from release_version")
    assert raw[0][0] == raw[0][1] == clean_run.raw["release_version"] + 1


@pytest.mark.parametrize("reader", ["hold-1", "hold-2"])
def test_readers_holding_a_connection_keep_reading_the_old_version_through_the_publish(scene: Scene, reader: str):
    lines = scene.lines[reader]
    assert [r for r in lines if "error" in r] == []
    before = [r for r in lines if r["gen"] == 0]
    assert any(r["t"] > scene.publishes_done_at for r in before)  # still reading after the swap
    assert all(r["fp"] == scene.old for r in before)
    after = [r for r in lines if r["gen"] == 1]
    assert after and all(r["fp"] == scene.new for r in after)  # reconnected: the new version, whole


def test_analysts_connecting_during_the_publish_see_one_whole_version_never_a_mix_or_an_error(scene: Scene):
    lines = scene.lines["fresh"]
    assert [r for r in lines if "error" in r] == []
    seen = [("old" if r["fp"] == scene.old else "new" if r["fp"] == scene.new else "mixed") for r in lines]
    assert "mixed" not in seen
    assert seen[0] == "old" and seen[-1] == "new"
    assert seen == sorted(seen, key=["old", "new"].index)  # switched once, never back
    assert all(r["fp"] == scene.new for r in lines if r["t"] > scene.publishes_done_at)
