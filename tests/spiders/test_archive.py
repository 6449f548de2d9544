"""WARC archive and replay: what is written can be found again, and what is missing answers 404."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scrapy.http import Request
from scrapy.utils.test import get_crawler

from spiders.archive import ReplayMiddleware, WarcIndex, WarcWriter, iter_responses, request_key, warc_files
from spiders.ccgp import CcgpSpider

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


def test_replay_middleware_answers_from_archive_and_404s_the_rest(archive):
    crawler = get_crawler(CcgpSpider, settings_dict={"TENDERWATCH_REPLAY": str(archive)})
    crawler.spider = CcgpSpider.from_crawler(crawler)
    middleware = ReplayMiddleware.from_crawler(crawler)
    hit = middleware.process_request(Request(PAGE))
    assert hit.status == 200 and "第一版" in hit.text and "replayed" in hit.flags
    miss = middleware.process_request(Request("https://www.ccgp.gov.cn/cggg/zygg/index_9.htm"))
    assert miss.status == 404
    assert crawler.stats.get_value("replay/missing") == 1
    assert crawler.stats.get_value("replay/hits") == 1
