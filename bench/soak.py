"""Soak: many releases, one every few seconds, through a real Airflow deployment, analysts reading.

    python -m bench.soak [--releases 50] [--interval-s 5] [--readers 2] [--output PATH]

The deployment is the end-to-end test's (PostgreSQL metadata DB, LocalExecutor, api-server,
scheduler, dag-processor and triggerer as separate processes); the recorded sites are served by a
`demo.replay` server in this process, whose scenario mechanism makes the releases appear: scenario
`soak_<n>` lists `n` synthetic releases on the MOE work-news listing (copies of the recorded new
release under new URLs and titles: synthetic data, bench only). Every `--interval-s` seconds the
next scenario is switched in; the release watcher, the ingest, the warehouse and the publish do
the rest, nothing is triggered by hand. Meanwhile `--readers` analysts
(`tests.reliability.analyst_reader`, a fresh read-only connection per query) read the published
marts in a loop.

Checked at the end: every release is in the published `fct_policy_release` exactly once; the
analysts saw no error; no EduOpen run failed or is left unfinished; the open files and the resident
memory of each long-lived Airflow component (its whole process tree, sampled whenever a publish
lands) do not grow: first, last and least-squares slope per publish are printed, growth is judged
on the second half of the samples (the first runs warm caches up). Results go to
`bench/results/history/<date>-soak-<cores>cores.json`. A check that fails makes the exit status 1.

Not part of `make test`: it keeps the machine busy for tens of minutes. Take the heavy-run lock
first on a shared machine: `flock /tmp/heavy.lock python -m bench.soak`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import psutil

from demo.airflow_local import airflow_env
from demo.replay.server import SCENARIOS_DIR, ReplayServer
from eduopen.core.paths import PROJECT_DIR, Home
from tests.support import airflow_cluster as cluster

EDUOPEN_DAGS = (
    "eduopen_ingest_releases",
    "eduopen_ingest_statistics",
    "eduopen_ingest_landing",
    "eduopen_warehouse",
    "eduopen_docs",
)
LONG_LIVED = ("api-server", "scheduler", "dag-processor", "triggerer")
FINISHED = {"success", "failed"}
LISTING = Path("moe_zh/jyb_xwfb/gzdt_gzdt/index.html")
TEMPLATE_ARTICLE = Path("moe_zh/jyb_xwfb/gzdt_gzdt/moe_1485/202401/t20240130_000004.html")
TEMPLATE_TITLE = "2024世界数字教育大会在上海开幕"
# Allowed drift on the second half of the samples: a few descriptors (a pooled connection opened
# late), and RSS that settles rather than climbs.
MAX_FD_SLOPE = 0.2  # descriptors per publish
MAX_RSS_SLOPE_MIB = 0.5  # MiB per publish
RESULTS = PROJECT_DIR / "bench" / "results" / "history"


# -- the releases -------------------------------------------------------------------------------


def synthetic_path(number: int) -> str:
    return f"moe_1485/202401/t20240130_9{number:05d}.html"


def write_scenarios(root: Path, count: int) -> tuple[Path, Path, list[str]]:
    """Scenarios `soak_1` … `soak_<count>` and the articles they list; returns (scenarios, articles, URL paths).

    Scenario n is the recorded `new_release` listing with its one new item replaced by the first n
    synthetic ones, newest first; every article is served from one extra root at all times, but is
    only reachable (listed) once its scenario is on.
    """
    template_dir = SCENARIOS_DIR / "new_release"
    listing = (template_dir / LISTING).read_text(encoding="utf-8")
    article = (template_dir / TEMPLATE_ARTICLE).read_text(encoding="utf-8")
    (new_item,) = [line for line in listing.splitlines() if TEMPLATE_ARTICLE.name in line]
    scenarios, articles = root / "scenarios", root / "articles"
    paths = []
    for number in range(1, count + 1):
        title = f"{TEMPLATE_TITLE}（浸泡测试合成稿 {number}）"
        target = articles / LISTING.parent / synthetic_path(number)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(article.replace(TEMPLATE_TITLE, title), encoding="utf-8")
        paths.append("/" + (LISTING.parent / synthetic_path(number)).as_posix().removeprefix("moe_zh/"))
    for shown in range(1, count + 1):
        items = [
            new_item.replace(TEMPLATE_ARTICLE.name, Path(synthetic_path(n)).name).replace(
                TEMPLATE_TITLE, f"{TEMPLATE_TITLE}（浸泡测试合成稿 {n}）"
            )
            for n in range(shown, 0, -1)
        ]
        page = scenarios / f"soak_{shown}" / LISTING
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(listing.replace(new_item, "\n".join(items)), encoding="utf-8")
    return scenarios, articles, paths


# -- reading the deployment ---------------------------------------------------------------------


def published_counts(home: Home, paths: list[str]) -> dict[str, int] | None:
    """Rows of the published fct_policy_release per release path; None while it cannot be read."""
    if not home.warehouse.exists():
        return None
    try:
        con = duckdb.connect(str(home.warehouse), read_only=True)
    except duckdb.Error:
        return None
    try:
        urls = [url for (url,) in con.execute("select url from marts.fct_policy_release").fetchall()]
    except duckdb.Error:
        return None
    finally:
        con.close()
    return {path: sum(1 for url in urls if url.endswith(path)) for path in paths}


def publishes(home: Home) -> int:
    path = home.state / "publish_log.jsonl"
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


def all_runs(af: cluster.AirflowCluster) -> dict[str, list[dict[str, Any]]]:
    return {dag_id: af.dag_runs(dag_id) for dag_id in EDUOPEN_DAGS}


def quiet(af: cluster.AirflowCluster) -> bool:
    return all(run["state"] in FINISHED for runs in all_runs(af).values() for run in runs)


def sample(af: cluster.AirflowCluster) -> dict[str, dict[str, float]]:
    """Open descriptors and resident MiB of each long-lived component's process tree."""
    out: dict[str, dict[str, float]] = {}
    for name in LONG_LIVED:
        fds, rss = 0, 0
        try:
            leader = psutil.Process(af.procs[name].pid)
            tree = [leader, *leader.children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        for proc in tree:
            try:
                fds += proc.num_fds()
                rss += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        out[name] = {"open_files": fds, "rss_mib": round(rss / 2**20, 1)}
    return out


def slope(values: list[float]) -> float:
    """Least-squares slope per sample (0 for fewer than two)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    den = sum((i - mean_x) ** 2 for i in range(n))
    return num / den


def growth(samples: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    half = len(samples) // 2
    for name in LONG_LIVED:
        report: dict[str, Any] = {}
        for key, limit in (("open_files", MAX_FD_SLOPE), ("rss_mib", MAX_RSS_SLOPE_MIB)):
            series = [s[name][key] for s in samples]
            late = slope(series[half:])
            report[key] = {
                "first": series[0] if series else None,
                "last": series[-1] if series else None,
                "slope_per_publish": round(slope(series), 3),
                "second_half_slope": round(late, 3),
                "grows": late > limit,
            }
        out[name] = report
    return out


def reader_outcomes(logs: list[Path]) -> dict[str, Any]:
    reads, errors = 0, []
    for log in logs:
        if not log.exists():
            errors.append(f"{log.name}: the analyst never wrote a line")
            continue
        for line in log.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if "error" in record:
                errors.append(record["error"])
            else:
                reads += 1
    return {"reads": reads, "errors": len(errors), "first_errors": errors[:5]}


# -- the soak -------------------------------------------------------------------------------------


def soak(releases: int, interval_s: float, readers: int, workdir: Path) -> dict[str, Any]:
    sync_driver, async_driver = cluster.metadata_drivers()
    scenarios_dir, articles, paths = write_scenarios(workdir / "replay", releases)
    home = Home(workdir / "home").ensure()
    logs = workdir / "logs"
    pg = cluster.PostgresCluster(cluster.ensure_postgres())
    replay = ReplayServer(scenarios_dir=scenarios_dir, extra_roots=[articles])
    af: cluster.AirflowCluster | None = None
    reader_procs: list[subprocess.Popen] = []
    control = workdir / "readers"
    control.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    try:
        pg.start().create_database("airflow")
        replay.start()
        api_port = cluster.free_port()
        base = {
            **os.environ,
            **replay.env(),
            "EDUOPEN_MIN_DELAY_S": "0",
            "EDUOPEN_WATCH_POLL_S": "2",
            "EDUOPEN_LANDING_SETTLE_S": "1",
            "EDUOPEN_DBT_TASKS": "single",
            "EDUOPEN_TASK_RETRY_DELAY_S": "5",
        }
        env = cluster.airflow_deployment_env(
            airflow_env(home, base),
            api_port=api_port,
            database_url=pg.url("airflow", sync_driver),
            async_database_url=pg.url("airflow", async_driver) if async_driver else None,
        )
        env["AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL"] = "5"
        env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] = "True"  # the soak's REST calls need no login
        af = cluster.AirflowCluster(env, logs, api_port)
        af.cli("db", "migrate")
        af.start()
        cluster.wait_for("Airflow to report healthy", af.healthy, timeout_s=300, interval_s=1, alive=af.assert_alive)
        af.api("POST", "/pools", json={"name": "eduopen_duckdb_writer", "slots": 1, "description": "EduOpen writer"})
        cluster.wait_for(
            "every EduOpen DAG to be registered",
            lambda: {d["dag_id"] for d in af.api("GET", "/dags", params={"limit": 100})["dags"]} >= set(EDUOPEN_DAGS),
            timeout_s=300,
            interval_s=1,
            alive=af.assert_alive,
        )
        for dag_id in EDUOPEN_DAGS:
            af.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        started = time.monotonic()
        cluster.wait_for("the first publish", lambda: publishes(home) > 0, timeout_s=900, interval_s=1,
                         alive=af.assert_alive)  # fmt: skip
        cluster.wait_for("the first pipeline to settle", lambda: quiet(af), timeout_s=900, interval_s=2,
                         alive=af.assert_alive)  # fmt: skip
        timings["first_pipeline_s"] = round(time.monotonic() - started, 1)

        reader_logs = [control / f"reader-{n}.jsonl" for n in range(readers)]
        for log in reader_logs:
            reader_procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.reliability.analyst_reader",
                        str(home.warehouse),
                        str(log),
                        str(control),
                        "reconnect",
                    ],
                    cwd=PROJECT_DIR,
                )  # fmt: skip
            )
        runs_before = {dag_id: {r["dag_run_id"] for r in runs} for dag_id, runs in all_runs(af).items()}
        samples = [sample(af)]
        publishes_before = seen_publishes = publishes(home)
        started = time.monotonic()
        next_release, shown = started, 0
        deadline = started + releases * interval_s + 1800
        while time.monotonic() < deadline:
            af.assert_alive()
            now = time.monotonic()
            if shown < releases and now >= next_release:
                shown += 1
                replay.set_scenarios(f"soak_{shown}")
                next_release += interval_s
            if (count := publishes(home)) > seen_publishes:
                seen_publishes = count
                samples.append(sample(af))
            if shown == releases:
                counts = published_counts(home, paths)
                if counts is not None and all(n >= 1 for n in counts.values()) and quiet(af):
                    break
            time.sleep(0.5)
        timings["releases_to_all_published_s"] = round(time.monotonic() - started, 1)
        samples.append(sample(af))
        (control / "stop").touch()
        for proc in reader_procs:
            proc.wait(timeout=30)

        counts = published_counts(home, paths) or {}
        runs = all_runs(af)
        new_runs = {
            dag_id: [r for r in dag_runs if r["dag_run_id"] not in runs_before[dag_id]]
            for dag_id, dag_runs in runs.items()
        }
        analysts = reader_outcomes(reader_logs)
        resources = growth(samples)
        checks = {
            "every_release_published_exactly_once": bool(counts) and all(n == 1 for n in counts.values()),
            "zero_analyst_errors": analysts["errors"] == 0 and analysts["reads"] > 0,
            "every_run_succeeded": all(r["state"] == "success" for rs in new_runs.values() for r in rs),
            "no_open_file_growth": not any(r["open_files"]["grows"] for r in resources.values()),
            "no_memory_growth": not any(r["rss_mib"]["grows"] for r in resources.values()),
        }
        return {
            "kind": "soak",
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "cores": os.cpu_count(),
            "releases": releases,
            "interval_s": interval_s,
            "readers": readers,
            "checks": checks,
            "published_rows_per_release": sorted(set(counts.values())),
            "releases_missing": [p for p, n in counts.items() if n == 0],
            "runs": {dag_id: len(rs) for dag_id, rs in new_runs.items()},
            "asset_triggered_runs": {
                dag_id: sum(1 for r in rs if r["run_type"] == "asset_triggered") for dag_id, rs in new_runs.items()
            },
            "publishes": publishes(home) - publishes_before,
            "analysts": analysts,
            "resources": resources,
            "samples": samples,
            "timings_s": timings,
        }
    finally:
        (control / "stop").touch()
        for proc in reader_procs:
            if proc.poll() is None:
                proc.kill()
        if af is not None:
            af.stop()
        replay.stop()
        pg.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", type=int, default=50)
    parser.add_argument("--interval-s", type=float, default=5.0)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, home) for a post-mortem")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="eduopen-soak-"))
    try:
        result = soak(args.releases, args.interval_s, args.readers, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    output = args.output or RESULTS / f"{stamp}-soak-{os.cpu_count()}cores.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"soak: {args.releases} releases every {args.interval_s:g}s, {result['publishes']} publishes, "
          f"runs {result['runs']}")  # fmt: skip
    print(f"analysts: {result['analysts']['reads']} reads, {result['analysts']['errors']} errors")
    for name, report in result["resources"].items():
        fds, rss = report["open_files"], report["rss_mib"]
        print(
            f"{name:14} open files {fds['first']}→{fds['last']} (slope {fds['slope_per_publish']:+.2f}/publish), "
            f"RSS {rss['first']}→{rss['last']} MiB (slope {rss['slope_per_publish']:+.2f} MiB/publish)"
        )
    for check, ok in result["checks"].items():
        print(f"{'ok  ' if ok else 'FAIL'} {check}")
    print(f"written to {output}")
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
