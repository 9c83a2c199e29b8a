"""Alerts end to end: a failing gate, a failing source and a stale source, run by Airflow
(`dag.test()`), reach a local SMTP server and an Apprise endpoint through the notifier every
EduOpen task carries.

The DAG below is three EduOpen tasks wired as the DAG files wire them (`default_args`, the
pipeline's own steps): the quality gate on an audit warehouse whose only table has none of the
columns its suite expects, the moe_zh source pointed at a port where nothing listens, and source
freshness on a published warehouse whose newest release is months old. The SMTP server is aiosmtpd
on a free port (Airflow's `smtp_default` connection points at it); Apprise posts its `json://`
notification to a local HTTP server.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import duckdb
import pytest
from aiosmtpd.controller import Controller

from demo.airflow_local import airflow_env
from eduopen.core.paths import PROJECT_DIR, Home
from ingest.raw_store import SCHEMA

pytestmark = pytest.mark.airflow

RELEASE_SEEN = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)

PROBE_DAG = textwrap.dedent("""
    import sys
    from datetime import timedelta
    from airflow.sdk import dag, task
    from eduopen.orchestration.dag_support import (
        RAW_RELEASES, START_DATE, default_args, fail_without_retry_on_permanent_errors, ingest_and_announce_if_new,
    )

    @task
    def validate():
        from eduopen import pipeline
        with fail_without_retry_on_permanent_errors():
            return pipeline.validate()

    # One after the other, whatever the one before did: the tasks share this process's DuckDB handles.
    @task(trigger_rule="all_done")
    def ingest_moe_zh():
        return ingest_and_announce_if_new("moe_zh", RAW_RELEASES, None)

    @task(trigger_rule="all_done")
    def source_freshness():
        from eduopen.warehouse.freshness import require_fresh
        with fail_without_retry_on_permanent_errors():
            return require_fresh().as_dict()

    @dag(dag_id="eduopen_alert_probe", schedule=None, start_date=START_DATE, catchup=False,
         default_args=default_args(execution_timeout=timedelta(minutes=5)))
    def probe():
        validate() >> ingest_moe_zh() >> source_freshness()

    dag_object = probe()
    if __name__ == "__main__":
        print("@@STATE@@", dag_object.test().state)
""")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


class Posts(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    posts = Posts()
    threading.Thread(target=posts.serve_forever, daemon=True).start()
    try:
        home = Home(tmp_path_factory.mktemp("alerts") / "home").ensure()
        con = duckdb.connect(str(home.audit))
        con.execute("create schema marts; create table marts.dim_country as select 1 as unrelated")
        con.close()
        # The published warehouse: its raw tables as the DDL makes them, the newest release 40 days old.
        con = duckdb.connect(str(home.warehouse))
        con.execute("create schema raw; use raw")
        con.execute(SCHEMA)
        con.execute(
            "insert into release_version (source, url, content_sha256, language, title, first_seen_at) "
            "values ('moe_zh', 'https://www.moe.gov.cn/a.html', 'c0', 'zh', 'a release', ?)",
            [RELEASE_SEEN],
        )
        con.close()
        # dag.test() syncs the DAG folder to the metadata DB: a folder holding the probe DAG only.
        dags = home.root / "dags"
        dags.mkdir()
        dag_file = dags / "eduopen_alert_probe.py"
        dag_file.write_text(PROBE_DAG, encoding="utf-8")
        env = airflow_env(home, dags_folder=dags)
        env.update(
            {
                "EDUOPEN_TASK_RETRIES": "0",
                "EDUOPEN_ALERT_EMAIL_TO": "operator@eduopen.test, data@eduopen.test",
                "EDUOPEN_ALERT_APPRISE_URLS": f"json://127.0.0.1:{posts.server_port}/alerts",
                "EDUOPEN_DOCS_BASE_URL": "http://docs.eduopen.test:8000",
                "EDUOPEN_MOE_ZH_URL": f"http://127.0.0.1:{free_port()}",
                "EDUOPEN_MIN_DELAY_S": "0",
                "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(
                    {
                        "conn_type": "smtp",
                        "host": "127.0.0.1",
                        "port": smtp.port,
                        "extra": {
                            "from_email": "airflow@eduopen.test",
                            "disable_tls": True,
                            "disable_ssl": True,
                            "retry_limit": 0,
                        },
                    }
                ),
            }
        )
        migrate = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=env, cwd=PROJECT_DIR, capture_output=True, text=True
        )
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        run = subprocess.run(
            [sys.executable, str(dag_file)], env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600
        )
        yield {"home": home, "run": run, "emails": list(inbox.messages), "posts": list(posts.received)}
    finally:
        smtp.stop()
        posts.shutdown()


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html", "plain"))
    assert part is not None
    return str(part.get_content())


def _by_task(messages: list[EmailMessage], task_id: str) -> EmailMessage:
    found = [m for m in messages if f"eduopen_alert_probe.{task_id}" in str(m["Subject"])]
    assert len(found) == 1, [str(m["Subject"]) for m in messages]
    return found[0]


def test_the_failed_gate_emails_task_run_reason_and_the_data_docs_page_of_the_failed_validation(
    delivered: dict[str, Any],
) -> None:
    run = delivered["run"]
    assert "@@STATE@@ failed" in run.stdout, run.stderr[-4000:]
    message = _by_task(delivered["emails"], "validate")
    subject = str(message["Subject"])
    assert subject.startswith("[EduOpen] Quality gate failed (eduopen_alert_probe.validate, run manual__")
    assert sorted(str(message["To"]).replace(" ", "").split(",")) == ["data@eduopen.test", "operator@eduopen.test"]
    body = _body(message)
    assert "eduopen_alert_probe" in body and "validate (try 1 of 1)" in body
    assert "ValidationFailed: " in body and "expectations failed" in body
    assert "marts.fct_policy_release: table_exists" in body
    home: Home = delivered["home"]
    page = next((home.docs / "gx" / "validations" / "marts" / "dim_country").glob("*/*/*.html"))
    link = "http://docs.eduopen.test:8000/" + page.relative_to(home.docs).as_posix()
    assert f"href='{link}'" in body
    assert "href='http://docs.eduopen.test:8000/gx/index.html'" in body


def test_the_failed_source_emails_which_source_and_its_error(delivered: dict[str, Any]) -> None:
    message = _by_task(delivered["emails"], "ingest_moe_zh")
    subject = str(message["Subject"])
    assert subject.startswith("[EduOpen] Source failed: moe_zh (eduopen_alert_probe.ingest_moe_zh, run manual__")
    body = _body(message)
    # Nothing listens there, so not even robots.txt answers: the source is refused, with the reason.
    assert "Why</th><td>SourceError: 1 of 1 sources failed — moe_zh: robots.txt of 127.0.0.1:" in body, body


def test_a_stale_source_emails_its_name_and_last_load(delivered: dict[str, Any]) -> None:
    message = _by_task(delivered["emails"], "source_freshness")
    subject = str(message["Subject"])
    stale = "raw.cooperative_record, raw.fetch_log, raw.flow_observation, raw.observation, raw.release_version"
    assert subject.startswith(f"[EduOpen] Stale sources: {stale} (eduopen_alert_probe.source_freshness, run ")
    body = _body(message)
    assert "StaleSources: 5 sources are stale" in body
    assert "<li>raw.release_version (warn): last loaded 2026-01-05 08:30 UTC, " in body
    assert "warn after 14 days</li>" in body
    assert "<li>raw.fetch_log (warn): never loaded; warn after 14 days</li>" in body


def test_apprise_receives_every_alert_as_text(delivered: dict[str, Any]) -> None:
    posts = delivered["posts"]
    titles = sorted(post["title"] for post in posts)
    assert len(titles) == 3, titles
    assert titles[0].startswith("[EduOpen] Quality gate failed (")
    assert titles[1].startswith("[EduOpen] Source failed: moe_zh")
    assert titles[2].startswith("[EduOpen] Stale sources: ")
    gate = next(post for post in posts if "Quality gate" in post["title"])
    assert gate["type"] == "failure"
    assert "Why: ValidationFailed" in gate["message"]
    assert (
        "Data Docs, marts.dim_country: http://docs.eduopen.test:8000/gx/validations/marts/dim_country/"
        in gate["message"]
    )
    assert next(post for post in posts if "Stale" in post["title"])["type"] == "warning"
