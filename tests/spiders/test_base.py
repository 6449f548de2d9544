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


@pytest.fixture
def known_file(tmp_path):
    def write(content: str):
        path = tmp_path / "known.json"
        path.write_text(content, encoding="utf-8")
        return str(path)

    return write


@pytest.mark.parametrize("source", sorted(SPIDERS))
@pytest.mark.parametrize(
    ("known", "fields", "verdict", "already_stored"),
    [
        ('{"1": null}', {}, "skip", 1),
        ('{"1": null}', {"title": CANTEEN_TITLE}, "skip", 1),  # stored: not even worth the prefilter's look
        ('{"2": null}', {}, "fetch", None),
        ("{}", {}, "fetch", None),
        # A portal whose list shows when a notice changed: a new time is a new version, the same time is not.
        ('{"1": "2026-11-15 10:00"}', {"updated": "2026-11-16 09:00"}, "fetch", None),
        ('{"1": "2026-11-15 10:00"}', {"updated": "2026-11-15 10:00"}, "skip", 1),
        ('{"1": null}', {"published": "2026-11-09"}, "older", None),  # the window still ends paging
    ],
)
def test_a_stored_notice_is_not_fetched_again(source, known_file, known, fields, verdict, already_stored):
    crawl = spider(source, known=known_file(known))
    assert crawl.screen_listing(listing(**fields)) == verdict
    assert crawl.crawler.stats.get_value("tenderwatch/already_stored") == already_stored
    # Listed again by another query or column: counted once, as a repeat.
    if verdict == "skip":
        assert crawl.screen_listing(listing(**fields)) == "skip"
        assert crawl.crawler.stats.get_value("tenderwatch/already_stored") == 1
        assert crawl.crawler.stats.get_value("tenderwatch/repeated_notices") == 1


def test_a_notice_type_the_portal_rewrites_is_fetched_though_stored(known_file, monkeypatch):
    crawl = spider("ccgp", known=known_file('{"1": null, "2": null}'))
    monkeypatch.setattr(crawl, "refetch_notice_types", frozenset({"open_tender"}))
    assert crawl.screen_listing(listing(notice_type="open_tender")) == "fetch"
    assert crawl.screen_listing(listing(notice_id="2", notice_type="award")) == "skip"


@pytest.mark.parametrize(
    ("content", "message"),
    [("[1, 2]", "known must name a JSON object"), ("{not json", "Expecting property name")],
)
def test_a_bad_known_file_stops_the_spider_with_its_reason(known_file, content, message):
    with pytest.raises(ValueError, match=message):
        spider("ccgp", known=known_file(content))
