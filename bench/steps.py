"""The measured steps, each run in its own child process by `bench.__main__`.

A fresh process per step gives every step its own peak memory (the parent reads the child's
`ru_maxrss` when it reaps it), keeps one step's caches (dbt's adapter, DuckDB's buffer pool) out
of the next step's time, and lets the parent stop a step that overruns the budget.

    python -m bench.steps STEP '{"home": "...", ...}'

prints progress lines, then one line `@@BENCH@@{json}` with the step's figures. Times are taken
around the call being measured, so the interpreter start and imports are not part of them.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from bench.rss_trace import RssTrace, dbt_nodes_at, dbt_started_at

MARKER = "@@BENCH@@"
STEPS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def step(func: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    STEPS[func.__name__.removeprefix("step_")] = func
    return func


def say(message: str) -> None:
    print(f"    {message}", flush=True)


def _home(args: dict[str, Any]) -> Any:
    from eduopen.core.paths import Home

    return Home(Path(args["home"]))


def _anchor(args: dict[str, Any]) -> date | None:
    return date.fromisoformat(args["anchor"]) if args.get("anchor") else None


# -- warehouse --------------------------------------------------------------------------------


@step
def step_generate(args: dict[str, Any]) -> dict[str, Any]:
    from bench import scale

    home = _home(args)
    started = time.perf_counter()
    rows = scale.generate(home, args["scale"], seed=args["seed"], anchor=_anchor(args), progress=say)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": rows, "catalog_mib": home.catalog.stat().st_size / 2**20}


@step
def step_append(args: dict[str, Any]) -> dict[str, Any]:
    from bench import scale

    home = _home(args)
    started = time.perf_counter()
    rows = scale.append_increment(home, args["scale"], seed=args["seed"], anchor=_anchor(args), progress=say)
    return {"seconds": time.perf_counter() - started, "rows": rows}


@step
def step_plain_sql(args: dict[str, Any]) -> dict[str, Any]:
    from bench import plain_sql

    target = Path(args["target"])
    result = plain_sql.build(_home(args), target, progress=say)
    result["fingerprints"] = plain_sql.fingerprints(target)
    slowest = sorted(result["steps"].items(), key=lambda item: -item[1])[:5]
    result["slowest"] = [{"step": name, "s": s} for name, s in slowest]
    del result["steps"]
    return result


@step
def step_transform(args: dict[str, Any]) -> dict[str, Any]:
    from bench import plain_sql
    from eduopen.warehouse.build import transform
    from eduopen.warehouse.dbt import dbt_dir

    home = _home(args)
    if args.get("cold_parse"):
        # what dbt parses from scratch on a new home; a repeat would otherwise parse only changes
        (dbt_dir(home) / "target" / "partial_parse.msgpack").unlink(missing_ok=True)
    started = time.perf_counter()
    with RssTrace() as trace:
        # `select` (a dbt selector) builds part of the graph: a memory probe of one heavy model
        summary = transform(home, full_refresh=args["full_refresh"], select=args.get("select"))
    seconds = time.perf_counter() - started
    run_results = dbt_dir(home) / "target" / "run_results.json"
    result: dict[str, Any] = {
        "seconds": seconds,
        "nodes": {key: summary[key] for key in ("models", "seeds", "tests", "unit_tests")},
        "warnings": summary.get("warnings", []),
        "dbt": _run_results(run_results),
        "memory": {**trace.summary(), "peak_during": _peak_during(run_results, trace.peak_at)},
    }
    if args.get("fingerprints"):
        result["fingerprints"] = plain_sql.fingerprints(home.audit)
    return result


def _peak_during(run_results: Path, moment: float) -> list[str] | str:
    """The dbt nodes running at the memory peak, or the phase of `transform` outside them."""
    nodes = dbt_nodes_at(run_results, moment)
    if nodes:
        return nodes
    first = dbt_started_at(run_results)
    if first is None or moment < first:
        return "before dbt's first node (audit copy, dbt parse)"
    return "between dbt nodes"


def _run_results(path: Path) -> dict[str, Any]:
    """Where dbt's time went: its own elapsed time, node time by kind, and the slowest nodes."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    nodes = data.get("results", [])
    by_kind: dict[str, float] = {}
    for node in nodes:
        kind = node["unique_id"].split(".", 1)[0]
        by_kind[kind] = by_kind.get(kind, 0.0) + float(node.get("execution_time") or 0)
    slowest = sorted(nodes, key=lambda n: -float(n.get("execution_time") or 0))[:6]
    return {
        "elapsed_s": round(float(data.get("elapsed_time") or 0), 2),
        # node seconds add up to more than elapsed: dbt runs `threads` nodes at once
        "node_s_by_kind": {k: round(v, 2) for k, v in sorted(by_kind.items())},
        "slowest": [
            {"node": n["unique_id"].split(".", 2)[-1], "s": round(float(n["execution_time"]), 2)} for n in slowest
        ],
    }


@step
def step_validate(args: dict[str, Any]) -> dict[str, Any]:
    from eduopen import pipeline

    started = time.perf_counter()
    with RssTrace() as trace:
        record = pipeline.validate(_home(args))
    return {
        "seconds": time.perf_counter() - started,
        "statistics": record["statistics"],
        "success": record["success"],
        "memory": trace.summary(),
    }


@step
def step_publish(args: dict[str, Any]) -> dict[str, Any]:
    from eduopen import pipeline

    started = time.perf_counter()
    result = pipeline.publish(home=_home(args))
    return {"seconds": time.perf_counter() - started, "rows": result["rows"]}


@step
def step_warehouse_dag(args: dict[str, Any]) -> dict[str, Any]:
    """The warehouse DAG through `airflow dags test` on a generated home, dbt drawn per node by Cosmos.

    `dags test` runs the tasks one after another in one process, so the dbt stage's wall time is
    what its tasks cost together: each dbt start-up, node and test, none of it overlapping.
    """
    from demo.airflow_local import dags_test, metadata_db
    from eduopen.core.config import DBT_MANIFEST, DBT_TASKS

    home = _home(args)
    os.environ[DBT_TASKS.name] = "per_node"
    os.environ.pop(DBT_MANIFEST.name, None)
    started = time.perf_counter()
    [run] = dags_test(home, ["eduopen_warehouse"], say)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "dags_test_s": run["seconds"], **_task_times(metadata_db(home), run["run_id"])}


# Cosmos's task id suffixes, most specific first.
_DBT_TASK_KINDS = ("model_build", "seed_build", "source_test", "source", "test")


def _task_times(db: Path, run_id: str) -> dict[str, Any]:
    """Seconds per task of one warehouse run, and the dbt stage's: wall time, tasks, mean per task."""
    import sqlite3

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "select task_id, state, duration, (julianday(start_date) - 2440587.5) * 86400, "
            "(julianday(end_date) - 2440587.5) * 86400 from task_instance "
            "where dag_id = 'eduopen_warehouse' and run_id = ?",
            [run_id],
        ).fetchall()
    finally:
        con.close()
    dbt = [row for row in rows if row[0].startswith("dbt")]
    kinds: dict[str, int] = {}
    for task_id, *_ in dbt:
        kind = next((suffix for suffix in _DBT_TASK_KINDS if task_id.endswith(f"_{suffix}")), "other")
        kinds[kind] = kinds.get(kind, 0) + 1
    wall = (max(row[4] for row in dbt) - min(row[3] for row in dbt)) if dbt else None
    return {
        "states": sorted({row[1] for row in rows}),
        "task_s": {
            task_id: round(duration or 0.0, 2) for task_id, _, duration, _, _ in rows if not task_id.startswith("dbt")
        },
        "dbt_tasks": len(dbt),
        "dbt_tasks_by_kind": dict(sorted(kinds.items())),
        "dbt_wall_s": round(wall, 1) if wall is not None else None,
        "dbt_task_s_sum": round(sum(row[2] or 0.0 for row in dbt), 1),
        "dbt_task_s_mean": round(sum(row[2] or 0.0 for row in dbt) / len(dbt), 2) if dbt else None,
    }


# -- ingest -----------------------------------------------------------------------------------


@step
def step_parse(args: dict[str, Any]) -> dict[str, Any]:
    """Parse throughput of the real parsers on the recorded bundle bytes (no HTTP, no storage)."""
    from demo.replay.server import BUNDLE_DIR
    from ingest.figures import extract_figures
    from ingest.sources.moe_zh.article import parse_article
    from ingest.sources.uis.parse import parse_data

    min_s = float(args.get("min_s", 3.0))
    moe = BUNDLE_DIR / "moe_zh"
    recorded = [
        (p.read_bytes(), "http://www.moe.gov.cn/" + p.relative_to(moe).as_posix(), _content_type(p))
        for p in sorted(moe.rglob("t*.html"))
    ]
    # The bundle also holds pages broken on purpose (cut off, no body) for the quarantine tests.
    articles = [item for item in recorded if _parses(parse_article, *item)]
    uis = [
        p.read_bytes()
        for p in sorted((BUNDLE_DIR / "uis" / "api" / "public" / "data").iterdir())
        if not p.name.endswith(".headers.json")
    ]

    def articles_once() -> int:
        for data, url, content_type in articles:
            parse_article(data, url, content_type)
        return len(articles)

    def articles_with_figures_once() -> int:
        # what ingest does per article: parse, then pull the headline figures out of the text
        for data, url, content_type in articles:
            record = parse_article(data, url, content_type)
            year = record.published_at.year if record.published_at else None
            extract_figures(f"{record.title}\n{record.body_text}", language="zh", published_year=year)
        return len(articles)

    def uis_once() -> int:
        return sum(len(parse_data(data).records) for data in uis)

    result = {
        "articles": len(articles),
        "articles_refused": len(recorded) - len(articles),
        "article_bytes": sum(len(item[0]) for item in articles),
        "uis_answers": len(uis),
        "uis_bytes": sum(len(d) for d in uis),
    }
    measured = (
        ("releases_per_s", articles_once),
        ("releases_with_figures_per_s", articles_with_figures_once),
        ("observations_per_s", uis_once),
    )
    for name, call in measured:
        result[name] = _throughput(call, min_s)
    say(f"parse: {result['releases_per_s']:.0f} releases/s, {result['observations_per_s']:.0f} observations/s")
    return result


def _content_type(page: Path) -> str:
    """The Content-Type the replay server sends for a recorded page (a sidecar may override it)."""
    sidecar = page.with_name(page.name + ".headers.json")
    if sidecar.exists():
        return json.loads(sidecar.read_text(encoding="utf-8")).get("Content-Type", "text/html")
    return "text/html; charset=utf-8"


def _parses(parse: Callable[..., Any], data: bytes, url: str, content_type: str) -> bool:
    from eduopen.core.errors import ParseError

    try:
        parse(data, url, content_type)
    except ParseError:
        return False
    return True


def _throughput(call: Callable[[], int], min_s: float) -> float:
    """Items per second: repeat `call` for at least `min_s` in rounds, take the median round."""
    call()  # warm-up: imports, regex compilation
    rates = []
    deadline = time.perf_counter() + min_s
    while time.perf_counter() < deadline or len(rates) < 5:
        started = time.perf_counter()
        items = 0
        while time.perf_counter() - started < 0.2:
            items += call()
        rates.append(items / (time.perf_counter() - started))
    return statistics.median(rates)


@step
def step_nochange(args: dict[str, Any]) -> dict[str, Any]:
    """Ingest everything from the replay once, then measure a second, no-change run."""
    from demo.replay.server import ReplayServer
    from eduopen import pipeline
    from eduopen.core.config import Settings
    from eduopen.orchestration.watch import added_data

    home = _home(args).ensure()
    os.environ["EDUOPEN_HOME"] = str(home.root)
    os.environ["EDUOPEN_MIN_DELAY_S"] = "0"
    with ReplayServer() as replay:
        missing = replay.unreplayed(Settings.load().network_source_names())
        if missing:
            raise RuntimeError(f"sources without a replay bundle would reach the live web: {missing}")
        os.environ.update(replay.env())
        started = time.perf_counter()
        first = pipeline.ingest(["all"], home)
        first_s = time.perf_counter() - started
        first_requests = replay.requests()
        say(f"first ingest: {len(first_requests)} requests, {first_s:.1f} s")
        before = _raw_counts(home)
        replay.reset_log()
        started = time.perf_counter()
        second = pipeline.ingest(["all"], home)
        second_s = time.perf_counter() - started
        seen = replay.requests()
        after = _raw_counts(home)

    parsed = {
        "release_version",
        "release_figure",
        "observation",
        "flow_observation",
        "indicator_definition",
        "geo_unit_definition",
    }
    summaries = [s.as_dict() for s in second]
    fired = sorted({s["source"] for s in summaries if added_data([s])})
    unconditional = [f"{r.source} {r.path}" for r in seen if not r.conditional]
    return {
        "first_requests": len(first_requests),
        "first_s": first_s,
        "first_new_rows": sum(s.new_rows for s in first),
        "nochange_requests": len(seen),
        "nochange_conditional": sum(1 for r in seen if r.conditional),
        "nochange_not_modified": sum(1 for r in seen if r.status == 304),
        "nochange_unconditional": unconditional,
        # robots.txt is asked for once per source and run, without validators
        "nochange_robots_txt": sum(1 for r in seen if r.path.endswith("/robots.txt")),
        "nochange_s": second_s,
        # the ingest DAGs emit their raw Asset only when added_data() holds for a source
        "nochange_assets_fired": fired,
        "nochange_new_raw_rows": {t: after[t] - before[t] for t in sorted(parsed) if after[t] != before[t]},
        "nochange_summaries": summaries,
    }


def _raw_counts(home: Any) -> dict[str, int]:
    from ingest.raw_store import RAW_TABLES, RawStore

    with RawStore(home, read_only=True) as store:
        return {table: store.count(table) for table in RAW_TABLES}


def main(argv: list[str]) -> int:
    name, raw = argv[0], argv[1] if len(argv) > 1 else "{}"
    result = STEPS[name](json.loads(raw))
    print(MARKER + json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
