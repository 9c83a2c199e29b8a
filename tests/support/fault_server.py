"""A real local HTTP server whose answers, faults included, are scripted by the test.

It listens on 127.0.0.1 on a free port, serves from a background thread and records every request,
so clients are exercised through real sockets (nothing in `requests` is mocked).

Usage::

    with FaultServer() as server:
        server.script("/data", Reply(503), Reply(200, body=b"ok"))   # a queue, one reply per request
        server.set("/page", Reply(200, body="<html>…", etag='"v1"'))  # sticky, once the queue is empty
        server.set_robots("User-agent: *\\nDisallow: /private/")
        client.get(server.url("/data"))
        assert [r.path for r in server.requests] == ["/robots.txt", "/data", "/data"]

As a pytest fixture::

    @pytest.fixture
    def server():
        with FaultServer() as running:
            yield running

Per path, the server answers with the next queued reply, else the sticky one, else 404. A path with
a query string can be scripted exactly (`"/api?x=1"`); otherwise replies are matched on the path
alone. Without `set_robots`, /robots.txt answers 404 (allow all).

Faults a `Reply` can inject (combine as needed):

- ``delay_s``: wait before sending anything (time to first byte: a read timeout at the start);
- ``body_delay_s``: wait after the headers, before the body;
- ``stall_after`` + ``stall_s``: send that many body bytes, then stall (a read timeout mid-body);
- ``truncate_after``: announce the full Content-Length (or chunked) but send only that many body
  bytes, then close (a truncated body);
- ``reset``: send nothing and reset the TCP connection (RST); ``reset_after``: reset after that
  many body bytes;
- ``chunked``: use Transfer-Encoding: chunked instead of Content-Length;
- ``etag`` / ``last_modified``: answer 304 when the request's If-None-Match / If-Modified-Since
  matches, else 200 with the validator headers;
- a callable ``(RecordedRequest) -> Reply`` in place of a Reply for anything dynamic.

Waits are interruptible: `stop()` wakes stalled handlers, so the server always stops promptly.
"""

from __future__ import annotations

import collections
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Union
from urllib.parse import urlsplit

__all__ = ["FaultServer", "RecordedRequest", "Reply"]


@dataclass
class Reply:
    """One scripted answer (see the module docstring for the faults)."""

    status: int = 200
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = "text/plain; charset=utf-8"
    delay_s: float = 0.0
    body_delay_s: float = 0.0
    stall_after: int | None = None
    stall_s: float = 0.0
    truncate_after: int | None = None
    reset: bool = False
    reset_after: int | None = None
    chunked: bool = False
    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Reply:
        return cls(status, headers={"Location": location}, content_type=None)

    @classmethod
    def html(cls, body: bytes | str, *, charset: str | None = "utf-8", **kwargs: object) -> Reply:
        """An HTML page; `charset=None` sends `text/html` without a charset parameter."""
        content_type = "text/html" if charset is None else f"text/html; charset={charset}"
        return cls(body=body, content_type=content_type, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def json(cls, body: bytes | str, **kwargs: object) -> Reply:
        return cls(body=body, content_type="application/json", **kwargs)  # type: ignore[arg-type]

    @property
    def body_bytes(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass(frozen=True)
class RecordedRequest:
    """What the server received: method, path with query, headers (look them up with `header`),
    the client's port and when it arrived (`time.monotonic()`)."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    client_port: int
    received_at: float

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    @property
    def bare_path(self) -> str:
        return urlsplit(self.path).path


Responder = Union[Reply, Callable[[RecordedRequest], Reply]]  # noqa: UP007 - alias needs runtime Union


class FaultServer:
    """Scriptable HTTP/1.1 server on 127.0.0.1 (see the module docstring). Thread-safe."""

    def __init__(self, host: str = "127.0.0.1"):
        self._lock = threading.Lock()
        self._queues: dict[str, collections.deque[Responder]] = {}
        self._sticky: dict[str, Responder] = {}
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._httpd = _Server((host, 0), _Handler)
        self._httpd.fault_server = self
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> FaultServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fault-server-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Wake any stalled handler, stop serving and close the listening socket."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # -- scripting --------------------------------------------------------------------------
    def script(self, path: str, *replies: Responder) -> None:
        """Queue replies for `path`, served one per request in order."""
        with self._lock:
            self._queues.setdefault(path, collections.deque()).extend(replies)

    def set(self, path: str, reply: Responder) -> None:
        """The reply for `path` whenever its queue is empty."""
        with self._lock:
            self._sticky[path] = reply

    def set_robots(self, text: str | None = None, *, status: int = 200, **kwargs: object) -> None:
        """Serve `text` as /robots.txt, or answer it with `status` (e.g. 404, 503)."""
        self.set("/robots.txt", Reply(status, body=text or "", content_type="text/plain", **kwargs))  # type: ignore[arg-type]

    def pending(self, path: str) -> int:
        """Queued replies not served yet."""
        with self._lock:
            return len(self._queues.get(path, ()))

    # -- observations -----------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        """Requests whose path (with query if `path` has one, else without) equals `path`."""
        exact = "?" in path
        return [r for r in self.requests if (r.path if exact else r.bare_path) == path]

    def count(self, path: str) -> int:
        return len(self.requests_for(path))

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- internals --------------------------------------------------------------------------
    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            chosen: Responder | None = None
            for key in (request.path, request.bare_path):
                queue = self._queues.get(key)
                if queue:
                    chosen = queue.popleft()
                    break
                if key in self._sticky:
                    chosen = self._sticky[key]
                    break
        if chosen is None:
            if request.bare_path == "/robots.txt":
                return Reply(404, body="no robots.txt\n")
            return Reply(404, body=f"not scripted: {request.path}\n")
        return chosen(request) if callable(chosen) else chosen

    def _wait(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; True if it is."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fault_server: FaultServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base class signature
        pass  # keep test output clean; assertions use the recorded requests

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._serve(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(send_body=False)

    def _serve(self, *, send_body: bool) -> None:
        fault = self.server.fault_server
        request = RecordedRequest(
            self.command, self.path, tuple(self.headers.items()), self.client_address[1], time.monotonic()
        )
        reply = fault._next_reply(request)
        # One request per connection keeps faults (resets, truncation) from poisoning the next one.
        self.close_connection = True
        if fault._wait(reply.delay_s):
            return
        if reply.reset:
            self._reset()
            return

        status, body = reply.status, reply.body_bytes
        headers: dict[str, str] = {}
        if reply.content_type:
            headers["Content-Type"] = reply.content_type
        if reply.etag:
            headers["ETag"] = reply.etag
        if reply.last_modified:
            headers["Last-Modified"] = reply.last_modified
        headers.update(reply.headers)
        if status == 200 and self._matches_validators(reply):
            status, body = 304, b""
            headers.pop("Content-Type", None)
        bodyless = status == 304 or status == 204 or 100 <= status < 200
        if bodyless or not send_body:
            framed_body = b""
        else:
            framed_body = body
        if not bodyless:
            if reply.chunked:
                headers["Transfer-Encoding"] = "chunked"
            else:
                headers.setdefault("Content-Length", str(len(body)))

        try:
            head = [
                f"HTTP/1.1 {status} {_reason(status)}",
                "Connection: close",
                *(f"{name}: {value}" for name, value in headers.items()),
            ]
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            self.wfile.flush()
            if not framed_body:
                return
            if fault._wait(reply.body_delay_s):
                return
            self._send_body(reply, framed_body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its read timeout): nothing left to do

    def _send_body(self, reply: Reply, body: bytes) -> None:
        fault = self.server.fault_server
        cuts = [n for n in (reply.stall_after, reply.truncate_after, reply.reset_after) if n is not None]
        first = min([len(body), *cuts])
        self._write_body(body[:first], reply.chunked)
        if reply.reset_after is not None and first == reply.reset_after:
            self._reset()
            return
        if reply.truncate_after is not None and first == reply.truncate_after:
            return  # close without the rest (and, if chunked, without the final chunk)
        if reply.stall_after is not None and first == reply.stall_after:
            if fault._wait(reply.stall_s):
                return
            rest = body[first:]
            limit = min([n for n in (reply.truncate_after, reply.reset_after) if n is not None], default=None)
            if limit is not None:
                rest = body[first:limit]
            self._write_body(rest, reply.chunked)
            if reply.reset_after is not None and limit == reply.reset_after:
                self._reset()
                return
            if limit is not None:
                return
        if reply.chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_body(self, data: bytes, chunked: bool) -> None:
        if data:
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n" if chunked else data)
        self.wfile.flush()

    def _matches_validators(self, reply: Reply) -> bool:
        if reply.etag:
            tags = self.headers.get("If-None-Match")
            if tags is not None:
                return tags.strip() == "*" or reply.etag in [t.strip() for t in tags.split(",")]
        if reply.last_modified:
            since = self.headers.get("If-Modified-Since")
            return since is not None and since.strip() == reply.last_modified
        return False

    def _reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0) instead of an orderly FIN."""
        try:
            self.wfile.flush()
        except OSError:
            pass
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
