"""robots.txt rules as RFC 9309 reads them.

Matching is protego's: `*` matches any run of characters, a trailing `$` anchors a rule to the end
of the path, and of all matching rules the longest wins (Allow over Disallow on a tie). The group
is chosen by the crawler's product token, not by the whole User-Agent header: the header's comment
(`(+https://github.com/eduopen/...)`) would otherwise match groups written for other crawlers.

An unavailable robots.txt (RFC 9309 2.3.1.3, a 4xx) allows everything and an unreachable one
(2.3.1.4, a 5xx or no answer) disallows everything; the client decides which applies.
"""

from __future__ import annotations

import re

from protego import Protego

_TOKEN_END = re.compile(r"[/\s;(]")


def product_token(user_agent: str) -> str:
    """The product token of a User-Agent header: `EduOpenBot/0.1 (+url)` -> `EduOpenBot`."""
    return _TOKEN_END.split(user_agent.strip(), maxsplit=1)[0]


class RobotsRules:
    """What one host's robots.txt lets a crawler fetch, and how long it asks it to wait."""

    def __init__(self, parsed: Protego | None, *, allow_all: bool) -> None:
        self._parsed = parsed
        self._allow_all = allow_all

    @classmethod
    def parse(cls, text: str) -> RobotsRules:
        return cls(Protego.parse(text), allow_all=True)

    @classmethod
    def unavailable(cls) -> RobotsRules:
        """No robots.txt to obey (RFC 9309 2.3.1.3): every path may be fetched."""
        return cls(None, allow_all=True)

    @classmethod
    def unreachable(cls) -> RobotsRules:
        """robots.txt could not be read (RFC 9309 2.3.1.4): assume a complete disallow."""
        return cls(None, allow_all=False)

    def can_fetch(self, url: str, user_agent: str) -> bool:
        if self._parsed is None:
            return self._allow_all
        return self._parsed.can_fetch(url, product_token(user_agent))

    def crawl_delay(self, user_agent: str) -> float | None:
        """The Crawl-delay of the group that applies to us, in seconds (not part of RFC 9309)."""
        if self._parsed is None:
            return None
        return self._parsed.crawl_delay(product_token(user_agent))
