"""Runtime configuration: the sources file and the `EDUOPEN_*` environment variables.

Everything an operator may change lives in `sources.yml` (URLs, selectors, rate limits, horizons)
or in `EDUOPEN_*` environment variables; code reads it only through this module.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from eduopen.core.errors import ConfigError
from eduopen.core.paths import DEFAULT_SOURCES_FILE

# The warehouse file a dbt invocation builds into; dbt_project/profiles.yml reads it.
DBT_DB_PATH_ENV = "EDUOPEN_DBT_DB_PATH"


# DuckDB's memory cap for the pipeline's large reads and writes: the audit copy, the dbt build
# (dbt_project/profiles.yml reads the same variable, with the same fallback), the gate and publish.
# Without it DuckDB may take 80% of the machine: a scan of a 25 GB catalog keeps the blocks it read
# cached up to that limit, though the query itself needs little.
MEMORY_LIMIT_ENV = "EDUOPEN_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "2500MB"


def duckdb_memory_limit() -> str:
    return os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT


def duckdb_config() -> dict[str, Any]:
    """Settings for the pipeline's own DuckDB connections (`duckdb.connect(..., config=...)`)."""
    return {
        "memory_limit": duckdb_memory_limit(),
        # No table relies on row order (every list a mart shows is sorted by its query): without
        # it DuckDB streams inserts instead of buffering them to keep the input order.
        "preserve_insertion_order": False,
    }


def env_url_name(source: str) -> str:
    """`moe_zh` -> `EDUOPEN_MOE_ZH_URL`."""
    return f"EDUOPEN_{source.upper()}_URL"


@dataclass(frozen=True)
class SourceConfig:
    """One entry of `sources.yml`, with the base URL already overridden from the environment."""

    name: str
    settings: dict[str, Any]
    defaults: dict[str, Any]
    user_agent: str

    @property
    def base_url(self) -> str:
        url = os.environ.get(env_url_name(self.name)) or self.settings.get("base_url")
        if not url:
            raise ConfigError(f"source {self.name!r} has no base_url (set {env_url_name(self.name)})")
        return url.rstrip("/")

    @property
    def kind(self) -> str:
        return self.settings.get("kind", "releases")

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.settings:
            return self.settings[key]
        return self.defaults.get(key, default)

    @property
    def today(self) -> str | None:
        """The date horizons count back from: `EDUOPEN_TODAY` (a replay pins its recording date),
        else a `today` key of the source, else None (the real today)."""
        return os.environ.get("EDUOPEN_TODAY") or self.settings.get("today")

    @property
    def min_delay_s(self) -> float:
        override = os.environ.get("EDUOPEN_MIN_DELAY_S")
        return float(override) if override is not None else float(self.get("min_delay_s", 1.0))


@dataclass(frozen=True)
class Settings:
    path: Path

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        chosen = path or Path(os.environ.get("EDUOPEN_SOURCES_FILE", DEFAULT_SOURCES_FILE))
        if not chosen.exists():
            raise ConfigError(f"sources file not found: {chosen}")
        return cls(chosen)

    @cached_property
    def data(self) -> dict[str, Any]:
        try:
            loaded = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{self.path}: not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict) or "sources" not in loaded:
            raise ConfigError(f"{self.path}: expected a mapping with a 'sources' key")
        return loaded

    @property
    def user_agent(self) -> str:
        return self.data.get("user_agent", "EduOpenBot/0.1 (+https://github.com/eduopen/eduopen)")

    def source_names(self) -> list[str]:
        return [name for name, cfg in self.data["sources"].items() if cfg.get("enabled", True)]

    def network_source_names(self) -> list[str]:
        """Enabled sources that talk HTTP (all but the `files` kind, i.e. the landing folder)."""
        return [name for name in self.source_names() if self.source(name).kind != "files"]

    def source(self, name: str) -> SourceConfig:
        try:
            settings = self.data["sources"][name]
        except KeyError:
            known = ", ".join(self.data["sources"])
            raise ConfigError(f"unknown source {name!r}; known sources: {known}") from None
        return SourceConfig(name, settings, self.data.get("defaults", {}), self.user_agent)
