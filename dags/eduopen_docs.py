"""
### EduOpen · docs: Data Docs, dbt docs and the HTML report after every publish

Scheduled on the published mart Assets (`eduopen://marts/<model>`, one per mart model): the
warehouse DAG's publish emits them all at once, and this DAG then regenerates

- **Data Docs** (`$EDUOPEN_HOME/docs/gx/index.html`): the quality gate's stored validation results,
  rendered here rather than on the way to publish (a failing gate renders its own);
- **dbt docs** (`$EDUOPEN_HOME/docs/dbt/index.html`): models, columns, tests and lineage;
- **the report** (`$EDUOPEN_HOME/docs/report/index.html`): bringing in vs going global, top partner
  countries, releases per theme per year, the latest releases.

The last two only read the published warehouse; the task still queues in the writer pool so it never
copies the file while a publish is swapping it.
Same step outside Airflow: `eduopen docs`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import dag, task

from eduopen.orchestration.dag_support import START_DATE, as_xcom, default_args
from eduopen.orchestration.mart_assets import PUBLISHED_MARTS


@task(multiple_outputs=False)
def build_docs() -> dict[str, Any]:
    """dbt docs generate + the static HTML report, from the published warehouse."""
    from eduopen import pipeline

    return as_xcom(pipeline.docs())


@dag(
    dag_id="eduopen_docs",
    schedule=PUBLISHED_MARTS,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    default_args=default_args(execution_timeout=timedelta(minutes=15)),
    tags=["eduopen", "docs", "report"],
    doc_md=__doc__,
)
def eduopen_docs() -> None:
    build_docs()


eduopen_docs()
