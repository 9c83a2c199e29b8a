"""Typed errors: each says what went wrong and what to do next, and which exit code it ends in.

The CLI turns any `EduOpenError` into a one-line reason and the error's `exit_code`, so a
scheduler tells a held lock (retry later) from a bad configuration or a failed gate (retrying
cannot help) without reading the message.
"""

import errno
import os
from enum import IntEnum


class ExitCode(IntEnum):
    """What `eduopen` exits with. The numbers are an interface: schedulers branch on them."""

    OK = 0
    FAILED = 1
    USAGE = 2
    CONFIG = 3
    LOCK_HELD = 4
    SOURCE_FAILED = 5
    TRANSFORM_FAILED = 6
    GATE_FAILED = 7
    SOURCES_STALE = 8
    NO_SPACE = 9
    UNEXPECTED = 70
    INTERRUPTED = 130

    @property
    def meaning(self) -> str:
        return EXIT_CODE_MEANINGS[self]


EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.FAILED: "a step refused or failed for another reason the message names (e.g. nothing to publish)",
    ExitCode.USAGE: "bad command line (unknown command or option, malformed --since)",
    ExitCode.CONFIG: "invalid configuration: sources.yml, an EDUOPEN_* variable, an unknown source name",
    ExitCode.LOCK_HELD: "another EduOpen writer holds the home's lock: retry when it has finished",
    ExitCode.SOURCE_FAILED: "one or more sources failed (the others were ingested)",
    ExitCode.TRANSFORM_FAILED: "dbt could not build the audit warehouse; nothing was published",
    ExitCode.GATE_FAILED: "the quality gate failed, or publish refused a build the gate did not pass",
    ExitCode.SOURCES_STALE: "eduopen freshness: a source's newest load is older than its freshness allows",
    ExitCode.NO_SPACE: "the disk holding the EduOpen home is full: free space, then run the step again",
    ExitCode.UNEXPECTED: "an unexpected error (a bug): the traceback is on stderr",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C / SIGINT)",
}


class EduOpenError(Exception):
    """Base class for every error the pipeline raises on purpose."""

    exit_code = ExitCode.FAILED


class ConfigError(EduOpenError):
    """The configuration (sources.yml, environment) is invalid."""

    exit_code = ExitCode.CONFIG


class FetchError(EduOpenError):
    """A request failed for good: retries exhausted, 4xx, robots.txt disallowed, or a bad body."""

    exit_code = ExitCode.SOURCE_FAILED

    def __init__(self, message: str, *, url: str = "", status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


class RobotsDisallowed(FetchError):
    """robots.txt of the host forbids the URL for our User-Agent."""


class SourceError(EduOpenError):
    """A source answered, but not with what it promised (empty listing, unknown geo unit, hint);
    also what an ingest run raises, naming each source that failed, once the others have run."""

    exit_code = ExitCode.SOURCE_FAILED


class ParseError(EduOpenError):
    """Recorded bytes could not be parsed into records."""

    exit_code = ExitCode.SOURCE_FAILED


class ValidationFailed(EduOpenError):
    """The quality gate rejected the audit build; nothing was published."""

    exit_code = ExitCode.GATE_FAILED


class PublishError(EduOpenError):
    """Publishing was refused (no validation of this exact build, nothing to roll back to)."""


class PublishBlocked(PublishError):
    """Publishing was refused because the gate's last verdict on the audit build was a failure."""

    exit_code = ExitCode.GATE_FAILED


class LockHeld(EduOpenError):
    """Another writer holds the EduOpen home lock."""

    exit_code = ExitCode.LOCK_HELD


class DiskFull(EduOpenError):
    """The disk holding the EduOpen home ran out of space during a step."""

    exit_code = ExitCode.NO_SPACE


NO_SPACE_MESSAGE = os.strerror(errno.ENOSPC)


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc`, or what it was raised from, is the disk running out of space.

    DuckDB reports a failed write with the operating system's message in its own exception type,
    so the message is read as well as the errno.
    """
    seen: BaseException | None = exc
    for _ in range(8):  # an exception chain is short; the bound guards against a cycle
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if NO_SPACE_MESSAGE in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
