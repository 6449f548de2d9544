"""Attachments: the files a notice links to (采购需求, 招标文件), read from the WARC archive into text.

The spider only fetches and archives a screened notice's attachments (``spiders.attachments``); this module reads
them back from the archive, whatever crawl or replay brought them, so a nightly run, a replay and ``reprocess``
read the same bytes the same way. Nothing is written to disk: a file's name (``../../x.pdf``, a ZIP member's path)
is only ever a label.

Formats: PDF (PDFium through pypdfium2), DOCX (python-docx), XLSX (openpyxl), XLS (xlrd), ZIP of them (nested up to
``Limits.max_depth``). DOC, WPS and RAR are recognised and recorded ``unsupported`` (no well-kept pure-Python reader;
see docs/decisions.md). Every file is bounded (``Limits``): a huge file, a PDF claiming thousands of pages, a zip
bomb, an encrypted or corrupt file gets a row with its status and reason instead of text, and never stops the night.
"""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.ingest.warc import WarcIndex
from pipelines.storage.schema import ATTACHMENT_COLUMNS, ATTACHMENT_SCHEMA
from pipelines.storage.transactions import transaction

logger = logging.getLogger(__name__)

PAGE_BREAK = "\f"
# Statuses that are final for a downloaded file: the URL is not fetched again.
FINAL_STATUSES = ("ok", "no_text_layer", "unpacked", "encrypted", "corrupt", "unsupported", "too_large",
                  "too_many_pages", "zip_bomb", "too_deep")  # fmt: skip
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EXTENSIONS = {".pdf": "pdf", ".docx": "docx", ".xlsx": "xlsx", ".xls": "xls", ".doc": "doc", ".wps": "wps",
               ".zip": "zip", ".rar": "rar", ".et": "xls"}  # fmt: skip


@dataclass(frozen=True)
class Limits:
    """Caps on what one attachment may cost to read (the download itself is capped by the spider)."""

    max_bytes: int = 64 * 1024 * 1024
    max_pages: int = 500
    # A ZIP inside a ZIP is read; one level further is not.
    max_depth: int = 2
    # Bytes a ZIP may unpack to in all (its members' real sizes, not what their headers claim).
    max_unpacked_bytes: int = 200 * 1024 * 1024
    max_members: int = 200
    # Text kept per file: a spreadsheet of 100,000 rows is data, not a specification.
    max_text_chars: int = 2_000_000


@dataclass(frozen=True)
class Extracted:
    """One readable document: a downloaded file or a member of an archive."""

    name: str
    member: str
    media_type: str
    bytes: int | None
    pages: int | None
    status: str
    reason: str | None
    text: str | None
    content_hash: str | None


class Skip(Exception):
    """A file that is not read, with the status and reason recorded for it."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def media_type(name: str, body: bytes) -> str:
    """The format from the bytes (portals' names and Content-Types lie), the name's extension breaking ties."""
    extension = _EXTENSIONS.get(PurePosixPath(name.lower()).suffix, "unknown")
    if body.startswith(b"%PDF") or b"%PDF-" in body[:1024]:
        return "pdf"
    if body.startswith(b"PK\x03\x04") or body.startswith(b"PK\x05\x06"):
        head = body[:65536]
        if b"word/" in head:
            return "docx"
        if b"xl/" in head:
            return "xlsx"
        return extension if extension in ("docx", "xlsx") else "zip"
    if body.startswith(_OLE):
        return extension if extension in ("xls", "doc", "wps") else "ole"
    if body.startswith(b"Rar!"):
        return "rar"
    return extension


def extract(name: str, body: bytes, limits: Limits = Limits(), member: str = "", depth: int = 0) -> list[Extracted]:
    """Rows for one file: one for the file, plus one per document inside it when it is a ZIP."""
    kind = media_type(member or name, body)
    digest = hashlib.sha256(body).hexdigest()
    row = Extracted(name, member, kind, len(body), None, "ok", None, None, digest)
    try:
        if len(body) > limits.max_bytes:
            raise Skip("too_large", f"{len(body)} bytes, more than the {limits.max_bytes} allowed")
        if kind == "zip":
            return [replace(row, status="unpacked"), *_unzip(name, body, limits, member, depth)]
        reader = _READERS.get(kind)
        if reader is None:
            raise Skip("unsupported", f"no reader for {kind} files")
        pages = reader(body, limits)
    except Skip as skip:
        return [replace(row, status=skip.status, reason=skip.reason)]
    except Exception as error:  # noqa: BLE001 (a file no library can read is recorded, never fatal)
        return [replace(row, status="corrupt", reason=f"{type(error).__name__}: {str(error)[:200]}")]
    text = PAGE_BREAK.join(pages)
    if len(text) > limits.max_text_chars:
        text = text[: limits.max_text_chars]
        row = replace(row, reason=f"text cut at {limits.max_text_chars} characters")
    counted = len(pages) if kind in ("pdf", "xlsx", "xls") else None
    if not text.strip():
        status = "no_text_layer" if kind == "pdf" else "ok"
        reason = "no page has a text layer (a scan?)" if kind == "pdf" else "no text"
        return [replace(row, pages=counted, status=status, reason=reason, text=None)]
    return [replace(row, pages=counted, text=text)]


def _pdf_pages(body: bytes, limits: Limits) -> list[str]:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(body)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise Skip("encrypted", f"PDF needs a password: {error}") from None
        raise
    try:
        count = len(document)
        if count > limits.max_pages:
            raise Skip("too_many_pages", f"{count} pages, more than the {limits.max_pages} allowed")
        pages = []
        for number in range(count):
            page = document[number]
            textpage = page.get_textpage()
            # PDFium ends lines with CRLF; the rest of the pipeline reads LF.
            pages.append(textpage.get_text_bounded().replace("\r\n", "\n"))
            textpage.close()
            page.close()
        return pages
    finally:
        document.close()


def _docx_pages(body: bytes, limits: Limits) -> list[str]:
    import docx

    _check_unpacked(body, limits)
    document = docx.Document(io.BytesIO(body))
    lines = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for table_row in table.rows:
            lines.append("\t".join(cell.text for cell in table_row.cells))
    return ["\n".join(line for line in lines if line.strip())]


def _xlsx_pages(body: bytes, limits: Limits) -> list[str]:
    import openpyxl

    _check_unpacked(body, limits)
    workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    try:
        return [_sheet_text(sheet.iter_rows(values_only=True), limits) for sheet in workbook.worksheets]
    finally:
        workbook.close()


def _xls_pages(body: bytes, limits: Limits) -> list[str]:
    import xlrd

    workbook = xlrd.open_workbook(file_contents=body, on_demand=True)
    try:
        sheets = []
        for index in range(workbook.nsheets):
            sheet = workbook.sheet_by_index(index)
            sheets.append(_sheet_text((sheet.row_values(r) for r in range(sheet.nrows)), limits))
        return sheets
    finally:
        workbook.release_resources()


def _sheet_text(rows: Iterable[Iterable[Any]], limits: Limits) -> str:
    lines, size = [], 0
    for values in rows:
        line = "\t".join("" if v is None else str(v) for v in values).strip()
        if line:
            lines.append(line)
            size += len(line)
            if size > limits.max_text_chars:
                break
    return "\n".join(lines)


def _check_unpacked(body: bytes, limits: Limits) -> None:
    """An Office file is a ZIP: refuse one whose members claim more than the unpack cap before a library opens it."""
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        claimed = sum(info.file_size for info in archive.infolist())
    if claimed > limits.max_unpacked_bytes:
        raise Skip("zip_bomb", f"unpacks to {claimed} bytes, more than the {limits.max_unpacked_bytes} allowed")


def _member_name(info: zipfile.ZipInfo) -> str:
    """Chinese ZIPs are usually written with GBK names and no UTF-8 flag, which zipfile reads as cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _unzip(name: str, body: bytes, limits: Limits, member: str, depth: int) -> list[Extracted]:
    if depth >= limits.max_depth:
        raise Skip("too_deep", f"archive nested {depth + 1} deep, more than the {limits.max_depth} allowed")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        if len(infos) > limits.max_members:
            raise Skip("zip_bomb", f"{len(infos)} members, more than the {limits.max_members} allowed")
        claimed = sum(info.file_size for info in infos)
        if claimed > limits.max_unpacked_bytes:
            raise Skip("zip_bomb", f"unpacks to {claimed} bytes, more than the {limits.max_unpacked_bytes} allowed")
        rows, unpacked = [], 0
        for info in infos:
            path = _member_name(info)
            inner = f"{member}/{path}" if member else path
            if info.flag_bits & 0x1:
                rows.append(Extracted(name, inner, media_type(path, b""), info.file_size, None, "encrypted",
                                      "ZIP member needs a password", None, None))  # fmt: skip
                continue
            # Read no more than the remaining allowance, whatever the header claims.
            allowance = limits.max_unpacked_bytes - unpacked
            with archive.open(info) as stream:
                data = stream.read(allowance + 1)
            unpacked += len(data)
            if len(data) > allowance:
                raise Skip("zip_bomb", f"unpacks to more than the {limits.max_unpacked_bytes} bytes allowed")
            rows += extract(name, data, limits, member=inner, depth=depth + 1)
        return rows


_READERS = {"pdf": _pdf_pages, "docx": _docx_pages, "xlsx": _xlsx_pages, "xls": _xls_pages}


# --- the ingest step ------------------------------------------------------------------------------------------


@dataclass
class AttachmentSummary:
    files: int = 0
    rows: int = 0
    read: int = 0
    skipped: int = 0
    notices: int = 0


def known_urls(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Attachment URLs already read or judged for good: a crawl does not fetch them again."""
    placeholders = ", ".join("?" for _ in FINAL_STATUSES)
    return [
        url
        for (url,) in con.execute(
            f"SELECT DISTINCT url FROM attachments WHERE member = '' AND status IN ({placeholders}) ORDER BY url",
            list(FINAL_STATUSES),
        ).fetchall()
    ]


def read_attachments(
    con: duckdb.DuckDBPyConnection,
    archive: str | None,
    fetch_log: Iterable[dict[str, Any]] = (),
    limits: Limits = Limits(),
    only_new: bool = True,
) -> AttachmentSummary:
    """Read the attachments of stored notices that the archive holds and store their rows.

    ``fetch_log`` is what the crawl recorded for files it did not archive (over the budget, over the size cap,
    an HTTP error): they get a row with that status, so an analyst sees why a notice's file has no text. With
    ``only_new`` a file already stored with a final status is not read again (``reprocess`` reads everything).
    """
    summary = AttachmentSummary()
    index = WarcIndex(archive) if archive else None
    done = set() if not only_new else {(s, n, u) for s, n, u in con.execute(
        "SELECT source, notice_id, url FROM attachments WHERE member = '' AND status IN ("
        + ", ".join("?" for _ in FINAL_STATUSES) + ")", list(FINAL_STATUSES)).fetchall()}  # fmt: skip
    wanted = con.execute(
        """
        SELECT n.source, n.notice_id, a.name, a.url
        FROM notices n, unnest(n.attachments) AS t(a)
        WHERE a.url IS NOT NULL
        ORDER BY n.source, n.notice_id
        """
    ).fetchall()
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    touched: set[tuple[str, str]] = set()
    for source, notice_id, name, url in wanted:
        if (source, notice_id, url) in done:
            continue
        archived = index.get("GET", url) if index is not None else None
        if archived is None or archived.status != 200:
            continue
        summary.files += 1
        for found in extract(name or url, archived.body, limits):
            rows.append(_row(source, notice_id, url, found, now))
        done.add((source, notice_id, url))
        touched.add((source, notice_id))
    by_url = {(s, n, u) for s, n, u in ((r["source"], r["notice_id"], r["url"]) for r in rows)}
    for entry in fetch_log:
        key = (entry.get("source"), entry.get("notice_id"), entry.get("url"))
        if not all(key) or key in by_url or key in done:
            continue
        rows.append(
            _row(
                key[0],
                key[1],
                key[2],
                Extracted(
                    entry.get("name") or key[2],
                    "",
                    "unknown",
                    None,
                    None,
                    entry["status"],
                    entry.get("reason"),
                    None,
                    None,
                ),
                now,
            )
        )
        touched.add((key[0], key[1]))  # fmt: skip
    _upsert(con, rows)
    summary.rows = len(rows)
    summary.read = sum(r["status"] in ("ok", "no_text_layer") for r in rows)
    summary.skipped = sum(r["status"] not in ("ok", "no_text_layer", "unpacked") for r in rows)
    summary.notices = len(touched)
    return summary


def _row(source: str, notice_id: str, url: str, found: Extracted, now: datetime) -> dict[str, Any]:
    name = f"{found.name}/{found.member}" if found.member else found.name
    return {"source": source, "notice_id": notice_id, "url": url, "member": found.member, "name": name,
            "media_type": found.media_type, "bytes": found.bytes, "pages": found.pages, "status": found.status,
            "reason": found.reason, "text": found.text, "content_hash": found.content_hash,
            "extracted_at": now}  # fmt: skip


def _upsert(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = pa.Table.from_pylist(rows, schema=ATTACHMENT_SCHEMA)
    names = ", ".join(c.name for c in ATTACHMENT_COLUMNS)
    try:
        with transaction(con):
            con.register("batch_attachments", table)
            # A re-read file replaces all its rows (a ZIP may have lost or gained members).
            con.execute(
                "DELETE FROM attachments WHERE (source, notice_id, url) IN "
                "(SELECT (source, notice_id, url) FROM batch_attachments)"
            )
            con.execute(f"INSERT INTO attachments ({names}) SELECT {names} FROM batch_attachments")
    finally:
        con.unregister("batch_attachments")
