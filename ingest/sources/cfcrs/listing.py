"""The register's list pages: one region's approved institutions and programmes, at one level.

A list page (`/aproval/getbyarea/{region}` for 本科及以上, `/aproval/localbyarea/{region}` for
高等专科) is a table whose first column, spanning its rows, names the region:

    <div class="maincontent"><table>
      <tr><td>地区</td><td>项目/机构</td><td>名 称(含内地与港澳台)</td></tr>
      <tr><td rowspan="2">浙江</td><td>合作办学机构</td>
          <td><ul><li><a href="/aproval/detail/1234">宁波诺丁汉大学</a></li></ul></td></tr>
      <tr><td>合作办学项目</td><td><ul><li><a href="/aproval/detail/1301">…项目（停止招生）</a></li></ul></td></tr>
    </table></div>

An entry that stopped enrolling carries 停止招生 (or 已停办) in its name; the register prefixes some
names with ▲ ● ■ (which regulation approved them), which are not part of the name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

from selectolax.lexbor import LexborNode

from eduopen.core.errors import ParseError
from ingest.sources.html_article import normalize_space, parse_html

HEADER_CELL = "地区"
DETAIL_PATHS = ("/aproval/detail/", "/aproval/localdetail/")
ENDED_MARKS = ("停止招生", "已停办", "已终止")
_APPROVAL_SYMBOLS = re.compile(r"[▲●■◆★]")
_ENDED_SUFFIX = re.compile(r"[（(]\s*(?:" + "|".join(ENDED_MARKS) + r")\s*[)）]\s*$")


@dataclass(frozen=True)
class ListedEntry:
    """One name on a list page: its detail page, as listed, and what the list says of it."""

    url: str
    name: str
    record_kind: str  # 'institution' | 'programme'
    province: str | None
    ended: bool


def parse_listing(data: bytes, page_url: str, content_type: str | None = None) -> list[ListedEntry]:
    """The entries of one list page, in page order, detail URLs made absolute.

    A table without entries is a region with nothing listed at this level. Raises ParseError when
    the page has no table headed 地区 at all (the site's layout changed), or when the table lists
    names without links to detail pages.
    """
    tree = parse_html(data, content_type)
    table = _register_table(tree.css("table"))
    if table is None:
        raise ParseError(f"{page_url}: list layout changed: no table headed {HEADER_CELL!r}")
    entries: list[ListedEntry] = []
    province: str | None = None
    names_without_links = 0
    for row in table.css("tr"):
        cells = row.css("td")
        texts = [normalize_space(cell.text()) for cell in cells]
        if not cells or HEADER_CELL in texts:
            continue
        if len(cells) >= 3:
            province, category, names = texts[0] or province, texts[1], cells[2]
        elif len(cells) == 2:
            category, names = texts[0], cells[1]
        else:
            continue
        kind = _record_kind(category)
        if kind is None:
            continue
        for item in names.css("li"):
            link = next((a for a in item.css("a[href]") if _is_detail(a)), None)
            if link is None:
                names_without_links += bool(normalize_space(item.text()))
                continue
            name, ended = _listed_name(item.text())
            url = urljoin(page_url, (link.attributes.get("href") or "").strip())
            entries.append(ListedEntry(url=url, name=name, record_kind=kind, province=province, ended=ended))
    if names_without_links and not entries:
        raise ParseError(f"{page_url}: list layout changed: {names_without_links} names but no detail links")
    return entries


def detail_urls(data: bytes, page_url: str, content_type: str | None = None) -> list[str]:
    """The detail page URLs a list page links to (what a watcher compares between polls)."""
    return [entry.url for entry in parse_listing(data, page_url, content_type)]


def _register_table(tables: list[LexborNode]) -> LexborNode | None:
    for table in tables:
        first = table.css_first("tr")
        if first is not None and HEADER_CELL in [normalize_space(td.text()) for td in first.css("td, th")]:
            return table
    return None


def _record_kind(category: str) -> str | None:
    # 中外合作办学机构, 内地与港澳台地区合作办学机构, 合作办学项目 …: what is run, not who runs it.
    if "机构" in category:
        return "institution"
    if "项目" in category:
        return "programme"
    return None


def _is_detail(link: LexborNode) -> bool:
    href = link.attributes.get("href") or ""
    return any(path in href for path in DETAIL_PATHS)


def _listed_name(text: str) -> tuple[str, bool]:
    """The name without the register's symbols and the ended mark; whether the mark was there."""
    name = normalize_space(_APPROVAL_SYMBOLS.sub(" ", text))
    ended = any(mark in name for mark in ENDED_MARKS)
    return normalize_space(_ENDED_SUFFIX.sub("", name)), ended
