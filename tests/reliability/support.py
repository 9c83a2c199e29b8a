"""Helpers of the fault suite: a trimmed sources file, subprocess runs that can be SIGKILLed at an
observed moment, fingerprints of marts and raw tables, and a recorded bundle served by FaultServer.

The suite runs the two sources whose recordings are complete (moe_zh, uis) from a copy of the real
`sources.yml` entries, so selectors and URLs stay the project's own while retries and timeouts are
shortened to keep every fault bounded to seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import yaml

from demo.replay.server import BUNDLE_DIR
from eduopen.core.paths import DEFAULT_SOURCES_FILE, PROJECT_DIR, Home
from ingest.raw_store import RAW_TABLES
from tests.support import FaultServer, Reply

SOURCES = ("moe_zh", "uis")
RECORDED_ON = (BUNDLE_DIR / "RECORDED_ON").read_text(encoding="utf-8").strip()
# Short enough that a fault costs seconds, long enough that loopback answers never time out.
FAST_RETRIES: dict[str, Any] = {
    "connect_timeout_s": 2,
    "read_timeout_s": 1.5,
    "total_timeout_s": 4,
    "max_retries": 3,
    "backoff_base_s": 0.05,
    "backoff_max_s": 0.5,
}
HEX64 = re.compile(r"^[0-9a-f]{64}$")


# -- configuration ------------------------------------------------------------------------------
def write_sources_file(
    path: Path,
    *,
    sources: Iterable[str] = SOURCES,
    defaults: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """A copy of the project's sources.yml with only `sources`, merged with the given settings."""
    data = yaml.safe_load(DEFAULT_SOURCES_FILE.read_text(encoding="utf-8"))
    wanted = list(sources)
    data["sources"] = {name: dict(data["sources"][name]) for name in wanted}
    data.setdefault("defaults", {}).update(FAST_RETRIES if defaults is None else defaults)
    for name, settings in (overrides or {}).items():
        data["sources"][name].update(settings)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def run_env(home: Home, sources_file: Path, urls: Mapping[str, str]) -> dict[str, str]:
    """The environment of a pipeline run: home, sources file, base URLs, no politeness delay."""
    env = {
        "EDUOPEN_HOME": str(home.root),
        "EDUOPEN_SOURCES_FILE": str(sources_file),
        "EDUOPEN_MIN_DELAY_S": "0",
        "EDUOPEN_TODAY": RECORDED_ON,
    }
    env.update(urls)
    return env


# -- subprocess runs ----------------------------------------------------------------------------
def start_cli(args: list[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen:
    """`python -m eduopen.cli ARGS` in its own process (output kept in `log_path`)."""
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    handle = log_path.open("ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "eduopen.cli", *args],
            cwd=PROJECT_DIR,
            env=full_env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        handle.close()


def kill_when(proc: subprocess.Popen, moment: Callable[[], bool], *, timeout_s: float, poll_s: float = 0.001) -> bool:
    """SIGKILL `proc` as soon as `moment()` is true; False if it ended (or timed out) first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if moment():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            return True
        time.sleep(poll_s)
    proc.kill()
    proc.wait(timeout=30)
    return False


# -- fingerprints -------------------------------------------------------------------------------
def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def mart_fingerprint(database: Path, *, exclude: Iterable[str] = ()) -> dict[str, str]:
    """sha256 of every mart: column names and types, then every row, rows sorted.

    Two warehouses with equal fingerprints hold the same values in every mart, whatever the
    physical layout of the file. `exclude` drops columns by name (e.g. crawl-time stamps).
    """
    excluded = set(exclude)
    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
            ).fetchall()
        ]
        out: dict[str, str] = {}
        for table in tables:
            columns = [
                (c, t)
                for c, t in con.execute(
                    "select column_name, data_type from duckdb_columns() where schema_name = 'marts' "
                    "and table_name = ? order by column_index",
                    [table],
                ).fetchall()
                if c not in excluded
            ]
            select = ", ".join(f'"{c}"' for c, _ in columns)
            rows = con.execute(f'select {select} from marts."{table}"').fetchall()
            digest = hashlib.sha256(repr(columns).encode())
            for line in sorted(repr(row) for row in rows):
                digest.update(line.encode("utf-8", "surrogatepass") + b"\n")
            out[table] = f"{len(rows)}:{digest.hexdigest()}"
        return out
    finally:
        con.close()


def raw_counts(home: Home) -> dict[str, int]:
    """Rows of every raw table in the catalog (opened read-only: it must open after any crash)."""
    con = duckdb.connect(str(home.catalog), read_only=True)
    try:
        present = {t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()}
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in RAW_TABLES if t in present}
    finally:
        con.close()


def query(database: Path, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def damaged_blobs(home: Home) -> list[str]:
    """Blob files whose bytes do not hash to their name (a torn write would show up here)."""
    bad = []
    for path in home.blobs.rglob("*"):
        if path.is_file() and HEX64.match(path.name) and sha256_file(path) != path.name:
            bad.append(str(path))
    return bad


def blob_shas(home: Home) -> set[str]:
    return {p.name for p in home.blobs.rglob("*") if p.is_file() and HEX64.match(p.name)}


def temp_leftovers(*folders: Path) -> list[str]:
    """Temp files a killed writer may leave: hidden names or `.tmp` / `.copying` suffixes."""
    found = []
    for folder in folders:
        if folder.is_dir():
            found += [
                p.name
                for p in folder.iterdir()
                if p.is_file()
                and (p.name.endswith((".tmp", ".copying")) or (p.name.startswith(".") and p.name != ".writer.lock"))
            ]
    return sorted(found)


# -- the recorded bundle on a FaultServer -------------------------------------------------------
def bundle_replies(source: str) -> dict[str, Reply]:
    """Request path (with query) -> Reply for every recorded file of `source`, with an ETag."""
    root = BUNDLE_DIR / source
    replies: dict[str, Reply] = {}
    for file in sorted(root.rglob("*")):
        if not file.is_file() or file.name.endswith(".headers.json"):
            continue
        rel = file.relative_to(root).as_posix()
        name, _, query_part = rel.partition("@")
        path = "/" + name
        body = file.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if name.endswith(".html"):
            reply = Reply.html(body, etag=etag)
        elif name.endswith(".txt"):
            reply = Reply(body=body, content_type="text/plain", etag=etag)
        else:
            reply = Reply.json(body, etag=etag)
        sidecar = file.with_name(file.name + ".headers.json")
        if sidecar.exists():  # e.g. a GBK page served as bare `text/html`, as recorded
            overrides = json.loads(sidecar.read_text(encoding="utf-8"))
            reply.status = int(overrides.pop("status", 200))
            reply.content_type = overrides.pop("Content-Type", reply.content_type)
            reply.headers = {**reply.headers, **overrides}
        replies[path + (f"?{query_part}" if query_part else "")] = reply
        if name.endswith("/index.html"):
            replies[path[: -len("index.html")]] = reply
    return replies


def serve_bundle(server: FaultServer, source: str) -> dict[str, Reply]:
    """Make `server` answer like the recorded site (sticky replies); returns them by path."""
    replies = bundle_replies(source)
    for path, reply in replies.items():
        server.set(path, reply)
    return replies


# -- a server that trickles -------------------------------------------------------------------
class TrickleServer:
    """Answers every request (but /robots.txt, 404) with a long body sent one byte at a time.

    Each byte comes sooner than any read timeout, so only a deadline on the whole response ends
    the wait: the slow-loris case FaultServer's single stall cannot express.
    """

    def __init__(self, *, body_bytes: int = 10_000, interval_s: float = 0.2):
        self.body_bytes = body_bytes
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.requests: list[str] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> TrickleServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            path = request.split(b" ", 2)[1].decode("latin-1")
            self.requests.append(path)
            try:
                if path == "/robots.txt":
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
                conn.sendall(
                    f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {self.body_bytes}\r\nConnection: close\r\n\r\n".encode()
                )
                for _ in range(self.body_bytes):
                    if self._stop.wait(self.interval_s):
                        return
                    conn.sendall(b" ")
            except OSError:
                return  # the client gave up: that is the point
