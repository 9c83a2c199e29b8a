"""The suite files are GX's own serialization: GX loads each one whole, and the gate reads the same."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eduopen.core.errors import ConfigError
from expectations.loader import SUITES_DIR, load_suite_specs, resolve_relative_times

SUITE_FILES = sorted(SUITES_DIR.glob("*.json"))


@pytest.mark.parametrize("path", SUITE_FILES, ids=lambda p: p.stem)
def test_gx_loads_every_expectation_of_every_suite_file(path: Path) -> None:
    import great_expectations as gx

    data = json.loads(path.read_text(encoding="utf-8"))
    suite = gx.ExpectationSuite(**data)
    assert suite.name == path.stem == data["name"]
    # GX drops an expectation with invalid kwargs with only a log line: count them.
    assert len(suite.expectations) == len(data["expectations"])
    for loaded, item in zip(suite.expectations, data["expectations"], strict=True):
        assert loaded.expectation_type == item["type"]
        written = loaded.configuration.to_json_dict()["kwargs"]
        # GX writes a kwarg only when it differs from the expectation's default.
        defaults = {name: type(loaded).__fields__[name].default for name in set(item["kwargs"]) - set(written)}
        assert {**written, **defaults} == item["kwargs"]
        assert loaded.meta == item.get("meta", {}) and loaded.severity.value == item["severity"]


def test_the_gate_reads_the_same_expectations_gx_loads() -> None:
    specs = {spec.name: spec for spec in load_suite_specs()}
    assert set(specs) == {path.stem for path in SUITE_FILES}
    for path in SUITE_FILES:
        data = json.loads(path.read_text(encoding="utf-8"))
        spec = specs[data["name"]]
        assert spec.table == data["meta"]["table"] and spec.required == data["meta"]["required"]
        assert [item.type for item in spec.expectations] == [e["type"] for e in data["expectations"]]


def test_kwargs_gx_rejects_are_a_config_error_not_a_dropped_expectation(tmp_path: Path) -> None:
    bad = {"type": "expect_column_max_to_be_between", "kwargs": {"column": "t", "min_value": "yesterday"}}
    suite = {"name": "marts.x", "meta": {"table": "marts.x", "required": True}, "expectations": [bad]}
    (tmp_path / "marts.x.json").write_text(json.dumps(suite))
    with pytest.raises(ConfigError, match="GX"):
        load_suite_specs(tmp_path)


def test_freshness_suite_parameters_resolve_to_utc_timestamps() -> None:
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    kwargs = {
        "column": "t",
        "min_value": {"$PARAMETER": "now() - timedelta(days=30)"},
        "max_value": {"$PARAMETER": "now() + timedelta(days=1)"},
    }
    assert resolve_relative_times(kwargs, now) == {
        "column": "t",
        "min_value": "2026-03-01T12:00:00+00:00",
        "max_value": "2026-04-01T12:00:00+00:00",
    }
    with pytest.raises(ConfigError, match="not now"):
        resolve_relative_times({"min_value": {"$PARAMETER": "upstream_row_count"}}, now)
