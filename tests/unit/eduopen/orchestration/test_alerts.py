"""The alert message, from a failure callback's context, without Airflow: what it says and links."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from eduopen.core.config import DOCS_BASE_URL
from eduopen.core.errors import SourceError, ValidationFailed
from eduopen.core.paths import Home
from eduopen.orchestration.alerts import alert_from_context, docs_url, validation_page
from eduopen.warehouse.freshness import FreshnessReport, SourceFreshness, StaleSources

RUN_ID = "scheduled__2026-12-07T06:00:00+00:00"
LOGICAL = datetime(2026, 12, 7, 6, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_docs_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DOCS_BASE_URL.name, raising=False)


def context(task_id: str, error: BaseException, *, dag_id: str = "eduopen_warehouse") -> dict[str, Any]:
    # As the tasks raise it: the pipeline's error wrapped to skip retries.
    wrapper = RuntimeError("AirflowFailException stand-in")
    wrapper.__cause__ = error
    ti = SimpleNamespace(
        dag_id=dag_id,
        task_id=task_id,
        run_id=RUN_ID,
        try_number=1,
        max_tries=2,
        log_url=f"http://airflow.test/dags/{dag_id}/runs/{RUN_ID}/tasks/{task_id}",
    )
    return {"ti": ti, "exception": wrapper, "logical_date": LOGICAL}


def validation_record(home: Home) -> dict[str, Any]:
    return {
        "success": False,
        "docs_index": str(home.docs / "gx" / "index.html"),
        "failed": [
            {
                "suite": "marts.dim_country",
                "check": "expect_column_values_to_not_be_null",
                "column": "iso3",
                "observed": {"unexpected_count": 3, "partial_unexpected_list": [None, None, None]},
            },
            {"suite": "marts.fct_policy_release", "check": "table_exists", "column": None, "observed": "missing"},
        ],
    }


def page(home: Home, suite: str, run_time: str) -> Path:
    path = home.docs.joinpath("gx", "validations", *suite.split("."), "__none__", run_time, f"audit-{suite}.html")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("<html></html>", encoding="utf-8")
    return path


def test_a_failed_gate_says_task_run_try_why_and_links_the_failed_suites_data_docs_page(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    page(home, "marts.dim_country", "20261206T060000.000000Z")
    newest = page(home, "marts.dim_country", "20261207T060000.000000Z")
    error = ValidationFailed("2 expectations failed: marts.dim_country: ...")
    error.summary = validation_record(home)  # type: ignore[attr-defined]

    alert = alert_from_context(context("validate", error), home)

    assert alert.subject == f"[EduOpen] Quality gate failed (eduopen_warehouse.validate, run {RUN_ID})"
    text = alert.text()
    assert "Task: validate (try 1 of 3)" in text
    assert f"Run: {RUN_ID}" in text and "Logical date: 2026-12-07T06:00:00+00:00" in text
    assert "Why: ValidationFailed: 2 expectations failed" in text
    assert "Failed expectations (2):" in text
    assert 'marts.dim_country: expect_column_values_to_not_be_null(iso3); observed {"unexpected_count": 3' in text
    assert f"Data Docs, marts.dim_country: {newest.resolve().as_uri()}" in text
    # No page for a suite that was never validated (its table is missing); the index is linked.
    assert "Data Docs, marts.fct_policy_release" not in text
    assert f"Data Docs: {(home.docs / 'gx' / 'index.html').resolve().as_uri()}" in text
    assert f"Airflow log: http://airflow.test/dags/eduopen_warehouse/runs/{RUN_ID}/tasks/validate" in text


def test_with_the_docs_served_the_links_point_at_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Home(tmp_path / "home").ensure()
    newest = page(home, "marts.dim_country", "20261207T060000.000000Z")
    monkeypatch.setenv(DOCS_BASE_URL.name, "http://docs.example:8000/")
    error = ValidationFailed("failed")
    error.summary = validation_record(home)  # type: ignore[attr-defined]

    alert = alert_from_context(context("validate", error), home)

    relative = newest.relative_to(home.docs).as_posix()
    assert ("Data Docs, marts.dim_country", f"http://docs.example:8000/{relative}") in alert.links
    assert ("Data Docs", "http://docs.example:8000/gx/index.html") in alert.links
    assert f"<a href='http://docs.example:8000/{relative}'>" in alert.html()
    # A file outside the served folder is linked as a file.
    outside = tmp_path / "elsewhere.html"
    assert docs_url(outside, home) == outside.resolve().as_uri()


def test_without_the_record_on_the_error_the_gate_record_on_disk_is_read(tmp_path: Path) -> None:
    import json

    from expectations.validate import validation_record_path

    home = Home(tmp_path / "home").ensure()
    page(home, "marts.dim_country", "20261207T060000.000000Z")
    validation_record_path(home).write_text(json.dumps(validation_record(home)), encoding="utf-8")

    alert = alert_from_context(context("validate", ValidationFailed("failed")), home)

    assert alert.details[0].startswith("marts.dim_country: expect_column_values_to_not_be_null(iso3)")
    assert alert.links[0][0] == "Data Docs, marts.dim_country"


def test_the_page_the_gate_records_for_a_suite_wins_over_the_newest_on_disk(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    recorded = page(home, "marts.dim_country", "20261206T060000.000000Z")
    page(home, "marts.dim_country", "20261207T060000.000000Z")
    error = ValidationFailed("failed")
    error.summary = {  # type: ignore[attr-defined]
        **validation_record(home),
        "suites": {"marts.dim_country": {"docs_page": str(recorded)}},
    }
    alert = alert_from_context(context("validate", error), home)
    assert alert.links[0] == ("Data Docs, marts.dim_country", recorded.resolve().as_uri())


def test_a_failed_source_names_the_source_and_its_error_on_one_line() -> None:
    error = SourceError("1 of 1 sources failed — moe_zh: HTTP 503\n  after 4 retries")
    alert = alert_from_context(context("ingest_moe_zh", error, dag_id="eduopen_ingest_releases"))
    assert alert.subject == f"[EduOpen] Source failed: moe_zh (eduopen_ingest_releases.ingest_moe_zh, run {RUN_ID})"
    assert alert.reason == "SourceError: 1 of 1 sources failed — moe_zh: HTTP 503 after 4 retries"
    assert alert.severity == "failure"


def test_stale_sources_are_named_with_their_last_load(tmp_path: Path) -> None:
    loaded = datetime(2026, 10, 1, 6, tzinfo=UTC)
    report = FreshnessReport(
        tmp_path / "warehouse.duckdb",
        (
            SourceFreshness("raw.fetch_log", "pass", LOGICAL, LOGICAL, 60.0, "14 days", None),
            SourceFreshness("raw.release_version", "warn", loaded, LOGICAL, 67 * 86400.0, "14 days", None),
            SourceFreshness("raw.flow_observation", "error", None, LOGICAL, None, "1 day", "30 days", True),
        ),
    )
    alert = alert_from_context(context("source_freshness", StaleSources(report), dag_id="eduopen_freshness"))
    assert alert.kind == "Stale sources" and alert.severity == "warning"
    assert alert.subject.startswith("[EduOpen] Stale sources: raw.release_version, raw.flow_observation (")
    assert alert.details == (
        "raw.release_version (warn): last loaded 2026-10-01 06:00 UTC, 67.0 days ago; warn after 14 days",
        "raw.flow_observation (error): never loaded; warn after 1 day; error after 30 days",
    )


def test_anything_else_is_reported_with_its_error_and_html_is_escaped() -> None:
    alert = alert_from_context(context("publish", ValueError("<b>disk</b> full")))
    assert alert.subject == f"[EduOpen] Task failed (eduopen_warehouse.publish, run {RUN_ID})"
    assert "ValueError: &lt;b&gt;disk&lt;/b&gt; full" in alert.html()
    assert "<b>disk</b>" not in alert.html()


def test_an_asset_triggered_run_has_no_logical_date() -> None:
    ctx = context("publish", ValueError("x"))
    ctx["logical_date"] = None
    assert alert_from_context(ctx).logical_date == "none (asset-triggered run)"


def test_the_newest_validation_page_is_picked_by_run_time(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    newest = page(home, "raw.observation", "20261207T060000.000000Z")
    older = page(home, "raw.observation", "20261201T060000.000000Z")
    os.utime(older, (2_000_000_000, 2_000_000_000))  # touched later, but from an earlier run
    assert validation_page(home.docs / "gx", "raw.observation") == newest
    assert validation_page(home.docs / "gx", "raw.release_version") is None
