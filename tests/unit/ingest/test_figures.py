"""Headline figures pulled out of release text (ingest.figures), Chinese and English."""

from __future__ import annotations

import pytest

from ingest.figures import Figure, extract_figures, parse_cn_numeral, parse_number, split_sentences

# Sentences as MOE published them (2018 statistics on international students and study abroad).
ZH_INBOUND_2018 = (
    "2018年共有来自196个国家和地区的492185名各类外国留学人员在全国31个省（区、市）的1004所高等院校学习，"
    "比2017年增加了3013人，增长比例为0.62%（以上数据均不含港、澳、台地区）。"
)
ZH_OUTBOUND_2018 = "2018年度我国出国留学人员总数为66.21万人，同比增长8.83%。"
ZH_RETURNEES_2018 = "2018年度各类留学回国人员总数为51.94万人，比上一年度增加3.85万人，增长8.00%。"
EN_INBOUND_2018 = (
    "In 2018, a total of 492,185 international students from 196 countries and regions studied in "
    "1,004 higher education institutions in 31 provinces, autonomous regions and municipalities, "
    "an increase of 3,013 students or 0.62 percent over 2017."
)


def figures(text: str, language: str = "zh", published_year: int | None = 2026) -> dict[str, Figure]:
    found = extract_figures(text, language=language, published_year=published_year)
    by_metric = {f.metric: f for f in found}
    assert len(by_metric) == len(found), "a metric was found twice in one test text"
    return by_metric


def values(text: str, language: str = "zh", published_year: int | None = 2026) -> dict[str, float]:
    return {metric: f.value for metric, f in figures(text, language, published_year).items()}


# -- the real sentences -----------------------------------------------------------------------
def test_inbound_sentence_yields_students_countries_and_institutions_for_2018():
    found = figures(ZH_INBOUND_2018)
    assert found["international_students_in_china"] == Figure(
        "international_students_in_china", 492185, "persons", 2018, ZH_INBOUND_2018, "exact"
    )
    assert (found["countries_of_origin"].value, found["countries_of_origin"].unit) == (196, "countries")
    assert (found["host_institutions"].value, found["host_institutions"].unit) == (1004, "institutions")
    assert {f.period_year for f in found.values()} == {2018}


def test_change_over_the_comparison_year_belongs_to_the_student_count_not_to_2017():
    found = figures(ZH_INBOUND_2018)
    assert found["international_students_in_china_increase"].value == 3013
    assert found["international_students_in_china_growth_pct"].value == pytest.approx(0.62)
    assert found["international_students_in_china_growth_pct"].unit == "percent"
    assert found["international_students_in_china_growth_pct"].period_year == 2018


def test_wan_unit_and_year_on_year_growth_of_students_going_abroad():
    assert values(ZH_OUTBOUND_2018) == {
        "students_going_abroad": 662100,
        "students_going_abroad_growth_pct": pytest.approx(8.83),
    }
    assert {f.period_year for f in figures(ZH_OUTBOUND_2018).values()} == {2018}


def test_returnees_with_increase_in_wan_and_growth():
    assert values(ZH_RETURNEES_2018) == {
        "returnees": 519400,
        "returnees_increase": 38500,
        "returnees_growth_pct": pytest.approx(8.0),
    }


def test_english_release_sentence_yields_the_same_figures_as_the_chinese_one():
    english = values(EN_INBOUND_2018, "en")
    chinese = values(ZH_INBOUND_2018, "zh")
    assert english == chinese
    assert {f.period_year for f in figures(EN_INBOUND_2018, "en").values()} == {2018}


def test_more_than_keeps_the_stated_number():
    text = "Back in 2018, more than 492,185 international students from 196 countries and regions studied in China."
    assert values(text, "en") == {"international_students_in_china": 492185, "countries_of_origin": 196}


def test_each_figure_keeps_its_own_sentence_as_provenance():
    text = ZH_OUTBOUND_2018 + "其中，国家公派3.02万人。\n" + ZH_RETURNEES_2018
    found = figures(text)
    assert found["students_going_abroad"].sentence == ZH_OUTBOUND_2018
    assert found["returnees"].sentence == ZH_RETURNEES_2018


def test_english_growth_of_two_subjects_in_one_sentence_goes_to_the_nearest_count_before_it():
    text = (
        "In 2019, the total number of Chinese students studying abroad was 703,500, up 6.25 percent from "
        "the previous year, while 580,300 returned to China after completing their studies, up 11.73 percent."
    )
    assert values(text, "en") == {
        "students_going_abroad": 703500,
        "students_going_abroad_growth_pct": pytest.approx(6.25),
        "returnees": 580300,
        "returnees_growth_pct": pytest.approx(11.73),
    }


# -- numbers ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("numeral", "expected"),
    [
        ("一百二十万", 1_200_000),
        ("三千", 3_000),
        ("两万五千", 25_000),
        ("十二", 12),
        ("一千零五", 1_005),
        ("三亿", 300_000_000),
        ("百", 100),
    ],
)
def test_chinese_numerals(numeral, expected):
    assert parse_cn_numeral(numeral) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("66.21万", 662_100),
        ("1.2亿", 120_000_000),
        ("492,185", 492_185),
        ("１００４", 1_004),
        ("30余", 30),
        ("3万余", 30_000),
        ("48.46 million", 48_460_000),
        ("more than 2,300", 2_300),
        ("两万五千", 25_000),
    ],
)
def test_numbers_as_written_in_releases(written, expected):
    assert parse_number(written) == pytest.approx(expected)


def test_chinese_numerals_and_full_width_digits_inside_sentences():
    assert values("来华留学生总数达到一百二十万人。") == {"international_students_in_china": 1_200_000}
    full_width = "２０１８年共有来自１９６个国家和地区的４９２１８５名各类外国留学人员在华学习。"
    found = figures(full_width)
    assert found["international_students_in_china"].value == 492185
    assert found["international_students_in_china"].period_year == 2018
    assert found["international_students_in_china"].sentence == full_width  # provenance as published


def test_growth_five_point_four_six_percent_and_a_decline():
    assert values("2025年，来华留学人员总数为三万人，同比增长5.46%。") == {
        "international_students_in_china": 30_000,
        "international_students_in_china_growth_pct": pytest.approx(5.46),
    }
    declined = values("出国留学人员总数为两万五千人，同比下降3.2%。")
    assert declined["students_going_abroad_growth_pct"] == pytest.approx(-3.2)


# -- precision: what is not a figure ------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "教外厅函〔2026〕12号",
        "2026年11月20日",
        "京ICP备10028400号　京公网安备11010202000001号",
        "亚洲\t295043\t59.95%",
        "全国31个省（区、市）参加了会议。",
        "同比增长5.46%。",  # a change with nothing it could be the change of
        "来自30多个国家和地区的教育部门官员、国际组织代表和专家学者围绕数字教育展开交流。",
        "高等教育毛入学率提高了3.2个百分点。",
        "教育部办公厅关于做好2027年度国家公派出国留学选派工作的通知",
    ],
)
def test_numbers_that_are_not_headline_figures_are_left_alone(text):
    assert extract_figures(text, language="zh", published_year=2026) == []


@pytest.mark.parametrize(
    "text",
    [
        "Officials and experts from more than 30 countries and regions attended the dialogue.",
        "In 2018 international students were surveyed about their studies.",
        "The 2024 China-ASEAN Education Cooperation Week opened in Guiyang on August 23, 2024.",
        "Document No. 12 [2026] of the General Office was issued on November 20, 2026.",
    ],
)
def test_english_sentences_without_headline_figures_yield_nothing(text):
    assert extract_figures(text, language="en", published_year=2026) == []


# -- years ------------------------------------------------------------------------------------
def test_period_is_the_statistics_year_of_the_title_not_the_publication_year():
    # published 2019-04-12: the scholarship sentence states no year, the title does
    found = extract_figures(
        "五、按经费办法统计：中国政府奖学金生63,041人，占来华生总数的12.81%。",
        title="2018年来华留学统计",
        language="zh",
        published_year=2019,
    )
    assert {f.period_year for f in found} == {2018}


def test_a_sentence_without_a_year_has_no_period_unless_it_states_a_stock_as_of_now():
    found = figures("中国政府奖学金生63041人。", published_year=2019)
    assert found["government_scholarship_students"].period_year is None
    found = figures("目前，全球已有80多个国家将中文纳入国民教育体系。", published_year=2021)
    assert found["countries_teaching_chinese"].period_year == 2021


def test_a_target_year_after_publication_is_not_a_period():
    found = extract_figures(
        "到2025年，中外合作办学机构和项目达到3000个。截至目前，中外合作办学机构和项目共2300余个。",
        language="zh",
        published_year=2020,
    )
    assert [(f.value, f.period_year) for f in found] == [(3000, None), (2300, 2020)]


def test_end_of_a_range_is_the_year_not_its_start():
    found = figures("1978年到2018年底，各类出国留学人员累计达585.71万人。")
    assert found["students_going_abroad_cumulative"].value == 5_857_100
    assert found["students_going_abroad_cumulative"].period_year == 2018
    english = figures("From 1978 to the end of 2019, a total of 6.56 million Chinese had studied abroad.", "en")
    assert english["students_going_abroad_cumulative"].period_year == 2019


def test_since_year_is_a_start_not_the_year_of_the_count():
    text = (
        "Since 2016, when the first Luban Workshop opened in Thailand, China has set up more than 30 "
        "Luban Workshops so far."
    )
    assert figures(text, "en", 2026)["luban_workshops"].period_year == 2026


def test_year_stated_after_the_figure_in_english():
    text = "The gross enrollment ratio in higher education reached 60.8 percent in 2024."
    found = figures(text, "en")
    assert (found["gross_enrolment_ratio_pct"].value, found["gross_enrolment_ratio_pct"].period_year) == (60.8, 2024)


# -- other metrics of the vocabulary -------------------------------------------------------------
def test_other_vocabulary_metrics_in_chinese():
    assert values("截至目前，我国已与近60个国家和地区签署学历学位互认协议。") == {"degree_recognition_countries": 60}
    assert values("目前，全球已有80多个国家将中文纳入国民教育体系。") == {"countries_teaching_chinese": 80}
    assert values("截至目前，我国已在亚洲、非洲、欧洲建成30余个鲁班工坊。") == {"luban_workshops": 30}
    assert values("目前中外合作办学机构和项目共2300余个。") == {"sino_foreign_cooperative_programmes": 2300}
    assert values("2018年，各种形式的高等教育在学总规模达到3833万人，高等教育毛入学率达到48.1%。") == {
        "higher_education_enrolment": 38_330_000,
        "gross_enrolment_ratio_pct": pytest.approx(48.1),
    }
    assert values("按学生类别统计：接受学历教育的外国留学生总计258122人，占来华生总数的52.44%。") == {
        "international_degree_students": 258122,
        "international_degree_students_share_pct": pytest.approx(52.44),
    }


def test_scholarship_students_are_not_also_counted_as_all_international_students():
    text = "In 2018, 63,041 international students were recipients of the Chinese Government Scholarship."
    assert values(text, "en") == {"government_scholarship_students": 63041}


# -- mechanics --------------------------------------------------------------------------------
def test_the_same_statement_in_title_and_body_is_kept_once():
    text = "出国留学人员总数为66.21万人\n" + ZH_OUTBOUND_2018
    found = extract_figures(text, language="zh", published_year=2018)
    assert [f.metric for f in found].count("students_going_abroad") == 1


def test_sentences_split_at_full_stops_but_not_inside_decimals():
    text = "Enrollment reached 48.46 million. The ratio was 60.8 percent.\n出国留学66.21万人。回国51.94万人。"
    assert [s for _, s in split_sentences(text)] == [
        "Enrollment reached 48.46 million.",
        "The ratio was 60.8 percent.",
        "出国留学66.21万人。",
        "回国51.94万人。",
    ]


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="no figure rules"):
        extract_figures("Le nombre d'étudiants internationaux", language="fr", published_year=2026)


# -- the figures a reader picks out (MOE's 2017 and 2018 statistics releases, as published) ---------
ZH_OUTBOUND_2018_RELEASE = (
    "2018年度我国出国留学人员总数为66.21万人。其中，国家公派3.02万人，单位公派3.56万人，自费留学59.63万人。"
    "2018年度各类留学回国人员总数为51.94万人。其中，国家公派2.53万人，单位公派2.65万人，自费留学46.76万人。"
)
ZH_DEGREE_2018 = (
    "四、按学生类别统计：接受学历教育的外国留学生总计258,122 人，占来华生总数的52.44%，"
    "比2017年增加了16,579人，同比增加6.86%；硕士和博士研究生共计85,062人，比2017年增加12.28%，"
    "其中，博士研究生25,618人，硕士研究生59,444人。2018年，非学历生留学生234,063人。"
)
ZH_FUNDING_2018 = (
    "五、按经费办法统计：中国政府奖学金生63,041人，占来华生总数的12.81%；自费生429,144人，占来华生总数的87.19%。"
)
ZH_INBOUND_2017 = (
    "2017年共有48.92万名外国留学生在我国高等院校学习，规模增速连续两年保持在10%以上，"
    "其中学历生24.15万人，占总数的49.38%，同比增幅15.04%。"
)
ZH_SCHOLARSHIP_2017 = (
    "数据显示，2017年共有来自180个国家的5.86万名中国政府奖学金生在华学习，占总数的11.97%。"
    "其中学历生5.16万人，占奖学金生总数的88.02%，硕博研究生合计4.08万人，占奖学金生总数的69.57%，"
    "比2016年增加了20.06%。"
)


def test_funding_split_belongs_to_the_total_the_previous_sentence_names():
    found = figures(ZH_OUTBOUND_2018_RELEASE, published_year=2019)
    assert {metric: f.value for metric, f in found.items()} == {
        "students_going_abroad": 662100,
        "students_going_abroad_state_funded": 30200,
        "students_going_abroad_employer_funded": 35600,
        "students_going_abroad_self_funded": 596300,
        "returnees": 519400,
        "returnees_state_funded": 25300,
        "returnees_employer_funded": 26500,
        "returnees_self_funded": 467600,
    }
    assert {f.period_year for f in found.values()} == {2018}


def test_shares_of_the_whole_are_taken_beside_their_count():
    found = extract_figures(
        ZH_DEGREE_2018 + ZH_FUNDING_2018, title="2018年来华留学统计", language="zh", published_year=2019
    )
    by_metric = {f.metric: (f.value, f.unit) for f in found}
    assert by_metric["international_degree_students"] == (258122, "persons")
    assert by_metric["international_degree_students_share_pct"] == (52.44, "percent")
    assert by_metric["international_non_degree_students"] == (234063, "persons")
    assert by_metric["international_postgraduate_students"] == (85062, "persons")
    assert by_metric["government_scholarship_students_share_pct"] == (12.81, "percent")
    assert by_metric["international_self_funded_students"] == (429144, "persons")
    assert by_metric["international_self_funded_students_share_pct"] == (87.19, "percent")


def test_short_form_degree_students_beside_the_total_and_their_share():
    assert values(ZH_INBOUND_2017, published_year=2018) == {
        "international_students_in_china": 489200,
        "international_degree_students": 241500,
        "international_degree_students_share_pct": pytest.approx(49.38),
    }


def test_a_share_of_a_subgroup_is_not_a_share_of_the_whole():
    found = values(ZH_SCHOLARSHIP_2017, published_year=2018)
    assert found == {
        "government_scholarship_students": 58600,
        "government_scholarship_students_share_pct": pytest.approx(11.97),
    }


@pytest.mark.parametrize(
    ("text", "language", "metric", "qualifier"),
    [
        (
            "据统计，2017年共有来自204个国家和地区的各类外国留学人员在全国31个省、自治区、直辖市的935所高等院校学习，"
            "其中硕士和博士研究生共计约7.58万人，比2016年增加18.62%。",
            "zh",
            "international_postgraduate_students",
            "approximately",
        ),
        ("截至目前，我国已与近60个国家和地区签署学历学位互认协议。", "zh", "degree_recognition_countries", "nearly"),
        ("截至目前，我国已在亚洲、非洲、欧洲建成30余个鲁班工坊。", "zh", "luban_workshops", "more_than"),
        ("目前，全球已有80多个国家将中文纳入国民教育体系。", "zh", "countries_teaching_chinese", "more_than"),
        ("目前中外合作办学机构和项目超过2300个。", "zh", "sino_foreign_cooperative_programmes", "more_than"),
        ("2018年度我国出国留学人员总数为66.21万人。", "zh", "students_going_abroad", "exact"),
        ("China has set up more than 30 Luban Workshops.", "en", "luban_workshops", "more_than"),
        ("Nearly 20 Luban Workshops opened.", "en", "luban_workshops", "nearly"),
        ("At least 20 Luban Workshops opened.", "en", "luban_workshops", "at_least"),
        (
            "About 500,000 international students studied in China in 2019.",
            "en",
            "international_students_in_china",
            "approximately",
        ),
    ],
)
def test_qualifier_says_how_the_number_was_stated(text, language, metric, qualifier):
    found = figures(text, language, 2026)
    assert found[metric].qualifier == qualifier


def test_english_statistics_report_degree_students_their_share_and_the_title_year():
    # MOE's "Statistical report on international students in China for 2018" (en.moe.gov.cn, 2019-04-18)
    text = (
        "4. Number/percent of international students by education level: 258,122 international students "
        "were enrolled in degree programs, accounting for 52.44% of all foreign students, an increase of "
        "16,579 or 6.86% on 2017."
    )
    found = extract_figures(
        text, title="Statistical report on international students in China for 2018", language="en", published_year=2019
    )
    assert [(f.metric, f.value, f.period_year) for f in found] == [
        ("international_degree_students", 258122, 2018),
        ("international_degree_students_share_pct", 52.44, 2018),
    ]


def test_changes_after_the_subject_name_without_its_count():
    # 2018年度我国出国留学人员情况统计 (MOE, 2019-03-27), second paragraph
    text = (
        "2018年度与2017年度的统计数据相比较，出国留学人数增加5.37万人，增长8.83%；"
        "留学回国人数增加3.85万人，增长了8.00%。"
    )
    assert values(text, published_year=2019) == {
        "students_going_abroad_increase": 53700,
        "students_going_abroad_growth_pct": pytest.approx(8.83),
        "returnees_increase": 38500,
        "returnees_growth_pct": pytest.approx(8.0),
    }


# MOE's 2015 and 2016 statistics as Xinhua and China News Service reported them (2016-04-14, 2017-03-02)
def test_a_scale_that_broke_through_a_number_is_more_than_it():
    text = "另据介绍，2016年来华留学生规模突破44万，比2015年增加4.5万人。"
    found = figures(text, published_year=2017)
    assert (found["international_students_in_china"].value, found["international_students_in_china"].qualifier) == (
        440000,
        "more_than",
    )


def test_degree_students_in_china_but_not_those_among_scholarship_holders():
    assert values("2016年在华学历生人数达21万人，同比增加13.62%。", published_year=2017) == {
        "international_degree_students": 210000,
        "international_degree_students_growth_pct": pytest.approx(13.62),
    }
    assert values("来华留学奖学金生中，学历生5.16万人。", published_year=2018) == {}


def test_scholarship_holders_counted_before_the_scholarship_and_their_share():
    text = (
        "此外，统计显示，2015年有来自182个国家的40600人享受中国政府奖学金在华学习，占来华生总数的10.21%，"
        "比2014年的36943人增加3657人，增幅为9.9%。"
    )
    found = values(text, published_year=2016)
    assert found["government_scholarship_students"] == 40600
    assert found["government_scholarship_students_share_pct"] == pytest.approx(10.21)


def test_outbound_course_students_and_a_total_that_also_reached():
    text = (
        "记者1日从中国教育部了解到，2016年度中国出国留学（课程）人员总数为54.45万人，"
        "各类留学回国人员总数为43.25万人，与此同时，来华留学人员总数也达到44万人。"
    )
    assert values(text, published_year=2017) == {
        "students_going_abroad": 544500,
        "returnees": 432500,
        "international_students_in_china": 440000,
    }


# MOE's 2017 studying-abroad statistics as published on 2018-03-30
ZH_OUTBOUND_2017 = (
    "2017年，我国出国留学人数首次突破60万大关，达60.84万人，同比增长11.74%，持续保持世界最大留学生生源国地位。"
    "同年留学人员回国人数较上一年增长11.19%，达到48.09万人，其中获得硕博研究生学历及博士后出站人员达到22.74万，"
    "同比增长14.90%。"
)


def test_the_count_after_a_milestone_and_a_growth_stated_before_the_count_not_the_subgroups():
    found = figures(ZH_OUTBOUND_2017, published_year=2018)
    assert {metric: f.value for metric, f in found.items()} == {
        "students_going_abroad": 608400,
        "students_going_abroad_growth_pct": pytest.approx(11.74),
        "returnees": 480900,
        "returnees_growth_pct": pytest.approx(11.19),
    }
    assert {f.period_year for f in found.values()} == {2017}


def test_self_funded_part_of_the_students_going_abroad_named_without_their_count():
    text = "2017年出国留学人员中，自费留学共54.13万人，占出国留学总人数的88.97%。"
    assert values(text, published_year=2018) == {
        "students_going_abroad_self_funded": 541300,
        "students_going_abroad_self_funded_share_pct": pytest.approx(88.97),
    }


def test_a_count_over_a_span_of_years_is_no_years_statistic():
    # MOE, 2020-12-22: a four-year sum, not the students who went abroad in 2019
    text = "2016至2019年，我国出国留学人数251.8万人，回国201.3万人，学成回国占比达八成。"
    assert values(text, published_year=2020) == {}
    found = figures("从1978年到2018年底，各类出国留学人员累计达585.71万人。", published_year=2019)
    assert found["students_going_abroad_cumulative"].period_year == 2018


def test_returnees_since_1978_are_no_years_returnees():
    # gov_en, 2019-06-16: a cumulative count, which the annual returnees metric must not take
    text = (
        "BEIJING — A total of more than 3.65 million Chinese returned to China to pursue their careers after "
        "finishing their studies overseas from the beginning of China’s reform and opening-up in 1978 to the "
        "end of 2018, data showed."
    )
    assert values(text, "en", 2019) == {}
