"""The failure callback: always the log line; each configured channel tried even when one fails."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from eduopen.core.config import ALERT_APPRISE_URLS, ALERT_EMAIL_TO

pytestmark = pytest.mark.airflow

notifier = pytest.importorskip("eduopen.orchestration.notifier")


@pytest.fixture(autouse=True)
def no_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (ALERT_EMAIL_TO, ALERT_APPRISE_URLS):
        monkeypatch.delenv(var.name, raising=False)


def failure() -> dict[str, Any]:
    ti = SimpleNamespace(dag_id="eduopen_warehouse", task_id="publish", run_id="manual__x", try_number=3, max_tries=2)
    return {"ti": ti, "exception": ValueError("disk\n full")}


def test_without_channels_it_only_logs_the_line(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    monkeypatch.setattr(notifier, "alert_from_context", lambda *a: pytest.fail("no alert without a channel"))
    with caplog.at_level(logging.ERROR, logger="eduopen.airflow"):
        notifier.FailureAlert()(failure())
    assert caplog.messages == [
        "EduOpen task failed: eduopen_warehouse.publish (try 3/3, run manual__x): ValueError: disk full"
    ]


def test_a_channel_that_fails_does_not_silence_the_other(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    monkeypatch.setenv(ALERT_EMAIL_TO.name, "ops@eduopen.test")
    monkeypatch.setenv(ALERT_APPRISE_URLS.name, "json://127.0.0.1:9/")
    sent: list[tuple[str, Any]] = []

    def email_down(alert: Any, context: Any, to: Any) -> None:
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(notifier, "send_email", email_down)
    monkeypatch.setattr(notifier, "send_apprise", lambda alert, context, urls: sent.append((alert.subject, urls)))
    with caplog.at_level(logging.INFO, logger="eduopen.airflow"), pytest.raises(ConnectionRefusedError):
        notifier.FailureAlert()(failure())
    assert sent == [("[EduOpen] Task failed (eduopen_warehouse.publish, run manual__x)", ("json://127.0.0.1:9/",))]
    assert any("not sent by email: ConnectionRefusedError: smtp down" in m for m in caplog.messages)
