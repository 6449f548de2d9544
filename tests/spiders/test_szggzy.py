"""szggzy.com spider on our recorded API answers (no real answer exists): list paging, wrapped detail, normalize."""

from __future__ import annotations

import json

import pytest
from scrapy.http import HtmlResponse

from pipelines.ingest.normalize import normalize
from pipelines.ingest.portals import source_for_url
from spiders.registry import PORTALS
from spiders.szggzy import attachments_of, notice_id_from_url, parse_detail_page, wrap_detail
from tests.spiders.crawling import crawl
from tests.spiders.portal_sites import SZ_FIXTURES, serve_szggzy


def detail(content_id: int) -> dict:
    return json.loads((SZ_FIXTURES / f"detail_{content_id}.json").read_bytes())["data"]


@pytest.mark.parametrize(
    ("content_id", "attachments"),
    [
        (2090011, [{"name": "采购需求书.pdf", "url": "https://www.szggzy.com/file/2024/a1.pdf"}]),  # JSON text
        (2089876, [{"name": "用户需求书.docx", "url": "https://www.szggzy.com/file/2024/b2.docx"}]),  # HTML links
        (2088001, []),
    ],
)
def test_attachments_in_either_writing(content_id, attachments):
    assert attachments_of(detail(content_id)["attrs"]) == attachments


def test_wrapped_detail_parses_and_normalizes():
    url = "https://www.szggzy.com/jygg/details.html?contentId=2090011"
    html = wrap_detail(detail(2090011))
    page = parse_detail_page(HtmlResponse(url=url, body=html.encode("utf-8"), encoding="utf-8"))
    assert page["title"] == "深圳市某区政务云GPU算力服务采购公告"
    assert page["published"] == "2024-01-29 18:00:00"
    assert page["attachments"] == [{"name": "采购需求书.pdf", "url": "https://www.szggzy.com/file/2024/a1.pdf"}]
    assert "不少于32卡" in page["body_html"]
    notice = normalize({"source": "szggzy", "notice_id": "2090011", "url": url, "listing": {}, "html": html}, PORTALS)
    assert notice["parse_error"] is None
    assert (notice["project_code"], notice["buyer"], str(notice["budget_cny"])) == (
        "SZDL2024000123", "深圳市某区政务服务数据管理局", "3600000.00",
    )  # fmt: skip
    assert notice["published_at"] == "2024-01-29T18:00:00+08:00"
    assert notice["attachments"] == [{"name": "采购需求书.pdf", "url": "https://www.szggzy.com/file/2024/a1.pdf"}]
    assert source_for_url(url, PORTALS) == "szggzy" and notice_id_from_url(url) == "2090011"


def test_wrapping_escapes_the_title():
    html = wrap_detail(
        {"title": "<font>A&B</font> <C", "releaseTime": "2024-01-01 00:00:00", "txt": "<p>x</p>", "attrs": []}
    )
    page = parse_detail_page(HtmlResponse(url="https://www.szggzy.com/", body=html.encode(), encoding="utf-8"))
    assert page["title"] == "A&B <C"  # highlight markup dropped, the rest escaped and read back


def test_crawl_over_http_pages_then_fetches_each_detail_and_replays(tmp_path, local_site):
    site = local_site(SZ_FIXTURES)
    bodies = serve_szggzy(site)
    archive = tmp_path / "archive"
    window = ["-a", f"base_url={site.url}", "-a", "from_date=2024-01-01", "-a", "until_date=2024-01-31"]
    live, stats = crawl(tmp_path, "szggzy", "sz", *window, "-s", f"TENDERWATCH_ARCHIVE_DIR={archive}")

    assert sorted(i["notice_id"] for i in live) == ["2088001", "2089876", "2090011"]
    assert [b["page"] for b in bodies] == [0, 1]
    assert bodies[0]["releaseTimeBegin"] == "2024-01-01 00:00:00"
    assert bodies[0]["releaseTimeEnd"] == "2024-01-31 23:59:59"
    assert bodies[0]["fields"][1] == {"fieldName": "jygg_gglxmc", "fieldValue": "采购公告"}
    assert (bodies[0]["siteId"], bodies[0]["parentBusinessType"]) == (1, "政府采购")
    assert stats["finish_reason"] == "finished"
    for item in live:
        assert item["url"] == f"{site.url}/jygg/details.html?contentId={item['notice_id']}"
        assert item["html"] == wrap_detail(detail(int(item["notice_id"])))
        assert item["listing"]["region"] == "深圳市"
    api = next(i["listing"] for i in live if i["notice_id"] == "2089876")
    assert (api["buyer"], api["project_code"], api["type_label"]) == ("深圳某大学", "SZCG20249876", "采购公告")

    replayed, replay_stats = crawl(tmp_path, "szggzy", "sz-replay", *window, "-s", f"TENDERWATCH_REPLAY={archive}")
    assert sorted((i["notice_id"], i["html"]) for i in replayed) == sorted((i["notice_id"], i["html"]) for i in live)
    assert replay_stats.get("replay/missing", 0) == 0


def test_keywords_search_titles_one_query_each(tmp_path, local_site):
    site = local_site(SZ_FIXTURES)
    bodies = serve_szggzy(site)
    window = ["-a", f"base_url={site.url}", "-a", "from_date=2024-01-01", "-a", "until_date=2024-01-31"]
    items, stats = crawl(tmp_path, "szggzy", "sz-keywords", *window, "-a", "keywords=GPU,大模型")
    assert sorted({(b["title"], b["page"]) for b in bodies}) == [("GPU", 0), ("GPU", 1), ("大模型", 0), ("大模型", 1)]
    # Our recorded answers ignore the title: both queries list the same three notices, fetched once.
    assert sorted(i["notice_id"] for i in items) == ["2088001", "2089876", "2090011"]
    assert stats["tenderwatch/repeated_notices"] == 3


def test_a_lone_surrogate_in_the_json_answer_keeps_the_item(tmp_path, local_site):
    """Half a surrogate pair escaped in the JSON (``\\ud800``) used to make Scrapy's exporter drop the item."""
    site = local_site(SZ_FIXTURES)
    serve_szggzy(site)
    hostile = (SZ_FIXTURES / "detail_2088001.json").read_text(encoding="utf-8")
    hostile = hostile.replace("课桌椅采购公告", "课桌椅\\ud800采购公告").replace("预算金额", "预算\\udfff金额")

    def detail_with_surrogates(path: str):
        if "contentId=2088001" in path:
            return 200, {"Content-Type": "application/json;charset=UTF-8"}, hostile.encode("utf-8")
        return None

    site.routes.insert(0, detail_with_surrogates)
    window = ["-a", f"base_url={site.url}", "-a", "from_date=2024-01-01", "-a", "until_date=2024-01-31"]
    items, stats = crawl(tmp_path, "szggzy", "surrogate", *window)

    assert sorted(i["notice_id"] for i in items) == ["2088001", "2089876", "2090011"]
    item = next(i for i in items if i["notice_id"] == "2088001")
    assert "课桌椅\ufffd采购公告" in item["html"] and "预算\ufffd金额" in item["html"]
    assert stats["item_scraped_count"] == 3
    assert "log_count/ERROR" not in stats
