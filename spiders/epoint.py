"""Epoint (新点) public-resources portals: the ``getFullTextDataNew`` search API of Jiangsu, Sichuan and many more.

One spider, configured per site by class attributes: ``POST /inteligentsearch/rest/esinteligentsearch/
getFullTextDataNew`` with a JSON body (``pn`` a record offset, ``rn`` rows per page, ``condition`` on
``categorynum``, ``time`` a date range), answered ``{"result": {"totalcount", "records": [{title, linkurl,
infodate|webdate, categoryname, zhuanzai …}]}}``. Each record's ``linkurl`` is a server-rendered detail page whose
last path segment is the notice's GUID. ``-a keywords=A100,GPU服务器`` searches instead of listing: one query per
keyword in ``wd`` over the title and content fields (the keyword parameters public scrapers of many Epoint sites
send: Hefei, Zhejiang, Hebei), still within the category and the date window; a notice several keywords find is
fetched once. Sites sit behind Ruishu/JSL JavaScript challenges that answer HTML (or
HTTP 412) instead of JSON: that is a block, never an empty list.

Configured here: ``jsggzy`` (江苏省公共资源交易网, category 003004002 政府采购; list and detail layout verified on
the real pages in ``../shared/fixtures/real/jsggzy``) and ``scggzy`` (四川省公共资源交易网, category 002002001
政府采购采购公告). No real Sichuan page is at hand; what ``scggzy`` does rests on a public scraper's write-up of
browser captures from 2026-03-14 (``../shared/fixtures/real/EVIDENCE.md``, "scggzy"), and the recorded pages in
``tests/fixtures/scggzy`` are written by us in those shapes:

- confirmed by that capture: the request (the JSON text posted with a form content type, ``rn`` 12, the ``webdate``
  sort and window, ``fields``/``cnum``/``ssort``/``highlights`` empty, ``cl`` 10000, ``noWd``) and the condition
  ``ZHUANZAI = 四川省政府采购网`` before ``categorynum 002002001`` that the site's own front end sends; the record
  fields: ``zhuanzai`` names the exchange that published the notice (``阿坝州公共资源交易中心``, ``四川省政府采购网``),
  ``tradingsourcevalue`` is that exchange's code (``S002`` … ``S022``, often empty for 002002001); the detail
  page's ``h2#title``, ``span#date``, ``span#source``, ``#newsText`` and the original-notice link
  ``a#originurl_a[data-value]``;
- not confirmed: the 002002001 record ids beyond their shape, and whether the site still answers plain HTTP clients.

``szzfcg`` (深圳政府采购, the city's procurement centre, ``http://zfcg.szggzy.com:8081``) is where Shenzhen's
universities and labs (SUSTech, 鹏城实验室, the university's own notices) are published. A public scraper of 2025-12
(``EVIDENCE.md``, "szggzy.py") names its Epoint list pages ``/gsgg/002001/002001001/list.html``, the search API with
``cnum`` ``002``, and the detail page's ``h3`` title, ``div.source span`` and ``div.contentbox`` body. The category
condition and the date field are Epoint's usual ones, not confirmed; the recorded pages are ours. Unverified.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response

from pipelines.national.notice_types import classify
from spiders.base import SHANGHAI, BaseSpider
from spiders.common import api_base, by_detail_url, clean, first_datetime_text, json_answer, node_text

SEARCH_PATH = "/inteligentsearch/rest/esinteligentsearch/getFullTextDataNew"
# Ruishu (瑞数) answers its JS challenge with HTTP 412.
CHALLENGE_STATUSES: dict[int, str] = {412: "HTTP 412 Ruishu (瑞数) JS challenge"}

_GUID = re.compile(r"/(?P<id>[0-9A-Za-z-]{16,})\.html?$")


def notice_id_from_url(url: str) -> str | None:
    """``/jyxx/003004/003004002/20240115/3924dea6-….html`` → ``3924dea6-…`` (the portal's info GUID)."""
    found = _GUID.search(url.split("?")[0])
    return found["id"] if found else None


def is_detail_url(url: str) -> bool:
    """Whether ``url`` is a notice's detail page (its last segment a GUID), not the search API or a list page."""
    return notice_id_from_url(url) is not None


# An exchange's name ends in what kind of body it is; what is left names its area (阿坝州公共资源交易中心 → 阿坝州).
_EXCHANGE_SUFFIX = re.compile(r"(?:公共资源(?:电子)?交易(?:服务)?(?:中心|平台|网)|政府采购网)$")


def listing_from_record(record: dict[str, Any], base_url: str, site: type[EpointSpider]) -> dict[str, Any]:
    link = str(record.get("linkurl") or "")
    url = f"{base_url}{link}" if link.startswith("/") else link
    title = clean(record.get("title")) or clean(record.get("titlenew")) or ""
    type_label = clean(record.get("categoryname")) or ""
    platform = _first_field(record, site.platform_fields)
    return {
        "url": url,
        "notice_id": notice_id_from_url(url) or clean(record.get("infoid")) or "",
        "title": title,
        "type_label": type_label,
        "notice_type": classify(title, type_label).code,
        "published": _first_field(record, site.list_date_fields),
        "region": _first_field(record, site.region_fields) or _EXCHANGE_SUFFIX.sub("", platform),
        "buyer": "",
        "category": clean(record.get("categorynum")) or "",
        "platform": platform,
        "platform_code": clean(record.get("tradingsourcevalue")) or "",
    }


def _first_field(record: dict[str, Any], fields: tuple[str, ...]) -> str:
    return next((clean(record.get(field)) for field in fields if clean(record.get(field))), "")


def parse_list(answer: Any, base_url: str, site: type[EpointSpider]) -> tuple[list[dict[str, Any]], int] | None:
    """(listings, totalcount) of one answer, or None when the answer is not the search result at all."""
    result = answer.get("result") if isinstance(answer, dict) else None
    if not isinstance(result, dict) or not isinstance(result.get("records"), list):
        return None
    listings = [listing_from_record(r, base_url, site) for r in result["records"] if isinstance(r, dict)]
    return listings, int(result.get("totalcount") or 0)


def read_list(response: Response, site: type[EpointSpider]) -> dict[str, dict[str, Any]]:
    """The listings of an archived search answer of ``site``, by detail URL; {} when it is not one."""
    parsed = parse_list(json_answer(response), api_base(response.url, SEARCH_PATH), site)
    return by_detail_url(parsed[0]) if parsed else {}


class EpointSpider(BaseSpider):
    """Base of the Epoint-portal spiders: a subclass sets the site's class attributes and nothing else.

    Argument besides BaseSpider's: ``keywords`` (comma-separated; one search per keyword instead of the listing).
    """

    base_url: ClassVar[str]
    source: ClassVar[str]
    category: ClassVar[str]  # categorynum of the government-procurement notices
    rows: ClassVar[int] = 20
    sort: ClassVar[str] = '{"infodatepx":"0"}'
    date_field: ClassVar[str] = "infodatepx"  # the field the ``time`` range filters on
    list_date_fields: ClassVar[tuple[str, ...]] = ("infodate", "infodatepx", "webdate")
    # Record fields naming the notice's area and the platform that published it (their meaning differs by site).
    region_fields: ClassVar[tuple[str, ...]] = ("zhuanzai", "fieldvalue")
    platform_fields: ClassVar[tuple[str, ...]] = ("zhuanzainew",)
    # Conditions the site's own front end sends before the category's (Sichuan narrows to one publisher).
    leading_conditions: ClassVar[tuple[dict[str, Any], ...]] = ()
    extra_conditions: ClassVar[tuple[dict[str, Any], ...]] = ()
    # Body values that differ from Jiangsu's, as the site's front end sends them.
    body_overrides: ClassVar[dict[str, Any]] = {}
    # The record fields a keyword is searched in.
    keyword_fields: ClassVar[str] = "title;content"
    # Sichuan's front end posts the JSON text with a form content type; Jiangsu posts application/json.
    content_type: ClassVar[str] = "application/json;charset=UTF-8"
    list_referer_path: ClassVar[str] = "/"
    challenge_statuses: ClassVar[dict[int, str]] = CHALLENGE_STATUSES
    json_api_path: ClassVar[str | None] = SEARCH_PATH

    def __init__(self, *args: Any, keywords: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # "" is the plain listing of the category.
        self.keywords = tuple(k.strip() for k in (keywords or "").split(",") if k.strip()) or ("",)

    async def start(self):
        for keyword in self.keywords:
            yield self.list_request(0, keyword)

    def search_body(self, offset: int, keyword: str = "") -> dict[str, Any]:
        until = self.until_date or datetime.now(SHANGHAI).date()
        return {
            "token": "",
            "pn": offset,
            "rn": self.rows,
            "sdt": "",
            "edt": "",
            "wd": "",
            "inc_wd": "",
            "exc_wd": "",
            "fields": "title",
            "cnum": "001",
            "sort": self.sort,
            "ssort": "title",
            "cl": 200,
            "condition": [
                *self.leading_conditions,
                {"fieldName": "categorynum", "isLike": True, "likeType": 2, "equal": self.category},
                *self.extra_conditions,
            ],
            "time": [
                {
                    "fieldName": self.date_field,
                    "startTime": f"{self.from_date.isoformat()} 00:00:00",
                    "endTime": f"{until.isoformat()} 23:59:59",
                }
            ],
            "highlights": "title",
            "statistics": None,
            "unionCondition": None,
            "accuracy": "",
            "noParticiple": "1",
            "searchRange": None,
            **self.body_overrides,
            **(self._keyword_body(keyword) if keyword else {}),
        }

    def _keyword_body(self, keyword: str) -> dict[str, Any]:
        body: dict[str, Any] = {"wd": keyword, "fields": self.keyword_fields}
        if "noWd" in self.body_overrides:
            body["noWd"] = False  # the site's own "no keyword" flag would make it ignore wd
        return body

    def list_request(self, offset: int, keyword: str = "") -> scrapy.Request:
        body = json.dumps(self.search_body(offset, keyword), ensure_ascii=False, separators=(",", ":"))
        return scrapy.Request(
            f"{self.base_url}{SEARCH_PATH}",
            method="POST",
            body=body.encode("utf-8"),
            headers={
                "Content-Type": self.content_type,
                "Accept": "application/json, text/javascript, */*; q=0.01",
                "X-Requested-With": "XMLHttpRequest",
                "Referer": f"{self.base_url}{self.list_referer_path}",
            },
            callback=self.parse,
            cb_kwargs={"offset": offset, "keyword": keyword},
        )

    def parse(self, response: Response, offset: int = 0, keyword: str = ""):
        if self.is_blocked(response):
            return
        parsed = parse_list(json_answer(response), self.base_url, type(self))
        if parsed is None:
            self.note_empty_list(response)
            return
        listings, total = parsed
        for listing in listings:
            # A keyword's hits need not carry it in their titles (content search): no title prefilter for them.
            if self.screen_listing(listing, prefilter=not keyword) != "fetch":
                continue
            if not self.take_notice():
                return
            yield scrapy.Request(listing["url"], callback=self.parse_detail, cb_kwargs={"listing": listing})
        if listings and offset + self.rows < total:
            yield self.list_request(offset + self.rows, keyword)


class JsggzySpider(EpointSpider):
    """江苏省公共资源交易网 jsggzy.jszwfw.gov.cn (Epoint): government-procurement notices (category 003004002)."""

    name = "jsggzy"
    source = "jsggzy"
    base_url = "https://jsggzy.jszwfw.gov.cn"
    allowed_domains: ClassVar[list[str]] = ["jsggzy.jszwfw.gov.cn"]
    category = "003004002"
    list_referer_path = "/jyxx/tradeInfonew.html"


class ScggzySpider(EpointSpider):
    """四川省公共资源交易网 ggzyjy.sc.gov.cn (Epoint): government-procurement notices (category 002002001)."""

    name = "scggzy"
    source = "scggzy"
    base_url = "https://ggzyjy.sc.gov.cn"
    allowed_domains: ClassVar[list[str]] = ["ggzyjy.sc.gov.cn"]
    category = "002002001"
    rows = 12
    sort = '{"ordernum":"0","webdate":"0"}'
    date_field = "webdate"
    list_date_fields = ("webdate", "infodate")
    # zhuanzai is the publishing exchange here, not an area: the area is read off its name.
    region_fields = ()
    platform_fields = ("zhuanzai",)
    # The site's own front end sends it for this category (captured 2026-03-14): ask what a visitor is shown.
    leading_conditions = ({"fieldName": "ZHUANZAI", "equal": "四川省政府采购网"},)
    body_overrides: ClassVar[dict[str, Any]] = {
        "fields": "", "cnum": "", "ssort": "", "cl": 10000, "highlights": "", "terminal": "", "noWd": True,
    }  # fmt: skip
    content_type = "application/x-www-form-urlencoded; charset=UTF-8"
    list_referer_path = "/jyxx/transactionInfo.html"


class SzzfcgSpider(EpointSpider):
    """深圳政府采购 zfcg.szggzy.com:8081 (Epoint): the Shenzhen procurement centre's notices (category 002001001)."""

    name = "szzfcg"
    source = "szzfcg"
    # Plain HTTP on port 8081, as the evidence has it; allowed_domains takes the host alone.
    base_url = "http://zfcg.szggzy.com:8081"
    allowed_domains: ClassVar[list[str]] = ["zfcg.szggzy.com"]
    category = "002001001"
    body_overrides: ClassVar[dict[str, Any]] = {"cnum": "002"}
    list_referer_path = "/gsgg/002001/002001001/list.html"


SPIDERS: tuple[type[EpointSpider], ...] = (JsggzySpider, ScggzySpider, SzzfcgSpider)


# --- detail pages ---
# Jiangsu: ``h2.ewb-trade-h`` title, ``div.ewb-trade-info`` with 信息发布时间 and 来源, body ``div.ewb-trade-con``,
# attachments in ``#attach``. The page's ``PubDate`` meta writes the hour on a 12-hour clock (22:41 shows as 10:41),
# so the visible publish line wins. Sichuan: ``h2#title``, ``p.detailed-desc`` with ``span#date`` and
# ``span#source``, body ``#newsText`` (sometimes a whole embedded document), and the original notice's address in
# ``a#originurl_a[data-value]`` (its href is ``javascript:void(0)``).

_INFO_SOURCE = re.compile(r"来源[：:]\s*(\S+)")


def parse_jsggzy_detail_page(response: Response) -> dict[str, Any]:
    """``title``, ``published`` (as written), ``platform``, ``type_label`` (ColumnName), ``attachments``,
    ``body_html`` (``div.ewb-trade-con``) of a jsggzy detail page."""
    info = node_text(response.css("div.ewb-trade-info")) or ""
    platform = _INFO_SOURCE.search(info)
    body = response.css("div.ewb-trade-con")
    return {
        "title": node_text(response.css("h2.ewb-trade-h"))
        or clean(response.xpath("//meta[@name='ArticleTitle']/@content").get()),
        "published": first_datetime_text(info.split("来源")[0])
        or clean(response.xpath("//meta[@name='PubDate']/@content").get()),
        "platform": platform[1] if platform else None,
        "type_label": clean(response.xpath("//meta[@name='ColumnName']/@content").get()),
        "summary": {},
        "attachments": _links(response, "#attach a"),
        "body_html": body[0].get() if body else None,
        # The element itself: the normalizer reads the body on this tree instead of parsing body_html again.
        "body": body[0].root if body else None,
    }


def parse_scggzy_detail_page(response: Response) -> dict[str, Any]:
    """``title``, ``published``, ``platform``, ``origin_url``, ``attachments``, ``body_html`` (``#newsText``) of a
    Sichuan detail page."""
    heading = response.css("h2#title, #title, h2")
    body = response.css("#newsText")
    return {
        "title": node_text(heading) or clean(response.xpath("/html/head/title/text()").get()),
        "published": first_datetime_text(node_text(response.css("#date"))),
        "platform": node_text(response.css("#source")),
        "origin_url": clean(response.css("a#originurl_a::attr(data-value)").get()),
        "summary": {},
        "attachments": _links(response, "#newsText a[href*='download'], .attachment a"),
        "body_html": body[0].get() if body else None,
        # The element itself: the normalizer reads the body on this tree instead of parsing body_html again.
        "body": body[0].root if body else None,
    }


def parse_szzfcg_detail_page(response: Response) -> dict[str, Any]:
    """``title`` (``h3``), ``published`` and ``platform`` (``div.source span``), ``attachments``, ``body_html``
    (``div.contentbox``) of a Shenzhen procurement-centre page."""
    source_line = " ".join(node_text(span) or "" for span in response.css("div.source span"))
    platform = _INFO_SOURCE.search(source_line)
    body = response.css("div.contentbox")
    return {
        "title": node_text(response.css("h3")) or clean(response.xpath("/html/head/title/text()").get()),
        "published": first_datetime_text(source_line),
        "platform": platform[1] if platform else None,
        "summary": {},
        "attachments": _links(response, "div.contentbox a[href*='download'], div.contentbox a[href*='attach']"),
        "body_html": body[0].get() if body else None,
        # The element itself: the normalizer reads the body on this tree instead of parsing body_html again.
        "body": body[0].root if body else None,
    }


def _links(response: Response, selector: str) -> list[dict[str, str | None]]:
    links = []
    for link in response.css(selector):
        name = node_text(link)
        href = (link.attrib.get("href") or "").strip()
        if name and not href.startswith("javascript"):
            links.append({"name": name, "url": response.urljoin(href) if href else None})
    return links
