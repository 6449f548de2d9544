"""Rebuild ``notices`` from the WARC archive with the current parser, without the network.

The archive holds every response as it came. Reprocessing reads it in two passes:

1. every archived response once, to collect each portal's list metadata (the list pages say what the detail page
   may not: list region, list buyer, the column's notice type) keyed by detail URL, and the detail URLs seen;
2. the detail URLs in batches, each answered by the *latest* archived copy (``WarcIndex``: later files and records
   win), normalized as the nightly flow would and upserted in one statement per batch.

Block pages archived under a detail URL are skipped (the portal's own block markers), so a refused fetch never
replaces a good notice. Notices missing from the archive are left as they are: reprocessing loses nothing.
Derived data (ocid, segments, matches) is rebuilt by the caller from the stored notices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from scrapy.http import HtmlResponse

from pipelines.ingest.normalize import PARSER_VERSION, normalize
from pipelines.ingest.portals import source_for_url
from pipelines.ingest.warc import ArchivedResponse, WarcIndex, iter_responses, warc_files
from pipelines.storage import store
from spiders import ccgp
from spiders.registry import PORTALS as REGISTRY

BATCH_SIZE = 2000


@dataclass(frozen=True)
class Portal:
    """What reprocessing needs to know of a portal; all of it lives in the portal's spider module."""

    is_detail_url: Callable[[str], bool]
    notice_id: Callable[[str], str | None]
    parse_list_page: Callable[[HtmlResponse], list[dict[str, Any]]]
    # The spider's own judgement (status, size, markers), so replaying and reprocessing agree on what a block is.
    block_reason: Callable[[HtmlResponse], str | None]


PORTALS: dict[str, Portal] = {
    "ccgp": Portal(
        is_detail_url=ccgp.is_detail_url,
        notice_id=ccgp.notice_id_from_url,
        parse_list_page=ccgp.parse_list_page,
        block_reason=ccgp.CcgpSpider().block_reason,
    ),
}


@dataclass
class ReprocessSummary:
    responses: int = 0
    list_pages: int = 0
    detail_pages: int = 0
    notices: int = 0
    inserted: int = 0
    updated: int = 0
    parse_errors: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    parser_version: str = PARSER_VERSION

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def reprocess_archive(
    con: duckdb.DuckDBPyConnection, archive: str | Path, run_id: str, batch_size: int = BATCH_SIZE
) -> ReprocessSummary:
    """Normalize every archived detail page again and upsert the notices, batch by batch."""
    if not warc_files(archive):
        raise FileNotFoundError(f"no WARC files under {archive}")
    summary = ReprocessSummary()
    listings, details = _scan(archive, summary)
    index = WarcIndex(archive)
    for batch in _batches(details, batch_size):
        notices = []
        for source, url in batch:
            archived = index.get("GET", url)
            if archived is None:
                summary.skip("not in the index")
                continue
            raw = _raw_item(source, archived, listings.get(url), summary)
            if raw is None:
                continue
            notice = normalize(raw, REGISTRY)
            notice["fetched_at"] = raw["fetched_at"]
            notices.append(notice)
            summary.parse_errors += bool(notice.get("parse_error"))
        table = store.notices_to_arrow(notices, run_id, datetime.now(UTC))
        inserted, updated = store.upsert_notices(con, table)
        summary.notices += len(notices)
        summary.inserted += inserted
        summary.updated += updated
    return summary


def _scan(archive: str | Path, summary: ReprocessSummary) -> tuple[dict[str, dict], list[tuple[str, str]]]:
    """(detail URL → list metadata, [(source, detail URL)] in archive order, each URL once)."""
    listings: dict[str, dict] = {}
    details: dict[str, str] = {}
    for archived in iter_responses(archive):
        summary.responses += 1
        source = source_for_url(archived.url, REGISTRY)
        portal = PORTALS.get(source or "")
        if portal is None or archived.method != "GET":
            continue
        if portal.is_detail_url(archived.url):
            details.setdefault(archived.url, source)
            continue
        if archived.status != 200:
            continue
        response = _response(archived)
        if portal.block_reason(response):
            continue
        try:
            found = portal.parse_list_page(response)
        except Exception:  # a page that is not a list page (robots.txt, a search page) has no list metadata
            continue
        summary.list_pages += bool(found)
        for listing in found:
            listings[listing["url"]] = listing
    return listings, [(source, url) for url, source in details.items()]


def _raw_item(
    source: str, archived: ArchivedResponse, listing: dict | None, summary: ReprocessSummary
) -> dict[str, Any] | None:
    """The spider item the crawl would have produced for this archived detail page, or None to skip it."""
    portal = PORTALS[source]
    response = _response(archived)
    if portal.block_reason(response):
        summary.skip("block page")
        return None
    if archived.status != 200:
        summary.skip(f"HTTP {archived.status}")
        return None
    summary.detail_pages += 1
    return {
        "source": source,
        "notice_id": portal.notice_id(archived.url) or (listing or {}).get("notice_id"),
        "url": archived.url,
        "listing": listing or {},
        "fetched_at": _warc_time(archived.fetched_at),
        "status": archived.status,
        "encoding": response.encoding,
        "html": response.text,
    }


def _response(archived: ArchivedResponse) -> HtmlResponse:
    headers = {name: value for name, value in archived.headers if name.lower() == "content-type"}
    return HtmlResponse(url=archived.url, status=archived.status, headers=headers, body=archived.body)


def _warc_time(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return None


def _batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
