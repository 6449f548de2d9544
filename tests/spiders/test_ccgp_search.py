"""ccgp keyword search (search.ccgp.gov.cn/bxsearch): parsing recorded result pages, paging, ohtmlurls, blocks,
and a real search crawl over HTTP against pages written to the documented structure (STRUCTURE.md §1.4)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy.http import HtmlResponse

from spiders.ccgp import CcgpSpider, parse_ohtmlurls, parse_search_page, parse_search_pager, search_page_url
from tests.ccgp_site import Notice, SearchResult, search_page, write_site
from tests.conftest import ROOT, real_page
from tests.spiders import crawling

RECORDED = ROOT / "tests" / "data" / "ccgp_search" / "bxsearch_A100_page1.html"
SEARCH_URL = "http://search.ccgp.gov.cn/bxsearch?searchtype=2&page_index=1&kw=A100"


def response(body: bytes, url: str = SEARCH_URL) -> HtmlResponse:
    return HtmlResponse(url=url, body=body)


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (0, {
            "url": "http://www.ccgp.gov.cn/cggg/dfgg/zbgg/202609/t20260923_61000123.htm",
            "notice_id": "61000123", "title": "北辰演示大学智能计算平台 A100 GPU服务器采购项目中标公告",
            "published": "2026-09-23 12:30:10", "buyer": "北辰演示大学", "agency": "演示招标代理有限公司",
            "type_label": "中标公告", "notice_type": "award", "region": "北京",
            "category_path": "货物/设备/信息化设备/计算机设备/服务器", "column": "zbgg", "level": "local",
        }),
        (1, {
            # The <a href> is a redirect link; ohtmlurls holds the real address.
            "url": "http://www.ccgp.gov.cn/cggg/dfgg/xjgg/202609/t20260921_61000124.htm",
            "notice_id": "61000124", "published": "2026-09-21 09:05:00", "type_label": "询价公告",
            "notice_type": "inquiry", "region": "广东", "category_path": "服务/信息技术服务/云计算服务", "summary": "",
        }),
        (2, {
            "notice_id": "61000125", "published": "2026-09-18 16:45:30", "buyer": "演示交通大学",
            "agency": "演示国际招标有限公司", "type_label": "公开招标", "notice_type": "open_tender", "region": "上海",
            "level": "central", "summary": "项目概况 …",
        }),
    ],
)  # fmt: skip
def test_recorded_search_page_parses_to_listings(index, expected):
    listings = parse_search_page(response(RECORDED.read_bytes()))
    assert len(listings) == 3
    listing = listings[index]
    for key, value in expected.items():
        assert listing[key] == value, key


def test_hrefs_are_used_when_the_page_has_no_ohtmlurls():
    body = RECORDED.read_bytes().replace(b"var ohtmlurls=", b"var otherurls=")
    listings = parse_search_page(response(body))
    assert parse_ohtmlurls(response(body)) is None
    assert [item["url"] for item in listings] == [
        "http://www.ccgp.gov.cn/cggg/dfgg/zbgg/202609/t20260923_61000123.htm",
        "http://search.ccgp.gov.cn/oss/download?uuid=redirect-61000124",
        "http://www.ccgp.gov.cn/cggg/zygg/gkzb/202609/t20260918_61000125.htm",
    ]
    assert [item["notice_id"] for item in listings] == ["61000123", None, "61000125"]


@pytest.mark.parametrize(
    ("body", "pages"),
    [
        (RECORDED.read_bytes(), 3),
        (search_page([], pages=1, current=1).encode(), 1),
        (search_page([], pages=0, current=1).encode(), None),
    ],
)
def test_pager_gives_the_number_of_result_pages(body, pages):
    assert parse_search_pager(response(body)) == pages


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (search_page([], pages=1, current=1).encode(), []),  # a query without results: an empty list
        (b"<html><body><p>index</p></body></html>", None),  # no result list at all: not "no results"
    ],
)
def test_no_results_and_no_result_list_differ(body, expected):
    assert parse_search_page(response(body)) == expected


def test_search_url_carries_the_documented_parameters():
    url = search_page_url("http://search.ccgp.gov.cn", "GPU服务器", 2, date(2026, 9, 1), date(2026, 9, 30), "1", "7")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "search.ccgp.gov.cn", "/bxsearch")
    query = {key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
    assert {k: query[k] for k in ("searchtype", "page_index", "bidType", "dbselect", "kw", "timeType")} == {
        "searchtype": "1", "page_index": "2", "bidType": "7", "dbselect": "bidx", "kw": "GPU服务器", "timeType": "6",
    }  # fmt: skip
    assert (query["start_time"], query["end_time"]) == ("2026:09:01", "2026:09:30")


@pytest.mark.parametrize(
    ("page", "status", "reason"),
    [
        ("ccgp/metalnino_ccgp_rate_limited_block_page.html", 200, "ccgp rate-limit page (频繁访问)"),
        ("jiangsu/metalnino_js521_jsl_clearance_challenge.html", 521, "HTTP 521 JS cookie challenge"),
        ("jiangsu/metalnino_js521_jsl_clearance_challenge.html", 200, "JSL (加速乐) JS cookie challenge"),
    ],
)
def test_a_block_page_in_place_of_results_is_a_block(page, status, reason):
    spider = CcgpSpider(mode="search", keywords="A100")
    blocked = HtmlResponse(url=SEARCH_URL, status=status, body=real_page(page))
    assert spider.block_reason(blocked) == reason
    assert spider.block_reason(response(RECORDED.read_bytes())) is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"mode": "archive"}, "unknown ccgp mode"),
        ({"mode": "search", "searchtype": "3"}, "searchtype must be 1"),
        ({"mode": "search", "bid_type": "all"}, "bid_type must be a number"),
    ],
)
def test_bad_search_arguments_are_clear_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        CcgpSpider(**arguments)


def test_default_keywords_come_from_the_rules_and_the_curated_list():
    spider = CcgpSpider(mode="search")
    assert {"算力", "A100", "H20", "4090", "云服务", "大模型", "AWS", "L40S"} <= set(spider.keywords)
    assert spider.search_base_url == "http://search.ccgp.gov.cn"
    assert "search.ccgp.gov.cn" in spider.allowed_domains


# --- a real search crawl over HTTP ---------------------------------------------------------------------------------

NOTICES = [
    Notice("62000001", "2026-09-25 10:00", "北辰演示大学A100 GPU服务器采购项目中标公告", sub="zbgg"),
    Notice("62000002", "2026-09-20 11:00", "演示研究院A100计算卡采购询价公告"),
    Notice("62000003", "2026-09-12 09:30", "演示实验室A100算力租赁服务采购公告"),
    Notice("62000004", "2026-09-05 15:00", "演示中心云服务采购项目成交公告", column="dfgg", sub="cjgg"),
]


def _result(site_url: str, notice: Notice) -> SearchResult:
    return SearchResult(
        url=f"{site_url}/{notice.path}", title_html=notice.title, time=notice.published.replace("-", ".") + ":00",
        buyer=notice.buyer, agency="演示代理", type_label="公开招标", province=notice.region, category="货物",
    )  # fmt: skip


def _search_routes(site, answers: dict[tuple[str, str], bytes]):
    def route(path: str):
        if not path.startswith("/bxsearch?"):
            return None
        query = {k: v[0] for k, v in parse_qs(urlsplit(path).query, keep_blank_values=True).items()}
        body = answers.get((query["kw"], query["page_index"]))
        return (200, {"Content-Type": "text/html; charset=utf-8"}, body or b"<html>nothing here</html>")

    site.routes.append(route)


def crawl(tmp_path: Path, name: str, *args: str) -> tuple[list[dict], dict]:
    return crawling.crawl(tmp_path, "ccgp", name, *args)


def test_search_crawl_pages_through_results_and_fetches_each_notice_once(tmp_path, local_site):
    site = local_site(write_site(tmp_path / "site", NOTICES))
    results = {n.id: _result(site.url, n) for n in NOTICES}
    _search_routes(site, {
        ("A100", "1"): search_page([results["62000001"], results["62000002"]], pages=2, current=1).encode(),
        ("A100", "2"): search_page([results["62000003"]], pages=2, current=2).encode(),
        # Found again under another keyword: fetched once.
        ("云服务", "1"): search_page([results["62000004"], results["62000003"]], pages=1, current=1).encode(),
        ("寒武纪", "1"): search_page([], pages=1, current=1).encode(),
    })  # fmt: skip
    window = ["-a", "from_date=2026-09-01", "-a", "until_date=2026-09-30"]
    items, stats = crawl(
        tmp_path, "search", "-a", "mode=search", "-a", "keywords=A100,云服务,寒武纪", "-a", f"base_url={site.url}",
        *window,
    )  # fmt: skip

    assert sorted(item["notice_id"] for item in items) == ["62000001", "62000002", "62000003", "62000004"]
    by_id = {item["notice_id"]: item for item in items}
    assert by_id["62000004"]["listing"]["keyword"] == "云服务"
    assert by_id["62000001"]["listing"]["published"] == "2026-09-25 10:00:00"
    assert by_id["62000001"]["listing"]["agency"] == "演示代理"
    assert stats["finish_reason"] == "finished"
    assert stats["tenderwatch/repeated_notices"] == 1
    assert stats["tenderwatch/search_queries_without_results"] == 1
    assert stats["tenderwatch/list_pages"] == 4
    assert "tenderwatch/next_page_lost" not in stats
    searches = [urlsplit(path) for path in site.requests if path.startswith("/bxsearch?")]
    queries = [{k: v[0] for k, v in parse_qs(s.query, keep_blank_values=True).items()} for s in searches]
    assert sorted((q["kw"], q["page_index"]) for q in queries) == [
        ("A100", "1"), ("A100", "2"), ("云服务", "1"), ("寒武纪", "1"),
    ]  # fmt: skip
    for query in queries:
        assert (query["start_time"], query["end_time"], query["timeType"]) == ("2026:09:01", "2026:09:30", "6")
        assert (query["searchtype"], query["bidType"], query["dbselect"]) == ("2", "0", "bidx")


def test_a_rate_limit_page_in_place_of_results_stops_the_search_crawl_as_blocked(tmp_path, local_site):
    site = local_site(write_site(tmp_path / "site", NOTICES))
    block_page = real_page("ccgp/metalnino_ccgp_rate_limited_block_page.html")
    _search_routes(site, {("A100", "1"): block_page})
    items, stats = crawl(
        tmp_path, "blocked", "-a", "mode=search", "-a", "keywords=A100", "-a", f"base_url={site.url}",
        "-a", "from_date=2026-09-01", "-a", "until_date=2026-09-30",
    )  # fmt: skip
    assert items == []
    assert stats["finish_reason"] == "blocked"
    assert stats["tenderwatch/block_reason"] == "ccgp rate-limit page (频繁访问)"
    assert stats["tenderwatch/block_url"].startswith(f"{site.url}/bxsearch?")


CANTEEN = Notice("62000009", "2026-09-06 09:00", "演示中心职工食堂餐饮服务采购项目公开招标公告", column="dfgg")


@pytest.mark.parametrize(
    ("prefilter", "fetched", "skipped"),
    [
        ("1", {"62000001", "62000002", "62000003"}, 1),
        ("0", {"62000001", "62000002", "62000003", "62000009"}, None),
    ],
)
def test_title_prefilter_in_a_column_crawl_skips_detail_pages_and_counts_them(
    tmp_path, local_site, prefilter, fetched, skipped
):
    site = local_site(write_site(tmp_path / "site", [*NOTICES[:3], CANTEEN]))
    items, stats = crawl(
        tmp_path, f"prefilter{prefilter}", "-a", f"base_url={site.url}", "-a", f"prefilter={prefilter}",
        "-a", "from_date=2026-09-01", "-a", "until_date=2026-09-30",
    )  # fmt: skip
    assert {item["notice_id"] for item in items} == fetched
    assert stats.get("tenderwatch/prefilter_skipped") == skipped
    assert (f"/{CANTEEN.path}" in site.requests) is (prefilter == "0")
