"""中国国际招标网 (chinabidding) on our recorded answers and pages, over HTTP; the layout is unverified."""

from __future__ import annotations

import json

import pytest
from scrapy.http import HtmlResponse, Request, TextResponse

from pipelines.ingest.normalize import normalize
from pipelines.matching.configured import load_matcher
from pipelines.matching.pending import attachments_text, items_text
from spiders.chinabidding import (
    LIST_PATH,
    ChinabiddingSpider,
    is_detail_url,
    notice_id_from_url,
    parse_detail_page,
    parse_list,
    read_list,
)
from spiders.registry import PORTALS
from tests.spiders.crawling import crawl, json_answer
from tests.spiders.portal_sites import CHINABIDDING_FIXTURES, serve_chinabidding

HOST = "https://chinabidding.mofcom.gov.cn"
PAGES = "/bidDetail/bidding/bulletin/202611"
H100 = "ff8080819f1a2b3c019f4d5e6f708192"  # 8-card H100 servers, tender
SWITCH = "ff8080819f1a2b3c019f4d5e6f7081a7"  # network switches for a GPU cluster
DESK = "ff8080819f1a2b3c019f4d5e6f7081b3"  # desks and chairs for a computing centre
AWARD = "ff8080819f1a2b3c019f4d5e6f7081d9"  # the H100 servers' award
WINDOW = ["-a", "from_date=2026-11-18", "-a", "until_date=2026-11-20"]
CHALLENGE = b"<html><head><script>var _0x1=1;</script></head><body></body></html>"


def recorded(name: str) -> dict:
    return json.loads((CHINABIDDING_FIXTURES / name).read_bytes())


# --- list answers -----------------------------------------------------------------------------------------------


def test_list_values():
    listings, last_page = parse_list(recorded("type1_GPU_p1.json"), HOST, "1")
    assert last_page == 3
    assert [x["notice_id"] for x in listings][1:] == [H100, SWITCH]
    assert listings[1] == {
        "url": f"{HOST}{PAGES}/{H100}.html",
        "notice_id": H100,
        "record_id": H100,
        "title": "某大学人工智能计算平台8卡H100 GPU服务器采购项目国际招标公告",
        "type_label": "招标公告",
        "notice_type": "open_tender",
        "published": "2026-11-20",
        "region": "北京市",
        "industry": "机电产品-计算机及网络设备",
        "capital_source": "国内资金",
        "digest": "招标项目编号：0701-264011BJ0123；GPU服务器2台",
    }


@pytest.mark.parametrize(
    ("row", "url", "published", "region"),
    [
        # publishTime first, createTime when it is missing; the country is dropped from the area however written.
        ({"filePath": f"/bidding/bulletin/202611/{H100}.html", "publishTime": "2026-11-20",
          "createTime": "2026-11-19 08:00:00", "areaName": "中国-北京市"}, f"{HOST}{PAGES}/{H100}.html",
         "2026-11-20", "北京市"),
        ({"filePath": f"bidding/bulletin/202611/{H100}.html", "createTime": "2026-11-19 08:00:00"},
         f"{HOST}{PAGES}/{H100}.html", "2026-11-19 08:00:00", ""),
        ({"fdid": "x"}, "", "", ""),
    ],
)  # fmt: skip
def test_row_fields(row, url, published, region):
    listings, _ = parse_list({"maxPageNum": 1, "rows": [{"name": "x", **row}]}, HOST, "4")
    assert (listings[0]["url"], listings[0]["published"], listings[0]["region"]) == (url, published, region)
    assert listings[0]["type_label"] == "中标结果公告"


@pytest.mark.parametrize("answer", [{"total": 0}, {"rows": None}, ["not", "an", "answer"], None])
def test_answers_that_are_no_notice_list(answer):
    assert parse_list(answer, HOST, "1") is None


def test_read_list_takes_the_type_from_the_archived_form_and_reads_only_its_own_api():
    body = b"pageNumber=1&keyWord=H100&timeType=&typeCode=4"
    api = f"http://127.0.0.1:8080{LIST_PATH}"
    answer = TextResponse(url=api, body=(CHINABIDDING_FIXTURES / "type4_H100_p1.json").read_bytes(),
                          request=Request(api, method="POST", body=body))  # fmt: skip
    listings = read_list(answer)
    assert list(listings) == [f"http://127.0.0.1:8080{PAGES}/{AWARD}.html"]
    assert (listings[f"http://127.0.0.1:8080{PAGES}/{AWARD}.html"]["type_label"]) == "中标结果公告"
    other = TextResponse(url="http://127.0.0.1:8080/other", body=answer.body)
    assert read_list(other) == {}


@pytest.mark.parametrize(
    ("url", "notice_id"),
    [
        (f"{HOST}{PAGES}/{H100}.html", H100),
        (f"{HOST}/bidding/bulletin/202611/{H100}.html", None),  # the filePath alone answers 404
        (f"{HOST}{LIST_PATH}", None),
        (f"{HOST}/channel/business/bulletinList.shtml", None),
    ],
)
def test_detail_urls(url, notice_id):
    assert notice_id_from_url(url) == notice_id
    assert is_detail_url(url) is (notice_id is not None)


# --- notice pages -----------------------------------------------------------------------------------------------

# (page, title, published, buyer, project code, budget, attachment)
NOTICES = [
    (H100, "某大学人工智能计算平台8卡H100 GPU服务器采购项目国际招标公告", "2026-11-20 09:30:00", "某大学",
     "0701-264011BJ0123", "6800000.00", "招标文件.pdf"),
    (SWITCH, "某研究院GPU集群配套高速网络交换机采购国际招标公告", "2026-11-19 14:00:00", "某研究院",
     "0702-264012SH0456", "1200000.00", "招标文件.pdf"),
    (DESK, "某大学GPU计算中心机房办公桌椅采购国际招标公告", "2026-11-18 10:00:00", "某大学",
     "0704-264014JS0012", "90000.00", "招标文件.pdf"),
]  # fmt: skip


def notice_page(page: str) -> HtmlResponse:
    return HtmlResponse(url=f"{HOST}{PAGES}/{page}.html",
                        body=(CHINABIDDING_FIXTURES / PAGES.lstrip("/") / f"{page}.html").read_bytes())  # fmt: skip


def normalized(response: HtmlResponse) -> dict:
    return normalize({"source": "chinabidding", "notice_id": notice_id_from_url(response.url), "url": response.url,
                      "listing": {}, "html": response.text}, PORTALS)  # fmt: skip


@pytest.mark.parametrize(("page", "title", "published", "buyer", "code", "budget", "file"), NOTICES)
def test_notice_page_value_by_value(page, title, published, buyer, code, budget, file):
    response = notice_page(page)
    read = parse_detail_page(response)
    assert (read["title"], read["published"]) == (title, published)
    assert read["attachments"] == [{"name": file, "url": f"{HOST}/zbwcms/download/file?fileId=9f1a2b3c"}]
    assert read["body_html"].startswith('<div class="article">')
    notice = normalized(response)
    assert notice["parse_error"] is None
    assert (notice["title"], notice["published_at"]) == (title, published.replace(" ", "T") + "+08:00")
    assert (notice["buyer"], notice["project_code"], str(notice["budget_cny"])) == (buyer, code, budget)


# (page, the matcher's tier, whether it names a restricted chip)
VERDICTS = [
    (H100, "strong", True),
    # A cluster's switches and a computing centre's desks carry "GPU" in their titles, and buy neither.
    (SWITCH, "none", False),
    (DESK, "none", False),
]


@pytest.mark.parametrize(("page", "tier", "restricted"), VERDICTS)
def test_the_matcher_after_normalize(page, tier, restricted):
    notice = normalized(notice_page(page))
    result = load_matcher().match(
        title=notice["title"],
        text=notice["text"],
        items=items_text(notice["items"]),
        attachments=attachments_text(notice["attachments"]),
        published=notice["published_at"][:10],
        notice_type=notice["notice_type"],
    )
    assert result["tier"] == tier
    assert ("ai_chip" in result["categories"]) is restricted


# --- blocks -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status", "body", "reason"),
    [
        (f"{HOST}{LIST_PATH}", 200, CHALLENGE, "HTML page instead of the notice API's JSON"),
        (f"{HOST}{LIST_PATH}", 412, b"", "HTTP 412 JS challenge"),
        (f"{HOST}{LIST_PATH}", 521, b"", "HTTP 521 JS cookie challenge"),
        (f"{HOST}{LIST_PATH}", 200, b'{"maxPageNum":0,"rows":[]}', None),
        # A notice page is HTML: only the base markers judge it.
        (f"{HOST}{PAGES}/{H100}.html", 200, CHALLENGE, None),
    ],
)
def test_block_reasons(url, status, body, reason):
    assert ChinabiddingSpider.block_reason(HtmlResponse(url=url, status=status, body=body)) == reason


# --- real crawls over HTTP --------------------------------------------------------------------------------------


def test_keyword_search_pages_per_type_until_the_window_ends_and_replays(tmp_path, local_site):
    site = local_site(CHINABIDDING_FIXTURES)
    forms = serve_chinabidding(site)
    archive = tmp_path / "archive"
    args = ["-a", f"base_url={site.url}", "-a", "keywords=GPU,H100", *WINDOW]
    live, stats = crawl(tmp_path, "chinabidding", "cb", *args, "-s", f"TENDERWATCH_ARCHIVE_DIR={archive}")
    assert sorted((f["keyWord"], f["typeCode"], f["pageNumber"]) for f in forms) == [
        ("GPU", "1", "1"), ("GPU", "1", "2"), ("GPU", "2", "1"), ("GPU", "3", "1"), ("GPU", "4", "1"),
        ("H100", "1", "1"), ("H100", "2", "1"), ("H100", "3", "1"), ("H100", "4", "1"),
    ]  # fmt: skip
    assert {f["timeType"] for f in forms} == {""}
    # Page 2 of the GPU tenders reached 2026-11-17: no page 3 although maxPageNum is 3.
    assert sorted(i["notice_id"] for i in live) == sorted([H100, SWITCH, DESK, AWARD])
    assert stats["tenderwatch/list_items_out_of_window"] == 2  # one too new, one older
    assert stats["tenderwatch/repeated_notices"] == 1  # the H100 tender, found by both keywords
    assert stats["tenderwatch/search_queries_without_results"] == 5
    assert "tenderwatch/empty_list_pages" not in stats
    assert stats["finish_reason"] == "finished"
    by_id = {i["notice_id"]: i for i in live}
    h100 = by_id[H100]
    assert h100["url"] == f"{site.url}{PAGES}/{H100}.html" == h100["listing"]["url"]
    # Both searches find it and either may answer first (requests run side by side): kept once, as first found.
    assert (h100["listing"]["keyword"] in {"GPU", "H100"}, h100["listing"]["region"]) == (True, "北京市")
    assert "8张NVIDIA H100 80GB SXM5 GPU卡" in h100["html"]
    assert (by_id[AWARD]["listing"]["type_label"], by_id[AWARD]["listing"]["keyword"]) == ("中标结果公告", "H100")

    replayed, replay_stats = crawl(tmp_path, "chinabidding", "cb-replay", *args, "-s", f"TENDERWATCH_REPLAY={archive}")
    assert sorted((i["notice_id"], i["html"]) for i in replayed) == sorted((i["notice_id"], i["html"]) for i in live)
    assert replay_stats.get("replay/missing", 0) == 0


def test_sample_stops_at_the_first_notice(tmp_path, local_site):
    site = local_site(CHINABIDDING_FIXTURES)
    serve_chinabidding(site)
    items, _ = crawl(tmp_path, "chinabidding", "cb-sample", "-a", f"base_url={site.url}", "-a", "keywords=GPU",
                     "-a", "sample=1", *WINDOW)  # fmt: skip
    assert [i["notice_id"] for i in items] == [H100]


def test_an_error_answer_is_reported_not_taken_for_a_quiet_day(tmp_path, local_site):
    site = local_site(CHINABIDDING_FIXTURES)
    site.post_routes.append(lambda path, body: json_answer(b'{"status":500,"message":"error"}'))
    items, stats = crawl(tmp_path, "chinabidding", "cb-error", "-a", f"base_url={site.url}", "-a", "keywords=GPU",
                         *WINDOW)  # fmt: skip
    assert items == []
    assert (stats["tenderwatch/list_pages"], stats["tenderwatch/empty_list_pages"]) == (4, 4)
    assert stats["finish_reason"] == "finished"


def test_no_results_are_counted_as_such(tmp_path, local_site):
    site = local_site(CHINABIDDING_FIXTURES)
    serve_chinabidding(site)
    items, stats = crawl(tmp_path, "chinabidding", "cb-empty", "-a", f"base_url={site.url}",
                         "-a", "keywords=量子计算", *WINDOW)  # fmt: skip
    assert items == []
    assert (stats["tenderwatch/list_pages"], stats["tenderwatch/search_queries_without_results"]) == (4, 4)
    assert "tenderwatch/empty_list_pages" not in stats


def test_many_searches_in_a_row_are_each_asked_once_and_answered(tmp_path, local_site):
    # 200 POSTs without retries: each must reach the server. (While the test server hung up without saying so, about
    # one in five was sent on a pooled connection it had closed, and lost.)
    site = local_site(CHINABIDDING_FIXTURES)
    forms = serve_chinabidding(site)
    keywords = [f"量子{n}" for n in range(50)]
    items, stats = crawl(tmp_path, "chinabidding", "cb-many", "-a", f"base_url={site.url}",
                         "-a", f"keywords={','.join(keywords)}", "-s", "RETRY_TIMES=0", *WINDOW)  # fmt: skip
    assert sorted((f["keyWord"], f["typeCode"]) for f in forms) == sorted(
        (k, t) for k in keywords for t in ("1", "2", "3", "4")
    )
    assert (stats["tenderwatch/list_pages"], stats["tenderwatch/search_queries_without_results"]) == (200, 200)
    assert "tenderwatch/list_pages_failed" not in stats
    assert items == []


def test_a_challenge_page_blocks_the_crawl(tmp_path, local_site):
    site = local_site(CHINABIDDING_FIXTURES)
    site.post_routes.append(lambda path, body: (200, {"Content-Type": "text/html; charset=utf-8"}, CHALLENGE))
    items, stats = crawl(tmp_path, "chinabidding", "cb-blocked", "-a", f"base_url={site.url}",
                         "-a", "keywords=GPU", *WINDOW)  # fmt: skip
    assert items == []
    assert stats["finish_reason"] == "blocked"
    assert stats["tenderwatch/block_reason"] == "HTML page instead of the notice API's JSON"
    assert stats["tenderwatch/block_url"] == f"{site.url}{LIST_PATH}"
