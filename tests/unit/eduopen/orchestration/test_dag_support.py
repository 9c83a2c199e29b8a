"""The task arguments every EduOpen DAG declares through `default_args`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eduopen.orchestration.dag_support import default_args

pytestmark = pytest.mark.airflow


def test_retries_and_their_first_delay_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDUOPEN_TASK_RETRIES", raising=False)
    monkeypatch.delenv("EDUOPEN_TASK_RETRY_DELAY_S", raising=False)
    args = default_args(execution_timeout=timedelta(minutes=5))
    assert (args["retries"], args["retry_delay"]) == (2, timedelta(minutes=2))

    monkeypatch.setenv("EDUOPEN_TASK_RETRIES", "1")
    monkeypatch.setenv("EDUOPEN_TASK_RETRY_DELAY_S", "1.5")
    args = default_args(execution_timeout=timedelta(minutes=5))
    assert (args["retries"], args["retry_delay"]) == (1, timedelta(seconds=1.5))
    assert args["retry_exponential_backoff"] > 1 and args["max_retry_delay"] == timedelta(minutes=30)
