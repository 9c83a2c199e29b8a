"""The Source contract every source folder declares, and what a source receives and returns.

Each folder `ingest/sources/<name>/` names one entry of `sources.yml` and declares `SOURCE`, a
`Source`: its kind, its own settings (a `SourceOptions` model: the keys it reads below its entry in
`sources.yml`, with their defaults), how to run it once, and what a watcher polls for it (the first
pages of its listings and how to read item URLs from them). The registry (`ingest.sources`) finds
sources by folder, so adding one touches its folder and `sources.yml`, nothing else.
"""

from __future__ import annotations

import logging
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from eduopen.core.config import SourceConfig
from eduopen.core.errors import ConfigError
from eduopen.core.paths import Home

if TYPE_CHECKING:  # keep parsers importable without the HTTP stack
    from ingest.http import PoliteClient
    from ingest.raw_store import RawStore

Kind = Literal["releases", "statistics", "files"]
ItemReader = Callable[[bytes, str, "str | None"], list[str]]  # (body, page URL, Content-Type) -> item URLs


class SourceOptions(BaseModel):
    """A source's own keys in sources.yml; each source subclasses it with its keys and defaults.

    An unknown key is an error, so a misspelt one stops the run instead of leaving a default in place.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


OptionsT = TypeVar("OptionsT", bound=SourceOptions)


def allowed_keys(model: type[BaseModel], loc: Iterable[int | str]) -> list[str]:
    """The keys allowed where `loc` points into `model` (a nested model's own keys below a field)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        info = current.model_fields.get(part)
        if info is None:
            break
        current = _model_in(info.annotation)
    return sorted(current.model_fields) if isinstance(current, type) and issubclass(current, BaseModel) else []


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside `X`, `list[X]`, `dict[str, X]` or `X | None`; else the annotation."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, dict, tuple, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if isinstance(found, type) and issubclass(found, BaseModel):
                return found
    return annotation


def describe_errors(source: str, model: type[BaseModel], error: ValidationError) -> list[str]:
    """One line per problem: the key as written below the source, what is wrong, what is allowed."""
    lines = []
    for problem in error.errors():
        loc = tuple(problem["loc"])
        key = ".".join(str(part) for part in (source, *loc))
        if problem["type"] == "extra_forbidden":
            allowed = allowed_keys(model, loc[:-1])
            lines.append(f"{key}: unknown key; allowed keys: {', '.join(allowed) or '(none)'}")
        else:
            lines.append(f"{key}: {problem['msg']} (got {problem.get('input')!r})")
    return lines


def no_listings(cfg: SourceConfig, options: Any) -> list[WatchedListing]:
    """What a watcher polls for a source that is not watched: nothing (the cron schedule fetches it)."""
    return []


@dataclass(frozen=True)
class WatchedListing:
    """A page a watcher polls for a source: its label, where it is fetched, how item URLs are read."""

    label: str
    url: str
    read_items: ItemReader = field(compare=False, repr=False)
    accept: str | None = None


@dataclass(frozen=True)
class Source(Generic[OptionsT]):
    """What a source folder declares as `SOURCE`; see the module docstring.

    `supports_since`: its `run` honours `SourceContext.since` (re-crawls history back to that day
    instead of stopping where its cursor, horizon or page limit would); a run given `since` for a
    source that does not is refused before it starts.
    """

    kind: Kind
    options: type[OptionsT]
    run: Callable[[SourceContext], IngestSummary]
    watch: Callable[[SourceConfig, OptionsT], list[WatchedListing]] = no_listings
    supports_since: bool = False

    def options_of(self, cfg: SourceConfig, *, origin: str = "sources.yml") -> OptionsT:
        """The source's options from its entry; ConfigError naming every bad key and what is allowed."""
        try:
            return self.options.model_validate(dict(cfg.options))
        except ValidationError as exc:
            raise ConfigError(f"{origin}: " + "; ".join(self.problems(cfg, exc))) from None

    def problems(self, cfg: SourceConfig, error: ValidationError | None = None) -> list[str]:
        """What is wrong with the source's entry, one line per problem (none when it is valid)."""
        lines = []
        declared = cfg.written.get("kind")
        if declared is not None and declared != self.kind:
            lines.append(f"{cfg.name}.kind: {declared!r}, but the source is of kind {self.kind!r}")
        if error is None:
            try:
                self.options.model_validate(dict(cfg.options))
            except ValidationError as exc:
                error = exc
        if error is not None:
            lines += describe_errors(cfg.name, self.options, error)
        return lines

    def listings(self, cfg: SourceConfig) -> list[WatchedListing]:
        """The pages a watcher polls for this source (none when it is not watched)."""
        return self.watch(cfg, self.options_of(cfg))


@dataclass
class SourceContext:
    """Everything a source needs to run once: its config, the raw store and a polite client.

    `since`, for this run only: re-crawl history back to that day (`eduopen ingest --since`).
    What is already stored is not fetched or stored again; sources.yml is left as it is, and so
    are the source's cursors: they say where the regular runs stand, which such a run does not change.
    """

    config: SourceConfig
    store: RawStore
    client: PoliteClient | None  # None for sources that read files, not HTTP
    home: Home
    since: date | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def http(self) -> PoliteClient:
        """The polite client, which every source that fetches over HTTP is given."""
        if self.client is None:
            raise TypeError(f"source {self.name} reads files: it has no HTTP client")
        return self.client

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"eduopen.sources.{self.config.name}")


@dataclass
class IngestSummary:
    """What one run of one source did; printed by the CLI and returned to Airflow as XCom."""

    source: str
    requests: int = 0
    not_modified: int = 0
    new_rows: int = 0
    new_releases: int = 0
    changed_releases: int = 0
    quarantined: int = 0
    skipped_reason: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}
