"""ccgp.gov.cn spider: list pages, paging, notice ids and block pages, on the real pages read in place."""

from __future__ import annotations

from datetime import date

import pytest
from scrapy.exceptions import CloseSpider
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from spiders.ccgp import CcgpSpider, list_page_url, notice_id_from_url, parse_list_page, parse_pager
from tests.conftest import real_page

LIST_URL = "https://www.ccgp.gov.cn/cggg/zygg/index.htm"


@pytest.fixture(scope="module")
def real_list() -> HtmlResponse:
    return HtmlResponse(url=LIST_URL, body=real_page("ccgp/compass_ccgp_zygg_list.html"))


def test_real_list_page_has_all_twenty_notices_with_every_field(real_list):
    listings = parse_list_page(real_list)
    assert len(listings) == 20
    for listing in listings:
        assert listing["title"] and listing["url"].startswith("https://www.ccgp.gov.cn/cggg/zygg/")
        assert listing["notice_id"].isdigit()
        assert listing["type_label"] and listing["notice_type"]
        assert date.fromisoformat(listing["published"][:10]) == date(2026, 7, 3)
        assert listing["region"] and listing["buyer"]
        assert listing["level"] == "central"
    assert len({listing["notice_id"] for listing in listings}) == 20


@pytest.mark.parametrize(
    ("position", "field", "expected"),
    [
        (0, "title", "中国科学院金属研究所球差原位透射电镜采购项目单一来源采购公告"),
        (0, "url", "https://www.ccgp.gov.cn/cggg/zygg/qtgg/202607/t20260703_26871783.htm"),
        (0, "notice_id", "26871783"),
        (0, "type_label", "其他公告"),
        (0, "notice_type", "single_source"),  # filed under 其他公告; the title says single source
        (0, "published", "2026-07-03 23:06"),
        (0, "region", "辽宁"),
        (0, "buyer", "中国科学院金属研究所"),
        (1, "notice_type", "open_tender"),
        (2, "notice_type", "correction"),
        (3, "notice_type", "competitive_consultation"),
        (6, "notice_type", "termination"),  # 其他公告 titled …废标公告
        (8, "notice_type", "prequalification"),
        (9, "notice_type", "deal"),
        (18, "notice_type", "award"),
        (18, "region", "北京"),
        (18, "buyer", "北京大学"),
    ],
)
def test_real_list_page_values(real_list, position, field, expected):
    assert parse_list_page(real_list)[position][field] == expected


def test_real_list_page_pager(real_list):
    assert parse_pager(real_list) == (25, 0)


@pytest.mark.parametrize(
    ("url", "notice_id"),
    [
        ("https://www.ccgp.gov.cn/cggg/dfgg/zbgg/202609/t20260928_27412423.htm", "27412423"),
        ("https://www.ccgp.gov.cn/cggg/zygg/qtgg/202607/t20260703_26871783.htm", "26871783"),
        ("http://127.0.0.1:8000/cggg/dfgg/cjgg/202611/t20261120_90000001.htm", "90000001"),
        ("https://www.ccgp.gov.cn/cggg/zygg/index_1.htm", None),
        ("https://www.ccgp.gov.cn/news/202606/t20260626_26825551.htm", None),
    ],
)
def test_notice_id_comes_from_the_url(url, notice_id):
    assert notice_id_from_url(url) == notice_id


@pytest.mark.parametrize(
    ("column", "page", "url"),
    [
        ("zygg", 0, "https://www.ccgp.gov.cn/cggg/zygg/index.htm"),
        ("zygg", 1, "https://www.ccgp.gov.cn/cggg/zygg/index_1.htm"),
        ("dfgg/zbgg", 3, "https://www.ccgp.gov.cn/cggg/dfgg/zbgg/index_3.htm"),
    ],
)
def test_list_page_urls(column, page, url):
    assert list_page_url("https://www.ccgp.gov.cn", column, page) == url


def _spider(**kwargs) -> CcgpSpider:
    crawler = get_crawler(CcgpSpider)
    return CcgpSpider.from_crawler(crawler, **kwargs)


def test_real_rate_limit_page_is_a_block_and_stops_the_crawl():
    spider = _spider()
    page = HtmlResponse(url=LIST_URL, body=real_page("ccgp/metalnino_ccgp_rate_limited_block_page.html"))
    assert spider.block_reason(page) == "ccgp rate-limit page (频繁访问)"
    with pytest.raises(CloseSpider) as stopped:
        list(spider.parse(page, column="zygg"))
    assert stopped.value.reason == "blocked"
    stats = spider.crawler.stats
    assert stats.get_value("tenderwatch/blocked") == 1
    assert stats.get_value("tenderwatch/block_url") == LIST_URL


def test_real_detail_and_list_pages_are_not_blocks(real_list):
    spider = _spider()
    assert spider.block_reason(real_list) is None
    detail = HtmlResponse(
        url="https://www.ccgp.gov.cn/cggg/dfgg/zbgg/202609/t20260924_1.htm",
        body=real_page("ccgp/aiting_ccgp_detail_guangdong_zbjg.html"),  # carries the /_bot_sbu/ scripts
    )
    assert spider.block_reason(detail) is None


@pytest.mark.parametrize(
    ("status", "reason"),
    [(403, "HTTP 403 Forbidden"), (429, "HTTP 429 Too Many Requests"), (521, "HTTP 521 JS cookie challenge")],
)
def test_block_statuses(status, reason):
    assert _spider().block_reason(HtmlResponse(url=LIST_URL, status=status, body=b"<html></html>")) == reason


def test_real_jsl_challenge_is_a_block():
    body = real_page("jiangsu/metalnino_js521_jsl_clearance_challenge.html")
    response = HtmlResponse(url=LIST_URL, status=200, body=body)
    assert _spider().block_reason(response) == "JSL (加速乐) JS cookie challenge"


def test_paging_stops_at_from_date(real_list):
    # Every notice on the real page is from 2026-07-03: a window starting later schedules nothing and stops.
    spider = _spider(from_date="2026-07-04")
    assert list(spider.parse(real_list, column="zygg")) == []
    spider = _spider(from_date="2026-07-03")
    requests = list(spider.parse(real_list, column="zygg"))
    assert len(requests) == 21  # 20 details plus the next list page
    assert requests[-1].url == "https://www.ccgp.gov.cn/cggg/zygg/index_1.htm"


def test_sample_limits_scheduled_notices(real_list):
    requests = list(_spider(from_date="2026-07-01", sample="3").parse(real_list, column="zygg"))
    assert [r.cb_kwargs["listing"]["notice_id"] for r in requests] == ["26871783", "26871759", "26871757"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"from_date": "2026/07/01"}, "from_date must be a date as YYYY-MM-DD"),
        ({"until_date": "yesterday"}, "until_date must be a date as YYYY-MM-DD"),
        ({"from_date": "2026-07-05", "until_date": "2026-07-01"}, "is after until_date"),
        ({"sample": "many"}, "sample must be a whole number"),
        ({"sample": "0"}, "sample must be at least 1"),
        ({"columns": "cggg"}, "unknown ccgp column"),
    ],
)
def test_argument_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _spider(**kwargs)


def test_base_url_override_is_allowed_offsite():
    spider = _spider(base_url="http://127.0.0.1:8123/")
    assert spider.base_url == "http://127.0.0.1:8123"
    assert "127.0.0.1" in spider.allowed_domains
