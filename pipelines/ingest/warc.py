"""The WARC archive format: every response as it came, with its request, and how to find it again.

- ``WarcWriter`` appends request/response record pairs to a gzipped WARC file (``spiders.archive.ArchiveMiddleware``
  writes one file per crawl; the demo builder writes its archive with it too).
- ``iter_responses`` reads every response record in file order; ``WarcIndex`` finds the latest answer to a request
  (method, URL and, for POST APIs, the request body).
- ``ArchivedResponse`` is one answer: status, headers, body (decompressed, its Content-Encoding header dropped),
  fetch time, the method and body of its request, and the spider that fetched it when the writer recorded it.

Nothing here imports Scrapy: replaying (``spiders.archive``) and reprocessing (``pipelines.ingest.reprocess``) both
read the same format.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

# Extension WARC fields (allowed by the WARC standard) that let a POST answer be found again by its form body.
METHOD_FIELD = "WARC-Tenderwatch-Method"
BODY_DIGEST_FIELD = "WARC-Tenderwatch-Request-Body-Digest"
# The spider that fetched the page: a crawl of a mirror or a test server has hosts no portal is known by.
SOURCE_FIELD = "WARC-Tenderwatch-Source"
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
        source: str | None = None,
    ) -> None:
        """Append one request/response pair.

        ``record_id`` makes the WARC record ids a function of that name instead of random, so an archive built
        twice from the same pages (the demo) is byte-identical. ``source`` names the spider that fetched the page.
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
                # Only when given, so archives written without it (the demo) keep their bytes.
                **({SOURCE_FIELD: source} if source else {}),
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
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


@dataclass(frozen=True)
class ArchivedResponse:
    url: str
    status: int
    headers: list[tuple[str, str]]
    # Decompressed: warcio undoes the Content-Encoding, and ``headers`` no longer name it.
    body: bytes
    fetched_at: str
    method: str
    warc_path: str
    # The request's body (a POST API's form or JSON query); empty for GET or when no request record follows.
    request_body: bytes = b""
    # The spider that fetched it (``SOURCE_FIELD``); None in archives written without it.
    source: str | None = None


def warc_files(path: str | Path) -> list[Path]:
    """The WARC files at ``path``: the file itself, or every ``*.warc.gz``/``*.warc`` below a folder, by name."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.name.endswith((".warc.gz", ".warc")))
    raise FileNotFoundError(f"no WARC file or folder at {path}")


def iter_responses(path: str | Path) -> Iterator[ArchivedResponse]:
    """Every response record under ``path``, in file order, each with the body of its request."""
    for warc_path in warc_files(path):
        with warc_path.open("rb") as stream:
            pending: ArchivedResponse | None = None
            pending_id: str | None = None
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    if pending is not None:
                        yield pending
                    pending = _to_archived(record, warc_path)
                    pending_id = record.rec_headers.get_header("WARC-Record-ID")
                elif record.rec_type == "request" and pending is not None:
                    yield _with_request(pending, pending_id, record)
                    pending = None
            if pending is not None:
                yield pending


def _to_archived(record, warc_path: Path) -> ArchivedResponse:
    http = record.http_headers
    headers = record.rec_headers
    return ArchivedResponse(
        url=headers.get_header("WARC-Target-URI"),
        status=int(http.get_statuscode()),
        headers=_decoded_body_headers(http.headers),
        body=record.content_stream().read(),
        fetched_at=headers.get_header("WARC-Date"),
        method=headers.get_header(METHOD_FIELD) or "GET",
        warc_path=str(warc_path),
        source=headers.get_header(SOURCE_FIELD) or None,
    )


def _decoded_body_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers without a Content-Encoding warcio undoes when reading the body.

    Left in, a replayed page would claim gzip for plain bytes and Scrapy's decompression would fail on it.
    """
    return [
        (name, value)
        for name, value in headers
        if name.lower() != "content-encoding"
        or value.strip().lower() not in BufferedReader.get_supported_decompressors()
    ]


def _with_request(archived: ArchivedResponse, response_id: str | None, record) -> ArchivedResponse:
    """``archived`` with the body of ``record`` when that is its request (warcio writes it right after)."""
    if response_id is None or record.rec_headers.get_header("WARC-Concurrent-To") != response_id:
        return archived
    return replace(archived, request_body=record.content_stream().read())


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
            records = iter(ArchiveIterator(stream))
            record = next(records)
            archived = _to_archived(record, warc_path)
            following = next(records, None)
            if following is not None and following.rec_type == "request":
                archived = _with_request(archived, record.rec_headers.get_header("WARC-Record-ID"), following)
            return archived


def _stored_key(method: str, url: str, body_digest: str) -> str:
    return f"{method.upper()} {url} {body_digest}" if body_digest else f"{method.upper()} {url}"
