"""What every spider shares: the listing screen (date window, ids, title prefilter)."""

from __future__ import annotations

import pytest
from scrapy.utils.test import get_crawler

from spiders.registry import SPIDERS

GPU_TITLE = "某大学GPU服务器采购项目中标公告"
CANTEEN_TITLE = "某大学食堂餐饮服务采购项目中标公告"


def spider(name: str, **kwargs):
    spider_class = SPIDERS[name]
    return spider_class.from_crawler(
        get_crawler(spider_class), from_date="2026-11-10", until_date="2026-11-20", **kwargs
    )


def listing(**fields) -> dict:
    return {
        "notice_id": "1",
        "url": "https://example.org/1.htm",
        "title": GPU_TITLE,
        "published": "2026-11-15",
        **fields,
    }


@pytest.mark.parametrize("source", sorted(SPIDERS))
@pytest.mark.parametrize(
    ("fields", "prefilter", "verdict", "stat"),
    [
        ({}, None, "fetch", None),
        ({"published": "2026-11-09 10:00"}, None, "older", "list_items_out_of_window"),
        ({"published": "2026年11月21日"}, None, "skip", "list_items_out_of_window"),
        ({"published": ""}, None, "fetch", "list_items_without_date"),  # kept: better fetched than lost
        ({"notice_id": None}, None, "skip", "list_items_without_id"),
        ({"url": ""}, None, "skip", "list_items_without_id"),
        ({"title": CANTEEN_TITLE}, None, "fetch", None),
        ({"title": CANTEEN_TITLE}, "1", "skip", "prefilter_skipped"),
        ({}, "1", "fetch", "prefilter_passed"),
    ],
)
def test_every_spider_screens_listings_alike(source, fields, prefilter, verdict, stat):
    crawl = spider(source, prefilter=prefilter) if prefilter else spider(source)
    assert crawl.screen_listing(listing(**fields)) == verdict
    if stat:
        assert crawl.crawler.stats.get_value(f"tenderwatch/{stat}") == 1
