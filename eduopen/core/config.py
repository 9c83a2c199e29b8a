"""Runtime configuration: every `EDUOPEN_*` environment variable and the sources file.

Everything an operator may change lives in `sources.yml` (URLs, rate limits, each source's own
settings) or in an `EDUOPEN_*` variable declared below; the environment is read here and nowhere else.
One rule for every variable: an empty value means unset. A value that does not parse, or a key of
`sources.yml` that is not allowed, raises `ConfigError` naming the variable or the file, source and
key, and what is allowed, so a typo stops the run at start instead of leaving a default in place.

Reads stay cheap (DAG files call them at every parse): a variable is read when asked for, and the
sources file is parsed once per `Settings`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eduopen.core.errors import ConfigError
from eduopen.core.paths import DEFAULT_SOURCES_FILE

T = TypeVar("T")

# -- environment variables ---------------------------------------------------------------------

# Names that say a value is secret: `eduopen config` shows that such a variable is set, never its value.
SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN")
# The userinfo of a URL (what stands between `://` and `@`): a source URL may carry a credential.
_USERINFO = re.compile(r"(://)[^/\s@]*@")


@dataclass(frozen=True)
class EnvVar(Generic[T]):
    """One `EDUOPEN_*` variable: its type (the parser), its default, what it does, what is allowed."""

    name: str
    parse: Callable[[str], T]
    default: T
    description: str
    allowed: str
    # Secret though its name does not say so (an Apprise URL carries the service's token).
    sensitive: bool = False

    def raw(self) -> str | None:
        """The variable as set, None when unset or empty (the one rule for every variable)."""
        value = os.environ.get(self.name)
        return value if value is not None and value.strip() else None

    def value(self) -> T:
        """The parsed value, or the default when unset; ConfigError when it does not parse."""
        raw = self.raw()
        if raw is None:
            return self.default
        try:
            return self.parse(raw.strip())
        except (ValueError, TypeError):
            shown = "(not shown)" if self.secret else _USERINFO.sub(r"\1***@", raw)
            raise ConfigError(f"{self.name}={shown!r}: not allowed; expected {self.allowed}") from None

    @property
    def secret(self) -> bool:
        return self.sensitive or any(word in self.name for word in SECRET_WORDS)


def _number(
    *, minimum: float | None = None, maximum: float | None = None, above: float | None = None
) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(text)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise ValueError(text)
        if above is not None and value <= above:
            raise ValueError(text)
        return value

    return parse


def _whole(*, minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise ValueError(text)
        return value

    return parse


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.lower()
        if value not in choices:
            raise ValueError(text)
        return value

    return parse


def _path(text: str) -> Path:
    return Path(text).expanduser()


# What DuckDB's memory_limit takes: a number and a unit (2500MB, 4GB, 1.5GiB).
_DUCKDB_SIZE = re.compile(r"^\d+(\.\d+)?\s*(B|BYTES|K|M|G|T|KB|MB|GB|TB|KIB|MIB|GIB|TIB)$", re.IGNORECASE)


def _duckdb_size(text: str) -> str:
    if not _DUCKDB_SIZE.match(text):
        raise ValueError(text)
    return text


_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+$")


def _email(text: str) -> str:
    if not _EMAIL.match(text):
        raise ValueError(text)
    return text


def _emails(text: str) -> tuple[str, ...]:
    addresses = tuple(_email(part.strip()) for part in text.split(",") if part.strip())
    if not addresses:
        raise ValueError(text)
    return addresses


def _apprise_urls(text: str) -> tuple[str, ...]:
    urls = tuple(part for part in re.split(r"[\s,]+", text) if part)
    if not urls or not all(re.match(r"^[a-z][a-z0-9+.-]*://\S+$", url, re.IGNORECASE) for url in urls):
        raise ValueError(text)
    return urls


def _url(text: str) -> str:
    if not re.match(r"^(https?|file)://[^/\s]+", text) or any(ch.isspace() for ch in text):
        raise ValueError(text)
    return text.rstrip("/")


HOME = EnvVar[Path](
    "EDUOPEN_HOME",
    _path,
    Path("./data"),
    "the EduOpen data directory: raw store, landing folder, warehouse, exports, docs, state",
    "a directory path",
)
SOURCES_FILE = EnvVar[Path](
    "EDUOPEN_SOURCES_FILE",
    _path,
    DEFAULT_SOURCES_FILE,
    "the sources file (URLs, rate limits, each source's own settings)",
    "a path to a YAML file",
)
MEMORY_LIMIT = EnvVar[str](
    "EDUOPEN_MEMORY_LIMIT",
    _duckdb_size,
    # Without a cap DuckDB may take 80% of the machine: a scan of a 25 GB catalog keeps the blocks
    # it read cached up to that limit, though the query itself needs little. Each process holds
    # more than the cap (dbt, GX, allocations outside DuckDB's buffer pool): under 1GB the 100x
    # release matching peaked at 1.5 GiB, under 2500MB the 100x build at 3.3 GiB.
    "1GB",
    "DuckDB's memory cap for the audit copy, the dbt build (dbt_project/profiles.yml), the gate and publish",
    "a size DuckDB understands, e.g. 2500MB, 4GB or 1.5GiB",
)
DBT_THREADS = EnvVar[int](
    "EDUOPEN_DBT_THREADS",
    _whole(minimum=1),
    1,
    "dbt threads (read by dbt_project/profiles.yml): models built side by side",
    "a whole number, at least 1",
)
DBT_DB_PATH = EnvVar[Path | None](
    "EDUOPEN_DBT_DB_PATH",
    _path,
    None,
    "the warehouse file a dbt invocation builds into (dbt_project/profiles.yml); the pipeline sets it "
    "to the audit copy of the home for each dbt run",
    "a path to a DuckDB file",
)
DBT_MANIFEST = EnvVar[Path | None](
    "EDUOPEN_DBT_MANIFEST",
    _path,
    None,
    "the dbt manifest the warehouse DAG draws its tasks from; unset: <EDUOPEN_HOME>/dbt/manifest.json",
    "a path to a manifest.json",
)
DBT_TASKS_CHOICES = ("per_node", "single")
DBT_TASKS = EnvVar[str](
    "EDUOPEN_DBT_TASKS",
    _choice(*DBT_TASKS_CHOICES),
    "single",
    "how the warehouse DAG runs dbt: one `dbt build` task (lowest latency), or one task per dbt node",
    "one of " + ", ".join(DBT_TASKS_CHOICES),
)
WATCH_POLL_S = EnvVar[float | None](
    "EDUOPEN_WATCH_POLL_S",
    _number(above=0),
    None,
    "seconds between two polls of a watcher; unset: 300 for the release listings, 15 for the landing folder",
    "a positive number of seconds",
)
LANDING_SETTLE_S = EnvVar[float | None](
    "EDUOPEN_LANDING_SETTLE_S",
    _number(minimum=0),
    None,
    "a landing file modified within this many seconds is left for the next run; unset: sources.yml landing.settle_s",
    "a number of seconds, 0 or more",
)
TASK_RETRIES = EnvVar[int](
    "EDUOPEN_TASK_RETRIES",
    _whole(minimum=0),
    2,
    "retries per Airflow task (the local `dags test` sets 0 so a failed demo run says why at once)",
    "a whole number, 0 or more",
)
TASK_RETRY_DELAY_S = EnvVar[float](
    "EDUOPEN_TASK_RETRY_DELAY_S",
    _number(above=0),
    120.0,
    "seconds before an Airflow task's first retry (doubled for each next one, at most 30 minutes)",
    "a positive number of seconds",
)
MAX_ROW_DROP_PCT = EnvVar[float | None](
    "EDUOPEN_MAX_ROW_DROP_PCT",
    _number(minimum=0, maximum=100),
    None,
    "largest drop in a table's rows since the last publish the gate accepts, for suites that do not "
    "set max_row_drop_pct; unset: 50",
    "a number of percent within 0..100",
)
GX_FULL_ROWS = EnvVar[int](
    "EDUOPEN_GX_FULL_ROWS",
    _whole(minimum=0),
    10_000,
    "tables up to this many rows are validated whole by Great Expectations, larger ones by their evidence",
    "a whole number of rows, 0 or more",
)
GX_KEEP_RUNS = EnvVar[int](
    "EDUOPEN_GX_KEEP_RUNS",
    _whole(minimum=1),
    20,
    "validation runs of the gate kept in GX's validation results store and Data Docs; older ones are pruned",
    "a whole number of runs, 1 or more",
)
MIN_DELAY_S = EnvVar[float | None](
    "EDUOPEN_MIN_DELAY_S",
    _number(minimum=0),
    None,
    "seconds between two requests to one host, for every source (the replay uses 0); unset: sources.yml",
    "a number of seconds, 0 or more",
)
TODAY = EnvVar[date | None](
    "EDUOPEN_TODAY",
    date.fromisoformat,
    None,
    "the day release horizons count back from (a replay pins its recording date); unset: sources.yml, "
    "else today in Beijing",
    "a date YYYY-MM-DD",
)

ALERT_EMAIL_TO = EnvVar[tuple[str, ...] | None](
    "EDUOPEN_ALERT_EMAIL_TO",
    _emails,
    None,
    "who is emailed when a source fails, the gate fails or a source is stale (through Airflow's SMTP "
    "connection, [email] email_conn_id, default smtp_default); unset: no email",
    "email addresses separated by commas",
)
ALERT_EMAIL_FROM = EnvVar[str | None](
    "EDUOPEN_ALERT_EMAIL_FROM",
    _email,
    None,
    "the sender of alert emails; unset: the SMTP connection's from_email",
    "an email address",
)
ALERT_APPRISE_URLS = EnvVar[tuple[str, ...] | None](
    "EDUOPEN_ALERT_APPRISE_URLS",
    _apprise_urls,
    None,
    "Apprise URLs alerts are also sent to (slack://..., a Slack webhook https://hooks.slack.com/..., "
    "msteams://..., json://...); unset: none",
    "Apprise URLs separated by commas or spaces",
    sensitive=True,
)
DOCS_BASE_URL = EnvVar[str | None](
    "EDUOPEN_DOCS_BASE_URL",
    _url,
    None,
    "the URL <EDUOPEN_HOME>/docs/ is served at (e.g. by `eduopen docs serve`), for links in alerts and "
    "the Airflow UI; unset: alerts link the files (file://), the UI http://127.0.0.1:8081",
    "an http(s):// or file:// URL",
)

ENV_VARS: tuple[EnvVar[Any], ...] = (
    HOME,
    SOURCES_FILE,
    MEMORY_LIMIT,
    DBT_THREADS,
    DBT_DB_PATH,
    DBT_MANIFEST,
    DBT_TASKS,
    WATCH_POLL_S,
    LANDING_SETTLE_S,
    TASK_RETRIES,
    TASK_RETRY_DELAY_S,
    MAX_ROW_DROP_PCT,
    GX_FULL_ROWS,
    GX_KEEP_RUNS,
    MIN_DELAY_S,
    TODAY,
    ALERT_EMAIL_TO,
    ALERT_EMAIL_FROM,
    ALERT_APPRISE_URLS,
    DOCS_BASE_URL,
)


def source_url_var(source: str) -> EnvVar[str | None]:
    """`moe_zh` -> `EDUOPEN_MOE_ZH_URL`: the base URL of one source (the replay server in tests and demo)."""
    return EnvVar[str | None](
        f"EDUOPEN_{source.upper()}_URL",
        _url,
        None,
        f"base URL of the source {source}; unset: sources.yml sources.{source}.base_url",
        "an http(s):// or file:// URL",
    )


def check_env(sources: Iterable[str] = ()) -> None:
    """Parse every declared variable (and the URL of each named source): ConfigError listing all
    bad values, one line each."""
    problems = []
    for var in (*ENV_VARS, *(source_url_var(name) for name in sources)):
        try:
            var.value()
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("\n".join(problems))


def duckdb_config() -> dict[str, Any]:
    """Settings for the pipeline's own DuckDB connections (`duckdb.connect(..., config=...)`)."""
    return {
        "memory_limit": MEMORY_LIMIT.value(),
        # No table relies on row order (every list a mart shows is sorted by its query): without
        # it DuckDB streams inserts instead of buffering them to keep the input order.
        "preserve_insertion_order": False,
    }


# -- sources.yml -------------------------------------------------------------------------------

DEFAULT_USER_AGENT = "EduOpenBot/0.1 (+https://github.com/eduopen/eduopen)"
Kind = Literal["releases", "statistics", "files"]


class ClientSettings(BaseModel):
    """The polite client's keys, allowed in `defaults:` and in each source; each source's value wins."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_delay_s: float = Field(default=1.0, ge=0, description="seconds between two requests to one host")
    connect_timeout_s: float = Field(default=5.0, gt=0, description="seconds to wait for a connection")
    read_timeout_s: float = Field(default=30.0, gt=0, description="seconds to wait for a byte of the answer")
    total_timeout_s: float = Field(default=300.0, gt=0, description="seconds one request may take in all")
    max_retries: int = Field(default=4, ge=0, description="retries of a failed request")
    backoff_base_s: float = Field(default=0.5, ge=0, description="first wait before a retry; doubles each time")
    backoff_max_s: float = Field(default=30.0, ge=0, description="longest wait before a retry")
    respect_robots: bool = Field(default=True, description="obey the host's robots.txt")
    max_bytes: int = Field(default=50_000_000, gt=0, description="largest answer read, in bytes")
    allowed_hosts: tuple[str, ...] = Field(default=(), description="hosts besides base_url's that may be fetched")
    today: date | None = Field(default=None, description="the day release horizons count back from")


class SourceEntry(ClientSettings):
    """The keys every source shares; the rest of its entry is its own (`SourceConfig.options`)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: Kind = Field(default="releases", description="what the source gives: releases, statistics or files")
    enabled: bool = Field(default=True, description="false: the source is configured but never run")
    base_url: str | None = Field(default=None, description="where the source is fetched from")
    language: str | None = Field(default=None, description="language of the source's pages (zh, en)")


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    user_agent: str = DEFAULT_USER_AGENT
    defaults: ClientSettings = ClientSettings()
    sources: dict[str, dict[str, Any]]


# The source's own keys first, then the polite client's.
COMMON_KEYS = ("kind", "enabled", "base_url", "language", *ClientSettings.model_fields)

# Where a value came from, as `eduopen config` prints it.
BUILT_IN = "built-in default"
FROM_DEFAULTS = "sources.yml defaults"


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys of the model that `loc` (the path to a key) points into."""
    current = model
    for part in loc:
        field = current.model_fields.get(part) if isinstance(part, str) else None
        nested = field.annotation if field is not None else None
        if not (isinstance(nested, type) and issubclass(nested, BaseModel)):
            break
        current = nested
    return list(current.model_fields)


def _problems(error: ValidationError, where: str, model: type[BaseModel]) -> list[str]:
    """One self-contained line per problem: where, the key, what is wrong, what is allowed."""
    lines = []
    for problem in error.errors():
        loc = tuple(problem["loc"])
        key = ".".join(str(part) for part in loc)
        if problem["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(model, loc[:-1]))
            lines.append(f"{where}: unknown key {key}; allowed keys: {allowed}")
        else:
            lines.append(f"{where}: {key}: {problem['msg']} (got {problem.get('input')!r})")
    return lines


@dataclass(frozen=True)
class SourceConfig:
    """One source of `sources.yml`: the shared keys typed (defaults and environment applied) and the
    source's own keys as `options`. Built by `parse`, which checks the entry."""

    name: str
    entry: SourceEntry
    defaults: ClientSettings
    user_agent: str
    # The entry as written in the file, before `defaults:` fill in.
    written: Mapping[str, Any]

    @classmethod
    def parse(
        cls,
        name: str,
        entry: Mapping[str, Any],
        defaults: Mapping[str, Any] | ClientSettings | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        *,
        origin: str = "sources.yml",
    ) -> SourceConfig:
        """Check one entry (and the defaults it falls back to); ConfigError listing every problem."""
        problems = []
        if isinstance(defaults, ClientSettings):
            checked_defaults = defaults
        else:
            try:
                checked_defaults = ClientSettings.model_validate(dict(defaults or {}))
            except ValidationError as exc:
                problems += _problems(exc, f"{origin}: defaults", ClientSettings)
                checked_defaults = ClientSettings()
        try:
            checked = SourceEntry.model_validate({**checked_defaults.model_dump(exclude_unset=True), **entry})
        except ValidationError as exc:
            problems += _problems(exc, f"{origin}: sources.{name}", SourceEntry)
        if problems:
            raise ConfigError("\n".join(problems))
        return cls(name, checked, checked_defaults, user_agent, dict(entry))

    @property
    def kind(self) -> Kind:
        return self.entry.kind

    @property
    def enabled(self) -> bool:
        return self.entry.enabled

    @property
    def language(self) -> str | None:
        return self.entry.language

    @property
    def url_var(self) -> EnvVar[str | None]:
        return source_url_var(self.name)

    @property
    def base_url(self) -> str:
        """Where the source is fetched from: `EDUOPEN_<SOURCE>_URL`, else sources.yml."""
        url = self.url_var.value() or self.entry.base_url
        if not url:
            raise ConfigError(f"source {self.name!r} has no base_url (set {self.url_var.name})")
        return url.rstrip("/")

    @property
    def canonical_base_url(self) -> str:
        """The base URL of sources.yml: items are recorded under it wherever they were fetched from."""
        return (self.entry.base_url or self.base_url).rstrip("/")

    @property
    def today(self) -> date | None:
        """The date horizons count back from: `EDUOPEN_TODAY` (a replay pins its recording date),
        else the source's `today`, else None (the real today)."""
        return TODAY.value() or self.entry.today

    @property
    def min_delay_s(self) -> float:
        override = MIN_DELAY_S.value()
        return override if override is not None else self.entry.min_delay_s

    @property
    def connect_timeout_s(self) -> float:
        return self.entry.connect_timeout_s

    @property
    def read_timeout_s(self) -> float:
        return self.entry.read_timeout_s

    @property
    def total_timeout_s(self) -> float:
        return self.entry.total_timeout_s

    @property
    def max_retries(self) -> int:
        return self.entry.max_retries

    @property
    def backoff_base_s(self) -> float:
        return self.entry.backoff_base_s

    @property
    def backoff_max_s(self) -> float:
        return self.entry.backoff_max_s

    @property
    def respect_robots(self) -> bool:
        return self.entry.respect_robots

    @property
    def max_bytes(self) -> int:
        return self.entry.max_bytes

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        return self.entry.allowed_hosts

    @property
    def options(self) -> Mapping[str, Any]:
        """The source's own keys (all but the shared ones) as written; its folder checks them."""
        return {key: value for key, value in self.written.items() if key not in COMMON_KEYS}

    def effective(self) -> dict[str, Any]:
        """Every shared key's effective value (environment applied)."""
        values = {key: getattr(self.entry, key) for key in COMMON_KEYS}
        values.update(min_delay_s=self.min_delay_s, today=self.today)
        if self.url_var.raw() is not None or self.entry.base_url:
            values["base_url"] = self.base_url
        return values

    def origin(self, key: str) -> str:
        """Where the effective value of a shared key came from."""
        overrides: dict[str, EnvVar[Any]] = {"base_url": self.url_var, "min_delay_s": MIN_DELAY_S, "today": TODAY}
        if key in overrides and overrides[key].raw() is not None:
            return f"environment variable {overrides[key].name}"
        if key in self.written:
            return f"sources.yml sources.{self.name}"
        if key in self.defaults.model_fields_set:
            return FROM_DEFAULTS
        return BUILT_IN


@dataclass(frozen=True)
class Settings:
    path: Path

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        chosen = path or SOURCES_FILE.value()
        if not chosen.exists():
            raise ConfigError(f"sources file not found: {chosen}")
        return cls(chosen)

    @cached_property
    def data(self) -> SourcesFile:
        try:
            loaded = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{self.path}: not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict) or "sources" not in loaded:
            raise ConfigError(f"{self.path}: expected a mapping with a 'sources' key")
        try:
            return SourcesFile.model_validate(loaded)
        except ValidationError as exc:
            raise ConfigError("\n".join(_problems(exc, str(self.path), SourcesFile))) from None

    @cached_property
    def sources(self) -> dict[str, SourceConfig]:
        """Every source of the file, checked: ConfigError listing every problem of every source."""
        problems: list[str] = []
        checked = {}
        for name, entry in self.data.sources.items():
            if not isinstance(entry, dict):
                problems.append(f"{self.path}: sources.{name}: expected a mapping of keys")
                continue
            try:
                checked[name] = SourceConfig.parse(
                    name, entry, self.data.defaults, self.data.user_agent, origin=str(self.path)
                )
            except ConfigError as exc:
                problems.append(str(exc))
        if problems:
            raise ConfigError("\n".join(problems))
        return checked

    @property
    def user_agent(self) -> str:
        return self.data.user_agent

    def source_names(self) -> list[str]:
        return [name for name, cfg in self.sources.items() if cfg.enabled]

    def network_source_names(self) -> list[str]:
        """Enabled sources that talk HTTP (all but the `files` kind, i.e. the landing folder)."""
        return [name for name in self.source_names() if self.source(name).kind != "files"]

    def source(self, name: str) -> SourceConfig:
        try:
            return self.sources[name]
        except KeyError:
            known = ", ".join(self.data.sources)
            raise ConfigError(f"unknown source {name!r}; known sources: {known}") from None


# -- what is in effect -------------------------------------------------------------------------


def _origin_of(var: EnvVar[Any]) -> str:
    return f"environment variable {var.name}" if var.raw() is not None else BUILT_IN


def _shown(var: EnvVar[Any]) -> Any:
    if var.secret:
        return "(set, not shown)" if var.raw() is not None else None
    return var.value()


def effective_settings(settings: Settings) -> dict[str, Any]:
    """Every `EDUOPEN_*` variable and every enabled source's settings: value and where it came from.

    Checks everything first, so a bad value is reported (all of them, one line each) instead of shown.
    """
    check_env(settings.source_names())
    sources = {name: settings.source(name) for name in settings.source_names()}
    environment = [
        {
            "name": var.name,
            "value": _shown(var),
            "from": _origin_of(var),
            "default": None if var.secret else var.default,
            "description": var.description,
            "allowed": var.allowed,
        }
        for var in (*ENV_VARS, *(cfg.url_var for cfg in sources.values() if cfg.kind != "files"))
    ]
    declared = {item["name"] for item in environment}
    unread = sorted(name for name in os.environ if name.startswith("EDUOPEN_") and name not in declared)
    return {
        "sources_file": {"value": str(settings.path), "from": _origin_of(SOURCES_FILE)},
        "environment": environment,
        # Set but read by nothing here (docker-compose's own variables, or a typo): names only.
        "environment_not_read": unread,
        "user_agent": settings.user_agent,
        "sources": {
            name: {
                "settings": {key: {"value": value, "from": cfg.origin(key)} for key, value in cfg.effective().items()},
                "options": {
                    key: {"value": value, "from": f"sources.yml sources.{name}"} for key, value in cfg.options.items()
                },
            }
            for name, cfg in sources.items()
        },
    }


def render_settings(report: Mapping[str, Any]) -> str:
    """`effective_settings` as text: one `name = value  (where from)` line per setting."""

    def line(name: str, value: Any, origin: str) -> str:
        text = "(unset)" if value is None else value
        return f"  {name} = {text}  ({origin})"

    lines = [f"sources file: {report['sources_file']['value']}  ({report['sources_file']['from']})", "", "environment"]
    lines += [line(item["name"], item["value"], item["from"]) for item in report["environment"]]
    if report["environment_not_read"]:
        lines.append(f"  set but not read by EduOpen: {', '.join(report['environment_not_read'])}")
    for name, source in report["sources"].items():
        lines += ["", f"source {name}"]
        lines += [line(key, item["value"], item["from"]) for key, item in source["settings"].items()]
        if source["options"]:
            lines.append("  options:")
            lines += ["  " + line(key, item["value"], item["from"]) for key, item in source["options"].items()]
    return "\n".join(lines)
