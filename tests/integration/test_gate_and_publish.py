"""Write–audit–publish: the GX gate on audit.duckdb and the atomic publish to warehouse.duckdb.

The audit warehouse is dbt's build of a small synthetic raw catalog (`tests.support.synthetic_warehouse`).
A dbt build costs a minute and validating a few seconds of GX, so the clean build is made once per
session, validated and published once per module, and copied for each test.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from eduopen.core.errors import ConfigError, ExitCode, PublishError, ValidationFailed
from eduopen.core.paths import Home
from ingest.raw_store import SCHEMA
from tests.support.synthetic_warehouse import VOLUME, clean_build, copy_home, grow, rebuild, table_rows

pytestmark = pytest.mark.timeout(600)

FIRST_YEAR = VOLUME.obs_first_year


def mart_rows(rows: dict[str, int]) -> dict[str, int]:
    return {name.split(".", 1)[1]: n for name, n in rows.items() if name.startswith("marts.")}


def sql(path: Path, statement: str) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute(statement)
    finally:
        con.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scalar(path: Path | None, query: str):
    con = duckdb.connect(str(path), read_only=True) if path else duckdb.connect()
    try:
        return con.execute(query).fetchone()[0]
    finally:
        con.close()


def record(home: Home) -> dict:
    return json.loads((home.state / "validation.json").read_text())


def assert_docs_fresh(home: Home, since: float, suite: str | None = None) -> None:
    index = home.docs / "gx" / "index.html"
    assert index.exists()
    assert index.stat().st_mtime >= since - 1
    assert record(home)["docs_index"] == str(index)
    if suite:
        assert suite in index.read_text()


@pytest.fixture(scope="module")
def gate():
    """The validate step, which holds the writer lock around the gate (importing GX takes seconds:
    once per module)."""
    from eduopen import pipeline

    return pipeline.validate


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, gate) -> tuple[Home, dict, dict, dict]:
    """A home whose clean audit build was validated and published: (home, validation, publish, rows)."""
    from eduopen.pipeline import publish

    home = copy_home(clean_build(tmp_path_factory), tmp_path_factory.mktemp("published") / "home")
    rows = table_rows(home.audit)
    summary = gate(home)
    return home, summary, publish(home=home), rows


@pytest.fixture(scope="module")
def validated_v2(tmp_path_factory: pytest.TempPathFactory, published, gate) -> tuple[Home, dict]:
    """The published home with a second audit build, of 1% more raw data, already validated (not published)."""
    home = copy_home(published[0], tmp_path_factory.mktemp("v2") / "home")
    grow(home)
    rows = table_rows(home.audit)
    gate(home)
    return home, rows


# -- the clean path -----------------------------------------------------------------------------
def test_clean_build_validates_and_is_published_with_exports_and_log(published) -> None:
    from expectations.loader import load_suite_specs

    home, summary, result, rows = published
    assert summary["success"] is True and summary["failed"] == []
    assert summary["statistics"]["evaluated_expectations"] > 150
    assert set(summary["suites"]) == {spec.name for spec in load_suite_specs()}
    assert summary["audit_sha256"] == record(home)["audit_sha256"]

    assert home.warehouse.exists()
    # The published file is byte-for-byte the build that passed the gate.
    assert sha256(home.warehouse) == summary["audit_sha256"] == result["sha256"]
    assert result["published"] == str(home.warehouse) and result["version_kept"] is None
    assert result["rows"] == mart_rows(rows)
    assert result["exports_written"] == sorted(result["rows"])
    assert result["rows"]["fct_student_mobility"] == len(VOLUME.countries) * VOLUME.obs_years
    for mart, rows in result["rows"].items():
        parquet = home.exports / f"{mart}.parquet"
        assert scalar(None, f"select count(*) from read_parquet('{parquet}')") == rows
    assert not list(home.exports.glob(".*"))  # no temp files left behind

    log = [json.loads(line) for line in (home.state / "publish_log.jsonl").read_text().splitlines()]
    assert len(log) == 1
    assert log[0]["sha256"] == result["sha256"] and log[0]["rows"] == result["rows"]
    assert log[0]["published_at"]
    # A passing gate renders no Data Docs; the docs step after publish does (from the stored results).
    assert not (home.docs / "gx" / "index.html").exists()


def test_missing_optional_raw_table_passes_and_is_reported_absent(published, gate, tmp_path: Path) -> None:
    from eduopen import pipeline

    home = copy_home(published[0], tmp_path / "home")
    # An audit copy from before the table existed: dbt always gets one (empty at worst), so only a file
    # built elsewhere can lack it.
    sql(home.audit, "drop table raw.observation")
    started = time.time()
    summary = gate(home)
    assert summary["success"] is True
    assert summary["suites"]["raw.observation"]["present"] is False
    pipeline.data_docs(home)
    assert_docs_fresh(home, started)


# -- the gate blocks, the published warehouse stays as it was ----------------------------------
# Defects written into the built audit file: states dbt's models do not build from raw input (a
# mart disagreeing with the one it is derived from, NaN where the model computes a finite number, a
# negative count dbt's tests stop), so only an audit file changed outside dbt, or a model gone
# wrong, brings them to the gate.
MART_DEFECTS = {
    "negative_inbound_students": (
        "update marts.fct_student_mobility set inbound_students = -5 where mobility_id = "
        "(select min(mobility_id) from marts.fct_student_mobility where inbound_students is not null)",
        "marts.fct_student_mobility",
        "expect_column_values_to_be_between(inbound_students)",
    ),
    "release_count_off": (
        "update marts.mart_opening_up_scorecard set releases_total = releases_total + 3 "
        "where year = (select max(year) from marts.mart_opening_up_scorecard)",
        "marts.mart_opening_up_scorecard",
        "releases_total_matches_fct_policy_release()",
    ),
    # a column dbt does not test: only the gate's finite range stops NaN
    "nan_net_flow": (
        "update marts.fct_student_mobility set net_flow = 'nan'::double where mobility_id = "
        "(select max(mobility_id) from marts.fct_student_mobility where net_flow is not null)",
        "marts.fct_student_mobility",
        "expect_column_values_to_be_between(net_flow)",
    ),
    # not a defect dbt could build: the table it would have made is gone
    "required_mart_missing": ("drop table marts.dim_indicator", "marts.dim_indicator", "table_exists()"),
}
# Defects of the raw catalog that dbt builds without complaint: the gate is what stops them.
RAW_DEFECTS = {
    # 10 years of observations -> 4: fct_student_mobility loses 60 % of its rows
    "rows_dropped_more_than_half": (
        f"delete from observation where year >= {FIRST_YEAR + 4}",
        "marts.fct_student_mobility",
        "row_count_vs_published()",
    ),
    # a later UIS batch states NaN for one rate: NaN is not below zero, so dbt's non_negative test
    # lets it through (raw tables only grow, so the defect arrives as a new batch)
    "nan_mobility_rate": (
        "insert into observation select source, indicator_id, geo_unit, year, 'nan'::double, 'NaN', "
        "magnitude, qualifier, data_version, sha256('a later batch'), loaded_at + interval 1 day "
        f"from observation where indicator_id = 'MSEP.5T8' and geo_unit = 'KOR' and year = {FIRST_YEAR + 1}",
        "marts.fct_student_mobility",
        "expect_column_values_to_be_between(inbound_mobility_rate)",
    ),
}
CORRUPTIONS = {**MART_DEFECTS, **RAW_DEFECTS}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corrupted_build_fails_the_gate_and_leaves_the_published_warehouse_untouched(
    name: str, published, gate, tmp_path: Path
) -> None:
    from eduopen.pipeline import publish

    statement, suite, label = CORRUPTIONS[name]
    home = copy_home(published[0], tmp_path / "home")
    before = sha256(home.warehouse)
    exports_before = {p.name: sha256(p) for p in home.exports.glob("*.parquet")}
    if name in RAW_DEFECTS:
        sql(home.catalog, statement)
        rebuild(home)
    else:
        sql(home.audit, statement)

    started = time.time()
    with pytest.raises(ValidationFailed) as failure:
        gate(home)
    message = str(failure.value)
    assert f"{suite}: {label}" in message
    assert message.endswith(f"see {home.docs / 'gx' / 'index.html'}")
    assert "\n" not in message

    outcome = record(home)
    assert outcome["success"] is False
    assert any(f["suite"] == suite and label.startswith(f["check"] + "(") for f in outcome["failed"])
    assert outcome["audit_sha256"] == sha256(home.audit)
    if suite in outcome["suites"] and outcome["suites"][suite]["present"]:
        assert_docs_fresh(home, started, suite)
    else:
        assert_docs_fresh(home, started)

    with pytest.raises(PublishError, match="last validation failed"):
        publish(home=home)
    assert sha256(home.warehouse) == before
    assert {p.name: sha256(p) for p in home.exports.glob("*.parquet")} == exports_before


def test_failure_record_names_column_and_observed_values(published, gate, tmp_path: Path) -> None:
    home = copy_home(published[0], tmp_path / "home")
    # In the built mart, as MART_DEFECTS; not China's row: that one would also break the scorecard's
    # cross-check.
    where = f"year = {FIRST_YEAR + 3} and country_iso3 <> 'CHN' and inbound_students is not null"
    broken = scalar(home.audit, f"select count(*) from marts.fct_student_mobility where {where}")
    assert broken > 2
    sql(home.audit, f"update marts.fct_student_mobility set inbound_students = -7 where {where}")
    with pytest.raises(ValidationFailed, match=r"^1 expectation failed: "):
        gate(home)
    (failed,) = record(home)["failed"]
    assert failed["suite"] == "marts.fct_student_mobility"
    assert failed["expectation_type"] == "expect_column_values_to_be_between"
    assert failed["check"] == "expect_column_values_to_be_between"
    assert failed["severity"] == "critical"
    assert failed["column"] == "inbound_students"
    assert failed["kwargs"]["min_value"] == 0
    assert failed["observed"]["unexpected_count"] == broken
    assert failed["observed"]["partial_unexpected_list"][:2] == [-7.0, -7.0]


def test_the_cli_exits_gate_failed_on_validate_and_on_the_publish_it_blocks(
    published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from eduopen.cli import main

    home = copy_home(published[0], tmp_path / "home")
    before = sha256(home.warehouse)
    sql(home.audit, "update marts.fct_student_mobility set inbound_students = -7 where country_iso3 <> 'CHN'")
    monkeypatch.setenv("EDUOPEN_HOME", str(home.root))

    assert main(["validate"]) == ExitCode.GATE_FAILED
    assert main(["publish"]) == ExitCode.GATE_FAILED
    err = capsys.readouterr().err
    assert "ValidationFailed: " in err and "PublishBlocked: the last validation failed" in err
    assert sha256(home.warehouse) == before


# -- publish refuses what the gate did not pass -------------------------------------------------
def test_publish_without_validation_is_refused(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    from eduopen.pipeline import publish

    home = copy_home(clean_build(tmp_path_factory), tmp_path / "home")
    with pytest.raises(PublishError, match="run `eduopen validate` first"):
        publish(home=home)
    assert not home.warehouse.exists()


def test_audit_modified_after_validation_is_refused(validated_v2: tuple[Home, dict], tmp_path: Path) -> None:
    from eduopen.pipeline import publish

    home = copy_home(validated_v2[0], tmp_path / "home")
    before = sha256(home.warehouse)
    sql(home.audit, "insert into marts.dim_indicator values ('X', 'uis', 'sneaked in', null, null)")
    with pytest.raises(PublishError, match="changed after validation"):
        publish(home=home)
    assert sha256(home.warehouse) == before
    assert not list(home.root.glob(".warehouse.duckdb.*"))  # the temp copy was cleaned up


# -- atomic swap, versions, rollback ------------------------------------------------------------
READER = r"""
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("ready", flush=True)
sys.stdin.readline()
# First read of the fact table happens after the swap: its pages must come from the old inode.
rows, total = con.execute("select count(*), sum(inbound_students) from marts.fct_student_mobility").fetchone()
print(rows, total, flush=True)
"""


def test_reader_keeps_old_data_during_publish_and_new_connections_see_the_new(
    validated_v2: tuple[Home, dict], tmp_path: Path
) -> None:
    from eduopen.pipeline import publish

    home = copy_home(validated_v2[0], tmp_path / "home")
    old_rows = scalar(home.warehouse, "select count(*) from marts.fct_student_mobility")
    old_total = scalar(home.warehouse, "select sum(inbound_students) from marts.fct_student_mobility")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(home.warehouse)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "ready"
        result = publish(home=home)
        out, err = reader.communicate("go\n", timeout=60)
    finally:
        reader.kill()
    assert reader.returncode == 0, err
    rows, total = out.split()
    assert (int(rows), float(total)) == (old_rows, old_total)
    assert (
        scalar(home.warehouse, "select count(*) from marts.fct_student_mobility")
        == (validated_v2[1]["marts.fct_student_mobility"])
    )
    assert validated_v2[1]["marts.fct_student_mobility"] > old_rows
    assert result["rows"] == mart_rows(validated_v2[1])
    assert result["version_kept"] and Path(result["version_kept"]).parent == home.versions


def test_rollback_restores_the_previous_version_and_its_exports(
    published, validated_v2: tuple[Home, dict], tmp_path: Path
) -> None:
    from eduopen.pipeline import publish
    from eduopen.publish import list_versions

    home = copy_home(validated_v2[0], tmp_path / "home")
    v1 = sha256(home.warehouse)
    assert v1 == published[2]["sha256"]
    v2 = publish(home=home)["sha256"]
    assert sha256(home.warehouse) == v2 != v1

    result = publish(rollback=True, home=home)
    assert sha256(home.warehouse) == result["sha256"] == v1
    v1_rows = published[3]["marts.fct_student_mobility"]
    assert result["rows"]["fct_student_mobility"] == v1_rows
    exported = home.exports / "fct_student_mobility.parquet"
    assert scalar(None, f"select count(*) from read_parquet('{exported}')") == v1_rows
    # v2 is kept, marked rolled back, so a further rollback does not flip back to it.
    (kept,) = list_versions(home)
    assert kept.name.endswith(".rolledback.duckdb") and sha256(kept) == v2
    last = json.loads((home.state / "publish_log.jsonl").read_text().splitlines()[-1])
    assert last["action"] == "rollback" and last["sha256"] == v1

    with pytest.raises(PublishError, match="nothing to roll back to"):
        publish(rollback=True, home=home)
    assert sha256(home.warehouse) == v1


def test_publish_keeps_only_the_newest_versions(validated_v2: tuple[Home, dict], tmp_path: Path) -> None:
    from eduopen import pipeline
    from eduopen.publish import list_versions
    from eduopen.publish import publish as unlocked_publish

    home = copy_home(validated_v2[0], tmp_path / "home")
    for stamp in ("20250101T000000000000Z", "20250201T000000000000Z", "20250301T000000000000Z"):
        (home.versions / f"warehouse-{stamp}-00000000.duckdb").write_bytes(b"old")
    with pipeline.writer(home):  # the lock pipeline.publish takes; it keeps more versions than 2
        result = unlocked_publish(home, keep=2)
    names = [p.name for p in list_versions(home)]
    assert len(names) == 2
    assert names[0].startswith("warehouse-20250301T")
    assert Path(result["version_kept"]).name == names[1]
    assert len(result["pruned"]) == 2


def test_republishing_the_same_build_changes_nothing(published, tmp_path: Path) -> None:
    from eduopen.pipeline import publish
    from eduopen.publish import list_versions

    home = copy_home(published[0], tmp_path / "home")
    before = sha256(home.warehouse)
    result = publish(home=home)
    assert result["unchanged"] is True and result["version_kept"] is None
    assert sha256(home.warehouse) == before
    assert list_versions(home) == []
    assert result["exports_written"] == []


def differs(database: Path, other: Path, mart: str) -> bool:
    """Whether `mart` holds other rows in `database` than in `other`."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{database}' as a (read_only); attach '{other}' as b (read_only)")
        return con.execute(
            f"select exists(select * from a.marts.{mart} except all select * from b.marts.{mart}) "
            f"or exists(select * from b.marts.{mart} except all select * from a.marts.{mart})"
        ).fetchone()[0]
    finally:
        con.close()


def test_publish_rewrites_only_the_exports_of_the_marts_the_build_changed(
    validated_v2: tuple[Home, dict], tmp_path: Path
) -> None:
    from eduopen.pipeline import publish

    home = copy_home(validated_v2[0], tmp_path / "home")
    before = {p.stem: (p.stat().st_ino, sha256(p)) for p in home.exports.glob("*.parquet")}
    changed = {mart for mart in before if differs(home.audit, home.warehouse, mart)}
    # 1% more raw data changes the marts it feeds, not the dimensions from the seeds.
    assert changed and changed != set(before)
    result = publish(home=home)
    assert set(result["exports_written"]) == changed
    after = {p.stem: (p.stat().st_ino, sha256(p)) for p in home.exports.glob("*.parquet")}
    assert set(after) == set(before) and {m for m in after if after[m] != before[m]} == changed
    for mart in after:
        parquet = home.exports / f"{mart}.parquet"
        assert scalar(None, f"select count(*) from read_parquet('{parquet}')") == result["rows"][mart]


# -- the suite files ----------------------------------------------------------------------------
def test_raw_suites_match_the_raw_catalog_ddl() -> None:
    from expectations.loader import load_suite_specs

    con = duckdb.connect()
    con.execute(SCHEMA)
    for spec in load_suite_specs():
        if spec.schema != "raw":
            continue
        (columns,) = [
            e.kwargs["column_set"] for e in spec.expectations if e.type == "expect_table_columns_to_match_set"
        ]
        ddl = [
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where table_name = ?", [spec.table_name]
            ).fetchall()
        ]
        assert sorted(columns) == sorted(ddl), spec.name


def test_every_mart_has_a_required_suite() -> None:
    from expectations.contracts import mart_contracts
    from expectations.loader import load_suite_specs

    required = {spec.table for spec in load_suite_specs() if spec.required}
    assert {f"marts.{m}" for m in mart_contracts()} <= required


def test_unknown_expectation_type_in_a_suite_file_is_a_config_error(tmp_path: Path) -> None:
    from expectations.loader import load_suite_specs

    (tmp_path / "marts.x.json").write_text(
        json.dumps(
            {
                "name": "marts.x",
                "meta": {"table": "marts.x", "required": True},
                "expectations": [{"type": "expect_column_values_to_be_purple", "kwargs": {"column": "a"}}],
            }
        )
    )
    with pytest.raises(ConfigError, match="expect_column_values_to_be_purple"):
        load_suite_specs(tmp_path)
