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
