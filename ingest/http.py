"""The polite HTTP client every source fetches through.

Politeness: an identifying User-Agent, robots.txt obeyed (RFC 9309), a minimum delay between two
requests to the same host (raised by Crawl-delay), explicit connect/read timeouts, and retries with
exponential backoff and full jitter that honour Retry-After.

Safety: bodies are streamed and capped at `max_bytes`; a body shorter than its Content-Length or cut
mid-chunk is a failed attempt, never data (this is the only completeness check: the article parsers
read a page without `</html>` as a whole page, and a body framed by neither, read until the server
closes, cannot be checked at all); a response that takes longer than `total_timeout_s` as a
whole is a failed attempt too (a server trickling bytes just under the read timeout would otherwise
hold the run forever); redirects are followed by hand (at most 5, http/https only, to the same host
and port or to allowed hosts only) so every hop is checked against robots.txt and the allow-list;
a URL whose path climbs with dot-segments or backslashes (`/a/%2e%2e/etc/passwd`) is refused
before any request, as no properly resolved link has them.

Secrets: a password in a URL's userinfo and the values of credential-like query parameters
(`token`, `api_key`, `password`, `secret`, `signature`, ...) are masked in every error message, log
line, fetch-log row and `Response.url` (see `redact_url`); the request itself still carries them.

Incrementality: with a `RawStore`, the last ETag / Last-Modified of a URL is sent back as
If-None-Match / If-Modified-Since; a 304 returns the stored bytes. Every HTTP answer is written to
the fetch log and every 200 body to the blob store before `get` returns, and reported to the
client's `progress` (`ingest.progress`). robots.txt is read once per
client and, with a store, asked for conditionally on later runs (`robots_txt` in the catalog).
Without a store (a watcher in the Airflow triggerer, which must not open the raw catalog while the
pipeline writes it), nothing is recorded: `get_with_validators` sends the caller's own ETag /
Last-Modified and returns the status, the body and the new validators for the caller to keep.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urldefrag, urlencode, urljoin, urlsplit, urlunsplit

import requests
import urllib3.exceptions
from requests.structures import CaseInsensitiveDict

from eduopen.core.config import SourceConfig
from eduopen.core.errors import FetchError, ParseError, RobotsDisallowed
from eduopen.core.files import sha256_hex
from ingest.charset import decode_body
from ingest.progress import NO_PROGRESS, IngestProgress
from ingest.raw_store import RawStore
from ingest.robots import RobotsRules

log = logging.getLogger("eduopen.http")

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# RFC 9309 asks crawlers to parse at least 500 KiB of robots.txt; more than that is not a robots file.
ROBOTS_MAX_BYTES = 512 * 1024
CHUNK_BYTES = 64 * 1024
MASK = "***"
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s:@?#]*)(?::[^/\s@?#]*)?@")
_SECRET_PARAM = re.compile(
    r"(?i)([?&;][a-z0-9_.-]*(?:password|passwd|secret|token|api[_-]?key|apikey|access[_-]?key|signature|"
    r"credential)[a-z0-9_.-]*=)([^&#\s'\"]+)"
)

# Exceptions that mean "the connection or the body broke": worth another attempt.
_TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    requests.ConnectionError,  # refused, reset, DNS, connect timeout, read timeout mid-body
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,  # body cut short (IncompleteRead, bad chunk)
    requests.exceptions.ContentDecodingError,  # gzip stream cut short
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
)


@dataclass
class Response:
    """A successful answer. After a 304, `status` is 200 and `content` is the stored body."""

    url: str
    status: int
    content: bytes
    headers: Mapping[str, str]
    sha256: str
    not_modified: bool = False
    elapsed_s: float = 0.0
    attempts: int = 1

    def text(self) -> str:
        """The body as text, charset found by `ingest.charset.decode_body`."""
        return decode_body(self.content, self.headers.get("Content-Type"))

    def json(self) -> Any:
        """The body as JSON; a truncated or otherwise invalid body raises ParseError."""
        try:
            # Bytes, not text: JSON is UTF-8 (RFC 8259) whatever the Content-Type says.
            return json.loads(self.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"{self.url}: invalid JSON ({exc})") from exc

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")


@dataclass(frozen=True)
class Revalidation:
    """An answer to a GET whose validators the caller keeps: 304, or the body with its new validators."""

    url: str
    status: int
    content: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass
class _Answer:
    """One complete HTTP answer off the wire (any status)."""

    url: str
    status: int
    reason: str
    headers: CaseInsensitiveDict
    content: bytes


class _Retryable(Exception):
    """An attempt failed in a way another attempt may fix."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        answer: _Answer | None = None,
    ):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after_s = retry_after_s
        self.answer = answer


@dataclass
class _HostState:
    delay_s: float
    last_slot: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def canonical_url(url: str, params: Mapping[str, str] | None = None) -> str:
    """The URL as sent and as keyed in the fetch log: params merged into the query, sorted by name.

    A query already in `url` is kept as written unless params are added (then all pairs are sorted;
    the sort is stable so repeated names keep their order). The fragment is dropped.
    """
    url, _ = urldefrag(url)
    if params:
        parts = urlsplit(url)
        pairs = parse_qsl(parts.query, keep_blank_values=True) + [(k, str(v)) for k, v in params.items()]
        pairs.sort(key=lambda kv: kv[0])
        url = urlunsplit(parts._replace(query=urlencode(pairs)))
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
    except (
        requests.exceptions.InvalidURL,
        requests.exceptions.MissingSchema,
        requests.exceptions.InvalidSchema,
    ) as exc:
        raise FetchError(f"invalid URL {url!r}: {exc}", url=url) from exc
    assert prepared.url is not None
    return prepared.url


def redact_url(text: str, *, query: bool = True) -> str:
    """`text` with URL passwords and credential-like query values replaced by `***`.

    `http://user:<password>@host/p?token=<token>&x=1` -> `http://user:***@host/p?token=***&x=1`; a lone
    userinfo (`http://TOKEN@host/`) is masked whole. Works on any text (messages quote URLs), and is
    idempotent, so masking twice is harmless. `query=False` leaves query values alone: the fetch
    log keys conditional GETs by URL, and a query value (a page token, say) may name the resource.
    """

    def userinfo(match: re.Match[str]) -> str:
        scheme, user = match.group(1), match.group(2)
        has_password = ":" in match.group(0)[len(scheme) :]
        return f"{scheme}{user}:{MASK}@" if has_password and user else f"{scheme}{MASK}@"

    text = _USERINFO.sub(userinfo, text)
    return _SECRET_PARAM.sub(lambda m: m.group(1) + MASK, text) if query else text


class _RedactingFilter(logging.Filter):
    """Masks secrets in urllib3's own log lines (at DEBUG it logs every request line, query included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact_url(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactingFilter())


def _masked(error: FetchError) -> FetchError:
    """The same error with secrets masked in its message and URL (a no-op when there are none)."""
    message, url = str(error), error.url or ""
    if redact_url(message) == message and redact_url(url) == url:
        return error
    masked = type(error)(redact_url(message), url=redact_url(url), status=error.status)
    masked.__traceback__ = error.__traceback__
    return masked


@contextmanager
def _secrets_masked() -> Iterator[None]:
    """Re-raise a FetchError with the secrets of its message and URL masked."""
    try:
        yield
    except FetchError as exc:
        masked = _masked(exc)
        if masked is exc:
            raise
        # Not chained: the original's message (and its cause's) would print the secret again.
        raise masked from None


def _port(parts: SplitResult) -> int | None:
    """The port a URL connects to (its scheme's default when none is written); None if invalid."""
    try:
        port = parts.port
    except ValueError:
        return None
    return port if port is not None else DEFAULT_PORTS.get(parts.scheme.lower())


def _on_default_port(parts: SplitResult) -> bool:
    return _port(parts) == DEFAULT_PORTS.get(parts.scheme.lower())


def path_climbs(path: str) -> bool:
    """Whether a URL path, once percent-decoded, still climbs with dot-segments or backslashes.

    Resolving a link (RFC 3986 5.2) removes dot-segments; any still there were encoded or written
    with backslashes to climb out of the path on a server that decodes first. No real link has them.
    """
    decoded = unquote(path)
    return "\\" in decoded or any(segment in (".", "..") for segment in decoded.split("/"))


def conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    """If-None-Match / If-Modified-Since for what we last saw of a resource (none for what we lack)."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def host_key(url: str) -> str:
    """What per-host state is keyed on: `host[:port]`, lower case."""
    return urlsplit(url).netloc.lower()


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class PoliteClient:
    """HTTP GET for one source, polite and retrying; see the module docstring.

    `sleep` and `clock` are attributes so tests can record waits instead of waiting:
    assign a fake `sleep` that advances a fake `clock`.
    """

    def __init__(
        self,
        source: str,
        *,
        user_agent: str,
        store: RawStore | None = None,
        min_delay_s: float = 1.0,
        connect_timeout_s: float = 5,
        read_timeout_s: float = 30,
        total_timeout_s: float = 300,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30,
        respect_robots: bool = True,
        max_bytes: int = 50_000_000,
        allowed_hosts: Collection[str] | None = None,
        session: requests.Session | None = None,
        progress: IngestProgress = NO_PROGRESS,
    ):
        if not user_agent.strip():
            raise ValueError("an identifying user_agent is required")
        self.source = source
        self.user_agent = user_agent
        self.store = store
        self.min_delay_s = max(0.0, float(min_delay_s))
        self.timeout = (float(connect_timeout_s), float(read_timeout_s))
        self.total_timeout_s = float(total_timeout_s)
        self.max_retries = max(0, int(max_retries))
        self.backoff_base_s = float(backoff_base_s)
        self.backoff_max_s = float(backoff_max_s)
        self.respect_robots = respect_robots
        self.max_bytes = int(max_bytes)
        self.allowed_hosts = None if allowed_hosts is None else frozenset(h.lower() for h in allowed_hosts)
        self.session = session or requests.Session()
        self.progress = progress
        self.sleep: Callable[[float], None] = time.sleep
        self.clock: Callable[[], float] = time.monotonic
        self.rng = random.Random()
        self.request_count = 0
        self.conditional_count = 0
        self._lock = threading.Lock()
        self._store_lock = threading.Lock()
        self._hosts: dict[str, _HostState] = {}
        self._robots: dict[str, RobotsRules] = {}
        self._robots_locks: dict[str, threading.Lock] = {}

    @classmethod
    def for_source(
        cls, cfg: SourceConfig, store: RawStore | None, *, progress: IngestProgress = NO_PROGRESS
    ) -> PoliteClient:
        """A client configured from a `sources.yml` entry, confined to the source's host, reporting
        every page it fetches to `progress`."""
        base_host = urlsplit(cfg.base_url).netloc.lower()
        return cls(
            cfg.name,
            user_agent=cfg.user_agent,
            store=store,
            min_delay_s=cfg.min_delay_s,
            connect_timeout_s=cfg.connect_timeout_s,
            read_timeout_s=cfg.read_timeout_s,
            total_timeout_s=cfg.total_timeout_s,
            max_retries=cfg.max_retries,
            backoff_base_s=cfg.backoff_base_s,
            backoff_max_s=cfg.backoff_max_s,
            respect_robots=cfg.respect_robots,
            max_bytes=cfg.max_bytes,
            allowed_hosts={base_host, *cfg.allowed_hosts},
            progress=progress,
        )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public -----------------------------------------------------------------------------
    def get(
        self, url: str, *, params: Mapping[str, str] | None = None, conditional: bool = True, accept: str | None = None
    ) -> Response:
        """GET `url` (+ `params`), politely; raise FetchError / RobotsDisallowed on failure.

        Secrets in the URL are masked in the error raised (see `redact_url`).
        """
        with _secrets_masked():
            return self._get(url, params=params, conditional=conditional, accept=accept)

    def get_with_validators(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None, accept: str | None = None
    ) -> Revalidation:
        """GET `url`, conditionally on the validators the caller kept; for a client without a store.

        robots.txt, the per-host delay, retries, the size cap and the truncation checks apply as for
        `get`; nothing is recorded. A 304 keeps the caller's validators unless the server sent new
        ones. Raises FetchError / RobotsDisallowed, secrets masked.
        """
        if self.store is not None:
            raise ValueError("a client with a raw store keeps the validators itself: use get()")
        with _secrets_masked():
            return self._revalidate(url, etag=etag, last_modified=last_modified, accept=accept)

    def _revalidate(self, url: str, *, etag: str | None, last_modified: str | None, accept: str | None) -> Revalidation:
        key = canonical_url(url)
        headers = {"Accept": accept} if accept else {}
        headers.update(conditional_headers(etag, last_modified))
        try:
            answer, _attempts = self._follow(key, headers, max_bytes=self.max_bytes)
        except _FinalHTTPError as exc:
            raise exc.error from None
        not_modified = answer.status == 304
        if not_modified and not (etag or last_modified):
            raise FetchError(f"GET {key}: 304 Not Modified to an unconditional request", url=key, status=304)
        return Revalidation(
            url=redact_url(answer.url),
            status=answer.status,
            content=answer.content,
            content_type=answer.headers.get("Content-Type"),
            etag=answer.headers.get("ETag") or (etag if not_modified else None),
            last_modified=answer.headers.get("Last-Modified") or (last_modified if not_modified else None),
        )

    def _get(self, url: str, *, params: Mapping[str, str] | None, conditional: bool, accept: str | None) -> Response:
        key = canonical_url(url, params)
        started = self.clock()
        validators = None
        if conditional and self.store is not None:
            with self._store_lock:
                validators = self.store.validators(redact_url(key, query=False))
        headers = {"Accept": accept} if accept else {}
        if validators is not None:
            headers.update(conditional_headers(validators.etag, validators.last_modified))
        sent_conditional = "If-None-Match" in headers or "If-Modified-Since" in headers

        try:
            answer, attempts = self._follow(key, headers, max_bytes=self.max_bytes)
        except _FinalHTTPError as exc:
            self._record(
                key,
                exc.answer,
                sha=None,
                conditional=sent_conditional,
                attempts=exc.attempts,
                elapsed=self.clock() - started,
            )
            raise exc.error from None
        elapsed = self.clock() - started

        if answer.status == 304:
            if validators is None:
                self._record(key, answer, sha=None, conditional=False, attempts=attempts, elapsed=elapsed)
                raise FetchError(f"GET {key}: 304 Not Modified to an unconditional request", url=key, status=304)
            assert self.store is not None
            with self._store_lock:
                try:
                    content = self.store.read(validators.sha256)
                except FileNotFoundError:
                    content = None
            if content is None:
                # The blob vanished between lookup and read: fetch the full body instead.
                return self.get(url, params=params, conditional=False, accept=accept)
            headers_out = CaseInsensitiveDict(answer.headers)
            if "Content-Type" not in headers_out and validators.content_type:
                headers_out["Content-Type"] = validators.content_type
            self._record(
                key,
                answer,
                sha=validators.sha256,
                nbytes=len(content),
                conditional=True,
                not_modified=True,
                attempts=attempts,
                elapsed=elapsed,
                etag=answer.headers.get("ETag") or validators.etag,
                last_modified=answer.headers.get("Last-Modified") or validators.last_modified,
            )
            return Response(
                url=redact_url(answer.url),
                status=200,
                content=content,
                headers=headers_out,
                sha256=validators.sha256,
                not_modified=True,
                elapsed_s=elapsed,
                attempts=attempts,
            )

        sha = sha256_hex(answer.content)
        if self.store is not None:
            with self._store_lock:
                stored = self.store.put(answer.content)
            assert stored == sha
        self._record(
            key,
            answer,
            sha=sha,
            nbytes=len(answer.content),
            conditional=sent_conditional,
            attempts=attempts,
            elapsed=elapsed,
        )
        return Response(
            url=redact_url(answer.url),
            status=answer.status,
            content=answer.content,
            headers=answer.headers,
            sha256=sha,
            not_modified=False,
            elapsed_s=elapsed,
            attempts=attempts,
        )

    def is_allowed(self, url: str) -> bool:
        """Whether robots.txt lets us fetch `url` (fetches and caches the host's robots.txt)."""
        if not self.respect_robots:
            return True
        return self._robots_for(url).can_fetch(url, self.user_agent)

    # -- redirects --------------------------------------------------------------------------
    def _follow(
        self, url: str, headers: Mapping[str, str], *, max_bytes: int, check_robots: bool = True
    ) -> tuple[_Answer, int]:
        """Fetch `url`, following redirects by hand; returns the final answer and attempts used."""
        origin = urlsplit(url)
        seen = {url}
        current = url
        attempts_total = 0
        for _hop in range(MAX_REDIRECTS + 1):
            self._check_url(current)
            if check_robots and self.respect_robots and not self.is_allowed(current):
                raise RobotsDisallowed(f"robots.txt of {host_key(current)} disallows {current}", url=current)
            try:
                answer, attempts = self._fetch_with_retries(current, headers, max_bytes=max_bytes)
            except _FinalHTTPError as exc:
                exc.attempts += attempts_total
                raise
            attempts_total += attempts - 1
            if answer.status not in REDIRECT_STATUSES:
                return answer, attempts_total + 1
            location = answer.headers.get("Location")
            if not location:
                raise _FinalHTTPError(
                    FetchError(
                        f"GET {current}: HTTP {answer.status} without Location", url=current, status=answer.status
                    ),
                    answer,
                    attempts_total + 1,
                )
            target = canonical_url(urljoin(current, location))
            refusal = self._redirect_refusal(target, origin)
            if refusal:
                raise _FinalHTTPError(
                    FetchError(
                        f"GET {current}: redirect to {target} refused ({refusal})", url=current, status=answer.status
                    ),
                    answer,
                    attempts_total + 1,
                )
            if target in seen:
                raise _FinalHTTPError(
                    FetchError(f"GET {url}: redirect loop at {target}", url=url, status=answer.status),
                    answer,
                    attempts_total + 1,
                )
            seen.add(target)
            current = target
        raise _FinalHTTPError(
            FetchError(f"GET {url}: more than {MAX_REDIRECTS} redirects", url=url, status=answer.status),
            answer,
            attempts_total + 1,
        )

    @staticmethod
    def _check_url(url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"refusing non-http(s) URL {url}", url=url)
        if path_climbs(parts.path):
            raise FetchError(f"refusing {url}: its path climbs with dot-segments or backslashes", url=url)

    def _redirect_refusal(self, target: str, origin: SplitResult) -> str | None:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https"):
            return f"scheme {parts.scheme!r} is not http(s)"
        host = (parts.hostname or "").lower()
        if self.allowed_hosts is None:
            return None
        if host == (origin.hostname or "").lower() and (
            _port(parts) == _port(origin) or (_on_default_port(parts) and _on_default_port(origin))
        ):
            return None  # same host and port, or http <-> https on the default ports
        # Another port of the same machine is another service (an admin API, a database): an
        # allowed_hosts entry names a port explicitly, or means the scheme's default port.
        if f"{host}:{_port(parts)}" in self.allowed_hosts or (host in self.allowed_hosts and _on_default_port(parts)):
            return None
        return f"host {parts.netloc} is not in allowed_hosts"

    # -- retries ----------------------------------------------------------------------------
    def _fetch_with_retries(self, url: str, headers: Mapping[str, str], *, max_bytes: int) -> tuple[_Answer, int]:
        """One hop: the answer that ended it (2xx/3xx/304) and the attempts it took."""
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = self._attempt(url, headers, max_bytes=max_bytes)
            except _Retryable as exc:
                if attempt > self.max_retries:
                    error = FetchError(
                        f"GET {url} failed after {attempt} attempts: {exc.reason}", url=url, status=exc.status
                    )
                    if exc.answer is not None:
                        raise _FinalHTTPError(error, exc.answer, attempt) from None
                    raise error from None
                wait = self._backoff(attempt, exc.retry_after_s)
                log.info(
                    "GET %s: %s; retry %d/%d in %.2fs",
                    redact_url(url),
                    redact_url(exc.reason),
                    attempt,
                    self.max_retries,
                    wait,
                )
                self.sleep(wait)
                continue
            if 200 <= answer.status < 300 or answer.status == 304 or answer.status in REDIRECT_STATUSES:
                return answer, attempt
            error = FetchError(
                f"GET {url}: HTTP {answer.status} {answer.reason}".rstrip(), url=url, status=answer.status
            )
            raise _FinalHTTPError(error, answer, attempt)

    def _backoff(self, attempt: int, retry_after_s: float | None) -> float:
        if retry_after_s is not None:
            return min(retry_after_s, self.backoff_max_s)
        # Full jitter (AWS architecture blog): spreads retries of many clients over the window.
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2 ** (attempt - 1)))
        return self.rng.uniform(0, ceiling)

    def _attempt(self, url: str, headers: Mapping[str, str], *, max_bytes: int) -> _Answer:
        """Send one request and read the whole body; transient failures raise _Retryable."""
        self._throttle(url)
        deadline = self.clock() + self.total_timeout_s
        sent = {"User-Agent": self.user_agent, **headers}
        with self._lock:
            self.request_count += 1
            if "If-None-Match" in sent or "If-Modified-Since" in sent:
                self.conditional_count += 1
        try:
            resp = self.session.get(url, headers=sent, timeout=self.timeout, stream=True, allow_redirects=False)
        except requests.exceptions.InvalidURL as exc:
            raise FetchError(f"GET {url}: invalid URL ({exc})", url=url) from exc
        except _TRANSIENT_ERRORS as exc:
            raise _Retryable(_one_line(exc)) from exc
        with resp:
            answer_headers = CaseInsensitiveDict(resp.headers)
            if resp.status_code in RETRYABLE_STATUSES:
                answer = _Answer(resp.url or url, resp.status_code, resp.reason or "", answer_headers, b"")
                raise _Retryable(
                    f"HTTP {resp.status_code} {resp.reason or ''}".rstrip(),
                    status=resp.status_code,
                    retry_after_s=parse_retry_after(answer_headers.get("Retry-After")),
                    answer=answer,
                )
            body = b""
            if 200 <= resp.status_code < 300:
                body = self._read_body(resp, url, max_bytes, deadline)
            return _Answer(resp.url or url, resp.status_code, resp.reason or "", answer_headers, body)

    def _read_body(self, resp: requests.Response, url: str, max_bytes: int, deadline: float) -> bytes:
        declared = resp.headers.get("Content-Length")
        expected = int(declared) if declared and declared.isdigit() else None
        if expected is not None and expected > max_bytes:
            raise FetchError(
                f"GET {url}: body of {expected} bytes exceeds the {max_bytes}-byte limit",
                url=url,
                status=resp.status_code,
            )
        chunks: list[bytes] = []
        total = 0
        try:
            # read1 returns whatever has arrived (at most CHUNK_BYTES), so the deadline is checked
            # between small reads even when a server trickles bytes just under the read timeout.
            while chunk := resp.raw.read1(CHUNK_BYTES, decode_content=True):
                total += len(chunk)
                if total > max_bytes:
                    raise FetchError(
                        f"GET {url}: body exceeds the {max_bytes}-byte limit", url=url, status=resp.status_code
                    )
                chunks.append(chunk)
                if self.clock() > deadline:
                    raise _Retryable(
                        f"response not complete after {self.total_timeout_s:g} s ({total} bytes read)",
                        status=resp.status_code,
                    )
        except _TRANSIENT_ERRORS as exc:
            raise _Retryable(
                f"body interrupted after {total} bytes ({_one_line(exc)})", status=resp.status_code
            ) from exc
        # urllib3 already enforces Content-Length; this also covers a raw stream it did not police.
        on_wire = resp.raw.tell() if hasattr(resp.raw, "tell") else total
        chunked = "chunked" in resp.headers.get("Transfer-Encoding", "").lower()
        if expected is not None and not chunked and on_wire < expected:
            raise _Retryable(f"truncated body: {on_wire} of {expected} bytes", status=resp.status_code)
        return b"".join(chunks)

    # -- politeness -------------------------------------------------------------------------
    def _host(self, url: str) -> _HostState:
        key = host_key(url)
        with self._lock:
            state = self._hosts.get(key)
            if state is None:
                state = self._hosts[key] = _HostState(delay_s=self.min_delay_s)
            return state

    def host_delay_s(self, url: str) -> float:
        """The delay kept between two requests to the host of `url` (min_delay_s or Crawl-delay)."""
        return self._host(url).delay_s

    def _throttle(self, url: str) -> None:
        """Wait until this host's next slot; slots are reserved under a lock, waited outside it."""
        state = self._host(url)
        with state.lock:
            now = self.clock()
            # Spaced from the previous request's slot with the delay as it is now, so a Crawl-delay
            # learnt from robots.txt already applies to the request right after it.
            slot = now if state.last_slot is None else max(now, state.last_slot + state.delay_s)
            state.last_slot = slot
        wait = slot - now
        if wait > 0:
            self.sleep(wait)

    def _robots_for(self, url: str) -> RobotsRules:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        with self._lock:
            rules = self._robots.get(origin)
            if rules is not None:
                return rules
            origin_lock = self._robots_locks.setdefault(origin, threading.Lock())
        with origin_lock:
            # Another thread may have fetched it while we waited for the lock.
            with self._lock:
                rules = self._robots.get(origin)
            if rules is None:
                rules = self._fetch_robots(origin)
                with self._lock:
                    self._robots[origin] = rules
            return rules

    def _fetch_robots(self, origin: str) -> RobotsRules:
        robots_url = f"{origin}/robots.txt"
        cached = None
        if self.store is not None:
            with self._store_lock:
                cached = self.store.robots_validators(origin)
        headers = conditional_headers(cached.etag, cached.last_modified) if cached is not None else {}
        try:
            answer, _ = self._follow(robots_url, headers, max_bytes=ROBOTS_MAX_BYTES, check_robots=False)
        except _FinalHTTPError as exc:
            status = exc.answer.status
            if 300 <= status < 500 and status != 429:
                # RFC 9309 2.3.1.2-3: robots.txt unavailable (4xx, or redirects we may not follow)
                # -> no restrictions.
                return RobotsRules.unavailable()
            # RFC 9309 2.3.1.4: unreachable -> assume complete disallow for this run.
            log.warning(
                "robots.txt of %s unreachable (%s): disallowing the host",
                redact_url(origin),
                redact_url(str(exc.error)),
            )
            return RobotsRules.unreachable()
        except FetchError as exc:
            log.warning(
                "robots.txt of %s unreachable (%s): disallowing the host", redact_url(origin), redact_url(str(exc))
            )
            return RobotsRules.unreachable()
        if answer.status == 304 and cached is not None and self.store is not None:
            with self._store_lock:
                content, content_type = self.store.read(cached.sha256), cached.content_type
        else:
            content, content_type = answer.content, answer.headers.get("Content-Type")
            if self.store is not None and answer.status == 200:
                with self._store_lock:
                    self.store.keep_robots(
                        origin,
                        content,
                        etag=answer.headers.get("ETag"),
                        last_modified=answer.headers.get("Last-Modified"),
                        content_type=content_type,
                    )
        rules = RobotsRules.parse(decode_body(content, content_type))
        delay = rules.crawl_delay(self.user_agent)
        if delay is not None:
            state = self._host(origin)
            with state.lock:
                state.delay_s = max(state.delay_s, float(delay))
        return rules

    # -- bookkeeping ------------------------------------------------------------------------
    def _record(
        self,
        url: str,
        answer: _Answer,
        *,
        sha: str | None,
        conditional: bool,
        attempts: int,
        elapsed: float,
        nbytes: int | None = None,
        not_modified: bool = False,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        self.progress.page_fetched(self.source, redact_url(url), answer.status, not_modified=not_modified)
        if self.store is None:
            return
        with self._store_lock:
            self.store.record_fetch(
                source=self.source,
                url=redact_url(url, query=False),
                status=answer.status,
                sha256=sha,
                nbytes=nbytes,
                etag=etag if etag is not None else answer.headers.get("ETag"),
                last_modified=last_modified if last_modified is not None else answer.headers.get("Last-Modified"),
                content_type=answer.headers.get("Content-Type"),
                conditional=conditional,
                not_modified=not_modified,
                attempts=attempts,
                elapsed_s=elapsed,
            )


class _FinalHTTPError(Exception):
    """Internal: a FetchError that came with an HTTP answer (recorded in the fetch log)."""

    def __init__(self, error: FetchError, answer: _Answer, attempts: int):
        super().__init__(str(error))
        self.error = error
        self.answer = answer
        self.attempts = attempts


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:300]
