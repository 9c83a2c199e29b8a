"""The dbt project built for real by `eduopen.warehouse.build.transform` on a small raw catalog.

One home is built once per module (dbt runs take seconds); tests read its marts. The incremental
tests simulate a publish (copy audit -> warehouse), ingest more, and compare an incremental run
with a full refresh.
"""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from eduopen.core.errors import ExitCode
from eduopen.core.paths import Home
from eduopen.warehouse.build import run_unit_tests, transform
from eduopen.warehouse.dbt import TransformError, dbt_dir
from ingest.raw_store import RawStore

BEIJING = timezone(timedelta(hours=8))
T0 = datetime(2026, 8, 1, 2, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)
T2 = T0 + timedelta(days=2)

URL_A = "http://www.moe.gov.cn/jyb_xwfb/gzdt_gzdt/moe_1485/202607/t20260719_1444325.html"
URL_REPOST_FIRST = "http://www.moe.gov.cn/s78/A20/moe_863/202608/t20260820_1450001.html"
URL_REPOST_LATER = "http://www.moe.gov.cn/jyb_xwfb/gzdt_gzdt/moe_1485/202608/t20260820_1450002.html"
URL_D1 = "http://www.moe.gov.cn/jyb_xwfb/s5147/202607/t20260701_1440001.html"
URL_D2 = "http://www.moe.gov.cn/jyb_xwfb/s5147/202607/t20260701_1440002.html"
URL_EN = "http://en.moe.gov.cn/news/press_releases/202408/t20240823_1146878.html"
TITLE_A = "教育部关于印发《推进共建“一带一路”教育行动》的通知"
TITLE_REPOST = "2026年中国—东盟教育交流周在贵阳开幕"
REGION = "SDG: Eastern and South-Eastern Asia"


def release(
    url: str,
    sha: str,
    title: str,
    published_at: datetime,
    seen: datetime,
    *,
    body: str = "",
    column: str = "work_news",
    source: str = "moe_zh",
    language: str = "zh",
) -> dict:
    return dict(
        source=source,
        url=url,
        content_sha256=sha,
        language=language,
        title=title,
        published_at=published_at,
        body_text=body,
        listing_column=column,
        first_seen_at=seen,
    )


def observation(
    indicator: str,
    geo: str,
    year: int,
    value: float | None,
    *,
    magnitude: str | None = None,
    qualifier: str | None = None,
    batch: str = "batch1",
    loaded: datetime = T0,
) -> dict:
    return dict(
        source="uis",
        indicator_id=indicator,
        geo_unit=geo,
        year=year,
        value=value,
        value_raw=None if value is None else str(value),
        magnitude=magnitude,
        qualifier=qualifier,
        data_version="20260507-91260335",
        batch_sha256=batch,
        loaded_at=loaded,
    )


def first_ingest(home: Home) -> None:
    # 00:30 Beijing time is still the previous day in UTC: published_date must say the 19th.
    published_a = datetime(2026, 7, 19, 0, 30, tzinfo=BEIJING)
    with RawStore(home) as store:
        store.insert_rows(
            "release_version",
            [
                release(URL_A, "a-v1", TITLE_A, published_a, T0, body="推动来华留学提质增效。"),
                release(URL_A, "a-v2", TITLE_A, published_a, T1, body="推动来华留学提质增效，深化中外合作办学。"),
                release(
                    URL_REPOST_FIRST,
                    "r1",
                    TITLE_REPOST,
                    datetime(2026, 8, 20, 9, 0, tzinfo=BEIJING),
                    T0,
                    column="international_cooperation",
                    body="中国—东盟职业教育合作。",
                ),
                release(
                    URL_REPOST_LATER,
                    "r2",
                    TITLE_REPOST,
                    datetime(2026, 8, 20, 9, 0, tzinfo=BEIJING),
                    T0 + timedelta(minutes=5),
                    column="work_news",
                    body="中国—东盟职业教育合作。",
                ),
                release(URL_D1, "d1", "关于做好2026年出国留学工作的通知", datetime(2026, 7, 1, tzinfo=BEIJING), T0),
                release(
                    URL_D2, "d2", "关于做好2026年国家公派留学选派工作的通知", datetime(2026, 7, 1, tzinfo=BEIJING), T0
                ),
                release(
                    URL_EN,
                    "en1",
                    "2024 China-ASEAN Education Cooperation Week opened in Guiyang",
                    datetime(2024, 8, 23, tzinfo=BEIJING),
                    T0,
                    source="moe_en",
                    language="en",
                    column="press_releases",
                    body="Officials from UNESCO and Confucius Institutes attended.",
                ),
            ],
        )
        store.insert_rows(
            "observation",
            [
                observation("26637", "CHN", 2022, 210903),
                observation("26637", "CHN", 2023, 200892),
                observation("26637", "USA", 2022, 948519),
                observation("OE.5T8.40510", "CHN", 2022, 1052000, qualifier="UIS_EST"),
                observation("MSEP.5T8", "CHN", 2022, 0.4),
                # UIS ships a 0 with NA / NIL: it must not become "zero students".
                observation("26637", "AIA", 2001, 0, magnitude="NA"),
                observation("26637", "AFG", 2009, 0, magnitude="NIL"),
                observation("26637", REGION, 2022, 999999),
                observation("26637", "ABW", 2006, 169),
                # a source no dbt var lists: loaded by someone, read by no model
                {**observation("EDU_ENRL", "DEU", 2022, 1.0), "source": "eurostat"},
            ],
        )
        store.insert_rows(
            "geo_unit_definition",
            [
                dict(source="uis", geo_unit=geo, name=name, geo_unit_type=kind, batch_sha256="g1")
                for geo, name, kind in [
                    ("CHN", "China", "NATIONAL"),
                    ("USA", "United States of America", "NATIONAL"),
                    ("AIA", "Anguilla", "NATIONAL"),
                    ("AFG", "Afghanistan", "NATIONAL"),
                    ("ABW", "Aruba", "NATIONAL"),
                    (REGION, "Eastern and South-Eastern Asia", "REGIONAL"),
                ]
            ],
        )
        store.insert_rows(
            "indicator_definition",
            [
                dict(
                    source="uis",
                    indicator_id="26637",
                    name="Total inbound internationally mobile students, both sexes (number)",
                    theme="EDUCATION",
                    batch_sha256="i1",
                ),
            ],
        )


def second_ingest(home: Home) -> None:
    with RawStore(home) as store:
        store.insert_rows(
            "release_version",
            [
                release(
                    URL_A,
                    "a-v3",
                    TITLE_A,
                    datetime(2026, 7, 19, 0, 30, tzinfo=BEIJING),
                    T2,
                    body="推动来华留学提质增效，深化中外合作办学，建设鲁班工坊。",
                ),
                # D2 is re-edited into a copy of D1: it becomes a repost and must leave the mart.
                release(URL_D2, "d2-v2", "关于做好2026年出国留学工作的通知", datetime(2026, 7, 1, tzinfo=BEIJING), T2),
            ],
        )
        store.insert_rows(
            "observation",
            [
                observation("26637", "CHN", 2022, 211000, batch="batch2", loaded=T2),
                observation("26637", "CHN", 2024, 205000, batch="batch2", loaded=T2),
            ],
        )


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def built_snapshot(path: Path) -> dict[str, list[tuple]]:
    """The marts, and the staging and intermediate tables incremental runs keep between runs.

    Without `inputs_loaded_through`: it says when a row was computed, which differs by design
    between a row kept from an earlier run and the same row rebuilt.
    """
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables: dict[str, list[str]] = {}
        for table, column in con.execute(
            "select schema_name || '.' || table_name, column_name from duckdb_columns() "
            "where schema_name in ('marts', 'staging') and column_name <> 'inputs_loaded_through' "
            "order by 1, column_index"
        ).fetchall():
            tables.setdefault(table, []).append(f'"{column}"')
        return {
            table: con.execute(f"select {', '.join(columns)} from {table} order by all").fetchall()
            for table, columns in tables.items()
        }
    finally:
        con.close()


def publish(home: Home) -> None:
    """What the publish step does, as far as the next transform can tell."""
    shutil.copy2(home.audit, home.warehouse)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, dict]:
    home = Home(tmp_path_factory.mktemp("dbt-build") / "home").ensure()
    first_ingest(home)
    return home, transform(home)


def test_build_runs_models_and_data_tests(built: tuple[Home, dict]) -> None:
    _, summary = built
    assert summary["models"] >= 12
    assert summary["tests"] > 50
    assert summary["dbt_skipped"] is None
    assert set(summary["rows"]) >= {
        "fct_policy_release",
        "fct_student_mobility",
        "dim_country",
        "dim_indicator",
        "dim_theme",
        "bridge_release_theme",
    }


def test_unit_tests_run_apart_from_the_build_and_pass(built: tuple[Home, dict]) -> None:
    # The build leaves them out (they test the SQL, not the data); `make test` runs every one here.
    home, summary = built
    assert summary["unit_tests"] == 0
    assert run_unit_tests(home) >= 8


def test_source_listed_in_no_var_is_named_as_a_warning(built: tuple[Home, dict]) -> None:
    _, summary = built
    assert [w for w in summary["warnings"] if w.startswith("assert_statistics_sources_are_known")]
    assert "eurostat" not in {
        r[0] for r in query(built[0].audit, "select distinct source from marts.fct_student_mobility")
    }


def test_chinese_title_reaches_the_mart_intact(built: tuple[Home, dict]) -> None:
    home, _ = built
    rows = query(home.audit, "select title, language from marts.fct_policy_release where url = ?", [URL_A])
    assert rows == [(TITLE_A, "zh")]


def test_latest_version_of_a_release_wins_and_versions_are_counted(built: tuple[Home, dict]) -> None:
    home, _ = built
    rows = query(
        home.audit,
        "select content_sha256, version_count, first_seen_at, body_chars from marts.fct_policy_release where url = ?",
        [URL_A],
    )
    assert rows == [("a-v2", 2, T0, len("推动来华留学提质增效，深化中外合作办学。"))]


def test_published_date_is_the_beijing_calendar_day(built: tuple[Home, dict]) -> None:
    home, _ = built
    rows = query(
        home.audit, "select cast(published_date as varchar) from marts.fct_policy_release where url = ?", [URL_A]
    )
    assert rows == [("2026-07-19",)]


def test_repost_in_two_listing_columns_is_one_release_under_the_first_url(built: tuple[Home, dict]) -> None:
    home, _ = built
    rows = query(home.audit, "select url, listing_column from marts.fct_policy_release where title = ?", [TITLE_REPOST])
    assert rows == [(URL_REPOST_FIRST, "international_cooperation")]


def test_missing_uis_values_stay_null_not_zero(built: tuple[Home, dict]) -> None:
    home, _ = built
    rows = query(
        home.audit,
        "select country_iso3, inbound_students, inbound_flags "
        "from marts.fct_student_mobility where country_iso3 in ('AIA', 'AFG') order by 1",
    )
    assert rows == [("AFG", None, "NIL"), ("AIA", None, "NA")]


def test_mobility_measures_pivot_per_country_year(built: tuple[Home, dict]) -> None:
    home, _ = built
    rows = query(
        home.audit,
        "select inbound_students, outbound_students, inbound_mobility_rate, net_flow, "
        "outbound_flags from marts.fct_student_mobility where mobility_id = 'CHN-2022'",
    )
    assert rows == [(210903.0, 1052000.0, 0.4, None, "UIS_EST")]


def test_regional_aggregates_are_not_countries(built: tuple[Home, dict]) -> None:
    home, _ = built
    in_facts = query(home.audit, "select count(*) from marts.fct_student_mobility where country_iso3 = ?", [REGION])
    in_dim = query(home.audit, "select count(*) from marts.dim_country where country_iso3 = ?", [REGION])
    assert in_facts == [(0,)] and in_dim == [(0,)]
    countries = {r[0] for r in query(home.audit, "select distinct country_iso3 from marts.fct_student_mobility")}
    assert countries == {"CHN", "USA", "AIA", "AFG", "ABW"}


def test_dim_country_has_chinese_names_and_uis_only_countries(built: tuple[Home, dict]) -> None:
    home, _ = built
    rows = query(
        home.audit,
        "select country_iso3, name_en, name_zh, is_asean, belt_and_road_status "
        "from marts.dim_country where country_iso3 in ('CHN', 'LAO', 'ITA', 'ABW') order by 1",
    )
    assert rows == [
        ("ABW", "Aruba", None, False, None),
        ("CHN", "China", "中国", False, None),
        ("ITA", "Italy", "意大利", False, "withdrawn"),
        ("LAO", "Lao People's Democratic Republic", "老挝", True, "signed"),
    ]


def test_releases_are_bridged_to_their_themes(built: tuple[Home, dict]) -> None:
    home, _ = built
    rows = query(
        home.audit,
        """
        select r.url, b.theme_id, b.matched_keywords
        from marts.bridge_release_theme b join marts.fct_policy_release r using (release_id)
        where r.url in (?, ?) order by 1, 2""",
        [URL_A, URL_EN],
    )
    assert rows == [
        (URL_EN, "china_asean", "ASEAN; China-ASEAN"),
        (URL_EN, "chinese_language", "Confucius Institute"),
        (URL_EN, "global_governance", "UNESCO"),
        (URL_A, "belt_and_road", "一带一路"),
        (URL_A, "sino_foreign_cooperation", "中外合作办学; 合作办学"),
        (URL_A, "study_in_china", "来华留学"),
    ]


def test_every_relation_still_reads_once_the_file_is_published_under_another_name(
    built: tuple[Home, dict], tmp_path: Path
) -> None:
    # DuckDB names a file's catalog after the file and a view keeps the SQL it was created with, so
    # a view built in audit.duckdb would name "audit" and break once published as warehouse.duckdb
    # or kept under versions/. The project builds tables only; this holds any model that strays.
    home, _ = built
    published = tmp_path / "warehouse.duckdb"
    shutil.copy2(home.audit, published)
    relations = query(
        published,
        "select schema_name, table_name from duckdb_tables() "
        "union all select schema_name, view_name from duckdb_views() where not internal order by 1, 2",
    )
    assert ("marts", "fct_policy_release") in relations and ("staging", "int_releases_deduplicated") in relations
    for schema, name in relations:
        query(published, f'select count(*) from "{schema}"."{name}"')
    assert query(published, "select schema_name, view_name from duckdb_views() where not internal") == []
    rows = query(published, "select count(*) from staging.int_releases_deduplicated")
    assert rows == query(home.audit, "select count(*) from marts.fct_policy_release")


def test_incremental_runs_end_identical_to_a_full_refresh(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    first_ingest(home)
    transform(home)
    publish(home)
    second_ingest(home)

    changed = transform(home)
    assert changed["selection"] and "source:raw.observation+" in changed["selection"]
    compiled = dbt_dir(home) / "target" / "compiled" / "eduopen" / "models"
    assert "not exists" in (compiled / "marts" / "fct_policy_release.sql").read_text(encoding="utf-8"), (
        "the incremental path was not taken"
    )
    assert "loaded_at >" in (compiled / "staging" / "uis" / "stg_uis__observations.sql").read_text(encoding="utf-8"), (
        "staging took every raw row, not only the new ones"
    )
    assert "semi join changed_points" in (compiled / "intermediate" / "int_observations_unified.sql").read_text(
        encoding="utf-8"
    )
    incremental = built_snapshot(home.audit)
    transform(home)
    rerun = built_snapshot(home.audit)
    publish(home)
    nothing_new = transform(home)
    unchanged = built_snapshot(home.audit)
    assert not (dbt_dir(home) / "target" / "run_results.json").exists(), "the last build's results, not this one's"
    transform(home, full_refresh=True)
    full = built_snapshot(home.audit)

    assert incremental == full
    assert rerun == full
    assert nothing_new["dbt_skipped"] and nothing_new["models"] == 0
    assert unchanged == full
    # and the second ingest really changed things
    releases = query(
        home.audit,
        "select url, content_sha256, version_count from marts.fct_policy_release where url in (?, ?, ?) order by 1",
        [URL_A, URL_D1, URL_D2],
    )
    assert releases == [(URL_A, "a-v3", 3), (URL_D1, "d1", 1)]
    inbound = query(
        home.audit,
        "select year, inbound_students from marts.fct_student_mobility "
        "where country_iso3 = 'CHN' and inbound_students is not null order by 1",
    )
    assert inbound == [(2022, 211000.0), (2023, 200892.0), (2024, 205000.0)]


def incremental_and_full(home: Home, change: Callable[[RawStore], None]) -> tuple[dict, dict, dict]:
    """Build and publish the first ingest, `change` the catalog, build incrementally; then publish
    that and rebuild in full. Returns both builds' snapshots and the incremental build's summary."""
    first_ingest(home)
    transform(home)
    publish(home)
    with RawStore(home) as store:
        change(store)
    summary = transform(home)
    incremental = built_snapshot(home.audit)
    publish(home)
    transform(home, full_refresh=True)
    return incremental, built_snapshot(home.audit), summary


def test_a_changed_geo_mapping_remaps_stored_points_without_a_new_load(tmp_path: Path) -> None:
    # UIS re-issues its geo units: Aruba is now a region. No observation is loaded, so only the
    # reference key the statistics models store tells an incremental run its rows are stale.
    def aruba_becomes_a_region(store: RawStore) -> None:
        result = store.con.execute("select * from geo_unit_definition")
        columns = [column[0] for column in result.description]
        definitions = [dict(zip(columns, row, strict=True)) for row in result.fetchall()]
        for row in definitions:
            if row["geo_unit"] == "ABW":
                row["geo_unit_type"] = "REGIONAL"
        store.replace_source_rows("geo_unit_definition", "uis", definitions)

    home = Home(tmp_path / "home").ensure()
    remapped, full, summary = incremental_and_full(home, aruba_becomes_a_region)

    assert remapped == full
    # only what the one changed raw table feeds was built
    assert summary["selection"] == "source:raw.geo_unit_definition+"
    assert summary["models"] > 0 and summary["seeds"] == 0
    assert query(
        home.audit, "select country_iso3, is_regional from staging.int_observations_unified where geo_unit = 'ABW'"
    ) == [(None, True)]


def test_failing_data_test_raises_transform_error_naming_it(home: Home) -> None:
    with RawStore(home) as store:
        store.insert_rows(
            "release_version",
            [
                release("http://example.org/fr.html", "fr1", "Communiqué", T0, T0, language="fr"),
            ],
        )

    with pytest.raises(TransformError) as raised:
        transform(home, select="stg_raw__release_versions")

    assert any(
        re.search(r"accepted_values_stg_raw__release_versions_language", node) for node in raised.value.failed_nodes
    )
    assert "accepted_values_stg_raw__release_versions_language" in str(raised.value)
    assert raised.value.exit_code == ExitCode.TRANSFORM_FAILED  # what `eduopen transform` exits with


def test_a_row_stamped_before_the_last_build_is_not_missed(tmp_path: Path) -> None:
    # The incremental statistics models read only rows loaded after the newest they hold. A row
    # stamped earlier (a clock set back, a catalog merged by hand) breaks that premise; the audit
    # copy notices and has them rebuilt from every row.
    def late_row(store: RawStore) -> None:
        store.insert_rows(
            "observation", [observation("26637", "KOR", 2022, 181000, batch="late", loaded=T0 - timedelta(days=1))]
        )

    home = Home(tmp_path / "home").ensure()
    late, full, summary = incremental_and_full(home, late_row)

    assert late == full
    assert summary["selection"] is None  # the tables dropped from the audit copy: a complete build
    assert query(home.audit, "select value from staging.int_observations_unified where geo_key = 'KOR'") == [
        (181000.0,)
    ]


def test_a_duplicate_point_kept_by_an_incremental_table_fails_the_build(tmp_path: Path) -> None:
    # An incremental table keeps its rows between runs: a duplicate left in it (by a bug, or a hand
    # edit of the published file) must stop the next build, not be carried along.
    home = Home(tmp_path / "home").ensure()
    first_ingest(home)
    transform(home, select="stg_uis__observations")
    publish(home)
    con = duckdb.connect(str(home.warehouse))
    try:
        con.execute(
            "insert into staging.stg_uis__observations "
            "select * from staging.stg_uis__observations where geo_unit = 'CHN' limit 1"
        )
    finally:
        con.close()

    with pytest.raises(TransformError) as raised:
        transform(home, select="stg_uis__observations")

    assert any(node.startswith("unique_combination_stg_uis__observations") for node in raised.value.failed_nodes)


def test_real_uis_export_builds_with_every_data_test_passing(home: Home, shared_data: Path) -> None:
    with (shared_data / "uis-export" / "inbound_intl.csv").open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    with RawStore(home) as store:
        store.insert_rows(
            "observation",
            [
                observation(
                    r["indicatorId"],
                    r["geoUnit"],
                    int(r["year"]),
                    float(r["value"]) if r["value"] else None,
                    magnitude=r["magnitude"] or None,
                    qualifier=r["qualifier"] or None,
                )
                for r in records
            ],
        )

    summary = transform(home, select="+fct_student_mobility +dim_country")

    national = [r for r in records if re.fullmatch(r"[A-Z]{3}", r["geoUnit"])]
    assert summary["rows"]["fct_student_mobility"] == len({(r["geoUnit"], r["year"]) for r in national})
    flagged = [r for r in national if r["magnitude"] in {"NA", "NIL"}]
    assert flagged, "the export is expected to carry NA/NIL rows"
    nulls = query(
        home.audit,
        "select count(*) from marts.fct_student_mobility "
        "where inbound_students is null and inbound_flags in ('NA', 'NIL')",
    )
    assert nulls == [(len(flagged),)]
    china_2023 = next(r for r in records if r["geoUnit"] == "CHN" and r["year"] == "2023")
    assert query(
        home.audit, "select inbound_students from marts.fct_student_mobility where mobility_id = 'CHN-2023'"
    ) == [(float(china_2023["value"]),)]
