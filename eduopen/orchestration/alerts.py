"""What an alert says: which task of which run failed, why, and where to look.

Built from the context Airflow gives a failure callback (read here as a plain mapping, so the
message is tested without Airflow) and sent by `eduopen.orchestration.notifier`. Three failures get
their own account: the quality gate (the failed expectations and the Data Docs page of each
failed suite), a source (which one, and its error) and a stale source (each one's last load).
Anything else is reported with the error it raised.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from eduopen.core.config import DOCS_BASE_URL
from eduopen.core.errors import ValidationFailed
from eduopen.core.paths import Home

# Enough failed expectations to see the pattern; the Data Docs list every one.
MAX_DETAILS = 12
MAX_OBSERVED_CHARS = 240
INGEST_TASK_PREFIX = "ingest_"


@dataclass(frozen=True)
class Alert:
    """One failure, ready to be sent: a subject line, the facts, and links an operator can open."""

    kind: str  # "Quality gate failed", "Source failed", "Stale sources", "Task failed"
    dag_id: str
    task_id: str
    run_id: str
    logical_date: str
    attempt: str  # "try 2 of 3"
    reason: str
    details_title: str = ""
    details: tuple[str, ...] = ()
    links: tuple[tuple[str, str], ...] = field(default=())  # (label, URL)
    subject_hint: str = ""  # the source's name, or the stale sources' names
    severity: str = "failure"  # "failure" or "warning" (Apprise's notify types)

    @property
    def subject(self) -> str:
        hint = f": {self.subject_hint}" if self.subject_hint else ""
        return f"[EduOpen] {self.kind}{hint} ({self.dag_id}.{self.task_id}, run {self.run_id})"

    def facts(self) -> list[tuple[str, str]]:
        return [
            ("DAG", self.dag_id),
            ("Task", f"{self.task_id} ({self.attempt})"),
            ("Run", self.run_id),
            ("Logical date", self.logical_date),
            ("Why", self.reason),
        ]

    def text(self) -> str:
        lines = [self.kind, ""]
        lines += [f"{label}: {value}" for label, value in self.facts()]
        if self.details:
            lines += ["", f"{self.details_title}:"] + [f"  - {item}" for item in self.details]
        if self.links:
            lines += [""] + [f"{label}: {url}" for label, url in self.links]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        e = html.escape
        rows = "".join(
            f"<tr><th align='left' valign='top'>{e(label)}</th><td>{e(value)}</td></tr>"
            for label, value in self.facts()
        )
        parts = [f"<h3>{e(self.kind)}</h3>", f"<table>{rows}</table>"]
        if self.details:
            items = "".join(f"<li>{e(item)}</li>" for item in self.details)
            parts.append(f"<p><b>{e(self.details_title)}</b></p><ul>{items}</ul>")
        if self.links:
            links = "".join(
                f"<li>{e(label)}: <a href='{e(url, quote=True)}'>{e(url)}</a></li>" for label, url in self.links
            )
            parts.append(f"<ul>{links}</ul>")
        return "".join(parts)


def alert_from_context(context: Mapping[str, Any], home: Home | None = None) -> Alert:
    """The alert for the failure a task's `on_failure_callback` context describes."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = str(getattr(ti, "dag_id", None) or "?")
    task_id = str(getattr(ti, "task_id", None) or "?")
    exc = context.get("exception")
    cause = pipeline_error(exc)
    common: dict[str, Any] = {
        "dag_id": dag_id,
        "task_id": task_id,
        "run_id": str(getattr(ti, "run_id", None) or context.get("run_id") or "?"),
        "logical_date": _logical_date(context),
        "attempt": _attempt(ti),
        "reason": one_line(f"{type(cause).__name__}: {cause}") if cause is not None else "no exception recorded",
    }
    log_url = getattr(ti, "log_url", None)
    log_link: tuple[tuple[str, str], ...] = (("Airflow log", str(log_url)),) if log_url else ()

    if isinstance(cause, ValidationFailed):
        home = home or Home.from_env()
        record = _validation_record(cause, home)
        failed = list(record.get("failed") or [])
        links = data_docs_links(home, record)
        return Alert(
            kind="Quality gate failed",
            details_title=f"Failed expectations ({len(failed)})",
            details=tuple(_describe_expectation(item) for item in failed[:MAX_DETAILS])
            + ((f"... and {len(failed) - MAX_DETAILS} more in the Data Docs",) if len(failed) > MAX_DETAILS else ()),
            links=tuple(links) + log_link,
            **common,
        )
    stale = _stale_sources(cause)
    if stale is not None:
        return Alert(
            kind="Stale sources",
            subject_hint=", ".join(item.source for item in stale),
            details_title="Stale sources (newest load as dbt source freshness measures it)",
            details=tuple(item.describe() for item in stale),
            links=log_link,
            severity="warning",
            **common,
        )
    # The ingest DAGs name each source's task ingest_<source>.
    if task_id.startswith(INGEST_TASK_PREFIX):
        return Alert(kind="Source failed", subject_hint=task_id[len(INGEST_TASK_PREFIX) :], links=log_link, **common)
    return Alert(kind="Task failed", links=log_link, **common)


def pipeline_error(exc: BaseException | None) -> BaseException | None:
    """The pipeline's own error: the first `EduOpenError` of the cause chain, else the cause of the
    exception Airflow saw (the AirflowFailException raised to skip retries wraps it), else it."""
    from eduopen.core.errors import EduOpenError

    for link in _chain(exc):
        if isinstance(link, EduOpenError):
            return link
    return getattr(exc, "__cause__", None) or exc


def one_line(text: str) -> str:
    return " ".join(text.split())


def data_docs_links(home: Home, record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A link to the Data Docs page of each failed suite's validation, then the Data Docs index."""
    from expectations.validate import docs_dir, recorded_docs_page

    site = Path(record["docs_index"]).parent if record.get("docs_index") else docs_dir(home)
    links = []
    for suite in dict.fromkeys(str(item.get("suite")) for item in record.get("failed") or [] if item.get("suite")):
        # The gate names each suite's page of its run; failing that, the newest page of the suite.
        recorded = recorded_docs_page(record, suite)
        page = recorded if recorded is not None and recorded.exists() else validation_page(site, suite)
        if page is not None:
            links.append((f"Data Docs, {suite}", docs_url(page, home)))
    links.append(("Data Docs", docs_url(site / "index.html", home)))
    return links


def validation_page(site: Path, suite: str) -> Path | None:
    """The newest validation page of `suite` in a GX Data Docs site, None when there is none.

    GX files a page under validations/<suite name split at dots>/<run name>/<run time>/<batch>.html;
    run times are UTC stamps that sort in time order.
    """
    folder = site.joinpath("validations", *suite.split("."))
    pages = sorted(folder.glob("*/*/*.html"), key=lambda page: (page.parent.name, page.stat().st_mtime))
    return pages[-1] if pages else None


def docs_url(path: Path, home: Home) -> str:
    """Where an operator opens `path`: under `EDUOPEN_DOCS_BASE_URL` when the docs are served, else
    the file itself."""
    base = DOCS_BASE_URL.value()
    try:
        relative = path.resolve().relative_to(home.docs.resolve())
    except ValueError:
        return path.resolve().as_uri()
    if base is None:
        return path.resolve().as_uri()
    return f"{base}/{quote(relative.as_posix())}"


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _validation_record(error: ValidationFailed, home: Home) -> Mapping[str, Any]:
    """The gate's record of this failure: attached to the error, else the one it wrote to disk."""
    summary = getattr(error, "summary", None)
    if isinstance(summary, Mapping):
        return summary
    from expectations.validate import validation_record_path

    path = validation_record_path(home)
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, Mapping) else {}


def _describe_expectation(item: Mapping[str, Any]) -> str:
    check = item.get("check") or item.get("expectation_type") or "?"
    column = f"({item['column']})" if item.get("column") else ""
    observed = json.dumps(item.get("observed"), ensure_ascii=False, default=str)
    if len(observed) > MAX_OBSERVED_CHARS:
        observed = observed[: MAX_OBSERVED_CHARS - 1] + "…"
    return f"{item.get('suite', '?')}: {check}{column}; observed {observed}"


def _stale_sources(cause: BaseException | None) -> Sequence[Any] | None:
    from eduopen.warehouse.freshness import StaleSources

    return cause.report.stale if isinstance(cause, StaleSources) else None


def _logical_date(context: Mapping[str, Any]) -> str:
    value = context.get("logical_date")
    if value is None:
        value = getattr(context.get("dag_run"), "logical_date", None)
    if value is None:
        # Asset-triggered runs of Airflow 3 have none.
        return "none (asset-triggered run)"
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _attempt(ti: Any) -> str:
    tries = (getattr(ti, "max_tries", 0) or 0) + 1
    return f"try {getattr(ti, 'try_number', '?')} of {tries}"
