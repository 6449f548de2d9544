"""University spiders on our recorded pages (no real page exists; selectors unverified against the live sites)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from scrapy.http import HtmlResponse

from pipelines.ingest.normalize import normalize
from spiders.common import list_date
from spiders.registry import PORTALS
from spiders.university import ShuSpider, SzuSpider, parse_detail_page, parse_list_page
from tests.spiders.crawling import crawl
from tests.spiders.portal_sites import UNIVERSITY_FIXTURES, serve_university

# Recorded lists: 7461 (2024-02-03, after the window), 7458, 7450 on page 1; 7442, 7431 (2023, before) on page 2.
WINDOW = ["-a", "from_date=2024-01-01", "-a", "until_date=2024-01-31"]
SHU_WIDS = {"7458": "202400125007458007458", "7450": "202400118007450007450", "7442": "202400109007442007442"}

SITES = [
    # (spider, expected notice ids, list requests, the GPU notice's page)
    (SzuSpider, {"7458", "7450", "7442"}, 2, "info/1029/7458.htm"),
    (ShuSpider, set(SHU_WIDS.values()), 2, f"sy/xtgg_detail.jsp?gglx2bh=KCGG&wid={SHU_WIDS['7458']}"),
]


@pytest.mark.parametrize(("site", "ids", "list_requests", "gpu_page"), SITES, ids=[s[0].name for s in SITES])
def test_crawl_over_http_collects_the_window_and_stops_paging(tmp_path, local_site, site, ids, list_requests,
                                                              gpu_page):  # fmt: skip
    server = local_site(UNIVERSITY_FIXTURES / site.name)
    serve_university(server, site.name)
    items, stats = crawl(tmp_path, site.name, site.name, "-a", f"base_url={server.url}", *WINDOW)
    assert {i["notice_id"] for i in items} == ids
    assert stats["finish_reason"] == "finished"
    # Page 2 reaches 2023: no third list page is asked for; 7461 (February) is skipped, not fetched.
    details = [p for p in server.requests if re.search(site.notice_id_pattern, p)]
    # The GPU tender passes the attachment screen: its 招标文件 is asked for too, once.
    files = [p for p in server.requests if p.startswith("/attach/")]
    assert files == ["/attach/ZB2024-0117.pdf"]
    assert len(server.requests) - len(details) - len(files) == list_requests
    assert len(details) == 3
    for item in items:
        assert item["source"] == site.name
        assert item["listing"]["buyer"] == site.university
        assert date(2024, 1, 1) <= list_date(item["listing"]["published"]) <= date(2024, 1, 31)
    gpu = next(i for i in items if "GPU" in i["listing"]["title"])
    assert gpu["url"] == f"{server.url}/{gpu_page}"
    assert gpu["listing"]["notice_type"] == "open_tender"
    assert "A800" in gpu["html"]


@pytest.mark.parametrize(
    ("site", "file", "url", "published"),
    [
        (SzuSpider, "info/1029/7458.htm", "https://bidding.szu.edu.cn/info/1029/7458.htm", "2024-01-25 16:20"),
        (ShuSpider, f"sy/xtgg_detail.jsp@gglx2bh=KCGG&wid={SHU_WIDS['7458']}",
         f"https://bidding.shu.edu.cn/sy/xtgg_detail.jsp?gglx2bh=KCGG&wid={SHU_WIDS['7458']}", "2024-01-25 16:20:11"),
    ],
    ids=["szu", "shu"],
)  # fmt: skip
def test_detail_page_values_and_normalized_notice(site, file, url, published):
    response = HtmlResponse(url=url, body=(UNIVERSITY_FIXTURES / site.name / file).read_bytes())
    page = parse_detail_page(response, site)
    assert page["title"] == f"{site.university}人工智能学院GPU服务器采购项目公开招标公告"
    assert page["published"] == published
    assert page["attachments"] == [{"name": "招标文件.pdf", "url": response.urljoin("/attach/ZB2024-0117.pdf")}]
    notice = normalize(
        {"source": site.name, "notice_id": "7458", "url": url, "listing": {}, "html": response.text}, PORTALS
    )
    assert notice["parse_error"] is None
    assert notice["title"] == page["title"]
    assert (notice["project_code"], notice["buyer"], str(notice["budget_cny"])) == (
        "ZB2024-0117", site.university, "3865000.00",
    )  # fmt: skip
    assert notice["published_at"].startswith("2024-01-25T16:20")


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        # Keys bare or quoted, either quote; the cut showTitle gives way to the whole tipsTitle.
        ('var datanews=[{date:"2024-01-25",showTitle:"深圳大学GPU…",tipsTitle:"深圳大学GPU服务器采购",'
         'url:{asString:"../info/1029/7458.htm"}}];',
         [("7458", "深圳大学GPU服务器采购", "2024-01-25")]),
        ("""var datanews = [{"date":"2024-01-18","showTitle":"云服务租用","""
         """'url':{'asString':'../info/1029/7450.htm'}},{"date":"2024-01-09","tipsTitle":"无链接"}];""",
         [("7450", "云服务租用", "2024-01-18")]),
        ("var otherlist=[{date:'2024-01-01',url:{asString:'../info/1029/1.htm'}}];", []),
        ("var datanews=[];", []),
    ],
)  # fmt: skip
def test_szu_reads_its_notices_from_the_datanews_script(script, expected):
    page = f"<html><body><ul id='newslist'></ul><script>{script}</script></body></html>"
    response = HtmlResponse(url="https://bidding.szu.edu.cn/cggg/cgyxgk.htm", body=page.encode(), encoding="utf-8")
    listings = parse_list_page(response, SzuSpider)
    assert [(x["notice_id"], x["title"], x["published"]) for x in listings] == expected
    for listing in listings:
        assert listing["url"] == f"https://bidding.szu.edu.cn/info/1029/{listing['notice_id']}.htm"
