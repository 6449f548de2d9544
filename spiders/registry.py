"""Every portal the project can crawl: source name → spider class, detail-page parser, hosts and notice-id finder.

``pipelines.ingest.normalize`` builds its dispatch tables from ``ALL_SOURCES``; which sources the nightly job runs is
configuration (``flows.DEFAULT_SOURCES``), not this list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scrapy.http import Response

from spiders import ccgp, epoint, ggzy, szggzy, university
from spiders.base import BaseSpider


@dataclass(frozen=True)
class Source:
    spider: type[BaseSpider]
    # response → {title, published, summary, attachments, body_html …}: the portal's chrome around the notice body.
    detail_parser: Callable[[Response], dict[str, Any]]
    # Host suffixes of the portal's pages (``parse FILE --url URL`` finds the source by host).
    hosts: tuple[str, ...]
    # A page URL → the portal's notice id; None: the URL's last path segment.
    notice_id: Callable[[str], str | None] | None = None


def _university(site: type[university.UniversitySpider]) -> Source:
    return Source(
        spider=site,
        detail_parser=university.detail_parser(site),
        hosts=tuple(site.allowed_domains),
        notice_id=lambda url: university.notice_id_from_url(url, site),
    )


ALL_SOURCES: dict[str, Source] = {
    "ccgp": Source(ccgp.CcgpSpider, ccgp.parse_detail_page, ("ccgp.gov.cn",), ccgp.notice_id_from_url),
    "ggzy": Source(ggzy.GgzySpider, ggzy.parse_detail_page, ("ggzy.gov.cn",), ggzy.notice_id_from_url),
    "jsggzy": Source(
        epoint.JsggzySpider, epoint.parse_jsggzy_detail_page, ("jsggzy.jszwfw.gov.cn",), epoint.notice_id_from_url
    ),
    "scggzy": Source(
        epoint.ScggzySpider, epoint.parse_scggzy_detail_page, ("ggzyjy.sc.gov.cn",), epoint.notice_id_from_url
    ),
    "szggzy": Source(szggzy.SzggzySpider, szggzy.parse_detail_page, ("szggzy.com",), szggzy.notice_id_from_url),
    **{site.name: _university(site) for site in university.SPIDERS},
}
