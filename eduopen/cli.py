"""`eduopen` command line: every pipeline step and the status of a home.

The offline demo and the replay server are not part of it: `python -m demo` and
`python -m demo.replay` (the `demo/` tree, which does not ship in the image).

Any failure ends with a one-line reason on stderr and an exit code that says what kind of
failure it was (listed below `eduopen --help`; `eduopen.core.errors.ExitCode`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from eduopen.core.config import check_env
from eduopen.core.errors import ConfigError, EduOpenError, ExitCode
from ingest.progress import IngestProgress

console = Console(stderr=True)
log = logging.getLogger("eduopen.cli")
progress_log = logging.getLogger("eduopen.progress")


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _step(title: str, call: Any) -> Any:
    """Run one long step behind a spinner and say how long it took."""
    started = time.monotonic()
    with console.status(f"[bold]{title}…"):
        result = call()
    console.print(f"[green]✓[/green] {title} ({time.monotonic() - started:.1f}s)")
    return result


class TerminalProgress:
    """`IngestProgress` drawn on a terminal: a line per source with its pages and the last one."""

    def __init__(self, on: Console):
        self.display = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed} pages ({task.fields[unchanged]} unchanged)"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[last]}", markup=False),
            console=on,
        )
        self.tasks: dict[str, TaskID] = {}
        self.unchanged: dict[str, int] = {}
        self.lock = threading.Lock()

    def __enter__(self) -> TerminalProgress:
        self.display.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.display.stop()

    def source_started(self, source: str) -> None:
        with self.lock:
            self.unchanged[source] = 0
            self.tasks[source] = self.display.add_task(f"[bold]{source}", total=None, unchanged=0, last="")

    def page_fetched(self, source: str, url: str, status: int, *, not_modified: bool) -> None:
        with self.lock:
            self.unchanged[source] = self.unchanged.get(source, 0) + int(not_modified)
            task = self.tasks.get(source)
            if task is not None:
                last = f"{status} {url}"
                self.display.update(task, advance=1, unchanged=self.unchanged[source], last=last[:100])

    def source_finished(self, source: str, *, error: str | None = None) -> None:
        with self.lock:
            task = self.tasks.get(source)
            if task is None:
                return
            pages = self.display.tasks[task].completed
            mark = f"[red]✗ {source}[/red]" if error else f"[green]✓ {source}[/green]"
            self.display.update(task, description=mark, total=pages, completed=pages, last=error or "")


class LogProgress:
    """`IngestProgress` as plain log lines, for a log file or a scheduler that captures output."""

    def __init__(self) -> None:
        self.pages: dict[str, int] = {}
        self.lock = threading.Lock()

    def source_started(self, source: str) -> None:
        with self.lock:
            self.pages[source] = 0
        progress_log.info("%s: started", source)

    def page_fetched(self, source: str, url: str, status: int, *, not_modified: bool) -> None:
        with self.lock:
            self.pages[source] = number = self.pages.get(source, 0) + 1
        progress_log.info("%s: page %d: %d %s%s", source, number, status, url, " (unchanged)" if not_modified else "")

    def source_finished(self, source: str, *, error: str | None = None) -> None:
        pages = self.pages.get(source, 0)
        if error:
            progress_log.error("%s: failed after %d pages: %s", source, pages, error)
        else:
            progress_log.info("%s: done, %d pages", source, pages)


@contextmanager
def ingest_progress() -> Iterator[IngestProgress]:
    """Where an ingest reports: a live display on a terminal, log lines otherwise."""
    if console.is_terminal:
        with TerminalProgress(console) as progress:
            yield progress
    else:
        yield LogProgress()


def cmd_ingest(args: argparse.Namespace) -> None:
    from eduopen import pipeline

    started = time.monotonic()
    with ingest_progress() as progress:
        summaries = pipeline.ingest(args.sources, since=args.since, progress=progress)
    console.print(f"[green]✓[/green] ingest {' '.join(args.sources)} ({time.monotonic() - started:.1f}s)")
    _print_json([s.as_dict() for s in summaries])


def cmd_transform(args: argparse.Namespace) -> None:
    from eduopen import pipeline

    _print_json(
        _step(
            "transform (dbt build into the audit warehouse)", lambda: pipeline.transform(full_refresh=args.full_refresh)
        )
    )


def cmd_validate(args: argparse.Namespace) -> None:
    from eduopen import pipeline

    # By hand, the Data Docs are wanted right away; the pipeline renders them after publish.
    _print_json(
        _step("validate (Great Expectations gate)", lambda: {**pipeline.validate(), "data_docs": pipeline.data_docs()})
    )


def cmd_publish(args: argparse.Namespace) -> None:
    from eduopen import pipeline

    title = "roll back the published warehouse" if args.rollback else "publish"
    _print_json(_step(title, lambda: pipeline.publish(rollback=args.rollback)))


def cmd_docs(args: argparse.Namespace) -> None:
    from eduopen import pipeline

    _print_json(_step("docs (Data Docs, dbt docs + HTML report from the published warehouse)", pipeline.docs))


def cmd_docs_serve(args: argparse.Namespace) -> None:
    from eduopen.core.paths import Home
    from eduopen.report.serve import serve

    serve(Home.from_env(), host=args.host, port=args.port)


def cmd_freshness(args: argparse.Namespace) -> None:
    from eduopen.warehouse.freshness import StaleSources, check_freshness

    report = _step("source freshness (dbt, on the published warehouse)", check_freshness)
    _print_json(report.as_dict())
    if report.stale:
        raise StaleSources(report)


def cmd_pipeline(args: argparse.Namespace) -> None:
    from eduopen import pipeline

    started = time.monotonic()
    with ingest_progress() as progress:
        result = pipeline.run_pipeline(args.sources, full_refresh=args.full_refresh, progress=progress)
    elapsed = time.monotonic() - started
    console.print(f"[green]✓[/green] pipeline: ingest → transform → validate → publish → docs ({elapsed:.1f}s)")
    _print_json(result)


def cmd_status(args: argparse.Namespace) -> None:
    from eduopen.core.paths import Home
    from eduopen.status import collect, render

    info = collect(Home.from_env())
    if args.json:
        _print_json(info)
    else:
        print(render(info))


def cmd_config(args: argparse.Namespace) -> None:
    from eduopen.core.config import Settings, effective_settings, render_settings
    from ingest.http import redact_url
    from ingest.sources import check_settings

    settings = Settings.load()
    problems = []
    # Every problem at once: the variables, and each source's own keys (which only its folder knows).
    for check in (lambda: check_env(settings.source_names()), lambda: check_settings(settings)):
        try:
            check()
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("\n".join(problems))
    report = effective_settings(settings)
    # A source URL may carry a password or a token: shown masked, as in every log and error.
    text = json.dumps(report, indent=2, ensure_ascii=False, default=str) if args.json else render_settings(report)
    print(redact_url(text))


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def installed_version() -> str:
    """The version of the installed distribution (pyproject.toml is its only source)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("eduopen")
    except PackageNotFoundError:
        return "unknown (not installed)"


def exit_codes_epilog() -> str:
    lines = [f"  {code.value:>3}  {code.name.lower():<16} {code.meaning}" for code in ExitCode]
    return "exit codes:\n" + "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eduopen",
        description=__doc__,
        epilog=exit_codes_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="fetch sources into the raw layer (names from sources.yml, or 'all')")
    p.add_argument("sources", nargs="+")
    p.add_argument(
        "--since",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="re-crawl history back to this day, this run only (sources.yml unchanged; what is stored "
        "is not fetched again); statistics sources fetch from its year",
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("transform", help="dbt seed + build into the audit warehouse")
    p.add_argument("--full-refresh", action="store_true")
    p.set_defaults(func=cmd_transform)

    sub.add_parser("validate", help="run the quality gate on the audit warehouse").set_defaults(func=cmd_validate)

    p = sub.add_parser("publish", help="publish the validated audit build atomically")
    p.add_argument("--rollback", action="store_true", help="restore the previously published version")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("docs", help="dbt docs and the HTML report of the published warehouse")
    p.set_defaults(func=cmd_docs)
    docs_sub = p.add_subparsers(dest="docs_command")
    p = docs_sub.add_parser("serve", help="serve the report, dbt docs and Data Docs on one local port")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=8081)
    p.set_defaults(func=cmd_docs_serve)

    sub.add_parser(
        "freshness", help="dbt source freshness on the published warehouse; fails when a source is stale"
    ).set_defaults(func=cmd_freshness)

    p = sub.add_parser("pipeline", help="ingest, transform, validate, publish and docs")
    p.add_argument("sources", nargs="*", default=["all"])
    p.add_argument("--full-refresh", action="store_true")
    p.set_defaults(func=cmd_pipeline)

    p = sub.add_parser("status", help="what is in raw, audit and published, and when it changed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("config", help="the effective settings (environment, sources.yml) and where each came from")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_config)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its `ExitCode` (argparse itself exits with `ExitCode.USAGE`)."""
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.INFO
    if console.is_terminal:
        # Through the console, so log lines print above a progress display instead of through it.
        logging.basicConfig(
            level=level, format="%(name)s: %(message)s", handlers=[RichHandler(console=console, show_path=False)]
        )
    else:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("great_expectations", "urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        if args.command != "config":  # which reports every bad value itself, beside the good ones
            check_env()
        args.func(args)
    except EduOpenError as exc:
        # The message is the error's own text: brackets in it are not rich markup.
        console.print(f"[red]eduopen {args.command}: {type(exc).__name__}: {escape(str(exc))}[/red]", soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except Exception:
        log.exception("eduopen %s: unexpected error (exit %d)", args.command, ExitCode.UNEXPECTED)
        return ExitCode.UNEXPECTED
    return ExitCode.OK


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
