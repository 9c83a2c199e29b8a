"""Every mart of the dbt project is an Asset, and its publish event says what was published.

Airflow reads its configuration at import, so the Assets are built in a subprocess with the
environment the local mode gives Airflow (AIRFLOW_HOME inside a tmp home).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from demo.airflow_local import airflow_env
from eduopen.core.paths import DBT_PROJECT_DIR, PROJECT_DIR, Home

pytestmark = pytest.mark.airflow

MARKER = "@@EDUOPEN-JSON@@"

PROBE = textwrap.dedent("""
    import json, sys
    from eduopen.orchestration.mart_assets import PUBLISHED_MARTS, announce_published_marts

    class Events(dict):
        def __missing__(self, key):
            self[key] = event = type("Event", (), {"extra": None})()
            return event

    result = json.loads(sys.argv[1])
    events = Events()
    announce_published_marts(result, events)
    print("@@EDUOPEN-JSON@@" + json.dumps({
        "uris": [asset.uri for asset in PUBLISHED_MARTS],
        "extras": {asset.uri: event.extra for asset, event in events.items()},
        "without_events": announce_published_marts(result, None),
    }))
""")


def _marts_folder_models() -> list[str]:
    return sorted(path.stem for path in (DBT_PROJECT_DIR / "models" / "marts").rglob("*.sql"))


def _probe(tmp_path: Path, result: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(result)],
        env=airflow_env(Home(tmp_path)),
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in reversed(proc.stdout.splitlines()) if x.startswith(MARKER))
    return json.loads(line[len(MARKER) :])


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    marts = _marts_folder_models()
    result = {
        "sha256": "ab" * 32,
        "published_at": "2026-08-01T02:00:00+00:00",
        "unchanged": False,
        # A table in the published schema that is no mart model gets no event.
        "rows": {**{mart: 10 + i for i, mart in enumerate(marts)}, "scratch_table": 3},
    }
    return result, _probe(tmp_path_factory.mktemp("home"), result)


def test_the_marts_folder_is_what_dbt_builds_into_the_published_schema() -> None:
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    assert project["models"]["eduopen"]["marts"]["+schema"] == "marts"


def test_every_mart_model_of_the_dbt_project_has_its_asset(published: tuple[dict, dict[str, Any]]) -> None:
    _, probe = published
    marts = _marts_folder_models()
    assert len(marts) >= 10
    assert probe["uris"] == [f"eduopen://marts/{mart}" for mart in marts]


def test_each_mart_event_carries_its_rows_and_the_publish_fingerprint(
    published: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    result, probe = published
    extras = probe["extras"]
    assert sorted(extras) == probe["uris"]
    for uri, extra in extras.items():
        mart = uri.removeprefix("eduopen://marts/")
        assert extra == {
            "mart": mart,
            "rows": result["rows"][mart],
            "sha256": result["sha256"],
            "published_at": result["published_at"],
            "unchanged": False,
        }
    assert probe["without_events"] is None
