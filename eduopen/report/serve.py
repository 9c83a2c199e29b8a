"""`eduopen docs serve`: the report, dbt docs and GX Data Docs of a home on one local HTTP port.

Each of the three also opens from disk; the server is for a browser that should not, or cannot,
read the files (a container's volume, a colleague on the network) and for one place that links
them. It serves `<home>/docs` read-only, as plain files (the standard library's file handler,
which refuses paths outside that folder), plus an index page at `/` naming what is there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from html import escape
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from eduopen.core.paths import Home

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8081


@dataclass(frozen=True)
class Site:
    folder: str  # under <home>/docs
    title: str
    about: str
    made_by: str  # the command that writes it

    def index(self, docs: Path) -> Path:
        return docs / self.folder / "index.html"


SITES = (
    Site(
        "report",
        "Report",
        "Bringing in vs going global, top partner countries, releases per theme per year.",
        "eduopen docs",
    ),
    Site("dbt", "dbt docs", "Models, columns, tests and lineage of the warehouse.", "eduopen docs"),
    Site("gx", "Data Docs", "The quality gate's expectations and the results of its last runs.", "eduopen validate"),
)

INDEX_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>EduOpen documentation</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 3rem auto; padding: 0 1rem; color: #1f2933; }}
li {{ margin: 1rem 0; }} a {{ font-size: 1.2rem; }} .missing {{ color: #7b8794; }}
</style></head>
<body><h1>EduOpen documentation</h1><ul>
{items}
</ul></body></html>
"""


def index_page(docs: Path) -> str:
    """The page at `/`: a link to each site that exists, and how to make the ones that do not."""
    items = []
    for site in SITES:
        if site.index(docs).is_file():
            items.append(
                f'<li><a href="{site.folder}/index.html">{escape(site.title)}</a><br>{escape(site.about)}</li>'
            )
        else:
            items.append(
                f'<li class="missing"><span>{escape(site.title)}</span>: not built yet '
                f"(<code>{escape(site.made_by)}</code> writes it)</li>"
            )
    return INDEX_TEMPLATE.format(items="\n".join(items))


class DocsHandler(SimpleHTTPRequestHandler):
    """Files under the docs folder, and the generated index at `/`."""

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] in ("/", "/index.html"):
            body = index_page(Path(self.directory)).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def end_headers(self) -> None:
        # The sites are rebuilt in place after every run: a browser must ask again, not reuse.
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        log.info("%s %s", self.address_string(), format % args)


def make_server(home: Home, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> ThreadingHTTPServer:
    """A server bound to (host, port) for `home.docs`; port 0 picks a free one (`server_address`)."""
    home.docs.mkdir(parents=True, exist_ok=True)
    handler = partial(DocsHandler, directory=str(home.docs))
    return ThreadingHTTPServer((host, port), handler)


def serve(home: Home, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve until interrupted."""
    with make_server(home, host, port) as server:
        url = f"http://{host}:{server.server_port}/"
        log.info("serving %s on %s", home.docs, url)
        print(f"EduOpen docs: {url}  (Ctrl-C stops)", flush=True)
        server.serve_forever()
