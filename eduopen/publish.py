"""Publish: atomically swap the validated audit build in as the warehouse analysts read.

Only the exact bytes the quality gate passed are published: the audit file is copied to a temp
file next to the warehouse while its sha256 is computed, and the copy is swapped in only if that
hash equals the one in `state/validation.json`. `os.replace` is atomic on POSIX: a reader that has
the old warehouse open keeps its inode and its data; new connections see the new file; nobody
ever sees half a file. The previous warehouse is kept in `versions/` for rollback, and every mart
is exported to Parquet from the very file that was published; a mart whose rows the build left as
they were keeps its export file (`state/exports.json` names the warehouse the exports came from).
A publish killed half-way leaves only temp files behind, never a half warehouse; the next publish
sweeps them before it starts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from eduopen.core.config import duckdb_config
from eduopen.core.errors import PublishBlocked, PublishError
from eduopen.core.files import atomic_write, file_sha256
from eduopen.core.paths import Home

log = logging.getLogger("eduopen.publish")

VERSION_RE = re.compile(r"^warehouse-(?P<ts>\d{8}T\d{12}Z)-(?P<sha8>[0-9a-f]{8})(?P<rolled>\.rolledback)?\.duckdb$")
_CHUNK = 1 << 20


# -- small file helpers -------------------------------------------------------------------------
def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_to_temp(source: Path, directory: Path, prefix: str) -> tuple[Path, str]:
    """Copy `source` to a fsynced temp file in `directory`; return (temp path, sha256 of the copy)."""
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            while block := src.read(_CHUNK):
                digest.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(source, tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp), digest.hexdigest()


def _utc_stamp() -> str:
    # Microseconds: two publishes within one second must not collide or mis-sort.
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- versions -----------------------------------------------------------------------------------
def list_versions(home: Home) -> list[Path]:
    """Kept warehouses, oldest first (the name carries the UTC time it stopped being published)."""
    if not home.versions.is_dir():
        return []
    found = [p for p in home.versions.iterdir() if VERSION_RE.match(p.name)]
    return sorted(found, key=lambda p: _version_name(p)["ts"])


def _version_name(path: Path) -> re.Match[str]:
    """The parts of a kept version's name (time, sha256 prefix, rolled back or not)."""
    match = VERSION_RE.match(path.name)
    if match is None:
        raise PublishError(f"not a kept version's name: {path.name}")
    return match


def _archive_current(home: Home, *, suffix: str = "") -> tuple[Path | None, str | None]:
    """Copy the published warehouse into versions/ (temp + rename); return (the copy, its sha256),
    (None, None) if nothing is published."""
    if not home.warehouse.exists():
        return None, None
    home.versions.mkdir(parents=True, exist_ok=True)
    tmp, sha = _copy_to_temp(home.warehouse, home.versions, ".archiving-")
    target = home.versions / f"warehouse-{_utc_stamp()}-{sha[:8]}{suffix}.duckdb"
    os.replace(tmp, target)
    _fsync_dir(home.versions)
    return target, sha


def _sweep_temp_files(home: Home) -> list[str]:
    """Remove the temp files of a publish that was killed half-way (each may be a whole warehouse).

    Only called under the writer lock, so no live publish is still writing any of them.
    """
    leftovers = [
        *home.warehouse.parent.glob(f".{home.warehouse.name}.*.tmp"),
        *(home.versions.glob(".archiving-*.tmp") if home.versions.is_dir() else ()),
        *(home.exports.glob(".*.parquet.tmp") if home.exports.is_dir() else ()),
    ]
    for path in leftovers:
        path.unlink(missing_ok=True)
    if leftovers:
        log.warning("removed %d temp file(s) left by an interrupted publish", len(leftovers))
    return [str(p) for p in leftovers]


def _prune(home: Home, keep: int) -> list[str]:
    versions = list_versions(home)
    doomed = versions[: max(len(versions) - keep, 0)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return [str(p) for p in doomed]


# -- exports ------------------------------------------------------------------------------------
def exports_record_path(home: Home) -> Path:
    """Which warehouse the Parquet exports were written from, and each mart's fingerprint there."""
    return home.state / "exports.json"


def _fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Columns, types and an order-free sum of row hashes: equal for a mart a build left as it was."""
    columns = con.execute(
        "select string_agg(column_name || ' ' || data_type, ', ' order by column_index) "
        "from duckdb_columns() where schema_name = 'marts' and table_name = ?",
        [table],
    ).fetchall()[0][0]
    rows, hashes = con.execute(f'select count(*), coalesce(sum(hash(t)), 0) from marts."{table}" t').fetchall()[0]
    return f"{columns}|{rows}|{hashes}"


def _marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by table_name"
        ).fetchall()
    ]


def _current_exports(home: Home, published_sha: str | None) -> dict[str, str | None] | None:
    """The fingerprints of the exports on disk (None: not yet taken) when they were written from the
    published warehouse `published_sha`; None when they may not have been (say, a publish died
    between the swap and the exports), so every mart is written again."""
    try:
        record = json.loads(exports_record_path(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if published_sha is None or record.get("sha256") != published_sha:
        return None
    return {
        table: fingerprint
        for table, fingerprint in (record.get("fingerprints") or {}).items()
        if (home.exports / f"{table}.parquet").is_file()
    }


def _stage_exports(
    database: Path, exports: Path, current: dict[str, str | None] | None = None, published: Path | None = None
) -> tuple[dict[str, int], dict[str, Path], dict[str, str | None]]:
    """Write each marts table of `database` to a temp Parquet file, unless its export in `current`
    (exports written from `published`) holds the same rows; return (rows, temp files, fingerprints)."""
    exports.mkdir(parents=True, exist_ok=True)
    staged: dict[str, Path] = {}
    rows: dict[str, int] = {}
    fingerprints: dict[str, str | None] = {}
    con = duckdb.connect(str(database), read_only=True, config=duckdb_config())
    try:
        old = None
        if current and published is not None and published.exists():
            old = duckdb.connect(str(published), read_only=True, config=duckdb_config())
        try:
            for table in _marts(con):
                rows[table] = con.execute(f'select count(*) from marts."{table}"').fetchall()[0][0]
                fingerprints[table] = None
                if current is not None and table in current:
                    if database == published:
                        # Republishing the bytes the exports were written from: they are up to date.
                        fingerprints[table] = current[table]
                        continue
                    fingerprints[table] = _fingerprint(con, table)
                    before = current[table]
                    if before is None and old is not None:
                        before = _fingerprint(old, table)
                    if before == fingerprints[table]:
                        continue
                fd, tmp = tempfile.mkstemp(prefix=f".{table}.", suffix=".parquet.tmp", dir=exports)
                os.close(fd)
                staged[table] = Path(tmp)
                con.execute(
                    f'copy (select * from marts."{table}") to {_sql_string(tmp)} (format parquet, compression zstd)'
                )
        finally:
            if old is not None:
                old.close()
    except BaseException:
        for path in staged.values():
            path.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    return rows, staged, fingerprints


def _commit_exports(home: Home, sha: str, staged: dict[str, Path], fingerprints: dict[str, str | None]) -> list[str]:
    """Move the staged exports into place, drop those of marts gone, record what they came from."""
    exports = home.exports
    # Named first: if a move fails half-way, no record may vouch for the mix on disk.
    exports_record_path(home).unlink(missing_ok=True)
    for table, tmp in staged.items():
        os.replace(tmp, exports / f"{table}.parquet")
    # A mart that no longer exists must not linger as a stale export.
    for old in exports.glob("*.parquet"):
        if old.stem not in fingerprints:
            old.unlink(missing_ok=True)
    _fsync_dir(exports)
    atomic_write(
        exports_record_path(home),
        json.dumps({"sha256": sha, "fingerprints": fingerprints}, indent=2).encode("utf-8"),
    )
    return [str(exports / f"{table}.parquet") for table in fingerprints]


def _swap_in(home: Home, candidate: Path, sha: str, published_sha: str | None) -> dict[str, Any]:
    """Export from `candidate`, then make it the warehouse: the exports match what was swapped in.

    Exports are staged before the swap, so a failing export leaves the warehouse as it was; a mart
    whose rows equal the published warehouse's keeps its export file as it is.
    """
    current = _current_exports(home, published_sha)
    rows, staged, fingerprints = _stage_exports(candidate, home.exports, current, home.warehouse)
    try:
        os.replace(candidate, home.warehouse)
        _fsync_dir(home.warehouse.parent)
    except BaseException:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
        raise
    return {
        "rows": rows,
        "exports": _commit_exports(home, sha, staged, fingerprints),
        "exports_written": sorted(staged),
    }


def _log(home: Home, entry: dict[str, Any]) -> None:
    home.state.mkdir(parents=True, exist_ok=True)
    with (home.state / "publish_log.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


# -- the step -----------------------------------------------------------------------------------
def publish(home: Home | None = None, *, rollback: bool = False, keep: int = 5) -> dict[str, Any]:
    """Publish the validated audit build (or, with `rollback=True`, restore the newest kept version).

    Returns {'published': path, 'sha256', 'rows': {mart: n}, 'version_kept': path | None, ...}.
    Raises `PublishError` when there is no passing validation of this exact audit file, or nothing
    to roll back to; the published warehouse is then left byte-for-byte as it was.

    The caller holds the home's writer lock (`eduopen.pipeline.publish` takes it): the temp files
    swept first are then a dead publish's, never a running one's.
    """
    if keep < 0:
        raise ValueError("keep must be >= 0")
    home = (home or Home.from_env()).ensure()
    _sweep_temp_files(home)
    return _rollback(home, keep) if rollback else _publish(home, keep)


def _validated_sha(home: Home) -> str:
    record_path = home.state / "validation.json"
    if not record_path.exists():
        raise PublishError(f"no validation of the audit build ({record_path} missing); run `eduopen validate` first")
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PublishError(f"{record_path} is not valid JSON ({exc}); run `eduopen validate` again") from exc
    if not record.get("success"):
        failed = record.get("failed") or []
        raise PublishBlocked(
            f"the last validation failed ({len(failed)} expectations); fix the build and "
            f"run `eduopen validate` again; see {record.get('docs_index')}"
        )
    sha = record.get("audit_sha256")
    if not isinstance(sha, str) or len(sha) != 64:
        raise PublishError(f"{record_path} names no audit sha256; run `eduopen validate` again")
    return sha


def _publish(home: Home, keep: int) -> dict[str, Any]:
    started = time.monotonic()
    validated = _validated_sha(home)
    if not home.audit.exists():
        raise PublishError(f"no audit warehouse at {home.audit}; run `eduopen transform` first")
    if (home.audit.parent / (home.audit.name + ".wal")).exists():
        raise PublishError(
            f"{home.audit} has an uncheckpointed write-ahead log, so it changed after "
            "validation; run `eduopen validate` again"
        )

    # Hash the bytes while copying them: what we swap in is exactly what we compared.
    candidate, sha = _copy_to_temp(home.audit, home.warehouse.parent, f".{home.warehouse.name}.")
    try:
        if sha != validated:
            raise PublishError(
                f"{home.audit} changed after validation (sha256 {sha[:12]}… is not the "
                f"validated {validated[:12]}…); run `eduopen validate` again"
            )
        unchanged = home.warehouse.exists() and file_sha256(home.warehouse) == sha
        version_kept = None
        if unchanged:
            # Same bytes as already published: nothing to swap, keep versions/ free of a duplicate.
            candidate.unlink()
            current = _current_exports(home, sha)
            rows, staged, fingerprints = _stage_exports(home.warehouse, home.exports, current, home.warehouse)
            swapped = {
                "rows": rows,
                "exports": _commit_exports(home, sha, staged, fingerprints),
                "exports_written": sorted(staged),
            }
        else:
            version_kept, published_sha = _archive_current(home)
            swapped = _swap_in(home, candidate, sha, published_sha)
    finally:
        candidate.unlink(missing_ok=True)

    pruned = _prune(home, keep)
    published_at = datetime.now(UTC).isoformat()
    _log(
        home,
        {
            "action": "publish",
            "published_at": published_at,
            "sha256": sha,
            "rows": swapped["rows"],
            "version_kept": str(version_kept) if version_kept else None,
            "unchanged": unchanged,
        },
    )
    log.info("published %s (sha256 %s…), marts: %s", home.warehouse, sha[:12], swapped["rows"])
    return {
        "published": str(home.warehouse),
        "sha256": sha,
        "rows": swapped["rows"],
        "version_kept": str(version_kept) if version_kept else None,
        "unchanged": unchanged,
        "exports": swapped["exports"],
        "exports_written": swapped["exports_written"],
        "pruned": pruned,
        "published_at": published_at,
        "seconds": round(time.monotonic() - started, 3),
    }


def _rollback(home: Home, keep: int) -> dict[str, Any]:
    started = time.monotonic()
    candidates = [p for p in list_versions(home) if not _version_name(p)["rolled"]]
    if not candidates:
        raise PublishError(f"nothing to roll back to: no kept version in {home.versions}")
    restore = candidates[-1]
    sha = file_sha256(restore)
    if sha[:8] != _version_name(restore)["sha8"]:
        raise PublishError(
            f"kept version {restore} is damaged (its sha256 starts {sha[:8]}, not as named); "
            "move it aside and roll back again"
        )
    # The current warehouse is kept, marked as rolled back so the next rollback goes further back
    # in history instead of flipping back to it.
    version_kept, published_sha = _archive_current(home, suffix=".rolledback")
    # The kept version itself is renamed into place: same filesystem, so the swap is atomic.
    swapped = _swap_in(home, restore, sha, published_sha)
    pruned = _prune(home, keep)
    published_at = datetime.now(UTC).isoformat()
    _log(
        home,
        {
            "action": "rollback",
            "published_at": published_at,
            "sha256": sha,
            "rows": swapped["rows"],
            "restored_from": restore.name,
            "version_kept": str(version_kept) if version_kept else None,
        },
    )
    log.info("rolled back %s to %s (sha256 %s…)", home.warehouse, restore.name, sha[:12])
    return {
        "published": str(home.warehouse),
        "sha256": sha,
        "rows": swapped["rows"],
        "version_kept": str(version_kept) if version_kept else None,
        "restored_from": str(restore),
        "exports": swapped["exports"],
        "pruned": pruned,
        "published_at": published_at,
        "seconds": round(time.monotonic() - started, 3),
    }
