"""The register's detail page of one institution or programme → `Detail`.

    <div class="maincontent"><table>
      <tr><td>机构名称</td><td colspan="3">宁波诺丁汉大学</td></tr>          (项目名称 for a programme)
      <tr><td rowspan="2">中外合作办学者</td><td colspan="3">中方：浙江万里学院</td></tr>
      <tr><td colspan="3">外方：英国诺丁汉大学</td></tr>
      <tr><td>办学层次和类别</td><td>本科及以上</td><td>许可证编号</td><td>…</td></tr>
      <tr><td>备注</td><td colspan="3">停止招生</td></tr>
    </table><table>…变更记载…</table></div>

Labels sit in one cell and their value in the next (two pairs to a row, or one with a wide value);
the partners are lines of their own, 中方： and 外方：, several foreign partners separated by ；.
A page without a name or without a 外方： line is refused: it is not a register entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from eduopen.core.errors import ParseError
from ingest.sources.cfcrs.listing import ENDED_MARKS
from ingest.sources.html_article import normalize_space, parse_html

NAME_LABELS = {"机构名称": "institution", "项目名称": "programme"}
NUMBER_LABELS = ("批准书编号", "许可证编号")
APPROVED_LABELS = ("批准时间", "批准日期")
ENDED_LABELS = ("终止时间", "停办时间")
LEVEL_LABEL = "办学层次和类别"
REMARK_LABEL = "备注"
_LABELS = frozenset((*NAME_LABELS, *NUMBER_LABELS, *APPROVED_LABELS, *ENDED_LABELS, LEVEL_LABEL, REMARK_LABEL))
_PARTNER_LINE = re.compile(r"^(中方|外方)\s*[:：]\s*(.*)$")
_PARTNER_SEPARATORS = re.compile(r"\s*[；;]\s*")
_DATE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_NONE_VALUES = frozenset({"", "无", "-", "—", "／", "/"})


@dataclass(frozen=True)
class Detail:
    """What one detail page states of a register entry (None where it states nothing)."""

    name: str
    record_kind: str
    chinese_partner: str | None
    foreign_partners: tuple[str, ...]
    approval_number: str | None
    approval_date: date | None
    ended_date: date | None
    level_text: str | None
    ended: bool


def parse_detail(data: bytes, url: str, content_type: str | None = None) -> Detail:
    """Parse one detail page (see the module docstring); ParseError naming what is missing."""
    tree = parse_html(data, content_type)
    scope = tree.css_first("div.maincontent") or tree.body
    if scope is None:
        raise ParseError(f"{url}: detail page has no body")
    facts: dict[str, str] = {}
    partners: dict[str, str] = {}
    for row in scope.css("tr"):
        cells = [normalize_space(cell.text()) for cell in row.css("td, th")]
        for index, text in enumerate(cells):
            line = _PARTNER_LINE.match(text)
            if line:
                partners.setdefault(line.group(1), line.group(2).strip())
            elif text in _LABELS and index + 1 < len(cells) and cells[index + 1] not in _LABELS:
                facts.setdefault(text, cells[index + 1])
    label = next((label for label in NAME_LABELS if _value(facts, label)), None)
    if label is None:
        raise ParseError(f"{url}: detail page names no institution or programme (no 机构名称 / 项目名称)")
    foreign = tuple(p for p in _PARTNER_SEPARATORS.split(partners.get("外方", "")) if p not in _NONE_VALUES)
    if not foreign:
        raise ParseError(f"{url}: detail page states no foreign partner (no 外方： line under 中外合作办学者)")
    remark = _value(facts, REMARK_LABEL) or ""
    return Detail(
        name=facts[label],
        record_kind=NAME_LABELS[label],
        chinese_partner=_none_if_blank(partners.get("中方")),
        foreign_partners=foreign,
        approval_number=_first(facts, NUMBER_LABELS),
        approval_date=parse_date(_first(facts, APPROVED_LABELS)),
        ended_date=parse_date(_first(facts, ENDED_LABELS)),
        level_text=_value(facts, LEVEL_LABEL),
        ended=any(mark in remark for mark in ENDED_MARKS),
    )


def parse_date(text: str | None) -> date | None:
    """`2012-09-22`, `2012/9/22` or `2012年9月22日`; None for anything else (never a guessed day)."""
    match = _DATE.search(text or "")
    if match is None:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _value(facts: dict[str, str], label: str) -> str | None:
    return _none_if_blank(facts.get(label))


def _first(facts: dict[str, str], labels: tuple[str, ...]) -> str | None:
    return next((value for label in labels if (value := _value(facts, label))), None)


def _none_if_blank(text: str | None) -> str | None:
    return None if text is None or text.strip() in _NONE_VALUES else text.strip()
