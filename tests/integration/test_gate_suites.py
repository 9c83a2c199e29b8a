"""The gate's suites cover every mart, match the dbt contracts, and stop defects in the new marts.

The audit warehouse is dbt's build of a small synthetic raw catalog (`tests.support.synthetic_warehouse`),
built once per session and copied for each test. Each validation costs a few seconds of GX, so
defects that need not be proven one by one are injected together and must all be named in one run.

Most defects are written into the built marts: they break what dbt's models or data tests guarantee
(a mart derived from another disagreeing with it, a duplicate key, a negative count dbt tests for,
a self-flow the flow model filters out, a theme from the seeds), so no raw input can bring them to
the gate through dbt. A defect dbt builds without complaint is put into the raw catalog and built.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from eduopen.core.errors import PublishError, ValidationFailed
from eduopen.core.paths import Home
from expectations.contracts import mart_contracts
from tests.support.synthetic_warehouse import build_home, clean_build, copy_home, rebuild, table_rows

pytestmark = pytest.mark.timeout(600)

RAW_FEEDING_MARTS = {"raw.release_version", "raw.release_figure", "raw.observation", "raw.flow_observation"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sql(path: Path, statement: str) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute(statement)
    finally:
        con.close()


def record(home: Home) -> dict:
    return json.loads((home.state / "validation.json").read_text())


def labels(outcome: dict, key: str = "failed") -> set[str]:
    return {f"{f['suite']}: {f['check']}({f['column'] or ''})" for f in outcome[key]}


@pytest.fixture(scope="module")
def gate():
    from expectations.validate import validate

    return validate


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, gate) -> tuple[Home, dict, dict]:
    """A home whose clean synthetic build passed the gate and was published: (home, summary, rows)."""
    from eduopen.publish import publish

    home = copy_home(clean_build(tmp_path_factory), tmp_path_factory.mktemp("suites") / "home")
    rows = table_rows(home.audit)
    summary = gate(home)
    publish(home)
    return home, summary, rows


# -- the suite files against the dbt project ----------------------------------------------------
def _suites() -> dict:
    from expectations.loader import load_suite_specs

    return {spec.table: spec for spec in load_suite_specs()}


def test_every_dbt_mart_has_a_required_suite() -> None:
    suites = _suites()
    missing = [m for m in mart_contracts() if f"marts.{m}" not in suites]
    assert not missing, f"marts without an expectation suite: {missing}"
    assert all(suites[f"marts.{m}"].required for m in mart_contracts())
    assert {
        "fct_release_figure",
        "fct_mobility_flow",
        "mart_opening_up_scorecard",
        "mart_country_exchange",
        "dim_theme",
        "bridge_release_theme",
    } <= set(mart_contracts())


@pytest.mark.parametrize("mart", sorted(mart_contracts()))
def test_suite_columns_equal_the_dbt_contract_columns(mart: str) -> None:
    spec = _suites()[f"marts.{mart}"]
    schema = [e for e in spec.expectations if e.type == "expect_table_columns_to_match_set"]
    assert len(schema) == 1, f"{spec.name} needs exactly one expect_table_columns_to_match_set"
    assert schema[0].kwargs.get("exact_match") is True
    contract = [name for name, _ in mart_contracts()[mart]]
    assert len(set(contract)) == len(contract)
    assert sorted(schema[0].kwargs["column_set"]) == sorted(contract)


def test_raw_tables_feeding_the_marts_have_suites() -> None:
    assert RAW_FEEDING_MARTS <= set(_suites())


# -- a clean build --------------------------------------------------------------------------------
def test_clean_build_passes_every_suite_and_is_published(published) -> None:
    home, summary, rows = published
    assert summary["success"] is True and summary["failed"] == [] and summary["warnings"] == []
    assert set(summary["suites"]) == set(_suites())
    for name, info in summary["suites"].items():
        assert info["present"] and info["success"], name
        assert info["rows"] == rows[name], name
    # Nothing published before: every expectation of every suite ran, no row-count checks yet.
    expectations = sum(len(spec.expectations) for spec in _suites().values())
    assert summary["statistics"]["evaluated_expectations"] == expectations
    assert sha256(home.warehouse) == summary["audit_sha256"]
    # A gate that passed leaves its Data Docs to the docs step after publish.
    assert not (home.docs / "gx" / "index.html").exists()


# -- defects of the new marts block publish --------------------------------------------------------
NON_CHINA_FLOW = (
    "(select min(flow_id) from marts.fct_mobility_flow "
    "where origin_iso3 <> 'CHN' and destination_iso3 <> 'CHN' and students is not null)"
)
CHINA_INBOUND_YEAR = (
    "(select max(year) from marts.fct_student_mobility where country_iso3 = 'CHN' and inbound_students is not null)"
)

BLOCKING = {
    "negative_flow_students": (
        f"update marts.fct_mobility_flow set students = -1 where flow_id = {NON_CHINA_FLOW}",
        "marts.fct_mobility_flow: expect_column_values_to_be_between(students)",
    ),
    # distribution: inbound and outbound swapped in every year moves the median far above 1
    "scorecard_ratio_inverted": (
        "update marts.mart_opening_up_scorecard set bringing_in_ratio = 1 / bringing_in_ratio "
        "where bringing_in_ratio > 0",
        "marts.mart_opening_up_scorecard: bringing_in_ratio_median()",
    ),
    # change over time: one country's inbound students twenty times the year before
    "inbound_twentyfold_in_a_year": (
        "update marts.fct_student_mobility set inbound_students = inbound_students * 20 where mobility_id = "
        "(select min(cur.mobility_id) from marts.fct_student_mobility cur join marts.fct_student_mobility prev "
        "on prev.country_iso3 = cur.country_iso3 and prev.year = cur.year - 1 "
        "where cur.country_iso3 <> 'CHN' and prev.inbound_students >= 100 and cur.inbound_students > 0)",
        "marts.fct_student_mobility: inbound_not_tenfold_year_on_year()",
    ),
    "scorecard_disagrees_with_student_mobility": (
        "update marts.fct_student_mobility set inbound_students = inbound_students + 1 "
        f"where country_iso3 = 'CHN' and year = {CHINA_INBOUND_YEAR}",
        "marts.mart_opening_up_scorecard: students_match_fct_student_mobility()",
    ),
}


@pytest.mark.parametrize("name", list(BLOCKING))
def test_defect_in_a_new_mart_blocks_publish_and_leaves_the_warehouse_untouched(
    name: str, published, gate, tmp_path: Path
) -> None:
    from eduopen.publish import publish

    statement, label = BLOCKING[name]
    home = copy_home(published[0], tmp_path / "home")
    before = sha256(home.warehouse)
    sql(home.audit, statement)
    with pytest.raises(ValidationFailed) as failure:
        gate(home)
    assert label in str(failure.value)
    assert label in labels(record(home))
    with pytest.raises(PublishError, match="last validation failed"):
        publish(home)
    assert sha256(home.warehouse) == before


# Each names the failure it must cause; all are injected into one build. None touches a row the
# others read (flows away from China, distinct years and figures), so each failure is its own.
FURTHER = {
    "unknown theme in releases_by_theme": (
        "update marts.mart_opening_up_scorecard set releases_by_theme = '{\"no_such_theme\":1}' "
        "where year = (select min(year) from marts.mart_opening_up_scorecard where releases_total > 0)",
        {"marts.mart_opening_up_scorecard: releases_by_theme_counts_known_themes()"},
    ),
    "releases_by_theme not JSON": (
        "update marts.mart_opening_up_scorecard set releases_by_theme = 'belt_and_road:2' "
        "where year = (select max(year) from marts.mart_opening_up_scorecard where releases_total > 0)",
        {
            "marts.mart_opening_up_scorecard: expect_column_values_to_match_regex(releases_by_theme)",
            "marts.mart_opening_up_scorecard: releases_by_theme_counts_known_themes()",
        },
    ),
    # dbt divides two counts; a NaN count in raw data would fail fct_student_mobility's checks too
    "NaN ratio": (
        "update marts.mart_opening_up_scorecard set bringing_in_ratio = 'nan'::double "
        "where year = (select min(year) from marts.mart_opening_up_scorecard "
        "where bringing_in_ratio is not null)",
        {"marts.mart_opening_up_scorecard: expect_column_values_to_be_between(bringing_in_ratio)"},
    ),
    "release count off": (
        "update marts.mart_opening_up_scorecard set releases_total = releases_total + 3 "
        "where year = (select max(year) from marts.mart_opening_up_scorecard)",
        {"marts.mart_opening_up_scorecard: releases_total_matches_fct_policy_release()"},
    ),
    "exchange disagrees with MOE's statistics": (
        "update marts.mart_country_exchange set students_to_china = students_to_china * 2 "
        "where exchange_id = (select min(exchange_id) from marts.mart_country_exchange "
        "where students_to_china > 0)",
        {"marts.mart_country_exchange: students_match_their_sources()"},
    ),
    "flow to itself": (
        "update marts.fct_mobility_flow set destination_iso3 = origin_iso3 where flow_id = "
        "(select max(flow_id) from marts.fct_mobility_flow "
        "where origin_iso3 <> 'CHN' and destination_iso3 <> 'CHN')",
        {
            "marts.fct_mobility_flow: no_flow_to_itself()",
            "marts.fct_mobility_flow: flow_id_is_origin_destination_year()",
        },
    ),
    "figure of another version": (
        "update marts.fct_release_figure set content_sha256 = sha256('another version') "
        "where figure_id = (select max(figure_id) from marts.fct_release_figure)",
        {"marts.fct_release_figure: figures_of_the_shown_version()"},
    ),
    "theme without keywords": (
        "update marts.dim_theme set keyword_count = 0 where theme_id = 'going_global'",
        {"marts.dim_theme: expect_column_values_to_be_between(keyword_count)"},
    ),
    "country in more events than the year had": (
        "update marts.mart_country_exchange set events_mentioning = 100000 "
        "where exchange_id = (select max(exchange_id) from marts.mart_country_exchange where events_mentioning > 0)",
        {"marts.mart_country_exchange: events_within_scorecard_releases()"},
    ),
    # warns, does not block: dim_theme's rows four times those published
    "theme rows quadrupled": (
        "insert into marts.dim_theme select * from marts.dim_theme union all select * from marts.dim_theme "
        "union all select * from marts.dim_theme",
        set(),
    ),
    "negative raw flow": (
        "update raw.flow_observation set value = -3 where origin = 'KOR' and value is not null",
        {"raw.flow_observation: expect_column_values_to_be_between(value)"},
    ),
    "raw figure without its version": (
        "update raw.release_figure set content_sha256 = sha256('gone') "
        "where url = (select min(url) from raw.release_figure)",
        {"raw.release_figure: figures_of_a_stored_version()"},
    ),
}


# Defects of the raw catalog that dbt builds into the marts without a failing test.
FURTHER_RAW = {
    # the figure stated by the last URL's shown version (any version: each has its figures)
    "negative count figure": (
        "update release_figure set value = -5 where figure_index = 0 and url = (select max(url) from release_figure)",
        {"marts.fct_release_figure: counts_not_negative()"},
    ),
}


@pytest.fixture(scope="module")
def corrupted(published, tmp_path_factory: pytest.TempPathFactory) -> Home:
    """An unvalidated copy of the published home, rebuilt by dbt from its catalog with every
    FURTHER_RAW defect, then given every FURTHER defect."""
    home = copy_home(published[0], tmp_path_factory.mktemp("corrupted") / "home")
    for statement, _ in FURTHER_RAW.values():
        sql(home.catalog, statement)
    rebuild(home)
    for statement, _ in FURTHER.values():
        sql(home.audit, statement)
    return home


@pytest.fixture(scope="module")
def corrupted_whole(corrupted: Home, gate, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The gate's record on the corrupted build, every table validated whole by GX."""
    home = copy_home(corrupted, tmp_path_factory.mktemp("whole") / "home")
    with pytest.raises(ValidationFailed):
        gate(home)
    return record(home)


def test_each_further_defect_is_named_by_its_check(corrupted_whole: dict) -> None:
    expected = set().union(*(names for _, names in (*FURTHER.values(), *FURTHER_RAW.values())))
    assert labels(corrupted_whole) == expected
    assert labels(corrupted_whole, "warnings") == {"marts.dim_theme: row_count_growth_vs_published()"}
    (growth,) = corrupted_whole["warnings"]
    assert growth["observed"]["audit_rows"] == 4 * growth["observed"]["published_rows"]
    assert all(info["mode"] == "full" for info in corrupted_whole["suites"].values() if info["present"])


def test_evidence_batches_flag_exactly_what_whole_tables_flag(
    corrupted: Home, corrupted_whole: dict, gate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every table reduced to its evidence (and no random sample to stumble on defects by luck):
    the same checks fail, with the whole table's unexpected counts."""
    from expectations import pushdown

    monkeypatch.setenv("EDUOPEN_GX_FULL_ROWS", "0")
    monkeypatch.setattr(pushdown, "SAMPLE_ROWS", 0)
    home = copy_home(corrupted, tmp_path / "home")
    with pytest.raises(ValidationFailed):
        gate(home)
    reduced = record(home)
    assert labels(reduced) == labels(corrupted_whole)
    big = reduced["suites"]["marts.fct_mobility_flow"]
    assert big["mode"] == "evidence" and big["batch_rows"] < big["rows"]

    def counts(outcome: dict) -> dict[str, int]:
        return {
            f"{f['suite']}: {f['check']}({f['column'] or ''})": f["observed"]["unexpected_count"]
            for f in outcome["failed"]
            if isinstance(f["observed"], dict) and "unexpected_count" in f["observed"]
        }

    assert counts(reduced) == counts(corrupted_whole)
    assert counts(reduced)["raw.flow_observation: expect_column_values_to_be_between(value)"] > 1
    docs = (home.docs / "gx" / "index.html").read_text()
    assert "marts.fct_mobility_flow" in docs


def test_stale_releases_warn_without_blocking_publish(gate, tmp_path: Path) -> None:
    from eduopen.publish import publish

    # raw data crawled 60 days ago: the newest release was first seen more than 30 days ago
    home = build_home(tmp_path / "home", anchor=(datetime.now(UTC) - timedelta(days=60)).date())
    summary = gate(home)
    assert summary["success"] is True
    assert labels(summary, "warnings") == {"marts.fct_policy_release: staleness(first_seen_at)"}
    assert summary["warnings"][0]["severity"] == "warning"
    assert publish(home)["sha256"] == summary["audit_sha256"]


def test_sql_check_outside_the_gate_fails_rather_than_passing_unchecked(gate) -> None:
    """GX has no pandas implementation of UnexpectedRowsExpectation; ours answers only inside the
    gate's DuckDB scope, and anywhere else the expectation fails with the reason."""
    import great_expectations as gx
    import pandas as pd

    import expectations.duckdb_metrics  # noqa: F401 - registers the pandas providers

    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("audit")
        .add_dataframe_asset("marts.t")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": pd.DataFrame({"x": [1, -1]})})
    )
    result = batch.validate(
        gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query="select * from {batch} where x < 0")
    )
    assert result.success is False
    assert "query_scope" in json.dumps(result.exception_info, default=str)


EDGE_SUITE = {
    "name": "marts.edge",
    "meta": {"table": "marts.edge", "required": True, "row_count_vs_published": False},
    "expectations": [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "x", "min_value": 0, "max_value": 10}},
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "x", "min_value": 0, "max_value": 10, "strict_min": True, "strict_max": True},
        },
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "code", "value_set": ["a", "b", "ab"]}},
        {"type": "expect_column_values_to_not_be_in_set", "kwargs": {"column": "code", "value_set": ["z"]}},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "code", "regex": "b"}},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "code", "regex": "^[a-z]{1,2}$"}},
        {"type": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "code", "max_value": 2}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "k1"}},
        {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["k1", "k2"]}},
        {
            "type": "expect_column_max_to_be_between",
            "kwargs": {"column": "t", "max_value": "2030-01-01T00:00:00+00:00"},
        },
        {"type": "expect_column_min_to_be_between", "kwargs": {"column": "d", "min_value": "2000-01-01T00:00:00"}},
    ],
}

EDGE_ROWS = """
create schema marts;
create table marts.edge (x double, code varchar, k1 integer, k2 integer, t timestamptz, d date);
insert into marts.edge values
    (5, 'a', 1, 1, '2020-01-01 00:00:00+00', '2010-01-01'),
    (0, 'b', 2, 1, '2021-01-01 00:00:00+00', '2011-01-01'),   -- 0: fails only the strict bound
    (10, 'ab', 3, 1, '2031-06-01 00:00:00+00', '2012-01-01'), -- 10: strict; t: the max is too late
    (-1, 'abc', 3, 2, null, '1999-12-31'),                     -- k1 3 twice; 'abc' matches 'b' but is long
    ('nan', 'z', null, 5, null, null),                         -- NaN is no number; 'z' is banned
    (null, null, null, 5, null, null),                         -- (null, 5) twice: a compound duplicate
    (11, 'ab' || chr(10), null, null, null, null),             -- a final newline: Python's $ allows it
    (3, 'bb', null, null, null, null);                         -- all keys missing twice: ignored
-- clean rows: outside the evidence batch, inside the whole table's counts
insert into marts.edge select 5, 'ab', 100 + i, 1, '2020-01-01 00:00:00+00', '2010-01-01' from range(4) t(i);
"""


COUNT_KEYS = ("element_count", "unexpected_count", "unexpected_percent", "missing_count", "unexpected_percent_total")


def gx_counts(root: Path) -> dict[tuple, dict]:
    """The counts of each expectation in the GX validation result stored by the home's last run."""
    from expectations.data_docs import validation_results_dir

    (path,) = validation_results_dir(Home(root)).rglob("*.json")
    stored = json.loads(path.read_text())
    return {
        (r["expectation_config"]["type"], json.dumps(r["expectation_config"]["kwargs"], sort_keys=True)): {
            key: r["result"][key] for key in COUNT_KEYS if key in r["result"]
        }
        for r in stored["results"]
    }


def test_evidence_probes_agree_with_gx_on_edge_values(gate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NaN, NULLs in keys, strict bounds, regex search vs full match, min/max: the SQL probes pick
    the rows GX flags, so the evidence batch fails the same expectations with the same counts."""
    from expectations import pushdown

    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "marts.edge.json").write_text(json.dumps(EDGE_SUITE))
    outcomes = {}
    for mode, full_rows in (("full", "1000"), ("evidence", "0")):
        home = Home(tmp_path / mode).ensure()
        sql(home.audit, EDGE_ROWS)
        monkeypatch.setenv("EDUOPEN_GX_FULL_ROWS", full_rows)
        monkeypatch.setattr(pushdown, "SAMPLE_ROWS", 0)
        with pytest.raises(ValidationFailed):
            gate(home, suites_dir=suites)
        outcomes[mode] = record(home)
        assert outcomes[mode]["suites"]["marts.edge"]["mode"] == mode

    def failures(outcome: dict) -> dict[tuple, object]:
        return {
            (f["expectation_type"], json.dumps(f["kwargs"], sort_keys=True)): f["observed"].get("unexpected_count")
            if isinstance(f["observed"], dict)
            else f["observed"]
            for f in outcome["failed"]
        }

    whole, reduced = failures(outcomes["full"]), failures(outcomes["evidence"])
    assert len(whole) == len(EDGE_SUITE["expectations"])  # the rows above break every one
    assert reduced == whole
    # What GX stores and Data Docs render: the whole table's counts in either mode.
    gx_whole, gx_reduced = gx_counts(tmp_path / "full"), gx_counts(tmp_path / "evidence")
    assert gx_reduced == gx_whole
    assert {counts["element_count"] for counts in gx_whole.values() if "element_count" in counts} == {12}
    by_type = {k[0]: v for k, v in whole.items()}
    assert by_type["expect_column_values_to_not_be_null"] == 1
    assert by_type["expect_compound_columns_to_be_unique"] == 2
    assert by_type["expect_column_value_lengths_to_be_between"] == 2


def test_suites_the_probes_cannot_translate_are_validated_whole(
    gate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A regex DuckDB's RE2 rejects (a lookahead) and an expectation without a SQL translation send
    their tables to GX whole, which judges them exactly."""
    suites = tmp_path / "suites"
    suites.mkdir()
    for name, expectation in {
        "lookahead": {
            "type": "expect_column_values_to_match_regex",
            "kwargs": {"column": "code", "regex": "^(?=a)[a-z]+$"},
        },
        "untranslated": {"type": "expect_column_values_to_not_match_regex", "kwargs": {"column": "code", "regex": "z"}},
    }.items():
        (suites / f"marts.{name}.json").write_text(
            json.dumps(
                {
                    "name": f"marts.{name}",
                    "meta": {"table": f"marts.{name}", "required": True, "row_count_vs_published": False},
                    "expectations": [expectation],
                }
            )
        )
    home = Home(tmp_path / "home").ensure()
    sql(
        home.audit,
        "create schema marts; "
        "create table marts.lookahead as select * from (values ('ab'), ('ba')) t(code); "
        "create table marts.untranslated as select * from (values ('ab'), ('zz')) t(code)",
    )
    monkeypatch.setenv("EDUOPEN_GX_FULL_ROWS", "0")
    with pytest.raises(ValidationFailed):
        gate(home, suites_dir=suites)
    outcome = record(home)
    assert outcome["suites"]["marts.lookahead"]["mode"] == "full"
    assert outcome["suites"]["marts.lookahead"]["full_reason"].startswith("probe failed")
    assert outcome["suites"]["marts.untranslated"]["mode"] == "full"
    assert "no SQL translation" in outcome["suites"]["marts.untranslated"]["full_reason"]
    assert labels(outcome) == {
        "marts.lookahead: expect_column_values_to_match_regex(code)",
        "marts.untranslated: expect_column_values_to_not_match_regex(code)",
    }
    assert [f["observed"]["unexpected_count"] for f in outcome["failed"]] == [1, 1]


def small_suite(tmp_path: Path) -> Path:
    """One suite on a three-row table: what Data Docs render, without a dbt build."""
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "marts.small.json").write_text(
        json.dumps(
            {
                "name": "marts.small",
                "meta": {"table": "marts.small", "required": True, "row_count_vs_published": False},
                "expectations": [
                    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "x", "min_value": 0}}
                ],
            }
        )
    )
    return suites


def test_data_docs_keep_the_last_runs_and_link_the_failed_validation(
    gate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from expectations.data_docs import docs_dir, validation_results_dir
    from expectations.validate import validation_docs_page

    suites = small_suite(tmp_path)
    home = Home(tmp_path / "home").ensure()
    sql(home.audit, "create schema marts; create table marts.small as select range as x from range(3)")
    monkeypatch.setenv("EDUOPEN_GX_KEEP_RUNS", "2")
    run_times = []
    for _ in range(3):
        run_times.append(gate(home, suites_dir=suites)["validated_at"])
    sql(home.audit, "insert into marts.small values (-7)")
    with pytest.raises(ValidationFailed):
        gate(home, suites_dir=suites)
    kept = sorted(p.parent.name for p in validation_results_dir(home).rglob("*.json"))
    pages = sorted(p.parent.name for p in (docs_dir(home) / "validations").rglob("*.html"))
    assert len(kept) == 2 and pages == kept
    assert kept[0] == datetime.fromisoformat(run_times[2]).strftime("%Y%m%dT%H%M%S.%fZ")
    index = (docs_dir(home) / "index.html").read_text()
    assert all(run_time in index for run_time in kept)
    page = validation_docs_page(home)
    assert page.exists() and page.parent.name == kept[-1] and "-7" in page.read_text()
    assert validation_docs_page(home, "marts.small") == page


def test_a_passing_gate_leaves_its_data_docs_to_the_docs_step(gate, tmp_path: Path) -> None:
    from expectations import data_docs

    suites = small_suite(tmp_path)
    home = Home(tmp_path / "home").ensure()
    sql(home.audit, "create schema marts; create table marts.small as select range as x from range(3)")
    page = Path(gate(home, suites_dir=suites)["suites"]["marts.small"]["docs_page"])
    index = data_docs.docs_dir(home) / "index.html"
    assert not index.exists() and not page.exists()

    assert data_docs.build(home) == index
    assert page.is_file() and "marts.small" in index.read_text()
    assert (data_docs.docs_dir(home) / "expectations" / "marts" / "small.html").is_file()
    # A page once rendered is not rendered again: each build renders the runs since the last one.
    rendered = page.stat().st_mtime_ns
    second = Path(gate(home, suites_dir=suites)["suites"]["marts.small"]["docs_page"])
    data_docs.build(home)
    assert second.is_file() and second != page and page.stat().st_mtime_ns == rendered
