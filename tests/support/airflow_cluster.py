"""Real services for the real-Airflow end-to-end test: PostgreSQL, the replay, an Airflow deployment.

Everything listens on loopback ports found free at start, writes its logs to files the test keeps,
and runs in a process group of its own, so `stop()` ends the whole tree (the scheduler's task
processes included) within a bounded time, whatever state the test left it in.

* `PostgresCluster` — a throwaway cluster (`initdb` in a temp dir, `pg_ctl start` on a free port,
  trust auth on loopback only). The server binaries come from Debian's `postgresql` package;
  `scripts/ensure_postgres.sh` installs it when missing, and the test is skipped if that cannot be
  done. `initdb` refuses to run as root, so as root the cluster runs as the `postgres` OS user.
* `ReplayProcess` — `python -m demo.replay --port-base N`, parsed for the `export` lines it prints.
* `AirflowCluster` — api-server, scheduler, dag-processor and triggerer as separate processes
  (`python -m airflow <component>`), with a REST client for `/api/v2`; under CeleryExecutor, also
  `airflow celery worker` processes, each with a hostname of its own.
* `RedisServer` — a throwaway `redis-server` (the Celery broker) on a free loopback port, data in a
  temp dir; `scripts/ensure_redis.sh` installs Debian's package when missing.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

PROJECT_DIR = Path(__file__).resolve().parents[2]
ENSURE_POSTGRES = PROJECT_DIR / "scripts" / "ensure_postgres.sh"
ENSURE_REDIS = PROJECT_DIR / "scripts" / "ensure_redis.sh"
INSTALL_TIMEOUT_S = 240
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# Virtual time the UI (a single-page app) gets to fetch its data and render before a snapshot.
UI_SETTLE_MS = 15_000
# The scheduler and triggerer would serve their logs on fixed ports (8793/8794) on every interface;
# here all components share one log folder, which the api-server reads directly.
COMPONENT_ARGS = {"scheduler": ["--skip-serve-logs"], "triggerer": ["--skip-serve-logs"]}


# -- ports -------------------------------------------------------------------------------------


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_block(count: int, *, low: int = 20000, high: int = 60000) -> int:
    """First of `count` consecutive free loopback ports (the replay serves one source per port)."""
    rng = secrets.SystemRandom()
    for _ in range(200):
        base = rng.randrange(low, high - count)
        if all(_bindable(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports on 127.0.0.1")


# -- processes ---------------------------------------------------------------------------------


def stop_group(proc: subprocess.Popen, *, sig: int = signal.SIGTERM, timeout_s: float = 20) -> None:
    """Signal the process group `proc` leads, wait up to `timeout_s`, then SIGKILL what is left."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            pass
    # Children (task processes, workers) may outlive their leader: the group goes in any case.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except FileNotFoundError:
        return f"(no log at {path})"


def wait_for(
    what: str,
    check: Callable[[], Any],
    *,
    timeout_s: float,
    interval_s: float = 0.5,
    alive: Callable[[], None] | None = None,
) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        if alive is not None:
            alive()
        try:
            value = check()
        except (requests.RequestException, OSError, ValueError) as exc:
            last_error, value = exc, None
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(
        f"timed out after {timeout_s:.0f}s waiting for {what}" + (f" (last error: {last_error})" if last_error else "")
    )


# -- PostgreSQL --------------------------------------------------------------------------------


def postgres_bin_dir() -> Path | None:
    """Directory of initdb/pg_ctl: Debian's newest /usr/lib/postgresql/<major>/bin, else PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb and shutil.which("pg_ctl") else None


def ensure_postgres() -> Path:
    """The server binaries, installed by `scripts/ensure_postgres.sh` if needed; skips when impossible."""
    if postgres_bin_dir() is None and ENSURE_POSTGRES.exists():
        try:
            subprocess.run(["bash", str(ENSURE_POSTGRES)], capture_output=True, timeout=INSTALL_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            pass
    found = postgres_bin_dir()
    if found is None:
        pytest.skip("PostgreSQL server is not installed and scripts/ensure_postgres.sh could not install it")
    return found


def metadata_drivers() -> tuple[str, str | None]:
    """SQLAlchemy drivers for Airflow's sync and async metadata engines, or skip saying what to add.

    Airflow 3.3 opens its metadata DB twice: with the driver of `sql_alchemy_conn` (psycopg2, the
    one Airflow recommends) and with an async engine whose URL it derives with asyncpg. Returns
    (sync driver, async driver, None meaning "derived by Airflow").
    """
    if all(importlib.util.find_spec(name) is not None for name in ("psycopg2", "asyncpg")):
        return "psycopg2", None
    pytest.skip(
        "no PostgreSQL driver for Airflow's metadata DB in this environment: add `psycopg2-binary` "
        "and `asyncpg` to the project's dependencies (what apache-airflow[postgres] brings)"
    )


class PostgresCluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1:`port`, data and socket in a temp dir."""

    def __init__(self, bin_dir: Path, *, port: int | None = None):
        self.bin_dir = bin_dir
        self.port = port or free_port()
        # Not under pytest's tmp dir: that is private to root, and the server may run as `postgres`.
        self.root = Path(tempfile.mkdtemp(prefix="eduopen-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.as_postgres = os.geteuid() == 0
        self.started = False

    def _run(self, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False, cwd=self.root)
        if result.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed ({result.returncode}): {result.stderr[-2000:]}\n{tail(self.log, 2000)}"
            )
        return result

    def start(self) -> PostgresCluster:
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200 -c shared_buffers=64MB"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        self.started = True
        return self

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def url(self, database: str, driver: str) -> str:
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def restart(self) -> None:
        """Stop the server as a crash would (`immediate`: no checkpoint, every connection cut) and start it again."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "immediate", "-w", "-t", "60", "restart")

    def stop(self) -> None:
        try:
            if self.started:
                with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                    self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop", timeout_s=45)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


# -- the replay, as a separate process ---------------------------------------------------------


class ReplayProcess:
    """`python -m demo.replay --port-base N`: the recorded sites, in their own process, as in a deployment."""

    def __init__(self, log_path: Path, *, scenarios: Iterable[str] = ()):
        self.log_path = log_path
        self.scenarios = list(scenarios)
        self.proc: subprocess.Popen | None = None
        self.env: dict[str, str] = {}

    def start(self, timeout_s: float = 30) -> ReplayProcess:
        from demo.replay.server import BUNDLE_DIR

        count = sum(1 for p in BUNDLE_DIR.iterdir() if p.is_dir())
        command = [sys.executable, "-m", "demo.replay", "--port-base", str(free_port_block(count))]
        for name in self.scenarios:
            command += ["--scenario", name]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                bufsize=0,
                cwd=PROJECT_DIR,
                start_new_session=True,
            )
        assert self.proc.stdout is not None
        # Raw reads: a buffered reader could swallow the last lines while select() waits on the fd.
        fd, pending = self.proc.stdout.fileno(), b""
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            deadline = time.monotonic() + timeout_s
            while "EDUOPEN_MIN_DELAY_S" not in self.env:
                if self.proc.poll() is not None or not selector.select(max(0.0, deadline - time.monotonic())):
                    raise RuntimeError(f"replay did not start: {tail(self.log_path)}")
                pending += os.read(fd, 65536)
                *lines, pending = pending.split(b"\n")
                for line in (raw.decode() for raw in lines):
                    if line.startswith("export ") and "=" in line:
                        key, value = line[len("export ") :].strip().split("=", 1)
                        self.env[key] = value
        return self

    def url(self, source: str) -> str:
        from eduopen.core.config import source_url_var

        return self.env[source_url_var(source).name]

    def set_scenarios(self, *names: str) -> list[str]:
        """Switch the overlays of the running replay (shared by every source's port)."""
        answer = requests.get(f"{self.url('moe_zh')}/__replay__/scenarios", params={"set": ",".join(names)}, timeout=5)
        answer.raise_for_status()
        return answer.json()

    def requests(self) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.url('moe_zh')}/__replay__/requests", timeout=5)
        answer.raise_for_status()
        return answer.json()

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc, sig=signal.SIGINT, timeout_s=10)


# -- Airflow -----------------------------------------------------------------------------------


def airflow_deployment_env(
    base: Mapping[str, str],
    *,
    database_url: str,
    async_database_url: str | None,
    api_port: int,
    executor: str = "LocalExecutor",
) -> dict[str, str]:
    """What the four components share: the Postgres metadata DB, the executor, the API on `api_port`.

    `base` is `demo.airflow_local.airflow_env(home)` (EDUOPEN_*, AIRFLOW_HOME, dags folder, logs);
    the secrets are fresh per deployment and shared by every component, as they must be.
    """
    env = dict(base)
    api = f"http://127.0.0.1:{api_port}"
    env.update(
        {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
            "AIRFLOW__CORE__EXECUTOR": executor,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": api,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        }
    )
    if async_database_url:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = async_database_url
    return env


class AirflowCluster:
    """The four Airflow 3 components as subprocesses, each in its own process group, logging to files."""

    def __init__(self, env: Mapping[str, str], logs: Path, api_port: int):
        self.env = dict(env)
        self.logs = logs
        self.api_port = api_port
        self.procs: dict[str, subprocess.Popen] = {}
        self.session = requests.Session()
        logs.mkdir(parents=True, exist_ok=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def cli(self, *args: str, timeout_s: float = 300) -> float:
        """Run `airflow <args>` to completion; returns its wall time. Fails with the log's tail."""
        log = self.logs / f"cli-{'-'.join(args[:2])}.log"
        started = time.monotonic()
        with log.open("w") as out:
            code = subprocess.run(
                [sys.executable, "-m", "airflow", *args],
                env=self.env,
                cwd=PROJECT_DIR,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout_s,
                check=False,
            ).returncode
        if code != 0:
            raise AssertionError(f"airflow {' '.join(args)} exited {code}:\n{tail(log)}")
        return time.monotonic() - started

    def start(self, components: Iterable[str] = COMPONENTS) -> None:
        for name in components:
            with (self.logs / f"{name}.log").open("w") as out:
                command = [sys.executable, "-m", "airflow", name, *COMPONENT_ARGS.get(name, [])]
                self.procs[name] = subprocess.Popen(
                    command,
                    env=self.env,
                    cwd=PROJECT_DIR,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )

    def start_celery_workers(self, count: int, *, concurrency: int) -> list[str]:
        """`count` Celery workers on the default queue; returns their names (`celery-worker-<n>`).

        On one machine every worker would report the same fully qualified host name, so each gets
        its own (`worker_hostname`): the name Celery knows it by, and the `hostname` its task
        instances record in the metadata DB.
        """
        names = []
        for number in range(1, count + 1):
            name = f"celery-worker-{number}"
            env = {**self.env, WORKER_HOSTNAME_VAR: name, "AIRFLOW__CORE__HOSTNAME_CALLABLE": WORKER_HOSTNAME_CALLABLE}
            command = [
                sys.executable, "-m", "airflow", "celery", "worker",
                "--celery-hostname", f"{name}@%h",
                "--concurrency", str(concurrency),
                # Every worker would write the same pid file under AIRFLOW_HOME and serve logs on
                # the same port; the api-server reads the shared log folder instead.
                "--pid", str(self.logs / f"{name}.pid"),
                "--skip-serve-logs",
            ]  # fmt: skip
            with (self.logs / f"{name}.log").open("w") as out:
                self.procs[name] = subprocess.Popen(
                    command,
                    env=env,
                    cwd=PROJECT_DIR,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            names.append(name)
        return names

    def kill_tree(self, name: str) -> list[int]:
        """SIGKILL component `name` and every process below it at once, as when its machine dies;
        returns the pids killed. The component is forgotten (no longer checked by `assert_alive`)."""
        import psutil

        proc = self.procs.pop(name)
        try:
            leader = psutil.Process(proc.pid)
            tree = [leader, *leader.children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        for member in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                member.send_signal(signal.SIGKILL)
        psutil.wait_procs(tree, timeout=10)
        proc.wait(timeout=10)
        return [member.pid for member in tree]

    def restart(self, name: str) -> None:
        """Start the component again (as `restart: unless-stopped` would, e.g. after `kill_tree`); the
        log of its last life is kept beside the new one."""
        log = self.logs / f"{name}.log"
        if log.exists():
            lives = len(list(self.logs.glob(f"{name}.life-*.log")))
            log.rename(self.logs / f"{name}.life-{lives + 1}.log")
        self.start([name])

    def revive_exited(self) -> list[str]:
        """Restart every component that exited by itself; returns their names."""
        exited = [name for name, proc in self.procs.items() if proc.poll() is not None]
        for name in exited:
            self.restart(name)
        return exited

    def assert_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = tail(self.logs / f"{name}.log")
                raise AssertionError(f"airflow {name} exited ({proc.returncode}):\n{log}")

    def health(self) -> dict[str, Any]:
        answer = self.session.get(f"{self.base_url}/api/v2/monitor/health", timeout=5)
        answer.raise_for_status()
        return answer.json()

    def healthy(self) -> bool:
        health = self.health()
        parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        return all((health.get(part) or {}).get("status") == "healthy" for part in parts)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=15, **kwargs)
        if answer.status_code >= 400:
            raise AssertionError(f"{method} /api/v2{path}: HTTP {answer.status_code}: {answer.text[:500]}")
        return answer.json() if answer.content else None

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100, "order_by": "id"})["dag_runs"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        instances = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})[
            "task_instances"
        ]
        return {ti["task_id"]: ti["state"] for ti in instances}

    def render(self, path: str, *, screenshot_to: Path | None = None, width: int = 1400, height: int = 1300) -> str:
        """The UI page at `path` as a browser shows it: the DOM once rendered (and a PNG if asked).

        The UI is a single-page app that fetches its data after the load event, so the browser is
        given virtual time for its requests and rendering to finish.
        """
        from tests.support import browser

        url = f"{self.base_url}{path}"
        if screenshot_to is not None:
            browser.screenshot(url, screenshot_to, width=width, height=height, settle_ms=UI_SETTLE_MS)
        return browser.dump_dom(url, width=width, height=height, settle_ms=UI_SETTLE_MS)

    def stop(self, timeout_s: float = 30) -> None:
        """SIGTERM every component's group at once (they shut down in parallel), then SIGKILL leftovers."""
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for proc in self.procs.values():
            stop_group(proc, timeout_s=max(0.0, deadline - time.monotonic()))
        self.session.close()


# -- Celery: the broker and the workers' names -------------------------------------------------

WORKER_HOSTNAME_VAR = "EDUOPEN_TEST_WORKER_HOSTNAME"
WORKER_HOSTNAME_CALLABLE = "tests.support.airflow_cluster.worker_hostname"


def worker_hostname() -> str:
    """`[core] hostname_callable` of a test Celery worker: the name `start_celery_workers` gave it."""
    return os.environ[WORKER_HOSTNAME_VAR]


def celery_env(*, broker_url: str, result_backend: str, worker_concurrency: int) -> dict[str, str]:
    """What CeleryExecutor adds to `airflow_deployment_env`: Redis as broker, Postgres as result backend."""
    return {
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(worker_concurrency),
    }


def ensure_redis() -> str:
    """`redis-server`'s path, installed by `scripts/ensure_redis.sh` if needed; skips when impossible."""
    if shutil.which("redis-server") is None and ENSURE_REDIS.exists():
        try:
            subprocess.run(["bash", str(ENSURE_REDIS)], capture_output=True, timeout=INSTALL_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            pass
    found = shutil.which("redis-server")
    if found is None:
        pytest.skip("redis-server is not installed and scripts/ensure_redis.sh could not install it")
    return found


class RedisServer:
    """A throwaway `redis-server` on 127.0.0.1:`port`: no persistence, working dir in a temp dir."""

    def __init__(self, binary: str, log_path: Path, *, port: int | None = None):
        self.binary = binary
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="eduopen-redis-"))
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self, timeout_s: float = 30) -> RedisServer:
        command = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
            "--save", "", "--appendonly", "no", "--daemonize", "no",
        ]  # fmt: skip
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )

        def alive() -> None:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited ({self.proc.returncode}):\n{tail(self.log_path)}")

        wait_for("redis-server to answer PING", self.ping, timeout_s=timeout_s, interval_s=0.2, alive=alive)
        return self

    def stop(self) -> None:
        try:
            if self.proc is not None:
                stop_group(self.proc, timeout_s=10)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
