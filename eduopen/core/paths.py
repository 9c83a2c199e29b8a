"""Where things are: the project tree (dbt project, suites, sources file) and the EduOpen home."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_SOURCES_FILE = PROJECT_DIR / "ingest" / "sources.yml"
EXPECTATIONS_DIR = PROJECT_DIR / "expectations"


def _beside_or_inside_the_package(name: str) -> Path:
    # A checkout (and the Docker image) has the dbt project and the DAGs beside the packages; an
    # installed wheel carries them inside eduopen/ (pyproject.toml's force-include).
    beside = PROJECT_DIR / name
    return beside if beside.is_dir() else PROJECT_DIR / "eduopen" / name


DBT_PROJECT_DIR = _beside_or_inside_the_package("dbt_project")
DAGS_DIR = _beside_or_inside_the_package("dags")


@dataclass(frozen=True)
class Home:
    """The EduOpen data directory (`EDUOPEN_HOME`) and the names inside it."""

    root: Path

    @classmethod
    def from_env(cls) -> Home:
        # Read at call time: the config module builds on the paths defined here.
        from eduopen.core.config import HOME

        return cls(HOME.value().resolve())

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def blobs(self) -> Path:
        return self.raw / "blobs"

    @property
    def catalog(self) -> Path:
        """DuckDB file of the raw layer: fetch log, parsed raw tables, cursors, quarantine."""
        return self.raw / "catalog.duckdb"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse(self) -> Path:
        """The PUBLISHED warehouse analysts open read-only."""
        return self.root / "warehouse.duckdb"

    @property
    def audit(self) -> Path:
        """The warehouse being built and validated; never read by analysts."""
        return self.root / "audit.duckdb"

    @property
    def versions(self) -> Path:
        """Previously published warehouses kept for rollback."""
        return self.root / "versions"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def docs(self) -> Path:
        return self.root / "docs"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def state(self) -> Path:
        """Small JSON state files (validation results, publish log)."""
        return self.root / "state"

    @property
    def lineage(self) -> Path:
        """OpenLineage events of the Airflow tasks, when no other transport is configured."""
        return self.root / "lineage"

    @property
    def lock(self) -> Path:
        return self.root / ".writer.lock"

    def ensure(self) -> Home:
        for path in (
            self.raw,
            self.blobs,
            self.landing,
            self.exports,
            self.docs,
            self.quarantine,
            self.state,
            self.versions,
            self.lineage,
        ):
            path.mkdir(parents=True, exist_ok=True)
        return self
