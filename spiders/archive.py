"""Raw-first archiving in a crawl: every response goes into a WARC file, and a WARC archive can replace the network.

- ``ArchiveMiddleware`` writes each response as it came off the wire (before decompression and redirects are
  handled) plus its request, one WARC file per crawl run, each record naming the spider that fetched it.
- ``ReplayMiddleware`` answers requests from WARC records instead of the network, so the unchanged spiders run
  offline (the demo, the tests, reprocessing history). A request missing from the archive is answered 404 and
  logged.
- ``ReplayAddon`` switches the crawl to replay settings when ``TENDERWATCH_REPLAY`` is set.

The format itself (writer, index, reader) is ``pipelines.ingest.warc``, which reprocessing reads without Scrapy.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.responsetypes import responsetypes

from pipelines.ingest.warc import WarcIndex, WarcWriter

logger = logging.getLogger(__name__)

REPLAYED_FLAG = "replayed"


class ArchiveMiddleware:
    """Writes every downloaded response (and its request) to ``<TENDERWATCH_ARCHIVE_DIR>/<spider>-<run>.warc.gz``.

    Sees each response before the redirect middleware and before decompression (it sits above both), so redirects,
    error statuses and still-compressed bodies are archived exactly as the server sent them.
    """

    def __init__(self, archive_path: Path, crawler):
        self.archive_path = archive_path
        self.crawler = crawler
        self.writer: WarcWriter | None = None

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        archive_dir = settings.get("TENDERWATCH_ARCHIVE_DIR")
        if not archive_dir or settings.get("TENDERWATCH_REPLAY"):
            raise NotConfigured("archiving is off (no TENDERWATCH_ARCHIVE_DIR, or replaying)")
        run_id = settings.get("TENDERWATCH_RUN_ID") or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = Path(archive_dir) / f"{crawler.spidercls.name}-{run_id}.warc.gz"
        middleware = cls(path, crawler)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_response(self, request: Request, response: Response) -> Response:
        if REPLAYED_FLAG in response.flags:
            return response
        if self.writer is None:
            self.writer = WarcWriter(self.archive_path)
            self.crawler.stats.set_value("archive/path", str(self.archive_path))
        self.writer.write_response(
            response.url,
            status=response.status,
            headers=_decoded_headers(response.headers),
            body=response.body,
            method=request.method,
            request_headers=_decoded_headers(request.headers),
            request_body=request.body,
            source=self.crawler.spidercls.name,
        )
        self.crawler.stats.inc_value("archive/records")
        return response

    def spider_closed(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _decoded_headers(headers) -> list[tuple[str, str]]:
    pairs = []
    for name, values in headers.items():
        for value in values:
            pairs.append((name.decode("latin-1"), value.decode("latin-1")))
    return pairs


class ReplayMiddleware:
    """Answers every request from the WARC archive at ``TENDERWATCH_REPLAY`` instead of the network."""

    def __init__(self, index: WarcIndex, crawler):
        self.index = index
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        replay = crawler.settings.get("TENDERWATCH_REPLAY")
        if not replay:
            raise NotConfigured("not replaying")
        index = WarcIndex(replay)
        logger.info("Replaying %d archived responses from %s", len(index), replay)
        crawler.stats.set_value("replay/records", len(index))
        for damage in index.damaged:
            logger.error("Skipped damaged archive data: %s", damage)
        if index.damaged:
            crawler.stats.set_value("replay/damaged_records", len(index.damaged))
        return cls(index, crawler)

    def process_request(self, request: Request) -> Response:
        archived = self.index.get(request.method, request.url, request.body)
        if archived is None:
            logger.warning("Not in the replay archive, answering 404: %s %s", request.method, request.url)
            self.crawler.stats.inc_value("replay/missing")
            return Response(url=request.url, status=404, request=request, flags=[REPLAYED_FLAG])
        self.crawler.stats.inc_value("replay/hits")
        headers = {name: value for name, value in archived.headers}
        response_class = responsetypes.from_args(headers=headers, url=archived.url, body=archived.body)
        return response_class(
            url=archived.url,
            status=archived.status,
            headers=archived.headers,
            body=archived.body,
            request=request,
            flags=[REPLAYED_FLAG],
        )


class ReplayAddon:
    """With ``TENDERWATCH_REPLAY`` set, drop the politeness delays: nothing goes to a real server."""

    def update_settings(self, settings) -> None:
        # At project priority, so these beat spiders/settings.py; `-s` on the command line still wins.
        if not settings.get("TENDERWATCH_REPLAY"):
            return
        settings.set("AUTOTHROTTLE_ENABLED", False, priority="project")
        settings.set("DOWNLOAD_DELAY", 0, priority="project")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", 16, priority="project")
        # robots.txt is a promise to live servers; the archive holds none.
        settings.set("ROBOTSTXT_OBEY", False, priority="project")
