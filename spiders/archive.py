"""Raw-first archiving: every response goes into a WARC file, and a WARC archive can stand in for the network.

- ``ArchiveMiddleware`` writes each response as it came off the wire (before decompression and redirects are
  handled) plus its request, one WARC file per crawl run.
- ``ReplayMiddleware`` answers requests from WARC records instead of the network, so the unchanged spiders run
  offline (the demo, the tests, reprocessing history). A request missing from the archive is answered 404 and
  logged.
- ``ReplayAddon`` switches the crawl to replay settings when ``TENDERWATCH_REPLAY`` is set.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.responsetypes import responsetypes
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

logger = logging.getLogger(__name__)

# Extension WARC fields (allowed by the WARC standard) that let a POST answer be found again by its form body.
METHOD_FIELD = "WARC-Tenderwatch-Method"
BODY_DIGEST_FIELD = "WARC-Tenderwatch-Request-Body-Digest"
REPLAYED_FLAG = "replayed"
_RECORD_IDS = uuid.UUID("6f1c7a4e-3b0e-4c52-9a55-2f7d2c1e9b10")


def request_key(method: str, url: str, body: bytes = b"") -> str:
    """The identity of a request in the archive: method, URL and (for POST APIs) a digest of the body."""
    method = method.upper()
    if not body:
        return f"{method} {url}"
    return f"{method} {url} {hashlib.sha1(body).hexdigest()}"


def _warc_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class WarcWriter:
    """Appends request/response record pairs to one gzipped WARC file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("ab")
        self._writer = WARCWriter(self._file, gzip=True)
        self.records = 0

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def write_response(
        self,
        url: str,
        *,
        status: int = 200,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        method: str = "GET",
        request_headers: Iterable[tuple[str, str]] = (),
        request_body: bytes = b"",
        fetched_at: datetime | None = None,
        record_id: str | None = None,
    ) -> None:
        """Append one request/response pair.

        ``record_id`` makes the WARC record ids a function of that name instead of random, so an archive built
        twice from the same pages (the demo) is byte-identical.
        """
        moment = fetched_at or datetime.now(UTC)
        date = _warc_date(moment)
        response_ids, request_ids = {}, {}
        if record_id is not None:
            response_ids = {"WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(_RECORD_IDS, record_id + '#response')}>"}
            request_ids = {"WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(_RECORD_IDS, record_id + '#request')}>"}
        http_headers = StatusAndHeaders(f"{status} {_reason(status)}", list(headers), protocol="HTTP/1.1")
        response = self._writer.create_warc_record(
            url,
            "response",
            payload=BytesIO(body),
            http_headers=http_headers,
            warc_headers_dict={
                **response_ids,
                "WARC-Date": date,
                METHOD_FIELD: method.upper(),
                BODY_DIGEST_FIELD: hashlib.sha1(request_body).hexdigest() if request_body else "",
            },
        )
        request_line = StatusAndHeaders(f"{method.upper()} {url} HTTP/1.1", list(request_headers), is_http_request=True)
        request = self._writer.create_warc_record(
            url,
            "request",
            payload=BytesIO(request_body),
            http_headers=request_line,
            warc_headers_dict={**request_ids, "WARC-Date": date},
        )
        self._writer.write_request_response_pair(request, response)
        self._file.flush()
        self.records += 1

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


@dataclass(frozen=True)
class ArchivedResponse:
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    fetched_at: str
    method: str
    warc_path: str


def warc_files(path: str | Path) -> list[Path]:
    """The WARC files at ``path``: the file itself, or every ``*.warc.gz``/``*.warc`` below a folder, by name."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.name.endswith((".warc.gz", ".warc")))
    raise FileNotFoundError(f"no WARC file or folder at {path}")


def iter_responses(path: str | Path) -> Iterator[ArchivedResponse]:
    """Every response record under ``path``, in file order."""
    for warc_path in warc_files(path):
        with warc_path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type != "response":
                    continue
                yield _to_archived(record, warc_path)


def _to_archived(record, warc_path: Path) -> ArchivedResponse:
    http = record.http_headers
    return ArchivedResponse(
        url=record.rec_headers.get_header("WARC-Target-URI"),
        status=int(http.get_statuscode()),
        headers=list(http.headers),
        body=record.content_stream().read(),
        fetched_at=record.rec_headers.get_header("WARC-Date"),
        method=record.rec_headers.get_header(METHOD_FIELD) or "GET",
        warc_path=str(warc_path),
    )


class WarcIndex:
    """Request key → latest archived response, over one WARC file or a folder of them."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._offsets: dict[str, tuple[Path, int]] = {}
        for warc_path in warc_files(self.path):
            with warc_path.open("rb") as stream:
                records = ArchiveIterator(stream)
                for record in records:
                    if record.rec_type != "response":
                        continue
                    headers = record.rec_headers
                    key = _stored_key(
                        headers.get_header(METHOD_FIELD) or "GET",
                        headers.get_header("WARC-Target-URI"),
                        headers.get_header(BODY_DIGEST_FIELD) or "",
                    )
                    # Later files and records win: a re-fetch replaces an older copy of the same page.
                    self._offsets[key] = (warc_path, records.get_record_offset())

    def __len__(self) -> int:
        return len(self._offsets)

    def get(self, method: str, url: str, body: bytes = b"") -> ArchivedResponse | None:
        found = self._offsets.get(request_key(method, url, body))
        if found is None:
            return None
        warc_path, offset = found
        with warc_path.open("rb") as stream:
            stream.seek(offset)
            record = next(iter(ArchiveIterator(stream)))
            return _to_archived(record, warc_path)


def _stored_key(method: str, url: str, body_digest: str) -> str:
    return f"{method.upper()} {url} {body_digest}" if body_digest else f"{method.upper()} {url}"


class ArchiveMiddleware:
    """Writes every downloaded response (and its request) to ``<TENDERWATCH_ARCHIVE_DIR>/<spider>-<run>.warc.gz``.

    Sits just below the redirect middleware and above compression, so it sees redirects, error statuses and
    still-compressed bodies exactly as the server sent them.
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
