"""Reading attachments into text: each format, and each hostile file skipped with a recorded reason."""

from __future__ import annotations

import pytest

from pipelines.ingest.attachments import Limits, extract, media_type
from tests.attachment_files import corrupt_docx, docx_bytes, pdf_bytes, xlsx_bytes, zip_bomb, zip_bytes

A800_PDF = pdf_bytes(["Technical requirements", "GPU server: 8 x NVIDIA A800 80GB SXM"])


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return zip_bomb()


@pytest.mark.parametrize(
    ("name", "body", "kind", "status", "pages", "text"),
    [
        ("需求.pdf", A800_PDF, "pdf", "ok", 2, "Technical requirements\fGPU server: 8 x NVIDIA A800 80GB SXM"),
        (
            "参数.docx",
            docx_bytes(["技术参数", "GPU卡：A800 80GB，8块"]),
            "docx",
            "ok",
            None,
            "技术参数\nGPU卡：A800 80GB，8块",
        ),
        ("清单.xlsx", xlsx_bytes([["名称", "数量"], ["H800服务器", 2]]), "xlsx", "ok", 1, "名称\t数量\nH800服务器\t2"),
        # A name that lies: the bytes decide.
        ("spec.doc", A800_PDF, "pdf", "ok", 2, None),
        ("scan.pdf", pdf_bytes(["", ""]), "pdf", "no_text_layer", 2, None),
        ("big.pdf", pdf_bytes(["x"], claimed_pages=10_000), "pdf", "too_many_pages", None, None),
        ("locked.pdf", pdf_bytes(["A800"], encrypted=True), "pdf", "encrypted", None, None),
        ("broken.docx", corrupt_docx(), "docx", "corrupt", None, None),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "doc", "unsupported", None, None),
        ("pack.rar", b"Rar!\x1a\x07\x00" + b"\0" * 100, "rar", "unsupported", None, None),
        ("../../x.pdf", A800_PDF, "pdf", "ok", 2, None),
    ],
)
def test_formats_and_hostile_files(name, body, kind, status, pages, text):
    [row] = extract(name, body)
    assert (row.media_type, row.status, row.pages) == (kind, status, pages)
    assert row.name == name and row.bytes == len(body) and len(row.content_hash) == 64
    if text is not None:
        assert row.text == text
    if status not in ("ok",):
        assert row.reason and row.text is None


def test_zip_members_are_read_and_named_never_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inner = zip_bytes({"../../x.pdf": A800_PDF})
    body = zip_bytes({"采购需求.pdf": A800_PDF, "清单.xlsx": xlsx_bytes([["H100", 4]]), "inner.zip": inner})
    rows = extract("招标文件.zip", body)
    assert [(r.member, r.media_type, r.status) for r in rows] == [
        ("", "zip", "unpacked"),
        ("采购需求.pdf", "pdf", "ok"),
        ("清单.xlsx", "xlsx", "ok"),
        ("inner.zip", "zip", "unpacked"),
        ("inner.zip/../../x.pdf", "pdf", "ok"),
    ]
    assert "A800" in rows[-1].text
    assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent.parent / "x.pdf").exists()


def test_too_deep_and_too_large():
    nested = zip_bytes({"a.zip": zip_bytes({"b.zip": zip_bytes({"c.pdf": A800_PDF})})})
    rows = extract("deep.zip", nested, Limits(max_depth=2))
    assert [(r.member, r.status) for r in rows] == [
        ("", "unpacked"),
        ("a.zip", "unpacked"),
        ("a.zip/b.zip", "too_deep"),
    ]
    [row] = extract("huge.pdf", A800_PDF, Limits(max_bytes=100))
    assert row.status == "too_large" and "100 allowed" in row.reason


def test_zip_bomb_is_refused_before_unpacking(bomb):
    assert len(bomb) < 1_000_000
    [row] = extract("bomb.zip", bomb)
    assert row.status == "zip_bomb" and "314572800 bytes" in row.reason
    # The allowance counts every member: two small ones over it together are refused as well.
    pair = zip_bytes({"a.pdf": b"%PDF-" + b"0" * 600, "b.pdf": b"%PDF-" + b"0" * 600})
    [row] = extract("pair.zip", pair, Limits(max_unpacked_bytes=1000))
    assert row.status == "zip_bomb"


def test_media_type_from_bytes():
    assert media_type("x.bin", b"%PDF-1.7") == "pdf"
    assert media_type("x", docx_bytes(["a"])) == "docx"
    assert media_type("x.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") == "xls"
    assert media_type("x.wps", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") == "wps"


def test_evidence_names_the_file_and_page():
    from pipelines.matching.pending import AttachmentText

    files = [
        {"name": "需求.pdf", "media_type": "pdf", "text": "scope\fGPU server: 8 x NVIDIA A800 80GB"},
        {"name": "清单.xlsx", "media_type": "xlsx", "text": "a\fb\fH800 8卡"},
        {"name": "参数.docx", "media_type": "docx", "text": "GPU卡：A800"},
    ]
    field = AttachmentText([{"name": "需求.pdf"}, {"name": "未读.doc"}], files)
    assert field.text.startswith("未读.doc\n《需求.pdf》\nscope\f")
    hit = {"field": "attachment", "text": "A800", "evidence": "server: 8 x NVIDIA A800 80GB"}
    field.quote(hit)
    assert hit["evidence"] == "《需求.pdf》 p. 2: server: 8 x NVIDIA A800 80GB"
    hit = {"field": "attachment", "text": "H800", "evidence": "b\fH800 8卡"}
    field.quote(hit)
    assert hit["evidence"] == "《清单.xlsx》 sheet 3: b H800 8卡"
    hit = {"field": "attachment", "text": "A800", "evidence": "GPU卡：A800"}
    field.quote(hit)
    assert hit["evidence"] == "《参数.docx》: GPU卡：A800"
    # A hit in the names of files not read keeps its evidence as it was.
    hit = {"field": "attachment", "text": "未读", "evidence": "未读.doc"}
    field.quote(hit)
    assert hit["evidence"] == "未读.doc"
