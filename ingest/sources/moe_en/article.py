"""MOE English site article pages → `ReleaseRecord`, with the generic extractor.

Title from og:title / ArticleTitle / `<h1>` / `<title>`, date from the PubDate meta or the
tYYYYMMDD in the URL, body the `div.TRS_Editor` the site's publishing system (TRS) writes, else the
block with the most paragraph text; `moe_en.selectors` in sources.yml (`title`, `date`, `body`: CSS
selectors) override each once the layout is known. A page that arrived whole is read for what it
has: no `</html>` or unclosed tags are no reason to refuse it.
"""

from __future__ import annotations

from ingest.sources.html_article import ReleaseRecord, parse_generic_article

SOURCE = "moe_en"
LANGUAGE = "en"
BODY_CANDIDATES = ("div.TRS_Editor",)


def parse_article(
    data: bytes, url: str, content_type: str | None = None, *, selectors: dict[str, str] | None = None
) -> ReleaseRecord:
    """Parse one article page. Raises ParseError when the page has no title or no body."""
    return parse_generic_article(
        data, url, content_type, source=SOURCE, language=LANGUAGE, selectors=selectors, body_candidates=BODY_CANDIDATES
    )
