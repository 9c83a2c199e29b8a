"""The three documentation sites, rendered in headless Chromium with the network off.

One home is validated, published and documented once for the module; each site's pages are then
opened twice, from disk (file://) and through `eduopen docs serve`, and must show their content:
dbt docs its model list, the Data Docs index its suites' validation results in a bootstrap table,
a validation page its counts with bootstrap's styles and Font Awesome's font applied, the report
its charts. No page may ask a non-local host for anything.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.request import urlopen

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from eduopen.core.paths import Home
from eduopen.report.serve import make_server
from tests.support.browser import probe_result, render_offline, with_style_probe
from tests.support.synthetic_warehouse import clean_build, copy_home

pytestmark = pytest.mark.timeout(600)

SETTLE_MS = 5000
MODES = ("file", "served")


@pytest.fixture(scope="module")
def documented(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A clean build, through the gate (Data Docs), published and documented (dbt docs, report)."""
    from eduopen import pipeline

    home = copy_home(clean_build(tmp_path_factory), tmp_path_factory.mktemp("docs") / "home")
    pipeline.validate(home)
    pipeline.publish(home=home)
    pipeline.docs(home)
    return home


@pytest.fixture(scope="module")
def server(documented: Home) -> Iterator[str]:
    with make_server(documented, port=0) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{httpd.server_port}"
        httpd.shutdown()


def open_page(home: Home, server: str, mode: str, page: Path) -> str:
    """The URL of `page` (under `home.docs`) as the mode opens it."""
    if mode == "file":
        return page.resolve().as_uri()
    return f"{server}/{page.relative_to(home.docs).as_posix()}"


def visible_text(node) -> str:
    return re.sub(r"\s+", " ", node.text(separator=" ", strip=True))


@pytest.mark.parametrize("mode", MODES)
def test_dbt_docs_list_the_models(documented: Home, server: str, mode: str) -> None:
    page = render_offline(
        open_page(documented, server, mode, documented.docs / "dbt" / "index.html"), settle_ms=SETTLE_MS
    )
    assert page.remote_requests == []
    # The manifest is inlined in a <script>: only the rendered sidebar proves the app ran on it.
    tree = HTMLParser(page.dom).css_first("model-tree")
    assert tree is not None, "dbt docs rendered no model tree"
    models = {a.text(strip=True) for a in tree.css("a")}
    assert {"fct_policy_release", "fct_student_mobility", "dim_country"} <= models


@pytest.mark.parametrize("mode", MODES)
def test_data_docs_index_lists_the_validation_results(documented: Home, server: str, mode: str) -> None:
    index = with_style_probe(documented.docs / "gx" / "index.html", {"navbar": ("nav.navbar", "display")})
    page = render_offline(open_page(documented, server, mode, index), settle_ms=SETTLE_MS)
    assert page.remote_requests == []
    tree = HTMLParser(page.dom)
    # bootstrap-table (jQuery, bootstrap) turns the site's JSON into these rows; without them: none.
    assert tree.css_first("div.bootstrap-table") is not None
    rows = [visible_text(tr) for tr in tree.css("div.bootstrap-table tbody tr")]
    assert any("marts.fct_policy_release" in row for row in rows), rows[:5]
    assert probe_result(page.dom)["navbar"] == "flex"  # bootstrap.min.css applied


@pytest.mark.parametrize("mode", MODES)
def test_data_docs_validation_page_shows_counts_styled(documented: Home, server: str, mode: str) -> None:
    (validation,) = (documented.docs / "gx" / "validations").rglob("*marts.fct_policy_release.html")
    probed = with_style_probe(validation, {"navbar": ("nav.navbar", "display"), "icon font": ("i.fas", "font-family")})
    page = render_offline(open_page(documented, server, mode, probed), settle_ms=SETTLE_MS)
    assert page.remote_requests == []
    text = visible_text(HTMLParser(page.dom).body)
    evaluated = re.search(r"Evaluated Expectations (\d+) Successful Expectations (\d+)", text)
    assert evaluated and int(evaluated[1]) > 0 and evaluated[1] == evaluated[2], text[:500]
    probe = probe_result(page.dom)
    assert probe["navbar"] == "flex"
    assert "Font Awesome 6 Free" in str(probe["icon font"])
    assert "Font Awesome 6 Free" in probe["fonts loaded"]  # the webfont itself, not a fallback


@pytest.mark.parametrize("mode", MODES)
def test_report_draws_its_charts(documented: Home, server: str, mode: str) -> None:
    page = render_offline(open_page(documented, server, mode, documented.docs / "report" / "index.html"))
    assert page.remote_requests == []
    assert len(HTMLParser(page.dom).css("svg")) >= 3


def test_served_index_links_the_three_sites(documented: Home, server: str) -> None:
    page = render_offline(f"{server}/")
    assert page.remote_requests == []
    links = {a.text(strip=True): a.attributes["href"] for a in HTMLParser(page.dom).css("a")}
    assert set(links) == {"Report", "dbt docs", "Data Docs"}
    for href in links.values():
        with urlopen(f"{server}/{href}", timeout=10) as response:
            assert response.status == 200
            assert b"<html" in response.read(4096).lower()
