"""Typed errors: each says what went wrong and what to do next.

The CLI turns any `EduOpenError` into a one-line reason and a non-zero exit.
"""


class EduOpenError(Exception):
    """Base class for every error the pipeline raises on purpose."""


class ConfigError(EduOpenError):
    """The configuration (sources.yml, environment) is invalid."""


class FetchError(EduOpenError):
    """A request failed for good: retries exhausted, 4xx, robots.txt disallowed, or a bad body."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


class RobotsDisallowed(FetchError):
    """robots.txt of the host forbids the URL for our User-Agent."""


class SourceError(EduOpenError):
    """A source answered, but not with what it promised (empty listing, unknown geo unit, hint)."""


class ParseError(EduOpenError):
    """Recorded bytes could not be parsed into records."""


class ValidationFailed(EduOpenError):
    """The quality gate rejected the audit build; nothing was published."""


class PublishError(EduOpenError):
    """Publishing was refused (no passing validation of this exact build, or a lock is held)."""


class LockHeld(EduOpenError):
    """Another writer holds the EduOpen home lock."""
