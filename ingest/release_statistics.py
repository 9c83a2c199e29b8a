"""The statistics tables inside MOE's annual statistics releases, one row per stated number.

MOE publishes two annual statistics only as prose: 来华留学统计 (international students in China:
the total, then by continent, the top countries of origin, the top provinces, degree / non-degree
and funding, "一、按洲别统计：亚洲学生总数为295,043人，占59.95%；…") and 出国留学人员情况统计
(students going abroad and returnees, each by funding, "其中，国家公派3.02万人，单位公派3.56万人，
自费留学59.63万人"). `parse_statistics` turns such a text into `Statistic` rows:

    measure     international_students_in_china | students_going_abroad | returnees |
                students_going_abroad_cumulative
    breakdown   total | continent | country | province | degree_level | funding | country_group
    member      as written (韩国, 亚洲, 北京, 硕士研究生, 国家公派); 总数 for a total
    unit        persons | percent (a share MOE states beside the count, of the whole it counts)

A text that is neither kind of release yields nothing, and so does a sentence the parser does not
recognise: precision over recall. Lists come in numbered sections ("二、按国别排序前15名：…"); a
number in a section becomes a row only when the words before it name a member. Headline sentences
outside the lists (the total, 学历生, the funding split of the outbound statistics) are read with the
rules of `ingest.figures`, so both tables agree on them.

Period: the year a sentence states, else the year the title states, else the year of the release's
first total. Members are kept as MOE writes them; mapping them to countries is dbt's job
(int_moe_student_statistics), which flags a country it cannot map instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.figures import data_years, extract_figures, parse_number, qualifier_of, split_sentences

__all__ = ["BREAKDOWNS", "MEASURES", "Statistic", "parse_statistics", "statistic_rows"]

MEASURES = ("international_students_in_china", "students_going_abroad", "returnees", "students_going_abroad_cumulative")
BREAKDOWNS = ("total", "continent", "country", "province", "degree_level", "funding", "country_group")
TOTAL_MEMBER = "总数"


@dataclass(frozen=True)
class Statistic:
    """One number of an MOE statistics release: what it counts, for whom, with its sentence."""

    period_year: int | None
    measure: str
    breakdown: str
    member: str
    value: float
    unit: str
    qualifier: str
    sentence: str


# -- which release is it ----------------------------------------------------------------------
_INBOUND_DOC = re.compile(r"来华留学")
_INBOUND_COUNT = re.compile(r"外国留学(?:人员|生)|来华留学(?:生|人员)")
_OUTBOUND_DOC = re.compile(r"出国留学人员(?:情况)?统计|出国留学人员总数|出国留学人数|留学回国人员总数")

# -- figures read by ingest.figures -> (measure, breakdown, member) ----------------------------
_ISC = "international_students_in_china"
_FROM_FIGURES = {
    "international_students_in_china": (_ISC, "total", TOTAL_MEMBER),
    "international_degree_students": (_ISC, "degree_level", "学历生"),
    "international_non_degree_students": (_ISC, "degree_level", "非学历生"),
    "international_postgraduate_students": (_ISC, "degree_level", "硕士和博士研究生"),
    "government_scholarship_students": (_ISC, "funding", "中国政府奖学金生"),
    "international_self_funded_students": (_ISC, "funding", "自费生"),
    "international_students_belt_and_road": (_ISC, "country_group", "“一带一路”沿线国家"),
    "students_going_abroad": ("students_going_abroad", "total", TOTAL_MEMBER),
    "students_going_abroad_state_funded": ("students_going_abroad", "funding", "国家公派"),
    "students_going_abroad_employer_funded": ("students_going_abroad", "funding", "单位公派"),
    "students_going_abroad_self_funded": ("students_going_abroad", "funding", "自费留学"),
    "returnees": ("returnees", "total", TOTAL_MEMBER),
    "returnees_state_funded": ("returnees", "funding", "国家公派"),
    "returnees_employer_funded": ("returnees", "funding", "单位公派"),
    "returnees_self_funded": ("returnees", "funding", "自费留学"),
    "students_going_abroad_cumulative": ("students_going_abroad_cumulative", "total", TOTAL_MEMBER),
}
_SHARE_SUFFIX = "_share_pct"

# -- the numbered lists of 来华留学统计 -----------------------------------------------------------
_SECTIONS = (
    (re.compile(r"按洲别"), "continent"),
    (re.compile(r"按国别"), "country"),
    (re.compile(r"按省(?:市|份|区|\(区|（区)"), "province"),
    (re.compile(r"按(?:学生)?类别"), "degree_level"),
    (re.compile(r"按经费"), "funding"),
)
_NEW_SECTION = re.compile(r"^\s*(?:[一二三四五六七八九十]+[、．.]|\d+[、．.])")
_HEADER = re.compile(r"^\s*(?:[一二三四五六七八九十]+[、．.]|\d+[、．.])?\s*(?=按)")
_INLINE_HEADER = re.compile(r"[ \t\u3000]*(?=(?:[一二三四五六七八九十]+[、．.]|\d+[、．.])\s*按)")
_HEADER_CLAUSE = re.compile(r"按.{1,6}(?:统计|排序|排名)")
_CLAUSES = re.compile(r"[，；;：:。]|,(?!\d{3})")
_ARABIC = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_ITEM = re.compile(rf"^(?P<pre>.*?)(?P<n>(?<![\d.,]){_ARABIC}(?:万)?)\s?(?:名|人)$")
_SHARE = re.compile(rf"^占(?P<base>[^\d%]{{0,10}}?)的?(?P<p>{_ARABIC})\s?%$")
_SHARE_BASES = frozenset({"", "总数", "总人数", "来华生总数", "来华留学生总数", "来华留学生总人数"})
_MEMBER_PREFIX = re.compile(r"^.*?(?:还有|其中|依次为|分别为|分别是)|^(?:(?:19|20)\d{2}年(?:度)?)")
_MEMBER_SUFFIX = re.compile(r"(?:(?:学生)?(?:总数|总人数|人数))?(?:为|达到|达|共计|总计|合计|共有|共)*$")
_NOT_A_MEMBER = re.compile(r"增加|增长|减少|下降|比|较|同比|超过|前$|\d")


def parse_statistics(
    text: str, *, title: str | None = None, published_year: int | None = None, language: str = "zh"
) -> list[Statistic]:
    """The statistics rows of one release text; [] when it is no MOE statistics release."""
    if (language or "").lower().split("-")[0] != "zh":
        return []
    whole = f"{title or ''}\n{text}"
    inbound = bool(_INBOUND_DOC.search(whole) and _INBOUND_COUNT.search(text))
    outbound = bool(_OUTBOUND_DOC.search(whole))
    if not (inbound or outbound):
        return []
    # reposts run the numbered lists together on one line ("一、按洲别统计： 二、按国别排序前15名：…")
    text = _INLINE_HEADER.sub("\n", text)
    title_years = data_years(title or "", "zh", published_year)
    document_year = title_years[0] if len(set(title_years)) == 1 else None

    rows: list[Statistic] = []
    seen: dict[tuple[str, str, str, str], int] = {}

    def add(row: Statistic) -> None:
        key = (row.measure, row.breakdown, row.member, row.unit)
        if key not in seen:  # a title restating the body's total, a repeated list
            seen[key] = len(rows)
            rows.append(row)
        elif row.qualifier == "exact" and rows[seen[key]].qualifier != "exact":
            # a headline's "逾54万" gives way to the body's 54.45万
            rows[seen[key]] = row

    # the whole text at once: "其中，国家公派…" needs the sentence before it
    figures = extract_figures(text, language="zh", published_year=published_year, title=title)
    if document_year is None:
        document_year = next(
            (
                f.period_year
                for f in figures
                if f.period_year is not None and _FROM_FIGURES.get(f.metric, ("", "", ""))[1] == "total"
            ),
            None,
        )
    section: str | None = None
    listed: set[str] = set()
    for _, sentence in split_sentences(text):
        header = _HEADER.match(sentence)
        if header or _NEW_SECTION.match(sentence):
            section = next(
                (name for pattern, name in _SECTIONS if header and pattern.match(sentence, header.end())), None
            )
        if inbound and section is not None:
            listed.add(sentence)
            years = data_years(sentence, "zh", published_year)
            for row in _list_rows(sentence, section, years[0] if years else document_year):
                add(row)
    for figure in figures:
        if figure.sentence in listed:
            continue
        is_share = figure.metric.endswith(_SHARE_SUFFIX)
        target = _FROM_FIGURES.get(figure.metric[: -len(_SHARE_SUFFIX)] if is_share else figure.metric)
        if target is None or (figure.unit == "percent") != is_share:
            continue
        measure, breakdown, member = target
        if measure == _ISC and not inbound:
            continue
        period = figure.period_year if figure.period_year is not None else document_year
        add(Statistic(period, measure, breakdown, member, figure.value, figure.unit, figure.qualifier, figure.sentence))
    rows.sort(key=lambda row: (MEASURES.index(row.measure), BREAKDOWNS.index(row.breakdown)))
    return rows


def _list_rows(sentence: str, section: str, period: int | None) -> list[Statistic]:
    """Rows of one sentence of a numbered list: `member N人`, each optionally `占…的P%`."""
    out: list[Statistic] = []
    last: Statistic | None = None
    offset = 0
    for clause in _CLAUSES.split(sentence):
        clause_start = sentence.find(clause, offset)
        offset = clause_start + len(clause)
        clause = clause.strip()
        if not clause or _HEADER_CLAUSE.search(clause):
            last = None
            continue
        share = _SHARE.match(clause)
        if share:
            if last is not None and share.group("base") in _SHARE_BASES:
                value = parse_number(share.group("p") + "%")
                if value is not None:
                    out.append(
                        Statistic(
                            period, last.measure, last.breakdown, last.member, value, "percent", "exact", sentence
                        )
                    )
            last = None
            continue
        item = _ITEM.match(clause)
        last = None
        if item is None:
            continue
        member = _MEMBER_SUFFIX.sub("", _MEMBER_PREFIX.sub("", item.group("pre")).strip()).strip()
        if not member or _NOT_A_MEMBER.search(member):
            continue
        value = parse_number(item.group("n"))
        if value is None:
            continue
        start = sentence.find(item.group("n"), clause_start)
        qualifier = qualifier_of(sentence, start, start + len(item.group("n")), "zh")
        last = Statistic(period, _ISC, section, member, value, "persons", qualifier, sentence)
        out.append(last)
    return out


def statistic_rows(
    statistics: list[Statistic], *, source: str, url: str, content_sha256: str
) -> list[dict[str, object]]:
    """`raw.release_statistic` rows of one stored release version."""
    return [
        {
            "source": source,
            "url": url,
            "content_sha256": content_sha256,
            "row_index": index,
            "period_year": row.period_year,
            "measure": row.measure,
            "breakdown": row.breakdown,
            "member": row.member,
            "value": row.value,
            "unit": row.unit,
            "qualifier": row.qualifier,
            "sentence": row.sentence,
        }
        for index, row in enumerate(statistics)
    ]
