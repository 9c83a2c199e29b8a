"""dbt docs: the documentation site of the published warehouse, under `<home>/docs/dbt`.

`index.html` is dbt's static page (`dbt docs generate --static`): the manifest and the catalog are
inlined, so it renders when opened from disk, where a browser refuses the page's own fetches of
`manifest.json` and `catalog.json`. Both files are kept beside it for tools that read them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from eduopen.core.paths import Home
from eduopen.warehouse.dbt import TransformError, common_args, dbt_dir, invoke_dbt

# What dbt writes to target/ -> the name in the site.
SITE_FILES = {"static_index.html": "index.html", "catalog.json": "catalog.json", "manifest.json": "manifest.json"}


def generate_docs(home: Home | None = None) -> Path:
    """Run `dbt docs generate --static` and copy the site to `home.docs/dbt`; returns that folder.

    Documents the published warehouse when there is one, else the audit copy. dbt works on a
    private copy named `audit.duckdb` (the catalog name the manifest expects), so analysts
    reading the published file are never blocked by a writer.
    """
    home = home or Home.from_env()
    source = home.warehouse if home.warehouse.exists() else home.audit
    if not source.exists():
        raise TransformError("nothing to document: no published or audit warehouse; run `eduopen transform`")
    work = dbt_dir(home) / "docs-db"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db_copy = work / home.audit.name
    shutil.copy2(source, db_copy)
    # Its own target/: dbt's partial-parse cache is keyed on the profile (the database path), so
    # sharing build's target/ would make every transform after a docs run parse from scratch.
    docs_dir = dbt_dir(home) / "docs"
    try:
        invoke_dbt(["docs", "generate", "--static", *common_args(home, work_dir=docs_dir)], db_path=db_copy, home=home)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    target = docs_dir / "target"
    out = home.docs / "dbt"
    out.mkdir(parents=True, exist_ok=True)
    for produced_name, name in SITE_FILES.items():
        produced = target / produced_name
        if not produced.exists():
            raise TransformError(f"dbt docs generate did not write {produced_name}; see {docs_dir / 'logs'}")
        shutil.copy2(produced, out / name)
    return out
