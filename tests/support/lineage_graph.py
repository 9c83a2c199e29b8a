"""The dataset graph a lineage tool would draw from an OpenLineage JSON-lines file."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

Dataset = tuple[str, str]


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def edges(events: list[dict[str, Any]]) -> dict[Dataset, set[Dataset]]:
    """input dataset → the output datasets of the same run (events of one run are merged, as the
    OpenLineage spec has a consumer do)."""
    runs: dict[str, tuple[set[Dataset], set[Dataset]]] = defaultdict(lambda: (set(), set()))
    for event in events:
        inputs, outputs = runs[event["run"]["runId"]]
        inputs.update((d["namespace"], d["name"]) for d in event.get("inputs") or [])
        outputs.update((d["namespace"], d["name"]) for d in event.get("outputs") or [])
    graph: dict[Dataset, set[Dataset]] = defaultdict(set)
    for inputs, outputs in runs.values():
        for source in inputs:
            graph[source] |= outputs
    return graph


def downstream(graph: dict[Dataset, set[Dataset]], start: Dataset) -> set[Dataset]:
    seen: set[Dataset] = set()
    todo = [start]
    while todo:
        for target in graph.get(todo.pop(), set()) - seen:
            seen.add(target)
            todo.append(target)
    return seen


def path_exists(graph: dict[Dataset, set[Dataset]], start: Dataset, end: Dataset) -> bool:
    return end in downstream(graph, start)
