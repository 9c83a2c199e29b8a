"""The disk holding EDUOPEN_HOME fills up during an ingest and during a publish.

The home lives on a small tmpfs mounted for the test (we run as root; without the right to mount,
the tests are skipped and say so). A ballast file leaves a chosen number of bytes free, so the step
runs out of space at a known point. What each test states:

* kept: the raw store (its catalog opens, every blob hashes to its name, every stored release
  points at a blob that exists), the published warehouse byte for byte, its kept versions, its
  exports and the publish log; no temp file is left behind;
* lost: only the work of the step that ran out (the pages or rows it had not committed);
* the step ends with `DiskFull` (exit code `no_space`) naming the home and what was kept, not
  with an unexpected error; once the ballast is removed, the same step completes and its result
  equals the clean run's.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from eduopen import pipeline
from eduopen.core.errors import DiskFull, ExitCode
from eduopen.core.paths import Home
from tests.reliability.conftest import CleanRun, copy_home
from tests.reliability.support import (
    damaged_blobs,
    mart_fingerprint,
    query,
    raw_counts,
    sha256_file,
    temp_leftovers,
)

pytestmark = pytest.mark.timeout(300)
MiB = 2**20


@contextlib.contextmanager
def small_disk(mountpoint: Path, size_bytes: int) -> Iterator[Path]:
    """A tmpfs of `size_bytes` at `mountpoint`, unmounted afterwards; skips where mounting is refused."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs as EDUOPEN_HOME needs root")
    mountpoint.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "--lazy", str(mountpoint)], capture_output=True, check=False)


def fill(disk: Path, *, leave_bytes: int) -> Path:
    """A ballast file that leaves `leave_bytes` free on `disk`; deleting it frees the space again."""
    ballast = disk / "ballast"
    free = shutil.disk_usage(disk).free
    assert free > leave_bytes, f"the disk has only {free} bytes free"
    with ballast.open("wb") as handle:
        remaining = free - leave_bytes
        block = b"\0" * MiB
        while remaining > 0:
            remaining -= handle.write(block[: min(MiB, remaining)])
    return ballast


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by relative path."""
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def blob_temp_files(home: Home) -> list[str]:
    return sorted(p.name for p in home.blobs.rglob("*.tmp"))


def assert_raw_store_intact(home: Home) -> dict[str, int]:
    counts = raw_counts(home)  # the catalog opens read-only
    assert damaged_blobs(home) == []
    assert blob_temp_files(home) == []
    missing = [
        sha
        for (sha,) in query(home.catalog, "select content_sha256 from release_version")
        if not (home.blobs / sha[:2] / sha).exists()
    ]
    assert missing == []
    return counts


# -- ingest -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leave_kib", "runs_out_in"),
    [
        (400, "OSError"),  # writing a downloaded body into the blob store
        (1200, "duckdb"),  # committing parsed rows to the catalog (its write-ahead log)
    ],
    ids=["storing-a-download", "committing-rows"],
)
def test_an_ingest_that_fills_the_disk_ends_with_disk_full_keeps_the_raw_store_and_completes_once_freed(
    clean_run: CleanRun, replay_env: dict[str, str], tmp_path: Path, leave_kib: int, runs_out_in: str
) -> None:
    with small_disk(tmp_path / "disk", 24 * MiB) as disk:
        home = Home(disk / "home").ensure()
        ballast = fill(disk, leave_bytes=leave_kib * 1024)

        with pytest.raises(DiskFull) as raised:
            pipeline.ingest(["all"], home)
        assert raised.value.exit_code == ExitCode.NO_SPACE
        message = str(raised.value)
        assert str(home.root) in message and "Free space, then run ingest again" in message
        cause = raised.value.__cause__
        assert cause is not None
        if runs_out_in == "duckdb":
            assert isinstance(cause, duckdb.Error), repr(cause)
        else:
            assert isinstance(cause, OSError) and not isinstance(cause, duckdb.Error), repr(cause)

        partial = assert_raw_store_intact(home)
        assert partial["release_version"] <= clean_run.raw["release_version"]
        assert partial["observation"] < clean_run.raw["observation"]  # lost: what was not committed

        ballast.unlink()
        pipeline.ingest(["all"], home)
        counts = assert_raw_store_intact(home)
        # The fetch log also holds the failed run's requests; every table of data equals the clean ingest's.
        counts.pop("fetch_log")
        expected = {table: n for table, n in clean_run.raw.items() if table != "fetch_log"}
        assert counts == expected
        urls = "select distinct url from release_version order by 1"
        assert query(home.catalog, urls) == query(Home(clean_run.after_ingest).catalog, urls)


# -- publish ------------------------------------------------------------------------------------


def mark_previous_version(warehouse: Path) -> None:
    """Make the published warehouse's bytes differ from the validated build, so publish swaps."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create table main.previous_version as select 1 as marker")
        con.execute("checkpoint")
    finally:
        con.close()


@pytest.mark.parametrize(
    "room_for",
    ["part-of-the-build-copy", "the-build-copy-but-not-the-kept-version"],
)
def test_a_publish_that_fills_the_disk_leaves_the_published_warehouse_and_publishes_once_freed(
    clean_run: CleanRun, replay_env: dict[str, str], tmp_path: Path, room_for: str
) -> None:
    build_bytes = (Path(clean_run.published) / "audit.duckdb").stat().st_size
    home_bytes = sum(p.stat().st_size for p in Path(clean_run.published).rglob("*") if p.is_file())
    with small_disk(tmp_path / "disk", home_bytes + 3 * build_bytes + 32 * MiB) as disk:
        home = copy_home(clean_run.published, disk / "home")
        mark_previous_version(home.warehouse)
        before = {
            "warehouse": sha256_file(home.warehouse),
            "catalog": sha256_file(home.catalog),
            "versions": tree_digest(home.versions),
            "exports": tree_digest(home.exports),
            "publish_log": (home.state / "publish_log.jsonl").read_bytes(),
        }
        leave = build_bytes // 2 if room_for == "part-of-the-build-copy" else build_bytes + build_bytes // 2
        ballast = fill(disk, leave_bytes=leave)

        with pytest.raises(DiskFull) as raised:
            pipeline.publish(home=home)
        assert raised.value.exit_code == ExitCode.NO_SPACE
        assert "Free space, then run publish again" in str(raised.value)
        after = {
            "warehouse": sha256_file(home.warehouse),
            "catalog": sha256_file(home.catalog),
            "versions": tree_digest(home.versions),
            "exports": tree_digest(home.exports),
            "publish_log": (home.state / "publish_log.jsonl").read_bytes(),
        }
        assert after == before  # kept: everything published; lost: nothing but the failed attempt
        assert temp_leftovers(home.root, home.versions, home.exports) == []

        ballast.unlink()
        result = pipeline.publish(home=home)
        assert result["sha256"] == sha256_file(home.audit) == sha256_file(home.warehouse)
        assert mart_fingerprint(home.warehouse) == clean_run.marts
        (kept,) = home.versions.iterdir()  # the version before, whole
        assert sha256_file(kept) == before["warehouse"]
        new_lines = (home.state / "publish_log.jsonl").read_bytes()[len(before["publish_log"]) :].splitlines()
        assert len(new_lines) == 1  # published exactly once
        assert temp_leftovers(home.root, home.versions, home.exports) == []
