"""FreeCMS spiders (plap, zycg) on our recorded answers and pages, over HTTP; neither layout is verified."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy.exceptions import CloseSpider
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler

from pipelines.ingest.normalize import normalize
from pipelines.matching.configured import load_matcher
from pipelines.matching.pending import PUBLISHED_TIERS, attachments_text, items_text
from spiders.freecms import (
    PlapSpider,
    ZycgSpider,
    is_detail_url,
    notice_id_from_url,
    parse_list,
    parse_plap_detail_page,
    parse_zycg_detail_page,
    read_list,
)
from spiders.registry import PORTALS
from tests.spiders.crawling import crawl, json_answer
from tests.spiders.portal_sites import FREECMS_EMPTY, FREECMS_FIXTURES, serve_freecms

PLAP = "https://www.plap.mil.cn"
ZYCG = "https://www.zycg.gov.cn"
PLAP_PAGES = "/freecms/site/juncai/ggxx/info/2025"
ZYCG_PAGES = "/freecms/site/zygjjgzfcgzx/ggxx/info/2025"
TIANGAI = "8a1d042b96bc2c8dfaf47f2f8d2a724f"  # the 天垓150S demand notice (a domestic GPU)
H200 = "8a1d04e5f49591659f66f684c689f585"  # the 8-card H200 server
ZYCG_GPU = "8a1d04a01fa4190126652a809ce7418b"
PLAP_WINDOW = ["-a", "from_date=2025-12-09", "-a", "until_date=2025-12-10"]
ZYCG_WINDOW = ["-a", "from_date=2025-06-16", "-a", "until_date=2025-06-18"]


def recorded(site: str, name: str) -> dict:
    return json.loads((FREECMS_FIXTURES / site / name).read_bytes())


def records(site: str, *names: str) -> list[dict]:
    return [record for name in names for record in recorded(site, name)["data"]]


# --- list answers -----------------------------------------------------------------------------------------------


def test_plap_list_values():
    listings, total = parse_list(recorded("plap", "channel_p1.json"), PLAP, PlapSpider)
    assert total == 2153
    assert len(listings) == 10
    tiangai = listings[2]
    assert tiangai == {
        "url": f"{PLAP}{PLAP_PAGES}/{TIANGAI}.html",
        "notice_id": TIANGAI,
        "record_id": TIANGAI,
        "title": "某单位GPU加速卡采购项目需求公示(2025-JKAQYZ-W1042)",
        "type_label": "",
        "notice_type": "other",
        "notice_type_code": "00105E",
        "published": "2025-12-10 16:30:12",
        "region": "北京市",
        "buyer": "",
        "project_code": "2025-JKAQYZ-W1042",
    }
    assert [x["notice_id"] for x in listings][-1] == H200


def test_zycg_list_values_and_a_record_on_another_host():
    listings, total = parse_list(recorded("zycg", "channel_p1.json"), ZYCG, ZycgSpider)
    assert total == 8817
    gpu = listings[1]
    assert (gpu["url"], gpu["notice_id"], gpu["published"]) == (
        f"{ZYCG}{ZYCG_PAGES}/{ZYCG_GPU}.html", ZYCG_GPU, "2025-06-18 17:20:00",
    )  # fmt: skip
    assert gpu["title"] == "中国科学院某研究所智能计算平台GPU服务器采购项目公开招标公告"
    assert gpu["notice_type"] == "open_tender"
    mall = listings[3]
    assert mall["url"].startswith("http://mkt.zycg.gov.cn/mall-view/information/detail?")
    assert (mall["notice_id"], mall["record_id"]) == ("", "5b7f0c3e2d")


@pytest.mark.parametrize(
    ("record", "url"),
    [
        # ``pageurl`` as given; ``htmlpath`` (2026 clients' records) under the site's /freecms prefix.
        ({"pageurl": f"{PLAP_PAGES}/{TIANGAI}.html"}, f"{PLAP}{PLAP_PAGES}/{TIANGAI}.html"),
        ({"htmlpath": f"/site/juncai/ggxx/info/2025/{TIANGAI}.html"}, f"{PLAP}{PLAP_PAGES}/{TIANGAI}.html"),
        ({"noticeId": TIANGAI}, ""),
    ],
)
def test_the_notice_page_comes_from_pageurl_else_htmlpath(record, url):
    listings, _ = parse_list({"code": "200", "total": 1, "data": [{"title": "x", **record}]}, PLAP, PlapSpider)
    assert listings[0]["url"] == url


@pytest.mark.parametrize(
    "answer",
    [
        {"code": "500", "msg": "系统异常", "total": 0, "data": []},
        {"code": "200", "msg": "操作成功", "data": None},
        ["not", "an", "answer"],
    ],
)
def test_answers_that_are_no_notice_list(answer):
    assert parse_list(answer, PLAP, PlapSpider) is None


def test_read_list_keys_listings_by_notice_page_and_reads_only_its_own_api():
    api = f"http://127.0.0.1:8080{ZycgSpider.list_path}?siteId=x&currPage=1"
    answer = TextResponse(url=api, body=(FREECMS_FIXTURES / "zycg" / "channel_p1.json").read_bytes())
    listings = read_list(answer, ZycgSpider)
    assert len(listings) == 14  # the 电子卖场 record has no notice page here
    assert listings[f"http://127.0.0.1:8080{ZYCG_PAGES}/{ZYCG_GPU}.html"]["notice_id"] == ZYCG_GPU
    assert read_list(answer, PlapSpider) == {}


# --- notice pages -----------------------------------------------------------------------------------------------

# (source, site folder, page, title, published, buyer, project code, budget, attachment)
PAGES = [
    ("plap", PLAP, f"{PLAP_PAGES}/{TIANGAI}.html", "某单位GPU加速卡采购项目需求公示(2025-JKAQYZ-W1042)",
     "2025-12-10 16:30:12", "某部队信息保障中心", "2025-JKAQYZ-W1042", "960000.00", "需求公示附件.pdf"),
    ("plap", PLAP, f"{PLAP_PAGES}/{H200}.html", "某医科大学8卡H200 GPU服务器采购项目竞争性谈判公告(2025-JKKJXA-F2031)",
     "2025-12-09 11:05:40", "某医科大学", "2025-JKKJXA-F2031", "2600000.00", "竞争性谈判文件.docx"),
    ("zycg", ZYCG, f"{ZYCG_PAGES}/{ZYCG_GPU}.html", "中国科学院某研究所智能计算平台GPU服务器采购项目公开招标公告",
     "2025-06-18 17:20:00", "中国科学院某研究所", "GC-HGX250318", "18500000.00", "招标文件.pdf"),
]  # fmt: skip
READERS = {"plap": parse_plap_detail_page, "zycg": parse_zycg_detail_page}


def notice_page(source: str, host: str, path: str) -> HtmlResponse:
    return HtmlResponse(url=f"{host}{path}", body=(FREECMS_FIXTURES / source / path.lstrip("/")).read_bytes())


@pytest.mark.parametrize(("source", "host", "path", "title", "published", "buyer", "code", "budget", "file"), PAGES)
def test_notice_page_value_by_value(source, host, path, title, published, buyer, code, budget, file):
    response = notice_page(source, host, path)
    page = READERS[source](response)
    assert (page["title"], page["published"]) == (title, published)
    assert [a["name"] for a in page["attachments"]] == [file]
    assert page["attachments"][0]["url"].startswith(f"{host}/freecms/download/api/mongo-server/file/download?")
    notice = normalize({"source": source, "notice_id": notice_id_from_url(response.url), "url": response.url,
                        "listing": {}, "html": response.text}, PORTALS)  # fmt: skip
    assert notice["parse_error"] is None
    assert (notice["title"], notice["published_at"]) == (title, published.replace(" ", "T") + "+08:00")
    assert (notice["buyer"], notice["project_code"], str(notice["budget_cny"])) == (buyer, code, budget)


# (notice page, whether the matcher publishes it, whether it names a restricted chip)
VERDICTS = [
    # 天垓150S is Iluvatar's domestic card; the notice mentions mixed training with Nvidia cards, nothing bought.
    (f"{PLAP_PAGES}/{TIANGAI}.html", False, False),
    (f"{PLAP_PAGES}/{H200}.html", True, True),
]


@pytest.mark.parametrize(("path", "published", "restricted"), VERDICTS)
def test_the_matcher_on_the_gpu_notices_after_normalize(path, published, restricted):
    response = notice_page("plap", PLAP, path)
    notice = normalize({"source": "plap", "notice_id": notice_id_from_url(response.url), "url": response.url,
                        "listing": {}, "html": response.text}, PORTALS)  # fmt: skip
    result = load_matcher().match(
        title=notice["title"],
        text=notice["text"],
        items=items_text(notice["items"]),
        attachments=attachments_text(notice["attachments"]),
        published=notice["published_at"][:10],
        notice_type=notice["notice_type"],
    )
    assert (result["tier"] in PUBLISHED_TIERS) is published
    assert ("ai_chip" in result["categories"]) is restricted
    if restricted:
        assert result["tier"] == "strong"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{PLAP}{PLAP_PAGES}/{TIANGAI}.html", TIANGAI),
        (f"{PLAP}/freecms-glht/site/juncai/ggxx/info/2026/{H200}.html", H200),
        (f"{ZYCG}{ZYCG_PAGES}/{ZYCG_GPU}.html?id={ZYCG_GPU}", ZYCG_GPU),
        (f"{PLAP}{PlapSpider.list_path}?siteId=404bb030&currPage=1", None),
        (f"{PLAP}/freecms/site/juncai/cggg/index.html", None),
        ("http://mkt.zycg.gov.cn/mall-view/information/detail?noticeId=5b7f0c3e2d", None),
    ],
)
def test_notice_ids_are_the_page_names(url, expected):
    assert notice_id_from_url(url) == expected
    assert is_detail_url(url) is (expected is not None)


# --- requests ---------------------------------------------------------------------------------------------------

# spider class → the query it sends for keyword GPU, page 3, in the order its front end sends it
QUERIES = {
    PlapSpider: [("siteId", "404bb030-5be9-4070-85bd-c94b1473e8de"),
                 ("channel", "c5bff13f-21ca-4dac-b158-cb40accd3035"),
                 ("currPage", "3"), ("pageSize", "10"), ("noticeType", ""), ("regionCode", ""), ("title", "GPU")],
    ZycgSpider: [("siteId", "6f5243ee-d4d9-4b69-abbd-1e40576ccd7d"),
                 ("channel", "d0e7c5f4-b93e-4478-b7fe-61110bb47fd5"),
                 ("currPage", "3"), ("pageSize", "15"), ("noticeType", "1,2,3,31,32,52,57,61"), ("implementWay", "1"),
                 ("operationStartTime", ""), ("operationEndTime", ""), ("title", "GPU")],
}  # fmt: skip


@pytest.mark.parametrize("spider_class", sorted(QUERIES, key=lambda s: s.name))
def test_list_request_query(spider_class):
    spider = spider_class.from_crawler(get_crawler(spider_class), from_date="2024-01-01")
    request = spider.list_request("GPU", 3)
    parts = urlsplit(request.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{spider_class.base_url}{spider_class.list_path}"
    query = [(name, values[0]) for name, values in parse_qs(parts.query, keep_blank_values=True).items()]
    assert query == QUERIES[spider_class]
    assert request.headers["X-Requested-With"] == b"XMLHttpRequest"


@pytest.mark.parametrize(
    ("arguments", "keywords"),
    [({"keywords": "GPU, H200,"}, ["GPU", "H200"]), ({"mode": "channel"}, None), ({}, None)],
)
def test_modes_and_keywords(arguments, keywords):
    spider = PlapSpider.from_crawler(get_crawler(PlapSpider), **arguments)
    assert spider.mode == arguments.get("mode", "search")
    if keywords:
        assert spider.keywords == keywords
    else:
        assert "H200" in spider.keywords  # the rules' vocabulary


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown plap mode 'columns'"):
        PlapSpider.from_crawler(get_crawler(PlapSpider), mode="columns")


# --- blocks -----------------------------------------------------------------------------------------------------

CHALLENGE = (FREECMS_FIXTURES / "challenge.html").read_bytes()
LIST_URL = f"{ZYCG}{ZycgSpider.list_path}?siteId=x&currPage=1"


@pytest.mark.parametrize(
    ("status", "url", "body", "reason"),
    [
        (200, LIST_URL, CHALLENGE, "HTML page instead of the notice API's JSON"),
        (200, LIST_URL, CHALLENGE + b" " * 9000, "HTML page instead of the notice API's JSON"),
        (412, LIST_URL, CHALLENGE, "HTTP 412 JS challenge"),
        (403, LIST_URL, b"<html><body>Forbidden</body></html>", "HTTP 403 Forbidden"),
        (521, f"{ZYCG}{ZYCG_PAGES}/{ZYCG_GPU}.html", b"<html><script>document.cookie='__jsl_clearance=1'</script>",
         "HTTP 521 JS cookie challenge"),
        (200, LIST_URL, FREECMS_EMPTY, None),
        (200, LIST_URL, (FREECMS_FIXTURES / "zycg" / "channel_p1.json").read_bytes(), None),
        # A notice page is HTML by nature.
        (200, f"{ZYCG}{ZYCG_PAGES}/{ZYCG_GPU}.html", (FREECMS_FIXTURES / "zycg" / "notice.html").read_bytes(), None),
    ],
)  # fmt: skip
def test_block_reason(status, url, body, reason):
    response = TextResponse(url=url, status=status, body=body, headers={"Content-Type": "text/html"})
    assert ZycgSpider.block_reason(response) == reason


def test_a_challenge_instead_of_the_list_stops_the_crawl():
    spider = PlapSpider.from_crawler(get_crawler(PlapSpider), keywords="GPU")
    response = TextResponse(url=f"{PLAP}{PlapSpider.list_path}?title=GPU&currPage=1", body=CHALLENGE,
                            headers={"Content-Type": "text/html"})  # fmt: skip
    with pytest.raises(CloseSpider):
        list(spider.parse(response, keyword="GPU", page=1))
    assert spider.crawler.stats.get_value("tenderwatch/block_reason") == "HTML page instead of the notice API's JSON"


# --- real crawls over HTTP --------------------------------------------------------------------------------------


def test_plap_channel_crawl_pages_until_the_window_ends_and_replays(tmp_path, local_site):
    site = local_site(FREECMS_FIXTURES / "plap")
    queries = serve_freecms(site, "plap")
    archive = tmp_path / "archive"
    args = ["-a", f"base_url={site.url}", "-a", "mode=channel", *PLAP_WINDOW]
    live, stats = crawl(tmp_path, "plap", "plap", *args, "-s", f"TENDERWATCH_ARCHIVE_DIR={archive}")
    listed = records("plap", "channel_p1.json", "channel_p2.json")
    in_window = [r["noticeId"] for r in listed if "2025-12-09" <= r["noticeTime"][:10] <= "2025-12-10"]
    assert len(in_window) == 11
    assert sorted(i["notice_id"] for i in live) == sorted(in_window)
    # Page 2 reached 2025-12-08: no third page although the total promises 216.
    assert [(q["currPage"], q["title"]) for q in queries] == [("1", ""), ("2", "")]
    assert stats["tenderwatch/list_items_out_of_window"] == 9  # 2 too new, 7 older
    assert stats["finish_reason"] == "finished"
    h200 = next(i for i in live if i["notice_id"] == H200)
    assert h200["url"] == f"{site.url}{PLAP_PAGES}/{H200}.html" == h200["listing"]["url"]
    assert (h200["listing"]["published"], h200["listing"]["region"]) == ("2025-12-09 11:05:40", "陕西省")
    assert "8张NVIDIA H200 141GB GPU卡" in h200["html"]

    replayed, replay_stats = crawl(tmp_path, "plap", "plap-replay", *args, "-s", f"TENDERWATCH_REPLAY={archive}")
    assert sorted((i["notice_id"], i["html"]) for i in replayed) == sorted((i["notice_id"], i["html"]) for i in live)
    assert replay_stats.get("replay/missing", 0) == 0


def test_plap_keyword_search_fetches_each_notice_once(tmp_path, local_site):
    site = local_site(FREECMS_FIXTURES / "plap")
    queries = serve_freecms(site, "plap")
    items, stats = crawl(tmp_path, "plap", "plap-search", "-a", f"base_url={site.url}",
                         "-a", "keywords=GPU,H200,量子计算", *PLAP_WINDOW)  # fmt: skip
    assert sorted((q["title"], q["currPage"]) for q in queries) == [("GPU", "1"), ("H200", "1"), ("量子计算", "1")]
    assert sorted(i["notice_id"] for i in items) == sorted([TIANGAI, H200])
    assert {i["notice_id"]: i["listing"]["keyword"] for i in items}[TIANGAI] == "GPU"
    # H200 came back for both keywords; the GPU query's third result is older than the window and ends its paging.
    assert stats["tenderwatch/repeated_notices"] == 1
    assert stats["tenderwatch/list_items_out_of_window"] == 1
    assert stats["tenderwatch/search_queries_without_results"] == 1
    assert "tenderwatch/empty_list_pages" not in stats


def test_zycg_channel_crawl_skips_the_mall_record(tmp_path, local_site):
    site = local_site(FREECMS_FIXTURES / "zycg")
    queries = serve_freecms(site, "zycg")
    items, stats = crawl(tmp_path, "zycg", "zycg", "-a", f"base_url={site.url}", "-a", "mode=channel", *ZYCG_WINDOW)
    listed = records("zycg", "channel_p1.json", "channel_p2.json")
    expected = {r["id"] for r in listed if r["addtimeStr"][:10] >= "2025-06-16" and "mkt." not in r["pageurl"]}
    assert len(expected) == 24
    assert {i["notice_id"] for i in items} == expected
    assert [q["currPage"] for q in queries] == ["1", "2"]
    assert (stats["tenderwatch/list_items_elsewhere"], stats["tenderwatch/list_items_out_of_window"]) == (1, 5)
    gpu = next(i for i in items if i["notice_id"] == ZYCG_GPU)
    assert gpu["listing"]["title"] == "中国科学院某研究所智能计算平台GPU服务器采购项目公开招标公告"
    assert 'id="printArea"' in gpu["html"]


def test_an_empty_channel_is_reported_not_taken_for_a_quiet_day(tmp_path, local_site):
    site = local_site(FREECMS_FIXTURES / "zycg")
    site.routes.append(lambda path: json_answer(FREECMS_EMPTY) if ZycgSpider.list_path in path else None)
    items, stats = crawl(tmp_path, "zycg", "zycg-empty", "-a", f"base_url={site.url}", "-a", "mode=channel",
                         *ZYCG_WINDOW)  # fmt: skip
    assert items == []
    assert (stats["tenderwatch/list_pages"], stats["tenderwatch/empty_list_pages"]) == (1, 1)
    assert stats["finish_reason"] == "finished"


def test_a_challenge_page_blocks_the_crawl(tmp_path, local_site):
    site = local_site(FREECMS_FIXTURES / "plap")
    challenge = (200, {"Content-Type": "text/html; charset=utf-8"}, CHALLENGE)
    site.routes.append(lambda path: challenge if PlapSpider.list_path in path else None)
    items, stats = crawl(tmp_path, "plap", "plap-blocked", "-a", f"base_url={site.url}", "-a", "keywords=GPU,H200",
                         *PLAP_WINDOW)  # fmt: skip
    assert items == []
    assert stats["finish_reason"] == "blocked"
    assert stats["tenderwatch/block_reason"] == "HTML page instead of the notice API's JSON"
    assert stats["tenderwatch/block_url"].startswith(f"{site.url}{PlapSpider.list_path}?")
