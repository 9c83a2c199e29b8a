"""MOE (Chinese site) article pages → `ReleaseRecord`.

The site publishes through TRS and every template writes `<meta name="ArticleTitle|PubDate|
ContentSource">` into the head; the visible page differs by template:

- news (`/jyb_xwfb/…`, most columns):

      <div class="moe-detail-box">            (some pages: id="moe-detail-box")
        <h1>标题</h1>
        <div class="moe-detail-shuxing">来源：教育部国际合作与交流司 | 2026-07-19</div>
        <div class="moe-detail-content" id="downloadContent"><div class="TRS_Editor"><p>正文…</div></div>
      </div>

- documents (`/srcsite/A20/…`: notices, opinions) and public-information pages (`/jyb_xxgk/…`):

      <div id="content_body_xxgk">
        <table id="xxgk_head_table">…<td>发文机构：</td><td>教育部</td>…<td>发文字号：</td><td>…</td></table>
        <div id="xxgk_content_div">
          <div id="xxgk_content_redheadbg"><h1>标题</h1></div>
          <div id="xxgk_content_fwzh_top">教外〔…〕1号</div>
          <div class="TRS_Editor"><p>正文…</div>          (older documents: bare <p> children)
        </div>
      </div>

- older public-information pages: `<div id="content_body"><h1>…</h1><div id="content_body_txt">…`,
  the 文号 in a `var file_fwzh='…';` script.

Each field is read from whichever of these the page has, meta tags first, so a page that lost its
wrapper, never closes its tags or ends before `</html>` still gives its title, date and text. The
page must have a title and a body; nothing else is required.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from eduopen.core.errors import ParseError
from ingest.sources.html_article import (
    ReleaseRecord,
    attachment_links,
    block_paragraphs,
    date_from_article_url,
    find_document_number,
    find_source_label,
    first_node,
    heading_text,
    labelled_cells,
    meta_content,
    normalize_space,
    page_title,
    parse_cn_datetime,
    parse_html,
    require_title_and_body,
)

SOURCE = "moe_zh"
LANGUAGE = "zh"
DEFAULT_BODY = "div.TRS_Editor"
DEFAULT_TITLE_META = "ArticleTitle"

_TITLE_HEADINGS = (
    "#xxgk_content_redheadbg h1",
    "div.moe-detail-box h1",
    "#moe-detail-box h1",
    "#content_body h1",
    "h1",
)
# Tried after the configured body selector, most specific first. No guessing beyond these: a page
# with none of them is a layout change to report, not a page to read by its longest block.
BODY_FALLBACKS = (
    "#xxgk_content_div",
    "div.moe-detail-content",
    "div#downloadContent",
    "#content_body_txt",
    "#content_body_xxgk",
)
# Inside a fallback container these repeat the title or hold the date line and print buttons.
_NOT_BODY = ("#xxgk_content_redheadbg", ".moe-detail-shuxing", "#moe-detail-page-set", "#xxgk_head_table", "h1")
_HEAD_TABLES = ("#xxgk_head_table", "#content_body_xxgk table")
_HEADER_LINES = ("div.moe-detail-shuxing", "#moe-detail-shuxing", "#content_date")
_DOC_NUMBER_NODES = ("#xxgk_content_fwzh_top", "#xxgk_content_fwzh")
_TEMPLATE_ROOTS = ("#content_body_xxgk", "div.moe-detail-box", "#moe-detail-box", "#content_body")
_SCRIPT_DOC_NUMBER = re.compile(r"""file_fwzh\s*=\s*['"]([^'"]{2,40})['"]""")

# Labels of the public-information table, in the order they are trusted.
_TITLE_LABELS = ("信息名称", "标题", "名称")
_DATE_LABELS = ("发布日期", "生成日期", "发文日期")
_ISSUER_LABELS = ("发文机构", "发文机关", "发布机构")
_NUMBER_LABELS = ("发文字号", "文号")
_NONE_VALUES = frozenset({"无", "-", "—", "／", "/"})


def parse_article(
    data: bytes,
    url: str,
    content_type: str | None = None,
    *,
    body: str = DEFAULT_BODY,
    title_meta: str = DEFAULT_TITLE_META,
) -> ReleaseRecord:
    """Parse one article page of any MOE template (see the module docstring).

    Raises ParseError when the page has no title or no body, naming which is missing.
    """
    tree = parse_html(data, content_type)
    head_table = first_node(tree, _HEAD_TABLES)
    facts = labelled_cells(head_table) if head_table is not None else {}

    title = (
        meta_content(tree, title_meta)
        or _fact(facts, _TITLE_LABELS)
        or heading_text(tree, _TITLE_HEADINGS)
        or page_title(tree)
    )
    body_node = first_node(tree, (body, *BODY_FALLBACKS))
    title, body_node = require_title_and_body(
        url,
        data,
        title=title,
        body=body_node,
        title_sources=f"<meta name={title_meta!r}>, 信息名称, <h1> or <title>",
        body_sources=f"{body!r} nor {', '.join(BODY_FALLBACKS)}; check moe_zh.selectors",
    )

    paragraphs = block_paragraphs(body_node, exclude=_NOT_BODY, skip_chrome=True)
    if paragraphs and paragraphs[0] == title:
        paragraphs = paragraphs[1:]
    scope = first_node(tree, _TEMPLATE_ROOTS) or tree.body or body_node
    attachments = tuple(attachment_links(scope, url))
    if not paragraphs and not attachments:
        raise ParseError(f"{url}: article body is empty")

    header_node = first_node(tree, _HEADER_LINES)
    header = normalize_space(header_node.text()) if header_node is not None else ""
    published_at = (
        parse_cn_datetime(meta_content(tree, "PubDate"))
        or parse_cn_datetime(_fact(facts, _DATE_LABELS))
        or parse_cn_datetime(header)
        or date_from_article_url(url)
    )
    content_source = meta_content(tree, "ContentSource")
    issuing_body = (
        _fact(facts, _ISSUER_LABELS) or content_source or find_source_label(header) or _source_in_body(paragraphs)
    )

    return ReleaseRecord(
        source=SOURCE,
        language=LANGUAGE,
        url=url,
        title=title,
        published_at=published_at,
        body_text="\n".join(paragraphs),
        issuing_body=issuing_body,
        document_number=_document_number(tree, facts, data, paragraphs),
        content_source=content_source,
        attachments=attachments,
    )


def _fact(facts: dict[str, str], labels: tuple[str, ...]) -> str | None:
    for label in labels:
        value = facts.get(label)
        if value and value not in _NONE_VALUES:
            return value
    return None


def _document_number(tree: LexborHTMLParser, facts: dict[str, str], data: bytes, paragraphs: list[str]) -> str | None:
    """The 文号 from the information table, the line under the red head, the page script, else the text."""
    number = _fact(facts, _NUMBER_LABELS)
    if number is None:
        node: LexborNode | None = first_node(tree, _DOC_NUMBER_NODES)
        number = normalize_space(node.text()) if node is not None else None
    if not number:
        match = _SCRIPT_DOC_NUMBER.search(data.decode("utf-8", "replace"))
        number = match.group(1).strip() if match else None
    if number and number not in _NONE_VALUES:
        return number.replace(" ", "")
    return find_document_number(paragraphs)


def _source_in_body(paragraphs: list[str]) -> str | None:
    # Reposted articles end with `（来源：中国教育报）`; the last label is the one that applies.
    for para in reversed(paragraphs):
        label = find_source_label(para)
        if label:
            return label.rstrip("）)")
    return None
