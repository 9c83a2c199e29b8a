"""Serve recorded responses on loopback, one port per source, at the real sites' paths.

The demo and the tests point each source at its port with `EDUOPEN_<SOURCE>_URL`, so the real
`requests` code path runs: headers, robots.txt, conditional GET (ETag / Last-Modified -> 304),
encodings. Layout of a bundle (and of a scenario overlay, which is served in front of it):

    <bundle>/<source>/<path>                       GET /<path>
    <bundle>/<source>/<dir>/index.html             GET /<dir>/
    <bundle>/<source>/<path>@<sorted query>        GET /<path>?<query> (keys sorted, urlencoded)
    <file>.headers.json                            optional: {"status": 200, "Content-Type": ...}

Control endpoints (never on a real site): `/__replay__/requests` (JSON log of requests seen),
`/__replay__/reset`, `/__replay__/scenarios?set=a,b` (switch overlays while running).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from eduopen.core.config import source_url_var

BUNDLE_DIR = Path(__file__).resolve().parent / "bundle"
SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
CONTROL_PREFIX = "/__replay__/"
# Last-Modified is fixed per file content so runs are reproducible whatever the checkout time.
_EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z


def canonical_query(query: str) -> str:
    return urlencode(sorted(parse_qsl(query, keep_blank_values=True)))


def relative_file_for(path: str, query: str) -> str:
    """Map a request path + query to the bundle-relative file name (see module docstring)."""
    rel = unquote(path).lstrip("/")
    if rel == "" or rel.endswith("/"):
        rel += "index.html"
    if query:
        rel += "@" + canonical_query(query)
    return rel


@dataclass
class SeenRequest:
    source: str
    method: str
    path: str
    status: int
    if_none_match: str | None
    if_modified_since: str | None
    user_agent: str | None
    at: float

    @property
    def conditional(self) -> bool:
        return bool(self.if_none_match or self.if_modified_since)


@dataclass
class ReplayState:
    bundle: Path
    scenarios_dir: Path
    scenarios: list[str] = field(default_factory=list)
    extra_roots: list[Path] = field(default_factory=list)
    requests: list[SeenRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def roots(self, source: str) -> list[Path]:
        """Overlays first (extra roots, then scenarios in the order given), the bundle last."""
        overlays = [root / source for root in self.extra_roots]
        overlays += [self.scenarios_dir / name / source for name in reversed(self.scenarios)]
        return [*overlays, self.bundle / source]

    def resolve(self, source: str, rel: str) -> Path | None:
        for root in self.roots(source):
            candidate = (root / rel).resolve()
            # Refuse anything that escapes the root (../ in the request path).
            if root.resolve() in candidate.parents and candidate.is_file():
                return candidate
        return None


def _content_type(file: Path, path: str) -> str:
    guessed = mimetypes.guess_type(file.name.split("@")[0])[0]
    if file.name.endswith(".html") or guessed == "text/html":
        return "text/html; charset=utf-8"
    if "@" in file.name or guessed == "application/json" or "/api/" in path:
        return "application/json; charset=utf-8"
    return guessed or "application/octet-stream"


def _recorded_answer(file: Path, path: str) -> tuple[int, dict[str, str], bytes]:
    """A bundle file as the site answers it: validators derived from the content (stable across
    runs), status and headers overridden by the file's `.headers.json` sidecar when there is one."""
    body = file.read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    modified = _EPOCH + int(hashlib.sha256(body).hexdigest()[:6], 16) % 86_400
    headers = {
        "Content-Type": _content_type(file, path),
        "ETag": etag,
        "Last-Modified": formatdate(modified, usegmt=True),
    }
    status = 200
    sidecar = file.with_name(file.name + ".headers.json")
    if sidecar.exists():
        overrides = json.loads(sidecar.read_text(encoding="utf-8"))
        status = int(overrides.pop("status", 200))
        headers.update({k: str(v) for k, v in overrides.items()})
    return status, headers, body


def _control(state: ReplayState, command: str, query: str) -> tuple[int, dict[str, str], bytes]:
    """The test-only endpoints under CONTROL_PREFIX: the request log, its reset, the scenarios."""
    params = dict(parse_qsl(query))
    if command == "requests":
        with state.lock:
            seen = [r.__dict__ for r in state.requests]
        return 200, {"Content-Type": "application/json"}, json.dumps(seen).encode()
    if command == "reset":
        with state.lock:
            state.requests.clear()
        return 200, {"Content-Type": "text/plain"}, b"ok"
    if command == "scenarios":
        if "set" in params:
            state.scenarios = [s for s in params["set"].split(",") if s]
        return 200, {"Content-Type": "application/json"}, json.dumps(state.scenarios).encode()
    return 404, {"Content-Type": "text/plain"}, b"unknown control command"


def _make_handler(source: str, state: ReplayState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "EduOpenReplay/1"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

        def do_HEAD(self) -> None:  # noqa: N802 - stdlib naming
            self._serve(head=True)

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            self._serve(head=False)

        def _serve(self, *, head: bool) -> None:
            parts = urlsplit(self.path)
            if parts.path.startswith(CONTROL_PREFIX):
                self._send(*_control(state, parts.path[len(CONTROL_PREFIX) :], parts.query))
                return
            status, headers, body = self._lookup(parts.path, parts.query)
            with state.lock:
                state.requests.append(
                    SeenRequest(
                        source,
                        self.command,
                        self.path,
                        status,
                        self.headers.get("If-None-Match"),
                        self.headers.get("If-Modified-Since"),
                        self.headers.get("User-Agent"),
                        time.time(),
                    )
                )
            self._send(status, headers, b"" if head else body, length=len(body))

        def _lookup(self, path: str, query: str) -> tuple[int, dict[str, str], bytes]:
            file = state.resolve(source, relative_file_for(path, query))
            if file is None:
                return 404, {"Content-Type": "text/html; charset=utf-8"}, b"<html><body>404 Not Found</body></html>"
            status, headers, body = _recorded_answer(file, path)
            etag = headers["ETag"]
            if status == 200 and self._unchanged(etag, headers["Last-Modified"]):
                return 304, {"ETag": etag, "Last-Modified": headers["Last-Modified"]}, b""
            return status, headers, body

        def _unchanged(self, etag: str, last_modified: str) -> bool:
            # RFC 9110: If-None-Match takes precedence; If-Modified-Since only when it is absent.
            if self.headers.get("If-None-Match") is not None:
                return self.headers["If-None-Match"] == etag
            return self.headers.get("If-Modified-Since") == last_modified

        def _send(self, status: int, headers: dict[str, str], body: bytes, *, length: int | None = None) -> None:
            self.send_response(status, HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "")
            for key, value in headers.items():
                self.send_header(key, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            if body:
                self.wfile.write(body)

    return Handler


class ReplayServer:
    """One loopback HTTP server per source, all sharing one state (scenarios, request log)."""

    def __init__(
        self,
        sources: Sequence[str] | None = None,
        *,
        bundle: Path = BUNDLE_DIR,
        scenarios_dir: Path = SCENARIOS_DIR,
        scenarios: Iterable[str] = (),
        extra_roots: Iterable[Path] = (),
        host: str = "127.0.0.1",
        port_base: int = 0,
    ):
        self.state = ReplayState(bundle, scenarios_dir, list(scenarios), [Path(p) for p in extra_roots])
        self.sources = list(sources) if sources else sorted(p.name for p in bundle.iterdir() if p.is_dir())
        self.host = host
        self.port_base = port_base
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._threads: list[threading.Thread] = []

    def start(self) -> ReplayServer:
        for index, source in enumerate(self.sources):
            port = self.port_base + index if self.port_base else 0
            server = ThreadingHTTPServer((self.host, port), _make_handler(source, self.state))
            server.daemon_threads = True
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"replay-{source}", daemon=True
            )
            thread.start()
            self._servers[source] = server
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, source: str) -> str:
        host, port = self._servers[source].server_address[:2]
        return f"http://{host}:{port}"

    def env(self) -> dict[str, str]:
        """`EDUOPEN_<SOURCE>_URL` for every served source, and the bundle's recording date as
        `EDUOPEN_TODAY` so date horizons are counted from when the pages were recorded."""
        env = {source_url_var(source).name: self.url(source) for source in self._servers}
        recorded_on = self.state.bundle / "RECORDED_ON"
        if recorded_on.exists():
            env["EDUOPEN_TODAY"] = recorded_on.read_text(encoding="utf-8").strip()
        return env

    def unreplayed(self, configured: Iterable[str]) -> list[str]:
        """Configured sources this replay does not serve: offline runs must not reach the live web."""
        return sorted(set(configured) - set(self._servers))

    def set_scenarios(self, *names: str) -> None:
        self.state.scenarios = list(names)

    def requests(self, source: str | None = None) -> list[SeenRequest]:
        with self.state.lock:
            return [r for r in self.state.requests if source is None or r.source == source]

    def reset_log(self) -> None:
        with self.state.lock:
            self.state.requests.clear()
