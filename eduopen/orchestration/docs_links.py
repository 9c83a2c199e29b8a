"""The Airflow UI's links to the documentation: the report, dbt docs and GX Data Docs.

An Airflow plugin (registered under the `airflow.plugins` entry point in pyproject.toml, so any
Airflow with EduOpen installed loads it) whose external views put the three sites under the UI's
Plugins menu. They open where `eduopen docs serve` answers (`EDUOPEN_DOCS_BASE_URL`, else the
command's default address): the Compose service `eduopen-docs`, or the command run by hand next
to `make airflow`.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from eduopen.core.config import DOCS_BASE_URL
from eduopen.report.serve import DEFAULT_HOST, DEFAULT_PORT, SITES

CATEGORY = "EduOpen docs"


def docs_views(base_url: str) -> list[dict[str, Any]]:
    """One external view per site, linking into the server at `base_url`."""
    base = base_url.rstrip("/")
    return [
        {"name": site.title, "href": f"{base}/{site.folder}/index.html", "category": CATEGORY, "destination": "nav"}
        for site in SITES
    ]


class EduOpenDocsPlugin(AirflowPlugin):
    name = "eduopen_docs"
    external_views = docs_views(DOCS_BASE_URL.value() or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}")
