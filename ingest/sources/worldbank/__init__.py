"""World Bank API v2: context indicators (tertiary enrolment, education spending, population).

One indicator at a time for every country and aggregate, `per_page` records a page, pages
followed until `pages`; the sum must match `total` or nothing of that indicator is loaded.
Cursor, per indicator: the answer's `lastupdated` and the sha256 of page 1. When page 1 comes
back unchanged (304, or identical bytes) with the same `lastupdated`, the other pages are not
fetched. A run given `since` asks for the years from that one on (the configured last year kept)
and loads every indicator, changed or not, leaving the cursors to the regular runs. Licence of the
data: CC BY 4.0.
"""

from __future__ import annotations

from pydantic import Field

from ingest.raw_store import utcnow
from ingest.sources.base import IngestSummary, Source, SourceContext, SourceOptions
from ingest.sources.worldbank.parse import WbPage, check_complete, check_page, parse_page

DEFAULT_PER_PAGE = 1000
DEFAULT_DATE_RANGE = "2000:2025"
# Far above any real page count (~7 for country/all at 1,000 a page): a guard against a loop.
MAX_PAGES = 200


class Options(SourceOptions):
    api_prefix: str = "/v2"
    per_page: int = Field(default=DEFAULT_PER_PAGE, gt=0)
    date: str = DEFAULT_DATE_RANGE  # years asked for, `first:last`
    indicators: dict[str, str] = {}  # indicator id -> what it measures (for the reader of sources.yml)


def _cursor_keys(indicator: str) -> tuple[str, str]:
    return f"lastupdated:{indicator}", f"page1_sha256:{indicator}"


def run(ctx: SourceContext) -> IngestSummary:
    """Fetch every configured indicator whose page 1 changed; load all its pages or none."""
    options = SOURCE.options_of(ctx.config)
    summary = IngestSummary(ctx.name)
    requests_before = ctx.http.request_count
    api = ctx.config.base_url + options.api_prefix
    per_page = str(options.per_page)
    date_range = options.date
    if ctx.since is not None:
        date_range = f"{ctx.since.year}:{options.date.rpartition(':')[2]}"
    unchanged: list[str] = []

    for indicator in options.indicators:
        indicator = str(indicator)
        url = f"{api}/country/all/indicator/{indicator}"

        def fetch(page_number: int, url: str = url, indicator: str = indicator) -> tuple[WbPage, str]:
            response = ctx.http.get(
                url, params={"format": "json", "per_page": per_page, "page": str(page_number), "date": date_range}
            )
            summary.not_modified += int(response.not_modified)
            return parse_page(response.content, indicator=indicator), response.sha256

        first, first_sha = fetch(1)
        check_page(first, indicator=indicator, expected_page=1)
        updated_key, sha_key = _cursor_keys(indicator)
        if (
            ctx.since is None
            and ctx.store.get_cursor(ctx.name, updated_key) == (first.last_updated or "")
            and ctx.store.get_cursor(ctx.name, sha_key) == first_sha
        ):
            unchanged.append(indicator)
            continue

        pages = [(first, first_sha)]
        for number in range(2, min(first.pages, MAX_PAGES) + 1):
            page, sha = fetch(number)
            check_page(page, indicator=indicator, expected_page=number, first=first)
            pages.append((page, sha))
        check_complete([p for p, _ in pages], indicator=indicator)

        # Rows, quarantine and cursor of one indicator commit together or not at all.
        ctx.store.con.execute("begin")
        try:
            summary.new_rows += _load(ctx, url, pages, summary)
            _define(ctx, indicator, first, first_sha)
            if ctx.since is None:
                ctx.store.set_cursor(ctx.name, updated_key, first.last_updated or "")
                ctx.store.set_cursor(ctx.name, sha_key, first_sha)
            ctx.store.con.execute("commit")
        except BaseException:
            ctx.store.con.execute("rollback")
            raise

    if unchanged and len(unchanged) == len(options.indicators):
        summary.skipped_reason = "every World Bank indicator unchanged since the last run"
    elif unchanged:
        summary.notes.append(f"unchanged: {', '.join(unchanged)}")
    summary.requests = ctx.http.request_count - requests_before
    return summary


def _define(ctx: SourceContext, indicator: str, first: WbPage, sha: str) -> None:
    """The indicator's name as the answer gives it, for dim_indicator; the newest answer wins."""
    ctx.store.con.execute(
        "delete from indicator_definition where source = ? and indicator_id = ?", [ctx.name, indicator]
    )
    ctx.store.insert_rows(
        "indicator_definition",
        [
            {
                "source": ctx.name,
                "indicator_id": indicator,
                "name": first.indicator_name,
                "theme": None,
                "last_data_update": first.last_updated,
                "batch_sha256": sha,
            }
        ],
    )


def _load(ctx: SourceContext, url: str, pages: list[tuple[WbPage, str]], summary: IngestSummary) -> int:
    loaded_at = utcnow()
    new_rows = 0
    for page, sha in pages:
        for bad in page.rejected:
            ctx.store.quarantine(
                source=ctx.name, locator=f"{url}?page={page.page}", reason=bad.reason, sha256=sha, detail=bad.raw
            )
            summary.quarantined += 1
        new_rows += ctx.store.insert_rows(
            "observation",
            [
                {
                    "source": ctx.name,
                    "indicator_id": r.indicator_id,
                    "geo_unit": r.geo_unit,
                    "year": r.year,
                    "value": r.value,
                    "value_raw": r.value_raw,
                    "magnitude": r.obs_status,
                    "qualifier": None,
                    "data_version": page.last_updated,
                    "batch_sha256": sha,
                    "loaded_at": loaded_at,
                }
                for r in page.records
            ],
        )
    return new_rows


SOURCE = Source(kind="statistics", options=Options, run=run, supports_since=True)
