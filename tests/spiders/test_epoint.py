"""Epoint spiders: jsggzy on its real list and detail (read in place), scggzy on our recorded pages, over HTTP."""

from __future__ import annotations

import json

import pytest
from scrapy.exceptions import CloseSpider
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler

from pipelines.ingest.normalize import normalize
from spiders.epoint import (
    SEARCH_PATH,
    JsggzySpider,
    ScggzySpider,
    listing_from_record,
    notice_id_from_url,
    parse_jsggzy_detail_page,
    parse_list,
    parse_scggzy_detail_page,
    parse_szzfcg_detail_page,
)
from spiders.registry import PORTALS
from tests.conftest import real_page
from tests.spiders.crawling import crawl
from tests.spiders.portal_sites import SC_FIXTURES, SZZFCG_FIXTURES, serve_jsggzy, serve_scggzy, serve_szzfcg

JS = "https://jsggzy.jszwfw.gov.cn"
JS_DETAIL = f"{JS}/jyxx/003001/003001001/20260706/5951fba5-d1e5-4203-80dc-06cfbcea2d39.html"


def test_real_jsggzy_list_values():
    listings, total = parse_list(json.loads(real_page("jsggzy/compass_jsggzy_list.json")), JS, JsggzySpider)
    assert total == 117650
    assert [x["notice_id"] for x in listings] == [
        "3924dea6-84f4-4e82-b8cc-8beed9a46af8",
        "5951fba5-d1e5-4203-80dc-06cfbcea2d39",
        "7c96d36d-0d49-4e9f-9998-ec6ccbf696c6",
    ]
    second = listings[1]
    assert second["url"] == JS_DETAIL
    assert second["title"] == "江苏省苏州实验中学金山路校区改造工程"
    assert second["published"] == "2026-07-06 22:58:01"
    assert second["type_label"] == "招标公告/资审公告"
    assert second["region"] == "苏州市"
    assert second["platform"] == "苏州交易集团工程"
    assert second["category"] == "003001001"


def test_real_jsggzy_detail_page_value_by_value():
    response = HtmlResponse(url=JS_DETAIL, body=real_page("jsggzy/compass_jsggzy_detail.html"))
    page = parse_jsggzy_detail_page(response)
    assert page["title"] == "江苏省苏州实验中学金山路校区改造工程"
    # The visible line, not the PubDate meta (2026-07-06 10:41:54, a 12-hour clock).
    assert page["published"] == "2026-07-06 22:41:54"
    assert page["platform"] == "苏州交易集团工程"
    assert page["type_label"] == "招标公告/资审公告"
    assert page["attachments"] == []
    body = HtmlResponse(url=JS_DETAIL, body=page["body_html"].encode("utf-8"), encoding="utf-8")
    text = " ".join(body.xpath("//text()").getall())
    assert "1.招标条件" in text and "S3205010304000797001001" in text
    notice = normalize({"source": "jsggzy", "notice_id": "5951fba5-d1e5-4203-80dc-06cfbcea2d39", "url": JS_DETAIL,
                        "listing": {}, "html": response.text}, PORTALS)  # fmt: skip
    assert notice["parse_error"] is None
    assert notice["title"] == page["title"]
    assert notice["published_at"] == "2026-07-06T22:41:54+08:00"
    assert (notice["province"], notice["city"]) == ("江苏省", "苏州市")
    assert notice["text"].startswith("江苏省苏州实验中学金山路校区改造工程（项目名称）")
    # The two-column contact block: 招标人 on the left, 招标代理机构 on the right, line by line.
    assert (notice["buyer"], notice["buyer_address"], notice["buyer_contact"]) == (
        "苏州高新工程建设管理有限公司",
        "苏州市高新区",
        "0512-68558416",
    )
    assert (notice["agency"], notice["agency_address"], notice["agency_contact"]) == (
        "苏州海企国际工程咨询有限公司",
        "苏州市高新区灵岩街6号9楼",
        "0512-65180430",
    )


def test_sichuan_detail_page_value_by_value():
    url = "https://ggzyjy.sc.gov.cn/jyxx/002002/002002001/20240128/5a000001-7c1e-4b2a-9f30-1d2e3f4a0001.html"
    response = HtmlResponse(url=url, body=(SC_FIXTURES / "detail.html").read_bytes())
    page = parse_scggzy_detail_page(response)
    assert page["title"] == "成都某研究院智算中心GPU算力租赁服务采购公告"
    assert page["published"] == "2024-01-28 10:01:00"
    assert page["platform"] == "四川省政府采购网"
    assert page["origin_url"] == "http://www.ccgp-sichuan.gov.cn/maincms-web/article?id=7b1f"
    assert page["attachments"] == [{
        "name": "采购文件.pdf",
        "url": "https://ggzyjy.sc.gov.cn/EpointWebBuilder/pages/webbuildermis/attach/downloadztbattach.jspx?attachGuid=ab12",
    }]  # fmt: skip
    notice = normalize(
        {"source": "scggzy", "notice_id": "x", "url": url, "listing": {}, "html": response.text}, PORTALS
    )
    assert notice["parse_error"] is None
    assert (notice["project_code"], notice["buyer"], str(notice["budget_cny"])) == (
        "N5101012024000017", "成都某研究院", "1200000.00",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/jyxx/003004/003004002/20240115/3924dea6-84f4-4e82-b8cc-8beed9a46af8.html", "3924dea6-84f4-4e82-b8cc-8beed9a46af8"),  # noqa: E501
        ("https://ggzyjy.sc.gov.cn/jyxx/002002/002002001/20240110/abcdef0123456789abcd.html", "abcdef0123456789abcd"),
        ("/jyxx/tradeInfonew.html", None),
    ],
)  # fmt: skip
def test_notice_ids_are_the_portal_guids(url, expected):
    assert notice_id_from_url(url) == expected


@pytest.mark.parametrize(
    ("spider_class", "content_type", "date_field", "rows"),
    [
        (JsggzySpider, "application/json;charset=UTF-8", "infodatepx", 20),
        (ScggzySpider, "application/x-www-form-urlencoded; charset=UTF-8", "webdate", 12),
    ],
)
def test_search_request_body(spider_class, content_type, date_field, rows):
    spider = spider_class.from_crawler(get_crawler(spider_class), from_date="2024-01-01", until_date="2024-01-31")
    request = spider.list_request(40)
    body = json.loads(request.body)
    assert request.headers["Content-Type"].decode() == content_type
    assert (body["pn"], body["rn"]) == (40, rows)
    assert body["condition"][-1]["equal"] == spider_class.category
    assert body["time"] == [
        {"fieldName": date_field, "startTime": "2024-01-01 00:00:00", "endTime": "2024-01-31 23:59:59"}
    ]


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (200, None, "JSL (加速乐) JS cookie challenge"),  # the real JSL page (Jiangsu) instead of JSON
        (412, b"<html><script>var a=1;</script></html>", "HTTP 412 Ruishu (瑞数) JS challenge"),
        (200, b"<html><head><script src='/x.js'></script></head><body></body></html>" + b" " * 9000,
         "HTML page instead of the notice API's JSON"),
    ],
)  # fmt: skip
def test_challenge_instead_of_json_is_a_block(status, body, reason):
    body = body if body is not None else real_page("jiangsu/metalnino_js521_jsl_clearance_challenge.html")
    spider = JsggzySpider.from_crawler(get_crawler(JsggzySpider))
    response = TextResponse(url=f"{JS}{SEARCH_PATH}", status=status, body=body, headers={"Content-Type": "text/html"})
    with pytest.raises(CloseSpider):
        list(spider.parse(response, offset=0))
    assert spider.crawler.stats.get_value("tenderwatch/block_reason") == reason


def test_real_answers_are_not_blocks():
    spider = JsggzySpider.from_crawler(get_crawler(JsggzySpider))
    answer = TextResponse(url=f"{JS}{SEARCH_PATH}", body=real_page("jsggzy/compass_jsggzy_list.json"))
    assert spider.block_reason(answer) is None
    assert spider.block_reason(HtmlResponse(url=JS_DETAIL, body=real_page("jsggzy/compass_jsggzy_detail.html"))) is None


# --- real crawls over HTTP ------------------------------------------------------------------------------------------


def test_jsggzy_crawl_of_the_real_list_and_detail(tmp_path, local_site):
    site = local_site(SC_FIXTURES)
    offsets = serve_jsggzy(site)
    items, stats = crawl(tmp_path, "jsggzy", "js", "-a", f"base_url={site.url}",
                         "-a", "from_date=2026-07-06", "-a", "until_date=2026-07-07")  # fmt: skip
    assert sorted(i["notice_id"] for i in items) == [
        "3924dea6-84f4-4e82-b8cc-8beed9a46af8",
        "5951fba5-d1e5-4203-80dc-06cfbcea2d39",
        "7c96d36d-0d49-4e9f-9998-ec6ccbf696c6",
    ]
    assert offsets == [0, 20]  # the second page came back empty: the listing ends there
    assert stats["finish_reason"] == "finished"
    for item in items:
        assert item["source"] == "jsggzy"
        assert item["url"] == item["listing"]["url"] and item["url"].startswith(f"{site.url}/jyxx/003001/")
        assert item["url"].endswith(f"/{item['notice_id']}.html")
        assert "ewb-trade-con" in item["html"]


def test_scggzy_crawl_pages_by_offset_filters_the_window_and_replays(tmp_path, local_site):
    site = local_site(SC_FIXTURES)
    offsets = serve_scggzy(site)
    archive = tmp_path / "archive"
    window = ["-a", f"base_url={site.url}", "-a", "from_date=2024-01-01", "-a", "until_date=2024-01-31"]
    live, stats = crawl(tmp_path, "scggzy", "sc", *window, "-s", f"TENDERWATCH_ARCHIVE_DIR={archive}")
    records = [*json.loads((SC_FIXTURES / "list_pn0.json").read_bytes())["result"]["records"],
               *json.loads((SC_FIXTURES / "list_pn12.json").read_bytes())["result"]["records"]]  # fmt: skip
    in_window = {
        r["linkurl"].rsplit("/", 1)[1][:-5] for r in records if "2024-01-01" <= r["webdate"][:10] <= "2024-01-31"
    }
    assert len(in_window) == 12
    assert {i["notice_id"] for i in live} == in_window
    assert offsets == [0, 12]
    assert stats["tenderwatch/list_items_out_of_window"] == 2
    gpu = next(i for i in live if "GPU" in i["listing"]["title"])
    assert gpu["listing"]["published"] == "2024-01-28 10:01:00"
    # zhuanzai names the publishing exchange, tradingsourcevalue its code; the area is read off the exchange's name.
    assert (gpu["listing"]["platform"], gpu["listing"]["platform_code"], gpu["listing"]["region"]) == (
        "四川省政府采购网", "S002", "四川省",
    )  # fmt: skip

    replayed, replay_stats = crawl(tmp_path, "scggzy", "sc-replay", *window, "-s", f"TENDERWATCH_REPLAY={archive}")
    assert sorted((i["notice_id"], i["html"]) for i in replayed) == sorted((i["notice_id"], i["html"]) for i in live)
    assert replay_stats.get("replay/missing", 0) == 0


@pytest.mark.parametrize(
    ("record", "region", "platform", "code"),
    [
        (
            {"zhuanzai": "阿坝州公共资源交易中心", "tradingsourcevalue": "S020"},
            "阿坝州",
            "阿坝州公共资源交易中心",
            "S020",
        ),
        ({"zhuanzai": "四川省政府采购网", "tradingsourcevalue": ""}, "四川省", "四川省政府采购网", ""),
        ({"zhuanzai": "成都市公共资源交易服务中心"}, "成都市", "成都市公共资源交易服务中心", ""),
    ],
)
def test_sichuan_records_name_the_publishing_exchange_not_an_area(record, region, platform, code):
    listing = listing_from_record({"linkurl": "/jyxx/002002/002002001/20240110/abcdef0123456789abcd.html", **record},
                                  "https://ggzyjy.sc.gov.cn", ScggzySpider)  # fmt: skip
    assert (listing["region"], listing["platform"], listing["platform_code"]) == (region, platform, code)


def test_sichuan_asks_for_what_its_own_front_end_asks():
    spider = ScggzySpider.from_crawler(get_crawler(ScggzySpider), from_date="2026-03-01", until_date="2026-03-14")
    body = json.loads(spider.list_request(0).body)
    assert [(c["fieldName"], c["equal"]) for c in body["condition"]] == [
        ("ZHUANZAI", "四川省政府采购网"), ("categorynum", "002002001"),
    ]  # fmt: skip
    assert {k: body[k] for k in ("fields", "cnum", "ssort", "cl", "highlights", "terminal", "noWd", "rn")} == {
        "fields": "", "cnum": "", "ssort": "", "cl": 10000, "highlights": "", "terminal": "", "noWd": True, "rn": 12,
    }  # fmt: skip
    assert body["sort"] == '{"ordernum":"0","webdate":"0"}'


def test_szzfcg_crawl_over_http_and_its_detail_values(tmp_path, local_site):
    site = local_site(SZZFCG_FIXTURES)
    bodies = serve_szzfcg(site)
    window = ["-a", f"base_url={site.url}", "-a", "from_date=2024-01-01", "-a", "until_date=2024-01-31"]
    items, stats = crawl(tmp_path, "szzfcg", "szzfcg", *window)
    assert sorted(i["notice_id"] for i in items) == [
        "3f2a0001-aaaa-4bbb-8ccc-000000000001", "3f2a0002-aaaa-4bbb-8ccc-000000000002",
    ]  # fmt: skip
    assert stats["tenderwatch/list_items_out_of_window"] == 1
    assert (bodies[0]["cnum"], bodies[0]["condition"][-1]["equal"]) == ("002", "002001001")
    gpu = next(i for i in items if "GPU" in i["listing"]["title"])
    assert (gpu["listing"]["region"], gpu["listing"]["platform"]) == ("深圳市", "深圳市政府采购中心")

    response = HtmlResponse(url=gpu["url"], body=gpu["html"].encode(), encoding="utf-8")
    page = parse_szzfcg_detail_page(response)
    assert (page["title"], page["published"], page["platform"]) == (
        "南方科技大学GPU计算集群扩容采购项目公开招标公告", "2024-01-30 17:20:00", "深圳市政府采购中心",
    )  # fmt: skip
    assert [a["name"] for a in page["attachments"]] == ["招标文件.pdf"]
    notice = normalize(gpu, PORTALS)
    assert notice["parse_error"] is None
    assert (notice["project_code"], notice["buyer"], str(notice["budget_cny"])) == (
        "SZCG2024000123", "南方科技大学", "15800000.00",
    )  # fmt: skip


def test_keywords_search_each_one_and_fetch_a_notice_once(tmp_path, local_site):
    site = local_site(SZZFCG_FIXTURES)
    bodies = serve_szzfcg(site)
    window = ["-a", f"base_url={site.url}", "-a", "from_date=2024-01-01", "-a", "until_date=2024-01-31"]
    # The recorded answer holds the same notices for both keywords, as two overlapping searches would.
    items, stats = crawl(tmp_path, "szzfcg", "keywords", *window, "-a", "keywords=GPU,超算", "-a", "prefilter=1")
    assert sorted((b["wd"], b["fields"], b["pn"]) for b in bodies) == [("GPU", "title;content", 0),
                                                                       ("超算", "title;content", 0)]  # fmt: skip
    assert len(items) == 2
    assert stats["tenderwatch/repeated_notices"] == 2
    # Search hits are not held to the title prefilter: the keyword may be in the body only.
    assert stats.get("tenderwatch/prefilter_skipped", 0) == 0


@pytest.mark.parametrize(
    ("spider_class", "no_wd"),
    [(JsggzySpider, None), (ScggzySpider, False)],
)
def test_a_keyword_turns_the_listing_into_a_search(spider_class, no_wd):
    spider = spider_class.from_crawler(get_crawler(spider_class), from_date="2024-01-01", until_date="2024-01-31")
    listing, search = json.loads(spider.list_request(0).body), json.loads(spider.list_request(0, "A800").body)
    assert (listing["wd"], search["wd"], search["fields"]) == ("", "A800", "title;content")
    assert search.get("noWd") is no_wd
    assert search["condition"] == listing["condition"] and search["time"] == listing["time"]
