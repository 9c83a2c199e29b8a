"""The dbt manifest the Airflow warehouse DAG draws one task per dbt node from, built ahead of time.

Astronomer Cosmos can render a dbt project from `manifest.json` without running dbt, which keeps
DAG parsing fast; the manifest therefore has to exist before the DAG is parsed. It is written by

    python -m eduopen.warehouse.manifest            # `dbt parse` into $EDUOPEN_HOME/dbt/manifest.json
    python -m demo.airflow_local setup     # the local Airflow mode does it as part of its setup

and read from `EDUOPEN_DBT_MANIFEST` when that is set (an image can ship one), else from
`<EDUOPEN_HOME>/dbt/manifest.json`. Next to it, `manifest.eduopen.json` records a fingerprint of
the dbt project's files: when the project has changed since, the manifest is *stale* and the DAG
falls back to one `dbt build` task rather than draw a graph that misses new models.

The file is dbt's own `manifest.json`, as `dbt parse` writes it. Cosmos lists no unit tests
(they live under `unit_tests`), and needs not: each model's task runs `dbt build --select
<model>`, which runs the model's unit tests with its data tests. The sidecar keeps each node's
description for the task docs in the Airflow UI.

Import-light: DAG files import this module at parse time (no dbt, no DuckDB at module level).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eduopen.core.config import DBT_MANIFEST, DBT_TASKS
from eduopen.core.errors import EduOpenError
from eduopen.core.files import atomic_write_text
from eduopen.core.paths import DBT_PROJECT_DIR, Home
from eduopen.warehouse.dbt import common_args, dbt_dir, invoke_dbt

log = logging.getLogger("eduopen.dbt_manifest")

# dbt's own output folders and dependencies: not part of what the manifest describes.
_NOT_PROJECT_DIRS = frozenset({"target", "logs", "dbt_packages"})


@dataclass(frozen=True)
class ManifestCheck:
    """Whether the warehouse DAG can draw its dbt tasks from a manifest, and if not, why."""

    path: Path
    usable: bool
    reason: str = ""
    # unique_id -> description, for the task docs
    descriptions: dict[str, str] = field(default_factory=dict)


def manifest_path(home: Home | None = None) -> Path:
    """`EDUOPEN_DBT_MANIFEST` if set, else `<EDUOPEN_HOME>/dbt/manifest.json`."""
    configured = DBT_MANIFEST.value()
    if configured is not None:
        return configured.resolve()
    return dbt_dir(home or Home.from_env()) / "manifest.json"


def sidecar_path(manifest: Path) -> Path:
    return manifest.with_name(f"{manifest.stem}.eduopen.json")


def project_fingerprint(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """sha256 over the path and content of every file of the dbt project (a few ms).

    Content, not modification times: a fresh checkout or a `touch` does not make a manifest stale,
    an edited, added or removed model, test, seed, macro or `dbt_project.yml` does.
    """
    digest = hashlib.sha256()
    for path in sorted(_project_files(project_dir)):
        digest.update(path.relative_to(project_dir).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def check_manifest(home: Home | None = None, *, project_dir: Path = DBT_PROJECT_DIR) -> ManifestCheck:
    """Cheap enough for DAG parse time: reads the small sidecar and hashes the project files."""
    path = manifest_path(home)
    if dbt_tasks() == "single":
        return ManifestCheck(path, False, f"{DBT_TASKS.name}=single: dbt runs as one `dbt build` task")
    refresh = "run `python -m eduopen.warehouse.manifest` (or `python -m demo.airflow_local setup`)"
    if not path.is_file():
        return ManifestCheck(path, False, f"no dbt manifest at {path}; {refresh} to get one task per dbt node")
    try:
        meta = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return ManifestCheck(
            path,
            False,
            f"dbt manifest at {path} has no readable {sidecar_path(path).name} ({type(exc).__name__}); {refresh}",
        )
    if meta.get("project_fingerprint") != project_fingerprint(project_dir):
        return ManifestCheck(
            path,
            False,
            f"dbt manifest at {path} is stale: files of {project_dir} changed since it was parsed; {refresh}",
        )
    return ManifestCheck(path, True, descriptions=dict(meta.get("descriptions") or {}))


def dbt_tasks() -> str:
    """How the warehouse DAG runs dbt: `EDUOPEN_DBT_TASKS`, `single` unless set.

    `single`: one `dbt build` task, for the lowest latency from new raw data to a publish, which
    is what every event-driven run is for. `per_node` (opt-in): one Airflow task per dbt node, for
    visibility and per-model retries; each pays an Airflow task start and a dbt start-up, so the
    graph of ~60 tasks adds a minute or more to every run.
    """
    return DBT_TASKS.value()


def generate_manifest(home: Home | None = None, *, path: Path | None = None) -> Path:
    """`dbt parse` the project and write its manifest and the sidecar.

    Parsing opens no database; the files are replaced atomically, so a DAG parse running meanwhile
    reads either the old pair or the new one. Raises `TransformError` when dbt cannot parse.
    """
    home = home or Home.from_env()
    path = path or manifest_path(home)
    fingerprint = project_fingerprint()
    work = dbt_dir(home) / "parse"
    shutil.rmtree(work, ignore_errors=True)
    try:
        invoke_dbt(["parse", *common_args(home, work_dir=work)], db_path=home.audit, home=home)
        text = (work / "target" / "manifest.json").read_text(encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    manifest = json.loads(text)
    descriptions = {
        uid: node["description"]
        for uid, node in {**manifest.get("nodes", {}), **manifest.get("sources", {})}.items()
        if node.get("description") and node.get("resource_type") != "test"
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    atomic_write_text(
        sidecar_path(path),
        json.dumps(
            {
                "project_fingerprint": fingerprint,
                "dbt_project_dir": str(DBT_PROJECT_DIR),
                "dbt_version": (manifest.get("metadata") or {}).get("dbt_version"),
                "descriptions": descriptions,
            },
            ensure_ascii=False,
            indent=1,
        ),
    )
    log.info("dbt manifest written: %s", path)
    return path


def ensure_manifest(home: Home | None = None) -> tuple[Path, bool]:
    """Regenerate the manifest when it is missing or stale. Returns (path, whether it was written)."""
    check = check_manifest(home)
    if check.usable:
        return check.path, False
    log.info("%s", check.reason)
    return generate_manifest(home, path=check.path), True


def _project_files(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _NOT_PROJECT_DIRS and not d.startswith(".")]
        for name in files:
            if not name.startswith("."):
                yield Path(folder, name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eduopen.warehouse.manifest", description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, help="EduOpen home (default: $EDUOPEN_HOME or ./data)")
    parser.add_argument("--force", action="store_true", help="parse even when the manifest is up to date")
    args = parser.parse_args(argv)
    home = Home(args.home.resolve()) if args.home else Home.from_env()
    try:
        if args.force:
            path, written = generate_manifest(home), True
        else:
            path, written = ensure_manifest(home)
    except EduOpenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{'wrote' if written else 'up to date:'} {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
