"""The Source contract (`ingest.sources.base.Source`) and the registry that finds sources by folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from eduopen.core.config import DEFAULT_SOURCES_FILE, Settings, SourceConfig
from eduopen.core.errors import ConfigError
from ingest.sources import REGISTRY, check_settings
from ingest.sources.base import Source
from ingest.sources.releases import DEFAULT_HORIZON_DAYS

UA = "EduOpenBot/test"


def _settings(tmp_path: Path, sources: dict) -> Settings:
    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump({"user_agent": UA, "sources": sources}), encoding="utf-8")
    return Settings.load(path)


def _shipped() -> dict:
    return yaml.safe_load(DEFAULT_SOURCES_FILE.read_text(encoding="utf-8"))["sources"]


def test_every_source_folder_declares_a_source_and_every_configured_source_has_a_folder() -> None:
    names = REGISTRY.names()
    assert {"moe_zh", "moe_en", "gov_en", "feeds", "uis", "worldbank", "oecd", "landing"} <= set(names)
    assert all(isinstance(REGISTRY.source(name), Source) for name in names)
    assert set(_shipped()) <= set(names)


def test_the_shipped_sources_file_is_valid() -> None:
    check_settings(Settings.load(DEFAULT_SOURCES_FILE))


def test_a_misspelt_key_stops_with_the_file_the_source_the_key_and_the_allowed_keys(tmp_path: Path) -> None:
    sources = _shipped()
    sources["worldbank"]["per_pages"] = 500
    settings = _settings(tmp_path, sources)
    with pytest.raises(ConfigError) as caught:
        check_settings(settings)
    message = str(caught.value)
    assert message.startswith(str(settings.path))
    assert "worldbank.per_pages: unknown key; allowed keys: api_prefix, date, indicators, per_page" in message


def test_every_problem_of_every_source_is_reported_at_once(tmp_path: Path) -> None:
    sources = _shipped()
    sources["moe_zh"]["max_page"] = 3
    sources["moe_zh"]["columns"][0]["nmae"] = "typo"
    sources["uis"]["start_year"] = "nineteen ninety-eight"
    sources["landing"]["kind"] = "releases"
    with pytest.raises(ConfigError) as caught:
        check_settings(_settings(tmp_path, sources))
    message = str(caught.value)
    assert "moe_zh.max_page: unknown key; allowed keys: columns, horizon_days, max_pages," in message
    # A nested key is checked against the keys allowed where it stands.
    assert "moe_zh.columns.0.nmae: unknown key; allowed keys: name, path" in message
    assert re.search(r"uis\.start_year: .*valid integer.*nineteen ninety-eight", message)
    assert "landing.kind: 'releases', but the source is of kind 'files'" in message


def test_a_disabled_source_is_not_checked(tmp_path: Path) -> None:
    sources = _shipped()
    sources["oecd"]["flow"] = []
    assert sources["oecd"]["enabled"] is False
    check_settings(_settings(tmp_path, sources))


def test_a_configured_source_without_a_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no source folder ingest.sources.moe_fr for source 'moe_fr'"):
        check_settings(_settings(tmp_path, {"moe_fr": {"kind": "releases", "base_url": "http://x"}}))


def test_options_take_their_defaults_from_code() -> None:
    cfg = SourceConfig.parse("feeds", {"base_url": "http://x", "urls": ["/a.xml"]}, {}, UA)
    options = REGISTRY.source("feeds").options_of(cfg)
    assert options.horizon_days == DEFAULT_HORIZON_DAYS == 4000
    moe_zh = REGISTRY.source("moe_zh").options_of(SourceConfig.parse("moe_zh", {"base_url": "http://x"}, {}, UA))
    assert moe_zh.max_pages == 10 and moe_zh.selectors.listing_item == "ul#list > li"


def test_a_source_run_refuses_a_misspelt_key_before_any_request(tmp_path: Path) -> None:
    from eduopen.core.paths import Home
    from ingest.sources.base import SourceContext
    from ingest.sources.uis import run

    cfg = SourceConfig.parse("uis", {"base_url": "http://x", "indicator": {"26637": "inbound"}}, {}, UA)
    context = SourceContext(cfg, store=None, client=None, home=Home(tmp_path))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"uis\.indicator: unknown key; allowed keys: .*indicators"):
        run(context)


def test_the_pipeline_stops_at_start_on_a_misspelt_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eduopen import pipeline
    from eduopen.core.paths import Home

    sources = _shipped()
    sources["gov_en"]["article_patern"] = ".*"
    monkeypatch.setenv("EDUOPEN_SOURCES_FILE", str(_settings(tmp_path, sources).path))
    home = Home(tmp_path / "home")
    for step in (lambda: pipeline.ingest(["uis"], home), lambda: pipeline.run_pipeline(["uis"], home)):
        with pytest.raises(ConfigError, match="gov_en.article_patern: unknown key"):
            step()
    assert not home.root.exists()  # neither the lock nor the raw catalog was touched


@pytest.mark.parametrize(
    ("name", "first_page"),
    [("moe_zh", "/a/index.html"), ("moe_en", "/a/index.html"), ("gov_en", "/a/"), ("uis", None), ("landing", None)],
)
def test_each_source_states_what_a_watcher_polls_for_it(name: str, first_page: str | None) -> None:
    cfg = SourceConfig.parse(name, {"base_url": "http://x", "columns": [{"path": "a"}]} if first_page else {}, {}, UA)
    listings = REGISTRY.source(name).listings(cfg)
    # A paged site's first page is its own (no `pagination` set); a source that is not watched states none.
    assert [(ls.label, ls.url) for ls in listings] == ([("a", "http://x" + first_page)] if first_page else [])


def test_a_configured_first_page_name_replaces_the_sources_own() -> None:
    settings = {"base_url": "http://x", "columns": [{"path": "/a/", "name": "col"}], "pagination": {"first": "p.html"}}
    listings = REGISTRY.source("moe_en").listings(SourceConfig.parse("moe_en", settings, {}, UA))
    assert [(ls.label, ls.url) for ls in listings] == [("col", "http://x/a/p.html")]
