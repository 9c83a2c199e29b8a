"""The bench's memory trace: how high a step went, when, and which dbt nodes ran then."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench.rss_trace import RssTrace, dbt_nodes_at, dbt_started_at, resident_mib


def _run_results(path: Path, nodes: dict[str, tuple[str, str]]) -> Path:
    results = [
        {
            "unique_id": f"model.eduopen.{name}",
            "timing": [
                {"name": "compile", "started_at": start, "completed_at": start},
                {"name": "execute", "started_at": start, "completed_at": end},
            ],
        }
        for name, (start, end) in nodes.items()
    ]
    path.write_text(json.dumps({"results": results}), encoding="utf-8")
    return path


def _epoch(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp).timestamp()


def test_the_trace_sees_a_peak_the_process_no_longer_holds() -> None:
    with RssTrace(interval_s=0.02) as trace:
        before = resident_mib()
        block = bytearray(300 * 2**20)  # zero-filled: every page touched
        time.sleep(0.2)
        del block
        time.sleep(0.1)

    assert trace.peak_mib >= before + 250
    assert resident_mib() < trace.peak_mib - 200
    # When the peak came, not how soon: on a loaded machine the allocation alone can take a second.
    assert trace.started_at < trace.peak_at < time.time()
    assert trace.summary()["peak_after_s"] == round(trace.peak_at - trace.started_at, 1)


def test_the_nodes_running_at_a_moment_are_named(tmp_path: Path) -> None:
    path = _run_results(
        tmp_path / "run_results.json",
        {
            "stg_oecd__flows": ("2026-12-03T10:00:00.000000Z", "2026-12-03T10:00:20.000000Z"),
            "stg_uis__observations": ("2026-12-03T10:00:05.000000Z", "2026-12-03T10:00:25.000000Z"),
            "int_mobility_flows": ("2026-12-03T10:00:30.000000Z", "2026-12-03T10:00:40.000000Z"),
        },
    )

    assert dbt_nodes_at(path, _epoch("2026-12-03T10:00:10+00:00")) == ["stg_oecd__flows", "stg_uis__observations"]
    assert dbt_nodes_at(path, _epoch("2026-12-03T10:00:35+00:00")) == ["int_mobility_flows"]
    assert dbt_nodes_at(path, _epoch("2026-12-03T10:00:27+00:00")) == []
    assert dbt_started_at(path) == _epoch("2026-12-03T10:00:00+00:00")


def test_no_run_results_means_no_answer(tmp_path: Path) -> None:
    assert dbt_nodes_at(tmp_path / "absent.json", 0.0) is None
    assert dbt_started_at(tmp_path / "absent.json") is None
