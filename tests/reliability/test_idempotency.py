"""Idempotency: the same interval run again, and a run retried after a failed quality gate, give
byte-identical marts: the same rows with the same values in every column of every mart (compared as
sorted rows, since the physical order of a table is not part of its content), and Parquet exports
holding exactly the published rows.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from eduopen import pipeline
from eduopen.core.errors import PublishError, ValidationFailed
from tests.reliability.conftest import CleanRun, copy_home, run_steps
from tests.reliability.support import mart_fingerprint, query, sha256_file

pytestmark = pytest.mark.timeout(240)


def parquet_fingerprint(exports: Path) -> dict[str, str]:
    """The exports loaded into a scratch database and fingerprinted like the marts."""
    scratch = exports.parent / "parquet-check.duckdb"
    con = duckdb.connect(str(scratch))
    try:
        con.execute("create schema marts")
        for file in sorted(exports.glob("*.parquet")):
            con.execute(f'create table marts."{file.stem}" as select * from read_parquet(?)', [str(file)])
    finally:
        con.close()
    try:
        return mart_fingerprint(scratch)
    finally:
        scratch.unlink()


def test_the_same_interval_run_again_gives_byte_identical_marts_and_exports(clean_run: CleanRun, replay_env, tmp_path):
    home = copy_home(clean_run.published, tmp_path / "home")
    raw_before = query(home.catalog, "select count(*) from release_version")

    run_steps(home)

    assert mart_fingerprint(home.warehouse) == clean_run.marts
    assert parquet_fingerprint(home.exports) == clean_run.marts
    assert query(home.catalog, "select count(*) from release_version") == raw_before  # nothing stored twice


def test_a_run_retried_after_a_failed_gate_gives_byte_identical_marts(clean_run: CleanRun, replay_env, tmp_path):
    home = copy_home(clean_run.published, tmp_path / "home")
    # A bad build: a duplicated country-year with a negative count in the audit copy.
    con = duckdb.connect(str(home.audit))
    con.execute(
        "insert into marts.fct_student_mobility select * replace (-1.0 as inbound_students) "
        "from marts.fct_student_mobility limit 1"
    )
    con.execute("checkpoint")
    con.close()
    with pytest.raises(ValidationFailed):
        pipeline.validate(home=home)
    with pytest.raises(PublishError):  # the gate's verdict holds: nothing of the bad build is published
        pipeline.publish(home=home)
    assert sha256_file(home.warehouse) == clean_run.warehouse_sha256

    run_steps(home)  # retried: the audit copy is rebuilt from raw, the gate passes, publish goes ahead

    assert mart_fingerprint(home.warehouse) == clean_run.marts
    assert parquet_fingerprint(home.exports) == clean_run.marts
