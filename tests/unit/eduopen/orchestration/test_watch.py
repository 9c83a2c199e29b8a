"""The cheap change detectors behind the AssetWatchers (`eduopen.orchestration.watch`) and the triggers around them.

The detectors are exercised against the replay server and a scripted fault server through real
sockets; the Airflow triggers run in a subprocess (Airflow reads its configuration at import) with
the same replay, exactly as the triggerer would run them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.replay.server import ReplayServer
from eduopen.core.config import WATCH_POLL_S, Settings
from eduopen.core.errors import ConfigError
from eduopen.core.paths import PROJECT_DIR, Home
from eduopen.orchestration.watch import (
    MAX_LISTING_BYTES,
    ROBOTS_TTL_S,
    LandingWatch,
    Listing,
    ReleaseListingWatch,
    added_data,
    poll_interval_s,
    release_listings,
    state_dir,
    watch_client,
)
from ingest.http import PoliteClient
from tests.support.fault_server import FaultServer, Reply

NEW_RELEASE = "/jyb_xwfb/gzdt_gzdt/moe_1485/202401/t20240130_000004.html"
USER_AGENT = Settings.load().user_agent


@pytest.fixture(scope="module")
def replay_server() -> Iterator[ReplayServer]:
    # One server for the module: stopping one costs half a second per source.
    with ReplayServer() as server:
        yield server


@pytest.fixture
def replay(replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> ReplayServer:
    """The replay with no scenario and an empty request log, every source pointed at it."""
    replay_server.set_scenarios()
    replay_server.reset_log()
    for key, value in replay_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("EDUOPEN_MIN_DELAY_S", "0")
    return replay_server


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home").ensure()


def _watch(home: Home) -> ReleaseListingWatch:
    return ReleaseListingWatch.from_config(home)


def _listing_requests(replay: ReplayServer) -> list:
    return [r for r in replay.requests() if not r.path.endswith("robots.txt")]


# -- what counts as news for the warehouse -----------------------------------------------------


@pytest.mark.parametrize(
    "summary",
    [
        {"new_rows": 3},
        {"new_releases": 1},
        {"changed_releases": 1, "new_rows": 1},
    ],
)
def test_an_ingest_that_stored_rows_or_releases_has_added_data(summary: dict) -> None:
    assert added_data([{"source": "x", "new_rows": 0}, summary]) is True


@pytest.mark.parametrize(
    "summaries",
    [
        [],
        [{"source": "moe_zh", "requests": 4, "not_modified": 4, "new_rows": 0}],
        [{"source": "moe_zh", "quarantined": 2, "new_rows": 0, "new_releases": None}],
    ],
)
def test_an_ingest_of_only_304s_or_quarantined_items_has_added_nothing(summaries: list) -> None:
    assert added_data(summaries) is False


def test_poll_interval_comes_from_the_environment_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WATCH_POLL_S.name, raising=False)
    assert poll_interval_s(300) == 300
    monkeypatch.setenv(WATCH_POLL_S.name, "2.5")
    assert poll_interval_s(300) == 2.5
    for bad in ("0", "-1", "soon"):
        monkeypatch.setenv(WATCH_POLL_S.name, bad)
        with pytest.raises(ConfigError, match=WATCH_POLL_S.name):
            poll_interval_s(300)


# -- which pages are watched -------------------------------------------------------------------


def test_every_release_source_is_watched_on_its_first_pages_below_the_overridden_base(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EDUOPEN_MOE_ZH_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("EDUOPEN_GOV_EN_URL", "http://127.0.0.1:10")
    settings = Settings.load()
    listings = release_listings(settings)
    by_source: dict[str, list[str]] = {}
    for listing in listings:
        by_source.setdefault(listing.source, []).append(listing.url)
    releases = [n for n in settings.source_names() if settings.source(n).kind == "releases"]
    assert sorted(by_source) == sorted(releases)
    columns = settings.source("moe_zh").options["columns"]
    assert by_source["moe_zh"] == [f"http://127.0.0.1:9/{c['path'].strip('/')}/index.html" for c in columns]
    # gov.cn's first page is the column URL itself; later pages are page_N.html.
    assert by_source["gov_en"] == ["http://127.0.0.1:10/state_council/ministries/"]
    assert all(url.endswith("/index.html") for url in by_source["moe_en"])
    assert len(by_source["feeds"]) == len(settings.source("feeds").options["urls"])
    assert [ls.accept is not None for ls in listings] == [ls.source == "feeds" for ls in listings]


def test_only_the_sources_asked_for_are_watched() -> None:
    listings = release_listings(Settings.load(), ["gov_en"])
    assert {listing.source for listing in listings} == {"gov_en"}


def test_a_misspelt_key_of_any_source_stops_the_watcher(tmp_path: Path) -> None:
    import yaml

    data = yaml.safe_load(Settings.load().path.read_text(encoding="utf-8"))
    data["sources"]["uis"]["indicator"] = data["sources"]["uis"].pop("indicators")
    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"uis\.indicator: unknown key; allowed keys: .*indicators"):
        release_listings(Settings.load(path), ["gov_en"])
    with pytest.raises(ConfigError, match=r"uis\.indicator: unknown key"):
        LandingWatch.from_config(Home(tmp_path / "home"), settle_s=0, settings=Settings.load(path))


# -- release listings against the replay -------------------------------------------------------


def test_first_poll_fires_with_every_listed_item_since_nothing_was_seen_yet(replay: ReplayServer, home: Home) -> None:
    result = _watch(home).poll()
    assert result.fired
    assert set(result.new_items) == {"moe_zh", "moe_en", "gov_en", "feeds", "cfcrs"}
    assert result.failed == []
    assert result.checked == result.changed == len(_listing_requests(replay))
    moe_zh = result.new_items["moe_zh"]
    assert any(url.endswith("/s5987/202012/t20201214_505447.html") for url in moe_zh)
    assert not any(url.endswith(NEW_RELEASE) for url in moe_zh)
    payload = result.payload()
    assert payload["new_items"] == sum(len(v) for v in result.new_items.values())
    assert json.loads(json.dumps(payload)) == payload
    assert (state_dir(home) / "release_listings.json").exists()


def test_unchanged_listings_cost_one_conditional_request_each_and_do_not_fire(replay: ReplayServer, home: Home) -> None:
    watch = _watch(home)
    watch.poll()
    replay.reset_log()
    again = watch.poll()
    seen = _listing_requests(replay)
    assert not again.fired
    assert again.unchanged == again.checked == len(seen) == len(watch.listings)
    assert all(r.conditional and r.status == 304 for r in seen)
    assert {r.user_agent for r in seen} == {USER_AGENT}


def test_a_new_release_on_a_listing_fires_with_exactly_its_url(replay: ReplayServer, home: Home) -> None:
    watch = _watch(home)
    watch.poll()
    replay.set_scenarios("new_release")
    result = watch.poll()
    assert result.fired
    # The scenario adds one release to a MOE column and one approval to a region of the cfcrs register.
    assert sorted(result.new_items) == ["cfcrs", "moe_zh"]
    (url,) = result.new_items["moe_zh"]
    assert url.endswith(NEW_RELEASE)
    (approval,) = result.new_items["cfcrs"]
    assert approval.endswith("/aproval/detail/3011")
    assert result.changed == 2
    assert not watch.poll().fired  # announced once


def test_a_listing_that_changed_without_a_new_item_url_does_not_fire(replay: ReplayServer, home: Home) -> None:
    watch = _watch(home)
    watch.poll()
    replay.set_scenarios("changed_article")  # the page is regenerated, its items are the same
    result = watch.poll()
    assert result.changed == 1
    assert not result.fired


def _delivered(home: Home) -> None:
    """One poll whose event reached the metadata DB: the triggerer confirmed it before stopping."""
    watch = _watch(home)
    watch.poll()
    watch.confirm_announced()


def test_watermarks_and_seen_items_survive_a_restart_of_the_watcher(replay: ReplayServer, home: Home) -> None:
    _delivered(home)
    replay.reset_log()
    restarted = _watch(home)
    result = restarted.poll()
    assert not result.fired
    assert all(r.conditional for r in _listing_requests(replay))


def test_a_new_release_found_by_a_restarted_watcher_fires(replay: ReplayServer, home: Home) -> None:
    _delivered(home)
    replay.set_scenarios("new_release")
    result = _watch(home).poll()
    assert [url.rsplit("/", 1)[-1] for url in result.new_items["moe_zh"]] == [NEW_RELEASE.rsplit("/", 1)[-1]]


def test_a_release_seen_by_a_watcher_killed_before_its_event_was_delivered_is_announced_after_restart(
    replay: ReplayServer, home: Home
) -> None:
    """Kept: the release (pending in the state file). Lost: nothing; the cost is one repeated event."""
    _delivered(home)
    replay.set_scenarios("new_release")
    killed = _watch(home)
    assert killed.poll().new_items["moe_zh"][0].endswith(NEW_RELEASE)
    # SIGKILLed here: the event never reached the metadata DB, so nothing confirmed it.
    restarted = _watch(home)
    replay.reset_log()
    again = restarted.poll()
    assert again.unchanged == again.checked  # the listing itself is unchanged since the killed poll
    assert [url.rsplit("/", 1)[-1] for url in again.new_items["moe_zh"]] == [NEW_RELEASE.rsplit("/", 1)[-1]]
    assert not restarted.poll().fired  # once per process until confirmed
    restarted.confirm_announced()
    assert not _watch(home).poll().fired  # delivered: a later restart does not repeat it


def test_the_watcher_never_opens_the_raw_catalog(replay: ReplayServer, home: Home) -> None:
    _watch(home).poll()
    assert not home.catalog.exists()
    assert [p.name for p in state_dir(home).iterdir()] == ["release_listings.json"]


def test_a_listing_whose_layout_changed_is_reported_and_read_again_next_poll(replay: ReplayServer, home: Home) -> None:
    replay.set_scenarios("layout_changed")
    watch = _watch(home)
    first = watch.poll()
    assert [f for f in first.failed if "/s78/A20/" in f and "layout changed" in f]
    replay.reset_log()
    watch.poll()
    a20 = [r for r in _listing_requests(replay) if r.path.startswith("/s78/A20/")]
    # No validators were kept for the page that could not be read, so it is fetched in full again.
    assert len(a20) == 1 and not a20[0].conditional


# -- politeness and faults, on a scripted server -----------------------------------------------

LISTING_HTML = """<html><body><ul id="list">
<li><a href="./moe_1485/202611/t20261120_1.html" title="一">一</a><span>2026-11-20</span></li>
</ul></body></html>"""


def _moe_listing(server: FaultServer, path: str = "/col/index.html") -> Listing:
    from ingest.sources.moe_zh.listing import parse_listing

    def parse(data: bytes, url: str, content_type: str | None) -> list[str]:
        return [it.url for it in parse_listing(data, url, content_type)]

    return Listing("moe_zh", "col", server.url(path), parse, None)


def _client(**settings: float) -> PoliteClient:
    """A watcher's client: no raw store, no retries (the next poll is the retry)."""
    return PoliteClient("moe_zh", user_agent=USER_AGENT, min_delay_s=0, max_retries=0, **settings)


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


def test_a_listing_disallowed_by_robots_txt_is_never_requested(server: FaultServer, home: Home) -> None:
    server.set_robots("User-agent: *\nDisallow: /col/\n")
    server.set("/col/index.html", Reply.html(LISTING_HTML))
    client = _client()
    watch = ReleaseListingWatch([_moe_listing(server)], home.state / "w.json", lambda source: client)
    result = watch.poll()
    assert not result.fired and "robots.txt" in result.failed[0]
    assert server.count("/col/index.html") == 0


def test_a_truncated_listing_is_a_failed_poll_not_an_empty_page(server: FaultServer, home: Home) -> None:
    server.script("/col/index.html", Reply.html(LISTING_HTML, truncate_after=40))
    server.set("/col/index.html", Reply.html(LISTING_HTML, etag='"v1"'))
    client = _client()
    watch = ReleaseListingWatch([_moe_listing(server)], home.state / "w.json", lambda source: client)
    assert watch.poll().failed
    retried = watch.poll()
    assert retried.fired
    assert retried.new_items["moe_zh"] == [server.url("/col/moe_1485/202611/t20261120_1.html")]


def test_a_slow_site_times_out_quickly_instead_of_holding_the_watcher(server: FaultServer, home: Home) -> None:
    server.set("/col/index.html", Reply.html(LISTING_HTML, delay_s=5))
    client = _client(connect_timeout_s=0.5, read_timeout_s=0.5)
    watch = ReleaseListingWatch([_moe_listing(server)], home.state / "w.json", lambda source: client)
    started = time.monotonic()
    result = watch.poll()
    assert result.failed and not result.fired
    assert time.monotonic() - started < 3


def test_requests_to_one_host_are_spaced_by_its_delay(server: FaultServer, home: Home) -> None:
    server.set("/a/index.html", Reply.html(LISTING_HTML))
    server.set("/b/index.html", Reply.html(LISTING_HTML))
    client = PoliteClient("moe_zh", user_agent=USER_AGENT, min_delay_s=1.5, max_retries=0)
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    client.sleep, client.clock = sleep, lambda: now[0]
    listings = [Listing("moe_zh", n, server.url(f"/{n}/index.html"), _moe_listing(server).parse) for n in ("a", "b")]
    result = ReleaseListingWatch(listings, home.state / "w.json", lambda source: client).poll()
    assert result.checked == 2 and not result.failed
    # robots.txt, then the two listings: each request waits the host's delay after the one before.
    assert waits == [1.5, 1.5]


def test_robots_txt_is_read_again_once_a_day_through_a_fresh_client(server: FaultServer, home: Home) -> None:
    server.set("/col/index.html", Reply.html(LISTING_HTML))
    made: list[PoliteClient] = []

    def client_for(source: str) -> PoliteClient:
        made.append(_client())
        return made[-1]

    watch = ReleaseListingWatch([_moe_listing(server)], home.state / "w.json", client_for)
    now = [0.0]
    watch.clock = lambda: now[0]
    watch.poll()
    now[0] = ROBOTS_TTL_S
    watch.poll()
    assert len(made) == 1 and server.count("/robots.txt") == 1
    now[0] = ROBOTS_TTL_S + 1
    watch.poll()
    assert len(made) == 2 and server.count("/robots.txt") == 2
    watch.close()


def test_the_watcher_client_records_nothing_and_never_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUOPEN_MIN_DELAY_S", "0")
    client = watch_client(Settings.load().source("moe_zh"))
    assert client.store is None and client.max_retries == 0
    assert client.max_bytes <= MAX_LISTING_BYTES
    assert client.allowed_hosts == {"www.moe.gov.cn"}


# -- landing folder ----------------------------------------------------------------------------


def _drop(folder: Path, name: str, data: bytes, *, age_s: float) -> Path:
    path = folder / name
    path.write_bytes(data)
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def test_a_settled_file_is_announced_once_after_two_identical_sightings(home: Home) -> None:
    watch = LandingWatch(home.landing, settle_s=2)
    _drop(home.landing, "uis.csv", b"indicatorId,geoUnit,year,value\n", age_s=10)
    assert watch.poll() == []  # first sighting: size not yet known to be stable
    assert watch.poll() == ["uis.csv"]
    assert watch.poll() == []


def test_a_file_still_being_written_is_not_announced(home: Home) -> None:
    watch = LandingWatch(home.landing, settle_s=2)
    path = _drop(home.landing, "big.csv", b"a,b\n", age_s=10)
    watch.poll()
    # Grows between the polls but keeps an old mtime (some copy tools set it first).
    with path.open("ab") as handle:
        handle.write(b"1,2\n")
    os.utime(path, (time.time() - 10, time.time() - 10))
    assert watch.poll() == []
    assert watch.poll() == ["big.csv"]
    fresh = _drop(home.landing, "fresh.csv", b"x\n", age_s=0)
    assert watch.poll() == [] and watch.poll() == []  # modified within settle_s
    os.utime(fresh, (time.time() - 10, time.time() - 10))
    watch.poll()
    assert watch.poll() == ["fresh.csv"]


def test_hidden_files_subfolders_and_symlinks_are_never_announced(home: Home, tmp_path: Path) -> None:
    watch = LandingWatch(home.landing, settle_s=0)
    _drop(home.landing, ".upload.csv.part", b"x", age_s=10)
    (home.landing / "processed").mkdir()
    _drop(home.landing / "processed", "done.csv", b"x", age_s=10)
    outside = _drop(tmp_path, "outside.csv", b"x", age_s=10)
    (home.landing / "link.csv").symlink_to(outside)
    assert watch.poll() == [] and watch.poll() == []


def test_a_new_drop_under_a_processed_files_name_is_announced_again(home: Home) -> None:
    watch = LandingWatch(home.landing, settle_s=1)
    path = _drop(home.landing, "wb.csv", b"first", age_s=10)
    watch.poll()
    assert watch.poll() == ["wb.csv"]
    path.unlink()  # the ingest moved it to processed/
    watch.poll()
    _drop(home.landing, "wb.csv", b"second drop", age_s=10)
    watch.poll()
    assert watch.poll() == ["wb.csv"]


def test_a_missing_landing_folder_is_no_news(tmp_path: Path) -> None:
    assert LandingWatch(tmp_path / "nowhere", settle_s=1).poll() == []


# -- the Airflow triggers, run as the triggerer runs them --------------------------------------

TRIGGER_PROBE = textwrap.dedent("""
    import asyncio, json, sys, time
    from eduopen.orchestration.triggers import LandingFolderTrigger, ReleaseListingTrigger

    kind, home = sys.argv[1], sys.argv[2]
    if kind == "releases":
        trigger = ReleaseListingTrigger(sources=["moe_zh"], poll_interval=0.2, home=home)
    else:
        trigger = LandingFolderTrigger(poll_interval=0.2, settle_s=0, home=home)
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(__import__(module, fromlist=[name]), name)(**kwargs)

    async def first_events(count, timeout):
        events, stream = [], rebuilt.run()
        started = time.monotonic()
        try:
            while len(events) < count:
                events.append((await asyncio.wait_for(stream.__anext__(), timeout)).payload)
                if kind == "releases" and len(events) == 1:
                    print("@@FIRST@@", flush=True)  # the test switches the replay scenario now
        finally:
            await stream.aclose()
        return events, time.monotonic() - started

    events, seconds = asyncio.run(first_events(2 if kind == "releases" else 1, 20))
    print("@@EDUOPEN-JSON@@" + json.dumps({"classpath": classpath, "kwargs": kwargs,
                                            "events": events, "seconds": seconds}))
""")


def _trigger_env(home: Home) -> dict[str, str]:
    from demo.airflow_local import airflow_env

    return airflow_env(home)


def _result(out: str) -> dict:
    line = next(x for x in reversed(out.splitlines()) if x.startswith("@@EDUOPEN-JSON@@"))
    return json.loads(line[len("@@EDUOPEN-JSON@@") :])


@pytest.mark.airflow
def test_release_listing_trigger_fires_on_first_poll_and_again_only_for_a_new_release(
    replay: ReplayServer, home: Home
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", TRIGGER_PROBE, "releases", str(home.root)],
        env=_trigger_env(home),
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("@@FIRST@@"):
                break
        replay.reset_log()
        time.sleep(1.5)  # several unchanged polls: conditional requests answered 304, no event
        unchanged = [r for r in replay.requests("moe_zh") if not r.path.endswith("robots.txt")]
        replay.set_scenarios("new_release")
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert unchanged and all(r.conditional and r.status == 304 for r in unchanged)
    out = "".join(lines) + out
    result = _result(out)
    assert result["classpath"] == "eduopen.orchestration.triggers.ReleaseListingTrigger"
    assert result["kwargs"] == {"sources": ["moe_zh"], "poll_interval": 0.2, "home": str(home.root)}
    first, second = result["events"]
    assert first["new_items"] > 1 and first["by_source"] == {"moe_zh": first["new_items"]}
    assert second["new_items"] == 1 and second["sample"][0].endswith(NEW_RELEASE)
    # The first event was confirmed a poll later; the second, the last yielded, is still pending.
    state = json.loads((state_dir(home) / "release_listings.json").read_text(encoding="utf-8"))
    assert [url.rsplit("/", 1)[-1] for url in state["pending"]["moe_zh"]] == [NEW_RELEASE.rsplit("/", 1)[-1]]


@pytest.mark.airflow
def test_landing_folder_trigger_fires_when_a_file_settles(home: Home) -> None:
    _drop(home.landing, "uis_export.csv", b"indicatorId,geoUnit,year,value\n", age_s=10)
    proc = subprocess.run(
        [sys.executable, "-c", TRIGGER_PROBE, "landing", str(home.root)],
        env=_trigger_env(home),
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = _result(proc.stdout)
    assert result["classpath"] == "eduopen.orchestration.triggers.LandingFolderTrigger"
    assert result["events"] == [{"files": 1, "names": ["uis_export.csv"]}]


SKIP_PROBE = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from airflow.sdk.exceptions import AirflowSkipException
    from eduopen.orchestration.dag_support import RAW_RELEASES, ingest_and_announce_if_new

    class Events(dict):
        def __missing__(self, key):
            self[key] = event = type("Event", (), {"extra": None})()
            return event

    runs = []
    for attempt in range(2):
        events = Events()
        try:
            summaries = ingest_and_announce_if_new("moe_zh", RAW_RELEASES, events)
            runs.append({"state": "success", "extra": events[RAW_RELEASES].extra,
                         "new": summaries[0]["new_releases"]})
        except AirflowSkipException as exc:
            runs.append({"state": "skipped", "reason": str(exc)})
    print("@@EDUOPEN-JSON@@" + json.dumps(runs))
""")


@pytest.mark.airflow
def test_an_ingest_task_announces_new_releases_and_skips_without_an_event_when_nothing_changed(
    replay: ReplayServer, home: Home
) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SKIP_PROBE, str(PROJECT_DIR / "dags")],
        env=_trigger_env(home),
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    first, second = _result(proc.stdout)
    assert first["state"] == "success" and first["new"] > 0
    assert first["extra"]["source"] == "moe_zh" and first["extra"]["new_releases"] == first["new"]
    # The second run only got 304s: the task is skipped, and a skipped task emits no Asset event.
    assert second["state"] == "skipped"
    assert "moe_zh: nothing new" in second["reason"] and "eduopen://raw/releases" in second["reason"]


# -- a source added by its folder alone --------------------------------------------------------

TINY_SOURCE = """
from ingest.sources.base import IngestSummary, Source, SourceOptions, WatchedListing


class Options(SourceOptions):
    pages: list[str] = []


def run(ctx):
    return IngestSummary(ctx.name, notes=["ran"])


def item_urls(data, url, content_type):
    return [url + "#" + line for line in data.decode().split()]


def watched(cfg, options):
    return [WatchedListing(page, cfg.base_url + page, item_urls, "text/plain") for page in options.pages]


SOURCE = Source(kind="releases", options=Options, run=run, watch=watched)
"""


def test_a_source_folder_and_its_settings_are_all_a_new_watched_source_needs(
    server: FaultServer, home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from ingest.sources import Registry

    folder = tmp_path / "extra_sources" / "tiny"
    folder.mkdir(parents=True)
    (folder.parent / "__init__.py").write_text("")
    (folder / "__init__.py").write_text(TINY_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("EDUOPEN_MIN_DELAY_S", "0")
    registry = Registry("extra_sources")
    entry = {"kind": "releases", "base_url": server.base_url, "pages": ["/news.txt"]}
    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump({"user_agent": USER_AGENT, "sources": {"tiny": entry}}))
    settings = Settings.load(path)
    server.set("/news.txt", Reply(body="a b", etag='"1"'))

    listings = release_listings(settings, registry=registry)
    assert [(ls.source, ls.name, ls.accept) for ls in listings] == [("tiny", "/news.txt", "text/plain")]
    watch = ReleaseListingWatch(listings, home.state / "w.json", lambda source: watch_client(settings.source(source)))
    first = watch.poll()
    assert first.new_items == {"tiny": [server.url("/news.txt#a"), server.url("/news.txt#b")]}
    server.set("/news.txt", Reply(body="c a b", etag='"2"'))
    assert watch.poll().new_items == {"tiny": [server.url("/news.txt#c")]}
    assert registry.source("tiny").run(type("Ctx", (), {"name": "tiny"})()).notes == ["ran"]

    path.write_text(yaml.safe_dump({"user_agent": USER_AGENT, "sources": {"tiny": {**entry, "page": ["/x"]}}}))
    with pytest.raises(ConfigError, match="tiny.page: unknown key; allowed keys: pages"):
        release_listings(Settings.load(path), registry=registry)
