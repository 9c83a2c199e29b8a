"""MOE's statistics releases read into rows (ingest.release_statistics), from their published text."""

from __future__ import annotations

import pytest

from ingest.release_statistics import Statistic, parse_statistics, statistic_rows

# 2018年来华留学统计, published by MOE on 2019-04-12, as reposted word for word.
INBOUND_2018_TITLE = "2018年来华留学统计"
INBOUND_2018 = "\n".join(
    [
        "据统计，2018年共有来自196个国家和地区的492,185 名各类外国留学人员在全国31个省（区、市）的1004所高等院校学习，"
        "比2017年增加了3,013人，增长比例为0.62%（以上数据均不含港、澳、台地区）。",
        "一、按洲别统计：亚洲学生总数为295,043人，占59.95%；非洲学生总数为81,562人，占16.57%；欧洲学生总数为73,618人，"
        "占14.96%；美洲学生总数为35,733人，占7.26%；大洋洲学生总数为6,229人，占1.27%。",
        "二、按国别排序前15名：韩国50,600人，泰国28,608人，巴基斯坦28,023人，印度23,198人，美国20,996人，俄罗斯19,239人，"
        "印度尼西亚15,050人，老挝14,645人，日本14,230人，哈萨克斯坦11,784人，越南11,299人，孟加拉10,735人，法国10,695人，"
        "蒙古10,158人，马来西亚9,479人。",
        "三、按省市排序前10名：北京80,786人，上海61,400人，江苏45,778人，浙江38,190人，辽宁27,879人，天津23,691人，"
        "广东22,034人，湖北21,371人，云南19,311人，山东19,078人。人数超过10,000的省（区）还有广西15,217人，"
        "四川13,990人，黑龙江13,429人，陕西12,919人，福建10,340人。",
        "四、按学生类别统计：接受学历教育的外国留学生总计258,122 人，占来华生总数的52.44%，比2017年增加了16,579人，"
        "同比增加6.86%；硕士和博士研究生共计85,062人，比2017年增加12.28%，其中，博士研究生25,618人，"
        "硕士研究生59,444人。2018年，非学历生留学生234,063人。",
        "五、按经费办法统计：中国政府奖学金生63,041人，占来华生总数的12.81%；自费生429,144人，占来华生总数的87.19%。",
    ]
)
# 2018年度我国出国留学人员情况统计, published by MOE on 2019-03-27.
OUTBOUND_2018_TITLE = "2018年度我国出国留学人员情况统计"
OUTBOUND_2018 = "\n".join(
    [
        "2018年度我国出国留学人员总数为66.21万人。其中，国家公派3.02万人，单位公派3.56万人，自费留学59.63万人。"
        "2018年度各类留学回国人员总数为51.94万人。其中，国家公派2.53万人，单位公派2.65万人，自费留学46.76万人。",
        "2018年度与2017年度的统计数据相比较，出国留学人数增加5.37万人，增长8.83%；留学回国人数增加3.85万人，增长了8.00%。",
        "从1978年到2018年底，各类出国留学人员累计达585.71万人。其中153.39万人正在国外进行相关阶段的学习和研究；"
        "432.32万人已完成学业；365.14万人在完成学业后选择回国发展，占已完成学业群体的84.46%。",
    ]
)
# 2019年度出国留学人员情况统计, published by MOE on 2020-12-14: both totals in one sentence.
OUTBOUND_2019 = (
    "2019年度我国出国留学人员总数为70.35万人，较上一年度增加4.14万人，增长6.25%；"
    "各类留学回国人员总数为58.03万人，较上一年度增加6.09万人，增长11.73%。"
)
# MOE's 2017 statistics as the news reported them (2018-03-30): no numbered lists.
INBOUND_2017 = (
    "2017年共有48.92万名外国留学生在我国高等院校学习，规模增速连续两年保持在10%以上，其中学历生24.15万人，"
    "占总数的49.38%，同比增幅15.04%。“一带一路”沿线国家留学生31.72万人，占总人数的64.85%，增幅达11.58%，"
    "高于各国平均增速。数据显示，2017年共有来自180个国家的5.86万名中国政府奖学金生在华学习，占总数的11.97%。"
    "其中学历生5.16万人，占奖学金生总数的88.02%。"
)


def table(rows: list[Statistic]) -> dict[tuple[str, str, str, str], float]:
    out = {(r.measure, r.breakdown, r.member, r.unit): r.value for r in rows}
    assert len(out) == len(rows), "a (measure, breakdown, member, unit) was stated twice"
    return out


@pytest.fixture(scope="module")
def inbound_2018() -> list[Statistic]:
    return parse_statistics(INBOUND_2018, title=INBOUND_2018_TITLE, published_year=2019)


def test_top_fifteen_countries_of_origin_as_written(inbound_2018):
    countries = [(r.member, r.value) for r in inbound_2018 if r.breakdown == "country"]
    assert countries[:2] == [("韩国", 50600), ("泰国", 28608)]
    assert countries[-1] == ("马来西亚", 9479)
    assert len(countries) == 15


def test_total_continents_and_their_shares(inbound_2018):
    found = table(inbound_2018)
    isc = "international_students_in_china"
    assert found[(isc, "total", "总数", "persons")] == 492185
    assert found[(isc, "continent", "亚洲", "persons")] == 295043
    assert found[(isc, "continent", "亚洲", "percent")] == pytest.approx(59.95)
    assert found[(isc, "continent", "大洋洲", "persons")] == 6229
    assert sum(v for (_, b, _, u), v in found.items() if b == "continent" and u == "persons") == 492185


def test_provinces_include_those_listed_after_the_top_ten(inbound_2018):
    provinces = {r.member: r.value for r in inbound_2018 if r.breakdown == "province"}
    assert len(provinces) == 15
    assert (provinces["北京"], provinces["广西"], provinces["福建"]) == (80786, 15217, 10340)
    assert 10000 not in provinces.values()


def test_degree_levels_and_funding_without_the_changes_over_2017(inbound_2018):
    found = table(inbound_2018)
    isc = "international_students_in_china"
    assert {m: v for (_, b, m, u), v in found.items() if b == "degree_level" and u == "persons"} == {
        "接受学历教育的外国留学生": 258122,
        "硕士和博士研究生": 85062,
        "博士研究生": 25618,
        "硕士研究生": 59444,
        "非学历生留学生": 234063,
    }
    assert found[(isc, "degree_level", "接受学历教育的外国留学生", "percent")] == pytest.approx(52.44)
    assert found[(isc, "funding", "中国政府奖学金生", "persons")] == 63041
    assert found[(isc, "funding", "自费生", "percent")] == pytest.approx(87.19)


def test_every_row_is_about_the_statistics_year_not_the_publication_year(inbound_2018):
    assert {r.period_year for r in inbound_2018} == {2018}
    assert {r.qualifier for r in inbound_2018} == {"exact"}


def test_each_row_keeps_its_sentence(inbound_2018):
    korea = next(r for r in inbound_2018 if r.member == "韩国")
    assert korea.sentence.startswith("二、按国别排序前15名：韩国50,600人")


def test_students_going_abroad_and_returnees_by_funding():
    found = table(parse_statistics(OUTBOUND_2018, title=OUTBOUND_2018_TITLE, published_year=2019))
    assert found == {
        ("students_going_abroad", "total", "总数", "persons"): 662100,
        ("students_going_abroad", "funding", "国家公派", "persons"): 30200,
        ("students_going_abroad", "funding", "单位公派", "persons"): 35600,
        ("students_going_abroad", "funding", "自费留学", "persons"): 596300,
        ("returnees", "total", "总数", "persons"): 519400,
        ("returnees", "funding", "国家公派", "persons"): 25300,
        ("returnees", "funding", "单位公派", "persons"): 26500,
        ("returnees", "funding", "自费留学", "persons"): 467600,
        ("students_going_abroad_cumulative", "total", "总数", "persons"): 5857100,
    }


def test_two_totals_in_one_sentence_of_the_2019_statistics():
    rows = parse_statistics(OUTBOUND_2019, title="2019年度出国留学人员情况统计", published_year=2020)
    assert table(rows) == {
        ("students_going_abroad", "total", "总数", "persons"): 703500,
        ("returnees", "total", "总数", "persons"): 580300,
    }
    assert {r.period_year for r in rows} == {2019}


def test_news_style_statistics_keep_only_shares_of_the_whole():
    found = table(parse_statistics(INBOUND_2017, title="2017年来华留学生规模持续扩大", published_year=2018))
    isc = "international_students_in_china"
    assert found == {
        (isc, "total", "总数", "persons"): 489200,
        (isc, "degree_level", "学历生", "persons"): 241500,
        (isc, "degree_level", "学历生", "percent"): pytest.approx(49.38),
        (isc, "country_group", "“一带一路”沿线国家", "persons"): 317200,
        (isc, "country_group", "“一带一路”沿线国家", "percent"): pytest.approx(64.85),
        (isc, "funding", "中国政府奖学金生", "persons"): 58600,
        (isc, "funding", "中国政府奖学金生", "percent"): pytest.approx(11.97),
    }


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "教育部召开新闻发布会，介绍2020年职业教育改革情况，全国共有职业学校1.13万所，在校生3088万人。",
            "教育部新闻发布会",
        ),
        ("中国—东盟教育交流周已连续举办15届，累计签署合作协议1500余份。", "中国—东盟教育交流周开幕"),
    ],
)
def test_a_text_that_is_no_statistics_release_yields_nothing(text, title):
    assert parse_statistics(text, title=title, published_year=2021) == []


def test_english_text_is_not_parsed():
    assert (
        parse_statistics(
            "In 2018, 492,185 international students studied in China.",
            title="Statistics",
            published_year=2019,
            language="en",
        )
        == []
    )


def test_raw_rows_number_the_statistics_of_one_version():
    rows = statistic_rows(
        parse_statistics(OUTBOUND_2019, title="2019年度出国留学人员情况统计", published_year=2020),
        source="moe_zh",
        url="http://www.moe.gov.cn/x.html",
        content_sha256="a" * 64,
    )
    assert [r["row_index"] for r in rows] == [0, 1]
    assert set(rows[0]) == {
        "source",
        "url",
        "content_sha256",
        "row_index",
        "period_year",
        "measure",
        "breakdown",
        "member",
        "value",
        "unit",
        "qualifier",
        "sentence",
    }


def test_without_a_year_in_the_title_the_lists_take_the_year_of_the_total():
    rows = parse_statistics(INBOUND_2018, title="来华留学统计", published_year=2019)
    assert {r.period_year for r in rows} == {2018}


# 2014年度我国来华留学生情况统计 (MOE, 2015-03-31) as a repost gives it: half-width punctuation, the
# numbered lists run together on one line, the continent list left empty.
INBOUND_2014 = (
    "据统计,2014年共有来自203个国家和地区的377,054名各类外国留学人员在31个省、自治区、直辖市的775所高等学校、"
    "科研院所和其他教学机构中学习,比2013年增加20,555人,增长比例为5.77%(以上数据均不含港、澳、台地区)。 "
    "一、按洲别统计: 二、按国别排序前15名:韩国62,923人,美国24,203人,泰国21,296人,俄罗斯17,202人,日本15,057人,"
    "印度尼西亚13,689人,印度13,578人,巴基斯坦13,360人,哈萨克斯坦11,764人,法国10,729人,越南10,658人,德国8,193人,"
    "蒙古7,920人,马来西亚6,645人,英国5,920人。 三、按省市排序前10名:北京74,342人,上海55,911人,天津25,720人,"
    "江苏23,209人,浙江22,190人,广东21,298人,辽宁21,010人,山东17,896人,湖北15,839人,黑龙江12,056人。"
    "人数超过10000人的省(区)还有福建10,758人。 四、按学生类别统计:接受学历教育的外国留学生总计164,394人,"
    "占来华生总数的43.60%,比2013年增加16,504人,同比增加11.16%;硕士和博士研究生共计47,990人,比2013年增加18.20%,"
    "其中,硕士研究生35,876人,博士研究生12,114人。2014年,非学历留学生212,660人。 五、按经费办法统计:"
    "中国政府奖学金生36,943人,占来华生总数的9.80%;自费生340,111人,占来华生总数的90.20%。"
)


def test_lists_run_together_on_one_line_keep_their_own_breakdowns():
    rows = parse_statistics(INBOUND_2014, title="2014年度我国来华留学生情况统计", published_year=2015)
    by_breakdown: dict[str, list[str]] = {}
    for row in rows:
        if row.unit == "persons":
            by_breakdown.setdefault(row.breakdown, []).append(row.member)
    assert "continent" not in by_breakdown
    assert by_breakdown["country"][0] == "韩国" and len(by_breakdown["country"]) == 15
    assert by_breakdown["province"][-1] == "福建" and len(by_breakdown["province"]) == 11
    assert table(rows)[("international_students_in_china", "degree_level", "非学历留学生", "persons")] == 212660
    assert {r.period_year for r in rows} == {2014}


def test_a_headline_bound_gives_way_to_the_exact_count_of_the_body():
    # 2016年度中国逾54万人出国留学 44万人来华留学 (China News Service, 2017-03-02)
    body = (
        "记者1日从中国教育部了解到，2016年度中国出国留学（课程）人员总数为54.45万人，各类留学回国人员总数为43.25万人。"
    )
    rows = parse_statistics(body, title="2016年度中国逾54万人出国留学 44万人来华留学", published_year=2017)
    going = [r for r in rows if r.measure == "students_going_abroad" and r.breakdown == "total"]
    assert [(r.value, r.qualifier) for r in going] == [(544500, "exact")]
