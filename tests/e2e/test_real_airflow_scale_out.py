"""Scale-out for real: CeleryExecutor with two workers runs the event-driven path, and survives losing one.

No Docker: a throwaway Redis (`redis-server`, the broker) and a throwaway PostgreSQL cluster (the
metadata DB and Celery's result backend) on free loopback ports; the api-server, scheduler,
dag-processor, triggerer and two `airflow celery worker` processes (default queue, concurrency 2,
each with a hostname of its own) as separate processes sharing one EDUOPEN_HOME, as workers on one
host share the Compose file's data volume. One cluster serves both checks:

1. **The event-driven path spreads over both workers.** Nothing is triggered by hand: the first
   pipeline runs on unpausing, then a new release appears at the replayed MOE site (the
   `new_release` scenario) and an analyst drops a file in the landing folder, exactly as in
   `test_real_airflow.py`. Every run succeeds; the task instances' hostnames in the metadata DB
   name both workers; the one-slot pool `eduopen_duckdb_writer` held cluster-wide (no two writer
   tasks overlapped, whichever worker ran them); and the published marts equal, table for table,
   those of the LocalExecutor run of the same replay (`tests.support.published_digest`, load
   times left out).
2. **A worker SIGKILLed while `dbt build` runs.** A full-refresh warehouse run is triggered (with
   nothing new, dbt would not run at all); while its dbt task
   holds the writer lock, the worker running it is killed with every process below it (as when its
   machine dies). Airflow's task heartbeat timeout fails the orphaned try and it is retried on the
   other worker. Proven on the way: before the kill the lock is held (a non-blocking `flock` from
   here is refused); after it the lock file still names the dead process, yet the lock is free
   (the kernel dropped it with the process), so the retry is not blocked.
   Kept: the published warehouse (untouched until the retry's publish), the raw store, the audit
   copy `prepare_audit` made (not redone). Lost: the first try's dbt work, redone from the start
   by the second try, and the heartbeat timeout in latency. The run publishes exactly once (one
   new line in the publish log, one try of `publish`), and what it publishes still equals the
   LocalExecutor run's.

What a deployment sets for this is in the Compose file's `celery` profile; the test shortens only
the waits (heartbeat timeout, retry delay, poll intervals).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import psutil
import pytest

from demo.airflow_local import airflow_env
from eduopen.core.paths import Home
from eduopen.orchestration.pools import WRITER_POOL
from eduopen.orchestration.watch import state_dir
from tests.support import airflow_cluster as cluster
from tests.support import published_digest

pytestmark = [pytest.mark.e2e, pytest.mark.airflow]

EDUOPEN_DAGS = (
    "eduopen_ingest_releases",
    "eduopen_ingest_statistics",
    "eduopen_ingest_landing",
    "eduopen_warehouse",
    "eduopen_docs",
)
NEW_RELEASE = "/jyb_xwfb/gzdt_gzdt/moe_1485/202401/t20240130_000004.html"
UIS_BROWSER_EXPORT = b"indicatorId,geoUnit,year,value,qualifier,magnitude\n26637,VNM,2019,5800,,\n"
WORKERS = 2
WORKER_CONCURRENCY = 2
# A try whose supervisor sent no heartbeat for this long is failed (and retried) by the scheduler.
HEARTBEAT_TIMEOUT_S = 45
FINISHED = {"success", "failed"}


def _releases(home: Home, url_suffix: str = "") -> int:
    """Published releases whose URL ends with `url_suffix`, or -1 while nothing is readable."""
    if not home.warehouse.exists():
        return -1
    try:
        con = duckdb.connect(str(home.warehouse), read_only=True)
    except duckdb.Error:
        return -1
    try:
        sql = "select count(*) from marts.fct_policy_release where url like ?"
        return int(con.execute(sql, [f"%{url_suffix}"]).fetchone()[0])
    except duckdb.Error:
        return -1
    finally:
        con.close()


def _quiet(af: cluster.AirflowCluster) -> bool:
    return all(run["state"] in FINISHED for dag_id in EDUOPEN_DAGS for run in af.dag_runs(dag_id))


def _task_instances(af: cluster.AirflowCluster) -> list[dict[str, Any]]:
    """Every task instance of every run, from the metadata DB through the REST API."""
    found: list[dict[str, Any]] = []
    while True:
        page = af.api("GET", "/dags/~/dagRuns/~/taskInstances", params={"limit": 100, "offset": len(found)})
        found += page["task_instances"]
        if not page["task_instances"] or len(found) >= page["total_entries"]:
            return found


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _assert_one_writer_at_a_time(instances: list[dict[str, Any]]) -> None:
    """The writer pool has one slot for the whole cluster: no two of its tasks ran at once.

    Only tries a worker ran count: a task the scheduler skips (its upstream skipped) gets start and
    end dates without ever taking a slot.
    """
    spans = sorted(
        (_at(ti["start_date"]), _at(ti["end_date"]), ti["hostname"], ti["task_id"])
        for ti in instances
        if ti["pool"] == WRITER_POOL and ti["hostname"] and ti["start_date"] and ti["end_date"]
    )
    assert len(spans) > 10
    overlaps = [(a, b) for a, b in zip(spans, spans[1:], strict=False) if b[0] < a[1]]
    assert not overlaps, f"writer tasks overlapped: {overlaps}"


def _publish_log(home: Home) -> list[dict[str, Any]]:
    path = home.state / "publish_log.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _lock_is_free(home: Home) -> bool:
    """Whether a non-blocking exclusive `flock` on the writer lock succeeds (given back at once)."""
    fd = os.open(home.lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def _lock_holder(home: Home) -> int | None:
    text = home.lock.read_text(encoding="ascii").strip() if home.lock.exists() else ""
    return int(text) if text.isdigit() else None


def test_two_celery_workers_run_the_event_driven_path_and_a_worker_killed_mid_dbt_loses_nothing_published(
    tmp_path: Path,
) -> None:
    sync_driver, async_driver = cluster.metadata_drivers()
    bin_dir = cluster.ensure_postgres()
    redis_binary = cluster.ensure_redis()
    logs = tmp_path / "logs"
    home = Home(tmp_path / "home").ensure()
    timings: dict[str, float] = {}
    pg = cluster.PostgresCluster(bin_dir)
    broker = cluster.RedisServer(redis_binary, logs / "redis.log")
    replay = cluster.ReplayProcess(logs / "replay.log")
    af: cluster.AirflowCluster | None = None
    try:
        started = time.monotonic()
        pg.start().create_database("airflow")
        broker.start()
        replay.start()
        api_port = cluster.free_port()
        base = {
            **os.environ,
            **replay.env,
            "EDUOPEN_WATCH_POLL_S": "2",
            "EDUOPEN_LANDING_SETTLE_S": "1",
            "EDUOPEN_TASK_RETRIES": "1",
            "EDUOPEN_TASK_RETRY_DELAY_S": "1",
            "EDUOPEN_DBT_TASKS": "single",
        }
        env = cluster.airflow_deployment_env(
            airflow_env(home, base),
            api_port=api_port,
            database_url=pg.url("airflow", sync_driver),
            async_database_url=pg.url("airflow", async_driver) if async_driver else None,
            executor="CeleryExecutor",
        )
        env.update(
            cluster.celery_env(
                broker_url=broker.url,
                result_backend=f"db+{pg.url('airflow', sync_driver)}",
                worker_concurrency=WORKER_CONCURRENCY,
            )
        )
        env["AIRFLOW__CELERY__TASK_ACKS_LATE"] = "True"
        env["AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER"] = "1"
        env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"] = str(HEARTBEAT_TIMEOUT_S)
        env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL"] = "5"
        env["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"] = "7200"
        env["AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL"] = "5"
        env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] = "True"  # the REST calls need no login
        af = cluster.AirflowCluster(env, logs, api_port)
        af.cli("db", "migrate")
        af.start()
        workers = af.start_celery_workers(WORKERS, concurrency=WORKER_CONCURRENCY)
        cluster.wait_for("the Airflow components to report healthy", af.healthy, timeout_s=180, alive=af.assert_alive)
        af.api("POST", "/pools", json={"name": WRITER_POOL, "slots": 1, "description": "one DuckDB writer"})
        cluster.wait_for(
            "the DAG processor to register every EduOpen DAG",
            lambda: {d["dag_id"] for d in af.api("GET", "/dags", params={"limit": 100})["dags"]} >= set(EDUOPEN_DAGS),
            timeout_s=120,
            alive=af.assert_alive,
        )
        assert af.api("GET", "/importErrors")["total_entries"] == 0
        timings["cluster_up_s"] = time.monotonic() - started

        # -- 1. the event-driven path, as on LocalExecutor ----------------------------------------
        started = time.monotonic()
        for dag_id in EDUOPEN_DAGS:
            af.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        cluster.wait_for("the first publish", lambda: _releases(home) > 0, timeout_s=600, alive=af.assert_alive)
        watch_state = state_dir(home) / "release_listings.json"
        cluster.wait_for(
            "the first pipeline to settle and the release watcher to poll",
            lambda: _quiet(af) and watch_state.exists(),
            timeout_s=300,
            alive=af.assert_alive,
        )
        assert _releases(home, NEW_RELEASE) == 0
        assert replay.set_scenarios("new_release") == ["new_release"]
        cluster.wait_for(
            "the new release in the published warehouse",
            lambda: _releases(home, NEW_RELEASE) == 1,
            timeout_s=300,
            alive=af.assert_alive,
        )
        dropped = home.landing / "uis_browser_export.csv"
        dropped.write_bytes(UIS_BROWSER_EXPORT)
        cluster.wait_for(
            "the landing DAG to load the dropped file",
            lambda: (home.landing / "processed" / dropped.name).exists(),
            timeout_s=180,
            alive=af.assert_alive,
        )
        cluster.wait_for("every run to finish", lambda: _quiet(af), timeout_s=300, alive=af.assert_alive)
        timings["event_driven_path_s"] = time.monotonic() - started

        for dag_id in EDUOPEN_DAGS:
            runs = af.dag_runs(dag_id)
            assert runs and [r["dag_run_id"] for r in runs if r["state"] != "success"] == [], dag_id
        instances = _task_instances(af)
        ran = [ti for ti in instances if ti["state"] == "success"]
        by_worker = {name: sorted({ti["task_id"] for ti in ran if ti["hostname"] == name}) for name in workers}
        print("\ntasks per worker: " + "; ".join(f"{name}: {len(tasks)}" for name, tasks in by_worker.items()))
        assert {ti["hostname"] for ti in ran} == set(workers), "every task ran on one of the two workers"
        assert all(by_worker.values()), f"a worker ran nothing: {by_worker}"
        _assert_one_writer_at_a_time(instances)
        published_on_celery = published_digest.published_digest(home.warehouse)

        # -- 2. the worker running `dbt build` is SIGKILLed ---------------------------------------
        started = time.monotonic()
        published_before = len(_publish_log(home))
        # A full refresh: with nothing new since the last build, dbt would rightly not run at all.
        trigger = {"logical_date": None, "conf": {"full_refresh": True}}
        run_id = af.api("POST", "/dags/eduopen_warehouse/dagRuns", json=trigger)["dag_run_id"]
        dbt_path = f"/dags/eduopen_warehouse/dagRuns/{run_id}/taskInstances/dbt_build"

        def dbt_holding_the_lock() -> tuple[str, int] | None:
            ti = af.api("GET", dbt_path)
            if ti["state"] != "running" or ti["hostname"] not in workers:
                return None
            holder = _lock_holder(home)
            tree = psutil.Process(af.procs[ti["hostname"]].pid).children(recursive=True)
            return (ti["hostname"], holder) if holder in {p.pid for p in tree} else None

        victim, holder = cluster.wait_for(
            "dbt_build to run and hold the writer lock", dbt_holding_the_lock, timeout_s=300, alive=af.assert_alive
        )
        survivor = next(name for name in workers if name != victim)
        time.sleep(3)  # well into `dbt build`, not at its first line
        assert af.api("GET", dbt_path)["state"] == "running", "dbt_build ended before the kill"
        assert not _lock_is_free(home), "the writer lock is not held while dbt builds"
        killed = af.kill_tree(victim)
        assert holder in killed and not psutil.pid_exists(holder)
        assert _lock_holder(home) == holder, "the dead writer's pid is still in the lock file"
        assert _lock_is_free(home), "the dead writer's lock outlived it"

        cluster.wait_for(
            "the warehouse run to finish on the surviving worker",
            lambda: next(r for r in af.dag_runs("eduopen_warehouse") if r["dag_run_id"] == run_id)["state"] in FINISHED,
            timeout_s=HEARTBEAT_TIMEOUT_S + 600,
            alive=af.assert_alive,
        )
        timings["kill_to_publish_s"] = time.monotonic() - started
        assert af.task_states("eduopen_warehouse", run_id) == {
            "prepare_audit": "success",
            "dbt_build": "success",
            "validate": "success",
            "publish": "success",
        }
        tries = af.api("GET", f"{dbt_path}/tries")["task_instances"]
        assert [(t["try_number"], t["hostname"]) for t in tries] == [(1, victim), (2, survivor)]
        assert tries[0]["state"] in {"failed", "up_for_retry"} and tries[1]["state"] == "success"
        run_tasks = {
            ti["task_id"]: ti
            for ti in af.api("GET", f"/dags/eduopen_warehouse/dagRuns/{run_id}/taskInstances")["task_instances"]
        }
        assert run_tasks["prepare_audit"]["try_number"] == 1 and run_tasks["publish"]["try_number"] == 1
        published = _publish_log(home)[published_before:]
        assert [entry["action"] for entry in published] == ["publish"], published
        assert published_digest.published_digest(home.warehouse) == published_on_celery
        _assert_one_writer_at_a_time(_task_instances(af))
        print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))

        print("published marts: " + json.dumps(published_on_celery, indent=1))
        reference = published_digest.load_reference(scenario=published_digest.SCENARIO)
        assert reference is not None, (
            f"no LocalExecutor reference for this code and replay in {published_digest.REFERENCE}: "
            "tests/e2e/test_real_airflow.py records it (make test runs it first, in the same unit)"
        )
        assert published_on_celery == reference
    finally:
        if af is not None:
            af.stop()
        replay.stop()
        broker.stop()
        pg.stop()
