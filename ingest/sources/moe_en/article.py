"""MOE English site article pages → `ReleaseRecord`, with the generic extractor.

Title from og:title / ArticleTitle / `<h1>` / `<title>`, date from the PubDate meta or the
tYYYYMMDD in the URL, body the block with the most paragraph text; `moe_en.selectors` in
sources.yml (`title`, `date`, `body`: CSS selectors) override each once the layout is known.
"""

from __future__ import annotations

from ingest.sources.html_article import ReleaseRecord, parse_generic_article

SOURCE = "moe_en"
LANGUAGE = "en"


def parse_article(data: bytes, url: str, content_type: str | None = None, *,
                  selectors: dict[str, str] | None = None) -> ReleaseRecord:
    """Parse one article page. Raises ParseError when the page is cut off or has no title or body."""
    return parse_generic_article(data, url, content_type, source=SOURCE, language=LANGUAGE,
                                 selectors=selectors)
