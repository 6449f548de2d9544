"""Conventions every spider of the project keeps (kingfisher-style): checked over every spider Scrapy finds."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

import pytest
import scrapy
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from spiders.registry import PORTALS
from spiders.registry import SPIDERS as REGISTERED

SPIDERS = {
    name: SpiderLoader(get_project_settings()).load(name) for name in SpiderLoader(get_project_settings()).list()
}
# Where a portal filters by date on the server, the first request carries the window as the portal writes it.
WINDOW_IN_REQUEST = {
    "ggzy": ("TIMEBEGIN=2024-01-01", "TIMEEND=2024-01-31"),
    "jsggzy": ('"startTime":"2024-01-01 00:00:00"', '"endTime":"2024-01-31 23:59:59"'),
    "scggzy": ('"startTime":"2024-01-01 00:00:00"', '"endTime":"2024-01-31 23:59:59"'),
    "szggzy": ('"releaseTimeBegin":"2024-01-01 00:00:00"', '"releaseTimeEnd":"2024-01-31 23:59:59"'),
    "chinatelecom": ('"queryStartTime":"2024-01-01"', '"queryEndTime":"2024-01-31"'),
}
# Portals whose spider shares a platform module with other configured sites.
PLATFORM_MODULES = {"spiders.epoint", "spiders.freecms", "spiders.university"}


def start_requests(spider: scrapy.Spider) -> list[scrapy.Request]:
    async def collect():
        return [request async for request in spider.start()]

    return asyncio.run(collect())


def test_every_spider_is_registered_with_its_own_block_test():
    assert set(SPIDERS) == set(PORTALS) == set(REGISTERED)
    for name, portal in PORTALS.items():
        assert REGISTERED[name] is SPIDERS[name]
        # The registry asks the spider's own judgement, so a crawl and a reprocess agree on what a block is.
        assert portal.block_reason == SPIDERS[name].block_reason


@pytest.mark.parametrize("name", sorted(SPIDERS))
def test_start_yields_requests_for_a_fixed_window(name):
    spider_class = SPIDERS[name]
    spider = spider_class.from_crawler(get_crawler(spider_class), from_date="2024-01-01", until_date="2024-01-31")
    requests = start_requests(spider)
    assert requests and all(isinstance(r, scrapy.Request) for r in requests)
    for request in requests:
        assert urlsplit(request.url).hostname in spider.allowed_domains
        assert request.callback is not None
    for expected in WINDOW_IN_REQUEST.get(name, ()):
        assert expected in requests[0].body.decode("utf-8")


@pytest.mark.parametrize("name", sorted(SPIDERS))
def test_name_module_and_docstring(name):
    spider_class = SPIDERS[name]
    module = spider_class.__module__
    assert re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*", spider_class.name)
    assert spider_class.name == name == getattr(spider_class, "source", name)
    if module in PLATFORM_MODULES:
        assert spider_class in __import__(module, fromlist=["SPIDERS"]).SPIDERS
    else:
        assert module == f"spiders.{name}"
    first_line = (spider_class.__doc__ or "").strip().splitlines()[0]
    # The first line names the portal it crawls, by its host.
    assert any(host in first_line for host in PORTALS[name].hosts), first_line
