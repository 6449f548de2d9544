"""中国电信阳光采购网 (chinatelecom) on our recorded list answers, over HTTP; the layout is unverified.

A notice is its list record, wrapped into a small document under the public page's URL: no page is fetched.
"""

from __future__ import annotations

import json

import pytest
from scrapy.http import HtmlResponse, Request, TextResponse

from pipelines.ingest.normalize import normalize
from pipelines.matching.configured import load_matcher
from pipelines.matching.pending import attachments_text, items_text
from spiders.chinatelecom import (
    LIST_PATH,
    ChinatelecomSpider,
    is_detail_url,
    notice_document,
    notice_id_from_url,
    notice_page,
    parse_detail_page,
    parse_list,
    read_list,
)
from spiders.registry import PORTALS
from tests.spiders.crawling import crawl, json_answer
from tests.spiders.portal_sites import CHINATELECOM_FIXTURES, serve_chinatelecom

HOST = "https://caigou.chinatelecom.com.cn"
H100 = "20261120001"  # 8-card H100 servers, tender
SWITCH = "20261120002"  # network switches for a GPU cluster
DESK = "20261119001"  # desks and chairs for a GPU machine room's duty office
AWARD = "20261119300"  # the H100 servers' award
WINDOW = ["-a", "from_date=2026-11-18", "-a", "until_date=2026-11-20"]
CHALLENGE = b"<html><head><script>var _0x1=1;</script></head><body></body></html>"


def recorded(name: str) -> dict:
    return json.loads((CHINATELECOM_FIXTURES / name).read_bytes())


def records(*names: str) -> list[dict]:
    return [r for name in names for r in recorded(name)["data"]["pageInfo"]["list"]]


def listing_of(notice_id: str, name: str = "e2no_GPU_p1.json", type_code: str = "e2no") -> dict:
    listings, _ = parse_list(recorded(name), HOST, type_code)
    return next(x for x in listings if x["notice_id"] == notice_id)


# --- list answers -----------------------------------------------------------------------------------------------


def test_list_values():
    listings, total = parse_list(recorded("e2no_GPU_p1.json"), HOST, "e2no")
    assert (total, len(listings)) == (45, 20)
    assert listings[1] == {
        "url": f"{HOST}/DeclareDetails?id={H100}&type=1&docTypeCode=TBGG&securityViewCode=287919a1",
        "notice_id": H100,
        "title": "中国电信2026年智算中心8卡H100 GPU服务器集中采购项目招标公告",
        "type_label": "招标公告",
        "notice_type": "open_tender",
        "published": "2026-11-20 17:05:12",
        "region": "北京",
        "buyer": "",
    }


@pytest.mark.parametrize(
    ("record", "type_code", "notice_id", "page_type", "type_label"),
    [
        # ``docId`` where ``id`` is missing (one client reads it); the column's name where the record has none.
        ({"docId": "77", "docTitle": "x"}, "xi9s", "77", "6", "采购公告"),
        ({"id": 78, "docTitle": "x", "docType": "结果公告"}, "n0eves", "78", "7", "结果公告"),
        ({"id": "79", "docTitle": "x"}, "e3erht", "79", "1", ""),
    ],
)
def test_record_fields(record, type_code, notice_id, page_type, type_label):
    listings, _ = parse_list({"code": 200, "data": {"pageInfo": {"total": 1, "list": [record]}}}, HOST, type_code)
    assert (listings[0]["notice_id"], listings[0]["type_label"]) == (notice_id, type_label)
    assert f"?id={notice_id}&type={page_type}&" in listings[0]["url"]


@pytest.mark.parametrize(
    "answer",
    [
        {"code": 500, "msg": "系统异常", "data": None},
        {"code": 200, "msg": "请求成功", "data": {"pageInfo": None}},
        {"code": 200, "data": {"pageInfo": {"total": 3}}},
        ["not", "an", "answer"],
    ],
)
def test_answers_that_are_no_notice_list(answer):
    assert parse_list(answer, HOST, "e2no") is None


def test_read_list_takes_the_type_from_the_archived_body_and_reads_only_its_own_api():
    api = f"http://127.0.0.1:8080{LIST_PATH}"
    body = json.dumps({"pageNum": 1, "type": "n0eves", "title": "H100"}).encode()
    answer = TextResponse(url=api, body=(CHINATELECOM_FIXTURES / "n0eves_H100_p1.json").read_bytes(),
                          request=Request(api, method="POST", body=body))  # fmt: skip
    (url, listing), *rest = read_list(answer).items()
    assert rest == []
    assert url == f"http://127.0.0.1:8080/DeclareDetails?id={AWARD}&type=7&docTypeCode=JGGG&securityViewCode=736700a1"
    assert (listing["notice_id"], listing["type_label"]) == (AWARD, "结果公告")
    assert read_list(TextResponse(url="http://127.0.0.1:8080/search", body=answer.body)) == {}


@pytest.mark.parametrize(
    ("url", "notice_id"),
    [
        (f"{HOST}/DeclareDetails?id={H100}&type=1&docTypeCode=TBGG&securityViewCode=287919a1", H100),
        (f"{HOST}/DeclareDetails?type=1", None),
        (f"{HOST}{LIST_PATH}", None),
        (f"{HOST}/search?id=3", None),
    ],
)
def test_public_page_urls(url, notice_id):
    assert notice_id_from_url(url) == notice_id
    assert is_detail_url(url) is (notice_id is not None)


def test_a_public_page_holds_no_notice():
    # The page is a JavaScript application: were one archived, it would give no notice.
    app = HtmlResponse(url=f"{HOST}/DeclareDetails?id={H100}", body=b'<html><div id="app"></div></html>')
    assert notice_page(app) is None


# --- notice documents -------------------------------------------------------------------------------------------

# (listing, title, published, region, notice type, the matcher's tier, whether it names a restricted chip)
NOTICES = [
    (listing_of(H100), "中国电信2026年智算中心8卡H100 GPU服务器集中采购项目招标公告", "2026-11-20 17:05:12", "北京",
     "open_tender", "strong", True),
    (listing_of(AWARD, "n0eves_H100_p1.json", "n0eves"),
     "中国电信2026年智算中心8卡H100 GPU服务器集中采购项目中标结果公告", "2026-11-19 18:00:00", "北京", "award",
     "strong", True),
    # A cluster's switches and a machine room's desks carry "GPU" in their titles, and buy neither.
    (listing_of(SWITCH), "中国电信上海分公司2026年GPU集群配套400G网络交换机采购项目招标公告", "2026-11-20 11:20:00",
     "上海", "open_tender", "none", False),
    (listing_of(DESK), "中国电信江苏分公司2026年GPU机房运维值班室办公桌椅采购项目招标公告", "2026-11-19 15:40:00",
     "江苏", "open_tender", "none", False),
]  # fmt: skip


@pytest.mark.parametrize(("listing", "title", "published", "region", "kind", "tier", "restricted"), NOTICES)
def test_the_wrapped_record_normalizes_and_matches(listing, title, published, region, kind, tier, restricted):
    url, html = notice_document(listing)
    assert url == listing["url"]
    read = parse_detail_page(HtmlResponse(url=url, body=html.encode("utf-8")))
    assert (read["title"], read["published"], read["attachments"]) == (title, published, [])
    notice = normalize({"source": "chinatelecom", "notice_id": listing["notice_id"], "url": url,
                        "listing": listing, "html": html}, PORTALS)  # fmt: skip
    assert notice["parse_error"] is None
    assert (notice["title"], notice["published_at"]) == (title, published.replace(" ", "T") + "+08:00")
    assert (notice["region"], notice["notice_type"]) == (region, kind)
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


def test_the_document_escapes_the_title():
    listing = {**listing_of(H100), "title": "A<B>&C"}
    _, html = notice_document(listing)
    assert '<h1 id="tw-title">A&lt;B&gt;&amp;C</h1>' in html


# --- blocks -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (200, CHALLENGE, "HTML page instead of the notice API's JSON"),
        (412, b"", "HTTP 412 JS challenge"),
        (403, b"", "HTTP 403 Forbidden"),
        (200, b'{"code":500,"msg":"error"}', None),  # no list, but no refusal either: an empty-list verdict
    ],
)
def test_block_reasons(status, body, reason):
    response = HtmlResponse(url=f"{HOST}{LIST_PATH}", status=status, body=body)
    assert ChinatelecomSpider.block_reason(response) == reason


# --- real crawls over HTTP --------------------------------------------------------------------------------------


def test_title_search_per_type_pages_by_total_until_the_window_ends_and_replays(tmp_path, local_site):
    site = local_site(CHINATELECOM_FIXTURES)
    bodies = serve_chinatelecom(site)
    archive = tmp_path / "archive"
    args = ["-a", f"base_url={site.url}", "-a", "keywords=GPU,H100", *WINDOW]
    live, stats = crawl(tmp_path, "chinatelecom", "ct", *args, "-s", f"TENDERWATCH_ARCHIVE_DIR={archive}")
    # e2no GPU: page 2 reached 2026-11-17, so no page 3 of 45; xi9s GPU: 21 records, two pages by total.
    assert sorted((b["title"], b["type"], b["pageNum"]) for b in bodies) == [
        ("GPU", "e2no", 1), ("GPU", "e2no", 2), ("GPU", "n0eves", 1), ("GPU", "xi9s", 1), ("GPU", "xi9s", 2),
        ("H100", "e2no", 1), ("H100", "n0eves", 1), ("H100", "xi9s", 1),
    ]  # fmt: skip
    window = {(b["queryStartTime"], b["queryEndTime"], b["pageSize"]) for b in bodies}
    assert window == {("2026-11-18", "2026-11-20", 20)}
    listed = records("e2no_GPU_p1.json", "e2no_GPU_p2.json", "xi9s_GPU_p1.json", "xi9s_GPU_p2.json",
                     "n0eves_H100_p1.json")  # fmt: skip
    in_window = {r["id"] for r in listed if "2026-11-18" <= r["createDate"][:10] <= "2026-11-20"}
    assert len(in_window) == 58
    assert sorted(i["notice_id"] for i in live) == sorted(in_window)
    assert stats["tenderwatch/list_items_out_of_window"] == 4  # one too new, three older
    assert stats["tenderwatch/repeated_notices"] == 1  # the H100 tender, found by both keywords
    assert stats["tenderwatch/search_queries_without_results"] == 2
    assert "tenderwatch/empty_list_pages" not in stats
    assert stats["finish_reason"] == "finished"
    h100 = next(i for i in live if i["notice_id"] == H100)
    assert h100["url"] == f"{site.url}/DeclareDetails?id={H100}&type=1&docTypeCode=TBGG&securityViewCode=287919a1"
    # Both searches find it and either may answer first (requests run side by side): kept once, as first found.
    assert (h100["listing"]["keyword"] in {"GPU", "H100"}, h100["listing"]["region"]) == (True, "北京")
    assert '<h1 id="tw-title">中国电信2026年智算中心8卡H100 GPU服务器集中采购项目招标公告</h1>' in h100["html"]
    # Only list answers were asked: no notice page.
    assert {r.split("?")[0] for r in site.requests} == {LIST_PATH}

    replayed, replay_stats = crawl(tmp_path, "chinatelecom", "ct-replay", *args, "-s", f"TENDERWATCH_REPLAY={archive}")
    assert sorted((i["notice_id"], i["html"]) for i in replayed) == sorted((i["notice_id"], i["html"]) for i in live)
    assert replay_stats.get("replay/missing", 0) == 0


def test_sample_stops_at_the_first_notice(tmp_path, local_site):
    site = local_site(CHINATELECOM_FIXTURES)
    serve_chinatelecom(site)
    items, _ = crawl(tmp_path, "chinatelecom", "ct-sample", "-a", f"base_url={site.url}", "-a", "keywords=H100",
                     "-a", "sample=1", "-s", "CONCURRENT_REQUESTS=1", *WINDOW)  # fmt: skip
    assert len(items) == 1 and items[0]["notice_id"] in {H100, AWARD}


def test_an_error_answer_is_reported_not_taken_for_a_quiet_day(tmp_path, local_site):
    site = local_site(CHINATELECOM_FIXTURES)
    site.post_routes.append(lambda path, body: json_answer(b'{"code":500,"msg":"error","data":null}'))
    items, stats = crawl(tmp_path, "chinatelecom", "ct-error", "-a", f"base_url={site.url}", "-a", "keywords=GPU",
                         *WINDOW)  # fmt: skip
    assert items == []
    assert (stats["tenderwatch/list_pages"], stats["tenderwatch/empty_list_pages"]) == (3, 3)
    assert stats["finish_reason"] == "finished"


def test_no_results_are_counted_as_such(tmp_path, local_site):
    site = local_site(CHINATELECOM_FIXTURES)
    serve_chinatelecom(site)
    items, stats = crawl(tmp_path, "chinatelecom", "ct-empty", "-a", f"base_url={site.url}",
                         "-a", "keywords=量子计算", *WINDOW)  # fmt: skip
    assert items == []
    assert (stats["tenderwatch/list_pages"], stats["tenderwatch/search_queries_without_results"]) == (3, 3)
    assert "tenderwatch/empty_list_pages" not in stats


def test_a_challenge_page_blocks_the_crawl(tmp_path, local_site):
    site = local_site(CHINATELECOM_FIXTURES)
    site.post_routes.append(lambda path, body: (200, {"Content-Type": "text/html; charset=utf-8"}, CHALLENGE))
    items, stats = crawl(tmp_path, "chinatelecom", "ct-blocked", "-a", f"base_url={site.url}",
                         "-a", "keywords=GPU", *WINDOW)  # fmt: skip
    assert items == []
    assert stats["finish_reason"] == "blocked"
    assert stats["tenderwatch/block_reason"] == "HTML page instead of the notice API's JSON"
    assert stats["tenderwatch/block_url"] == f"{site.url}{LIST_PATH}"
