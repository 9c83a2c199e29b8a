"""`eduopen`'s own contract with a scheduler: the version, usage errors, unexpected errors, and
the exit codes documented where a user looks for them. The codes of real failures (config, lock,
source, gate) are tested beside the fixtures that make those failures happen."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest

from eduopen import pipeline
from eduopen.cli import build_parser, main
from eduopen.core.errors import ExitCode
from eduopen.core.paths import PROJECT_DIR


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"eduopen {version('eduopen')}"


@pytest.mark.parametrize("argv", [["no-such-step"], ["ingest"], ["publish", "--no-such-option"]])
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
