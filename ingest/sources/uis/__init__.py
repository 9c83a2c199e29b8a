"""UNESCO UIS Data API: student-mobility indicators for every country and region.

Cursor: the data version of `/versions/default`. When it has not changed since the last complete
run, nothing else is fetched. A run given `since` fetches every indicator from that year on
(the API's `start`), whatever the version, and leaves the cursor to the regular runs (it asked for
other years than they do). Licence of the data: CC BY-SA 3.0 IGO.
"""

from __future__ import annotations

from ingest.raw_store import utcnow
from ingest.sources.base import IngestSummary, Source, SourceContext, SourceOptions
from ingest.sources.uis.parse import (
    check_answer,
    parse_data,
    parse_geo_unit_definitions,
    parse_indicator_definitions,
    parse_version,
)

CURSOR_KEY = "data_version"


class Options(SourceOptions):
    api_prefix: str = "/api/public"
    start_year: int | None = None
    end_year: int | None = None
    indicators: dict[str, str] = {}  # indicator id -> what it measures (for the reader of sources.yml)


def run(ctx: SourceContext) -> IngestSummary:
    """Fetch definitions and every configured indicator when the UIS data version has moved."""
    options = SOURCE.options_of(ctx.config)
    summary = IngestSummary(ctx.name)
    requests_before = ctx.http.request_count
    api = ctx.config.base_url + options.api_prefix

    version_response = ctx.http.get(f"{api}/versions/default")
    version = parse_version(version_response.content)
    if ctx.store.get_cursor(ctx.name, CURSOR_KEY) == version and ctx.since is None:
        summary.skipped_reason = f"UIS data version {version} unchanged"
        summary.requests = ctx.http.request_count - requests_before
        summary.not_modified = int(version_response.not_modified)
        return summary

    definitions = ctx.http.get(f"{api}/definitions/indicators")
    ctx.store.replace_source_rows(
        "indicator_definition",
        ctx.name,
        [
            {"source": ctx.name, **row, "batch_sha256": definitions.sha256}
            for row in parse_indicator_definitions(definitions.content)
        ],
    )
    geo_units = ctx.http.get(f"{api}/definitions/geounits")
    ctx.store.replace_source_rows(
        "geo_unit_definition",
        ctx.name,
        [
            {"source": ctx.name, **row, "batch_sha256": geo_units.sha256}
            for row in parse_geo_unit_definitions(geo_units.content)
        ],
    )

    start = ctx.since.year if ctx.since else options.start_year
    loaded_at = utcnow()
    for indicator in options.indicators:
        params = {"indicator": indicator, "indicatorMetadata": "false"}
        if start is not None:
            params["start"] = str(start)
        if options.end_year is not None:
            params["end"] = str(options.end_year)
        response = ctx.http.get(f"{api}/data/indicators", params=params)
        summary.not_modified += int(response.not_modified)
        answer = parse_data(response.content)
        check_answer(answer, indicator=str(indicator), start=start)
        for bad in answer.rejected:
            ctx.store.quarantine(
                source=ctx.name, locator=response.url, reason=bad.reason, sha256=response.sha256, detail=bad.raw
            )
            summary.quarantined += 1
        summary.new_rows += ctx.store.insert_rows(
            "observation",
            [
                {
                    "source": ctx.name,
                    "indicator_id": r.indicator_id,
                    "geo_unit": r.geo_unit,
                    "year": r.year,
                    "value": r.value,
                    "value_raw": r.value_raw,
                    "magnitude": r.magnitude,
                    "qualifier": r.qualifier,
                    "data_version": version,
                    "batch_sha256": response.sha256,
                    "loaded_at": loaded_at,
                }
                for r in answer.records
            ],
        )
    # Only a complete regular run moves the cursor, so a failure half-way is retried in full next time.
    if ctx.since is None:
        ctx.store.set_cursor(ctx.name, CURSOR_KEY, version)
    summary.requests = ctx.http.request_count - requests_before
    return summary


SOURCE = Source(kind="statistics", options=Options, run=run, supports_since=True)
