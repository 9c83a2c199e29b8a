"""One incremental walk of the register: every configured list page, and the detail pages it names.

Cursor, stated once: an entry is known by its detail URL in `raw.cooperative_record`, and what is
known of it is its latest version there. Each list page is requested conditionally. A 304 skips
the page, but only when the last walk of that page finished (`list_complete:<list url>` in
`source_cursor` holds the sha256 of the page it walked; a detail that failed transiently leaves it
unset, so the page is read again next run although it answers 304). On a page that is read, an
unknown detail URL is a new approval and is fetched; a known one is fetched again (conditionally)
only when the list says it changed: another name, region, kind or level, or an ended mark (停止招生)
its latest version does not have. A fetched entry whose content differs from its latest version
is stored as a new version (same URL, new `content_sha256`); nothing is ever overwritten.

A run given `since` (`eduopen ingest cfcrs --since DAY`, the releases DAG's param) reads every list
page, unchanged or not, and fetches whatever it does not hold; the register is not dated by list, so
the day bounds nothing. It leaves the cursors as they were, as the other release sources do.

What cannot be had is quarantined and the walk goes on: a detail page that is gone, failed or
cannot be read (its bytes stay in the blob store). A list page that cannot be fetched or no longer
has the register's table fails the run after the other pages, naming each.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from eduopen.core.errors import FetchError, ParseError, RobotsDisallowed, SourceError
from eduopen.core.files import sha256_hex
from ingest.site import Refused, Site
from ingest.sources.cfcrs.detail import Detail, parse_detail
from ingest.sources.cfcrs.listing import ListedEntry, parse_listing

if TYPE_CHECKING:
    from ingest.http import Response
    from ingest.sources.base import IngestSummary, SourceContext

TABLE = "cooperative_record"
LIST_COMPLETE = "list_complete:"
# The register's region numbers, as its per-region list URLs use them (1 北京 … 31 西藏).
REGION_NAMES = (
    "北京", "上海", "天津", "重庆", "江苏", "浙江", "广东", "海南", "福建", "山东", "江西",
    "四川", "安徽", "河北", "河南", "湖北", "湖南", "陕西", "山西", "黑龙江", "辽宁", "吉林",
    "广西", "云南", "贵州", "甘肃", "内蒙古", "宁夏", "新疆", "青海", "西藏",
)  # fmt: skip
# The fields that make a version: a change in any of them is a new row.
CONTENT_FIELDS = (
    "record_kind",
    "level",
    "list_status",
    "province",
    "name",
    "chinese_partner",
    "foreign_partners",
    "approval_number",
    "approval_date",
    "ended_date",
)


@dataclass(frozen=True)
class RegisterPage:
    """One list page to walk: its canonical URL, the level it lists, the region it is for."""

    url: str
    level: str
    region: int

    @property
    def region_name(self) -> str | None:
        return REGION_NAMES[self.region - 1] if 1 <= self.region <= len(REGION_NAMES) else None


def version_row(
    source: str, page: RegisterPage, entry: ListedEntry, detail: Detail, raw_sha256: str, seen_at: datetime
) -> dict[str, Any]:
    """The `raw.cooperative_record` row of one entry as its list and detail page state it now."""
    content = {
        "record_kind": detail.record_kind,
        "level": page.level,
        "list_status": "ended" if entry.ended or detail.ended else "approved",
        "province": entry.province or page.region_name,
        "name": detail.name,
        "chinese_partner": detail.chinese_partner,
        "foreign_partners": list(detail.foreign_partners),
        "approval_number": detail.approval_number,
        "approval_date": detail.approval_date.isoformat() if detail.approval_date else None,
        "ended_date": detail.ended_date.isoformat() if detail.ended_date else None,
    }
    canonical = json.dumps([content[key] for key in CONTENT_FIELDS], ensure_ascii=False, separators=(",", ":"))
    return {
        "source": source,
        "url": entry.url,
        "content_sha256": sha256_hex(canonical.encode("utf-8")),
        **content,
        "foreign_partners": json.dumps(content["foreign_partners"], ensure_ascii=False),
        "approval_date": detail.approval_date,
        "ended_date": detail.ended_date,
        "list_url": page.url,
        "raw_sha256": raw_sha256,
        "first_seen_at": seen_at,
    }


class RegisterCrawl:
    """One run of the cfcrs source over `pages`; what was known at the start, what this run did."""

    def __init__(self, ctx: SourceContext, summary: IngestSummary, pages: Iterable[RegisterPage]):
        self.ctx = ctx
        self.summary = summary
        self.pages = list(pages)
        self.site = Site(ctx.config.canonical_base_url, ctx.config.base_url)
        rows = ctx.store.con.execute(
            f"""select url, arg_max(name, first_seen_at), arg_max(province, first_seen_at),
                       arg_max(record_kind, first_seen_at), arg_max(level, first_seen_at),
                       arg_max(list_status, first_seen_at)
                from {TABLE} where source = ? group by url""",
            [ctx.name],
        ).fetchall()
        # What the latest version of each known entry says, as a list page would show it.
        self.latest: dict[str, tuple[str, str | None, str, str, bool]] = {
            url: (name, province, kind, level, status == "ended") for url, name, province, kind, level, status in rows
        }
        self.handled: set[str] = set()
        self.page_failures: list[str] = []
        self.unchanged_pages = 0
        self.off_site = 0
        # Details this run could not get for a reason another run may not meet (5xx, timeout, robots).
        self.transient_failures = 0

    def run(self) -> IngestSummary:
        started = self.ctx.http.request_count
        for page in self.pages:
            self.walk(page)
        self.summary.requests = self.ctx.http.request_count - started
        if self.unchanged_pages:
            self.summary.notes.append(f"{self.unchanged_pages} list page(s) unchanged")
        if self.off_site:
            self.summary.notes.append(f"{self.off_site} list entries link off-site; not fetched")
        self.ctx.log.info("%s: %s", self.ctx.name, self.summary.as_dict())
        if self.page_failures:
            raise SourceError(
                f"{self.ctx.name}: {len(self.page_failures)} list page(s) could not be read (quarantined): "
                f"{'; '.join(self.page_failures)}"
            )
        return self.summary

    # -- list pages -------------------------------------------------------------------------
    def walk(self, page: RegisterPage) -> None:
        """Read one list page unless it is unchanged since a walk that finished; then mark it walked."""
        key = LIST_COMPLETE + page.url
        try:
            resp = self.ctx.http.get(self.site.fetch_url(page.url), conditional=True)
        except FetchError as exc:
            reason = "listing_not_found" if exc.status in (404, 410) else "listing_fetch_failed"
            self.refuse_page(page.url, reason, None, {"status": exc.status, "error": str(exc)})
            return
        if resp.not_modified:
            self.summary.not_modified += 1
            if self.ctx.since is None and self.ctx.store.get_cursor(self.ctx.name, key) == resp.sha256:
                self.unchanged_pages += 1
                return
        try:
            entries = parse_listing(resp.content, page.url, resp.headers.get("Content-Type"))
        except ParseError as exc:
            self.refuse_page(page.url, "listing_layout_changed", resp.sha256, str(exc))
            return
        failures_before = self.transient_failures
        for entry in self.on_site(entries):
            self.visit(page, entry)
        if self.transient_failures == failures_before and self.ctx.since is None:
            self.ctx.store.set_cursor(self.ctx.name, key, resp.sha256)

    def says_changed(self, page: RegisterPage, entry: ListedEntry) -> bool:
        """Whether the list shows a known entry otherwise than its latest version does."""
        name, province, kind, level, ended = self.latest[entry.url]
        listed = (entry.name, entry.province or page.region_name, entry.record_kind, page.level, entry.ended)
        return listed != (name, province, kind, level, ended)

    # -- detail pages -----------------------------------------------------------------------
    def visit(self, page: RegisterPage, entry: ListedEntry) -> None:
        if entry.url in self.handled:
            return
        known = entry.url in self.latest
        if known and not self.says_changed(page, entry):
            return
        self.handled.add(entry.url)
        resp = self.get_detail(entry.url)
        if resp is None:
            return
        if resp.not_modified:
            self.summary.not_modified += 1
        try:
            detail = parse_detail(resp.content, entry.url, resp.headers.get("Content-Type"))
        except ParseError as exc:
            self.quarantine(entry.url, "detail_parse_error", resp.sha256, str(exc))
            return
        row = version_row(self.ctx.name, page, entry, detail, resp.sha256, datetime.now(UTC))
        if self.ctx.store.insert_rows(TABLE, [row]):
            self.summary.new_rows += 1
            if known:
                self.summary.changed_releases += 1
            else:
                self.summary.new_releases += 1

    def get_detail(self, url: str) -> Response | None:
        """The detail page's response, or None after quarantining why it could not be had."""
        try:
            return self.ctx.http.get(self.site.fetch_url(url), conditional=True)
        except RobotsDisallowed as exc:
            self.transient_failures += 1  # robots.txt may have been unreachable this run only
            self.quarantine(url, "robots_disallowed", None, str(exc))
        except FetchError as exc:
            gone = exc.status in (404, 410)
            self.transient_failures += 0 if gone else 1
            reason = "detail_not_found" if gone else "detail_fetch_failed"
            self.quarantine(url, reason, None, {"status": exc.status, "error": str(exc)})
        return None

    # -- helpers ----------------------------------------------------------------------------
    def refuse_page(self, url: str, reason: str, sha256: str | None, detail: Any) -> None:
        self.quarantine(url, reason, sha256, detail)
        self.page_failures.append(f"{url} ({reason})")

    def quarantine(self, url: str, reason: str, sha256: str | None, detail: Any) -> None:
        self.ctx.log.warning("%s: quarantined %s: %s", self.ctx.name, url, reason)
        self.ctx.store.quarantine(source=self.ctx.name, locator=url, reason=reason, sha256=sha256, detail=detail)
        self.summary.quarantined += 1

    def on_site(self, entries: list[ListedEntry]) -> list[ListedEntry]:
        """Entries on the register's host, their URLs on the canonical origin; others are dropped."""
        kept = []
        for entry in entries:
            url = self.site.canonical_url(entry.url)
            if isinstance(url, Refused):
                self.off_site += 1
                continue
            kept.append(
                ListedEntry(
                    url=url, name=entry.name, record_kind=entry.record_kind, province=entry.province, ended=entry.ended
                )
            )
        return kept
