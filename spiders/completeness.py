"""Every request a spider makes either answers or is accounted for: a crawl is judged on what it could not read.

``CompletenessMiddleware`` (a spider middleware) gives every request of every portal an errback unless the spider
set one, and tells list requests from detail requests by their callback (``parse_detail`` is the detail page of
every portal). After Scrapy's retries and redirects, a request that still failed (an HTTP error status, a timeout,
a refused connection, a redirect loop: Scrapy's duplicate filter drops the hop that closes the loop, seen through
the ``request_dropped`` signal) is:

- a list page: counted in ``tenderwatch/list_pages_failed`` with its URL and reason; the crawl is then ``broken``
  (``pipelines.ingest.verdicts``), so the night's window stays open;
- a detail page: a *missed notice*, counted and appended to ``TENDERWATCH_MISSES_FILE`` (JSONL: notice id, URL,
  listing, reason), which the flow keeps in ``pending_fetches`` and hands back to the next crawls.

It also bounds a crawl: each request gets the size limit of its kind (``TENDERWATCH_LIST_MAXSIZE``,
``TENDERWATCH_DETAIL_MAXSIZE``; Scrapy cuts a larger answer, decompressed or not, and the failure is accounted as
``too large``), and list pages stop at ``TENDERWATCH_MAX_LIST_PAGES`` per crawl, which counts as a failed list page.
A crawl makes at most ``TENDERWATCH_MAX_REQUESTS`` requests (the source's night budget; 0: no budget): past it a
detail request is a missed notice ("request budget reached", retried first by the next night) and a list request is
not made (``tenderwatch/budget_list_pages``); both count in ``tenderwatch/budget_reached``, so the verdict says so.

It also starts the crawl with the notices an earlier crawl missed (``-a pending=FILE``, read by ``BaseSpider``), so
every portal retries them without a line of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from pipelines.config import fault_point
from pipelines.ingest.verdicts import PLAIN_FAILURES

KIND = "tenderwatch_kind"
# Where the crash tests kill a crawl: after some notices are written, before the crawl can dump its stats.
CRASH_AFTER_ITEMS = 10


def _printable(text: str, limit: int = 200) -> str:
    return ascii(text[:limit])[1:-1]


def failure_reason(failure: Failure) -> str:
    """A failed request's reason in an operator's words: ``HTTP 404``, ``redirect loop``, ``timed out``…"""
    error = failure.value
    if isinstance(error, HttpError):
        return f"HTTP {error.response.status}"
    message = str(error)
    if "max size" in message.lower() or "maxsize" in message.lower():
        # Scrapy's words for DOWNLOAD_MAXSIZE, on the wire (Content-Length or bytes received) or decompressed.
        return f"too large: {_printable(message)}"
    if isinstance(error, IgnoreRequest):
        message = message or type(error).__name__
        return "redirect loop (max redirections reached)" if "max redirections" in message else f"ignored: {message}"
    name = type(error).__name__
    return PLAIN_FAILURES.get(name, name)


class CompletenessMiddleware(BaseSpiderMiddleware):
    def __init__(self, crawler):
        super().__init__(crawler)
        settings = crawler.settings
        path = settings.get("TENDERWATCH_MISSES_FILE")
        self.misses_path = Path(path) if path else None
        self.max_size = {
            "list": settings.getint("TENDERWATCH_LIST_MAXSIZE"),
            "detail": settings.getint("TENDERWATCH_DETAIL_MAXSIZE"),
        }
        self.max_list_pages = settings.getint("TENDERWATCH_MAX_LIST_PAGES")
        self.max_requests = settings.getint("TENDERWATCH_MAX_REQUESTS")
        self.list_requests = 0
        self.requests = 0
        self.items_seen = 0
        crawler.signals.connect(self.dropped, signal=signals.request_dropped)

    async def process_start(self, start):
        async for request in super().process_start(start):
            yield request
        spider = self.crawler.spider
        for pending in getattr(spider, "pending", ()):
            self.crawler.stats.inc_value("tenderwatch/pending_retried")
            request = scrapy.Request(
                pending["url"], callback=spider.parse_detail, cb_kwargs={"listing": pending["listing"]}
            )
            yield self.get_processed_request(request, None)

    def get_processed_item(self, item, response):
        # The crash tests kill the crawl process itself half-way (TENDERWATCH_FAULT=crawl-child, unset in production).
        self.items_seen += 1
        if self.items_seen == CRASH_AFTER_ITEMS:
            fault_point("crawl-child")
        return item

    def get_processed_request(self, request: scrapy.Request, response) -> scrapy.Request | None:
        if KIND not in request.meta:
            callback = getattr(request.callback, "__name__", "")
            request.meta[KIND] = "detail" if callback == "parse_detail" else "list"
        kind = request.meta[KIND]
        if self.max_requests and self.requests >= self.max_requests:
            self._over_budget(request, kind)
            return None
        self.requests += 1
        if kind == "list" and self.max_list_pages:
            if self.list_requests >= self.max_list_pages:
                self._cap_reached(request)
                return None
            self.list_requests += 1
        if self.max_size.get(kind):
            request.meta.setdefault("download_maxsize", self.max_size[kind])
        if request.errback is None:
            request.errback = self.failed
        return request

    def _over_budget(self, request: scrapy.Request, kind: str) -> None:
        """A request past the crawl's budget is not made: a notice waits for the next night, a list page is counted."""
        stats = self.crawler.stats
        if not stats.get_value("tenderwatch/budget_reached"):
            self.crawler.spider.logger.warning("Request budget of %d reached; no more requests", self.max_requests)
        stats.inc_value("tenderwatch/budget_reached")
        stats.set_value("tenderwatch/budget", self.max_requests)
        if kind == "detail":
            reason = f"request budget reached ({self.max_requests} per crawl)"
            note_missed_notice(self.crawler, self.misses_path, request.url, request.cb_kwargs.get("listing"), reason)
        else:
            stats.inc_value("tenderwatch/budget_list_pages")

    def _cap_reached(self, request: scrapy.Request) -> None:
        """The first list page over the cap is a failed one (the crawl is then broken); later ones just stop."""
        stats = self.crawler.stats
        if stats.get_value("tenderwatch/list_pages_capped"):
            return
        stats.set_value("tenderwatch/list_pages_capped", 1)
        self.account(request, f"list page cap reached ({self.max_list_pages} per crawl)")

    def failed(self, failure: Failure):
        reason = failure_reason(failure)
        if reason.startswith("too large"):
            self.crawler.stats.inc_value("tenderwatch/oversize_responses")
        self.account(failure.request, reason)

    def dropped(self, request: scrapy.Request, spider) -> None:
        """A redirect hop the duplicate filter dropped: a loop (A → B → A) ends here, with no errback called."""
        chain = request.meta.get("redirect_urls")
        if not chain:
            # The spider asked twice for one URL: the first request stands for both.
            return
        reason = "redirect loop" if request.url in chain else f"redirected to a page already fetched: {request.url}"
        self.account(request.replace(url=chain[0]), reason)

    def account(self, request: scrapy.Request, reason: str) -> None:
        spider = self.crawler.spider
        if request.meta.get(KIND) == "detail":
            note_missed_notice(self.crawler, self.misses_path, request.url, request.cb_kwargs.get("listing"), reason)
        else:
            stats = self.crawler.stats
            stats.inc_value("tenderwatch/list_pages_failed")
            if not stats.get_value("tenderwatch/list_failed_url"):
                stats.set_value("tenderwatch/list_failed_url", request.url)
                stats.set_value("tenderwatch/list_failed_reason", reason)
            spider.logger.error("List page could not be read (%s): %s", reason, request.url)


def note_missed_notice(crawler, misses_path: Path | None, url: str, listing: dict[str, Any] | None, reason: str):
    """Count a listed notice whose detail page could not be fetched and keep it for the flow to retry."""
    listing = listing or {}
    stats = crawler.stats
    stats.inc_value("tenderwatch/notices_missed")
    if not stats.get_value("tenderwatch/notice_missed_url"):
        stats.set_value("tenderwatch/notice_missed_url", url)
        stats.set_value("tenderwatch/notice_missed_reason", reason)
    crawler.spider.logger.warning("Listed notice not fetched (%s), kept for a retry: %s", reason, url)
    if misses_path is None or not listing.get("notice_id"):
        return
    misses_path.parent.mkdir(parents=True, exist_ok=True)
    line = {"notice_id": listing["notice_id"], "url": url, "listing": listing, "reason": reason}
    with misses_path.open("a", encoding="utf-8") as sink:
        # ASCII escapes: a lone surrogate in a portal's text must not lose the line.
        sink.write(json.dumps(line) + "\n")
