"""Replay: the crawl answered from a WARC archive, and what is missing answers 404 (the format: test_warc.py)."""

from __future__ import annotations

import gzip

import pytest
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.http import Request
from scrapy.utils.test import get_crawler

from pipelines.ingest.warc import WarcWriter
from spiders.archive import ReplayMiddleware
from spiders.ccgp import CcgpSpider

PAGE = "https://www.ccgp.gov.cn/cggg/zygg/index.htm"


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "a.warc.gz"
    with WarcWriter(path) as writer:
        writer.write_response(PAGE, headers=[("Content-Type", "text/html; charset=utf-8")],
                              body="<html>第一版</html>".encode())  # fmt: skip
    return path


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


def test_a_page_served_compressed_replays_through_the_decompression_middleware(tmp_path):
    # Archived below HttpCompressionMiddleware, so the record holds the gzip bytes the server sent.
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")]
    with WarcWriter(tmp_path / "z.warc.gz") as writer:
        writer.write_response(PAGE, headers=headers, body=gzip.compress("<html>压缩的页面</html>".encode()))
    crawler = get_crawler(CcgpSpider, settings_dict={"TENDERWATCH_REPLAY": str(tmp_path)})
    crawler.spider = CcgpSpider.from_crawler(crawler)
    request = Request(PAGE)
    replayed = ReplayMiddleware.from_crawler(crawler).process_request(request)
    response = HttpCompressionMiddleware.from_crawler(crawler).process_response(request, replayed)
    assert "压缩的页面" in response.text
