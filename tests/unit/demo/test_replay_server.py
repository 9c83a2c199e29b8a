"""The replay server answers like the real sites: real paths, query strings, validators, overlays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from demo.replay.server import ReplayServer, relative_file_for


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    root = tmp_path / "bundle" / "site"
    (root / "news").mkdir(parents=True)
    (root / "news" / "index.html").write_text("<html>listing</html>", encoding="utf-8")
    (root / "api").mkdir()
    (root / "api" / "data@a=1&b=2").write_text('{"records": []}', encoding="utf-8")
    gbk = "<html><head><meta charset=gb2312></head><title>教育部</title></html>".encode("gbk")
    (root / "gbk.html").write_bytes(gbk)
    (root / "gbk.html.headers.json").write_text(json.dumps({"Content-Type": "text/html"}))
    (tmp_path / "secret.txt").write_text("not for you")
    overlay = tmp_path / "scenarios" / "newer" / "site" / "news"
    overlay.mkdir(parents=True)
    (overlay / "index.html").write_text("<html>listing with a new item</html>", encoding="utf-8")
    return tmp_path


@pytest.fixture
def server(bundle: Path):
    with ReplayServer(["site"], bundle=bundle / "bundle", scenarios_dir=bundle / "scenarios") as srv:
        yield srv


def test_query_string_maps_to_a_file_with_sorted_parameters():
    assert relative_file_for("/api/data", "b=2&a=1") == "api/data@a=1&b=2"
    assert relative_file_for("/news/", "") == "news/index.html"


def test_directory_path_serves_its_index(server):
    response = requests.get(server.url("site") + "/news/", timeout=5)
    assert response.status_code == 200 and response.text == "<html>listing</html>"


def test_query_parameters_in_any_order_reach_the_same_answer(server):
    response = requests.get(server.url("site") + "/api/data?b=2&a=1", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")


def test_unknown_path_is_404(server):
    assert requests.get(server.url("site") + "/nope.html", timeout=5).status_code == 404


def test_etag_revalidation_answers_304(server):
    first = requests.get(server.url("site") + "/news/", timeout=5)
    again = requests.get(server.url("site") + "/news/", headers={"If-None-Match": first.headers["ETag"]}, timeout=5)
    assert again.status_code == 304 and again.content == b""
    assert [r.conditional for r in server.requests("site")] == [False, True]


def test_sidecar_headers_send_html_without_charset(server):
    response = requests.get(server.url("site") + "/gbk.html", timeout=5)
    assert response.headers["Content-Type"] == "text/html"
    assert "教育部".encode("gbk") in response.content


def test_path_traversal_does_not_leave_the_bundle(server):
    response = requests.get(server.url("site") + "/../../secret.txt", timeout=5)
    assert response.status_code == 404
    raw = requests.get(server.url("site") + "/%2e%2e/%2e%2e/secret.txt", timeout=5)
    assert raw.status_code == 404


def test_scenario_overlay_is_served_in_front_of_the_bundle(server):
    server.set_scenarios("newer")
    assert "new item" in requests.get(server.url("site") + "/news/", timeout=5).text
    server.set_scenarios()
    assert "new item" not in requests.get(server.url("site") + "/news/", timeout=5).text


def test_control_endpoint_switches_scenarios_and_lists_requests(server):
    base = server.url("site")
    requests.get(base + "/__replay__/scenarios?set=newer", timeout=5)
    assert "new item" in requests.get(base + "/news/", timeout=5).text
    seen = requests.get(base + "/__replay__/requests", timeout=5).json()
    assert [r["path"] for r in seen] == ["/news/"]
