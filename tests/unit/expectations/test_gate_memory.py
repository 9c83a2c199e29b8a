"""The gate's DuckDB takes a share of the pipeline's memory cap, read in DuckDB's own units."""

from __future__ import annotations

import duckdb
import pytest


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2500MB", 2_500_000_000), ("1.5GiB", 1_610_612_736), ("4 GB", 4_000_000_000), ("512kib", 524_288)],
)
def test_sizes_are_read_as_duckdb_reads_them(text: str, expected: int) -> None:
    from expectations.validate import size_bytes

    assert size_bytes(text) == expected
    con = duckdb.connect(config={"memory_limit": text})
    try:
        assert (
            con.execute("select current_setting('memory_limit')").fetchone()[0]
            == con.execute(f"set memory_limit = '{expected}B'; select current_setting('memory_limit')").fetchone()[0]
        )
    finally:
        con.close()


def test_the_gate_takes_half_the_pipelines_duckdb_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    from expectations.validate import gate_duckdb_config

    monkeypatch.setenv("EDUOPEN_MEMORY_LIMIT", "3GB")
    config = gate_duckdb_config()
    assert config["memory_limit"] == "1500000000B"
    assert config["preserve_insertion_order"] is False


def test_a_size_duckdb_would_not_take_is_refused() -> None:
    from expectations.validate import size_bytes

    with pytest.raises(ValueError, match="not a DuckDB size"):
        size_bytes("3 parsecs")
