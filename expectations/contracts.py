"""The marts' dbt contracts (`dbt_project/models/marts/*.yml`), read as plain data.

The contract is the single statement of a mart's columns: the suites' schema expectations are
checked against it (tests/integration/test_gate_suites.py) without a dbt build, and so are the
fixtures that stand in for published marts (tests/integration/test_report.py).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from eduopen.core.errors import ConfigError
from eduopen.core.paths import DBT_PROJECT_DIR

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"


def mart_contracts(marts_dir: Path | None = None) -> dict[str, list[tuple[str, str]]]:
    """`{model: [(column, data_type), ...]}` of every mart documented in `marts_dir`.

    dbt_project.yml enforces contracts on the whole marts folder, so every mart with columns counts.
    """
    contracts: dict[str, list[tuple[str, str]]] = {}
    for path in sorted((marts_dir or MARTS_DIR).glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in document.get("models") or []:
            columns = model.get("columns") or []
            if not columns:
                continue
            untyped = [c.get("name") for c in columns if not c.get("data_type")]
            if untyped:
                raise ConfigError(f"{path}: contract of {model['name']} lacks data_type for {untyped}")
            contracts[model["name"]] = [(c["name"], c["data_type"]) for c in columns]
    return contracts
