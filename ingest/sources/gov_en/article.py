"""State Council English article pages → `ReleaseRecord`, with the generic extractor.

gov.cn templates carry `<meta name="firstpublishedtime" content="2026-11-20-18:30:00">` and put the
article text in `<div id="UCAP-CONTENT">` (the State Council's content system, UCAP); the generic
extractor reads the meta (and og:title, `<h1>`, …) and takes UCAP-CONTENT as the body, else the
block with the most paragraph text. `gov_en.selectors` in sources.yml override. A page that arrived
whole is read for what it has: no `</html>` or unclosed tags are no reason to refuse it.
"""

from __future__ import annotations

from ingest.sources.html_article import ReleaseRecord, parse_generic_article

SOURCE = "gov_en"
LANGUAGE = "en"
# The whole UCAP-CONTENT, not its inner `trs_editor_view`: a lead paragraph can sit outside it.
BODY_CANDIDATES = ("#UCAP-CONTENT", "div.pages_content")


def parse_article(
    data: bytes, url: str, content_type: str | None = None, *, selectors: dict[str, str] | None = None
) -> ReleaseRecord:
    """Parse one article page. Raises ParseError when the page has no title or no body."""
    return parse_generic_article(
        data, url, content_type, source=SOURCE, language=LANGUAGE, selectors=selectors, body_candidates=BODY_CANDIDATES
    )
