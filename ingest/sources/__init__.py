"""Source adapters, one folder each: `ingest/sources/<name>/` declares `SOURCE` (see `base.Source`).

The registry finds a source by its folder, named as its entry in `sources.yml`; nothing outside the
folder lists sources. `check_settings` validates every enabled source's own keys at the start of a
run, so a misspelt key stops the run instead of silently leaving a default in place.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eduopen.core.errors import ConfigError

if TYPE_CHECKING:
    from eduopen.core.config import Settings
    from ingest.sources.base import IngestSummary, Source, SourceContext


class Registry:
    """The sources of one package: each subpackage that declares `SOURCE`, found by its name."""

    def __init__(self, package: str = __name__):
        self.package = package

    def names(self) -> list[str]:
        """Every source folder of the package, sorted."""
        module = importlib.import_module(self.package)
        return sorted(info.name for info in pkgutil.iter_modules(module.__path__) if info.ispkg)

    def source(self, name: str) -> Source[Any]:
        """The `SOURCE` of folder `name`; ConfigError when there is no such source."""
        from ingest.sources.base import Source

        if name not in self.names():
            raise ConfigError(
                f"no source folder {self.package}.{name} for source {name!r}; known: {', '.join(self.names())}"
            )
        declared = getattr(importlib.import_module(f"{self.package}.{name}"), "SOURCE", None)
        if not isinstance(declared, Source):
            raise ConfigError(f"{self.package}.{name} declares no SOURCE (an ingest.sources.base.Source)")
        return declared

    def check_settings(self, settings: Settings) -> None:
        """Validate every enabled source of `settings`: ConfigError listing all problems at once."""
        problems = []
        for name in settings.source_names():
            try:
                declared = self.source(name)
            except ConfigError as exc:
                problems.append(str(exc))
                continue
            problems += declared.problems(settings.source(name))
        if problems:
            raise ConfigError(f"{settings.path}: " + "; ".join(problems))


REGISTRY = Registry()


def source(name: str) -> Source[Any]:
    return REGISTRY.source(name)


def runner(name: str) -> Callable[[SourceContext], IngestSummary]:
    return REGISTRY.source(name).run


def check_settings(settings: Settings) -> None:
    """Validate every enabled source's own keys in `settings` (see `Registry.check_settings`)."""
    REGISTRY.check_settings(settings)
