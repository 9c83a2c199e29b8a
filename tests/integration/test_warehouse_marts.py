"""Every mart from every kind of source, built incrementally and by full refresh: same result.

One raw catalog holds rows of every source kind (the four release sources with figures, UIS API /
export / bulk, World Bank API / bulk, OWID, OECD flows). It is transformed, published, grown by a
second ingest (a new release, a changed release with new figures, new observations and flows) and
transformed again incrementally; a copy of that home is then rebuilt with a full refresh. The marts
must be identical, and the scorecard and country-exchange values must follow from the rows below.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from eduopen.core.paths import Home
from eduopen.warehouse.build import transform
from eduopen.warehouse.dbt import dbt_dir
from ingest.raw_store import RawStore

BEIJING = timezone(timedelta(hours=8))
T0 = datetime(2026, 8, 1, 2, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)

URL_R1 = "http://www.moe.gov.cn/jyb_xwfb/gzdt_gzdt/moe_1485/202205/t20220510_1000001.html"
URL_R2 = "http://en.moe.gov.cn/news/press_releases/202209/t20220901_1000002.html"
URL_R3 = "https://english.www.gov.cn/policies/latestreleases/202210/01/content_WS0001.html"
URL_R4 = "https://news.example.edu/feed/2022/12/01/digital"
URL_R5 = "http://www.moe.gov.cn/s78/A20/moe_863/202211/t20221111_1000005.html"
URL_BULLETIN = "http://www.moe.gov.cn/jyb_sjzl/sjzl_fztjgb/202303/t20230301_1000006.html"
URL_EN_STATS = "http://en.moe.gov.cn/news/press_releases/202304/t20230401_1000007.html"

# Flows into China in 2022 (OECD), by origin; W is the world total and must not count.
INBOUND_2022 = {"LAO": 10000.0, "THA": 5000.0, "PAK": 10000.0, "USA": 15000.0, "IND": 20000.0}
INBOUND_2022_SECOND = {"VNM": 6000.0}
BELT_AND_ROAD_SIGNED = {"LAO", "THA", "PAK", "VNM"}
ASEAN = {"LAO", "THA", "VNM"}
UIS_CHN_TO_USA_2022 = 290086.0
OECD_CHN_TO_USA_2022 = 280000.0
INBOUND_CHN_2022 = 210903.0  # UIS API
OUTBOUND_CHN_2022 = 1052000.0  # only the UIS bulk file has it


def release_id(url: str) -> str:
    return hashlib.md5(url.encode()).hexdigest()


def release(
    url: str,
    sha: str,
    title: str,
    day: datetime,
    body: str,
    *,
    source: str,
    seen: datetime = T0,
    language: str | None = None,
) -> dict:
    return dict(
        source=source,
        url=url,
        content_sha256=sha,
        language=language or ("zh" if source == "moe_zh" else "en"),
        title=title,
        published_at=day,
        body_text=body,
        listing_column=None,
        first_seen_at=seen,
    )


def figure(url: str, sha: str, index: int, metric: str, value: float, year: int | None, source: str) -> dict:
    return dict(
        source=source,
        url=url,
        content_sha256=sha,
        figure_index=index,
        metric=metric,
        value=value,
        unit="persons",
        qualifier="exact",
        period_year=year,
        sentence=f"{metric} {value:.0f} ({year})",
    )


def statistic(url: str, sha: str, index: int, breakdown: str, member: str, value: float) -> dict:
    """A number of MOE's Study-in-China statistics for 2022, as the release parser stores it."""
    return dict(
        source="moe_zh",
        url=url,
        content_sha256=sha,
        row_index=index,
        period_year=2022,
        measure="international_students_in_china",
        breakdown=breakdown,
        member=member,
        value=value,
        unit="persons",
        qualifier="exact",
        sentence=f"{member}{value:.0f}人",
    )


# MOE's by-country statistics for 2022 in the corrected bulletin (the first version lists two)
MOE_TOTAL_2022, MOE_DEGREE_2022 = 255720.0, 130000.0
MOE_BY_COUNTRY_2022 = {"LAO": ("老挝", 10000.0), "THA": ("泰国", 5000.0), "VNM": ("越南", 6000.0)}


def obs(
    source: str,
    indicator: str,
    geo: str,
    year: int,
    value: float | None,
    *,
    magnitude: str | None = None,
    batch: str = "b1",
    loaded: datetime = T0,
) -> dict:
    return dict(
        source=source,
        indicator_id=indicator,
        geo_unit=geo,
        year=year,
        value=value,
        value_raw=None if value is None else str(value),
        magnitude=magnitude,
        qualifier=None,
        data_version="20260507-91260335" if source == "uis" else None,
        batch_sha256=batch,
        loaded_at=loaded,
    )


def flow(
    origin: str, destination: str, year: int, value: float | None, *, batch: str = "o1", loaded: datetime = T0
) -> dict:
    return dict(
        source="oecd",
        indicator_id="ENRL_MOBILE",
        origin=origin,
        destination=destination,
        year=year,
        value=value,
        value_raw=None if value is None else str(value),
        magnitude=None,
        qualifier=None,
        data_version=None,
        batch_sha256=batch,
        loaded_at=loaded,
    )


def noon(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, 0, tzinfo=BEIJING)


def first_ingest(home: Home) -> None:
    with RawStore(home) as store:
        store.insert_rows(
            "release_version",
            [
                release(
                    URL_R1,
                    "r1",
                    "教育部关于推进共建“一带一路”教育行动的通知",
                    noon(2022, 5, 10),
                    "扩大来华留学规模，深化与老挝的合作。",
                    source="moe_zh",
                ),
                release(
                    URL_R2,
                    "r2",
                    "Study in China scholarships announced",
                    noon(2022, 9, 1),
                    "Students from Laos and Thailand will receive the Chinese Government Scholarship.",
                    source="moe_en",
                ),
                release(
                    URL_R3,
                    "r3",
                    "State Council backs Belt and Road education cooperation",
                    noon(2022, 10, 1),
                    "Vocational education with Pakistan.",
                    source="gov_en",
                ),
                release(
                    URL_R4,
                    "r4",
                    "University news",
                    noon(2022, 12, 1),
                    "A digital education platform launched.",
                    source="feeds",
                ),
                release(
                    URL_BULLETIN,
                    "bulletin-v1",
                    "2022年全国教育事业发展统计公报",
                    noon(2023, 3, 1),
                    "共有25万名国际学生在华学习。",
                    source="moe_zh",
                ),
                release(
                    URL_EN_STATS,
                    "en-stats",
                    "International students in China",
                    noon(2023, 4, 1),
                    "255,000 international students studied in China in 2022.",
                    source="moe_en",
                ),
            ],
        )
        store.insert_rows(
            "release_figure",
            [
                figure(URL_BULLETIN, "bulletin-v1", 0, "international_students_in_china", 250000, 2022, "moe_zh"),
                figure(URL_BULLETIN, "bulletin-v1", 1, "students_going_abroad", 600000, 2022, "moe_zh"),
                figure(URL_BULLETIN, "bulletin-v1", 2, "host_institutions", 1004, 2022, "moe_zh"),
                figure(URL_EN_STATS, "en-stats", 0, "international_students_in_china", 255000, 2022, "moe_en"),
            ],
        )
        store.insert_rows(
            "release_statistic",
            [
                statistic(URL_BULLETIN, "bulletin-v1", 0, "total", "总数", 250000),
                statistic(URL_BULLETIN, "bulletin-v1", 1, "degree_level", "学历生", 120000),
                statistic(URL_BULLETIN, "bulletin-v1", 2, "country", "老挝", 9000),
                statistic(URL_BULLETIN, "bulletin-v1", 3, "country", "泰国", 5000),
            ],
        )
        store.insert_rows(
            "observation",
            [
                obs("uis", "26637", "CHN", 2022, INBOUND_CHN_2022),
                obs("uis_export", "26637", "CHN", 2022, 200000, batch="e1"),
                obs("uis_bulk", "OE.5T8.40510", "CHN", 2022, OUTBOUND_CHN_2022, batch="k1"),
                # 2021: the API flags inbound missing; an export's number must not leak in
                obs("uis", "26637", "CHN", 2021, 0, magnitude="NA"),
                obs("uis_export", "26637", "CHN", 2021, 190000, batch="e1"),
                obs("uis", "OE.5T8.40510", "CHN", 2021, 0),
                obs("uis", "26528", "USA", 2022, UIS_CHN_TO_USA_2022),
                obs("uis", "26528", "GBR", 2022, 0, magnitude="NA"),
                obs("uis", "26528", "WB: East Asia & Pacific", 2022, 500000),
                obs("uis", "26637", "WB: East Asia & Pacific", 2022, 999999),
                obs("worldbank", "SE.TER.ENRR", "CHN", 2022, 72.0, batch="w1"),
                obs("worldbank", "SE.TER.ENRR", "EAS", 2022, 55.0, batch="w1"),
                obs("worldbank_bulk", "SE.TER.ENRR", "CHN", 2022, 71.0, batch="w2"),
                obs("owid", "owid:share_of_students_abroad", "CHN", 2022, 2.1, batch="ow"),
                obs("owid", "owid:share_of_students_abroad", "OWID_WRL", 2022, 2.6, batch="ow"),
            ],
        )
        store.insert_rows(
            "flow_observation",
            [
                *(flow(origin, "CHN", 2022, students) for origin, students in INBOUND_2022.items()),
                flow("W", "CHN", 2022, 999999),
                flow("CHN", "USA", 2022, OECD_CHN_TO_USA_2022),
            ],
        )
        store.insert_rows(
            "indicator_definition",
            [
                dict(
                    source="uis",
                    indicator_id="26637",
                    theme="EDUCATION",
                    last_data_update=None,
                    batch_sha256="d1",
                    name="Total inbound internationally mobile students, both sexes (number)",
                ),
                dict(
                    source="worldbank",
                    indicator_id="SE.TER.ENRR",
                    theme=None,
                    last_data_update=None,
                    batch_sha256="d2",
                    name="School enrollment, tertiary (% gross)",
                ),
            ],
        )
        store.insert_rows(
            "geo_unit_definition",
            [
                dict(source="uis", geo_unit="CHN", name="China", geo_unit_type="NATIONAL", batch_sha256="g1"),
                dict(
                    source="uis",
                    geo_unit="WB: East Asia & Pacific",
                    name="East Asia & Pacific",
                    geo_unit_type="REGIONAL",
                    batch_sha256="g1",
                ),
            ],
        )


def second_ingest(home: Home) -> None:
    with RawStore(home) as store:
        store.insert_rows(
            "release_version",
            [
                release(
                    URL_R5, "r5", "中国—东盟教育交流周在泰国举行", noon(2022, 11, 11), "", source="moe_zh", seen=T1
                ),
                # the bulletin is corrected: the new version's figures replace the old ones, and a
                # figure the new text no longer states disappears
                release(
                    URL_BULLETIN,
                    "bulletin-v2",
                    "2022年全国教育事业发展统计公报",
                    noon(2023, 3, 1),
                    "共有25.572万名国际学生在华学习。",
                    source="moe_zh",
                    seen=T1,
                ),
            ],
        )
        store.insert_rows(
            "release_figure",
            [
                figure(URL_BULLETIN, "bulletin-v2", 0, "international_students_in_china", 255720, 2022, "moe_zh"),
                figure(URL_BULLETIN, "bulletin-v2", 1, "students_going_abroad", 662100, 2022, "moe_zh"),
            ],
        )
        store.insert_rows(
            "release_statistic",
            [
                statistic(URL_BULLETIN, "bulletin-v2", 0, "total", "总数", MOE_TOTAL_2022),
                statistic(URL_BULLETIN, "bulletin-v2", 1, "degree_level", "学历生", MOE_DEGREE_2022),
                *(
                    statistic(URL_BULLETIN, "bulletin-v2", 2 + i, "country", member, value)
                    for i, (member, value) in enumerate(MOE_BY_COUNTRY_2022.values())
                ),
            ],
        )
        store.insert_rows(
            "observation",
            [
                obs("uis", "26637", "CHN", 2023, 200892, batch="b2", loaded=T1),
                obs("uis_bulk", "26637", "VNM", 2023, 5000, batch="k2", loaded=T1),
            ],
        )
        store.insert_rows(
            "flow_observation",
            [
                *(
                    flow(origin, "CHN", 2022, students, batch="o2", loaded=T1)
                    for origin, students in INBOUND_2022_SECOND.items()
                ),
            ],
        )


def publish(home: Home) -> None:
    """What the publish step leaves for the next transform to start from."""
    shutil.copy2(home.audit, home.warehouse)


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def mart_tables(path: Path) -> list[str]:
    return [
        name for (name,) in query(path, "select table_name from duckdb_tables() where schema_name = 'marts' order by 1")
    ]


def mart_differences(left: Path, right: Path) -> dict[str, tuple[int, int]]:
    """Rows only in left / only in right (EXCEPT ALL both ways), for every mart that differs."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")
        differences = {}
        for table in mart_tables(left):
            only_left = con.execute(
                f"select count(*) from (from l.marts.{table} except all from r.marts.{table})"
            ).fetchone()[0]
            only_right = con.execute(
                f"select count(*) from (from r.marts.{table} except all from l.marts.{table})"
            ).fetchone()[0]
            if only_left or only_right:
                differences[table] = (only_left, only_right)
        return differences
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("marts")
    home = Home(root / "incremental").ensure()
    first_ingest(home)
    first = transform(home)
    publish(home)
    second_ingest(home)
    second = transform(home)
    compiled = dbt_dir(home) / "target" / "compiled" / "eduopen" / "models" / "marts"
    incremental_sql = {
        name: (compiled / f"{name}.sql").read_text(encoding="utf-8")
        for name in ("fct_release_figure", "fct_mobility_flow", "fct_student_mobility")
    }

    copy = Home(root / "full-refresh")
    shutil.copytree(home.root, copy.root)
    full = transform(copy, full_refresh=True)
    return dict(home=home, copy=copy, first=first, second=second, full=full, incremental_sql=incremental_sql)


def test_second_run_took_the_incremental_path(built: dict) -> None:
    for name, sql in built["incremental_sql"].items():
        assert "not exists" in sql, f"{name} was rebuilt, not merged"


def test_incremental_and_full_refresh_marts_are_identical(built: dict) -> None:
    home, copy = built["home"], built["copy"]

    assert mart_tables(home.audit) == mart_tables(copy.audit)
    assert mart_differences(home.audit, copy.audit) == {}
    assert built["second"]["rows"] == built["full"]["rows"]


def test_second_ingest_reached_every_growing_mart(built: dict) -> None:
    first, second = built["first"]["rows"], built["second"]["rows"]
    assert second["fct_policy_release"] == first["fct_policy_release"] + 1
    assert second["fct_release_figure"] == first["fct_release_figure"] - 1
    assert second["fct_mobility_flow"] == first["fct_mobility_flow"] + 1
    assert second["fct_student_mobility"] == first["fct_student_mobility"] + 2
    print(
        f"dbt build (transform) seconds: first {built['first']['seconds']}, "
        f"incremental {built['second']['seconds']}, full refresh {built['full']['seconds']}"
    )


def test_clean_input_raises_no_advisory_warning(built: dict) -> None:
    # every source listed, every geo unit mapped or regional, every figure metric known
    assert built["second"]["warnings"] == []
    assert built["full"]["warnings"] == []


def test_every_new_mart_exists_with_rows(built: dict) -> None:
    rows = built["second"]["rows"]
    for mart in ("fct_release_figure", "fct_mobility_flow", "mart_opening_up_scorecard", "mart_country_exchange"):
        assert rows[mart] > 0, mart


def test_scorecard_year_combines_statistics_releases_and_moes_own_statistics(built: dict) -> None:
    home = built["home"]
    (row,) = query(
        home.audit,
        """
        select inbound_students, inbound_status, inbound_source, outbound_students, outbound_status,
               outbound_source, bringing_in_ratio, bringing_in_ratio_status, releases_total, releases_by_theme,
               moe_reported_inbound, moe_reported_inbound_all_types, moe_listed_countries,
               inbound_share_asean_listed, inbound_share_belt_and_road_listed
        from marts.mart_opening_up_scorecard where year = 2022""",
    )

    assert row[:8] == (
        INBOUND_CHN_2022,
        "published",
        "uis",
        OUTBOUND_CHN_2022,
        "published",
        "uis_bulk",
        pytest.approx(INBOUND_CHN_2022 / OUTBOUND_CHN_2022),
        "derived",
    )
    assert row[8] == 5  # R1..R5 were published in 2022 (Beijing time), each its own event
    assert row[9] == (
        '{"belt_and_road":2,"china_asean":1,"digital_education":1,"study_in_china":2,"vocational_education":1}'
    )
    # the corrected bulletin's statistics replaced the first version's: degree-seeking beside UIS inbound
    assert row[10:13] == (MOE_DEGREE_2022, MOE_TOTAL_2022, 3)
    listed = sum(value for _, value in MOE_BY_COUNTRY_2022.values())  # all three ASEAN and Belt and Road
    assert row[13] == pytest.approx(listed / MOE_TOTAL_2022)
    assert row[14] == pytest.approx(listed / MOE_TOTAL_2022)


def test_scorecard_keeps_missing_statistics_null(built: dict) -> None:
    rows = query(
        built["home"].audit,
        """
        select year, inbound_students, inbound_source, outbound_students, bringing_in_ratio,
               inbound_share_belt_and_road, moe_reported_inbound
        from marts.mart_opening_up_scorecard where year in (2021, 2023) order by year""",
    )

    # 2021: the API's NA wins over the export's number; a zero outbound gives no ratio
    assert rows == [(2021, None, "uis", 0.0, None, None, None), (2023, 200892.0, "uis", None, None, None, None)]


def test_missing_values_stay_null_in_facts(built: dict) -> None:
    home = built["home"]
    assert query(
        home.audit,
        "select inbound_students, inbound_flags, source from marts.fct_student_mobility where mobility_id = 'CHN-2021'",
    ) == [(None, "NA", "uis")]
    assert query(
        home.audit, "select students, flags, source from marts.fct_mobility_flow where flow_id = 'CHN-GBR-2022'"
    ) == [(None, "NA", "uis")]


def test_flows_prefer_uis_and_leave_aggregates_out(built: dict) -> None:
    home = built["home"]
    assert query(home.audit, "select students, source from marts.fct_mobility_flow where flow_id = 'CHN-USA-2022'") == [
        (UIS_CHN_TO_USA_2022, "uis")
    ]
    codes = {
        code
        for (code,) in query(
            home.audit,
            "select origin_iso3 from marts.fct_mobility_flow union "
            "select destination_iso3 from marts.fct_mobility_flow",
        )
    }
    assert codes == {"CHN", "USA", "GBR", *INBOUND_2022, *INBOUND_2022_SECOND}


def test_regional_units_are_kept_apart_in_the_observation_model(built: dict) -> None:
    rows = query(
        built["home"].audit,
        """
        select geo_unit, source, country_iso3, is_regional, value from staging.int_observations_unified
        where indicator_id in ('SE.TER.ENRR', 'owid:share_of_students_abroad') order by geo_unit, indicator_id""",
    )
    assert rows == [
        ("CHN", "worldbank", "CHN", False, 72.0),
        ("CHN", "owid", "CHN", False, 2.1),
        ("EAS", "worldbank", None, True, 55.0),
        ("OWID_WRL", "owid", None, True, 2.6),
    ]
    in_marts = query(
        built["home"].audit, "select count(*) from marts.dim_country where country_iso3 in ('EAS', 'OWID_WRL', 'W')"
    )
    assert in_marts == [(0,)]


def test_dim_indicator_covers_every_statistics_source(built: dict) -> None:
    rows = query(
        built["home"].audit,
        """
        select indicator_id, source, name from marts.dim_indicator
        where indicator_id in ('26637', 'SE.TER.ENRR', 'owid:share_of_students_abroad', 'ENRL_MOBILE', '26528')
        order by 1""",
    )
    assert rows == [
        ("26528", "uis", None),
        ("26637", "uis", "Total inbound internationally mobile students, both sexes (number)"),
        ("ENRL_MOBILE", "oecd", None),
        ("SE.TER.ENRR", "worldbank", "School enrollment, tertiary (% gross)"),
        ("owid:share_of_students_abroad", "owid", "share_of_students_abroad"),
    ]


def test_country_exchange_counts_students_and_mentions_in_both_languages(built: dict) -> None:
    rows = query(
        built["home"].audit,
        """
        select country_iso3, students_to_china, students_to_china_status, students_from_china,
               releases_mentioning, release_ids_sample
        from marts.mart_country_exchange where year = 2022 order by country_iso3""",
    )
    by_country = {r[0]: r[1:] for r in rows}

    # students coming to China are MOE's by-country statistics (the corrected version), not flows;
    # 老挝 in R1 (Chinese), 'Laos' in R2 (English alias)
    assert by_country["LAO"] == (
        10000.0,
        "published",
        None,
        2,
        ",".join(sorted([release_id(URL_R1), release_id(URL_R2)])),
    )
    # 'Thailand' in R2, 泰国 in R5 (second ingest)
    assert by_country["THA"][0] == 5000.0 and by_country["THA"][3] == 2
    assert by_country["VNM"][:3] == (6000.0, "published", None)
    # Pakistan: mentioned, but MOE lists no number for it; an OECD flow into China is not MOE's count
    assert by_country["PAK"] == (None, None, None, 1, release_id(URL_R3))
    assert by_country["USA"] == (None, None, UIS_CHN_TO_USA_2022, 0, None)
    # a flow flagged missing and no release: nothing to show
    assert "GBR" not in by_country
    assert "CHN" not in by_country


def test_release_figures_point_at_the_shown_version(built: dict) -> None:
    rows = query(
        built["home"].audit,
        """
        select f.metric, f.value, f.content_sha256 = r.content_sha256
        from marts.fct_release_figure f join marts.fct_policy_release r using (release_id)
        where r.url = ? order by f.figure_index""",
        [URL_BULLETIN],
    )
    assert rows == [("international_students_in_china", 255720.0, True), ("students_going_abroad", 662100.0, True)]
