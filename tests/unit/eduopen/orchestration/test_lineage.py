"""OpenLineage settings and dataset names, without Airflow: where events go, what each source reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eduopen.core.config import Settings
from eduopen.core.paths import Home
from eduopen.orchestration.lineage import duckdb_table, lineage_file, openlineage_env, source_locations


def test_events_go_to_a_file_in_the_home_by_default(tmp_path: Path) -> None:
    home = Home(tmp_path)
    settings = openlineage_env(home, {"PATH": "/usr/bin"})
    transport = json.loads(settings["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert transport == {
        "type": "file",
        "log_file_path": str(tmp_path / "lineage" / "openlineage.jsonl"),
        "append": True,
    }
    assert lineage_file(home) == tmp_path / "lineage" / "openlineage.jsonl"
    assert settings["AIRFLOW__OPENLINEAGE__NAMESPACE"] == "eduopen"


@pytest.mark.parametrize(
    "operator_setting",
    [
        {"OPENLINEAGE_URL": "http://marquez:5000"},
        {"AIRFLOW__OPENLINEAGE__TRANSPORT": '{"type": "http", "url": "http://marquez:5000"}'},
        {"AIRFLOW__OPENLINEAGE__CONFIG_PATH": "/etc/openlineage.yml"},
        {"OPENLINEAGE__TRANSPORT__TYPE": "console"},
        {"AIRFLOW__OPENLINEAGE__DISABLED": "true"},
    ],
)
def test_a_transport_the_operator_chose_is_left_alone(tmp_path: Path, operator_setting: dict[str, str]) -> None:
    settings = openlineage_env(Home(tmp_path), operator_setting)
    assert "AIRFLOW__OPENLINEAGE__TRANSPORT" not in settings


def test_the_operators_namespace_is_kept(tmp_path: Path) -> None:
    assert "AIRFLOW__OPENLINEAGE__NAMESPACE" not in openlineage_env(Home(tmp_path), {"OPENLINEAGE_NAMESPACE": "team"})


def test_a_web_source_reads_its_listings_on_its_own_site_even_through_a_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The replay (or any mirror) serves the pages; the data is still the Ministry's.
    monkeypatch.setenv("EDUOPEN_MOE_ZH_URL", "http://127.0.0.1:8765")
    settings = Settings.load()
    home = Home(tmp_path)
    columns = [column["path"] for column in settings.source("moe_zh").options["columns"]]
    assert source_locations(settings.source("moe_zh"), home) == [("http://www.moe.gov.cn", path) for path in columns]
    assert source_locations(settings.source("uis"), home) == [("https://api.uis.unesco.org", "/api/public")]
    assert source_locations(settings.source("feeds"), home) == [("http://en.people.cn", "/rss/90000.xml")]
    assert source_locations(settings.source("landing"), home) == [("file", str((tmp_path / "landing").resolve()))]


def test_duckdb_tables_are_named_as_dbt_names_dbt_duckdb_relations(tmp_path: Path) -> None:
    # dbt-duckdb's database is the file's stem; OpenLineage's dbt processor names the namespace
    # `duckdb://<profile path>` and the table `<database>.<schema>.<name>`.
    audit = tmp_path / "audit.duckdb"
    assert duckdb_table(audit, "marts", "dim_country") == (f"duckdb://{audit.resolve()}", "audit.marts.dim_country")


def test_the_local_airflow_writes_events_into_its_home_unless_marquez_is_named(tmp_path: Path) -> None:
    from demo.airflow_local import airflow_env

    env = airflow_env(Home(tmp_path), {"PATH": "/usr/bin"})
    assert json.loads(env["AIRFLOW__OPENLINEAGE__TRANSPORT"])["log_file_path"] == str(lineage_file(Home(tmp_path)))
    env = airflow_env(Home(tmp_path), {"PATH": "/usr/bin", "OPENLINEAGE_URL": "http://127.0.0.1:5000"})
    assert "AIRFLOW__OPENLINEAGE__TRANSPORT" not in env
    assert env["OPENLINEAGE_URL"] == "http://127.0.0.1:5000"
