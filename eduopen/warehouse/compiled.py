"""dbt's compiled SQL of every model, in dependency order: the transformations without dbt.

The benchmark's floor (bench/plain_sql.py) runs exactly this SQL as one plain DuckDB script, so
the ratio to a dbt build measures what dbt adds around the same SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from eduopen.core.paths import Home
from eduopen.warehouse.dbt import common_args, invoke_dbt


@dataclass(frozen=True)
class CompiledModel:
    schema: str
    name: str
    sql: str


def compile_models(home: Home, db_path: Path, work_dir: Path) -> list[CompiledModel]:
    """Seed `db_path` and compile every model against it, as a full refresh would run them.

    Returns the models in dependency order with the SQL dbt would run, so the same transformations
    can run without dbt (the benchmark's floor). `db_path` must hold no model yet: an existing
    relation would compile a model's incremental branch.
    """
    args = common_args(home, work_dir=work_dir)
    invoke_dbt(["seed", *args], db_path=db_path, home=home)
    invoke_dbt(["compile", *args, "--select", "resource_type:model"], db_path=db_path, home=home)
    manifest = json.loads((work_dir / "target" / "manifest.json").read_text(encoding="utf-8"))
    models = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    ordered: list[CompiledModel] = []
    placed: set[str] = set()

    def place(uid: str) -> None:
        if uid in placed:
            return
        for parent in models[uid]["depends_on"]["nodes"]:
            if parent in models:
                place(parent)
        placed.add(uid)
        node = models[uid]
        ordered.append(CompiledModel(node["schema"], node.get("alias") or node["name"], node["compiled_code"]))

    for uid in sorted(models):
        place(uid)
    return ordered
