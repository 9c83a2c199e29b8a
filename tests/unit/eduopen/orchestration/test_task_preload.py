"""The scheduler's workers start from a forkserver that preloaded what the tasks import.

Run as Airflow runs it: the local mode's environment, Airflow's own start-method set-up for the
scheduler, then a process started the way LocalExecutor starts its workers, which reports what it
found already imported. A task forked from such a worker inherits exactly that.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

from demo.airflow_local import TASK_PRELOAD_SETTINGS, airflow_env
from eduopen.core.paths import PROJECT_DIR, Home

MARKER = "@@EDUOPEN-JSON@@"
# What the hot-path tasks would otherwise import themselves: the gate, dbt, DuckDB, the pipeline.
HEAVY = ("great_expectations", "dbt.cli.main", "duckdb", "eduopen.pipeline", "expectations.validate", "eduopen.publish")

WORKER_PROBE = textwrap.dedent("""
    import json, multiprocessing, sys, threading
    from airflow.utils.process_utils import set_component_mp_start_method

    def worker(queue, heavy):
        preload = sys.modules.get("eduopen.orchestration.task_preload")
        queue.put({
            "start_method": multiprocessing.get_start_method(),
            "imported": [m for m in heavy if m in sys.modules],
            "not_preloaded": getattr(preload, "NOT_PRELOADED", None),
        })

    if __name__ == "__main__":
        set_component_mp_start_method("scheduler")
        heavy = sys.argv[1].split(",")
        queue = multiprocessing.SimpleQueue()
        process = multiprocessing.Process(target=worker, args=(queue, heavy))
        process.start()
        found = queue.get()
        process.join()
        found["scheduler_imported"] = [m for m in heavy if m in sys.modules]
        print("@@EDUOPEN-JSON@@" + json.dumps(found))
""")


def test_a_scheduler_worker_starts_with_the_task_modules_already_imported(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(WORKER_PROBE, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(probe), ",".join(HEAVY)],
        env=airflow_env(Home(tmp_path / "home")),
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in reversed(result.stdout.splitlines()) if line.startswith(MARKER))
    found = json.loads(line[len(MARKER) :])
    assert found["start_method"] == "forkserver"
    assert found["not_preloaded"] == []
    assert found["imported"] == list(HEAVY)
    # The scheduler itself stays light: only its workers carry the tasks' modules.
    assert found["scheduler_imported"] == []


def test_the_deployment_preloads_the_task_modules_as_the_local_mode_does() -> None:
    compose = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text(encoding="utf-8"))
    env = compose["x-airflow-common"]["environment"]
    assert {key: env.get(key) for key in TASK_PRELOAD_SETTINGS} == TASK_PRELOAD_SETTINGS
