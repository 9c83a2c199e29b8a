"""OECD SDMX REST: international students by country of origin and destination (bilateral flows).

Each configured flow is one download of `/data/{agency},{dataflow},{version}/{key}` as SDMX-CSV
with labels. The OECD allows 60 downloads an hour, so the source asks little: a conditional GET
per flow, the per-host delay from sources.yml, and nothing parsed when the body is the one loaded
last time (cursor: sha256 of the last loaded body, per flow). A run given `since` asks for the
periods from its year on (`startPeriod`) and loads every flow, leaving the cursors to the regular runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from eduopen.core.errors import ConfigError, SourceError
from ingest.raw_store import utcnow
from ingest.sources.base import IngestSummary, Source, SourceContext, SourceOptions
from ingest.sources.oecd.parse import SdmxAnswer, parse_sdmx_csv

if TYPE_CHECKING:
    from ingest.http import Response

CSV_FORMAT = "csvfilewithlabels"


class Flow(BaseModel):
    """One SDMX download: the dataflow, its version (empty: the latest) and the key fixing its dimensions."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    agency: str
    dataflow: str
    version: str = ""
    key: str = "all"
    end_period: int | None = None


class Options(SourceOptions):
    api_prefix: str = "/public/rest"
    start_period: int | None = None
    flows: list[Flow] = []


def flow_path(flow: Flow) -> str:
    """`/data/{agency},{dataflow},{version}/{key}` (an empty version means the latest one)."""
    return f"/data/{flow.agency},{flow.dataflow},{flow.version}/{flow.key or 'all'}"


def run(ctx: SourceContext) -> IngestSummary:
    """Download each configured flow (conditionally) and load its origin × destination rows."""
    options = SOURCE.options_of(ctx.config)
    summary = IngestSummary(ctx.name)
    requests_before = ctx.http.request_count
    api = ctx.config.base_url + options.api_prefix
    start = ctx.since.year if ctx.since else options.start_period
    flows = options.flows
    if not flows:
        raise ConfigError("oecd: no flows configured in sources.yml")
    unchanged = 0

    for flow in flows:
        dataflow = flow.dataflow
        url = api + flow_path(flow)
        params = {"format": CSV_FORMAT}
        if start is not None:
            params["startPeriod"] = str(start)
        if flow.end_period is not None:
            params["endPeriod"] = str(flow.end_period)
        response = ctx.http.get(url, params=params)
        summary.not_modified += int(response.not_modified)
        cursor_key = f"sha256:{dataflow}/{flow.key or 'all'}"
        if ctx.since is None and ctx.store.get_cursor(ctx.name, cursor_key) == response.sha256:
            unchanged += 1
            continue

        answer = parse_sdmx_csv(response.content, default_indicator=dataflow)
        if not answer.records:
            reasons = "; ".join(sorted({r.reason for r in answer.rejected})[:3])
            raise SourceError(f"OECD {dataflow}: no usable rows in the answer{': ' + reasons if reasons else ''}")
        if start is not None and any(r.year < int(start) for r in answer.records):
            raise SourceError(f"OECD {dataflow} ignored startPeriod={start}: earlier years in the answer")
        # Rows, quarantine and cursor of one flow commit together or not at all.
        ctx.store.con.execute("begin")
        try:
            summary.new_rows += _load(ctx, answer, response)
            if ctx.since is None:
                ctx.store.set_cursor(ctx.name, cursor_key, response.sha256)
            ctx.store.con.execute("commit")
        except BaseException:
            ctx.store.con.execute("rollback")
            raise
        summary.quarantined += len(answer.rejected)

    if unchanged == len(flows):
        summary.skipped_reason = "every OECD flow unchanged since the last run"
    summary.requests = ctx.http.request_count - requests_before
    return summary


def _load(ctx: SourceContext, answer: SdmxAnswer, response: Response) -> int:
    for bad in answer.rejected:
        ctx.store.quarantine(
            source=ctx.name,
            locator=f"{response.url}#line{bad.line}",
            reason=bad.reason,
            sha256=response.sha256,
            detail=bad.raw,
        )
    if answer.indicator_names:
        ctx.store.con.execute(
            "delete from indicator_definition where source = ? and list_contains(?, indicator_id)",
            [ctx.name, list(answer.indicator_names)],
        )
        ctx.store.insert_rows(
            "indicator_definition",
            [
                {
                    "source": ctx.name,
                    "indicator_id": indicator,
                    "name": name,
                    "theme": None,
                    "last_data_update": response.headers.get("Last-Modified"),
                    "batch_sha256": response.sha256,
                }
                for indicator, name in answer.indicator_names.items()
            ],
        )
    data_version = response.headers.get("Last-Modified")
    loaded_at = utcnow()
    return ctx.store.insert_rows(
        "flow_observation",
        [
            {
                "source": ctx.name,
                "indicator_id": r.indicator_id,
                "origin": r.origin,
                "destination": r.destination,
                "year": r.year,
                "value": r.value,
                "value_raw": r.value_raw,
                "magnitude": r.magnitude,
                "qualifier": None,
                "data_version": data_version,
                "batch_sha256": response.sha256,
                "loaded_at": loaded_at,
            }
            for r in answer.records
        ],
    )


SOURCE = Source(kind="statistics", options=Options, run=run, supports_since=True)
