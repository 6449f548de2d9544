"""Epoint (新点) public-resources portals: the ``getFullTextDataNew`` search API of Jiangsu, Sichuan and many more.

One spider, configured per site by class attributes: ``POST /inteligentsearch/rest/esinteligentsearch/
getFullTextDataNew`` with a JSON body (``pn`` a record offset, ``rn`` rows per page, ``condition`` on
``categorynum``, ``time`` a date range), answered ``{"result": {"totalcount", "records": [{title, linkurl,
infodate|webdate, categoryname, zhuanzai …}]}}``. Each record's ``linkurl`` is a server-rendered detail page whose
last path segment is the notice's GUID. Sites sit behind Ruishu/JSL JavaScript challenges that answer HTML (or
HTTP 412) instead of JSON: that is a block, never an empty list.

Configured here: ``jsggzy`` (江苏省公共资源交易网, category 003004002 政府采购; list and detail layout verified on
the real pages in ``../shared/fixtures/real/jsggzy``) and ``scggzy`` (四川省公共资源交易网, category 002002001
政府采购采购公告; body sent as a JSON string with a form content type; layout from public scrapers, unverified).
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


def listing_from_record(record: dict[str, Any], base_url: str, date_fields: tuple[str, ...]) -> dict[str, Any]:
    link = str(record.get("linkurl") or "")
    url = f"{base_url}{link}" if link.startswith("/") else link
    title = clean(record.get("title")) or clean(record.get("titlenew")) or ""
    type_label = clean(record.get("categoryname")) or ""
    published = next((clean(record.get(field)) for field in date_fields if clean(record.get(field))), "")
    return {
        "url": url,
        "notice_id": notice_id_from_url(url) or clean(record.get("infoid")) or "",
        "title": title,
        "type_label": type_label,
        "notice_type": classify(title, type_label).code,
        "published": published,
        "region": clean(record.get("zhuanzai")) or clean(record.get("fieldvalue")) or "",
        "buyer": "",
        "category": clean(record.get("categorynum")) or "",
        "platform": clean(record.get("zhuanzainew")) or clean(record.get("tradingsourcevalue")) or "",
    }


def parse_list(answer: Any, base_url: str, date_fields: tuple[str, ...]) -> tuple[list[dict[str, Any]], int] | None:
    """(listings, totalcount) of one answer, or None when the answer is not the search result at all."""
    result = answer.get("result") if isinstance(answer, dict) else None
    if not isinstance(result, dict) or not isinstance(result.get("records"), list):
        return None
    listings = [listing_from_record(r, base_url, date_fields) for r in result["records"] if isinstance(r, dict)]
    return listings, int(result.get("totalcount") or 0)


def read_list(response: Response, site: type[EpointSpider]) -> dict[str, dict[str, Any]]:
    """The listings of an archived search answer of ``site``, by detail URL; {} when it is not one."""
    parsed = parse_list(json_answer(response), api_base(response.url, SEARCH_PATH), site.list_date_fields)
    return by_detail_url(parsed[0]) if parsed else {}


class EpointSpider(BaseSpider):
    """Base of the Epoint-portal spiders: a subclass sets the site's class attributes and nothing else."""

    base_url: ClassVar[str]
    source: ClassVar[str]
    category: ClassVar[str]  # categorynum of the government-procurement notices
    rows: ClassVar[int] = 20
    sort: ClassVar[str] = '{"infodatepx":"0"}'
    date_field: ClassVar[str] = "infodatepx"  # the field the ``time`` range filters on
    list_date_fields: ClassVar[tuple[str, ...]] = ("infodate", "infodatepx", "webdate")
    extra_conditions: ClassVar[tuple[dict[str, Any], ...]] = ()
    # Sichuan's front end posts the JSON text with a form content type; Jiangsu posts application/json.
    content_type: ClassVar[str] = "application/json;charset=UTF-8"
    list_referer_path: ClassVar[str] = "/"
    handle_httpstatus_list: ClassVar[list[int]] = sorted({*BaseSpider.handle_httpstatus_list, *CHALLENGE_STATUSES})

    async def start(self):
        yield self.list_request(0)

    def search_body(self, offset: int) -> dict[str, Any]:
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
        }

    def list_request(self, offset: int) -> scrapy.Request:
        body = json.dumps(self.search_body(offset), ensure_ascii=False, separators=(",", ":"))
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
            cb_kwargs={"offset": offset},
        )

    @classmethod
    def block_reason(cls, response: Response) -> str | None:
        """Base refusals, HTTP 412, and an HTML page where the search API should have answered JSON."""
        if response.status in CHALLENGE_STATUSES:
            return CHALLENGE_STATUSES[response.status]
        reason = super().block_reason(response)
        if reason or SEARCH_PATH not in response.url or response.status != 200:
            return reason
        if json_answer(response) is None and b"<script" in response.body[:20000].lower():
            return "JS challenge page instead of the search API's JSON"
        return None

    def parse(self, response: Response, offset: int = 0):
        if self.is_blocked(response):
            return
        parsed = parse_list(json_answer(response), self.base_url, self.list_date_fields)
        if parsed is None:
            self.note_empty_list(response)
            return
        listings, total = parsed
        for listing in listings:
            if self.screen_listing(listing) != "fetch":
                continue
            if not self.take_notice():
                return
            yield scrapy.Request(listing["url"], callback=self.parse_detail, cb_kwargs={"listing": listing})
        if listings and offset + self.rows < total:
            yield self.list_request(offset + self.rows)


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
    content_type = "application/x-www-form-urlencoded; charset=UTF-8"
    list_referer_path = "/jyxx/transactionInfo.html"


SPIDERS: tuple[type[EpointSpider], ...] = (JsggzySpider, ScggzySpider)


# --- detail pages ---
# Jiangsu: ``h2.ewb-trade-h`` title, ``div.ewb-trade-info`` with 信息发布时间 and 来源, body ``div.ewb-trade-con``,
# attachments in ``#attach``. The page's ``PubDate`` meta writes the hour on a 12-hour clock (22:41 shows as 10:41),
# so the visible publish line wins. Sichuan: body ``#newsText``, original notice link ``#originurl a[data-value]``.

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
    }


def parse_scggzy_detail_page(response: Response) -> dict[str, Any]:
    """``title``, ``published``, ``origin_url``, ``attachments``, ``body_html`` (``#newsText``) of a Sichuan page."""
    heading = response.css("#title, h2.detailed-title, div.detailed h2, h2")
    time_line = node_text(response.css("#time, .detailed-time, .time")) or ""
    body = response.css("#newsText")
    origin = response.css("#originurl a::attr(data-value)").get() or response.css("#originurl a::attr(href)").get()
    return {
        "title": node_text(heading) or clean(response.xpath("/html/head/title/text()").get()),
        "published": first_datetime_text(time_line),
        "origin_url": clean(origin),
        "summary": {},
        "attachments": _links(response, "#newsText a[href*='download'], .attachment a"),
        "body_html": body[0].get() if body else None,
    }


def _links(response: Response, selector: str) -> list[dict[str, str | None]]:
    links = []
    for link in response.css(selector):
        name = node_text(link)
        href = (link.attrib.get("href") or "").strip()
        if name and not href.startswith("javascript"):
            links.append({"name": name, "url": response.urljoin(href) if href else None})
    return links
