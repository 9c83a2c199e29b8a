"""Rebuild the cfcrs replay pages from the real records beside this script (records.json).

    .venv/bin/python demo/replay/originals/cfcrs/build_cfcrs_bundle.py

Writes `bundle/cfcrs/` (every region's two list pages and one detail page per record) and the
`new_release` scenario's overlay (`scenarios/new_release/cfcrs/`: the region list that gains the
new approval, and its detail page). The pages follow the register's template as public scrapers
of www.crs.jsj.edu.cn read it (PROVENANCE.md); every fact on them is a field of records.json, and a
field that is null there is left off the page. The output is deterministic.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPLAY = HERE.parent.parent
BUNDLE = REPLAY / "bundle" / "cfcrs"
NEW_APPROVAL = REPLAY / "scenarios" / "new_release" / "cfcrs"

# The register's region numbers, as its per-region list URLs use them.
REGIONS = (
    "北京", "上海", "天津", "重庆", "江苏", "浙江", "广东", "海南", "福建", "山东", "江西",
    "四川", "安徽", "河北", "河南", "湖北", "湖南", "陕西", "山西", "黑龙江", "辽宁", "吉林",
    "广西", "云南", "贵州", "甘肃", "内蒙古", "宁夏", "新疆", "青海", "西藏",
)  # fmt: skip
# Per level: the list of a region, the detail pages it links to, its title, its 办学层次 wording.
LISTS = {
    "undergraduate": ("aproval/getbyarea", "aproval/detail", "教育部审批和复核的机构及项目名单", "本科及以上"),
    "vocational": ("aproval/localbyarea", "aproval/localdetail", "由地方审批报教育部备案的机构及项目名单", "高等专科"),
}
CATEGORY = {"institution": "合作办学机构", "programme": "合作办学项目"}
HTML_HEADERS = '{"Content-Type": "text/html; charset=utf-8"}\n'
# Detail ids are the replay's own (the register's were not available): numbered in records.json order.
FIRST_ID = 3001


def page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)} - 中外合作办学监管工作信息平台</title>\n</head>\n<body>\n"
        '<div class="header"><a href="/">中外合作办学监管工作信息平台</a></div>\n'
        f'<div class="maincontent">\n{body}</div>\n</body>\n</html>\n'
    )


def list_page(level: str, region: int, records: list[tuple[int, dict[str, Any]]]) -> str:
    """One region's list: 地区 | 项目/机构 | 名称, the names linking to their detail pages."""
    _, detail, title, _ = LISTS[level]
    province = REGIONS[region - 1]
    rows = ['<tr class="head"><td>地区</td><td>项目/机构</td><td>名 称(含内地与港澳台)</td></tr>']
    kinds = [kind for kind in CATEGORY if any(r["record_kind"] == kind for _, r in records)] or ["institution"]
    for index, kind in enumerate(kinds):
        items = []
        for record_id, record in records:
            if record["record_kind"] != kind:
                continue
            mark = "（停止招生）" if record["list_status"] == "ended" else ""
            items.append(f'<li><a href="/{detail}/{record_id}" target="_blank">{escape(record["name"])}{mark}</a></li>')
        region_cell = f'<td rowspan="{len(kinds)}">{province}</td>' if index == 0 else ""
        rows.append(f"<tr>{region_cell}<td>{CATEGORY[kind]}</td><td><ul>{''.join(items)}</ul></td></tr>")
    table = '<table class="lists" width="100%">\n' + "\n".join(rows) + "\n</table>\n"
    return page(f"{title}（{province}）", f"<h2>{title}</h2>\n{table}")


def detail_page(level: str, record: dict[str, Any]) -> str:
    """A record's detail: the label/value table, the partners as 中方：/外方： lines."""
    _, _, _, level_words = LISTS[level]
    label = "机构名称" if record["record_kind"] == "institution" else "项目名称"
    rows = [f'<tr><td class="label">{label}</td><td colspan="3">{escape(record["name"])}</td></tr>']
    partners = [f"中方：{record['chinese_partner']}"] if record["chinese_partner"] else []
    partners += [f"外方：{'；'.join(record['foreign_partners'])}"] if record["foreign_partners"] else []
    for index, line in enumerate(partners):
        head = f'<td class="label" rowspan="{len(partners)}">中外合作办学者</td>' if index == 0 else ""
        rows.append(f'<tr>{head}<td colspan="3">{escape(line)}</td></tr>')
    facts = [("办学层次和类别", level_words)]
    if record["approval_date"]:
        facts.append(("批准时间", record["approval_date"]))
    if record["approval_number"]:
        number_label = "许可证编号" if record["record_kind"] == "institution" else "批准书编号"
        facts.append((number_label, record["approval_number"]))
    for start in range(0, len(facts), 2):
        cells = "".join(f'<td class="label">{k}</td><td>{escape(v)}</td>' for k, v in facts[start : start + 2])
        rows.append(f"<tr>{cells}</tr>")
    if record["list_status"] == "ended":
        rows.append('<tr><td class="label">备注</td><td colspan="3">停止招生</td></tr>')
    table = '<table class="detail" width="100%">\n' + "\n".join(rows) + "\n</table>\n"
    changes = '<table class="change" width="100%">\n<tr><td>变更记载</td></tr>\n</table>\n'
    return page(record["name"], table + changes)


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.with_name(path.name + ".headers.json").write_text(HTML_HEADERS, encoding="utf-8")


def build() -> None:
    data = json.loads((HERE / "records.json").read_text(encoding="utf-8"))
    recorded = [(FIRST_ID + i, r) for i, r in enumerate(data["bundle"])]
    appearing = [(FIRST_ID + len(recorded) + i, r) for i, r in enumerate(data["new_approval_scenario"])]
    for level, (list_path, detail, _, _) in LISTS.items():
        for region in range(1, len(REGIONS) + 1):
            here = [(i, r) for i, r in recorded if r["level"] == level and r["province"] == REGIONS[region - 1]]
            write(BUNDLE, f"{list_path}/{region}", list_page(level, region, here))
            new = [(i, r) for i, r in appearing if r["level"] == level and r["province"] == REGIONS[region - 1]]
            if new:
                write(NEW_APPROVAL, f"{list_path}/{region}", list_page(level, region, here + new))
        for record_id, record in recorded:
            if record["level"] == level:
                write(BUNDLE, f"{detail}/{record_id}", detail_page(level, record))
        for record_id, record in appearing:
            if record["level"] == level:
                write(NEW_APPROVAL, f"{detail}/{record_id}", detail_page(level, record))


if __name__ == "__main__":
    build()
