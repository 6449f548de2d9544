"""Fetching the attachments of screened notices, for every portal, into the same WARC archive as the pages.

``AttachmentMiddleware`` (a spider middleware) watches the raw notices the detail callbacks yield. For each it reads
the notice as the pipeline will (``pipelines.ingest.normalize`` with the portal registry: the portal's own detail
reader finds the links: ccgp ``bizDownload`` ids, Epoint ``#attach``, szggzy ``jygg_fjzy``, university CMS links),
asks the screen (``pipelines.matching.screen``: any matcher hit or compute vocabulary in title, items or body), and
requests the attachments of a notice that passes. Their answers are archived by ``ArchiveMiddleware`` like any page
and read into text by the pipeline (``pipelines.ingest.attachments``); the spider reads nothing itself.

Bounds, all settings: each file ``TENDERWATCH_ATTACHMENT_MAXSIZE`` (Scrapy aborts a larger download, even one
without a Content-Length, as soon as it passes the size), and per crawl (one source's night)
``TENDERWATCH_ATTACHMENTS_MAX_FILES`` and ``TENDERWATCH_ATTACHMENTS_MAX_BYTES``. Files the flow already stored
(``TENDERWATCH_ATTACHMENTS_KNOWN``, a JSON list of URLs) are not requested again. What was not archived (over a cap,
the budget spent, an HTTP error, an off-site host) is appended to ``TENDERWATCH_ATTACHMENTS_FILE`` (JSONL), so the
pipeline records why the file has no text. Requests go through the same scheduler and download slots as the pages:
the same delay, AutoThrottle and robots.txt.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from twisted.python.failure import Failure

from spiders.completeness import KIND, failure_reason


class AttachmentMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.enabled = settings.getbool("TENDERWATCH_ATTACHMENTS")
        self.max_size = settings.getint("TENDERWATCH_ATTACHMENT_MAXSIZE")
        self.max_files = settings.getint("TENDERWATCH_ATTACHMENTS_MAX_FILES")
        self.max_bytes = settings.getint("TENDERWATCH_ATTACHMENTS_MAX_BYTES")
        log = settings.get("TENDERWATCH_ATTACHMENTS_FILE")
        self.log_path = Path(log) if log else None
        known = settings.get("TENDERWATCH_ATTACHMENTS_KNOWN")
        self.known: set[str] = set(json.loads(Path(known).read_text(encoding="utf-8"))) if known else set()
        self.requested: set[str] = set()
        self.bytes_fetched = 0
        self._screen = None
        self._replay_index = None

    @property
    def screen(self):
        if self._screen is None:
            from pipelines.matching.configured import load_matcher
            from pipelines.matching.screen import Screen

            self._screen = Screen.load(matcher=load_matcher())
        return self._screen

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_spider_output(self, response, result):
        for output in result:
            yield output
            if self.enabled and isinstance(output, dict) and output.get("html") and output.get("notice_id"):
                yield from self.requests_for(output)

    async def process_spider_output_async(self, response, result):
        async for output in result:
            yield output
            if self.enabled and isinstance(output, dict) and output.get("html") and output.get("notice_id"):
                for request in self.requests_for(output):
                    yield request

    def requests_for(self, raw: dict[str, Any]):
        from pipelines.ingest.normalize import normalize
        from pipelines.matching.pending import items_text
        from spiders.registry import PORTALS

        notice = normalize(raw, PORTALS)
        links = [a for a in notice.get("attachments") or [] if a.get("url")]
        if not links:
            return
        stats = self.crawler.stats
        reason = self.screen.reason(notice.get("title") or "", notice.get("text") or "", items_text(notice["items"]))
        if reason is None:
            stats.inc_value("tenderwatch/attachments_screened_out", len(links))
            return
        stats.inc_value("tenderwatch/attachment_notices_screened_in")
        spider = self.crawler.spider
        # A crawl of a mirror or test server fetches files from that server only: a link its pages carry to the
        # real portal would leave it (and, offline, fail for nothing).
        mirror = getattr(spider, "mirror_host", None)
        allowed = [mirror] if mirror else getattr(spider, "allowed_domains", None) or []
        for link in links:
            url, entry = link["url"], {"source": raw["source"], "notice_id": raw["notice_id"], **link}
            if url in self.known:
                stats.inc_value("tenderwatch/attachments_already_stored")
                continue
            if url in self.requested:
                continue
            if allowed and not _on_hosts(url, allowed):
                self.note(entry, "not_fetched", "off-site host: not a host of this portal")
                continue
            if not self.archived_for_replay(url):
                # A replay answers only what was archived: a file the live night did not fetch is not asked for,
                # so replaying an archive from before attachments were fetched gives that night's result.
                stats.inc_value("tenderwatch/attachments_not_in_replay_archive")
                continue
            if len(self.requested) >= self.max_files or self.bytes_fetched >= self.max_bytes:
                stats.set_value("tenderwatch/attachments_budget_reached", True)
                self.note(entry, "budget", "the crawl's attachment budget was spent; fetched on a later night")
                continue
            self.requested.add(url)
            stats.inc_value("tenderwatch/attachments_requested")
            yield scrapy.Request(
                url,
                callback=self.fetched,
                errback=self.failed,
                cb_kwargs={"entry": entry},
                # Lower than pages: a night's notices come first, their files after.
                priority=-10,
                meta={
                    KIND: "attachment",
                    "download_maxsize": self.max_size,
                    "download_warnsize": 0,
                    "entry": entry,
                },  # fmt: skip
            )

    def archived_for_replay(self, url: str) -> bool:
        """Live: always; replaying: whether the archive holds an answer for the file."""
        if not self.crawler.settings.get("TENDERWATCH_REPLAY"):
            return True
        if self._replay_index is None:
            from spiders.archive import ReplayMiddleware

            middlewares = self.crawler.engine.downloader.middleware.middlewares
            replay = next((m for m in middlewares if isinstance(m, ReplayMiddleware)), None)
            self._replay_index = replay.index if replay is not None else False
        return bool(self._replay_index) and self._replay_index.get("GET", url) is not None

    def fetched(self, response, entry: dict[str, Any]):
        """Archived already (``ArchiveMiddleware``); only counted here. The pipeline reads it from the archive."""
        stats = self.crawler.stats
        stats.inc_value("tenderwatch/attachments_fetched")
        stats.inc_value("tenderwatch/attachment_bytes", len(response.body))
        self.bytes_fetched += len(response.body)
        return []

    def failed(self, failure: Failure):
        entry = failure.request.meta.get("entry") or {}
        reason = failure_reason(failure)
        self.crawler.stats.inc_value("tenderwatch/attachments_failed")
        self.note(entry, "too_large" if reason.startswith("too large") else "not_fetched", reason)

    def note(self, entry: dict[str, Any], status: str, reason: str) -> None:
        self.crawler.stats.inc_value(f"tenderwatch/attachments_{status}")
        if self.log_path is None:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a", encoding="utf-8") as sink:
            sink.write(json.dumps({**entry, "status": status, "reason": reason}) + "\n")


def _on_hosts(url: str, domains: list[str]) -> bool:
    """Whether the URL's host is one of the portal's domains or below one (ports are checked by spiders.hosts)."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == domain or host.endswith(f".{domain}") for domain in domains)
