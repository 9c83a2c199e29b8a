"""Headline statistics pulled out of release text, each with the sentence it came from.

Releases state their key figures only in prose ("2018年共有来自196个国家和地区的492185名各类外国
留学人员…", "492,185 international students from 196 countries and regions"). `extract_figures`
finds them with one pattern per metric and language, so a number becomes a figure only when the
words around it say what it counts. Precision over recall: a sentence no pattern recognises yields
nothing, and numbers in dates, document numbers (教外厅函〔2026〕12号) or table cells are never taken.

Metric vocabulary (unit):

    international_students_in_china     persons       来华留学生 / 外国留学人员 / international students
    countries_of_origin                 countries     来自N个国家和地区 — only beside the student count
    host_institutions                   institutions  N所高等院校 / in N institutions — same condition
    international_degree_students       persons       接受学历教育的外国留学生 / degree-seeking students
    government_scholarship_students     persons       中国政府奖学金生 / Chinese Government Scholarship
    students_going_abroad               persons       出国留学人员总数 / Chinese students studying abroad
    students_going_abroad_cumulative    persons       出国留学人员累计 (since 1978)
    returnees                           persons       留学回国人员 / 学成回国 / returned to China
    higher_education_enrolment          persons       高等教育在学总规模 / total enrollment in higher education
    gross_enrolment_ratio_pct           percent       高等教育毛入学率 / gross enrollment ratio
    degree_recognition_countries        countries     与N个国家和地区签署学历学位互认协议
    countries_teaching_chinese          countries     N个国家将中文纳入国民教育体系
    luban_workshops                     workshops     N个鲁班工坊 / N Luban Workshops
    sino_foreign_cooperative_programmes programmes    中外合作办学机构和项目N个
    <subject>_growth_pct                percent       同比增长8.83% / up 8.83 percent (negative for 下降/down)
    <subject>_increase                  persons       比上年增加3.85万人 / an increase of 3,013 students

`<subject>` is the nearest person count before the change in the same sentence; a change with no
such count is dropped. Numbers: Arabic with thousands separators and decimals, full-width digits,
Chinese numerals (一百二十万, 三千, 两万五千), 万 (1e4), 亿 (1e8), million/billion/thousand; an
approximate count (近60个, 30余个, more than 80) keeps the stated number.

Year: the last explicit year before the figure in its sentence (2018年, 2018年度, 2018年底,
in 2018), else the first one after it, else `published_year`. Years that are a comparison base
(比2017年, over 2017) or the start of a range (1978年到…, from 1978, since 1978) do not count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = [
    "QUALIFIERS",
    "Figure",
    "data_years",
    "extract_figures",
    "parse_cn_numeral",
    "parse_number",
    "qualifier_of",
    "split_sentences",
]


QUALIFIERS = ("exact", "approximately", "at_least", "more_than", "nearly")


@dataclass(frozen=True)
class Figure:
    """One headline statistic: what it measures, its value, unit and qualifier, the year it is about."""

    metric: str
    value: float
    unit: str
    period_year: int | None
    sentence: str
    qualifier: str = "exact"


# -- numbers ----------------------------------------------------------------------------------
# Full-width digits, point and percent become ASCII one character for one, so match offsets in
# the normalised text are offsets in the original sentence too.
_FULLWIDTH = str.maketrans("０１２３４５６７８９．％", "0123456789.%")

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_CHARS = "零〇一二两三四五六七八九十百千万亿"
_MULTIPLIERS = {
    "万": Decimal(10_000),
    "亿": Decimal(100_000_000),
    "万亿": Decimal(10**12),
    "thousand": Decimal(1_000),
    "million": Decimal(1_000_000),
    "billion": Decimal(10**9),
}

_ARABIC = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
# A number never starts inside another one (…〔2026〕12号, 1亿2000万) or after 第 (an ordinal).
_ZH_START = rf"(?<![\d.,{_CN_CHARS}第〔\[［【])"
_ZH_NUM = rf"{_ZH_START}(?:{_ARABIC}(?:余|多)?(?:万亿|亿|万)?|[{_CN_CHARS}]+)(?:余|多)?"
_ZH_PCT = rf"{_ZH_START}{_ARABIC}%"
_EN_NUM = rf"(?<![\d.,])(?:{_ARABIC})(?!\d|,\d)(?:\s?(?:million|billion|thousand)\b)?"
_EN_PCT = rf"(?<![\d.,]){_ARABIC}\s?(?:%|percent\b|per cent\b)"
_EN_APPROX_WORDS = r"more than|at least|over|nearly|almost|about|around|approximately|some|close to"
_EN_APPROX = rf"(?:(?:{_EN_APPROX_WORDS})\s+)?"

_ZH_NUMBER_FULL = re.compile(rf"({_ARABIC})(?:余|多)?(万亿|亿|万)?")
_EN_NUMBER_FULL = re.compile(rf"({_ARABIC})\s?(million|billion|thousand)?")


def parse_cn_numeral(text: str) -> int | None:
    """一百二十万 -> 1200000, 三千 -> 3000, 两万五千 -> 25000, 十二 -> 12; None if not a numeral."""
    if not text or any(ch not in _CN_CHARS for ch in text):
        return None
    if not any(ch in _CN_UNITS or ch in "万亿" for ch in text):
        # A bare run of digits (二〇一八) is positional notation, used for years, not counts.
        return int("".join(str(_CN_DIGITS[ch]) for ch in text)) if len(text) > 1 else _CN_DIGITS[text]
    total = section = digit = 0
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            section += (digit or 1) * _CN_UNITS[ch]
            digit = 0
        elif ch == "万":
            total += (section + digit or 1) * 10_000
            section = digit = 0
        else:  # 亿
            total = (total + section + digit or 1) * 100_000_000
            section = digit = 0
    return total + section + digit


def parse_number(text: str) -> float | None:
    """The value of a number as written in a release: `66.21万`, `492,185`, `1.5 million`, `三千`."""
    cleaned = re.sub(rf"^(?:{_EN_APPROX_WORDS})\s+", "", text.strip().translate(_FULLWIDTH), flags=re.IGNORECASE)
    cleaned = cleaned.rstrip("%").strip().rstrip("余多")
    cleaned = re.sub(r"\s?(?:percent|per cent)$", "", cleaned)
    match = _ZH_NUMBER_FULL.fullmatch(cleaned) or _EN_NUMBER_FULL.fullmatch(cleaned)
    if match:
        try:
            value = Decimal(match.group(1).replace(",", ""))
        except InvalidOperation:
            return None
        if match.group(2):
            value *= _MULTIPLIERS[match.group(2)]
        return float(value)
    numeral = parse_cn_numeral(cleaned.rstrip("余多"))
    return None if numeral is None else float(numeral)


# -- sentences --------------------------------------------------------------------------------
# Chinese sentences end at 。！？; English ones at .!? followed by a space and a capital (so 66.21,
# U.S. students and No. 5 do not split); a line break always ends one.
_SENTENCE_END = re.compile(r"[。！？]+[”’」』）)]?|\n+|(?<=[a-z0-9)”\"'][.!?])\s+(?=[A-Z“\"'(])")


def split_sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence) pairs; a sentence keeps its closing punctuation, surrounding space is cut."""
    out: list[tuple[int, str]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end() if not match.group(0).isspace() else match.start()
        _append_sentence(out, text, start, end)
        start = match.end()
    _append_sentence(out, text, start, len(text))
    return out


def _append_sentence(out: list[tuple[int, str]], text: str, start: int, end: int) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if stripped:
        out.append((start + (len(chunk) - len(chunk.lstrip())), stripped))


# -- rules ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Rule:
    metric: str
    unit: str
    pattern: re.Pattern[str]
    requires: str | None = None  # a metric that must be found in the same sentence
    context: re.Pattern[str] | None = None  # words the sentence must contain


def _compile(template: str, number: str, percent: str) -> re.Pattern[str]:
    return re.compile(template.replace("{N}", f"(?P<n>{number})").replace("{P}", f"(?P<n>{percent})"), re.IGNORECASE)


def _zh(
    metric: str, unit: str, *templates: str, requires: str | None = None, context: str | None = None
) -> list[_Rule]:
    ctx = re.compile(context) if context else None
    # MOE writes "492,185 名" as often as "492185名"
    templates = tuple(re.sub(r"\{N\}(?=名|人|\(\?:名|\(\?:人)", r"{N}\\s?", t) for t in templates)
    return [_Rule(metric, unit, _compile(t, _ZH_NUM, _ZH_PCT), requires, ctx) for t in templates]


def _en(metric: str, unit: str, *templates: str, requires: str | None = None) -> list[_Rule]:
    return [_Rule(metric, unit, _compile(t, _EN_APPROX + _EN_NUM, _EN_PCT), requires) for t in templates]


_ZH_VERB = r"(?:总数|总人数|人数|规模)?(?:为|也|已|达到|达|共计|总计|合计|共有|共|超过|突破|逾|近|约)*"
# "出国留学人数首次突破60万大关，达60.84万人": the milestone passed is no figure, the count after it is
_ZH_MILESTONE = r"(?:[，,]?(?:首次)?(?:突破|超过)[^，,。；;]{0,8}?大关[，,]\s*)?"
_INTL_ZH = r"(?:外国留学人员|外国留学生|来华留学生|来华留学人员|国际学生)"

# Order matters: a number claimed by an earlier rule is not claimed again, so the specific rules
# (degree students, cumulative totals) come before the general ones that would also match.
_RULES: dict[str, list[_Rule]] = {
    "zh": [
        *_zh("international_degree_students", "persons", rf"接受学历教育的{_INTL_ZH}{_ZH_VERB}{{N}}(?:名|人)"),
        # 学历生 alone is a degree student of whatever the sentence counts: taken only where the
        # sentence is about international students and not about the scholarship holders among them
        *_zh(
            "international_degree_students",
            "persons",
            rf"(?<!非)学历生{_ZH_VERB}{{N}}(?:名|人)",
            context=r"^(?!.*奖学金)(?=.*(?:来华|在华|外国留学|国际学生))",
        ),
        *_zh(
            "government_scholarship_students",
            "persons",
            rf"(?:中国政府奖学金生|享受中国政府奖学金的{_INTL_ZH}){_ZH_VERB}{{N}}(?:名|人)",
            r"{N}名中国政府奖学金生",
            rf"{{N}}(?:名|人)(?:{_INTL_ZH})?享受中国政府奖学金",
        ),
        *_zh("international_self_funded_students", "persons", rf"自费生{_ZH_VERB}{{N}}(?:名|人)"),
        *_zh(
            "international_non_degree_students",
            "persons",
            rf"非学历(?:生)?(?:外国)?留学(?:生|人员){_ZH_VERB}{{N}}(?:名|人)",
        ),
        *_zh(
            "international_postgraduate_students",
            "persons",
            rf"硕士(?:和|及|与)博士研究生{_ZH_VERB}{{N}}(?:名|人)",
            context=r"外国留学|来华|留学生",
        ),
        *_zh(
            "international_students_belt_and_road",
            "persons",
            rf"“?一带一路”?沿线国家(?:的)?(?:来华)?留学(?:生|人员){_ZH_VERB}{{N}}(?:名|人)",
        ),
        *_zh(
            "international_students_in_china",
            "persons",
            rf"{{N}}名(?:各类|各国)?{_INTL_ZH}",
            rf"(?<!出国)(?<!中国){_INTL_ZH}{_ZH_VERB}{{N}}(?:名|人)",
            # "来华留学生规模突破44万": a scale is a head count even without 人
            rf"(?<!出国)(?<!中国){_INTL_ZH}规模{_ZH_VERB}{{N}}(?:名|人)?(?![\d.个所%])",
        ),
        *_zh(
            "countries_of_origin",
            "countries",
            r"来自(?:全球)?(?:近|约|超过)?{N}个国家(?:和|及|与)?(?:地区)?",
            requires="international_students_in_china",
        ),
        *_zh(
            "host_institutions",
            "institutions",
            r"{N}所(?:高等院校|高等学校|高校|院校|大学)",
            requires="international_students_in_china",
        ),
        *_zh("students_going_abroad_cumulative", "persons", rf"出国留学人员累计{_ZH_VERB}{{N}}(?:名|人)"),
        *_zh(
            "students_going_abroad",
            "persons",
            rf"出国留学(?:（课程）|\(课程\))?(?:人员|人数|学生){_ZH_MILESTONE}{_ZH_VERB}{{N}}(?:名|人)",
            r"{N}(?:名|人)(?:中国学生)?出国留学",
        ),
        *_zh(
            "returnees",
            "persons",
            rf"(?:留学回国人员|学成回国人员|学成回国留学人员|回国留学人员){_ZH_VERB}{{N}}(?:名|人)",
            # "留学人员回国人数较上一年增长11.19%，达到48.09万人"
            r"(?:留学人员回国人数|留学回国人数)(?:较|比)?(?:上一?年度?)?(?:增长|增加)[^，,。；;]{0,8}[，,]\s*"
            r"(?:达到|达){N}(?:名|人)",
            r"{N}(?:名|人)(?:留学人员)?(?:学成回国|留学回国)",
        ),
        *_zh("higher_education_enrolment", "persons", rf"高等教育在学(?:总)?{_ZH_VERB}{{N}}(?:名|人)"),
        *_zh(
            "gross_enrolment_ratio_pct", "percent", rf"高等教育毛入学率{_ZH_VERB}(?:提高到|提高至|上升到|上升至)?{{P}}"
        ),
        *_zh(
            "degree_recognition_countries",
            "countries",
            r"(?:与|同)(?:近|约|超过)?{N}个国家(?:和地区)?(?:签署|签订)了?(?:高等教育)?学历学位(?:互认|相互承认)",
        ),
        *_zh(
            "countries_teaching_chinese",
            "countries",
            r"{N}个国家(?:和地区)?(?:已)?(?:将|把)中文(?:教学)?纳入(?:其)?国民教育体系",
        ),
        *_zh("luban_workshops", "workshops", r"{N}个鲁班工坊", rf"鲁班工坊{_ZH_VERB}{{N}}个"),
        *_zh(
            "sino_foreign_cooperative_programmes",
            "programmes",
            rf"中外合作办学(?:机构和项目|机构与项目|项目){_ZH_VERB}{{N}}个",
        ),
    ],
    "en": [
        *_en(
            "international_degree_students",
            "persons",
            r"{N}\s+(?:international|foreign)\s+students\s+(?:were\s+)?(?:enrolled|studying|registered)\s+"
            r"(?:in|for|on)\s+(?:academic\s+)?degree\s+(?:programs|programmes|courses|education)",
            r"{N}\s+(?:were\s+)?(?:academic\s+)?degree[- ]seeking\s+(?:international\s+)?students",
            r"degree[- ]seeking\s+(?:international\s+)?students\s+"
            r"(?:numbered|totaled|totalled|reached|stood at)\s+{N}",
        ),
        *_en(
            "government_scholarship_students",
            "persons",
            r"{N}\s+(?:international\s+students\s+)?(?:were\s+)?(?:recipients\s+of|on|received|held)\s+"
            r"(?:the\s+)?Chinese\s+Government\s+Scholarships?",
            r"Chinese\s+Government\s+Scholarship\s+(?:recipients|students|holders)\s+"
            r"(?:numbered|totaled|totalled|reached|stood at)\s+{N}",
        ),
        *_en(
            "international_students_in_china",
            "persons",
            r"{N}\s+(?:international|foreign)\s+students\b",
            r"(?:number\s+of\s+)?(?:international|foreign)\s+students\s+(?:in\s+China\s+)?"
            r"(?:numbered|totaled|totalled|reached|stood at|was|hit)\s+{N}",
        ),
        *_en(
            "countries_of_origin",
            "countries",
            r"from\s+{N}\s+countries(?:\s+and\s+regions)?",
            requires="international_students_in_china",
        ),
        *_en(
            "host_institutions",
            "institutions",
            r"(?:in|at|across)\s+{N}\s+(?:higher\s+education\s+institutions|colleges\s+and\s+universities|"
            r"universities|institutions\s+of\s+higher\s+(?:learning|education))",
            requires="international_students_in_china",
        ),
        *_en(
            "students_going_abroad_cumulative",
            "persons",
            r"(?:a\s+(?:total|cumulative\s+total)\s+of\s+)?{N}\s+Chinese\s+(?:students\s+)?had\s+"
            r"(?:gone|studied)\s+abroad",
        ),
        *_en(
            "students_going_abroad",
            "persons",
            r"{N}\s+Chinese\s+(?:students\s+)?(?:went|studied|were\s+studying|chose\s+to\s+study)\s+"
            r"(?:abroad|overseas)",
            r"(?:number\s+of\s+)?Chinese\s+students\s+(?:studying|going)\s+(?:abroad|overseas)\s+"
            r"(?:was|reached|totaled|totalled|stood at|hit|numbered)\s+{N}",
        ),
        *_en(
            "returnees",
            "persons",
            r"{N}\s+(?:[\w-]+\s+){0,3}?return(?:ed|ing)\s+(?:to\s+China|home)",
            r"(?:number\s+of\s+)?(?:overseas\s+)?returnees\s+(?:was|reached|totaled|totalled|stood at|"
            r"numbered|hit)\s+{N}",
        ),
        *_en(
            "higher_education_enrolment",
            "persons",
            r"total\s+enrol(?:l)?ment\s+in\s+higher\s+education\s+(?:institutions\s+)?"
            r"(?:reached|stood at|was|totaled|totalled|hit)\s+{N}",
        ),
        *_en(
            "gross_enrolment_ratio_pct",
            "percent",
            r"gross\s+enrol(?:l)?ment\s+(?:rate|ratio)(?:\s+(?:in|of|for)\s+higher\s+education)?\s+"
            r"(?:reached|stood at|was|rose to|hit|of)\s+{P}",
        ),
        *_en(
            "degree_recognition_countries",
            "countries",
            r"mutual\s+recognition\s+of\s+(?:academic\s+)?(?:degrees|diplomas|qualifications)[^.;]{0,60}?"
            r"\bwith\s+{N}\s+countries",
        ),
        *_en(
            "countries_teaching_chinese",
            "countries",
            r"{N}\s+countries(?:\s+and\s+regions)?\s+(?:have\s+)?(?:incorporated|included|integrated)\s+"
            r"(?:the\s+)?Chinese(?:\s+language)?(?:\s+teaching)?\s+into\s+their\s+national\s+education",
        ),
        *_en("luban_workshops", "workshops", r"{N}\s+Luban\s+Workshops"),
        *_en(
            "sino_foreign_cooperative_programmes",
            "programmes",
            r"{N}\s+Sino-foreign\s+(?:cooperative|jointly[- ]run)\s+(?:education(?:al)?\s+)?"
            r"(?:institutions\s+and\s+)?(?:programs|programmes)",
        ),
    ],
}

_UNITS = {rule.metric: rule.unit for rules in _RULES.values() for rule in rules}
# What a change in the same sentence may refer to: counts of people, the headline subjects.
_SUBJECTS = frozenset(metric for metric, unit in _UNITS.items() if unit == "persons")

_ZH_DELTA = re.compile(
    r"(?P<dir>增加|增长|上升|提高|下降|减少)了?(?!到|至)"
    rf"(?:(?P<n>{_ZH_NUM})(?:名|人)(?:[，,、]\s*(?:增长|增幅|下降|降幅)?了?(?:比例|率|幅度)?(?:为|达)?)?)?"
    rf"(?:(?:比例|率|幅度)?(?:为|达)?(?P<p>{_ZH_PCT}))?"
)
_EN_DELTA = re.compile(
    r"\b(?P<dir>up|down|an\s+increase\s+of|a\s+rise\s+of|a\s+decrease\s+of|a\s+drop\s+of|a\s+decline\s+of|"
    r"increased\s+by|decreased\s+by|grew\s+by|rose\s+by|fell\s+by|rising|falling|growing)\s+(?:by\s+)?"
    rf"(?:(?P<n>{_EN_NUM})\s+(?:students|people|persons)\b(?:\s*,?\s*(?:or|up)\s+)?)?"
    rf"(?P<p>{_EN_PCT})?",
    re.IGNORECASE,
)
# A count of someone else between a subject and a change (a 万 amount, or persons) takes the change.
_OTHER_COUNT = re.compile(r"\d(?:[\d,.]*\d)?\s*(?:万|亿|名|人)")
_NEGATIVE = re.compile(r"下降|减少|down|decrease|drop|decline|fell|falling", re.IGNORECASE)

# "2016至2019年，我国出国留学人数251.8万人": a count over a span of years is no year's statistic
_YEAR_RANGE = re.compile(
    r"(?:19|20)\d{2}\s*年?度?\s*(?:至|到|—|–|-|～|~|to|through)\s*(?:the\s+end\s+of\s+)?(?P<end>(?:19|20)\d{2})",
    re.IGNORECASE,
)
_ZH_YEAR = re.compile(r"(?<![\d〔\[［【])((?:19|20)\d{2})\s*年(?:度|底|末|初)?")
_EN_YEAR = re.compile(r"(?<![\d,.〔\[［【])((?:19|20)\d{2})(?!\d|,\d|%|\.\d|\s?(?:percent|per cent))")
_ZH_NOT_DATA_YEAR_BEFORE = re.compile(r"(?:比|较|与|同|自|从)\s*$")
_ZH_NOT_DATA_YEAR_AFTER = re.compile(r"^\s*(?:到|至|—|–|-|～|~|以来)")
_EN_NOT_DATA_YEAR_BEFORE = re.compile(
    r"\b(?:than|with|over|from|since|versus|vs\.?|on|against|compared\s+to|relative\s+to)\s+$", re.IGNORECASE
)
_EN_BARE_YEAR_CONTEXT = re.compile(
    r"\b(?:in|since|by|of|for|from|during|until|to|and|year|than|over|with)\s+$", re.IGNORECASE
)


# -- extraction -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Hit:
    metric: str
    value: float
    unit: str
    start: int
    end: int


def extract_figures(
    text: str, *, language: str, published_year: int | None = None, title: str | None = None
) -> list[Figure]:
    """Headline figures in `title` and `text` ('zh' or 'en' rules), in text order, with their sentence.

    The same (metric, value) stated twice in one text (title and body) is kept once, with the
    first period year found for it.
    """
    lang = (language or "").lower().split("-")[0]
    if lang not in _RULES:
        raise ValueError(f"no figure rules for language {language!r}; known: {', '.join(_RULES)}")
    title_years = [year for _, year in _data_years((title or "").translate(_FULLWIDTH), lang, published_year)]
    title_year = title_years[0] if len(set(title_years)) == 1 else None
    figures: list[Figure] = []
    index: dict[tuple[str, float], int] = {}
    previous_period: int | None = None
    previous_subject: str | None = None
    sentences = ([s for _, s in split_sentences(title)] if title else []) + [s for _, s in split_sentences(text)]
    for sentence in sentences:
        normalised = sentence.translate(_FULLWIDTH)
        continues = bool(_CONTINUES.match(normalised))
        hits = _sentence_hits(normalised, lang, previous_subject if continues else None)
        years = _data_years(normalised, lang, published_year)
        fallback = previous_period if continues else None
        if fallback is None:
            fallback = title_year
        if fallback is None and _AS_OF_NOW.search(normalised):
            fallback = published_year
        sentence_periods: list[int | None] = []
        spans = [match.start("end") for match in _YEAR_RANGE.finditer(normalised)]
        for hit in hits:
            period = _year_for(hit, years, fallback)
            if not hit.metric.endswith("_cumulative") and any((offset, period) in years for offset in spans):
                continue
            sentence_periods.append(period)
            figure = Figure(
                hit.metric, hit.value, hit.unit, period, sentence, qualifier_of(normalised, hit.start, hit.end, lang)
            )
            key = (hit.metric, hit.value)
            if key not in index:
                index[key] = len(figures)
                figures.append(figure)
            elif figures[index[key]].period_year is None and period is not None:
                figures[index[key]] = figure
        subjects = [hit.metric for hit in hits if hit.metric in _FUNDED_SUBJECTS]
        if subjects:
            previous_subject = subjects[-1]
        elif not continues:
            previous_subject = None
        known = [period for period in sentence_periods if period is not None]
        if known or not continues:
            previous_period = known[-1] if known else (years[-1][1] if years else None)
    return figures


# A sentence that only goes on with the previous one ("其中，国家公派3.02万人…", "同年…"): its
# figures are about the same year, and parts of the previous sentence's total.
_CONTINUES = re.compile(
    r"^\s*(?:其中|在这些|这当中|同年|当年|among them|of them|of these|of whom|that year|the same year)", re.IGNORECASE
)
# A stock stated as of now ("目前…", "so far") is about the publication year; any other sentence
# without a year says nothing about its period.
_AS_OF_NOW = re.compile(
    r"目前|截至目前|截止目前|现有|迄今|至今|当前|currently|so far|to date|at present", re.IGNORECASE
)

# Qualifier words just before a number (Chinese) or inside the English number group.
_ZH_QUALIFIER_BEFORE = (
    (re.compile(r"(?:超过|超|逾|多于|高于|突破)$"), "more_than"),
    (re.compile(r"(?:将近|接近|近)$"), "nearly"),
    (re.compile(r"(?:大约|约|大概)$"), "approximately"),
    (re.compile(r"(?:至少|不少于|不低于)$"), "at_least"),
)
_ZH_QUALIFIER_AFTER = (
    (re.compile(r"^(?:万亿|亿|万)?(?:名|人|个|所|家)?(?:左右|上下)"), "approximately"),
    (re.compile(r"^(?:万亿|亿|万)?(?:名|人|个|所|家)?以上"), "at_least"),
)
_EN_QUALIFIER = (
    (re.compile(r"^(?:more than|over)\b", re.IGNORECASE), "more_than"),
    (re.compile(r"^at least\b", re.IGNORECASE), "at_least"),
    (re.compile(r"^(?:nearly|almost|close to)\b", re.IGNORECASE), "nearly"),
    (re.compile(r"^(?:about|around|approximately|some)\b", re.IGNORECASE), "approximately"),
)


def qualifier_of(text: str, start: int, end: int, lang: str) -> str:
    """How the number at text[start:end] is stated: exact, or a bound or approximation of it.

    约 / about -> approximately; 近 / nearly -> nearly; 余, 多, 超过, 逾 / more than, over ->
    more_than; 至少, N以上 / at least -> at_least.
    """
    number = text[start:end]
    if lang == "en":
        for pattern, qualifier in _EN_QUALIFIER:
            if pattern.match(number):
                return qualifier
        return "exact"
    if re.search(r"\d(?:余|多)|[十百千万亿](?:余|多)|(?:余|多)(?:万亿|亿|万)?$", number):
        return "more_than"
    before = re.sub(
        r"(?:总数|总人数|人数|规模)?(?:为|达到|达|共计|总计|合计|共有|共)*$", "", text[max(0, start - 8) : start]
    )
    for pattern, qualifier in _ZH_QUALIFIER_BEFORE:
        if pattern.search(before):
            return qualifier
    for pattern, qualifier in _ZH_QUALIFIER_AFTER:
        if pattern.match(text[end : end + 6]):
            return qualifier
    return "exact"


def _sentence_hits(normalised: str, lang: str, inherited_subject: str | None) -> list[_Hit]:
    hits: list[_Hit] = []
    requires: list[str | None] = []
    claimed: list[tuple[int, int]] = []
    for rule in _RULES[lang]:
        if rule.context is not None and not rule.context.search(normalised):
            continue
        for match in rule.pattern.finditer(normalised):
            start, end = match.span("n")
            if any(start < c_end and c_start < end for c_start, c_end in claimed):
                continue
            if lang == "en" and _is_bare_year(normalised, match.group("n"), start):
                continue
            value = parse_number(match.group("n"))
            if value is None:
                continue
            hits.append(_Hit(rule.metric, value, rule.unit, start, end))
            requires.append(rule.requires)
            claimed.append((start, end))
    found = {hit.metric for hit in hits}
    hits = [hit for hit, required in zip(hits, requires, strict=True) if required is None or required in found]
    if lang == "zh":
        hits += _funding_hits(normalised, hits, claimed, inherited_subject)
    hits += _share_hits(normalised, lang, hits, claimed)
    hits += _delta_hits(normalised, lang, hits, claimed)
    hits.sort(key=lambda hit: hit.start)
    return hits


# Who paid for a stay abroad (出国留学人员情况统计): parts of the students going abroad or of the
# returnees, whichever total the sentence (or the one it continues) names last before them.
_FUNDED_SUBJECTS = frozenset({"students_going_abroad", "returnees"})
_FUNDING = {"国家公派": "state_funded", "单位公派": "employer_funded", "自费留学": "self_funded"}
_ZH_FUNDING = re.compile(
    rf"(?P<kind>国家公派|单位公派|自费留学)(?:留学)?(?:人员)?(?:出国留学(?:全年)?派出)?{_ZH_VERB}(?P<n>{_ZH_NUM})\s?(?:名|人)"
)
# "2017年出国留学人员中，自费留学共54.13万人": the total named without its count
_ZH_FUNDED_NOUN = re.compile(r"(?P<abroad>出国留学)|(?P<back>回国)")


def _funding_hits(
    text: str, hits: list[_Hit], claimed: list[tuple[int, int]], inherited_subject: str | None
) -> list[_Hit]:
    subjects = sorted((hit for hit in hits if hit.metric in _FUNDED_SUBJECTS), key=lambda hit: hit.start)
    out: list[_Hit] = []
    for match in _ZH_FUNDING.finditer(text):
        start, end = match.span("n")
        if any(start < c_end and c_start < end for c_start, c_end in claimed):
            continue
        before = [hit.metric for hit in subjects if hit.end <= match.start()]
        subject = before[-1] if before else inherited_subject
        if subject is None:
            nouns = list(_ZH_FUNDED_NOUN.finditer(text, 0, match.start()))
            if nouns:
                subject = "students_going_abroad" if nouns[-1].group("abroad") else "returnees"
        value = parse_number(match.group("n"))
        if subject is None or value is None:
            continue
        out.append(_Hit(f"{subject}_{_FUNDING[match.group('kind')]}", value, "persons", start, end))
        claimed.append((start, end))
    return out


# "…258,122 人，占来华生总数的52.44%": a share stated right after a count, of the whole the
# release counts. A share of something else (占奖学金生总数的88.02%, 占已完成学业群体的84.46%) is
# the share of a subgroup and is not taken.
# (matched at the end of the count: `pattern.match(text, pos)` anchors there)
_ZH_SHARE = re.compile(
    rf"\s*(?:名|人)?[^，,；;。\d%]{{0,14}}?[，,]?\s*占(?P<base>[^，,；;。\d%]{{0,10}}?)的?(?P<p>{_ZH_PCT})"
)
_SHARE_BASES = frozenset(
    {
        "",
        "总数",
        "总人数",
        "来华生总数",
        "来华留学生总数",
        "来华留学生总人数",
        "出国留学总人数",
        "出国留学人员总数",
        "留学回国人员总数",
    }
)


# "…258,122 international students were enrolled in degree programs, accounting for 52.44% of all
# foreign students": the words between the count and the share name no other number.
_EN_SHARE = re.compile(
    rf"[^\d%;.]{{0,80}}?,?\s*(?:accounting\s+for|representing|making\s+up|or)\s+(?P<p>{_EN_PCT})\s+of\s+"
    r"(?P<base>(?:all|the\s+total(?:\s+number\s+of)?)(?:\s+(?:international|foreign))?\s+students|the\s+total)\b",
    re.IGNORECASE,
)


def _share_hits(text: str, lang: str, hits: list[_Hit], claimed: list[tuple[int, int]]) -> list[_Hit]:
    out: list[_Hit] = []
    for hit in sorted(hits, key=lambda hit: hit.start):
        if hit.unit != "persons":
            continue
        match = (_ZH_SHARE if lang == "zh" else _EN_SHARE).match(text, hit.end)
        if match is None or (lang == "zh" and match.group("base") not in _SHARE_BASES):
            continue
        start, end = match.span("p")
        if any(start < c_end and c_start < end for c_start, c_end in claimed):
            continue
        value = parse_number(match.group("p"))
        if value is None:
            continue
        out.append(_Hit(f"{hit.metric}_share_pct", value, "percent", start, end))
        claimed.append((start, end))
    return out


def _delta_hits(text: str, lang: str, hits: list[_Hit], claimed: list[tuple[int, int]]) -> list[_Hit]:
    """Changes (增长8.83%, an increase of 3,013 students) of the nearest person count before them."""
    subjects = sorted((hit for hit in hits if hit.metric in _SUBJECTS), key=lambda hit: hit.start)
    out: list[_Hit] = []
    for match in (_ZH_DELTA if lang == "zh" else _EN_DELTA).finditer(text):
        if match.group("n") is None and match.group("p") is None:
            continue
        before = [(hit.end, hit.metric) for hit in subjects if hit.end <= match.start()]
        if lang == "zh":
            before += _subject_nouns_before(text, match.start())
        if not before:
            continue
        subject_end, subject = max(before)
        if _OTHER_COUNT.search(text, subject_end, match.start()):
            # "…达到48.09万人，其中…人员达到22.74万，同比增长14.90%": the change is the subgroup's
            continue
        sign = -1.0 if _NEGATIVE.search(match.group("dir")) else 1.0
        for group, suffix, unit in (("n", "_increase", "persons"), ("p", "_growth_pct", "percent")):
            if match.group(group) is None:
                continue
            start, end = match.span(group)
            if any(start < c_end and c_start < end for c_start, c_end in claimed):
                continue
            value = parse_number(match.group(group))
            if value is None:
                continue
            out.append(_Hit(subject + suffix, sign * value, unit, start, end))
            claimed.append((start, end))
    return out


# A change may follow the subject's name instead of its count ("出国留学人数增加5.37万人，增长8.83%",
# "留学人员回国人数较上一年增长11.19%"): the name must come right before it, a comparison base at most
# between them.
_ZH_SUBJECT_NOUNS = (
    (re.compile(r"出国留学(?:人员)?(?:人数|总数|规模)"), "students_going_abroad"),
    (re.compile(r"(?:留学回国|回国留学|学成回国)(?:人员)?(?:人数|总数|规模)|留学人员回国人数"), "returnees"),
    (
        re.compile(r"(?:来华留学生|来华留学人员|外国留学生|外国留学人员)(?:人数|总数|规模)"),
        "international_students_in_china",
    ),
)
_ZH_SUBJECT_GAP = re.compile(r"(?:较|比|与)?(?:上一?年度?|去年|同期)?(?:相比)?(?:同比)?[，,]?$")


def _subject_nouns_before(text: str, position: int) -> list[tuple[int, str]]:
    out = []
    for pattern, metric in _ZH_SUBJECT_NOUNS:
        for match in pattern.finditer(text, 0, position):
            if _ZH_SUBJECT_GAP.fullmatch(text, match.end(), position):
                out.append((match.end(), metric))
    return out


def _is_bare_year(text: str, number: str, start: int) -> bool:
    """`in 2018 international students…`: a year in front of a noun, not a count of 2,018."""
    return bool(
        re.fullmatch(r"(?:19|20)\d{2}", number.strip())
        and _EN_BARE_YEAR_CONTEXT.search(text[max(0, start - 12) : start])
    )


def data_years(text: str, language: str, published_year: int | None = None) -> list[int]:
    """The years a sentence states that can be the period of a statistic in it, in text order."""
    return [year for _, year in _data_years(text.translate(_FULLWIDTH), language, published_year)]


def _data_years(text: str, lang: str, published_year: int | None = None) -> list[tuple[int, int]]:
    """(offset, year) of the years in a sentence that can be a figure's period.

    A year after the publication year is a target (到2025年), never the period of a statistic.
    """
    pattern, before, after = (
        (_ZH_YEAR, _ZH_NOT_DATA_YEAR_BEFORE, _ZH_NOT_DATA_YEAR_AFTER)
        if lang == "zh"
        else (_EN_YEAR, _EN_NOT_DATA_YEAR_BEFORE, _ZH_NOT_DATA_YEAR_AFTER)
    )
    years = []
    for match in pattern.finditer(text):
        year = int(match.group(1))
        if not 1949 <= year <= 2100 or (published_year is not None and year > published_year):
            continue
        if before.search(text[max(0, match.start() - 12) : match.start()]):
            continue
        if after.search(text[match.end() : match.end() + 4]) or (
            lang == "en"
            and re.match(r"\s*(?:to|through|until)\s+(?:the\s+end\s+of\s+)?(?:19|20)\d{2}", text[match.end() :])
        ):
            continue
        years.append((match.start(), year))
    return years


def _year_for(hit: _Hit, years: list[tuple[int, int]], fallback: int | None) -> int | None:
    before = [year for offset, year in years if offset < hit.start]
    if before:
        return before[-1]
    after = [year for offset, year in years if offset > hit.start]
    return after[0] if after else fallback
