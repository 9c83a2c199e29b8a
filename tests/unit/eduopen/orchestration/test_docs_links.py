"""The Airflow plugin that links the UI to the report, dbt docs and Data Docs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from eduopen.core.paths import PROJECT_DIR
from eduopen.orchestration.docs_links import EduOpenDocsPlugin, docs_views
from eduopen.report.serve import SITES

# Airflow's own plugin loader and the serializer of its API's plugin list (what the UI reads), in
# a fresh interpreter: the entry point is found as the API server finds it, and EDUOPEN_DOCS_BASE_URL
# is read when the plugin loads.
LOAD_THROUGH_AIRFLOW = """
from airflow import plugins_manager
from airflow.api_fastapi.core_api.datamodels.plugins import PluginResponse
for info in plugins_manager.get_plugin_info():
    for view in PluginResponse(**info).external_views:
        if view.category == "EduOpen docs":
            print("VIEW", view.href)
"""


def test_each_site_is_linked_under_the_configured_url() -> None:
    views = docs_views("https://docs.example.org/eduopen/")
    assert [v["href"] for v in views] == [
        "https://docs.example.org/eduopen/report/index.html",
        "https://docs.example.org/eduopen/dbt/index.html",
        "https://docs.example.org/eduopen/gx/index.html",
    ]
    assert [v["name"] for v in views] == [site.title for site in SITES]
    assert EduOpenDocsPlugin.external_views


def test_airflow_loads_the_plugin_from_its_entry_point(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LOAD_THROUGH_AIRFLOW],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_DIR,
        env={"EDUOPEN_DOCS_BASE_URL": "http://localhost:9090", "AIRFLOW_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert [line.split()[1] for line in result.stdout.splitlines() if line.startswith("VIEW ")] == [
        "http://localhost:9090/report/index.html",
        "http://localhost:9090/dbt/index.html",
        "http://localhost:9090/gx/index.html",
    ]
