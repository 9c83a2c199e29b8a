"""MOE (Chinese site) article pages → `ReleaseRecord`.

An article page carries its metadata twice: in `<meta name="ArticleTitle|PubDate|ContentSource">`
(what the TRS publishing system writes) and in the visible header

    <div class="moe-detail-box">
      <h1>标题</h1>
      <div class="moe-detail-shuxing">来源：教育部国际合作与交流司 | 2026-07-19</div>
      <div class="moe-detail-content"><div class="TRS_Editor"><p>正文…</p></div></div>
    </div>

The meta tags win; the visible header is the fallback for pages that lack them.
"""

from __future__ import annotations

from ingest.errors import ParseError
from ingest.sources.html_article import (
    ReleaseRecord,
    attachment_links,
    block_paragraphs,
    date_from_article_url,
    find_document_number,
    find_source_label,
    meta_content,
    normalize_space,
    parse_cn_datetime,
    parse_html,
    require_complete_document,
)

SOURCE = "moe_zh"
LANGUAGE = "zh"
DEFAULT_BODY = "div.TRS_Editor"
DEFAULT_TITLE_META = "ArticleTitle"
# Older templates put the text straight into the content box without a TRS_Editor wrapper.
_BODY_FALLBACKS = ("div.moe-detail-content", "div#downloadContent")


def parse_article(data: bytes, url: str, content_type: str | None = None, *,
                  body: str = DEFAULT_BODY, title_meta: str = DEFAULT_TITLE_META) -> ReleaseRecord:
    """Parse one article page. Raises ParseError when the page is cut off or has no title or body."""
    require_complete_document(data, url)
    tree = parse_html(data, content_type)
    box = tree.css_first("div.moe-detail-box")

    title = meta_content(tree, title_meta)
    if not title and box is not None:
        heading = box.css_first("h1")
        title = normalize_space(heading.text()) if heading is not None else None
    if not title:
        raise ParseError(f"{url}: no title (neither <meta name={title_meta!r}> nor an <h1> in the article)")

    body_node = tree.css_first(body)
    for fallback in _BODY_FALLBACKS:
        if body_node is not None:
            break
        body_node = tree.css_first(fallback)
    if body_node is None:
        raise ParseError(f"{url}: no article body ({body!r} not found); check moe_zh.selectors")
    paragraphs = block_paragraphs(body_node)

    scope = next(n for n in (box, tree.body, body_node) if n is not None)
    attachments = tuple(attachment_links(scope, url))
    if not paragraphs and not attachments:
        raise ParseError(f"{url}: article body is empty")

    header_node = tree.css_first("div.moe-detail-shuxing")
    header = normalize_space(header_node.text()) if header_node is not None else ""

    published_at = (parse_cn_datetime(meta_content(tree, "PubDate"))
                    or parse_cn_datetime(header)
                    or date_from_article_url(url))
    content_source = meta_content(tree, "ContentSource")
    issuing_body = content_source or find_source_label(header) or _source_in_body(paragraphs)

    return ReleaseRecord(
        source=SOURCE,
        language=LANGUAGE,
        url=url,
        title=title,
        published_at=published_at,
        body_text="\n".join(paragraphs),
        issuing_body=issuing_body,
        document_number=find_document_number(paragraphs),
        content_source=content_source,
        attachments=attachments,
    )


def _source_in_body(paragraphs: list[str]) -> str | None:
    # Reposted articles end with `（来源：中国教育报）`; the last label is the one that applies.
    for para in reversed(paragraphs):
        label = find_source_label(para)
        if label:
            return label.rstrip("）)")
    return None
