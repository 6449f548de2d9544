"""Rebuild ``notices`` from the WARC archive with the current parser, without the network, for every portal.

The archive holds every response as it came. Reprocessing reads it in two passes, with the portal registry its
caller hands it (``spiders.registry.PORTALS``):

1. every archived response once, to collect each portal's list metadata (the list answers say what the detail page
   may not: list region, list buyer, the column's notice type) keyed by detail URL, and the detail URLs seen. List
   answers are HTML pages (ccgp, universities) or POST API answers (ggzy, Epoint, szggzy), read by the portal's own
   list reader;
2. the detail URLs in batches, each answered by the *latest* archived copy (``WarcIndex``: later files and records
   win), turned into the raw notice the crawl would have yielded (``pipelines.model.raw_notice``; szggzy's JSON
   answer becomes its wrapped page under the public URL), normalized as the nightly flow would and upserted in one
   statement per batch.

Portals whose list answer is all there is (``Portal.notice_from_listing``: chinatelecom) have no detail answers:
their notices are built from the latest archived list answer naming each, as the crawl built them. Every record
of those answers becomes a notice, also those the crawl passed over (outside its window, beyond its sample).

A response belongs to the spider that fetched it (recorded in the archive), else to the portal its host names.
Block pages (the spider's own ``block_reason``), error statuses and answers holding no notice are skipped and
counted by reason, so a refused fetch never replaces a good notice. A torn or corrupt WARC record (cut short, digest
mismatch, unreadable bytes) is skipped and named with its file and offset; an older intact copy answers instead.
Notices missing from the archive are left as they are: reprocessing loses nothing. Derived data (ocid, segments,
matches) is rebuilt by the caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from scrapy.http import HtmlResponse, Request
from w3lib.url import safe_url_string

from pipelines.ingest.normalize import PARSER_VERSION, normalize
from pipelines.ingest.portals import Portal, Portals, source_for_url
from pipelines.ingest.warc import ArchivedResponse, WarcIndex, iter_responses, warc_files
from pipelines.model import RawNotice, raw_notice
from pipelines.storage import store

BATCH_SIZE = 2000


@dataclass
class ReprocessSummary:
    responses: int = 0
    list_pages: int = 0
    detail_pages: int = 0
    # Notices built from list answers alone (``Portal.notice_from_listing``).
    list_notices: int = 0
    notices: int = 0
    inserted: int = 0
    updated: int = 0
    parse_errors: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    # Damaged WARC data skipped ("FILE at offset N: reason"): a torn or corrupt record never becomes a notice.
    damaged: list[str] = field(default_factory=list)
    parser_version: str = PARSER_VERSION

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def reprocess_archive(
    con: duckdb.DuckDBPyConnection,
    archive: str | Path,
    run_id: str,
    portals: Portals,
    batch_size: int = BATCH_SIZE,
    memory_cap: str | None = store.LOAD_MEMORY_LIMIT,
) -> ReprocessSummary:
    """Normalize every archived detail page of every registered portal again and upsert the notices, by batch, each
    with DuckDB's memory within ``memory_cap`` (``store.upsert_notices``)."""
    if not warc_files(archive):
        raise FileNotFoundError(f"no WARC files under {archive}")
    summary = ReprocessSummary()
    index = WarcIndex(archive)
    summary.damaged = [str(damage) for damage in index.damaged]
    listings, details, listed = _scan(archive, portals, summary)
    for batch in _batches(details, batch_size):
        raws = []
        for source, url in batch:
            archived = index.get("GET", url)
            if archived is None:
                summary.skip("not in the index")
                continue
            raws.append(_raw_notice(source, portals, archived, listings.get(url), summary, index))
        _store(con, [raw for raw in raws if raw is not None], portals, run_id, summary, memory_cap)
    for batch in _batches(list(listed.values()), batch_size):
        raws = [_raw_listed_notice(source, portals, listing, archived) for source, listing, archived in batch]
        summary.list_notices += len(raws)
        _store(con, raws, portals, run_id, summary, memory_cap)
    return summary


def _store(
    con: duckdb.DuckDBPyConnection,
    raws: list[RawNotice],
    portals: Portals,
    run_id: str,
    summary: ReprocessSummary,
    memory_cap: str | None,
) -> None:
    """Normalize one batch of raw notices as the nightly flow would and upsert them in one statement."""
    notices = []
    for raw in raws:
        notice = normalize(raw, portals)
        notice["fetched_at"] = raw["fetched_at"]
        notices.append(notice)
        summary.parse_errors += bool(notice.get("parse_error"))
    table = store.notices_to_arrow(notices, run_id, datetime.now(UTC))
    inserted, updated = store.upsert_notices(con, table, memory_cap=memory_cap)
    summary.notices += len(notices)
    summary.inserted += inserted
    summary.updated += updated


def source_of(archived: ArchivedResponse, portals: Portals) -> str | None:
    """The registered source an archived response belongs to: the spider that fetched it, else its host's portal."""
    if archived.source in portals:
        return archived.source
    source = source_for_url(archived.url, portals)
    return source if source in portals else None


def _scan(
    archive: str | Path, portals: Portals, summary: ReprocessSummary
) -> tuple[dict[str, dict], list[tuple[str, str]], dict[str, tuple[str, dict, ArchivedResponse]]]:
    """(detail URL → list metadata, [(source, detail URL)] in archive order, each URL once, and for portals whose
    notices are their listings: notice URL → (source, listing, the list answer), the latest answer winning)."""
    listings: dict[str, dict] = {}
    details: dict[str, str] = {}
    listed: dict[str, tuple[str, dict, ArchivedResponse]] = {}
    for archived in iter_responses(archive):
        summary.responses += 1
        source = source_of(archived, portals)
        if source is None:
            continue
        portal = portals[source]
        if archived.method == "GET" and portal.is_detail_url(archived.url):
            details.setdefault(archived.url, source)
            continue
        if archived.status != 200:
            continue
        response = _response(archived)
        if portal.block_reason(response):
            continue
        try:
            found = portal.read_list(response)
        except Exception:  # an answer that is not a list (robots.txt, an error page) has no list metadata
            continue
        summary.list_pages += bool(found)
        for url, listing in found.items():
            # Keyed as the spider's request (and so the archive) writes the URL: escaped, as Scrapy does.
            listings[safe_url_string(url)] = listing
            if portal.notice_from_listing is not None:
                listed[url] = (source, listing, archived)
    return listings, [(source, url) for url, source in details.items()], listed


def _raw_notice(
    source: str,
    portals: Portals,
    archived: ArchivedResponse,
    listing: dict | None,
    summary: ReprocessSummary,
    index: WarcIndex,
) -> RawNotice | None:
    """The raw notice the crawl would have yielded for this archived detail answer, or None to skip it."""
    portal = portals[source]
    response = _response(archived)
    if portal.block_reason(response):
        summary.skip("block page")
        return None
    if archived.status != 200:
        summary.skip(f"HTTP {archived.status}")
        return None
    page = portal.notice_page(response)
    if page is None:
        summary.skip("no notice in the answer")
        return None
    summary.detail_pages += 1
    url, html = _with_original(portal, response, page, index)
    listing = listing or {}
    notice_id = portal.notice_id(archived.url) or listing.get("notice_id")
    fetched_at = _warc_time(archived.fetched_at)
    return raw_notice(source, notice_id, url, listing, response, html=html, fetched_at=fetched_at)


def _raw_listed_notice(source: str, portals: Portals, listing: dict, archived: ArchivedResponse) -> RawNotice:
    """The raw notice the crawl yielded for one listing of a portal whose notices are their listings."""
    url, html = portals[source].notice_from_listing(listing)
    response = _response(archived)
    return raw_notice(source, listing.get("notice_id"), url, listing, response, html=html,
                      fetched_at=_warc_time(archived.fetched_at))  # fmt: skip


def _with_original(portal: Portal, response: HtmlResponse, page: tuple[str, str], index: WarcIndex) -> tuple[str, str]:
    """The notice as the crawl built it: from the archived original when the portal's page only points there."""
    elsewhere = portal.body_elsewhere(response) if portal.body_elsewhere else None
    if elsewhere is None or portal.with_original is None:
        return page
    original = index.get("GET", safe_url_string(elsewhere))
    if original is None or original.status != 200:
        # The crawl could not fetch it either, and yielded the page as it is.
        return page
    return portal.with_original(response, _response(original))


def _response(archived: ArchivedResponse) -> HtmlResponse:
    """The response a spider callback saw for this record (JSON answers read the same through ``.body``/``.text``)."""
    request = Request(archived.url, method=archived.method, body=archived.request_body)
    return HtmlResponse(
        url=archived.url, status=archived.status, headers=archived.headers, body=archived.body, request=request
    )


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
