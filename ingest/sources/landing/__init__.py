"""Files analysts drop into `$EDUOPEN_HOME/landing/`: UIS, World Bank, OECD and OWID tables, and UIS
flows by origin and destination.

Per file: wait until it has settled (not modified for `settle_s`), read it once, keep its bytes
in the raw store, skip it if the same bytes were loaded before, recognise its format from the
content (`formats.py`), load its rows in one transaction, record it in `landing_file`, then move
it to `landing/processed/`, or to `landing/rejected/` with `<name>.reason.txt` beside it.

Only regular files directly in `landing/` are read: no symlinks, no subfolders, no dotfiles
(editors' and uploaders' temp files), and nothing outside the folder.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from eduopen.core.config import LANDING_SETTLE_S
from eduopen.core.errors import ParseError
from eduopen.core.files import atomic_write, file_sha256
from ingest.raw_store import utcnow
from ingest.sources.base import IngestSummary, Source, SourceContext, SourceOptions
from ingest.sources.landing.formats import FormatRejected, Parsed, parse_table
from ingest.sources.landing.tables import Table, XlsxLimits, read_table

PROCESSED = "processed"
REJECTED = "rejected"
DEFAULT_SETTLE_S = 2.0
DEFAULT_MAX_BAD_SHARE = 0.05
DEFAULT_MAX_FILE_BYTES = 500 * 1024 * 1024


class Options(SourceOptions):
    settle_s: float = Field(default=DEFAULT_SETTLE_S, ge=0)  # a file modified this recently waits for the next run
    max_bad_row_share: float = Field(default=DEFAULT_MAX_BAD_SHARE, ge=0, le=1)  # more bad values reject the file
    max_file_bytes: int = Field(default=DEFAULT_MAX_FILE_BYTES, gt=0)
    xlsx_max_uncompressed_bytes: int = Field(default=XlsxLimits.max_uncompressed_bytes, gt=0)
    xlsx_max_compression_ratio: float = Field(default=XlsxLimits.max_compression_ratio, gt=0)


def settle_seconds(options: Options) -> float:
    """`EDUOPEN_LANDING_SETTLE_S` when set and not empty, else the `settle_s` option."""
    override = LANDING_SETTLE_S.value()
    return options.settle_s if override is None else override


@dataclass(frozen=True)
class LandingSettings:
    settle_s: float = DEFAULT_SETTLE_S
    max_bad_share: float = DEFAULT_MAX_BAD_SHARE
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    xlsx: XlsxLimits = XlsxLimits()

    @classmethod
    def from_context(cls, ctx: SourceContext) -> LandingSettings:
        options = SOURCE.options_of(ctx.config)
        return cls(
            settle_s=settle_seconds(options),
            max_bad_share=options.max_bad_row_share,
            max_file_bytes=options.max_file_bytes,
            xlsx=XlsxLimits(
                max_uncompressed_bytes=options.xlsx_max_uncompressed_bytes,
                max_compression_ratio=options.xlsx_max_compression_ratio,
            ),
        )


def is_safe_name(name: str) -> bool:
    """A plain file name in the folder itself: no separators, no '..', no dotfile."""
    return (
        bool(name)
        and name not in (".", "..")
        and not name.startswith(".")
        and "/" not in name
        and "\\" not in name
        and "\x00" not in name
        and Path(name).name == name
        and not Path(name).is_absolute()
    )


def candidates(folder: Path, *, settle_s: float, now: float | None = None) -> tuple[list[Path], list[str]]:
    """Regular files directly in `folder` that have settled, and notes on what was left for later."""
    now = time.time() if now is None else now
    ready: list[Path] = []
    waiting: list[str] = []
    if not folder.is_dir():
        return ready, waiting
    for name in sorted(os.listdir(folder)):
        if not is_safe_name(name):
            continue
        try:
            info = os.lstat(folder / name)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(info.st_mode):  # subfolders (processed/, rejected/), symlinks, fifos
            continue
        if now - info.st_mtime < settle_s:
            waiting.append(f"{name}: still being written, left for the next run")
            continue
        ready.append(folder / name)
    return ready, waiting


def _read_settled(path: Path) -> bytes | None:
    """The file's bytes, or None if it changed (or vanished) while being read."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        raise
    except OSError:  # vanished, or swapped for a symlink (ELOOP) since it was listed
        return None
    with os.fdopen(fd, "rb") as handle:
        before = os.fstat(handle.fileno())
        if not stat.S_ISREG(before.st_mode):
            return None
        data = handle.read()
        after = os.fstat(handle.fileno())
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        return None
    if len(data) != after.st_size:
        return None
    return data


def unique_destination(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/stem-N.suffix` when that is taken (earlier drops keep their names)."""
    folder.mkdir(parents=True, exist_ok=True)
    name = Path(name).name
    target = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    counter = 1
    while target.exists() or target.with_name(target.name + ".reason.txt").exists():
        target = folder / f"{stem}-{counter}{suffix}"
        counter += 1
    return target


class _Folder:
    """Moves out of `landing/` and the bookkeeping around them."""

    def __init__(self, ctx: SourceContext, summary: IngestSummary):
        self.ctx = ctx
        self.summary = summary
        self.landing = ctx.home.landing

    def processed(self, path: Path, note: str) -> Path:
        target = unique_destination(self.landing / PROCESSED, path.name)
        os.replace(path, target)
        self.summary.notes.append(f"{path.name}: {note}")
        return target

    def rejected(self, path: Path, *, reason: str, sha: str | None, detected: str | None) -> Path:
        target = unique_destination(self.landing / REJECTED, path.name)
        os.replace(path, target)
        atomic_write(
            target.with_name(target.name + ".reason.txt"),
            (
                f"file: {path.name}\n"
                f"rejected_at: {utcnow().isoformat(timespec='seconds')}\n"
                f"sha256: {sha or '-'}\n"
                f"detected_format: {detected or '-'}\n"
                f"reason: {reason}\n"
            ).encode(),
        )
        self.ctx.store.quarantine(
            source=self.ctx.name,
            locator=f"landing/{path.name}",
            reason=reason,
            sha256=sha,
            detail={"moved_to": str(target.relative_to(self.landing))},
        )
        self.summary.quarantined += 1
        self.summary.notes.append(f"{path.name}: rejected ({reason})")
        return target


def _record_file(
    ctx: SourceContext, *, name: str, sha: str, detected: str | None, status: str, rows: int | None, reason: str | None
) -> None:
    ctx.store.con.execute(
        """insert or replace into landing_file
               (file_name, sha256, detected_format, status, rows_loaded, reason, processed_at)
           values (?, ?, ?, ?, ?, ?, ?)""",
        [name, sha, detected, status, rows, reason, utcnow()],
    )


def _load(ctx: SourceContext, parsed: Parsed, *, name: str, sha: str, detected: str) -> int:
    """Rows, quarantined rows and the landing_file record in one transaction: all or nothing."""
    loaded_at = utcnow()
    rows: list[dict[str, Any]] = []
    for row in parsed.rows:
        out = {"source": parsed.source, **row, "batch_sha256": sha}
        if parsed.table != "indicator_definition":
            out["loaded_at"] = loaded_at
        rows.append(out)
    definitions = (
        rows
        if parsed.table == "indicator_definition"
        else [{"source": parsed.source, **row, "batch_sha256": sha} for row in parsed.definitions]
    )
    con = ctx.store.con
    con.execute("begin")
    try:
        if definitions:
            # A newer file naming the same indicators replaces their names; other indicators stay.
            con.execute(
                "delete from indicator_definition where source = ? and list_contains(?, indicator_id)",
                [parsed.source, [r["indicator_id"] for r in definitions]],
            )
        if definitions and parsed.table != "indicator_definition":
            ctx.store.insert_rows("indicator_definition", definitions)
        new_rows = ctx.store.insert_rows(parsed.table, rows)
        for bad in parsed.rejected:
            ctx.store.quarantine(
                source=ctx.name,
                locator=f"landing/{name}:line {bad.line}",
                reason=bad.reason,
                sha256=sha,
                detail=bad.raw,
            )
        _record_file(ctx, name=name, sha=sha, detected=detected, status="processed", rows=len(rows), reason=None)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return new_rows


def process_file(ctx: SourceContext, path: Path, settings: LandingSettings, summary: IngestSummary) -> None:
    """Load one settled file and move it out of the landing folder (see the module docstring)."""
    folder = _Folder(ctx, summary)
    name = path.name
    try:
        size = os.lstat(path).st_size
    except FileNotFoundError:  # taken away between listing and now
        return
    if size > settings.max_file_bytes:
        sha = file_sha256(path)
        reason = f"{size:,} bytes exceeds max_file_bytes {settings.max_file_bytes:,}"
        _record_file(ctx, name=name, sha=sha, detected=None, status="rejected", rows=0, reason=reason)
        folder.rejected(path, reason=reason, sha=sha, detected=None)
        return
    try:
        data = _read_settled(path)
    except PermissionError as exc:
        folder.rejected(path, reason=f"unreadable: {exc}", sha=None, detected=None)
        return
    if data is None:
        summary.notes.append(f"{name}: changed while being read, left for the next run")
        return
    sha = ctx.store.put(data)
    prior = ctx.store.con.execute(
        "select file_name, rows_loaded from landing_file where sha256 = ? and status = 'processed'", [sha]
    ).fetchone()
    if prior is not None:
        folder.processed(path, f"identical to {prior[0]} loaded before ({prior[1]} rows), nothing new")
        return

    detected: str | None = None
    table: Table | None = None
    try:
        table = read_table(data, limits=settings.xlsx)
        parsed = parse_table(table)
        detected = f"{parsed.family}.{table.container}"
        if not parsed.rows:
            reasons = "; ".join(sorted({r.reason for r in parsed.rejected})[:3])
            raise FormatRejected(f"no loadable rows{': ' + reasons if reasons else ''}", detected)
        if parsed.bad_share > settings.max_bad_share:
            examples = "; ".join(f"line {r.line}: {r.reason}" for r in parsed.rejected[:3])
            raise FormatRejected(
                f"{len(parsed.rejected)} of {parsed.units} values bad ({parsed.bad_share:.1%} > "
                f"{settings.max_bad_share:.0%}), e.g. {examples}",
                detected,
            )
    except ParseError as exc:
        detected = getattr(exc, "detected_format", None) or detected
        if detected and "." not in detected:
            detected = f"{detected}.{table.container if table is not None else 'csv'}"
        _record_file(ctx, name=name, sha=sha, detected=detected, status="rejected", rows=0, reason=str(exc))
        folder.rejected(path, reason=str(exc), sha=sha, detected=detected)
        return

    encoding = f" read as {table.encoding}" if table.encoding else ""
    new_rows = _load(ctx, parsed, name=name, sha=sha, detected=detected)
    summary.new_rows += new_rows
    summary.quarantined += len(parsed.rejected)
    skipped = "".join(f", {count} rows skipped: {why}" for why, count in parsed.skipped.items())
    folder.processed(
        path,
        f"{detected}{encoding}, {len(parsed.rows)} rows ({new_rows} new) into {parsed.table}"
        f"{f', {len(parsed.rejected)} rows quarantined' if parsed.rejected else ''}{skipped}",
    )


def run(ctx: SourceContext) -> IngestSummary:
    """Process every settled file in the landing folder; never fails on a bad file, rejects it."""
    summary = IngestSummary(ctx.name)
    settings = LandingSettings.from_context(ctx)
    ready, waiting = candidates(ctx.home.landing, settle_s=settings.settle_s)
    summary.notes.extend(waiting)
    for path in ready:
        process_file(ctx, path, settings, summary)
    if not ready:
        summary.skipped_reason = "no settled file in the landing folder"
    return summary


SOURCE = Source(kind="files", options=Options, run=run)
