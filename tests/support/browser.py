"""Headless Debian Chromium for tests: screenshots and the DOM after rendering.

Each call starts a fresh browser with a throw-away profile and every background network feature
off, so a test never depends on (or talks to) anything but the page it opened. When Chromium is
missing, `scripts/ensure_chromium.sh` is tried once; if it still cannot be had, the test is
skipped rather than failed (`make test` installs it, so CI always renders for real).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_DIR / "test-artifacts"
ENSURE_SCRIPT = PROJECT_DIR / "scripts" / "ensure_chromium.sh"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
TIMEOUT_S = 90
INSTALL_TIMEOUT_S = 150


@cache
def _find_chromium() -> str | None:
    candidate = os.environ.get("EDUOPEN_CHROMIUM", DEFAULT_CHROMIUM)
    if not Path(candidate).exists() and ENSURE_SCRIPT.exists():
        # Installing needs apt, root and a package mirror; failing here only means the browser
        # tests skip. Bounded well below the tests' own timeout so a slow mirror skips, not errors.
        try:
            subprocess.run(["bash", str(ENSURE_SCRIPT)], capture_output=True, timeout=INSTALL_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            return None
    return candidate if Path(candidate).exists() and os.access(candidate, os.X_OK) else None


def chromium() -> str:
    """Path of the Chromium binary; skips the calling test when there is none and none can be installed."""
    found = _find_chromium()
    if found is None:
        pytest.skip("headless Chromium is not installed and scripts/ensure_chromium.sh could not install it")
    return found


def _as_url(url_or_path: str | Path) -> str:
    text = str(url_or_path)
    if "://" in text:
        return text
    return Path(text).resolve().as_uri()


# Network off: every request goes to a proxy on a port nothing listens on, so it fails; Chromium
# never proxies loopback, so a page served from 127.0.0.1 still loads. The net log then names
# every request a page made (file:// loads do not go through the network stack, so not those).
OFFLINE_FLAGS = ["--proxy-server=127.0.0.1:9"]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _page_requests(netlog: Path) -> list[str]:
    """URLs the page (not the browser itself) asked the network for, in order."""
    data = json.loads(netlog.read_text(encoding="utf-8"))
    start = data["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in data["events"]:
        params = event.get("params") or {}
        # The browser's own background requests (update checks and the like) have no initiator.
        if event["type"] == start and "url" in params and params.get("initiator") != "not an origin":
            urls.append(params["url"])
    return urls


def _run(
    extra: list[str],
    url_or_path: str | Path,
    *,
    width: int,
    height: int,
    settle_ms: int | None = None,
    netlog: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    if netlog is not None:
        extra = [*extra, *OFFLINE_FLAGS, f"--log-net-log={netlog}"]
    if settle_ms:
        # A single-page app fetches its data after the load event plain --screenshot waits for; a
        # virtual-time budget lets its requests and rendering finish first.
        extra = [*extra, f"--virtual-time-budget={int(settle_ms)}"]
    profile = tempfile.mkdtemp(prefix="eduopen-chromium-")
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",  # tests run as root in containers, where the sandbox cannot start
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-dev-shm-usage",  # /dev/shm is tiny in containers
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        *extra,
        _as_url(url_or_path),
    ]
    try:
        result = subprocess.run(command, capture_output=True, timeout=TIMEOUT_S, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if result.returncode != 0:
        raise RuntimeError(f"chromium exited {result.returncode}: {result.stderr.decode('utf-8', 'replace')[-2000:]}")
    return result


def screenshot(
    url_or_path: str | Path, out_png: str | Path, width: int = 1280, height: int = 2000, *, settle_ms: int | None = None
) -> Path:
    """Render the page headless and write a PNG of the first `width`×`height` pixels.

    `settle_ms`: virtual time the page gets after loading (for pages that render from fetched data).
    """
    out = Path(out_png)
    if not out.is_absolute():
        out = ARTIFACTS / out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    _run([f"--screenshot={out}"], url_or_path, width=width, height=height, settle_ms=settle_ms)
    if not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no screenshot to {out}")
    return out


def dump_dom(url_or_path: str | Path, width: int = 1280, height: int = 2000, *, settle_ms: int | None = None) -> str:
    """The serialized DOM after the page loaded (and after any script on it would have run)."""
    return _run(["--dump-dom"], url_or_path, width=width, height=height, settle_ms=settle_ms).stdout.decode("utf-8")


@dataclass(frozen=True)
class OfflinePage:
    """A page rendered with the network off: its DOM, and every network request it made."""

    dom: str
    requests: list[str]

    @property
    def remote_requests(self) -> list[str]:
        return [url for url in self.requests if urlsplit(url).hostname not in LOOPBACK_HOSTS]


def render_offline(
    url_or_path: str | Path, width: int = 1280, height: int = 2000, *, settle_ms: int | None = None
) -> OfflinePage:
    """Render with every non-loopback host unreachable; the DOM after scripts ran, and the requests."""
    with tempfile.TemporaryDirectory(prefix="eduopen-netlog-") as folder:
        netlog = Path(folder) / "netlog.json"
        result = _run(["--dump-dom"], url_or_path, width=width, height=height, settle_ms=settle_ms, netlog=netlog)
        return OfflinePage(result.stdout.decode("utf-8"), _page_requests(netlog))


PROBE_SCRIPT = """
<script>
window.addEventListener("load", function () {
  document.fonts.ready.then(function () {
    var found = {};
    var probes = %s;
    Object.keys(probes).forEach(function (key) {
      var probe = probes[key], el = document.querySelector(probe[0]);
      found[key] = el ? getComputedStyle(el, probe[2] || null).getPropertyValue(probe[1]) : null;
    });
    found["fonts loaded"] = Array.from(document.fonts).filter(function (f) { return f.status === "loaded"; })
      .map(function (f) { return f.family.replace(/["']/g, ""); });
    document.documentElement.setAttribute("data-probe", JSON.stringify(found));
  });
});
</script>
"""


def with_style_probe(page: Path, probes: dict[str, tuple[str, ...]]) -> Path:
    """A copy of `page` beside it (so its relative links still resolve) that records, once loaded,
    the computed style of some elements and the web fonts it loaded, in `<html data-probe>`.

    `probes`: name -> (CSS selector, property[, pseudo-element]); read back with `probe_result`.
    """
    copy = page.with_name(page.stem + ".style-probe.html")
    copy.write_text(page.read_text(encoding="utf-8") + PROBE_SCRIPT % json.dumps(probes), encoding="utf-8")
    return copy


def probe_result(dom: str) -> dict[str, object]:
    from selectolax.lexbor import LexborHTMLParser

    node = LexborHTMLParser(dom).css_first("html")
    raw = node.attributes.get("data-probe") if node is not None else None
    if not raw:
        raise AssertionError("the page's style probe never ran (a script error, or the load event never came)")
    return json.loads(raw)
