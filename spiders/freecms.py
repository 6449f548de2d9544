"""FreeCMS portals (www.plap.mil.cn, www.zycg.gov.cn): one notice-list JSON API, server-rendered notice pages.

One spider, configured per site by class attributes: ``GET /freecms/rest/v1/notice/<list method>.do`` with the
query ``siteId``, ``channel``, ``noticeType``, ``title`` (a substring of the title: the portal's keyword search),
``currPage`` (1-based) and ``pageSize``, answered ``{"code": "200", "msg", "total", "data": [{id, noticeId, title,
noticeTime | addtimeStr, pageurl | htmlpath, noticeType, regionName, openTenderCode …}]}``, newest first. Each
record's ``pageurl`` is a static notice page ``/freecms/site/<site>/<column>/info/<year>/<id>.html``.

Two modes (``-a mode=…``): ``search`` (the default) asks once per keyword (``-a keywords=GPU,H200``; default
``pipelines.matching.queries.search_terms()``) and fetches a notice found by several keywords once; ``channel``
lists the whole channel. Either way paging stops at the first page reaching past ``from_date``: the window is kept
on our side because the portal's own ``operationStartTime``/``operationEndTime`` are sent empty by every scraper we
read but one, which does not show their format. Both portals sit behind WAFs: an HTML page where JSON was expected,
or HTTP 403/412/521, is a block, never an empty list.

Configured sites, and what each fact rests on (public code read 2026-12, nothing copied; no live request made):

``plap`` 军队采购网 www.plap.mil.cn (the PLA's procurement network, where military units publish).
  Confirmed by several sources: ``selectInfoMoreChannel.do`` with ``siteId``, ``title``, ``noticeType``,
  ``currPage``, ``pageSize`` (../shared/fixtures/real/EVIDENCE.md); ``siteId=404bb030-5be9-4070-85bd-c94b1473e8de``
  and ``channel=c5bff13f-21ca-4dac-b158-cb40accd3035`` (gitchw/bidpilot ``bidpilot/sources/plap.py`` and an
  independent military-bidding scraper agree); ``regionCode`` as a further parameter (the same two); the answer's
  ``code`` "200", ``total``, ``data[]`` with ``noticeTime``, ``title``, ``pageurl``, ``noticeId``, ``regionName``,
  ``openTenderCode``, ``purchaseManner``, ``purchaseNature``, ``description`` (the same two, and a 2026 client's
  test record "from a real API response" that also has ``id`` (a UUID), ``htmlpath`` without the ``/freecms``
  prefix and six-digit ``noticeType`` codes such as ``001014``); detail pages
  ``/freecms/site/juncai/ggxx/info/<year>/<32 hex>.html`` whose name is the record's ``noticeId`` (EVIDENCE.md, and
  public notice links of 2023, 2025 and 2026). Conflicting: 2026 clients (bidpilot, the same test) ask the API and
  the pages under ``/freecms-glht/`` instead of ``/freecms/``; ``list_path`` is a class attribute for that reason.
  Guessed: the notice page's chrome. One 2026 client's sample page (reduced by its author) has ``#f_noticeTime``
  and ``div.detailContent``; the provincial FreeCMS procurement sites use ``p.info-title-especially``,
  ``span#f_noticeTime`` and ``div#noticeArea``; the reader takes either.

``zycg`` 中央政府采购网 www.zycg.gov.cn (中央国家机关政府采购中心: central ministries and their institutes).
  Confirmed by several sources: ``selectInfoMore.do`` with ``siteId=6f5243ee-d4d9-4b69-abbd-1e40576ccd7d``,
  ``channel=d0e7c5f4-b93e-4478-b7fe-61110bb47fd5``, ``noticeType=1,2,3,31,32,52,57,61`` with ``implementWay=1``
  (采购公告 of 单位委托项目), ``operationStartTime``, ``operationEndTime``, ``title``, ``currPage``, ``pageSize``
  (EVIDENCE.md gives the siteId's first group; bidpilot ``bidpilot/sources/zycg.py``, infiniflow's zycg notice
  crawler, and two independent scrapers of 2021-2022 give it whole and agree); the answer's ``code`` "200",
  ``total``, ``data[]`` with ``id``, ``title``, ``pageurl`` (site-relative), ``addtimeStr``, ``noticeType``,
  ``implementWay`` (the same); the notice page's ``h4.info-title``, ``div.info-content time`` and body
  ``div#printArea`` (two independent scrapers). Partly known: notice pages sit at ``…/info/<year>/<id>.html``
  (infiniflow's crawler says ``ggxx/info/YYYY/UUID.html``; the column and the id's form are guessed); 电子卖场
  records may point to ``mkt.zycg.gov.cn``, a JSON app this spider does not read (counted, skipped).

The recorded answers and pages in ``tests/fixtures/freecms/`` were written by us in these shapes; **neither site's
layout is verified against a stored real answer**: check the first live crawl of each before enabling it.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlencode, urljoin, urlsplit

import scrapy
from scrapy.http import Response

from pipelines.national.notice_types import classify
from spiders.base import BaseSpider
from spiders.common import api_base, by_detail_url, clean, first_datetime_text, json_answer, node_text

# Ruishu-style WAFs answer their JavaScript challenge with HTTP 412.
CHALLENGE_STATUSES: dict[int, str] = {412: "HTTP 412 JS challenge"}
# Success codes ("200" in every answer seen; one zycg client also accepts "0"); any other code is an error page
# dressed as JSON.
OK_CODES = ("200", "0")

_NOTICE_PAGE = re.compile(r"/site/[\w-]+/[\w-]+/info/\d{4}/(?P<id>[0-9A-Za-z-]{8,})\.html?$")
_ATTACHMENT = re.compile(r"(?:download|attach|\.(?:pdf|docx?|xlsx?|zip|rar|7z|wps))(?:$|[?#&])", re.IGNORECASE)


def notice_id_from_url(url: str) -> str | None:
    """``…/freecms/site/juncai/ggxx/info/2025/8a1d03a3….html`` → ``8a1d03a3…`` (the record's ``noticeId``)."""
    found = _NOTICE_PAGE.search(urlsplit(url).path)
    return found["id"] if found else None


def is_detail_url(url: str) -> bool:
    """Whether ``url`` is a notice page (``…/info/<year>/<id>.html``), not the list API or a column page."""
    return notice_id_from_url(url) is not None


def listing_from_record(record: dict[str, Any], base_url: str, site: type[FreecmsSpider]) -> dict[str, Any]:
    title = clean(record.get("title")) or clean(record.get("shorttitle")) or ""
    url = _page_url(record, base_url, site)
    return {
        "url": url,
        # The page name, so that reprocessing finds the same id from the URL alone.
        "notice_id": notice_id_from_url(url) or "",
        "record_id": clean(record.get("noticeId")) or clean(record.get("id")) or "",
        "title": title,
        "type_label": "",
        "notice_type": classify(title).code,
        "notice_type_code": clean(record.get("noticeType")) or "",
        "published": next((clean(record[f]) for f in site.list_date_fields if clean(record.get(f))), ""),
        "region": clean(record.get("regionName")) or "",
        "buyer": "",
        "project_code": clean(record.get("openTenderCode")) or "",
    }


def _page_url(record: dict[str, Any], base_url: str, site: type[FreecmsSpider]) -> str:
    """The notice page: ``pageurl`` as given (site-relative or absolute), else ``htmlpath`` under the site's prefix."""
    page = clean(record.get("pageurl")) or clean(record.get("pageUrl"))
    if page:
        return urljoin(base_url + "/", page)
    path = clean(record.get("htmlpath"))
    if path:
        return f"{base_url}{site.page_prefix}{path}" if path.startswith("/site/") else urljoin(base_url + "/", path)
    return ""


def parse_list(answer: Any, base_url: str, site: type[FreecmsSpider]) -> tuple[list[dict[str, Any]], int] | None:
    """(listings, total) of one answer, or None when the answer is not a successful notice list at all."""
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
        return None
    if str(answer.get("code")) not in OK_CODES:
        return None
    listings = [listing_from_record(r, base_url, site) for r in answer["data"] if isinstance(r, dict)]
    try:
        total = int(answer.get("total") or 0)
    except (TypeError, ValueError):
        total = 0
    return listings, total


def read_list(response: Response, site: type[FreecmsSpider]) -> dict[str, dict[str, Any]]:
    """The listings of an archived list answer of ``site``, by notice page URL; {} when it is not one."""
    if site.list_path not in response.url:
        return {}
    parsed = parse_list(json_answer(response), api_base(response.url, site.list_path), site)
    return by_detail_url([x for x in parsed[0] if x["notice_id"]]) if parsed else {}


class FreecmsSpider(BaseSpider):
    """Base of the FreeCMS-portal spiders: a subclass sets the site's class attributes and nothing else.

    Arguments besides BaseSpider's: ``mode`` (``search``, the default, or ``channel``), ``keywords`` (comma-separated
    ``title`` values for the search mode; default ``pipelines.matching.queries.search_terms()``).
    """

    base_url: ClassVar[str]
    source: ClassVar[str]
    list_path: ClassVar[str]
    site_id: ClassVar[str]
    channel: ClassVar[str]
    notice_types: ClassVar[str] = ""  # empty: every notice type of the channel
    # Further query parameters the site's own front end sends, in its order.
    extra_params: ClassVar[tuple[tuple[str, str], ...]] = ()
    # Small pages, as the FreeCMS front ends ask (scrapers of provincial FreeCMS sites send 8 or 10): a nightly window
    # ends early in the first page or two.
    page_size: ClassVar[int] = 10
    list_date_fields: ClassVar[tuple[str, ...]] = ("noticeTime", "addtimeStr")
    # Prefix of a record's ``htmlpath`` (``/site/…``) on the public host.
    page_prefix: ClassVar[str] = "/freecms"
    list_referer_path: ClassVar[str] = "/"
    modes: ClassVar[tuple[str, ...]] = ("search", "channel")
    challenge_statuses: ClassVar[dict[int, str]] = CHALLENGE_STATUSES

    def __init__(self, *args: Any, mode: str | None = None, keywords: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.mode = (mode or "search").strip()
        if self.mode not in self.modes:
            raise ValueError(f"unknown {self.name} mode {mode!r}: expected one of {', '.join(self.modes)}")
        if keywords:
            self.keywords = [k.strip() for k in keywords.split(",") if k.strip()]
        else:
            from pipelines.matching.queries import search_terms

            self.keywords = search_terms()

    async def start(self):
        for keyword in self.keywords if self.mode == "search" else [""]:
            yield self.list_request(keyword, 1)

    def list_url(self, keyword: str, page: int) -> str:
        query = [
            ("siteId", self.site_id),
            ("channel", self.channel),
            ("currPage", str(page)),
            ("pageSize", str(self.page_size)),
            ("noticeType", self.notice_types),
            *self.extra_params,
            ("title", keyword),
        ]
        return f"{self.base_url}{self.list_path}?{urlencode(query)}"

    def list_request(self, keyword: str, page: int) -> scrapy.Request:
        return scrapy.Request(
            self.list_url(keyword, page),
            headers={
                "Accept": "application/json, text/javascript, */*; q=0.01",
                "X-Requested-With": "XMLHttpRequest",
                "Referer": f"{self.base_url}{self.list_referer_path}",
            },
            callback=self.parse,
            cb_kwargs={"keyword": keyword, "page": page},
        )

    def parse(self, response: Response, keyword: str = "", page: int = 1):
        if self.is_blocked(response):
            return
        parsed = parse_list(json_answer(response), self.base_url, type(self))
        if parsed is None:
            # Not "no results": an error code or another document; the verdict must not read it as a quiet day.
            self.note_list_page(response, 0)
            self.note_empty_list(response)
            return
        listings, total = parsed
        self.note_list_page(response, len(listings))
        if not listings:
            if keyword:
                self.crawler.stats.inc_value("tenderwatch/search_queries_without_results")
            else:
                self.note_empty_list(response)
            return
        if self.list_only:
            return
        reached_older = False
        for listing in listings:
            verdict = self._screen(listing, keyword)
            reached_older = reached_older or verdict == "older"
            if verdict != "fetch":
                continue
            if not self.take_notice():
                return
            if keyword:
                listing["keyword"] = keyword
            yield scrapy.Request(listing["url"], callback=self.parse_detail, cb_kwargs={"listing": listing})
        if not reached_older and page * self.page_size < total:
            yield self.list_request(keyword, page + 1)

    def _screen(self, listing: dict[str, Any], keyword: str) -> str:
        stats = self.crawler.stats
        if listing["url"] and not listing["notice_id"]:
            # e.g. a 电子卖场 record pointing to another application: no notice page this spider can read.
            stats.inc_value("tenderwatch/list_items_elsewhere")
            return "skip"
        # A title search already names a purchase word; the prefilter would only second-guess it. A notice another
        # keyword's search scheduled is skipped by the base spider.
        return self.screen_listing(listing, prefilter=not keyword)


class PlapSpider(FreecmsSpider):
    """军队采购网 www.plap.mil.cn (FreeCMS): every notice type of the procurement channel, by title search."""

    name = "plap"
    source = "plap"
    base_url = "https://www.plap.mil.cn"
    allowed_domains: ClassVar[list[str]] = ["www.plap.mil.cn", "plap.mil.cn"]
    # EVIDENCE.md's path; 2026 clients use /freecms-glht/rest/… (see the module docstring).
    list_path = "/freecms/rest/v1/notice/selectInfoMoreChannel.do"
    json_api_path = list_path
    site_id = "404bb030-5be9-4070-85bd-c94b1473e8de"
    channel = "c5bff13f-21ca-4dac-b158-cb40accd3035"
    extra_params = (("regionCode", ""),)
    list_referer_path = "/freecms/site/juncai/cggg/index.html"


class ZycgSpider(FreecmsSpider):
    """中央政府采购网 www.zycg.gov.cn (FreeCMS): 采购公告 of 单位委托项目 (implementWay 1), by title search."""

    name = "zycg"
    source = "zycg"
    base_url = "https://www.zycg.gov.cn"
    allowed_domains: ClassVar[list[str]] = ["www.zycg.gov.cn", "zycg.gov.cn"]
    list_path = "/freecms/rest/v1/notice/selectInfoMore.do"
    json_api_path = list_path
    site_id = "6f5243ee-d4d9-4b69-abbd-1e40576ccd7d"
    channel = "d0e7c5f4-b93e-4478-b7fe-61110bb47fd5"
    notice_types = "1,2,3,31,32,52,57,61"
    # The window stays empty, as every scraper read sends it (its format is unknown); paging stops at from_date.
    extra_params = (("implementWay", "1"), ("operationStartTime", ""), ("operationEndTime", ""))
    page_size = 15  # what its front end asks (infiniflow's crawler, bidpilot)
    list_date_fields = ("addtimeStr", "noticeTime")
    list_referer_path = "/freecms/site/zygjjgzfcgzx/cggg/index.html"


SPIDERS: tuple[type[FreecmsSpider], ...] = (PlapSpider, ZycgSpider)


# --- notice pages ---
# plap (guessed, see the module docstring): title ``p.info-title-especially`` (else the page title), publish time
# in ``span#f_noticeTime`` (发布时间：…), body ``div.detailContent`` or ``div#noticeArea``.
# zycg (two scrapers): title ``h4.info-title``, ``div.info-content`` holding a ``<time>`` and the body
# ``div#printArea``. Attachments: links in the body to downloads or office files.


def parse_plap_detail_page(response: Response) -> dict[str, Any]:
    """``title``, ``published`` (as written), ``attachments``, ``body_html`` of a plap notice page."""
    body = response.css("div.detailContent, div#noticeArea")
    return {
        "title": node_text(response.css("p.info-title-especially, h1.info-title, h4.info-title"))
        or clean(response.xpath("/html/head/title/text()").get()),
        "published": first_datetime_text(node_text(response.css("#f_noticeTime"))),
        "summary": {},
        "attachments": _attachments(response, body),
        "body_html": body[0].get() if body else None,
        # The element itself: the normalizer reads the body on this tree instead of parsing body_html again.
        "body": body[0].root if body else None,
    }


def parse_zycg_detail_page(response: Response) -> dict[str, Any]:
    """``title``, ``published`` (as written), ``attachments``, ``body_html`` (``div#printArea``) of a zycg page."""
    body = response.css("div#printArea")
    return {
        "title": node_text(response.css("h4.info-title")) or clean(response.xpath("/html/head/title/text()").get()),
        "published": first_datetime_text(node_text(response.css("div.info-content time"))),
        "summary": {},
        "attachments": _attachments(response, body),
        "body_html": body[0].get() if body else None,
        # The element itself: the normalizer reads the body on this tree instead of parsing body_html again.
        "body": body[0].root if body else None,
    }


def _attachments(response: Response, body: Any) -> list[dict[str, str | None]]:
    links = []
    for link in body.css("a[href]") if body else []:
        href = link.attrib["href"].strip()
        name = node_text(link)
        if name and _ATTACHMENT.search(href) and not href.startswith("javascript"):
            links.append({"name": name, "url": response.urljoin(href)})
    return links
