"""The one config schema: sources.yml checked at load, `EDUOPEN_*` variables typed, `eduopen config`."""

from __future__ import annotations

import json
import secrets
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from eduopen.cli import main
from eduopen.core import config
from eduopen.core.config import (
    ALERT_APPRISE_URLS,
    ALERT_EMAIL_TO,
    BUILT_IN,
    ENV_VARS,
    FROM_DEFAULTS,
    GX_FULL_ROWS,
    LANDING_SETTLE_S,
    MIN_DELAY_S,
    TASK_RETRIES,
    EnvVar,
    Settings,
    SourceConfig,
    check_env,
)
from eduopen.core.errors import ConfigError, ExitCode
from eduopen.orchestration.watch import landing_settle_s


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV_VARS:
        monkeypatch.delenv(var.name, raising=False)
    monkeypatch.delenv("EDUOPEN_UIS_URL", raising=False)


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def minimal(**top: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "defaults": {"min_delay_s": 0.5, "max_retries": 6},
        "sources": {
            "uis": {"kind": "statistics", "base_url": "https://uis.example/", "min_delay_s": 0.25, "start_year": 2001},
            "landing": {"kind": "files", "settle_s": 7},
        },
    }
    data.update(top)
    return data


def problems(exc: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return str(exc.value).splitlines()


# -- sources.yml ---------------------------------------------------------------------------------


def test_an_unknown_top_level_key_stops_the_load_naming_file_key_and_allowed_keys(tmp_path: Path) -> None:
    path = write(tmp_path, minimal(sourcez={}))
    with pytest.raises(ConfigError) as exc:
        Settings.load(path).source_names()
    assert problems(exc) == [f"{path}: unknown key sourcez; allowed keys: user_agent, defaults, sources"]


def test_a_misspelt_key_in_defaults_is_refused_instead_of_falling_back(tmp_path: Path) -> None:
    data = minimal()
    data["defaults"]["min_dealy_s"] = 5
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as exc:
        Settings.load(path).source("uis")
    [line] = problems(exc)
    assert line.startswith(f"{path}: unknown key defaults.min_dealy_s; allowed keys: min_delay_s, ")
    assert "max_retries" in line and "respect_robots" in line


def test_every_bad_common_value_is_listed_one_line_each_with_file_source_and_key(tmp_path: Path) -> None:
    data = minimal()
    data["sources"]["uis"].update(kind="rss", min_delay_s="soon")
    data["sources"]["landing"]["max_retries"] = -1
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as exc:
        Settings.load(path).source_names()
    lines = problems(exc)
    assert len(lines) == 3
    assert lines[0].startswith(f"{path}: sources.uis: min_delay_s: ") and "'soon'" in lines[0]
    assert lines[1].startswith(f"{path}: sources.uis: kind: ") and "'releases', 'statistics' or 'files'" in lines[1]
    assert lines[2].startswith(f"{path}: sources.landing: max_retries: ") and "-1" in lines[2]


def test_common_keys_are_typed_and_the_rest_of_an_entry_is_its_options(tmp_path: Path) -> None:
    cfg = Settings.load(write(tmp_path, minimal())).source("uis")
    assert (cfg.kind, cfg.base_url, cfg.max_retries, cfg.read_timeout_s) == (
        "statistics",
        "https://uis.example",
        6,
        30.0,
    )
    assert dict(cfg.options) == {"start_year": 2001}


# -- environment -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("EDUOPEN_MIN_DELAY_S", "abc", "a number of seconds, 0 or more"),
        ("EDUOPEN_MIN_DELAY_S", "-1", "a number of seconds, 0 or more"),
        ("EDUOPEN_DBT_TASKS", "foo", "one of per_node, single"),
        ("EDUOPEN_TASK_RETRIES", "2.5", "a whole number, 0 or more"),
        ("EDUOPEN_TODAY", "yesterday", "a date YYYY-MM-DD"),
        ("EDUOPEN_MEMORY_LIMIT", "lots", "a size DuckDB understands"),
        ("EDUOPEN_MAX_ROW_DROP_PCT", "101", "within 0..100"),
    ],
)
def test_a_bad_variable_names_itself_its_value_and_what_is_allowed(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, allowed: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as exc:
        check_env()
    assert str(exc.value).startswith(f"{name}={value!r}: not allowed; expected ")
    assert allowed in str(exc.value)


def test_all_bad_variables_are_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUOPEN_GX_FULL_ROWS", "many")
    monkeypatch.setenv("EDUOPEN_UIS_URL", "uis.example")
    with pytest.raises(ConfigError) as exc:
        check_env(["uis"])
    assert [line.split("=")[0] for line in problems(exc)] == ["EDUOPEN_GX_FULL_ROWS", "EDUOPEN_UIS_URL"]


def test_an_empty_variable_means_unset_everywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.load(write(tmp_path, minimal()))
    for var in (*ENV_VARS, settings.source("uis").url_var):
        monkeypatch.setenv(var.name, "  ")
    check_env(["uis"])
    assert landing_settle_s(settings) == 7.0
    assert (TASK_RETRIES.value(), GX_FULL_ROWS.value()) == (2, 10_000)
    cfg = settings.source("uis")
    assert (cfg.min_delay_s, cfg.base_url, cfg.today) == (0.25, "https://uis.example", None)
    monkeypatch.setenv(LANDING_SETTLE_S.name, "0.5")
    assert landing_settle_s(settings) == 0.5


def test_precedence_is_environment_then_source_then_defaults_then_built_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.load(write(tmp_path, minimal()))
    uis, landing = settings.source("uis"), settings.source("landing")
    assert (uis.min_delay_s, uis.origin("min_delay_s")) == (0.25, "sources.yml sources.uis")
    assert (landing.min_delay_s, landing.origin("min_delay_s")) == (0.5, FROM_DEFAULTS)
    assert (landing.backoff_max_s, landing.origin("backoff_max_s")) == (30.0, BUILT_IN)
    monkeypatch.setenv(MIN_DELAY_S.name, "0")
    monkeypatch.setenv("EDUOPEN_UIS_URL", "http://127.0.0.1:8123/replay/")
    monkeypatch.setenv("EDUOPEN_TODAY", "2025-03-01")
    assert (uis.min_delay_s, uis.origin("min_delay_s")) == (0.0, "environment variable EDUOPEN_MIN_DELAY_S")
    assert (landing.min_delay_s, uis.today) == (0.0, date(2025, 3, 1))
    assert (uis.base_url, uis.origin("base_url")) == (
        "http://127.0.0.1:8123/replay",
        "environment variable EDUOPEN_UIS_URL",
    )
    assert uis.canonical_base_url == "https://uis.example"


def test_a_source_built_directly_is_checked_like_one_from_the_file() -> None:
    cfg = SourceConfig.parse("demo", {"base_url": "http://x.example", "read_timeout_s": 9}, {"max_retries": 1})
    assert (cfg.read_timeout_s, cfg.max_retries, cfg.origin("max_retries")) == (9.0, 1, FROM_DEFAULTS)
    with pytest.raises(ConfigError, match=r"sources.yml: sources.demo: read_timeout_s: .*'slow'"):
        SourceConfig.parse("demo", {"read_timeout_s": "slow"})


# -- eduopen config --------------------------------------------------------------------------------


def run_config(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["config", *args]) == 0
    return capsys.readouterr().out


def test_eduopen_config_shows_each_value_and_where_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDUOPEN_SOURCES_FILE", str(write(tmp_path, minimal())))
    monkeypatch.setenv("EDUOPEN_TASK_RETRIES", "0")
    monkeypatch.setenv("EDUOPEN_UIS_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("EDUOPEN_DB_PASSWORD", "hunter2-not-shown")
    out = run_config(capsys)
    lines = [line.strip() for line in out.splitlines()]
    assert "EDUOPEN_TASK_RETRIES = 0  (environment variable EDUOPEN_TASK_RETRIES)" in lines
    assert "EDUOPEN_GX_FULL_ROWS = 10000  (built-in default)" in lines
    assert "min_delay_s = 0.25  (sources.yml sources.uis)" in lines
    assert "max_retries = 6  (sources.yml defaults)" in lines
    assert "backoff_max_s = 30.0  (built-in default)" in lines
    assert "base_url = http://127.0.0.1:9  (environment variable EDUOPEN_UIS_URL)" in lines
    assert "start_year = 2001  (sources.yml sources.uis)" in lines
    assert "hunter2" not in out

    report = json.loads(run_config(capsys, "--json"))
    assert report["sources"]["landing"]["settings"]["min_delay_s"] == {"value": 0.5, "from": FROM_DEFAULTS}
    assert report["sources"]["landing"]["options"]["settle_s"] == {
        "value": 7,
        "from": "sources.yml sources.landing",
    }
    assert "hunter2" not in json.dumps(report)


def test_eduopen_config_never_prints_the_value_of_a_secret_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = EnvVar[str | None]("EDUOPEN_API_TOKEN", str, None, "a token", "any text")
    monkeypatch.setattr(config, "ENV_VARS", (*ENV_VARS, secret))
    monkeypatch.setenv("EDUOPEN_SOURCES_FILE", str(write(tmp_path, minimal())))
    value = secrets.token_hex(8)
    monkeypatch.setenv(secret.name, value)
    out = run_config(capsys) + run_config(capsys, "--json")
    assert f"{secret.name} = (set, not shown)" in out and value not in out


def test_a_credential_in_a_source_url_is_masked_in_eduopen_config_and_in_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDUOPEN_SOURCES_FILE", str(write(tmp_path, minimal())))
    password, token = secrets.token_hex(8), secrets.token_hex(8)
    monkeypatch.setenv("EDUOPEN_UIS_URL", f"http://eduopen:{password}@127.0.0.1:9/?access_token={token}")
    out = run_config(capsys) + run_config(capsys, "--json")
    assert "eduopen:***@127.0.0.1:9" in out and password not in out and token not in out
    monkeypatch.setenv("EDUOPEN_UIS_URL", f"ftp://eduopen:{password}@127.0.0.1:9/")
    with pytest.raises(ConfigError, match=r"EDUOPEN_UIS_URL='ftp://\*\*\*@127.0.0.1:9/'") as exc:
        check_env(["uis"])
    assert password not in str(exc.value)


def test_eduopen_config_reports_every_bad_value_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDUOPEN_SOURCES_FILE", str(write(tmp_path, minimal())))
    monkeypatch.setenv("EDUOPEN_MIN_DELAY_S", "abc")
    monkeypatch.setenv("EDUOPEN_DBT_TASKS", "foo")
    data = minimal()
    data["sources"]["uis"]["start_yaer"] = 2001
    monkeypatch.setenv("EDUOPEN_SOURCES_FILE", str(write(tmp_path, data)))
    assert main(["config"]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert "EDUOPEN_MIN_DELAY_S='abc'" in err and "EDUOPEN_DBT_TASKS='foo'" in err
    assert "uis.start_yaer: unknown key" in err


def test_a_step_refuses_a_bad_variable_before_it_starts_with_the_config_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDUOPEN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EDUOPEN_SOURCES_FILE", str(write(tmp_path, minimal())))
    monkeypatch.setenv("EDUOPEN_MIN_DELAY_S", "-1")
    assert main(["ingest", "uis"]) == ExitCode.CONFIG
    assert "EDUOPEN_MIN_DELAY_S='-1'" in capsys.readouterr().err
    assert not (tmp_path / "home").exists()  # refused before the home was touched


def test_alert_settings_parse_lists_and_an_apprise_url_is_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ALERT_EMAIL_TO.name, "ops@eduopen.test, data@eduopen.test")
    assert ALERT_EMAIL_TO.value() == ("ops@eduopen.test", "data@eduopen.test")
    monkeypatch.setenv(ALERT_EMAIL_TO.name, "ops@eduopen.test; data")
    with pytest.raises(ConfigError, match="EDUOPEN_ALERT_EMAIL_TO"):
        ALERT_EMAIL_TO.value()
    monkeypatch.delenv(ALERT_EMAIL_TO.name)
    monkeypatch.setenv("EDUOPEN_SOURCES_FILE", str(write(tmp_path, minimal())))
    token = secrets.token_hex(8)
    monkeypatch.setenv(ALERT_APPRISE_URLS.name, f"slack://{token}/B0/C0, json://127.0.0.1:9/alerts")
    assert ALERT_APPRISE_URLS.value() == (f"slack://{token}/B0/C0", "json://127.0.0.1:9/alerts")
    out = run_config(capsys) + run_config(capsys, "--json")
    assert f"{ALERT_APPRISE_URLS.name} = (set, not shown)" in out and token not in out
    monkeypatch.setenv(ALERT_APPRISE_URLS.name, f"hooks.slack.com/{token}")
    with pytest.raises(ConfigError) as exc:
        ALERT_APPRISE_URLS.value()
    assert token not in str(exc.value)
