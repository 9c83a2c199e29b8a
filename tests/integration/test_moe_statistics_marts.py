"""MOE's statistics releases, stored the way the release sources store them, built into the marts.

The texts are MOE's own (2018年来华留学统计, 2018年度出国留学人员情况统计, the 2017 statistics as the
news reported them); the URLs and the repost are made up for the test. One small home is built
once for the module, only the models downstream of the release tables.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import duckdb
import pytest

from eduopen.core.paths import Home
from eduopen.warehouse.build import transform
from ingest.raw_store import RawStore
from ingest.sources.html_article import ReleaseRecord
from ingest.sources.releases import figure_rows, statistics_rows
from tests.unit.ingest.test_release_statistics import (
    INBOUND_2017,
    INBOUND_2018,
    INBOUND_2018_TITLE,
    OUTBOUND_2018,
    OUTBOUND_2018_TITLE,
)

BJ = timezone(timedelta(hours=8))
URL_INBOUND_2018 = "http://www.moe.gov.cn/test/t20190412_1.html"
URL_REPOST_2018 = "http://feeds.example.test/2018-inbound.html"
URL_OUTBOUND_2018 = "http://www.moe.gov.cn/test/t20190327_2.html"
URL_INBOUND_2017 = "http://www.moe.gov.cn/test/t20180330_3.html"
SELECT = "+fct_release_figure+ +fct_moe_student_statistic+ +mart_country_exchange +mart_opening_up_scorecard"


@pytest.fixture(scope="module")
def marts(tmp_path_factory: pytest.TempPathFactory):
    home = Home(tmp_path_factory.mktemp("moe-statistics") / "home").ensure()
    records = [
        ReleaseRecord(
            "moe_zh", "zh", URL_INBOUND_2018, INBOUND_2018_TITLE, datetime(2019, 4, 12, 10, tzinfo=BJ), INBOUND_2018
        ),
        # an earlier repost that misquotes Korea: the Ministry's own release must still win
        ReleaseRecord(
            "feeds",
            "zh",
            URL_REPOST_2018,
            INBOUND_2018_TITLE,
            datetime(2019, 4, 11, 10, tzinfo=BJ),
            INBOUND_2018.replace("韩国50,600人", "韩国60,000人"),
        ),
        ReleaseRecord(
            "moe_zh", "zh", URL_OUTBOUND_2018, OUTBOUND_2018_TITLE, datetime(2019, 3, 27, 10, tzinfo=BJ), OUTBOUND_2018
        ),
        ReleaseRecord(
            "moe_zh",
            "zh",
            URL_INBOUND_2017,
            "2017年来华留学生规模持续扩大",
            datetime(2018, 3, 30, 10, tzinfo=BJ),
            INBOUND_2017,
        ),
    ]
    with RawStore(home) as store:
        for index, record in enumerate(records):
            sha = f"{index:064x}"
            store.insert_rows(
                "release_version",
                [
                    record.as_row(
                        content_sha256=sha, listing_column="news", first_seen_at=datetime(2026, 12, 1, tzinfo=UTC)
                    )
                ],
            )
            store.insert_rows("release_figure", figure_rows(record, sha))
            store.insert_rows("release_statistic", statistics_rows(record, sha))
    transform(home, select=SELECT)
    con = duckdb.connect(str(home.audit), read_only=True)
    yield con
    con.close()


def test_students_from_korea_and_thailand_in_2018_as_the_ministry_published_them(marts):
    rows = marts.execute("""
        select country_iso3, students_to_china, students_to_china_status, students_to_china_source,
               students_to_china_url
        from marts.mart_country_exchange where year = 2018 and country_iso3 in ('KOR', 'THA')
        order by country_iso3""").fetchall()
    assert rows == [
        ("KOR", 50600, "published", "moe_zh", URL_INBOUND_2018),
        ("THA", 28608, "published", "moe_zh", URL_INBOUND_2018),
    ]


def test_fifteen_countries_mapped_and_none_unmapped(marts):
    assert marts.execute("""
        select count(*), count(country_iso3), count(*) filter (where is_unmapped_country)
        from marts.fct_moe_student_statistic
        where period_year = 2018 and breakdown = 'country' and unit = 'persons'""").fetchone() == (15, 15, 0)


def test_each_statistic_names_its_release_and_sentence(marts):
    release_url, sentence, stating, values = marts.execute("""
        select url, sentence, releases_stating, values_stated from marts.fct_moe_student_statistic
        where statistic_id = '2018|international_students_in_china|country|韩国|persons'""").fetchone()
    assert release_url == URL_INBOUND_2018
    assert "韩国50,600人" in sentence
    assert (stating, values) == (2, 2)


def test_scorecard_sets_moe_degree_students_beside_uis_and_reads_outbound_and_returnees(marts):
    row = marts.execute("""
        select moe_reported_inbound, moe_reported_inbound_status, moe_reported_inbound_all_types,
               moe_reported_outbound, moe_reported_returnees, moe_listed_countries,
               round(inbound_share_asean_listed, 4), inbound_share_asean_listed_status
        from marts.mart_opening_up_scorecard where year = 2018""").fetchone()
    # ASEAN among the listed 15: Thailand, Indonesia, Laos, Viet Nam, Malaysia = 79,081 of 492,185
    assert row == (258122, "published", 492185, 662100, 519400, 15, round(79081 / 492185, 4), "derived")


def test_belt_and_road_share_as_moe_states_it(marts):
    assert marts.execute("""
        select inbound_share_belt_and_road, inbound_share_belt_and_road_status
        from marts.mart_opening_up_scorecard where year = 2017""").fetchone() == (0.6485, "published")


def test_release_counts_before_the_first_collected_year_are_null_not_zero(marts):
    rows = dict(
        marts.execute("""
        select year, releases_total from marts.mart_opening_up_scorecard
        where year < releases_coverage_start_year""").fetchall()
    )
    assert rows == {2017: None}


def test_figures_carry_qualifier_and_statistics_year(marts):
    rows = marts.execute(
        """
        select f.metric, f.value, f.qualifier, f.period_year
        from marts.fct_release_figure f join marts.fct_policy_release r using (release_id)
        where r.url = ? and f.metric like 'students_going_abroad%' order by f.figure_index""",
        [URL_OUTBOUND_2018],
    ).fetchall()
    assert rows[:4] == [
        ("students_going_abroad", 662100, "exact", 2018),
        ("students_going_abroad_state_funded", 30200, "exact", 2018),
        ("students_going_abroad_employer_funded", 35600, "exact", 2018),
        ("students_going_abroad_self_funded", 596300, "exact", 2018),
    ]
