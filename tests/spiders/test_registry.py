"""The portal registry: for every source, its hosts, its detail-URL test and its evidence say the same thing."""

from __future__ import annotations

import re

import pytest

from pipelines.ingest.portals import notice_id_for_url, source_for_url
from spiders.registry import PORTALS
from tests.conftest import shared_path
from tests.spiders.ccgp_real_pages import TIANJIN_AWARD, URLS

SHU_WID = "202400125007458007458"
# source → (a detail URL its spider fetched in a recorded or real crawl, its notice id, list URLs of the same
# portal, whether its layout is tested against real pages).
SOURCES = {
    "ccgp": (
        URLS[TIANJIN_AWARD],
        "27412423",
        ["https://www.ccgp.gov.cn/cggg/dfgg/index_1.htm",
         "http://search.ccgp.gov.cn/bxsearch?searchtype=2&page_index=1&kw=GPU"],
        True,
    ),
    "ggzy": (
        "https://www.ggzy.gov.cn/his/information/deal/html/b/340000/0201/20240328/"
        "0034abb700de16d640228077d1a72edd874b.html",
        "0034abb700de16d640228077d1a72edd874b",
        ["https://www.ggzy.gov.cn/his/information/pubTradingInfo/getTradList",
         # The /a/ frame of the same notice: listed, never fetched.
         "https://www.ggzy.gov.cn/his/information/deal/html/a/340000/0201/20240328/"
         "0034abb700de16d640228077d1a72edd874b.html"],
        False,
    ),
    "jsggzy": (
        "https://jsggzy.jszwfw.gov.cn/jyxx/003001/003001001/20260706/5951fba5-d1e5-4203-80dc-06cfbcea2d39.html",
        "5951fba5-d1e5-4203-80dc-06cfbcea2d39",
        ["https://jsggzy.jszwfw.gov.cn/inteligentsearch/rest/esinteligentsearch/getFullTextDataNew",
         "https://jsggzy.jszwfw.gov.cn/jyxx/tradeInfonew.html"],
        True,
    ),
    "scggzy": (
        "https://ggzyjy.sc.gov.cn/jyxx/002002/002002001/20240128/5a000001-7c1e-4b2a-9f30-1d2e3f4a0001.html",
        "5a000001-7c1e-4b2a-9f30-1d2e3f4a0001",
        ["https://ggzyjy.sc.gov.cn/inteligentsearch/rest/esinteligentsearch/getFullTextDataNew",
         "https://ggzyjy.sc.gov.cn/jyxx/transactionInfo.html"],
        False,
    ),
    "szzfcg": (
        "http://zfcg.szggzy.com:8081/gsgg/002001/002001001/20240130/3f2a0001-aaaa-4bbb-8ccc-000000000001.html",
        "3f2a0001-aaaa-4bbb-8ccc-000000000001",
        ["http://zfcg.szggzy.com:8081/inteligentsearch/rest/esinteligentsearch/getFullTextDataNew",
         "http://zfcg.szggzy.com:8081/gsgg/002001/002001001/list.html"],
        False,
    ),
    "szggzy": (
        "https://www.szggzy.com/cms/api/v1/trade/content/detail?contentId=2090011",
        "2090011",
        ["https://www.szggzy.com/cms/api/v1/trade/content/page",
         # The public page is the notice's URL for analysts, but the spider never fetches it.
         "https://www.szggzy.com/jygg/details.html?contentId=2090011"],
        False,
    ),
    "plap": (
        "https://www.plap.mil.cn/freecms/site/juncai/ggxx/info/2025/8a1d042b96bc2c8dfaf47f2f8d2a724f.html",
        "8a1d042b96bc2c8dfaf47f2f8d2a724f",
        ["https://www.plap.mil.cn/freecms/rest/v1/notice/selectInfoMoreChannel.do?siteId=404bb030&currPage=1",
         "https://www.plap.mil.cn/freecms/site/juncai/cggg/index.html"],
        False,
    ),
    "zycg": (
        "https://www.zycg.gov.cn/freecms/site/zygjjgzfcgzx/ggxx/info/2025/8a1d04a01fa4190126652a809ce7418b.html",
        "8a1d04a01fa4190126652a809ce7418b",
        ["https://www.zycg.gov.cn/freecms/rest/v1/notice/selectInfoMore.do?siteId=6f5243ee&currPage=1",
         "https://www.zycg.gov.cn/freecms/site/zygjjgzfcgzx/cggg/index.html",
         # A 电子卖场 record's page: another application, never fetched.
         "http://mkt.zycg.gov.cn/mall-view/information/detail?noticeId=5b7f0c3e2d"],
        False,
    ),
    "chinabidding": (
        "https://chinabidding.mofcom.gov.cn/bidDetail/bidding/bulletin/202611/ff8080819f1a2b3c019f4d5e6f708192.html",
        "ff8080819f1a2b3c019f4d5e6f708192",
        ["https://chinabidding.mofcom.gov.cn/zbwcms/front/bidding/bulletinInfoList",
         "https://chinabidding.mofcom.gov.cn/channel/business/bulletinList.shtml",
         # The list's filePath without /bidDetail: not a page (it answers 404).
         "https://chinabidding.mofcom.gov.cn/bidding/bulletin/202611/ff8080819f1a2b3c019f4d5e6f708192.html"],
        False,
    ),
    "chinatelecom": (
        # The public page, the notice's URL: a JavaScript application the spider never fetches.
        "https://caigou.chinatelecom.com.cn/DeclareDetails?id=20261120001&type=1&docTypeCode=TBGG"
        "&securityViewCode=287919a1",
        "20261120001",
        ["https://caigou.chinatelecom.com.cn/portal/base/announcementJoin/queryListNew",
         "https://caigou.chinatelecom.com.cn/search"],
        False,
    ),
    "szu": (
        "https://bidding.szu.edu.cn/info/1029/7458.htm",
        "7458",
        ["https://bidding.szu.edu.cn/cggg/cgyxgk.htm", "https://bidding.szu.edu.cn/cggg/cgyxgk/1.htm"],
        False,
    ),
    "shu": (
        f"https://bidding.shu.edu.cn/sy/xtgg_detail.jsp?gglx2bh=KCGG&wid={SHU_WID}",
        SHU_WID,
        ["https://bidding.shu.edu.cn/sy/xtgg_list.jsp?gglx2bh=KCGG_A&page=2&searchText="],
        False,
    ),
}  # fmt: skip


def test_the_table_covers_every_registered_source():
    assert set(SOURCES) == set(PORTALS)


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_hosts_map_back_to_the_source(source):
    portal = PORTALS[source]
    assert portal.hosts
    for host in portal.hosts:
        assert source_for_url(f"https://{host}/any/page.htm", PORTALS) == source
        assert source_for_url(f"http://www.{host}/", PORTALS) == source
    assert source_for_url(SOURCES[source][0], PORTALS) == source


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_the_detail_url_test_takes_the_detail_page_and_no_list(source):
    detail, notice_id, lists, _ = SOURCES[source]
    portal = PORTALS[source]
    assert portal.is_detail_url(detail)
    assert notice_id_for_url(detail, source, PORTALS) == portal.notice_id(detail) == notice_id
    for url in lists:
        assert not portal.is_detail_url(url), url


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_verified_only_where_the_evidence_names_real_pages(source):
    portal = PORTALS[source]
    assert portal.verified is SOURCES[source][3]
    assert portal.evidence and "\n" not in portal.evidence
    assert ("unverified" in portal.evidence) is not portal.verified
    real = re.findall(r"\.\./shared/(fixtures/real/[\w./-]+\w)", portal.evidence)
    if portal.verified:
        assert real, portal.evidence
    for folder in real:
        assert any(shared_path(folder).iterdir()), folder


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("https://www.ccgp.gov.cn/cggg/zygg/", "ccgp"),
        ("http://ccgp.gov.cn/x", "ccgp"),
        # Another portal whose host merely contains a known name is not that portal.
        ("https://www.ccgp-beijing.gov.cn/x", "www.ccgp-beijing.gov.cn"),
        ("https://notggzy.gov.cn/x", "notggzy.gov.cn"),
        # The Shenzhen API also answers on www.szexgrp.com; its sister site ygcg (city-owned companies) is another.
        ("https://www.szexgrp.com/cms/api/v1/trade/content/detail?contentId=1", "szggzy"),
        ("https://ygcg.szexgrp.com/jyxxDetails.htm?contentId=1", "ygcg.szexgrp.com"),
        ("", None),
    ],
)
def test_unknown_hosts_are_their_own_source(url, source):
    assert source_for_url(url, PORTALS) == source


def test_an_unknown_portal_takes_the_last_path_segment_as_notice_id():
    assert notice_id_for_url("https://bidding.example.edu.cn/info/1024/5678.htm", "example", PORTALS) == "5678"
    assert notice_id_for_url("https://www.ccgp.gov.cn/cggg/zygg/odd/page.htm", "ccgp", PORTALS) == "page"
