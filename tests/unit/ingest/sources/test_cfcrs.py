"""The cfcrs register: its list and detail pages, and incremental walks against the replay.

Pages are the replay bundle's (real records, demo/replay/originals/cfcrs); what a test changes
(an entry marked ended, a broken page, a failing server) it writes to an overlay served in front
of the bundle, so the real HTTP path runs: conditional GET, 304, robots.txt.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml

from demo.replay.server import BUNDLE_DIR, ReplayServer
from eduopen.core.config import Settings
from eduopen.core.errors import ParseError, SourceError
from eduopen.core.paths import Home
from eduopen.orchestration.watch import ReleaseListingWatch
from ingest.http import PoliteClient
from ingest.raw_store import RawStore
from ingest.sources.base import IngestSummary, SourceContext
from ingest.sources.cfcrs import parse_detail, parse_listing, run

BUNDLE = BUNDLE_DIR / "cfcrs"
SITE = "http://www.crs.jsj.edu.cn"
CT = "text/html; charset=utf-8"
ZHEJIANG = "aproval/getbyarea/6"
GUANGDONG = "aproval/getbyarea/7"
UIC = "aproval/detail/3002"
NEW_APPROVAL = SITE + "/aproval/detail/3011"
RECORDS = 10  # demo/replay/originals/cfcrs/records.json: "bundle"
# The regions the bundle's records are in (北京 上海 浙江 广东 福建 四川 湖北 辽宁), plus one with
# none (西藏): walking all 31 costs the same per page and proves nothing more here.
REGIONS = [1, 2, 6, 7, 9, 12, 16, 21, 31]
LIST_PAGES = 2 * len(REGIONS)


def _page(rel: str) -> bytes:
    return (BUNDLE / rel).read_bytes()


# -- pages ---------------------------------------------------------------------------------------


def test_a_region_list_gives_each_entry_its_detail_url_kind_and_region() -> None:
    entries = parse_listing(_page(ZHEJIANG), f"{SITE}/{ZHEJIANG}", CT)
    assert [(e.url, e.name, e.record_kind, e.province, e.ended) for e in entries] == [
        (f"{SITE}/aproval/detail/3001", "宁波诺丁汉大学", "institution", "浙江", False),
        (f"{SITE}/aproval/detail/3005", "温州肯恩大学", "institution", "浙江", False),
    ]


def test_an_entry_that_stopped_enrolling_is_read_as_ended_without_the_mark_in_its_name() -> None:
    entries = {e.name: e for e in parse_listing(_page(GUANGDONG), f"{SITE}/{GUANGDONG}", CT)}
    assert entries["中山大学-卡内基梅隆大学联合工程学院"].ended
    assert not entries["北京师范大学-香港浸会大学联合国际学院"].ended
    marked = (
        "<table><tr><td>地区</td></tr><tr><td>X</td><td>合作办学项目</td>"
        '<td><ul><li>▲<a href="/aproval/detail/9">A项目(已停办)</a></li></ul></td></tr></table>'
    ).encode()
    (entry,) = parse_listing(marked, SITE + "/aproval/getbyarea/1", CT)
    assert (entry.name, entry.record_kind, entry.ended) == ("A项目", "programme", True)


def test_a_region_with_nothing_listed_is_empty_and_a_page_without_the_table_is_a_layout_change() -> None:
    assert parse_listing(_page("aproval/getbyarea/31"), SITE + "/aproval/getbyarea/31", CT) == []
    with pytest.raises(ParseError, match="no table headed '地区'"):
        parse_listing(b"<html><body><table><tr><td>x</td></tr></table></body></html>", SITE + "/a", CT)


def test_a_detail_page_gives_partners_level_number_and_date() -> None:
    nyu = parse_detail(_page("aproval/detail/3004"), f"{SITE}/aproval/detail/3004", CT)
    assert (nyu.name, nyu.record_kind, nyu.chinese_partner, nyu.foreign_partners) == (
        "上海纽约大学",
        "institution",
        "华东师范大学",
        ("美国纽约大学",),
    )
    assert (nyu.approval_date, nyu.approval_number, nyu.ended) == (date(2012, 9, 22), None, False)
    fuzhou = parse_detail(_page("aproval/localdetail/3006"), f"{SITE}/aproval/localdetail/3006", CT)
    assert (fuzhou.approval_number, fuzhou.level_text) == ("GOV35AUA03INR20170936N", "高等专科")
    programme = parse_detail(_page("aproval/detail/3008"), f"{SITE}/aproval/detail/3008", CT)
    assert programme.record_kind == "programme" and programme.approval_date == date(2018, 8, 22)


def test_several_foreign_partners_are_kept_as_published_and_a_page_without_one_is_refused() -> None:
    page = (
        "<div class='maincontent'><table><tr><td>项目名称</td><td colspan='3'>P</td></tr>"
        "<tr><td rowspan='2'>中外合作办学者</td><td>中方：甲大学</td></tr><tr><td>外方：乙大学；丙大学</td></tr>"
        "<tr><td>批准时间</td><td>2019年8月8日</td><td>备注</td><td>停止招生</td></tr></table></div>"
    )
    detail = parse_detail(page.encode(), SITE + "/aproval/detail/1", CT)
    assert (detail.foreign_partners, detail.approval_date, detail.ended) == (
        ("乙大学", "丙大学"),
        date(2019, 8, 8),
        True,
    )
    with pytest.raises(ParseError, match="no foreign partner"):
        parse_detail(page.replace("外方：乙大学；丙大学", "").encode(), SITE + "/aproval/detail/1", CT)


# -- walks against the replay --------------------------------------------------------------------


@pytest.fixture(scope="module")
def replay_server() -> Iterator[ReplayServer]:
    with ReplayServer(["cfcrs"]) as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """sources.yml as shipped, the register's walk confined to REGIONS."""
    data = yaml.safe_load(Settings.load().path.read_text(encoding="utf-8"))
    data["sources"]["cfcrs"]["regions"] = REGIONS
    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return Settings.load(path)


@pytest.fixture
def replay(replay_server: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReplayServer:
    """The register's replay, no scenario, an empty overlay (tests write to it) and request log."""
    replay_server.set_scenarios()
    replay_server.state.extra_roots = [tmp_path / "overlay"]
    replay_server.reset_log()
    for key, value in replay_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("EDUOPEN_MIN_DELAY_S", "0")
    return replay_server


def _overlay(replay: ReplayServer, rel: str, body: bytes, headers: dict | None = None) -> None:
    path = replay.state.extra_roots[0] / "cfcrs" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    sidecar = {"Content-Type": CT, **(headers or {})}
    path.with_name(path.name + ".headers.json").write_text(json.dumps(sidecar), encoding="utf-8")


def _run(home: Home, settings: Settings, *, retries: int | None = None, since: date | None = None) -> IngestSummary:
    cfg = settings.source("cfcrs")
    with RawStore(home) as store:
        client = PoliteClient.for_source(cfg, store)
        if retries is not None:
            client.max_retries = retries
        return run(SourceContext(cfg, store, client, home, since=since))


def _rows(home: Home, sql: str) -> list[tuple]:
    with RawStore(home) as store:
        return store.con.execute(sql).fetchall()


def _details_fetched(replay: ReplayServer) -> list[str]:
    return [r.path for r in replay.requests("cfcrs") if "detail/" in r.path]


def test_a_first_walk_stores_every_listed_entry_once_and_an_unchanged_register_costs_only_list_304s(
    replay: ReplayServer, home: Home, settings: Settings
) -> None:
    first = _run(home, settings)
    assert (first.new_rows, first.new_releases, first.quarantined) == (RECORDS, RECORDS, 0)
    stored = _rows(
        home, "select url, level, list_status, province, foreign_partners, raw_sha256 from cooperative_record"
    )
    assert len({row[0] for row in stored}) == RECORDS
    by_url = {row[0]: row for row in stored}
    assert by_url[f"{SITE}/aproval/localdetail/3006"][1:5] == (
        "vocational",
        "approved",
        "福建",
        '["澳大利亚墨尔本理工学院"]',
    )
    assert by_url[f"{SITE}/aproval/detail/3007"][2] == "ended"
    assert all(row[0].startswith(SITE + "/aproval/") for row in stored)  # stored as on the real site

    replay.reset_log()
    again = _run(home, settings)
    assert (again.new_rows, again.not_modified) == (0, LIST_PAGES)
    assert _details_fetched(replay) == []
    assert all(r.conditional and r.status == 304 for r in replay.requests("cfcrs") if "robots" not in r.path)


def test_a_new_approval_fires_the_watcher_and_is_the_only_detail_fetched(
    replay: ReplayServer, home: Home, settings: Settings
) -> None:
    watch = ReleaseListingWatch.from_config(home, ["cfcrs"], settings)
    assert watch.poll().fired  # everything is news to a watcher that saw nothing
    _run(home, settings)
    assert not watch.poll().fired

    replay.set_scenarios("new_release")
    replay.reset_log()
    fired = watch.poll()
    assert fired.fired and list(fired.new_items) == ["cfcrs"]
    (listed,) = fired.new_items["cfcrs"]  # as the watcher fetched it: below the replay's address
    assert listed.endswith(NEW_APPROVAL.removeprefix(SITE))
    summary = _run(home, settings)
    assert (summary.new_rows, summary.new_releases, summary.changed_releases) == (1, 1, 0)
    assert _details_fetched(replay) == ["/aproval/detail/3011"]
    assert _rows(
        home, f"select province, name, foreign_partners from cooperative_record where url = '{NEW_APPROVAL}'"
    ) == [("湖北", "武汉轻工大学匹兹堡联合学院", '["美国匹兹堡州立大学"]')]


def test_an_entry_the_list_marks_ended_becomes_a_new_version_and_the_old_one_stays(
    replay: ReplayServer, home: Home, settings: Settings
) -> None:
    _run(home, settings)
    uic = f"{SITE}/{UIC}"
    # Its detail page changes while the list does not: a known entry is not fetched again for that.
    _overlay(replay, UIC, _page(UIC).replace("香港浸会大学".encode(), "香港浸会大学；某大学".encode()))
    replay.reset_log()
    assert _run(home, settings).new_rows == 0 and _details_fetched(replay) == []

    name = "北京师范大学-香港浸会大学联合国际学院"
    _overlay(replay, GUANGDONG, _page(GUANGDONG).replace(f"{name}<".encode(), f"{name}（停止招生）<".encode()))
    changed = _run(home, settings)
    assert (changed.new_rows, changed.changed_releases, changed.new_releases) == (1, 1, 0)
    versions = _rows(
        home, f"select list_status, foreign_partners from cooperative_record where url = '{uic}' order by first_seen_at"
    )
    assert versions == [("approved", '["香港浸会大学"]'), ("ended", '["香港浸会大学", "某大学"]')]
    assert _run(home, settings).new_rows == 0  # the same list again: nothing new


def test_a_broken_detail_page_is_quarantined_and_a_broken_list_fails_the_run_after_the_others(
    replay: ReplayServer, home: Home, settings: Settings
) -> None:
    broken = _page("aproval/detail/3004").replace("外方：美国纽约大学".encode(), b"")
    _overlay(replay, "aproval/detail/3004", broken)
    _overlay(replay, "aproval/getbyarea/12", b"<html><body><p>maintenance</p></body></html>")
    with pytest.raises(
        SourceError, match=r"1 list page\(s\) could not be read.*getbyarea/12 \(listing_layout_changed\)"
    ):
        _run(home, settings)
    quarantined = _rows(home, "select locator, reason, sha256 is not null from quarantine order by locator")
    assert quarantined == [
        (f"{SITE}/aproval/detail/3004", "detail_parse_error", True),
        (f"{SITE}/aproval/getbyarea/12", "listing_layout_changed", True),
    ]
    stored = {url for (url,) in _rows(home, "select url from cooperative_record")}
    assert len(stored) == RECORDS - 2  # 上海纽约大学 refused; 电子科技大学格拉斯哥学院's list unreadable
    assert f"{SITE}/aproval/detail/3003" not in stored


def test_a_detail_that_failed_transiently_is_fetched_next_run_although_its_list_answers_304(
    replay: ReplayServer, home: Home, settings: Settings
) -> None:
    _overlay(replay, "aproval/detail/3005", b"busy", {"status": 503})
    first = _run(home, settings, retries=0)  # the next run is the retry under test, not the client's backoff
    assert first.new_rows == RECORDS - 1
    assert _rows(home, "select reason from quarantine") == [("detail_fetch_failed",)]

    (replay.state.extra_roots[0] / "cfcrs" / "aproval/detail/3005.headers.json").unlink()
    (replay.state.extra_roots[0] / "cfcrs" / "aproval/detail/3005").unlink()
    replay.reset_log()
    second = _run(home, settings)
    assert second.new_rows == 1
    zhejiang = [r for r in replay.requests("cfcrs") if r.path == "/" + ZHEJIANG]
    assert [r.status for r in zhejiang] == [304]
    assert _details_fetched(replay) == ["/aproval/detail/3005"]


def test_a_walk_back_reads_unchanged_lists_fetches_what_is_missing_and_leaves_the_cursors(
    replay: ReplayServer, home: Home, settings: Settings
) -> None:
    _run(home, settings)
    with RawStore(home) as store:
        store.con.execute(f"delete from cooperative_record where url = '{SITE}/aproval/detail/3004'")
        cursors = store.con.execute("select * from source_cursor order by cursor_key").fetchall()
    assert _run(home, settings).new_rows == 0  # a regular run trusts its cursors: every list unchanged
    walked_back = _run(home, settings, since=date(2000, 1, 1))
    assert (walked_back.new_rows, walked_back.not_modified) == (1, LIST_PAGES + 1)
    assert _rows(home, "select * from source_cursor order by cursor_key") == cursors
