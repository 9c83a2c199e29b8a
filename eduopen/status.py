"""`eduopen status`: what is in raw, audit and published, and when each last changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from eduopen.core.paths import Home


def _mtime(path: Path) -> str | None:
    if not path.exists():
        return None
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")


def _table_counts(path: Path, schema: str | None) -> dict[str, int]:
    """Row count of every base table (of one schema, if given) in a DuckDB file, opened read-only."""
    if not path.exists():
        return {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and (? is null or table_schema = ?) order by 1, 2",
            [schema, schema],
        ).fetchall()
        return {
            (t if schema else f"{s}.{t}"): con.execute(f'select count(*) from "{s}"."{t}"').fetchall()[0][0]
            for s, t in tables
        }
    finally:
        con.close()


def collect(home: Home) -> dict[str, Any]:
    blobs = list(home.blobs.glob("*/*")) if home.blobs.exists() else []
    validation = home.state / "validation.json"
    publish_log = home.state / "publish_log.jsonl"
    last_publish = None
    if publish_log.exists():
        lines = publish_log.read_text(encoding="utf-8").strip().splitlines()
        last_publish = json.loads(lines[-1]) if lines else None
    return {
        "home": str(home.root),
        "raw": {
            "blobs": len(blobs),
            "blob_bytes": sum(p.stat().st_size for p in blobs),
            "tables": _table_counts(home.catalog, None),
            "changed": _mtime(home.catalog),
        },
        "audit": {
            "tables": _table_counts(home.audit, "marts"),
            "changed": _mtime(home.audit),
            "validation": json.loads(validation.read_text(encoding="utf-8")) if validation.exists() else None,
        },
        "published": {
            "tables": _table_counts(home.warehouse, "marts"),
            "changed": _mtime(home.warehouse),
            "last_publish": last_publish,
            "versions_kept": len(list(home.versions.glob("*.duckdb"))) if home.versions.exists() else 0,
        },
    }


def render(info: dict[str, Any]) -> str:
    lines = [f"EduOpen home: {info['home']}"]
    raw = info["raw"]
    lines.append(
        f"raw        changed {raw['changed'] or 'never'}  ·  {raw['blobs']} blobs, {raw['blob_bytes'] / 1e6:.1f} MB"
    )
    for table, count in raw["tables"].items():
        lines.append(f"             {table:<32} {count:>10,}")
    audit = info["audit"]
    verdict = "not validated"
    if audit["validation"]:
        verdict = "validation PASSED" if audit["validation"].get("success") else "validation FAILED"
    lines.append(f"audit      changed {audit['changed'] or 'never'}  ·  {verdict}")
    for table, count in audit["tables"].items():
        lines.append(f"             marts.{table:<26} {count:>10,}")
    pub = info["published"]
    lines.append(f"published  changed {pub['changed'] or 'never'}  ·  {pub['versions_kept']} earlier versions kept")
    for table, count in pub["tables"].items():
        lines.append(f"             marts.{table:<26} {count:>10,}")
    return "\n".join(lines)
