"""State Council English article pages → `ReleaseRecord`, with the generic extractor.

gov.cn templates carry `<meta name="firstpublishedtime" content="2026-11-20-18:30:00">`; the
generic extractor reads it (and og:title, `<h1>`, …); `gov_en.selectors` in sources.yml override.
"""

from __future__ import annotations

from ingest.sources.html_article import ReleaseRecord, parse_generic_article

SOURCE = "gov_en"
LANGUAGE = "en"


def parse_article(data: bytes, url: str, content_type: str | None = None, *,
                  selectors: dict[str, str] | None = None) -> ReleaseRecord:
    """Parse one article page. Raises ParseError when the page is cut off or has no title or body."""
    return parse_generic_article(data, url, content_type, source=SOURCE, language=LANGUAGE,
                                 selectors=selectors)
