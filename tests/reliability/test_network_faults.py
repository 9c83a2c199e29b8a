"""Network faults through the real client and real sources, against a real socket server.

Every case runs `pipeline.ingest` (the real PoliteClient, the real uis / moe_zh adapters, the real
raw store) against FaultServer serving the recorded sites, with one fault scripted in front of the
recording. Each test says what the raw layer KEPT and what was LOST, and that the run ended within
a bound set by the configured timeouts and retries (see FAST_RETRIES), never by luck.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from demo.replay.server import BUNDLE_DIR
from eduopen import pipeline
from eduopen.core.config import source_url_var
from eduopen.core.errors import ExitCode, SourceError
from eduopen.core.paths import PROJECT_DIR, Home
from ingest.sources.uis.parse import parse_data
from tests.reliability.conftest import CleanRun, use_env
from tests.reliability.support import (
    FAST_RETRIES,
    SOURCES,
    TrickleServer,
    blob_shas,
    query,
    raw_counts,
    run_env,
    serve_bundle,
    write_sources_file,
)
from tests.support import FaultServer, Reply

pytestmark = pytest.mark.timeout(120)

API = "/api/public"
INDICATORS = ("26637", "MENF.5T8")
BUSY_PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>提示</title></head>"
    "<body><h1>系统繁忙，请稍后再试</h1><p>Service busy, please retry later.</p></body></html>"
)
# The slowest a faulted run may take with FAST_RETRIES (1.5 s read timeout, 4 s deadline, 3 retries,
# backoff <= 0.5 s): generous, so only a wait that is not bounded at all fails it.
BOUND_S = 25.0


def data_path(indicator: str) -> str:
    return f"{API}/data/indicators?indicator={indicator}&indicatorMetadata=false&start=1998"


def recorded(indicator: str) -> bytes:
    name = f"indicators@indicator={indicator}&indicatorMetadata=false&start=1998"
    return (BUNDLE_DIR / "uis" / "api" / "public" / "data" / name).read_bytes()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def observations_by_indicator(home: Home) -> dict[str, int]:
    return dict(query(home.catalog, "select indicator_id, count(*) from observation group by 1"))


def expected_rows(indicator: str) -> int:
    return len(parse_data(recorded(indicator)).records)


def uis_cursor(home: Home) -> str | None:
    rows = query(home.catalog, "select cursor_value from source_cursor where source = 'uis'")
    return rows[0][0] if rows else None


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Home]:
    """Point sources at servers: `setup(uis=url, moe_zh=url, defaults={...})` -> a fresh home."""

    def make(defaults: dict[str, Any] | None = None, sources: tuple[str, ...] = SOURCES, **urls: str) -> Home:
        home = Home(tmp_path / "home").ensure()
        sources_file = write_sources_file(
            tmp_path / "sources.yml", sources=sources, defaults={**FAST_RETRIES, **(defaults or {})}
        )
        use_env(monkeypatch, run_env(home, sources_file, {source_url_var(k).name: v for k, v in urls.items()}))
        return home

    return make


def timed_ingest(home: Home, *sources: str) -> tuple[float, Exception | None]:
    started = time.monotonic()
    try:
        pipeline.ingest(list(sources), home)
    except SourceError as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


# -- retried and recovered ----------------------------------------------------------------------
def test_5xx_burst_then_success_keeps_every_row_and_logs_the_attempts(site, setup):
    serve_bundle(site, "uis")
    home = setup(uis=site.base_url)
    site.script(data_path("26637"), Reply(500), Reply(502), Reply(503))

    elapsed, error = timed_ingest(home, "uis")

    assert error is None
    assert observations_by_indicator(home) == {i: expected_rows(i) for i in INDICATORS}  # nothing lost
    assert site.count(f"{API}/data/indicators") == len(INDICATORS) + 3
    ((attempts, status),) = query(
        home.catalog, "select attempts, status from fetch_log where url like ?", ["%indicator=26637&%"]
    )
    assert (attempts, status) == (4, 200)
    assert elapsed < BOUND_S


def test_429_retry_after_is_waited_before_the_next_attempt(site, setup):
    serve_bundle(site, "uis")
    home = setup(uis=site.base_url, defaults={"backoff_max_s": 5})
    site.script(f"{API}/versions/default", Reply(429, headers={"Retry-After": "1"}))

    elapsed, error = timed_ingest(home, "uis")

    assert error is None
    first, second = site.requests_for(f"{API}/versions/default")
    assert second.received_at - first.received_at >= 0.95
    assert uis_cursor(home) is not None
    assert sum(observations_by_indicator(home).values()) == sum(expected_rows(i) for i in INDICATORS)
    assert elapsed < BOUND_S


def test_429_asking_for_an_hour_is_capped_so_the_run_stays_bounded(site, setup):
    serve_bundle(site, "uis")
    home = setup(uis=site.base_url)  # backoff_max_s 0.5 caps any Retry-After
    site.script(f"{API}/versions/default", *[Reply(429, headers={"Retry-After": "3600"})] * 2)

    elapsed, error = timed_ingest(home, "uis")

    assert error is None
    assert site.count(f"{API}/versions/default") == 3
    assert sum(observations_by_indicator(home).values()) == sum(expected_rows(i) for i in INDICATORS)
    assert elapsed < 10


def test_connection_resets_before_and_during_the_body_are_retried_without_keeping_the_part(site, setup):
    serve_bundle(site, "uis")
    home = setup(uis=site.base_url)
    body = recorded("26637")
    site.script(data_path("26637"), Reply(reset=True), Reply.json(body, reset_after=4000))

    elapsed, error = timed_ingest(home, "uis")

    assert error is None
    assert observations_by_indicator(home)["26637"] == expected_rows("26637")
    assert sha(body[:4000]) not in blob_shas(home)
    assert sha(body) in blob_shas(home)
    assert elapsed < BOUND_S


def test_stall_mid_body_times_out_then_the_retry_gets_the_whole_body(site, setup):
    serve_bundle(site, "uis")
    home = setup(uis=site.base_url)
    body = recorded("26637")
    site.script(data_path("26637"), Reply.json(body, stall_after=1000, stall_s=60))

    elapsed, error = timed_ingest(home, "uis")

    assert error is None
    assert observations_by_indicator(home)["26637"] == expected_rows("26637")
    assert sha(body[:1000]) not in blob_shas(home)
    assert elapsed < BOUND_S


def test_a_body_trickled_under_the_read_timeout_is_cut_by_the_response_deadline(setup):
    with TrickleServer(body_bytes=100_000, interval_s=0.2) as trickle:
        home = setup(uis=trickle.base_url, defaults={"total_timeout_s": 1.5, "max_retries": 1})

        elapsed, error = timed_ingest(home, "uis")

    # Each byte arrives well inside the 1.5 s read timeout: only the whole-response deadline ends it.
    assert isinstance(error, SourceError) and "not complete after 1.5 s" in str(error)
    assert [p for p in trickle.requests if p != "/robots.txt"] == [f"{API}/versions/default"] * 2
    assert raw_counts(home)["observation"] == 0
    assert uis_cursor(home) is None
    assert elapsed < 10


# -- failed cleanly -----------------------------------------------------------------------------
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_truncated_body_is_never_stored_and_the_next_run_completes_the_source(site, setup, framing):
    replies = serve_bundle(site, "uis")
    home = setup(uis=site.base_url)
    body = recorded("MENF.5T8")
    cut = len(body) // 2
    site.set(data_path("MENF.5T8"), Reply.json(body, truncate_after=cut, chunked=framing == "chunked"))

    elapsed, error = timed_ingest(home, "uis")

    assert isinstance(error, SourceError) and "MENF.5T8" in str(error)
    assert site.count(data_path("MENF.5T8")) == 4  # 1 + max_retries, then given up
    kept = observations_by_indicator(home)
    assert "MENF.5T8" not in kept  # lost: the indicator whose body never arrived whole
    # Kept: the indicators fetched before it, each only from the bytes of a complete answer.
    assert kept == {i: expected_rows(i) for i in INDICATORS[: INDICATORS.index("MENF.5T8")]}
    batches = {b for (b,) in query(home.catalog, "select distinct batch_sha256 from observation")}
    assert batches == {sha(recorded(i)) for i in kept}
    assert sha(body[:cut]) not in blob_shas(home)
    assert uis_cursor(home) is None  # so the next run fetches the source again in full
    assert elapsed < BOUND_S

    site.set(data_path("MENF.5T8"), replies[data_path("MENF.5T8")])
    _, error = timed_ingest(home, "uis")
    assert error is None
    assert observations_by_indicator(home) == {i: expected_rows(i) for i in INDICATORS}


def test_redirect_loop_fails_the_source_after_one_lap_and_stores_nothing(site, setup):
    serve_bundle(site, "uis")
    home = setup(uis=site.base_url)
    site.set(f"{API}/versions/default", Reply.redirect("/maintenance"))
    site.set("/maintenance", Reply.redirect(f"{API}/versions/default"))

    elapsed, error = timed_ingest(home, "uis")

    assert isinstance(error, SourceError) and "redirect loop" in str(error)
    assert site.count(f"{API}/versions/default") == 1 and site.count("/maintenance") == 1
    counts = raw_counts(home)
    assert counts["observation"] == counts["indicator_definition"] == 0
    assert uis_cursor(home) is None
    assert elapsed < BOUND_S


def test_html_busy_page_answered_200_where_json_was_expected_fails_cleanly(site, setup):
    replies = serve_bundle(site, "uis")
    home = setup(uis=site.base_url)
    site.set(f"{API}/versions/default", Reply.html(BUSY_PAGE))

    _, error = timed_ingest(home, "uis")

    assert isinstance(error, SourceError) and "not valid JSON" in str(error)
    counts = raw_counts(home)
    assert counts["observation"] == counts["indicator_definition"] == counts["source_cursor"] == 0

    site.set(f"{API}/versions/default", replies[f"{API}/versions/default"])
    _, error = timed_ingest(home, "uis")
    assert error is None and uis_cursor(home) is not None


def test_busy_page_instead_of_one_indicator_keeps_the_others_and_leaves_the_cursor(site, setup):
    serve_bundle(site, "uis")
    home = setup(uis=site.base_url)
    site.set(data_path("MENF.5T8"), Reply.html(BUSY_PAGE))

    _, error = timed_ingest(home, "uis")

    assert isinstance(error, SourceError) and "UIS data answer" in str(error)
    kept = observations_by_indicator(home)
    assert "MENF.5T8" not in kept and kept["26637"] == expected_rows("26637")
    assert uis_cursor(home) is None


def test_listing_page_without_the_list_is_quarantined_and_the_other_columns_kept(site, setup, clean_run: CleanRun):
    replies = serve_bundle(site, "moe_zh")
    home = setup(moe_zh=site.base_url)
    site.set("/s78/A20/index.html", Reply.html(BUSY_PAGE))

    _, error = timed_ingest(home, "moe_zh")

    assert isinstance(error, SourceError) and "s78/A20" in str(error)
    reasons = query(home.catalog, "select locator, reason from quarantine where reason like 'listing%'")
    assert reasons == [("http://www.moe.gov.cn/s78/A20/index.html", "listing_layout_changed")]
    clean = Home(clean_run.after_ingest)
    by_column = "select listing_column, count(distinct url) from release_version group by 1 order by 1"
    expected = {c: n for c, n in query(clean.catalog, by_column) if c != "international_cooperation"}
    assert dict(query(home.catalog, by_column)) == expected  # kept: every other column, whole

    site.set("/s78/A20/index.html", replies["/s78/A20/index.html"])
    _, error = timed_ingest(home, "moe_zh")
    assert error is None
    assert query(home.catalog, by_column) == query(clean.catalog, by_column)


def test_article_that_failed_transiently_is_fetched_next_run_although_the_listing_is_unchanged(
    site, setup, clean_run: CleanRun
):
    replies = serve_bundle(site, "moe_zh")
    home = setup(moe_zh=site.base_url)
    article = "/jyb_xwfb/gzdt_gzdt/s5987/201904/t20190412_377692.html"
    site.set(article, Reply(503))

    _, error = timed_ingest(home, "moe_zh")

    assert error is None  # an article that cannot be had is quarantined, the run goes on
    lost = "http://www.moe.gov.cn" + article
    assert query(home.catalog, "select reason from quarantine where locator = ?", [lost]) == [("article_fetch_failed",)]
    assert query(home.catalog, "select count(*) from release_version where url = ?", [lost]) == [(0,)]

    site.set(article, replies[article])
    site.clear_requests()
    _, error = timed_ingest(home, "moe_zh")

    assert error is None
    assert site.requests_for("/jyb_xwfb/gzdt_gzdt/index.html")[0].header("If-None-Match")  # unchanged listing
    assert query(home.catalog, "select count(*) from release_version where url = ?", [lost]) == [(1,)]
    urls = "select distinct url from release_version order by 1"
    assert query(home.catalog, urls) == query(Home(clean_run.after_ingest).catalog, urls)


def test_moe_en_article_that_failed_transiently_is_fetched_next_run_although_the_listing_is_unchanged(site, setup):
    replies = serve_bundle(site, "moe_en")
    home = setup(moe_en=site.base_url, sources=("moe_en",))
    article = "/news/press_releases/202312/t20231226_1096207.html"
    site.set(article, Reply(503))

    _, error = timed_ingest(home, "moe_en")

    assert error is None
    lost = "http://en.moe.gov.cn" + article
    assert query(home.catalog, "select count(*) from release_version where url = ?", [lost]) == [(0,)]

    site.set(article, replies[article])
    _, error = timed_ingest(home, "moe_en")

    assert error is None
    assert query(home.catalog, "select count(*) from release_version where url = ?", [lost]) == [(1,)]


def test_sites_down_fail_the_run_within_the_bound_and_write_no_rows(setup):
    with FaultServer() as moe, FaultServer() as uis:
        for server in (moe, uis):
            server.set("/robots.txt", Reply(404))
        moe.set("/jyb_xwfb/gzdt_gzdt/index.html", Reply(503))
        uis.set(f"{API}/versions/default", Reply.json(b'{"version": "x"}', stall_after=3, stall_s=60))
        home = setup(moe_zh=moe.base_url, uis=uis.base_url)

        elapsed, error = timed_ingest(home, "moe_zh", "uis")

    assert isinstance(error, SourceError) and "2 of 2 sources failed" in str(error)
    counts = raw_counts(home)
    assert {t: n for t, n in counts.items() if n} == {"fetch_log": 1}  # the final 503, logged
    assert elapsed < BOUND_S


def test_the_cli_exits_source_failed_when_a_site_answers_500_and_another_is_unreachable(setup):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        unreachable = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening
        with FaultServer() as uis:
            uis.set("/robots.txt", Reply(404))
            uis.set(f"{API}/versions/default", Reply(500))
            home = setup(moe_zh=unreachable, uis=uis.base_url)
            run = subprocess.run(
                [sys.executable, "-m", "eduopen.cli", "ingest", "moe_zh", "uis"],
                cwd=PROJECT_DIR,
                env=dict(os.environ),
                capture_output=True,
                text=True,
                timeout=BOUND_S + 30,
            )

    assert run.returncode == ExitCode.SOURCE_FAILED, run.stderr
    assert "2 of 2 sources failed" in run.stderr
    assert query(home.catalog, "select count(*) from observation") == [(0,)]
