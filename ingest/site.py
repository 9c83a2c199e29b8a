"""A source's site: the base URL its records are stored under and the one they are fetched from.

The two differ when a source's base URL is overridden (`EDUOPEN_<SOURCE>_URL`, e.g. the replay
server): links found on a fetched page are stored under the canonical origin, so a record keeps
one URL wherever it was read from, and fetched from the override.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from ingest.http import path_climbs


class Refused(enum.Enum):
    """Why a link found on the site is not followed."""

    OFF_SITE = "off_site"  # another scheme (file:, data:), host, port or any userinfo
    CLIMBS = "climbs"  # its path still climbs once resolved (`%2e%2e/`, backslashes): no real link does


@dataclass(frozen=True)
class Site:
    canonical_base: str
    fetch_base: str

    def canonical_url(self, url: str) -> str | Refused:
        """`url` on the canonical origin when it is a link on this site; else why it is refused."""
        canonical = urlsplit(self.canonical_base)
        parts = urlsplit(url)
        hosts = {canonical.netloc.lower(), urlsplit(self.fetch_base).netloc.lower()}
        if parts.scheme.lower() not in ("http", "https") or parts.netloc.lower() not in hosts:
            return Refused.OFF_SITE
        if path_climbs(parts.path):
            return Refused.CLIMBS
        return urlunsplit((canonical.scheme, canonical.netloc, parts.path, parts.query, ""))

    def fetch_url(self, canonical_url: str) -> str:
        """Where to fetch a canonical URL from: the same path below the (possibly overridden) base."""
        if self.fetch_base == self.canonical_base or not canonical_url.startswith(self.canonical_base):
            return canonical_url
        return self.fetch_base + canonical_url[len(self.canonical_base) :]
