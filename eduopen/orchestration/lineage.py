"""OpenLineage from the EduOpen tasks, so a lineage tool sees sources → raw → audit → published marts.

The OpenLineage provider emits a START and a COMPLETE event for every task, but a Python task's
datasets are invisible to it: its Assets are `eduopen://` URIs, which no OpenLineage converter
knows. So each task names what it read and wrote through the provider's public
`emit_dataset_lineage` (an event of the running task, merged with its START and COMPLETE):

* an ingest task: the source's URLs (or the landing folder) → the raw catalog tables holding the
  source's rows;
* `prepare_audit`: the raw catalog tables → their copies in the audit warehouse;
* `dbt_build` (the one-task fallback): one event per dbt model, test and seed from dbt's
  artifacts, parsed by openlineage-integration-common's dbt processor (Cosmos does the same for
  its per-node tasks);
* `publish`: the audit copy's marts → the published warehouse's marts and their Parquet exports.

Dataset names follow the OpenLineage naming spec, and DuckDB tables are named as the dbt
processor names dbt-duckdb's relations (`duckdb://<file>`, `<catalog>.<schema>.<table>`), so
the tasks' datasets and the dbt models' join into one graph.

Where events go is Airflow's `[openlineage]` configuration; `openlineage_env` writes them to a
file under EDUOPEN_HOME unless the operator configured a transport. Import-light: the local
mode's environment is built from it, and OpenLineage is imported only inside a running task.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from eduopen.core.paths import DBT_PROJECT_DIR, Home

if TYPE_CHECKING:
    from openlineage.client.event_v2 import InputDataset, OutputDataset

    from eduopen.core.config import SourceConfig

log = logging.getLogger("eduopen.airflow")

LINEAGE_FILE = "openlineage.jsonl"
JOB_NAMESPACE = "eduopen"
# Any of these means the operator chose where events go (or that none go): the default stays out.
_OPERATOR_SETTINGS = (
    "AIRFLOW__OPENLINEAGE__TRANSPORT",
    "AIRFLOW__OPENLINEAGE__CONFIG_PATH",
    "AIRFLOW__OPENLINEAGE__CONFIG_CONN_ID",
    "AIRFLOW__OPENLINEAGE__DISABLED",
    "OPENLINEAGE_URL",
    "OPENLINEAGE_CONFIG",
    "OPENLINEAGE_DISABLED",
)


# -- configuration ------------------------------------------------------------------------------


def lineage_file(home: Home) -> Path:
    """Where the default transport appends one JSON line per OpenLineage event."""
    return home.lineage / LINEAGE_FILE


def openlineage_env(home: Home, env: Mapping[str, str]) -> dict[str, str]:
    """Airflow settings that turn OpenLineage on, writing to `lineage_file(home)`, unless `env`
    already says where events go (`OPENLINEAGE_URL` for Marquez, a transport, a config file)."""
    settings = {}
    if not env.get("AIRFLOW__OPENLINEAGE__NAMESPACE") and not env.get("OPENLINEAGE_NAMESPACE"):
        settings["AIRFLOW__OPENLINEAGE__NAMESPACE"] = JOB_NAMESPACE
    configured = any(env.get(name) for name in _OPERATOR_SETTINGS) or any(
        key.startswith("OPENLINEAGE__TRANSPORT") and value for key, value in env.items()
    )
    if not configured:
        transport = {"type": "file", "log_file_path": str(lineage_file(home)), "append": True}
        settings["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(transport)
    return settings


def openlineage_enabled() -> bool:
    """Whether Airflow's OpenLineage provider emits events here (its configuration only: cheap
    enough for DAG parse time)."""
    try:
        from airflow.providers.openlineage import conf
    except ImportError:
        return False
    return not conf.is_disabled()


# -- dataset names ------------------------------------------------------------------------------


def duckdb_table(database: Path, schema: str, table: str) -> tuple[str, str]:
    """(namespace, name) of a DuckDB table: DuckDB names a file's catalog after the file."""
    path = database.resolve()
    return f"duckdb://{path}", f"{path.stem}.{schema}.{table}"


def local_file(path: Path) -> tuple[str, str]:
    return "file", str(path.resolve())


def source_locations(cfg: SourceConfig, home: Home) -> list[tuple[str, str]]:
    """(namespace, name) of what one source reads: its listings, feeds or API on the source's own
    site (`sources.yml`'s base URL, where its items are recorded even when fetched from a mirror),
    or the landing folder."""
    if cfg.kind == "files":
        return [local_file(home.landing)]
    base = cfg.canonical_base_url + "/"
    options = cfg.options
    paths = [str(column["path"]) for column in options.get("columns") or [] if column.get("path")]
    paths += [str(feed["url"]) for feed in options.get("urls") or [] if feed.get("url")]
    if not paths:
        paths = [str(options.get("api_prefix") or "/")]
    locations = []
    for path in paths:
        url = urlsplit(urljoin(base, path.lstrip("/") if not urlsplit(path).scheme else path))
        locations.append((f"{url.scheme}://{url.netloc}", url.path or "/"))
    return list(dict.fromkeys(locations))


def raw_tables_of_source(home: Home, source: str) -> list[str]:
    """The raw catalog tables holding rows of `source` (each raw data table has a `source` column)."""
    import duckdb

    from eduopen.core.config import duckdb_config
    from ingest.raw_store import RAW_TABLES

    if not home.catalog.exists():
        return []
    con = duckdb.connect(str(home.catalog), read_only=True, config=duckdb_config())
    try:
        with_source = {
            row[0]
            for row in con.execute(
                "select table_name from duckdb_columns() where schema_name = 'main' and column_name = 'source'"
            ).fetchall()
        }
        return [
            table
            for table in RAW_TABLES
            if table in with_source
            and con.execute(
                f"select count(*) from (select 1 from main.{table} where source = ? limit 1)", [source]
            ).fetchall()[0][0]
        ]
    finally:
        con.close()


# -- what each task reports ---------------------------------------------------------------------


def _input(location: tuple[str, str]) -> InputDataset:
    from openlineage.client.event_v2 import InputDataset

    return InputDataset(namespace=location[0], name=location[1])


def _output(
    location: tuple[str, str], rows: int | None = None, facets: Mapping[str, Any] | None = None
) -> OutputDataset:
    from openlineage.client.event_v2 import OutputDataset
    from openlineage.client.facet_v2 import OutputDatasetFacet, output_statistics_output_dataset

    statistics: dict[str, OutputDatasetFacet] = {}
    if rows is not None:
        statistics["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=int(rows)
        )
    return OutputDataset(namespace=location[0], name=location[1], facets=dict(facets or {}), outputFacets=statistics)


def _emit(inputs: Iterable[InputDataset], outputs: Iterable[OutputDataset]) -> None:
    """Attribute the datasets to the running task; a no-op when OpenLineage is off or absent."""
    try:
        from airflow.providers.openlineage.api import emit_dataset_lineage, is_openlineage_active
    except ImportError:
        return
    if not is_openlineage_active():
        return
    inputs, outputs = list(inputs), list(outputs)
    if inputs or outputs:
        emit_dataset_lineage(inputs=inputs, outputs=outputs)


def report_ingest(source: str, home: Home | None = None) -> None:
    """An ingest task: the source's locations → the raw tables holding its rows."""
    from eduopen.core.config import Settings

    if not openlineage_enabled():
        return
    home = home or Home.from_env()
    try:
        cfg = Settings.load().source(source)
        inputs = [_input(location) for location in source_locations(cfg, home)]
        tables = raw_tables_of_source(home, source)
    except Exception as exc:  # lineage is a by-product: it must never fail the ingest
        log.warning("OpenLineage: no datasets for ingest of %s: %s: %s", source, type(exc).__name__, exc)
        return
    if cfg.kind == "files" and home.catalog.exists():
        # Which files were loaded, with their fingerprints; the only raw table without a `source`.
        tables.append("landing_file")
    _emit(inputs, [_output(duckdb_table(home.catalog, "main", table)) for table in tables])


def report_prepare_audit(rows: Mapping[str, int], home: Home | None = None) -> None:
    """`prepare_audit`: each raw catalog table → its copy in the audit warehouse (`raw` schema)."""
    if not openlineage_enabled():
        return
    home = home or Home.from_env()
    _emit(
        [_input(duckdb_table(home.catalog, "main", table)) for table in rows],
        [_output(duckdb_table(home.audit, "raw", table), count) for table, count in rows.items()],
    )


def report_publish(result: Mapping[str, Any], home: Home | None = None) -> None:
    """`publish`: each mart of the audit copy → the published mart and its Parquet export."""
    if not openlineage_enabled():
        return
    home = home or Home.from_env()
    rows: Mapping[str, int] = result.get("rows") or {}
    schemas = _mart_schema_facets()
    published = Path(str(result.get("published") or home.warehouse))
    exports = {Path(path).stem: Path(path) for path in result.get("exports") or []}
    outputs = []
    for mart, count in rows.items():
        facets = {"schema": schemas[mart]} if mart in schemas else {}
        outputs.append(_output(duckdb_table(published, "marts", mart), count, facets))
        if mart in exports:
            outputs.append(_output(local_file(exports[mart]), count, facets))
    _emit([_input(duckdb_table(home.audit, "marts", mart)) for mart in rows], outputs)


def _mart_schema_facets() -> dict[str, Any]:
    """Each mart's columns from its dbt contract, as OpenLineage schema facets."""
    from openlineage.client.facet_v2 import schema_dataset

    from expectations.contracts import mart_contracts

    return {
        mart: schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=name, type=kind) for name, kind in columns]
        )
        for mart, columns in mart_contracts().items()
    }


def report_dbt_build(home: Home | None = None) -> None:
    """The one-task `dbt build`: an event per dbt node from the run's manifest and run_results.

    dbt's processor reads the profile to name the database; the audit copy is the one built.
    """
    home = home or Home.from_env()
    try:
        from airflow.providers.openlineage import conf
        from airflow.providers.openlineage.api import emit, is_openlineage_active
        from openlineage.common.provider.dbt.local import DbtLocalArtifactProcessor
        from openlineage.common.provider.dbt.utils import PRODUCER
    except ImportError:
        return
    if not is_openlineage_active():
        return
    from eduopen.core.config import DBT_DB_PATH
    from eduopen.orchestration.cosmos_dbt import PROFILE_NAME, TARGET_NAME
    from eduopen.warehouse.dbt import dbt_dir

    previous = os.environ.get(DBT_DB_PATH.name)
    os.environ[DBT_DB_PATH.name] = str(home.audit)
    try:
        processor = DbtLocalArtifactProcessor(
            producer=PRODUCER,
            job_namespace=conf.namespace(),
            project_dir=str(DBT_PROJECT_DIR),
            profile_name=PROFILE_NAME,
            target=TARGET_NAME,
            target_path=str(dbt_dir(home) / "target"),
            dbt_command_line=["dbt", "build", "--profiles-dir", str(DBT_PROJECT_DIR)],
        )
        processor.should_raise_on_unsupported_command = False
        processor.dbt_run_metadata = _airflow_task_as_parent()
        events = processor.parse()
    except Exception as exc:  # lineage is a by-product: it must never fail the build
        log.warning("OpenLineage: no dbt events from %s: %s: %s", dbt_dir(home), type(exc).__name__, exc)
        return
    finally:
        if previous is None:
            os.environ.pop(DBT_DB_PATH.name, None)
        else:
            os.environ[DBT_DB_PATH.name] = previous
    for event in events.events():
        emit(event)


def _airflow_task_as_parent() -> Any:
    """The running Airflow task as the parent run of the dbt nodes' events."""
    from airflow.providers.openlineage.plugins.macros import (
        lineage_job_name,
        lineage_job_namespace,
        lineage_root_job_name,
        lineage_root_job_namespace,
        lineage_root_run_id,
        lineage_run_id,
    )
    from airflow.sdk import get_current_context
    from openlineage.common.provider.dbt.facets import ParentRunMetadata

    ti = get_current_context()["ti"]
    return ParentRunMetadata(
        run_id=lineage_run_id(ti),
        job_name=lineage_job_name(ti),
        job_namespace=lineage_job_namespace(),
        root_parent_job_name=lineage_root_job_name(ti),
        root_parent_job_namespace=lineage_root_job_namespace(ti),
        root_parent_run_id=lineage_root_run_id(ti),
    )
