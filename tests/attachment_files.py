"""Attachment files the tests write themselves: PDF (a tiny hand-built writer), DOCX, XLSX, ZIP, hostile ones."""

from __future__ import annotations

import io
import zipfile

from demo.files import pdf_bytes

__all__ = ["corrupt_docx", "docx_bytes", "pdf_bytes", "xlsx_bytes", "zip_bomb", "zip_bytes"]


def docx_bytes(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "采购清单"
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def zip_bomb(unpacked_mb: int = 300) -> bytes:
    """A small ZIP whose one member unpacks to ``unpacked_mb`` MB of zeros (about 300 KB on the wire)."""
    out = io.BytesIO()
    chunk = b"\0" * (1024 * 1024)
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("需求.pdf", "w", force_zip64=True) as member,
    ):
        for _ in range(unpacked_mb):
            member.write(chunk)
    return out.getvalue()


def corrupt_docx() -> bytes:
    """Starts like a DOCX (a ZIP naming word/) and breaks off."""
    return docx_bytes(["技术参数"])[:900]
