"""`eduopen`'s own contract with a scheduler: the version, usage errors, unexpected errors, and
the exit codes documented where a user looks for them. The codes of real failures (config, lock,
source, gate) are tested beside the fixtures that make those failures happen."""

from __future__ import annotations

import io
import logging
import re
from importlib.metadata import version
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from eduopen import pipeline
from eduopen.cli import TerminalProgress, build_parser, main
from eduopen.core.errors import ExitCode
from eduopen.core.paths import PROJECT_DIR


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"eduopen {version('eduopen')}"


@pytest.mark.parametrize(
    "argv", [["no-such-step"], ["ingest"], ["publish", "--no-such-option"], ["ingest", "uis", "--since", "2020-13-01"]]
)
def test_a_bad_command_line_exits_with_the_usage_code(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == ExitCode.USAGE


def test_an_error_the_pipeline_does_not_raise_on_purpose_exits_unexpected_with_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**_: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setenv("EDUOPEN_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(pipeline, "publish", broken)
    assert main(["publish"]) == ExitCode.UNEXPECTED
    (record,) = [r for r in caplog.records if r.name == "eduopen.cli"]
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError


def test_every_exit_code_is_listed_in_the_help_and_the_readme() -> None:
    help_text = build_parser().format_help()
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"{code.value:>3}  {code.name.lower()}" in help_text
        assert f"| {code.value} | `{code.name.lower()}` |" in readme, f"README lacks exit code {code.value}"


def test_ingest_off_a_terminal_logs_every_page_each_source_fetched(
    home, replay, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="eduopen.progress"):
        assert main(["ingest", "uis"]) == ExitCode.OK
    lines = [r.getMessage() for r in caplog.records if r.name == "eduopen.progress"]
    fetched = query(home.catalog, "select url, status from fetch_log where source = 'uis' order by fetch_id")
    assert len(fetched) >= 2
    assert lines[0] == "uis: started"
    assert lines[-1] == f"uis: done, {len(fetched)} pages"
    expected = [f"uis: page {n}: {status} " for n, (_, status) in enumerate(fetched, 1)]
    assert [line[: len(start)] for line, start in zip(lines[1:-1], expected, strict=True)] == expected


def test_ingest_on_a_terminal_draws_a_line_per_source_with_its_pages(home, replay) -> None:
    screen = io.StringIO()
    with TerminalProgress(Console(file=screen, force_terminal=True, width=200)) as progress:
        pipeline.ingest(["uis", "worldbank"], home, progress=progress)
    fetched = dict(query(home.catalog, "select source, count(*) from fetch_log group by source"))
    final = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue()).splitlines()[-2:]  # the last frame
    for source, line in zip(("uis", "worldbank"), final, strict=True):
        assert re.match(rf"\s*✓ {source} +{fetched[source]} pages \(", line), final
