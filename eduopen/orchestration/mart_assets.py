"""One Airflow Asset per published mart (`eduopen://marts/<model>`), emitted by the publish task.

The marts are the dbt project's: every model file of `dbt_project/models/marts/`, the folder
dbt_project.yml builds into the `marts` schema that publish exports. Adding a mart model adds its
Asset; nothing here lists them a second time.

Import-light: DAG files import it at parse time. It lists file names only: parsing the marts'
YAML would cost the DAG processor a few hundred milliseconds on every parse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import Asset

from expectations.contracts import MARTS_DIR

MART_URI_PREFIX = "eduopen://marts/"


def mart_asset(mart: str) -> Asset:
    return Asset(f"{MART_URI_PREFIX}{mart}")


def mart_of(asset: Asset) -> str:
    """The mart model an Asset of `published_mart_assets` stands for."""
    return asset.uri.removeprefix(MART_URI_PREFIX)


def published_mart_assets() -> list[Asset]:
    """The Asset of every mart model of the dbt project, sorted by model name."""
    return [mart_asset(mart) for mart in sorted(path.stem for path in MARTS_DIR.rglob("*.sql"))]


PUBLISHED_MARTS = published_mart_assets()


def announce_published_marts(result: Mapping[str, Any], outlet_events: Any) -> None:
    """Attach each mart's row count and the publish's identity to its Asset event, for consumers.

    `sha256` fingerprints the published warehouse file (the exact bytes the gate passed);
    `published_at` is the publish's id in `state/publish_log.jsonl`.
    """
    if outlet_events is None:
        return
    rows = result.get("rows") or {}
    for asset in PUBLISHED_MARTS:
        mart = mart_of(asset)
        outlet_events[asset].extra = {
            "mart": mart,
            "rows": rows.get(mart),
            "sha256": result.get("sha256"),
            "published_at": result.get("published_at"),
            "unchanged": bool(result.get("unchanged")),
        }
