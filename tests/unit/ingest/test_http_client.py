"""The polite HTTP client against a real local server that injects faults (no mocks of requests)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from eduopen.core.config import SourceConfig
from eduopen.core.errors import FetchError, ParseError, RobotsDisallowed
from eduopen.core.paths import Home
from ingest.http import PoliteClient, Response, canonical_url, parse_retry_after
from ingest.raw_store import RawStore
from tests.support import FaultServer, Reply

UA = "EduOpenBot/0.1 (+https://github.com/eduopen/eduopen; contact: data@eduopen.org)"


class FakeTime:
    """Records the client's sleeps and moves a monotonic clock forward by them instead of waiting."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def store(home: Home) -> Iterator[RawStore]:
    with RawStore(home) as opened:
        yield opened


@pytest.fixture
def make_client(fake_time: FakeTime) -> Iterator[Callable[..., PoliteClient]]:
    made: list[PoliteClient] = []

    def make(**overrides: Any) -> PoliteClient:
        options: dict[str, Any] = dict(
            user_agent=UA,
            min_delay_s=0,
            connect_timeout_s=2,
            read_timeout_s=2,
            max_retries=3,
            backoff_base_s=0.5,
            backoff_max_s=30,
        )
        options.update(overrides)
        client = PoliteClient("test", **options)
        client.sleep = fake_time.sleep
        client.clock = fake_time.clock
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def fetch_log(store: RawStore) -> list[dict[str, Any]]:
    cursor = store.con.execute("select * from fetch_log order by fetch_id")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def blob_count(store: RawStore) -> int:
    return sum(1 for path in store.home.blobs.rglob("*") if path.is_file())


# -- identification and robots.txt ------------------------------------------------------------


def test_every_request_carries_the_identifying_user_agent(server: FaultServer, make_client) -> None:
    server.set("/a", Reply(body="a"))
    make_client().get(server.url("/a"))
    assert [r.path for r in server.requests] == ["/robots.txt", "/a"]
    assert all(r.header("User-Agent") == UA for r in server.requests)


def test_robots_disallowed_url_raises_and_is_never_requested(server: FaultServer, make_client) -> None:
    server.set_robots("User-agent: *\nDisallow: /private/\n")
    server.set("/private/x", Reply(body="secret"))
    with pytest.raises(RobotsDisallowed):
        make_client().get(server.url("/private/x"))
    assert server.count("/private/x") == 0


def test_robots_rules_for_our_bot_token_apply(server: FaultServer, make_client) -> None:
    server.set_robots("User-agent: EduOpenBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    with pytest.raises(RobotsDisallowed):
        make_client().get(server.url("/anything"))


def fetched_paths(client: PoliteClient, server: FaultServer, paths: list[str]) -> list[str]:
    """The paths the client was let fetch; every path is served, so only robots.txt can refuse one."""
    allowed = []
    for path in paths:
        server.set(path.split("?", 1)[0], Reply(body="ok"))
        try:
            client.get(server.url(path))
        except RobotsDisallowed:
            assert server.count(path) == 0
        else:
            allowed.append(path)
    return allowed


def test_robots_wildcard_matches_any_run_of_characters(server: FaultServer, make_client) -> None:
    server.set_robots("User-agent: *\nDisallow: /*/print/\nDisallow: /search*q=\n")
    paths = ["/news/2024/print/a.html", "/news/2024/a.html", "/search?lang=zh&q=x", "/search?lang=zh"]
    assert fetched_paths(make_client(), server, paths) == ["/news/2024/a.html", "/search?lang=zh"]


def test_robots_dollar_anchors_a_rule_to_the_end_of_the_url(server: FaultServer, make_client) -> None:
    server.set_robots("User-agent: *\nDisallow: /*.xls$\nDisallow: /exact$\n")
    paths = ["/files/a.xls", "/files/a.xls?download=1", "/files/a.xlsx", "/exact", "/exact/more"]
    assert fetched_paths(make_client(), server, paths) == ["/files/a.xls?download=1", "/files/a.xlsx", "/exact/more"]


def test_robots_longest_matching_rule_wins_whatever_its_order(server: FaultServer, make_client) -> None:
    # The first matching rule (urllib.robotparser's reading) would refuse /data/open/ and allow
    # /data/open/private/; RFC 9309 2.2.2 takes the most specific one.
    server.set_robots(
        "User-agent: *\nDisallow: /data/\nAllow: /data/open/\nDisallow: /data/open/private/\n"
        "Allow: /page\nDisallow: /page\n"
    )
    paths = ["/data/x.csv", "/data/open/x.csv", "/data/open/private/x.csv", "/page"]
    # On a tie between Allow and Disallow of the same length, Allow wins (RFC 9309 2.2.2).
    assert fetched_paths(make_client(), server, paths) == ["/data/open/x.csv", "/page"]


def test_robots_group_is_chosen_by_our_product_token_case_insensitively(server: FaultServer, make_client) -> None:
    server.set_robots("User-agent: *\nDisallow: /\n\nuser-agent: eduopenbot\nAllow: /open/\nDisallow: /open/closed\n")
    paths = ["/open/a", "/open/closed", "/elsewhere"]
    assert fetched_paths(make_client(), server, paths) == ["/open/a", "/elsewhere"]


def test_robots_groups_for_words_in_our_user_agent_comment_do_not_apply(server: FaultServer, make_client) -> None:
    # Our User-Agent header mentions github and contact; only its product token names us.
    server.set_robots("User-agent: github\nDisallow: /\n\nUser-agent: contact\nDisallow: /\n")
    assert fetched_paths(make_client(), server, ["/page"]) == ["/page"]


def test_robots_txt_is_fetched_once_per_host_for_many_requests(server: FaultServer, make_client) -> None:
    server.set_robots("User-agent: *\nDisallow: /private/\n")
    server.set("/page", Reply(body="p"))
    client = make_client()
    for _ in range(5):
        client.get(server.url("/page"))
    assert server.count("/robots.txt") == 1
    assert server.count("/page") == 5
    assert client.request_count == 6


def test_a_later_run_asks_for_robots_txt_conditionally_and_keeps_its_rules_on_304(
    server: FaultServer, make_client, store: RawStore
) -> None:
    server.set_robots("User-agent: *\nDisallow: /private/\n", etag='"r1"')
    server.set("/page", Reply(body="p"))
    make_client(store=store).get(server.url("/page"))

    later = make_client(store=store)  # the next run: a new client on the same raw store
    later.get(server.url("/page"))
    with pytest.raises(RobotsDisallowed):
        later.get(server.url("/private/x"))

    robots = server.requests_for("/robots.txt")
    assert [r.header("If-None-Match") for r in robots] == [None, '"r1"']
    assert later.conditional_count == 1 and server.count("/private/x") == 0
    assert fetch_log(store) and all(not row["url"].endswith("/robots.txt") for row in fetch_log(store))


def test_missing_robots_txt_allows_everything(server: FaultServer, make_client) -> None:
    server.set_robots(status=404)
    server.set("/private/x", Reply(body="ok"))
    assert make_client().get(server.url("/private/x")).content == b"ok"


def test_robots_txt_server_error_disallows_the_host_for_the_run(server: FaultServer, make_client) -> None:
    server.set_robots(status=503)
    server.set("/page", Reply(body="p"))
    client = make_client(max_retries=1)
    for _ in range(2):
        with pytest.raises(RobotsDisallowed):
            client.get(server.url("/page"))
    assert server.count("/page") == 0
    assert server.count("/robots.txt") == 2  # one attempt and one retry, then cached for the run


def test_crawl_delay_raises_the_per_host_delay(server: FaultServer, make_client, fake_time: FakeTime) -> None:
    server.set_robots("User-agent: *\nCrawl-delay: 7\n")
    server.set("/page", Reply(body="p"))
    client = make_client(min_delay_s=1)
    client.get(server.url("/page"))
    client.get(server.url("/page"))
    assert client.host_delay_s(server.url("/")) == 7
    assert len(fake_time.sleeps) == 2 and all(6.5 < s <= 7 for s in fake_time.sleeps)


# -- per-host delay ---------------------------------------------------------------------------


def test_requests_to_one_host_wait_the_minimum_delay(server: FaultServer, make_client, fake_time: FakeTime) -> None:
    server.set("/page", Reply(body="p"))
    client = make_client(min_delay_s=1.5)
    for _ in range(3):
        client.get(server.url("/page"))
    # robots.txt + 3 pages: every request after the first waits (almost) the full delay.
    assert len(fake_time.sleeps) == 3
    assert all(1.0 < s <= 1.5 for s in fake_time.sleeps)


def test_different_hosts_do_not_wait_for_each_other(server: FaultServer, make_client, fake_time: FakeTime) -> None:
    server.set("/page", Reply(body="p"))
    client = make_client(min_delay_s=5, respect_robots=False)
    client.get(f"http://127.0.0.1:{server.port}/page")
    client.get(f"http://localhost:{server.port}/page")
    assert fake_time.sleeps == []


def test_delay_holds_across_threads(server: FaultServer) -> None:
    server.set("/page", Reply(body="p"))
    client = PoliteClient("test", user_agent=UA, min_delay_s=0.1, respect_robots=False)
    threads = [threading.Thread(target=client.get, args=(server.url("/page"),)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    arrivals = sorted(r.received_at for r in server.requests_for("/page"))
    assert len(arrivals) == 5
    # Real sleeps only ever last longer than asked; allow for socket jitter on arrival.
    assert min(b - a for a, b in zip(arrivals, arrivals[1:], strict=False)) > 0.07
    client.close()


# -- retries ----------------------------------------------------------------------------------


def test_503_then_200_is_retried_with_jittered_backoff(server: FaultServer, make_client, fake_time: FakeTime) -> None:
    server.script("/data", Reply(503), Reply(body="ok"))
    response = make_client(backoff_base_s=0.5).get(server.url("/data"))
    assert response.content == b"ok" and response.attempts == 2
    assert len(fake_time.sleeps) == 1 and 0 <= fake_time.sleeps[0] <= 0.5


def test_429_with_retry_after_seconds_waits_that_long(server: FaultServer, make_client, fake_time: FakeTime) -> None:
    server.script("/data", Reply(429, headers={"Retry-After": "2"}), Reply(body="ok"))
    response = make_client().get(server.url("/data"))
    assert response.content == b"ok"
    assert fake_time.sleeps == [2.0]


def test_retry_after_http_date_is_honoured_but_capped(server: FaultServer, make_client, fake_time: FakeTime) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    server.script("/data", Reply(503, headers={"Retry-After": later}), Reply(body="ok"))
    make_client(backoff_max_s=12).get(server.url("/data"))
    assert fake_time.sleeps == [12]


def test_retry_after_parses_seconds_and_http_dates() -> None:
    now = datetime(2026, 7, 19, 8, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120
    assert parse_retry_after("Sun, 19 Jul 2026 08:00:30 GMT", now=now) == 30
    assert parse_retry_after("Sun, 19 Jul 2026 07:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None


def test_exhausted_retries_raise_fetch_error_with_status(server: FaultServer, make_client, store: RawStore) -> None:
    server.set("/data", Reply(503))
    with pytest.raises(FetchError) as caught:
        make_client(max_retries=2, store=store).get(server.url("/data"))
    assert caught.value.status == 503 and caught.value.url == server.url("/data")
    assert "3 attempts" in str(caught.value) and "\n" not in str(caught.value)
    assert server.count("/data") == 3
    [row] = fetch_log(store)
    assert (row["status"], row["attempts"], row["sha256"]) == (503, 3, None)


def test_404_fails_at_once_without_retry(server: FaultServer, make_client, fake_time: FakeTime) -> None:
    with pytest.raises(FetchError) as caught:
        make_client().get(server.url("/missing"))
    assert caught.value.status == 404
    assert server.count("/missing") == 1 and fake_time.sleeps == []


def test_connection_reset_is_retried(server: FaultServer, make_client) -> None:
    server.script("/data", Reply(reset=True), Reply(body="ok"))
    response = make_client().get(server.url("/data"))
    assert response.content == b"ok" and response.attempts == 2


def test_connection_refused_is_retried_then_fails_without_status(make_client, fake_time: FakeTime) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        make_client(max_retries=2, respect_robots=False).get(f"http://127.0.0.1:{port}/x")
    assert caught.value.status is None
    assert len(fake_time.sleeps) == 2


def test_truncated_body_is_retried_and_never_stored(server: FaultServer, make_client, store: RawStore) -> None:
    full = b"x" * 10_000
    server.script("/data", Reply(body=full, truncate_after=4_000), Reply(body=full))
    response = make_client(store=store).get(server.url("/data"))
    assert response.content == full and response.attempts == 2
    assert blob_count(store) == 1
    assert store.read(response.sha256) == full


def test_body_always_truncated_fails_and_stores_nothing(server: FaultServer, make_client, store: RawStore) -> None:
    server.set("/data", Reply(body=b'{"records": [1, 2, 3]}', truncate_after=10))
    with pytest.raises(FetchError):
        make_client(store=store, max_retries=1).get(server.url("/data"))
    assert blob_count(store) == 0
    assert [row for row in fetch_log(store) if row["status"] == 200] == []


def test_chunked_body_cut_before_last_chunk_is_retried(server: FaultServer, make_client) -> None:
    body = b"y" * 5_000
    server.script("/data", Reply(body=body, chunked=True, truncate_after=2_000), Reply(body=body, chunked=True))
    response = make_client().get(server.url("/data"))
    assert response.content == body and response.attempts == 2


# A page's completeness is a question of its framing, answered here; the article parsers read a
# page without </html> (tests/unit/ingest/sources/test_moe_zh_templates.py) because only this layer can tell a page
# that never had one from a transfer cut short.
PAGE_WITHOUT_END = (
    "<!DOCTYPE html><html><head><meta name='ArticleTitle' content='2018年来华留学统计'></head>"
    "<body><div class='TRS_Editor'><p>据统计，2018年共有来自196个国家和地区的492,185名各类外国留学人员" + "。" * 3_000
).encode()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_page_whole_by_its_framing_but_without_closing_html_is_returned_and_stored(
    server: FaultServer, make_client, store: RawStore, chunked: bool
) -> None:
    server.set("/page.html", Reply.html(PAGE_WITHOUT_END, chunked=chunked))
    response = make_client(store=store).get(server.url("/page.html"))
    assert response.content == PAGE_WITHOUT_END and response.attempts == 1
    assert store.read(response.sha256) == PAGE_WITHOUT_END


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_page_cut_mid_transfer_is_a_fetch_error_and_never_stored(
    server: FaultServer, make_client, store: RawStore, chunked: bool
) -> None:
    server.set("/page.html", Reply.html(PAGE_WITHOUT_END, chunked=chunked, truncate_after=len(PAGE_WITHOUT_END) // 2))
    with pytest.raises(FetchError, match="/page.html"):
        make_client(store=store, max_retries=1).get(server.url("/page.html"))
    assert blob_count(store) == 0
    assert [row for row in fetch_log(store) if row["status"] == 200] == []


def test_stall_mid_body_hits_the_read_timeout_and_is_retried(server: FaultServer, make_client) -> None:
    body = b"z" * 4_000
    server.script("/data", Reply(body=body, stall_after=1_000, stall_s=10), Reply(body=body))
    started = time.monotonic()
    response = make_client(read_timeout_s=0.5).get(server.url("/data"))
    assert response.content == body and response.attempts == 2
    assert time.monotonic() - started < 5


def test_stall_on_every_attempt_fails_after_retries(server: FaultServer, make_client) -> None:
    server.set("/data", Reply(body=b"z" * 4_000, stall_after=1_000, stall_s=10))
    with pytest.raises(FetchError) as caught:
        make_client(read_timeout_s=0.3, max_retries=1).get(server.url("/data"))
    assert "2 attempts" in str(caught.value)
    assert server.count("/data") == 2


def test_body_larger_than_max_bytes_fails_without_retry(server: FaultServer, make_client) -> None:
    server.set("/big", Reply(body=b"b" * 5_000, chunked=True))
    with pytest.raises(FetchError, match="limit"):
        make_client(max_bytes=1_000).get(server.url("/big"))
    assert server.count("/big") == 1


# -- conditional GET and the raw store ----------------------------------------------------------


def test_conditional_get_returns_stored_bytes_on_304(server: FaultServer, make_client, store: RawStore) -> None:
    body = '{"version": "20250917"}'
    server.set("/version", Reply.json(body, etag='"v1"'))
    client = make_client(store=store)
    first = client.get(server.url("/version"))
    second = client.get(server.url("/version"))

    assert server.requests_for("/version")[0].header("If-None-Match") is None
    assert server.requests_for("/version")[1].header("If-None-Match") == '"v1"'
    assert (first.not_modified, second.not_modified) == (False, True)
    assert second.status == 200 and second.content == body.encode() and second.sha256 == first.sha256
    assert second.json() == {"version": "20250917"}
    assert (client.request_count, client.conditional_count) == (3, 1)  # robots.txt + 2
    assert [(r["status"], r["conditional"], r["not_modified"]) for r in fetch_log(store)] == [
        (200, False, False),
        (304, True, True),
    ]


# -- without a store: the caller keeps the validators (the watchers) --------------------------


def test_without_a_store_the_callers_validators_are_sent_and_the_new_ones_returned(
    server: FaultServer, make_client, home: Home
) -> None:
    stamp = "Wed, 18 Nov 2026 08:00:00 GMT"
    server.set("/list", Reply.html("<li>a</li>", etag='"v1"', last_modified=stamp))
    client = make_client()
    first = client.get_with_validators(server.url("/list"), accept="text/html")
    assert (first.status, first.not_modified, first.content) == (200, False, b"<li>a</li>")
    assert (first.etag, first.last_modified, first.content_type) == ('"v1"', stamp, "text/html; charset=utf-8")
    again = client.get_with_validators(server.url("/list"), etag=first.etag, last_modified=first.last_modified)
    assert (again.status, again.not_modified, again.content) == (304, True, b"")
    assert (again.etag, again.last_modified) == ('"v1"', stamp)
    sent = server.requests_for("/list")
    assert [r.header("If-None-Match") for r in sent] == [None, '"v1"']
    assert [r.header("If-Modified-Since") for r in sent] == [None, stamp]
    assert sent[0].header("Accept") == "text/html"
    assert not home.catalog.exists()
    server.script("/list", Reply(status=304, content_type=None))  # a 304 that restates no validator
    bare = client.get_with_validators(server.url("/list"), etag='"v1"', last_modified=stamp)
    assert (bare.not_modified, bare.etag, bare.last_modified) == (True, '"v1"', stamp)


def test_without_a_store_robots_throttle_retries_size_and_truncation_still_apply(
    server: FaultServer, make_client, fake_time: FakeTime
) -> None:
    server.set_robots("User-agent: *\nDisallow: /private/\n")
    client = make_client(min_delay_s=2, max_bytes=1_000)
    with pytest.raises(RobotsDisallowed):
        client.get_with_validators(server.url("/private/list"))
    full = b"x" * 900
    server.script("/list", Reply(status=503, headers={"Retry-After": "3"}), Reply(body=full, truncate_after=400))
    server.set("/list", Reply(body=full))
    assert client.get_with_validators(server.url("/list")).content == full
    assert server.count("/list") == 3
    # The host's delay after robots.txt, then the 503's Retry-After.
    assert fake_time.sleeps[:2] == [pytest.approx(2, abs=0.1), 3.0]
    server.set("/big", Reply(body=b"y" * 2_000))
    with pytest.raises(FetchError, match="1000-byte limit"):
        client.get_with_validators(server.url("/big"))


def test_a_client_with_a_store_keeps_the_validators_itself(make_client, store: RawStore) -> None:
    with pytest.raises(ValueError, match="use get"):
        make_client(store=store).get_with_validators("http://127.0.0.1:9/x", etag='"v1"')


def test_conditional_get_uses_last_modified_too(server: FaultServer, make_client, store: RawStore) -> None:
    stamp = "Wed, 17 Sep 2025 08:00:00 GMT"
    server.set("/page", Reply.html("<p>教育部</p>", last_modified=stamp))
    client = make_client(store=store)
    client.get(server.url("/page"))
    second = client.get(server.url("/page"))
    assert server.requests_for("/page")[1].header("If-Modified-Since") == stamp
    assert second.not_modified and "教育部" in second.text()
    # A 304 carries no Content-Type; the stored body's type comes from the logged 200.
    assert second.headers["Content-Type"] == "text/html; charset=utf-8"


def test_unconditional_get_sends_no_validators(server: FaultServer, make_client, store: RawStore) -> None:
    server.set("/version", Reply(body="v", etag='"v1"'))
    client = make_client(store=store)
    client.get(server.url("/version"))
    again = client.get(server.url("/version"), conditional=False)
    assert server.requests_for("/version")[1].header("If-None-Match") is None
    assert not again.not_modified and client.conditional_count == 0


def test_changed_resource_after_conditional_get_is_stored(server: FaultServer, make_client, store: RawStore) -> None:
    server.script("/page", Reply(body="old", etag='"1"'), Reply(body="new", etag='"2"'))
    client = make_client(store=store)
    client.get(server.url("/page"))
    second = client.get(server.url("/page"))
    assert second.content == b"new" and not second.not_modified
    assert store.validators(server.url("/page")).etag == '"2"'


def test_identical_bytes_are_stored_once(server: FaultServer, make_client, store: RawStore) -> None:
    server.set("/a", Reply(body="same bytes"))
    server.set("/b", Reply(body="same bytes"))
    client = make_client(store=store)
    first, second = client.get(server.url("/a")), client.get(server.url("/b"))
    assert first.sha256 == second.sha256
    assert blob_count(store) == 1
    assert len(fetch_log(store)) == 2


def test_params_are_sorted_into_the_logged_url(server: FaultServer, make_client, store: RawStore) -> None:
    server.set("/api/data", Reply.json("[]", etag='"e"'))
    client = make_client(store=store)
    client.get(server.url("/api/data"), params={"start": "1998", "indicator": "26637"})
    client.get(server.url("/api/data"), params={"indicator": "26637", "start": "1998"})
    assert fetch_log(store)[0]["url"] == server.url("/api/data?indicator=26637&start=1998")
    assert server.requests_for("/api/data")[1].header("If-None-Match") == '"e"'


def test_canonical_url_merges_and_sorts_params_and_drops_fragment() -> None:
    assert canonical_url("http://h/p?z=1#frag", {"a": "2"}) == "http://h/p?a=2&z=1"
    assert canonical_url("http://h/p?z=1&a=2") == "http://h/p?z=1&a=2"


# -- redirects --------------------------------------------------------------------------------


def test_redirect_within_the_host_is_followed(server: FaultServer, make_client) -> None:
    server.set("/old", Reply.redirect("/new", 301))
    server.set("/new", Reply(body="moved"))
    response = make_client().get(server.url("/old"))
    assert response.url == server.url("/new") and response.content == b"moved"


def test_redirect_loop_fails(server: FaultServer, make_client) -> None:
    server.set("/a", Reply.redirect("/b"))
    server.set("/b", Reply.redirect("/a"))
    with pytest.raises(FetchError, match="loop"):
        make_client().get(server.url("/a"))


def test_more_than_five_redirects_fail(server: FaultServer, make_client) -> None:
    for hop in range(7):
        server.set(f"/r{hop}", Reply.redirect(f"/r{hop + 1}"))
    with pytest.raises(FetchError, match="redirects"):
        make_client().get(server.url("/r0"))
    assert server.count("/r6") == 0


def test_redirect_to_host_outside_allowed_hosts_is_refused(server: FaultServer, make_client) -> None:
    server.set("/out", Reply.redirect(f"http://localhost:{server.port}/elsewhere"))
    server.set("/elsewhere", Reply(body="should not be fetched"))
    with pytest.raises(FetchError, match="allowed_hosts"):
        make_client(allowed_hosts={"127.0.0.1"}).get(server.url("/out"))
    assert server.count("/elsewhere") == 0


def test_redirect_to_file_scheme_is_refused(server: FaultServer, make_client) -> None:
    server.set("/out", Reply.redirect("file:///etc/passwd"))
    with pytest.raises(FetchError, match="scheme"):
        make_client().get(server.url("/out"))


def test_redirect_target_is_checked_against_robots(server: FaultServer, make_client) -> None:
    server.set_robots("User-agent: *\nDisallow: /private/\n")
    server.set("/out", Reply.redirect("/private/doc"))
    with pytest.raises(RobotsDisallowed):
        make_client().get(server.url("/out"))
    assert server.count("/private/doc") == 0


# -- bodies -----------------------------------------------------------------------------------


def test_gbk_page_with_meta_only_charset_decodes_chinese_title(server: FaultServer, make_client) -> None:
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        "<title>教育部：中外合作办学与来华留学工作会议召开</title></head><body>朱镕基</body></html>"
    )
    server.set("/article.html", Reply.html(html.encode("gbk"), charset=None))
    response = make_client().get(server.url("/article.html"))
    assert response.headers["content-type"] == "text/html"
    assert "教育部：中外合作办学与来华留学工作会议召开" in response.text()
    assert "朱镕基" in response.text()


def test_invalid_json_raises_parse_error_naming_the_url(server: FaultServer, make_client) -> None:
    server.set("/api", Reply.json('{"records": [{"value": 1'))
    response = make_client().get(server.url("/api"))
    with pytest.raises(ParseError, match="/api"):
        response.json()


def test_accept_header_is_sent_when_asked(server: FaultServer, make_client) -> None:
    server.set("/api", Reply.json("{}"))
    make_client().get(server.url("/api"), accept="application/json")
    assert server.requests_for("/api")[0].header("Accept") == "application/json"


def test_response_headers_are_case_insensitive() -> None:
    from requests.structures import CaseInsensitiveDict

    response = Response("http://h/", 200, b"", CaseInsensitiveDict({"ETag": '"x"'}), "0" * 64)
    assert response.headers["etag"] == '"x"'


# -- configuration ----------------------------------------------------------------------------


def test_for_source_takes_timeouts_retries_and_host_from_config(
    monkeypatch: pytest.MonkeyPatch, store: RawStore
) -> None:
    monkeypatch.delenv("EDUOPEN_MIN_DELAY_S", raising=False)
    monkeypatch.setenv("EDUOPEN_DEMO_URL", "http://127.0.0.1:8123/base")
    cfg = SourceConfig.parse(
        "demo",
        {"min_delay_s": 2.5, "read_timeout_s": 9},
        {"connect_timeout_s": 4, "max_retries": 6, "backoff_max_s": 11},
        UA,
    )
    client = PoliteClient.for_source(cfg, store)
    assert client.timeout == (4.0, 9.0)
    assert (client.max_retries, client.backoff_max_s, client.min_delay_s) == (6, 11.0, 2.5)
    assert client.allowed_hosts == {"127.0.0.1:8123"} and client.user_agent == UA
    assert client.store is store
