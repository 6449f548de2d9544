"""The WARC format: what is written can be found again, POST answers by their body, the later copy wins."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from pipelines.ingest.warc import WarcIndex, WarcWriter, iter_responses, request_key, warc_files

PAGE = "https://www.ccgp.gov.cn/cggg/zygg/index.htm"
API = "https://www.ggzy.gov.cn/information/pubTradingInfo/getTradList"


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "a.warc.gz"
    with WarcWriter(path) as writer:
        writer.write_response(
            PAGE,
            headers=[("Content-Type", "text/html; charset=utf-8")],
            body="<html>第一版</html>".encode(),
            fetched_at=datetime(2026, 11, 20, tzinfo=UTC),
        )
        for page in (1, 2):
            writer.write_response(
                API,
                method="POST",
                headers=[("Content-Type", "application/json")],
                body=f'{{"page": {page}}}'.encode(),
                request_body=f"PAGENUMBER={page}".encode(),
                source="ggzy",
            )
    return path


def test_round_trip_keeps_status_headers_body_and_time(archive):
    records = list(iter_responses(archive))
    assert [r.url for r in records] == [PAGE, API, API]
    first = records[0]
    assert first.status == 200
    assert ("Content-Type", "text/html; charset=utf-8") in first.headers
    assert first.body.decode() == "<html>第一版</html>"
    assert first.fetched_at == "2026-11-20T00:00:00Z"


@pytest.mark.parametrize(
    ("position", "method", "request_body", "source"),
    [(0, "GET", b"", None), (1, "POST", b"PAGENUMBER=1", "ggzy"), (2, "POST", b"PAGENUMBER=2", "ggzy")],
)
def test_each_answer_carries_its_request_and_the_spider_that_fetched_it(archive, position, method, request_body,
                                                                        source):  # fmt: skip
    record = list(iter_responses(archive))[position]
    assert (record.method, record.request_body, record.source) == (method, request_body, source)
    found = WarcIndex(archive).get(method, record.url, request_body)
    assert (found.body, found.request_body, found.source) == (record.body, request_body, source)


@pytest.mark.parametrize(
    ("encoding", "kept"),
    [("gzip", False), ("GZIP", False), ("identity", True)],
)
def test_a_compressed_answer_reads_decoded_and_no_longer_claims_its_encoding(tmp_path, encoding, kept):
    page = "<html>压缩的页面</html>".encode()
    body = gzip.compress(page) if encoding.lower() == "gzip" else page
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", encoding)]
    with WarcWriter(tmp_path / "z.warc.gz") as writer:
        writer.write_response(PAGE, headers=headers, body=body)
    for record in (next(iter_responses(tmp_path)), WarcIndex(tmp_path).get("GET", PAGE)):
        assert record.body == page
        assert (("Content-Encoding", encoding) in record.headers) is kept
        assert ("Content-Type", "text/html; charset=utf-8") in record.headers


def test_post_answers_are_told_apart_by_their_body(archive):
    index = WarcIndex(archive)
    assert index.get("POST", API, b"PAGENUMBER=2").body == b'{"page": 2}'
    assert index.get("POST", API, b"PAGENUMBER=1").body == b'{"page": 1}'
    assert index.get("POST", API, b"PAGENUMBER=3") is None
    assert index.get("GET", API) is None


def test_later_copy_of_a_page_wins(archive, tmp_path):
    with WarcWriter(tmp_path / "b.warc.gz") as writer:
        writer.write_response(PAGE, body="<html>第二版</html>".encode())
    assert WarcIndex(tmp_path).get("GET", PAGE).body.decode() == "<html>第二版</html>"
    assert [p.name for p in warc_files(tmp_path)] == ["a.warc.gz", "b.warc.gz"]


def test_missing_archive_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no WARC file or folder"):
        WarcIndex(tmp_path / "nowhere")


def test_request_keys():
    assert request_key("get", PAGE) == f"GET {PAGE}"
    assert request_key("POST", API, b"x").startswith(f"POST {API} ")


def _three_pages(path) -> list[int]:
    """Three pages in one file; returns where each response record starts."""
    starts = []
    with WarcWriter(path) as writer:
        for n in range(3):
            starts.append(path.stat().st_size if path.exists() else 0)
            writer.write_response(f"{PAGE}?n={n}", headers=[("Content-Type", "text/html")],
                                  body=f"<html>{'正文' * 300}{n}</html>".encode())  # fmt: skip
    return starts


def _torn_last(data: bytes, starts: list[int]) -> bytes:
    return data[: starts[2] + (len(data) - starts[2]) // 2]


def _garbage_mid_file(data: bytes, starts: list[int]) -> bytes:
    # Overwrites the middle record's start with bytes a terminal would choke on.
    return data[: starts[1]] + b"\x1b[2J\x00\xff\xfe\x07" * 8 + data[starts[1] + 64 :]


# (damage, how the file is damaged, pages read intact, damaged record index, what the reason says)
DAMAGES = [
    ("torn-last-record", _torn_last, [0, 1], 2, "record cut short"),
    ("garbage-mid-file", _garbage_mid_file, [0, 2], 1, "unreadable: ArchiveLoadFailed"),
]


@pytest.mark.parametrize(("damage", "spoil", "intact", "at", "reason"), DAMAGES, ids=[d[0] for d in DAMAGES])
def test_a_damaged_record_is_skipped_and_named_with_file_and_offset(
    tmp_path, capsys, damage, spoil, intact, at, reason
):
    path = tmp_path / "a.warc.gz"
    starts = _three_pages(path)
    path.write_bytes(spoil(path.read_bytes(), starts))

    damaged: list = []
    read = [r.url for r in iter_responses(path, damaged)]
    index = WarcIndex(path)

    assert read == [f"{PAGE}?n={n}" for n in intact]
    assert [page for n in range(3) if (page := f"{PAGE}?n={n}") and index.get("GET", page)] == read
    assert [(d.path, d.offset) for d in damaged] == [(str(path), starts[at])]
    assert [(d.path, d.offset) for d in index.damaged] == [(str(path), starts[at])]
    assert damaged[0].reason.startswith(reason)
    # Named in printable ASCII, and nothing of the damaged bytes reached the terminal.
    assert str(damaged[0]).isascii() and str(damaged[0]).isprintable()
    assert capsys.readouterr() == ("", "")
