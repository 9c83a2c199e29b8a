"""SIGKILL at the worst moments: while raw bytes and rows are written, while the audit copy is
loaded, while dbt builds, and while publish has copied the build but not swapped it in.

Each step runs as `python -m eduopen.cli ...` in its own process and is killed (no cleanup, no
`finally`) when the test OBSERVES it in the phase under test: a request count on the replay, a
temp file of the step, a line in dbt's log. No hook in the code under test. Afterwards the
published warehouse is byte-for-byte a complete version, the raw catalog opens, and the next run
completes with marts equal to those of a clean run.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from eduopen import pipeline
from eduopen.core.errors import PublishError
from eduopen.core.paths import Home
from tests.reliability.conftest import CRAWL_TIME_COLUMNS, CleanRun, copy_home, run_steps
from tests.reliability.support import (
    damaged_blobs,
    kill_when,
    mart_fingerprint,
    query,
    raw_counts,
    sha256_file,
    start_cli,
    temp_leftovers,
)

pytestmark = pytest.mark.timeout(300)
PADDING_ROWS = 1_500_000  # ~50 MB of incompressible text: copies take long enough to be caught


class LogWatch:
    """Reads what a log file gained since the last look (it may not exist yet)."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0
        self.seen = ""

    def contains(self, text: str) -> bool:
        if self.path.exists():
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                fresh = handle.read()
            self.offset += len(fresh)
            self.seen = self.seen[-len(text) :] + fresh.decode("utf-8", "replace")
        return text in self.seen


def pad(database: Path) -> None:
    """Make a warehouse big, outside the marts, so that copying it takes a visible while."""
    con = duckdb.connect(str(database))
    try:
        con.execute(
            f"create table main.reliability_padding as select i, md5(i::varchar) || md5((i * 7)::varchar) "
            f"as filler from range({PADDING_ROWS}) t(i)"
        )
        con.execute("checkpoint")
    finally:
        con.close()


@pytest.fixture(scope="module")
def big_validated(clean_run: CleanRun, tmp_path_factory: pytest.TempPathFactory, replay_server) -> Path:
    """A home whose (big) published warehouse and (big) validated audit build differ in bytes."""
    from tests.reliability.conftest import use_env
    from tests.reliability.support import run_env

    home = copy_home(clean_run.published, tmp_path_factory.mktemp("big") / "home")
    pad(home.warehouse)
    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, run_env(home, clean_run.sources_file, replay_server.env()))
        pipeline.transform(home=home)
        pipeline.validate(home=home)
    return home.root


def assert_next_run_matches_the_clean_run(home: Home, clean_run: CleanRun, *, crawl_time: bool) -> None:
    run_steps(home)
    if crawl_time:
        assert mart_fingerprint(home.warehouse) == clean_run.marts
    else:
        # Releases fetched again after the crash were first seen later than in the clean run.
        assert mart_fingerprint(home.warehouse, exclude=CRAWL_TIME_COLUMNS) == clean_run.marts_without_crawl_time
    assert temp_leftovers(home.root, home.versions, home.exports) == []


def test_ingest_killed_mid_write_three_times_loses_nothing_once_a_run_completes(
    clean_run, replay_server, replay_env, tmp_path
):
    home = Home(tmp_path / "home").ensure()
    fetched = []
    for served in (3, 9, 6):  # requests the replay has answered in that attempt when it is killed
        replay_server.reset_log()
        proc = start_cli(["ingest", "all"], replay_env, tmp_path / "ingest.log")
        killed = kill_when(proc, lambda n=served: len(replay_server.requests()) >= n, timeout_s=60)
        assert killed, f"ingest finished before {served} requests: {(tmp_path / 'ingest.log').read_text()[-2000:]}"
        counts = raw_counts(home)  # the catalog opens after every kill
        fetched.append(counts["fetch_log"])
        assert damaged_blobs(home) == []  # no blob holds bytes other than those it is named for
        # Every parsed release points at bytes that are in the blob store.
        missing = query(home.catalog, "select count(*) from release_version")[0][0] and [
            s
            for (s,) in query(home.catalog, "select content_sha256 from release_version")
            if not (home.blobs / s[:2] / s).exists()
        ]
        assert not missing
    assert fetched == sorted(fetched) and fetched[-1] > 0  # each attempt got further: nothing undone

    assert_next_run_matches_the_clean_run(home, clean_run, crawl_time=False)
    urls = "select distinct url from release_version order by 1"
    assert query(home.catalog, urls) == query(Home(clean_run.after_ingest).catalog, urls)


def test_transform_killed_during_dbt_build_leaves_the_published_warehouse_and_refuses_the_half_build(
    clean_run, replay_env, tmp_path
):
    home = copy_home(clean_run.published, tmp_path / "home")
    validated_before = (home.state / "validation.json").read_bytes()
    dbt_log = LogWatch(home.root / "dbt" / "logs" / "dbt.log")
    # A full refresh: with nothing new since the published build, a plain transform runs no dbt.
    proc = start_cli(["transform", "--full-refresh"], replay_env, tmp_path / "transform.log")

    assert kill_when(
        proc, lambda: dbt_log.contains("Began running node model.eduopen.fct_"), timeout_s=180, poll_s=0.01
    ), (tmp_path / "transform.log").read_text()[-2000:]

    assert sha256_file(home.warehouse) == clean_run.warehouse_sha256  # kept, byte for byte
    assert (home.state / "validation.json").read_bytes() == validated_before
    with pytest.raises(PublishError):  # the gate's record names other bytes than the half-built audit
        pipeline.publish(home=home)
    assert sha256_file(home.warehouse) == clean_run.warehouse_sha256
    assert_next_run_matches_the_clean_run(home, clean_run, crawl_time=True)


def test_transform_killed_while_loading_the_audit_copy_leaves_the_published_warehouse(
    big_validated, clean_run, replay_env, tmp_path
):
    home = copy_home(big_validated, tmp_path / "home")
    published = sha256_file(home.warehouse)
    copying = home.root / f".{home.audit.name}.copying"
    proc = start_cli(["transform"], replay_env, tmp_path / "transform.log")

    assert kill_when(proc, copying.exists, timeout_s=120), (tmp_path / "transform.log").read_text()[-2000:]

    assert sha256_file(home.warehouse) == published
    assert not home.audit.exists()  # the old build was removed first; no half copy under its name
    with pytest.raises(PublishError):
        pipeline.publish(home=home)
    assert sha256_file(home.warehouse) == published
    assert_next_run_matches_the_clean_run(home, clean_run, crawl_time=True)


def test_publish_killed_between_copy_and_swap_keeps_a_complete_version_and_the_next_run_publishes(
    big_validated, clean_run, replay_env, tmp_path
):
    home = copy_home(big_validated, tmp_path / "home")
    old = sha256_file(home.warehouse)
    new = sha256_file(home.audit)
    assert old != new

    def archiving() -> bool:
        # publish archives the current warehouse after the candidate copy was made and checked,
        # and swaps only after that: a kill now is a kill between copy and swap.
        return any(p.name.startswith(".archiving-") for p in home.versions.iterdir())

    for _attempt in range(3):
        proc = start_cli(["publish"], replay_env, tmp_path / "publish.log")
        if kill_when(proc, archiving, timeout_s=60):
            break
        # It finished before we looked: go back to the unpublished state and try again.
        home = copy_home(big_validated, tmp_path / f"home-{_attempt}")
    else:
        pytest.fail("publish was never caught between copy and swap")

    assert sha256_file(home.warehouse) == old  # not swapped: analysts still see the old version
    assert [p for p in temp_leftovers(home.root) if p.endswith(".tmp")]  # the copy was made
    con = duckdb.connect(str(home.warehouse), read_only=True)
    con.execute("select count(*) from marts.fct_policy_release").fetchone()
    con.close()

    pipeline.publish(home=home)  # the step itself, re-run: publishes exactly the validated bytes
    assert sha256_file(home.warehouse) == new
    assert temp_leftovers(home.root, home.versions, home.exports) == []
    assert_next_run_matches_the_clean_run(home, clean_run, crawl_time=True)
