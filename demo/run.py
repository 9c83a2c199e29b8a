"""`make demo`: the whole pipeline, offline, on the embedded default (DuckDB + Airflow local mode).

The recorded responses are replayed on loopback and every source is pointed at them with
`EDUOPEN_<SOURCE>_URL`, so the real HTTP client runs; the DAGs run through `airflow dags test`.
Before the run, the demo's real analyst files (UIS flows by destination) are dropped into the
home's landing folder, as an analyst would drop them.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from demo.replay.server import ReplayServer
from eduopen.core.config import Settings
from eduopen.core.errors import ConfigError
from eduopen.core.paths import Home

# Real analyst files the demo drops into landing/ (what they are: PROVENANCE.md beside them).
DEMO_LANDING_DIR = Path(__file__).resolve().parent / "replay" / "landing"
DEMO_LANDING_FILES = ("uis-popular-destinations-china-asean.csv",)
# Older than any landing settle_s, so the run that follows takes the files at once.
_SETTLED_AGE_S = 600


def drop_demo_landing_files(home: Home) -> list[Path]:
    """Copy the demo's real analyst files into `home`'s landing folder, as an analyst would drop them."""
    home.landing.mkdir(parents=True, exist_ok=True)
    dropped = []
    settled = time.time() - _SETTLED_AGE_S
    for name in DEMO_LANDING_FILES:
        target = home.landing / name
        shutil.copyfile(DEMO_LANDING_DIR / name, target)
        os.utime(target, (settled, settled))
        dropped.append(target)
    return dropped


def run_demo(*, use_airflow: bool = True, console: Console | None = None) -> dict[str, int]:
    console = console or Console(stderr=True)
    home = Home.from_env().ensure()
    started = time.monotonic()
    with ReplayServer() as replay:
        missing = replay.unreplayed(Settings.load().network_source_names())
        if missing:
            raise ConfigError(
                f"no recorded responses for {', '.join(missing)}: the offline demo would "
                "reach the live sites. Add a bundle under demo/replay/bundle/ or disable them."
            )
        os.environ.update(replay.env())
        # Loopback replay: the per-host politeness delay would only slow the demo down.
        os.environ.setdefault("EDUOPEN_MIN_DELAY_S", "0")
        os.environ["EDUOPEN_HOME"] = str(home.root)
        drop_demo_landing_files(home)
        console.print(f"[bold]EduOpen demo[/bold] · home {home.root} · replaying {', '.join(replay.sources)}")
        if use_airflow:
            from demo.airflow_local import DAG_IDS, dags_test, setup

            console.print("Airflow (local mode): preparing the metadata database…")
            setup(home)
            dags_test(home, DAG_IDS)
        else:
            from eduopen import pipeline

            pipeline.run_pipeline(["all"], home)
        requests = len(replay.requests())
    rows = published_rows(home)
    print_summary(console, home, rows, requests, time.monotonic() - started)
    return rows


def published_rows(home: Home) -> dict[str, int]:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        return {t: con.execute(f'select count(*) from marts."{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()


def print_summary(console: Console, home: Home, rows: dict[str, int], requests: int, seconds: float) -> None:
    table = Table(title="Published warehouse: rows per mart")
    table.add_column("mart")
    table.add_column("rows", justify="right")
    for name, count in rows.items():
        table.add_row(f"marts.{name}", f"{count:,}")
    console.print(table)
    console.print(f"Warehouse (open read-only): {home.warehouse}")
    console.print(f"Parquet exports:            {home.exports}")
    console.print(f"Report (open in a browser): {home.docs / 'report' / 'index.html'}")
    console.print(f"Data Docs (GX):             {home.docs / 'gx' / 'index.html'}")
    console.print(f"dbt docs:                   {home.docs / 'dbt' / 'index.html'}")
    console.print("All three on one port:      `.venv/bin/eduopen docs serve`, then http://127.0.0.1:8081")
    console.print("Airflow UI:                 `make airflow`, then http://localhost:8080")
    console.print(f"{requests} requests answered by the replay · {seconds:.0f}s in all")
