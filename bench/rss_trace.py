"""When a step's memory peaked, and what it was doing then.

`ru_maxrss` (what the runner reports) says how high a step went, not where. `RssTrace` samples the
process's resident set from `/proc/self/statm` on a background thread while the step runs, keeping
the highest sample and when it was taken; `dbt_nodes_at` names the dbt nodes running at that
moment from `run_results.json`, so "4.8 GiB" comes with "during stg_oecd__flows" (or "before dbt
started": the audit copy). Sampling misses a spike shorter than its interval, so the peak it
finds can sit a little below `ru_maxrss`; both are kept.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / 2**20


def resident_mib() -> float:
    """This process's resident set now (Linux: the second field of /proc/self/statm, in pages)."""
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * PAGE_MIB


class RssTrace:
    """Sample this process's RSS every `interval_s` between `with` entry and exit."""

    def __init__(self, interval_s: float = 0.2):
        self.interval_s = interval_s
        self.peak_mib = 0.0
        self.peak_at = 0.0  # wall clock (time.time()) of the peak sample
        self.started_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-trace", daemon=True)

    def __enter__(self) -> RssTrace:
        self.started_at = time.time()
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _sample(self) -> None:
        mib = resident_mib()
        if mib > self.peak_mib:
            self.peak_mib, self.peak_at = mib, time.time()

    def summary(self) -> dict[str, Any]:
        return {"sampled_peak_mib": round(self.peak_mib), "peak_after_s": round(self.peak_at - self.started_at, 1)}


def dbt_nodes_at(run_results: Path, moment: float) -> list[str] | None:
    """The dbt nodes executing at `moment` (epoch seconds), or None without run results.

    An empty list means dbt ran no node then: before its first node (the audit copy, dbt's
    parse), between nodes, or after its last.
    """
    if not run_results.exists():
        return None
    data = json.loads(run_results.read_text(encoding="utf-8"))
    running = []
    for node in data.get("results", []):
        for phase in node.get("timing", []):
            if phase.get("name") != "execute" or not phase.get("started_at") or not phase.get("completed_at"):
                continue
            if _epoch(phase["started_at"]) <= moment <= _epoch(phase["completed_at"]):
                running.append(node["unique_id"].split(".", 2)[-1])
    return running


def dbt_started_at(run_results: Path) -> float | None:
    """When dbt's first node began executing (epoch seconds)."""
    if not run_results.exists():
        return None
    data = json.loads(run_results.read_text(encoding="utf-8"))
    starts = [
        _epoch(phase["started_at"])
        for node in data.get("results", [])
        for phase in node.get("timing", [])
        if phase.get("started_at")
    ]
    return min(starts) if starts else None


def _epoch(stamp: str) -> float:
    # dbt writes UTC timestamps with a trailing Z
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
