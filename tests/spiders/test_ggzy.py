"""ggzy.gov.cn spider: the real getTradList answers (read in place) over HTTP, block codes, the /b/ page parser."""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import parse_qs

import pytest
from scrapy.exceptions import CloseSpider
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler

from pipelines.ingest.normalize import normalize
from pipelines.ingest.reprocess import reprocess_archive
from pipelines.ingest.warc import iter_responses
from pipelines.storage import store
from spiders.ggzy import GgzySpider, content_url, list_form, notice_id_from_url, parse_detail_page, parse_list
from spiders.registry import PORTALS
from tests.spiders.crawling import crawl, json_answer
from tests.spiders.portal_sites import GGZY_FIXTURES, ggzy_real_wrappers, serve_ggzy

API = "https://www.ggzy.gov.cn/his/information/pubTradingInfo/getTradList"


def api_response(body: bytes, url: str = API) -> TextResponse:
    return TextResponse(url=url, body=body, headers={"Content-Type": "application/json"})


def _spider(**kwargs) -> GgzySpider:
    return GgzySpider.from_crawler(get_crawler(GgzySpider), **kwargs)


def test_every_real_page_parses_to_its_unique_records():
    for wrapper in ggzy_real_wrappers():
        answer = wrapper["response"]
        records = answer["data"]["records"]
        listings, repeats = parse_list(answer, "https://www.ggzy.gov.cn")
        # Every stored page repeats each of its records once: 20 records, 10 notices.
        assert (len(records), len(listings), repeats) == (20, 10, 10)
        assert [x["notice_id"] for x in listings] == list(dict.fromkeys(r["id"] for r in records))
        for listing in listings:
            assert listing["url"].startswith("https://www.ggzy.gov.cn/his/information/deal/html/b/340000/")
            assert listing["container_url"] == listing["url"].replace("/html/b/", "/html/a/")
            assert listing["url"].endswith(f"/{listing['notice_id']}.html")
            assert "2024-02-21" <= listing["published"] <= "2024-03-28"
            assert listing["title"] and listing["type_label"] and listing["notice_type"]
            assert listing["region"] == "安徽省"


@pytest.mark.parametrize(
    ("position", "field", "expected"),
    [
        (0, "notice_id", "0034e46eb50de632482ca1c297017c764807"),
        (0, "type_label", "招标/资审文件澄清"),
        (0, "notice_type", "correction"),
        (0, "business_type", "工程建设"),
        (0, "platform", "安徽合肥公共资源交易中心电子交易系统"),
        (1, "notice_type", "open_tender"),
        (6, "title", "凤凰颈排灌站管理处泵站工程维修养护（2024年）竞争性磋商公告"),
        (6, "business_type", "政府采购"),
        (6, "information_type", "0201"),
        (6, "notice_type", "competitive_consultation"),
        (
            6,
            "url",
            "https://www.ggzy.gov.cn/his/information/deal/html/b/340000/0201/20240328/"
            "0034abb700de16d640228077d1a72edd874b.html",
        ),
    ],
)
def test_real_page_one_values(position, field, expected):
    listings, _ = parse_list(ggzy_real_wrappers()[0]["response"], "https://www.ggzy.gov.cn")
    assert listings[position][field] == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/his/information/deal/html/a/340000/0105/20240328/x1.html", "/his/information/deal/html/b/340000/0105/20240328/x1.html"),  # noqa: E501
        ("/information/deal/html/a/110000/0201/20260101/ab.html", "/information/deal/html/b/110000/0201/20260101/ab.html"),  # noqa: E501
        ("/information/deal/html/b/110000/0201/20260101/ab.html", "/information/deal/html/b/110000/0201/20260101/ab.html"),  # noqa: E501
    ],
)  # fmt: skip
def test_container_page_rewritten_to_content_page(url, expected):
    assert content_url(url) == expected
    assert notice_id_from_url(expected) == expected.rsplit("/", 1)[1].removesuffix(".html")


def test_list_form_carries_the_window_and_the_query():
    spider = _spider(from_date="2024-01-01", until_date="2024-01-31", keywords="GPU,算力", province="340000")
    request = spider.list_request("算力", 3)
    form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8"), keep_blank_values=True).items()}
    assert form == {
        "FINDTXT": "算力", "PAGENUMBER": "3", "DEAL_TIME": "06", "TIMEBEGIN": "2024-01-01", "TIMEEND": "2024-01-31",
        "DEAL_CLASSIFY": "02", "DEAL_PROVINCE": "340000", "DEAL_CITY": "0", "SOURCE_TYPE": "1",
    }  # fmt: skip
    assert request.method == "POST" and request.url == "https://www.ggzy.gov.cn/information/pubTradingInfo/getTradList"
    assert spider.keywords == ("GPU", "算力")
    assert list_form(page=1, keyword="", time_begin="a", time_end="b", province="0", city="0", source_type="",
                     deal_classify="02").get("SOURCE_TYPE") is None  # fmt: skip


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [("code_829.json", "ggzy captcha required (code 829)"), ("code_800.json", "ggzy too frequent (code 800)")],
)
def test_block_codes_stop_the_crawl_with_the_evidence(fixture, reason):
    spider = _spider()
    response = api_response((GGZY_FIXTURES / fixture).read_bytes())
    with pytest.raises(CloseSpider) as stopped:
        list(spider.parse(response, keyword="", page=1))
    assert stopped.value.reason == "blocked"
    stats = spider.crawler.stats
    assert stats.get_value("tenderwatch/blocked") == 1
    assert stats.get_value("tenderwatch/block_reason") == reason
    assert stats.get_value("tenderwatch/block_url") == API


def test_real_pages_are_not_blocks():
    spider = _spider()
    for wrapper in ggzy_real_wrappers():
        assert spider.block_reason(api_response(json.dumps(wrapper["response"]).encode())) is None


def test_recorded_b_page_parses_and_normalizes():
    url = "https://www.ggzy.gov.cn/information/deal/html/b/340000/0202/20240328/00aa.html"
    response = HtmlResponse(url=url, body=(GGZY_FIXTURES / "b_page.html").read_bytes())
    page = parse_detail_page(response)
    assert page["title"] == "合肥市某高校智算平台GPU服务器采购项目竞争性磋商公告"
    assert page["published"] == "2024-03-28 09:30"
    assert page["platform"] == "安徽合肥公共资源交易中心"
    assert page["body_html"].startswith('<div class="detail_content" id="mycontent">')
    notice = normalize(
        {"source": "ggzy", "notice_id": "00aa", "url": url, "listing": {}, "html": response.text}, PORTALS
    )
    assert notice["parse_error"] is None
    assert (notice["project_code"], notice["buyer"], str(notice["budget_cny"])) == (
        "2024AFFZ00123", "合肥某大学", "9800000.00",
    )  # fmt: skip
    assert notice["published_at"] == "2024-03-28T09:30:00+08:00"
    assert notice["notice_type"] == "competitive_consultation"
    assert "H800" in notice["text"]


# --- a real crawl over HTTP, then its replay ----------------------------------------------------------------------


def test_crawl_of_the_real_pages_over_http_and_its_replay(tmp_path, local_site):
    wrappers = ggzy_real_wrappers()
    site = local_site(GGZY_FIXTURES)
    forms = serve_ggzy(site, wrappers)
    archive = tmp_path / "archive"
    args = ["-a", f"base_url={site.url}", "-a", "from_date=2023-11-01", "-a", "until_date=2024-03-28",
            "-a", "history=true", "-a", "province=340000", "-a", "city=340100"]  # fmt: skip
    live, stats = crawl(tmp_path, "ggzy", "live", *args, "-s", f"TENDERWATCH_ARCHIVE_DIR={archive}")

    expected = {r["id"] for w in wrappers for r in w["response"]["data"]["records"]}
    assert len(expected) == 70
    assert sorted(i["notice_id"] for i in live) == sorted(expected)  # each id once
    assert stats["finish_reason"] == "finished"
    assert stats["tenderwatch/duplicate_list_items"] == 70  # ten repeats on each of the seven pages
    assert [int(f["PAGENUMBER"]) for f in forms] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert {(f["TIMEBEGIN"], f["TIMEEND"], f["DEAL_TIME"], f["DEAL_CLASSIFY"], f["DEAL_PROVINCE"], f["DEAL_CITY"])
            for f in forms} == {("2023-11-01", "2024-03-28", "06", "02", "340000", "340100")}  # fmt: skip
    for item in live:
        assert item["source"] == "ggzy"
        assert item["url"] == item["listing"]["url"] == item["listing"]["container_url"].replace("/html/a/", "/html/b/")
        assert item["url"].startswith(f"{site.url}/his/information/deal/html/b/340000/")
        assert item["url"].endswith(f"/{item['notice_id']}.html")
        assert "2023-11-01" <= item["listing"]["published"] <= "2024-03-28"
        assert 'id="mycontent"' in item["html"]
    page_one = [i for i in live if i["notice_id"] == "0034e46eb50de632482ca1c297017c764807"]
    assert len(page_one) == 1 and page_one[0]["listing"]["type_label"] == "招标/资审文件澄清"

    records = list(iter_responses(archive))
    assert Counter(record.method for record in records) == {"POST": 8, "GET": 70}
    # Each list answer keeps the form that asked for it, so the archive says which page it is.
    assert sorted(parse_qs(r.request_body.decode())["PAGENUMBER"][0] for r in records if r.method == "POST") == [
        str(n) for n in range(1, 9)
    ]

    replayed, replay_stats = crawl(tmp_path, "ggzy", "replay", *args, "-s", f"TENDERWATCH_REPLAY={archive}")
    assert sorted((i["notice_id"], i["html"], json.dumps(i["listing"], sort_keys=True)) for i in replayed) == sorted(
        (i["notice_id"], i["html"], json.dumps(i["listing"], sort_keys=True)) for i in live
    )
    assert replay_stats.get("replay/missing", 0) == 0


def test_crawl_window_filters_records_and_sample_caps(tmp_path, local_site):
    site = local_site(GGZY_FIXTURES)
    serve_ggzy(site, ggzy_real_wrappers())
    # A narrower window than the pages hold: the API is trusted to filter, records outside are still dropped.
    live, stats = crawl(tmp_path, "ggzy", "window", "-a", f"base_url={site.url}", "-a", "history=true",
                        "-a", "from_date=2024-03-27", "-a", "until_date=2024-03-28")  # fmt: skip
    assert len(live) == 40  # pages 1-3 (2024-03-28) and 15 (2024-03-27), ten notices each
    assert {i["listing"]["published"] for i in live} == {"2024-03-27", "2024-03-28"}
    assert stats["tenderwatch/list_items_out_of_window"] == 30

    sampled, _ = crawl(tmp_path, "ggzy", "sample", "-a", f"base_url={site.url}", "-a", "history=true",
                       "-a", "from_date=2023-11-01", "-a", "until_date=2024-03-28", "-a", "sample=3")  # fmt: skip
    assert len(sampled) == 3


def test_captcha_answer_over_http_is_a_blocked_crawl(tmp_path, local_site):
    site = local_site(GGZY_FIXTURES)
    captcha = (GGZY_FIXTURES / "code_829.json").read_bytes()
    site.post_routes.append(lambda path, body: json_answer(captcha))
    items, stats = crawl(tmp_path, "ggzy", "blocked", "-a", f"base_url={site.url}", "-a", "from_date=2024-01-01")
    assert items == []
    assert stats["finish_reason"] == "blocked"
    assert stats["tenderwatch/block_reason"] == "ggzy captcha required (code 829)"
    assert stats["tenderwatch/block_url"] == f"{site.url}/information/pubTradingInfo/getTradList"


def _record(notice_id: str, day: str, title: str) -> dict:
    return {
        "id": notice_id, "title": title, "publishTime": day, "informationTypeText": "采购公告",
        "provinceText": "安徽", "cityText": "合肥市", "businessTypeText": "政府采购",
        "url": f"/his/information/deal/html/a/340000/0201/{day.replace('-', '')}/{notice_id}.html",
    }  # fmt: skip


def serve_followed_notices(site) -> None:
    """Three notices: an ordinary /b/ page, an empty one linking to the provincial original, and a missing one whose
    /a/ container names another content page."""
    records = [
        _record("R1", "2024-03-28", "合肥市某高校智算平台GPU服务器采购项目竞争性磋商公告"),
        _record("R2", "2024-03-27", "合肥某研究院大模型训练服务器采购项目公开招标公告"),
        _record("R3", "2024-03-26", "合肥某医院服务器采购项目公开招标公告"),
    ]
    answer = {"code": 200, "message": "success", "data": {"records": records, "total": 3, "pages": 1}}
    site.post_routes.append(lambda path, body: json_answer(json.dumps(answer, ensure_ascii=False).encode()))
    html = {"Content-Type": "text/html; charset=utf-8"}
    original = f"{site.url}/original/ah/2024/R2.html"
    pages = {
        "/his/information/deal/html/b/340000/0201/20240328/R1.html": (GGZY_FIXTURES / "b_page.html").read_bytes(),
        "/his/information/deal/html/b/340000/0201/20240327/R2.html":
            (GGZY_FIXTURES / "b_page_empty.html").read_bytes().replace(b"ORIGINAL", original.encode()),
        "/original/ah/2024/R2.html": (GGZY_FIXTURES / "original.html").read_bytes(),
        "/his/information/deal/html/a/340000/0201/20240326/R3.html": (GGZY_FIXTURES / "a_page.html").read_bytes(),
        "/his/information/deal/html/b/340000/0201/20240326/R3named.html": (GGZY_FIXTURES / "b_page.html").read_bytes(),
    }  # fmt: skip
    site.routes.append(lambda path: (200, html, pages[path]) if path in pages else None)


def test_an_empty_b_page_is_read_from_its_original_and_a_missing_one_from_the_container(tmp_path, local_site):
    site = local_site(GGZY_FIXTURES)
    serve_followed_notices(site)
    archive = tmp_path / "archive"
    args = ["-a", f"base_url={site.url}", "-a", "history=true", "-a", "from_date=2024-03-01", "-a",
            "until_date=2024-03-31"]  # fmt: skip
    items, stats = crawl(tmp_path, "ggzy", "followed", *args, "-s", f"TENDERWATCH_ARCHIVE_DIR={archive}")
    by_id = {item["notice_id"]: item for item in items}
    assert sorted(by_id) == ["R1", "R2", "R3"]
    assert (stats["tenderwatch/originals_followed"], stats["tenderwatch/content_pages_from_container"]) == (1, 1)

    empty = by_id["R2"]
    assert empty["url"] == f"{site.url}/his/information/deal/html/b/340000/0201/20240327/R2.html"
    notice = normalize(empty, PORTALS)
    assert notice["parse_error"] is None
    assert (notice["project_code"], notice["buyer"], str(notice["budget_cny"])) == (
        "2024AHZB00777", "合肥某研究院", "24000000.00",
    )  # fmt: skip
    assert "8块NVIDIA H100 80GB" in notice["text"]
    page = parse_detail_page(HtmlResponse(url=empty["url"], body=empty["html"].encode(), encoding="utf-8"))
    assert page["read_from"] == page["origin_url"] == f"{site.url}/original/ah/2024/R2.html"
    assert by_id["R3"]["url"] == f"{site.url}/his/information/deal/html/b/340000/0201/20240326/R3named.html"

    # Reprocessing the archive builds the same notice from the archived original.
    with store.session(tmp_path / "reprocessed.duckdb") as con:
        reprocess_archive(con, archive, "reprocess", PORTALS)
        text = con.execute("SELECT text FROM notices WHERE source = 'ggzy' AND notice_id = 'R2'").fetchall()
    assert text == [(notice["text"],)]


def test_an_original_that_fails_leaves_the_b_page_as_a_recorded_parse_error(tmp_path, local_site):
    site = local_site(GGZY_FIXTURES)
    serve_followed_notices(site)
    site.routes.insert(0, lambda path: (404, {}, b"gone") if path.startswith("/original/") else None)
    items, stats = crawl(tmp_path, "ggzy", "failed", "-a", f"base_url={site.url}", "-a", "history=true",
                         "-a", "from_date=2024-03-27", "-a", "until_date=2024-03-27")  # fmt: skip
    assert [item["notice_id"] for item in items] == ["R2"]
    assert stats["tenderwatch/originals_failed"] == 1
    notice = normalize(items[0], PORTALS)
    assert notice["title"] == "合肥某研究院大模型训练服务器采购项目公开招标公告"
    assert notice["parse_error"].startswith("UnreadablePage")


def test_a_b_page_missing_with_no_content_page_named_is_kept_for_a_retry(tmp_path, local_site):
    site = local_site(GGZY_FIXTURES)
    serve_followed_notices(site)
    site.routes.insert(0, lambda path: (404, {}, b"gone") if "/html/a/" in path else None)
    misses = tmp_path / "misses.jsonl"
    items, stats = crawl(tmp_path, "ggzy", "missed", "-a", f"base_url={site.url}", "-a", "history=true",
                         "-a", "from_date=2024-03-26", "-a", "until_date=2024-03-26",
                         "-s", f"TENDERWATCH_MISSES_FILE={misses}")  # fmt: skip
    assert items == []
    assert stats["tenderwatch/notices_missed"] == 1
    [missed] = [json.loads(line) for line in misses.read_text(encoding="utf-8").splitlines()]
    # Kept under the /b/ address the list gave: the one a later night asks for again.
    assert (missed["notice_id"], missed["url"]) == (
        "R3", f"{site.url}/his/information/deal/html/b/340000/0201/20240326/R3.html",
    )  # fmt: skip
    assert missed["reason"] == "content page missing, container HTTP 404"
