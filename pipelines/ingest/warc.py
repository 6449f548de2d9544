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

import contextlib
import hashlib
import io
import uuid
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParserException
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


@dataclass(frozen=True)
class Damage:
    """A part of a WARC file that could not be read whole: skipped, never taken for a (short) page."""

    path: str
    offset: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path} at offset {self.offset}: {self.reason}"


def _printable(text: str, limit: int = 80) -> str:
    """Text safe for a terminal and a log line: garbage bytes come out as escapes, never raw."""
    return ascii(text[:limit])[1:-1]


# What a damaged file raises while warcio walks it: bad gzip, a record header that is not one, a cut stream.
_READ_ERRORS = (ArchiveLoadFailed, StatusAndHeadersParserException, EOFError, OSError, ValueError, zlib.error)


def _intact_records(warc_path: Path, damaged: list[Damage] | None, start: int = 0) -> Iterator[tuple]:
    """(record, offset, content) of every record read whole from ``start``, its digests checked.

    A record shorter than its Content-Length (a torn last record) or failing its WARC-Block/Payload-Digest is
    skipped and named in ``damaged``. Unreadable data is named too, and reading resumes at the next gzip member
    (each record of a ``.warc.gz`` is one), so garbage mid-file costs only the records it overwrote. warcio reports
    stray bytes before a record on stderr with the raw bytes: they are caught and named instead.
    """
    position: int | None = start
    while position is not None:
        position = yield from _records_from(warc_path, position, damaged)


_GZIP_MEMBER = b"\x1f\x8b\x08"


def _records_from(warc_path: Path, start: int, damaged: list[Damage] | None):
    """Yields intact records from ``start``; returns where to resume after unreadable data, or None at the end."""

    def damage(offset: int, reason: str) -> None:
        if damaged is not None:
            damaged.append(Damage(str(warc_path), offset, _printable(reason)))

    with warc_path.open("rb") as stream:
        stream.seek(start)
        records = ArchiveIterator(stream, check_digests=True)
        walk = iter(records)
        while True:
            stray = io.StringIO()
            try:
                with contextlib.redirect_stderr(stray):
                    record = next(walk, None)
                if record is None:
                    return None
                content = record.content_stream().read()
                # Absolute: warcio counts from where the stream stood when it started.
                offset = records.get_record_offset()
            except _READ_ERRORS as error:
                failed_at = max(getattr(records, "offset", start), start)
                damage(failed_at, f"unreadable: {type(error).__name__}: {error}")
                return _next_member(stream, failed_at + 1) if warc_path.name.endswith(".gz") else None
            if stray.getvalue():
                damage(offset, f"stray data before this record: {stray.getvalue().strip()}")
            checker = record.digest_checker
            if getattr(record.raw_stream, "limit", 0) > 0:
                damage(offset, f"record cut short: {record.raw_stream.limit} of {record.length} bytes missing")
            elif checker.passed is False:
                damage(offset, f"digest mismatch: {'; '.join(map(str, checker.problems))}")
            else:
                yield record, offset, content


def _next_member(stream, after: int) -> int | None:
    """The offset of the next gzip member header at or after ``after``, or None."""
    stream.seek(after)
    data = stream.read()
    found = data.find(_GZIP_MEMBER)
    return None if found < 0 else after + found


def archived_origins(path: str | Path) -> set[tuple[str | None, str]]:
    """(the spider named, the host) of every response record under ``path``: which sources an archive can answer.

    Reads record headers only (no body, no digest check): it decides what a replay crawls, not what it stores.
    """
    origins = set()
    for warc_path in warc_files(path):
        with warc_path.open("rb") as stream, contextlib.suppress(*_READ_ERRORS):
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    url = record.rec_headers.get_header("WARC-Target-URI") or ""
                    origins.add((record.rec_headers.get_header(SOURCE_FIELD), urlsplit(url).hostname or ""))
    return origins


def iter_responses(path: str | Path, damaged: list[Damage] | None = None) -> Iterator[ArchivedResponse]:
    """Every intact response record under ``path``, in file order, each with the body of its request.

    Damaged records are skipped (named in ``damaged`` when given).
    """
    for warc_path in warc_files(path):
        pending: ArchivedResponse | None = None
        pending_id: str | None = None
        for record, _, content in _intact_records(warc_path, damaged):
            if record.rec_type == "response":
                if pending is not None:
                    yield pending
                pending = _to_archived(record, warc_path, content)
                pending_id = record.rec_headers.get_header("WARC-Record-ID")
            elif record.rec_type == "request" and pending is not None:
                yield _with_request(pending, pending_id, record, content)
                pending = None
        if pending is not None:
            yield pending


def _to_archived(record, warc_path: Path, body: bytes) -> ArchivedResponse:
    http = record.http_headers
    headers = record.rec_headers
    return ArchivedResponse(
        url=headers.get_header("WARC-Target-URI"),
        status=int(http.get_statuscode()),
        headers=_decoded_body_headers(http.headers),
        body=body,
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


def _with_request(archived: ArchivedResponse, response_id: str | None, record, body: bytes) -> ArchivedResponse:
    """``archived`` with the body of ``record`` when that is its request (warcio writes it right after)."""
    if response_id is None or record.rec_headers.get_header("WARC-Concurrent-To") != response_id:
        return archived
    return replace(archived, request_body=body)


class WarcIndex:
    """Request key → latest intact archived response, over one WARC file or a folder of them.

    Damaged records are left out (``damaged`` names them), so an older intact copy of a page answers instead.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._offsets: dict[str, tuple[Path, int]] = {}
        self.damaged: list[Damage] = []
        for warc_path in warc_files(self.path):
            for record, offset, _ in _intact_records(warc_path, self.damaged):
                if record.rec_type != "response":
                    continue
                headers = record.rec_headers
                key = _stored_key(
                    headers.get_header(METHOD_FIELD) or "GET",
                    headers.get_header("WARC-Target-URI"),
                    headers.get_header(BODY_DIGEST_FIELD) or "",
                )
                # Later files and records win: a re-fetch replaces an older copy of the same page.
                self._offsets[key] = (warc_path, offset)

    def __len__(self) -> int:
        return len(self._offsets)

    def get(self, method: str, url: str, body: bytes = b"") -> ArchivedResponse | None:
        found = self._offsets.get(request_key(method, url, body))
        if found is None:
            return None
        warc_path, offset = found
        records = _intact_records(warc_path, None, start=offset)
        record, _, content = next(records)
        archived = _to_archived(record, warc_path, content)
        following = next(records, None)
        records.close()
        if following is not None and following[0].rec_type == "request":
            request, _, request_body = following
            archived = _with_request(archived, record.rec_headers.get_header("WARC-Record-ID"), request, request_body)
        return archived


def _stored_key(method: str, url: str, body_digest: str) -> str:
    return f"{method.upper()} {url} {body_digest}" if body_digest else f"{method.upper()} {url}"
