"""Replay: the crawl answered from a WARC archive, and what is missing answers 404 (the format: test_warc.py)."""

from __future__ import annotations

import gzip

import pytest
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.http import Request
from scrapy.utils.test import get_crawler

from pipelines.ingest.warc import WarcWriter, iter_responses
from spiders.archive import ReplayMiddleware
from spiders.ccgp import CcgpSpider
from tests.ccgp_site import Notice, write_site
from tests.spiders.crawling import crawl

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
    # Archived above HttpCompressionMiddleware, so the record holds the gzip bytes the server sent.
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")]
    with WarcWriter(tmp_path / "z.warc.gz") as writer:
        writer.write_response(PAGE, headers=headers, body=gzip.compress("<html>压缩的页面</html>".encode()))
    crawler = get_crawler(CcgpSpider, settings_dict={"TENDERWATCH_REPLAY": str(tmp_path)})
    crawler.spider = CcgpSpider.from_crawler(crawler)
    request = Request(PAGE)
    replayed = ReplayMiddleware.from_crawler(crawler).process_request(request)
    response = HttpCompressionMiddleware.from_crawler(crawler).process_response(request, replayed)
    assert "压缩的页面" in response.text


def test_a_same_site_redirect_is_archived_and_replay_follows_it(tmp_path, local_site):
    notices = [
        Notice("8200001", "2026-11-20 10:00", "搬迁后的公告"),
        Notice("8200002", "2026-11-20 09:00", "原地的公告"),
    ]
    site = local_site(write_site(tmp_path / "site", notices))
    moved = notices[0]
    # The portal moved one notice; its old address answers 301 with the new one (the page itself is unchanged).
    new_path = f"/moved/{moved.path.rsplit('/', 1)[1]}"
    (tmp_path / "site" / new_path.lstrip("/")).parent.mkdir(parents=True)
    (tmp_path / "site" / new_path.lstrip("/")).write_bytes((tmp_path / "site" / moved.path).read_bytes())
    site.routes.append(lambda path: (301, {"Location": new_path}, b"") if path == f"/{moved.path}" else None)
    archive = tmp_path / "archive"
    window = ["-a", f"base_url={site.url}", "-a", "from_date=2026-11-19"]

    live, _ = crawl(tmp_path, "ccgp", "live", *window, "-s", f"TENDERWATCH_ARCHIVE_DIR={archive}")
    statuses = {(r.url, r.status) for r in iter_responses(archive)}
    assert (f"{site.url}/{moved.path}", 301) in statuses
    assert (f"{site.url}{new_path}", 200) in statuses

    replayed, stats = crawl(tmp_path, "ccgp", "replay", *window, "-s", f"TENDERWATCH_REPLAY={archive}")
    assert sorted(i["notice_id"] for i in live) == sorted(i["notice_id"] for i in replayed) == ["8200001", "8200002"]
    assert next(i["url"] for i in replayed if i["notice_id"] == moved.id) == f"{site.url}{new_path}"
    assert stats.get("replay/missing", 0) == 0
