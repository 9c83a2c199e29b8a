"""The failure callback of every EduOpen task: one log line, then the alert on each configured channel.

An Airflow notifier (`BaseNotifier`), so Airflow runs it wherever it runs task callbacks. Channels
come from the environment, read when a task fails (a DAG file parses without them):

- email through Airflow's SMTP connection (`SmtpNotifier`) when `EDUOPEN_ALERT_EMAIL_TO` is set;
- Apprise (Slack, Teams, a webhook, ...) via `AppriseNotifier` when `EDUOPEN_ALERT_APPRISE_URLS` is set.

The message itself is `eduopen.orchestration.alerts`. DAG files import this module at parse time:
the providers are imported only when an alert is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseNotifier

from eduopen.core.config import ALERT_APPRISE_URLS, ALERT_EMAIL_FROM, ALERT_EMAIL_TO
from eduopen.orchestration.alerts import Alert, alert_from_context, one_line, pipeline_error

log = logging.getLogger("eduopen.airflow")


def log_task_failure(context: Mapping[str, Any]) -> None:
    """One line an operator can grep: which task, which try, and why."""
    ti = context.get("ti") or context.get("task_instance")
    cause = pipeline_error(context.get("exception"))
    where = f"{getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')}"
    attempt = f"try {getattr(ti, 'try_number', '?')}/{(getattr(ti, 'max_tries', 0) or 0) + 1}"
    reason = f"{type(cause).__name__}: {cause}" if cause is not None else "no exception recorded"
    log.error("EduOpen task failed: %s (%s, run %s): %s", where, attempt, getattr(ti, "run_id", "?"), one_line(reason))


def send_email(alert: Alert, context: Mapping[str, Any], to: tuple[str, ...]) -> None:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    # notify(), not the notifier's call: that would render the error text as a Jinja template.
    SmtpNotifier(
        to=list(to), from_email=ALERT_EMAIL_FROM.value(), subject=alert.subject, html_content=alert.html()
    ).notify(context)


def send_apprise(alert: Alert, context: Mapping[str, Any], urls: tuple[str, ...]) -> None:
    from airflow.providers.apprise.notifications.apprise import AppriseNotifier
    from apprise import AppriseConfig, NotifyFormat, NotifyType

    config = AppriseConfig()
    config.add_config("\n".join(urls), format="text")
    notify_type = NotifyType.WARNING if alert.severity == "warning" else NotifyType.FAILURE
    AppriseNotifier(
        body=alert.text(), title=alert.subject, notify_type=notify_type, body_format=NotifyFormat.TEXT, config=config
    ).notify(context)


class FailureAlert(BaseNotifier):
    """`on_failure_callback` of every EduOpen task (see the module docstring)."""

    def notify(self, context: Any) -> None:
        log_task_failure(context)
        to, urls = ALERT_EMAIL_TO.value(), ALERT_APPRISE_URLS.value()
        if not (to or urls):
            return
        alert = alert_from_context(context)
        errors: list[Exception] = []
        for channel, wanted, send in (("email", to, send_email), ("Apprise", urls, send_apprise)):
            if not wanted:
                continue
            try:
                send(alert, context, wanted)
            except Exception as exc:  # one channel down must not silence the others
                log.error("EduOpen alert not sent by %s: %s: %s", channel, type(exc).__name__, exc)
                errors.append(exc)
            else:
                log.info("EduOpen alert sent by %s: %s", channel, alert.subject)
        if errors:
            raise errors[0]
