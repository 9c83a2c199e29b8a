"""How `make bench` judges its figures and reports a scale it had no time to run."""

from __future__ import annotations

import json
from pathlib import Path

from bench.__main__ import checks, dated_name, judge, recorded_scale, table
from eduopen.core.config import DBT_TASKS, DBT_TASKS_CHOICES


def _run(finished_at: str, scales: dict, cores: int = 2) -> dict:
    return {"cores": cores, "finished_at": finished_at, "load_avg_start": 0.5, "load_avg_end": 1.0, "scales": scales}


def _write(history: Path, name: str, run: dict) -> None:
    history.mkdir(parents=True, exist_ok=True)
    (history / name).write_text(json.dumps(run), encoding="utf-8")


def test_the_newest_run_that_built_the_scale_is_the_one_reported(tmp_path: Path) -> None:
    history = tmp_path / "history"
    _write(history, "a.json", _run("2026-11-01T10:00:00+00:00", {"100x": {"dbt_full_s": 900.0, "peak_mem_mib": 3500}}))
    _write(history, "b.json", _run("2026-12-01T10:00:00+00:00", {"100x": {"dbt_full_s": 800.0, "peak_mem_mib": 3300}}))
    # newer, but 100x was skipped there: nothing to report from it
    _write(history, "c.json", _run("2026-12-02T10:00:00+00:00", {"100x": {"status": "skipped", "notes": ["disk"]}}))

    recorded = recorded_scale("100x", history)

    assert recorded is not None
    assert recorded["dbt_full_s"] == 800.0
    assert recorded["status"] == "recorded"
    assert recorded["recorded"]["finished_at"].startswith("2026-12-01")
    assert recorded["recorded"]["cores"] == 2


def test_no_recorded_run_means_nothing_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "a.json", _run("2026-12-01T10:00:00+00:00", {"10x": {"dbt_full_s": 80.0}}))

    assert recorded_scale("100x", tmp_path) is None


def test_a_recorded_100x_build_is_judged_and_shown_with_its_date() -> None:
    results = _run(
        "2026-12-03T10:00:00+00:00",
        {
            "100x": {
                "status": "recorded",
                "dbt_full_s": 800.0,
                "peak_mem_mib": 1900,
                "notes": ["not run now"],
                "recorded": {"finished_at": "2026-12-01T10:00:00+00:00", "cores": 2, "file": "h.json"},
            }
        },
    )
    results["targets"] = judge(results)
    results["checks"] = checks(results)

    peak = results["targets"]["scales.100x.peak_mem_mib"]
    assert (peak["met"], peak["stretch_met"]) == (True, False)
    assert "recorded 2026-12-01" in peak["detail"]
    assert "| 100x (recorded 2026-12-01) | 2 | 800.0 |" in table(results)


def test_a_100x_build_over_2_gib_misses_the_target_even_when_it_stopped_early() -> None:
    def peak(mib: int, dbt_full_s: float | None) -> dict:
        scale = {"status": "partial", "peak_mem_mib": mib, "dbt_full_s": dbt_full_s}
        return judge(_run("2026-12-03T10:00:00+00:00", {"100x": scale}))["scales.100x.peak_mem_mib"]

    assert peak(2100, 800.0)["met"] is False
    assert peak(2048, 800.0)["met"] is True
    assert peak(2100, None)["met"] is False
    # below the target, but only part of the build ran: nothing proven
    assert peak(1500, None)["met"] is None


def test_each_figure_is_read_under_the_key_the_issue_names() -> None:
    results = _run(
        "2026-12-03T10:00:00+00:00",
        {
            "1x": {"incremental_floor_s": 1.5, "full_ratio": 1.3, "gate_share": 0.04},
            "10x": {"incremental_floor_s": 3.0, "dbt_full_s": 100.0, "incremental_share": 0.12, "full_ratio": 1.05},
        },
    )
    results["freshness_s"] = 7.5
    results["freshness_dbt_tasks"] = DBT_TASKS.default
    judged = judge(results)

    verdicts = {key: (row["value"], row["met"], row["stretch_met"]) for key, row in judged.items()}
    assert verdicts == {
        "freshness_s": (7.5, True, False),
        "scales.1x.incremental_floor_s": (1.5, True, False),
        "scales.10x.incremental_floor_s / dbt_full_s": (0.03, True, False),
        "scales.10x.incremental_share": (0.12, False, False),
        "scales.1x.full_ratio": (1.3, True, False),
        "scales.10x.full_ratio": (1.05, True, True),
        "scales.1x.gate_share": (0.04, True, True),
        "scales.100x.peak_mem_mib": (None, None, None),
    }
    assert judged["scales.100x.peak_mem_mib"]["detail"] == "100x not run (--scales)"


def test_freshness_outside_the_default_warehouse_mode_is_shown_but_not_judged() -> None:
    results = _run("2026-12-03T10:00:00+00:00", {})
    other = next(mode for mode in DBT_TASKS_CHOICES if mode != DBT_TASKS.default)
    results["freshness_s"] = 4.0
    results["freshness_dbt_tasks"] = other
    judged = judge(results)["freshness_s"]

    assert judged["value"] == 4.0 and judged["met"] is None
    assert f"EDUOPEN_DBT_TASKS={other}, not the default {DBT_TASKS.default}" in judged["detail"]


def test_the_incremental_build_is_checked_against_a_full_rebuild_at_each_scale() -> None:
    results = _run(
        "2026-12-03T10:00:00+00:00",
        {
            "1x": {"status": "complete", "incremental_matches_full_refresh": True, "plain_sql_matches_dbt": True},
            "10x": {"status": "complete", "incremental_matches_full_refresh": False, "plain_sql_matches_dbt": True},
        },
    )
    found = checks(results)

    assert found["scales.1x.incremental_matches_full_refresh"]["met"] is True
    assert found["scales.10x.incremental_matches_full_refresh"]["met"] is False


def test_the_peak_is_placed_in_its_step_and_the_nodes_running_then() -> None:
    from bench.__main__ import peak_location

    scale = {
        "peak_mem_mib_by_step": {"generate": 3900, "dbt_full": 3100, "validate": 1200},
        "peak_mem_when": {
            "dbt_full": {
                "sampled_peak_mib": 3080,
                "peak_after_s": 12.0,
                "peak_during": ["stg_oecd__flows", "stg_uis__observations"],
            }
        },
    }

    # generation is not the pipeline: its larger peak is not the scale's
    assert peak_location(scale) == "3100 MiB in dbt_full, during stg_oecd__flows + stg_uis__observations"
    scale["peak_mem_mib_by_step"]["validate"] = 3500
    assert peak_location(scale) == "3500 MiB in validate"
    assert peak_location({"peak_mem_mib_by_step": {"generate": 100}}) is None


def _fake_freshness_test(tmp_path: Path, body: str) -> str:
    test = tmp_path / "test_fake_freshness.py"
    test.write_text("import json, pathlib, pytest\n\ndef test_freshness():\n" + body, encoding="utf-8")
    return str(test)


def test_freshness_is_what_the_e2e_test_just_wrote(tmp_path: Path, monkeypatch) -> None:
    import bench.__main__ as bench

    out = tmp_path / "freshness.json"
    out.write_text(json.dumps({"freshness_s": 99.0}), encoding="utf-8")
    monkeypatch.setattr(bench, "FRESHNESS_FILE", out)
    written = {"freshness_s": 26.0, "watch_poll_s": 2}
    monkeypatch.setattr(
        bench,
        "FRESHNESS_TEST",
        _fake_freshness_test(tmp_path, f"    pathlib.Path({str(out)!r}).write_text(json.dumps({written!r}))\n"),
    )
    freshness_s, note = bench.measure_freshness(bench.Budget(600), tmp_path / "logs")
    assert freshness_s == 26.0
    assert "watcher poll 2 s" in note


def test_a_skipped_e2e_test_says_why_and_reports_the_earlier_figure_as_earlier(tmp_path: Path, monkeypatch) -> None:
    import bench.__main__ as bench

    out = tmp_path / "freshness.json"
    out.write_text(json.dumps({"freshness_s": 31.5}), encoding="utf-8")
    monkeypatch.setattr(bench, "FRESHNESS_FILE", out)
    monkeypatch.setattr(
        bench, "FRESHNESS_TEST", _fake_freshness_test(tmp_path, "    pytest.skip('no PostgreSQL server here')\n")
    )
    freshness_s, note = bench.measure_freshness(bench.Budget(600), tmp_path / "logs")
    assert freshness_s == 31.5
    assert "no PostgreSQL server here" in note and "earlier measurement" in note


def test_the_table_states_every_target_and_which_were_missed() -> None:
    results = _run(
        "2026-12-03T10:00:00+00:00", {"100x": {"status": "partial", "dbt_full_s": 800.0, "peak_mem_mib": 5000}}
    )
    results["targets"] = judge(results)
    results["checks"] = checks(results)
    printed = table(results)

    assert (
        "- MISSED: peak memory, 100x 5,000 MiB (target ≤ 2,048 MiB, stretch ≤ 1,024 MiB; "
        "`scales.100x.peak_mem_mib`)" in printed
    )
    assert "- not measured: build with nothing new, 1x — (target ≤ 2.0 s" in printed
    assert printed.count("\n- ") == len(results["targets"]) + len(results["checks"])


def test_a_run_is_kept_in_history_under_its_date_time_and_cores() -> None:
    assert dated_name({"finished_at": "2026-12-07T05:15:42+00:00", "cores": 2}) == "2026-12-07-0515-2cores.json"
