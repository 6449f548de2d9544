"""深圳公共资源交易中心 www.szggzy.com: Shenzhen's public-resources portal (government-procurement notices).

Both list and notice are JSON APIs: ``POST /cms/api/v1/trade/content/page`` with a JSON body (``modelId``,
``channelId``, ``siteId``, ``parentBusinessType``, ``fields`` filtering the notice type 采购公告,
``releaseTimeBegin``/``releaseTimeEnd``, 0-based ``page``, ``size``) answers ``data.content[]`` and
``data.totalElements``. A row carries ``contentId``, ``title``, ``releaseTime`` and also the project's code and name,
the buyer (``purchaseMan``), the winner (``winnerName``), the area and the notice type's name; ``GET
/cms/api/v1/trade/content/detail?contentId=N`` answers ``data`` with ``title``, ``releaseTime``, ``txt`` (the notice
body as HTML) and ``attrs`` (``jygg_fjzy`` lists attachments). The public page of a notice is
``/jygg/details.html?contentId=N``.

The item's ``html`` is a small HTML document built from the detail JSON (title, release time, the ``txt`` body,
attachment links; see ``wrap_detail``), so the normalizer reads it like any other page; the WARC archive keeps the
JSON as served, and ``notice_page`` turns an answer into the public page URL and that document for the spider and
for reprocessing alike.

Unverified: no stored answer exists. The request and the row and detail fields come from public scrapers
(2023, and two of 2025-26 that also send ``siteId``/``parentBusinessType``; ``../shared/fixtures/real/EVIDENCE.md``,
"szggzy"); the recorded answers in ``tests/fixtures/szggzy`` are written by us in those shapes. The same API
answers on ``www.szexgrp.com`` (深圳交易集团), where the 2026 clients call it: ``-a base_url=https://www.szexgrp.com``.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import datetime
from html import escape
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

import scrapy
from scrapy.http import Response

from pipelines.model import raw_notice
from pipelines.national.notice_types import classify
from spiders.base import SHANGHAI, BaseSpider
from spiders.common import api_base, by_detail_url, clean, json_answer, node_text

SOURCE = "szggzy"
LIST_PATH = "/cms/api/v1/trade/content/page"
DETAIL_PATH = "/cms/api/v1/trade/content/detail"
PAGE_PATH = "/jygg/details.html"
ATTACHMENTS_ATTR = "jygg_fjzy"


def notice_id_from_url(url: str) -> str | None:
    """``…/jygg/details.html?contentId=1808539`` (or the detail API URL) → ``1808539``."""
    values = parse_qs(urlsplit(url).query).get("contentId")
    return values[0] if values and values[0].isdigit() else None


def is_detail_url(url: str) -> bool:
    """Whether ``url`` is the detail API the spider fetches a notice from (the public page is never fetched)."""
    return urlsplit(url).path.endswith(DETAIL_PATH) and notice_id_from_url(url) is not None


def public_page_url(api_url: str) -> str:
    """``…/cms/api/v1/trade/content/detail?contentId=N`` → ``…/jygg/details.html?contentId=N``."""
    parts = urlsplit(api_url)
    return urlunsplit(parts._replace(path=parts.path.removesuffix(DETAIL_PATH) + PAGE_PATH, fragment=""))


def listing_from_item(item: dict[str, Any], base_url: str, type_label: str) -> dict[str, Any]:
    content_id = str(item.get("contentId") or "").strip()
    title = clean(item.get("title")) or ""
    # The row's own notice type name is more precise than the one asked for (a correction listed under 采购公告).
    type_label = clean(item.get("noticeTypeName")) or type_label
    return {
        "url": f"{base_url}{PAGE_PATH}?contentId={content_id}" if content_id else None,
        "api_url": f"{base_url}{DETAIL_PATH}?contentId={content_id}" if content_id else None,
        "notice_id": content_id,
        "title": title,
        "type_label": type_label,
        "notice_type": classify(title, type_label).code,
        "published": clean(item.get("releaseTime")) or "",
        "region": clean(item.get("areaName")) or "深圳市",
        "buyer": clean(item.get("purchaseMan")) or "",
        "project_code": clean(item.get("projectCode")) or "",
        "project_name": clean(item.get("projectName")) or "",
        "winner": clean(item.get("winnerName")) or "",
    }


def attachments_of(attrs: Any) -> list[dict[str, str | None]]:
    """Attachment names and URLs from the ``jygg_fjzy`` attr, whether its value is JSON text, a list or HTML."""
    found: list[dict[str, str | None]] = []
    for attr in attrs if isinstance(attrs, list) else []:
        if not isinstance(attr, dict) or attr.get("attrName") != ATTACHMENTS_ATTR:
            continue
        value = next((attr[k] for k in ("attrValue", "value", "content") if attr.get(k)), None)
        if isinstance(value, str) and value.lstrip().startswith(("[", "{")):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        if isinstance(value, dict):
            value = [value]
        if isinstance(value, list):
            for entry in value:
                if isinstance(entry, dict):
                    name = next((clean(entry[k]) for k in ("name", "fileName", "title") if clean(entry.get(k))), None)
                    url = next((clean(entry[k]) for k in ("url", "fileUrl", "path", "filePath") if entry.get(k)), None)
                    if name:
                        found.append({"name": name, "url": url})
        elif isinstance(value, str):
            for href, text in re.findall(r"<a[^>]*href=[\"']([^\"']*)[\"'][^>]*>(.*?)</a>", value, flags=re.S):
                if clean(text):
                    found.append({"name": clean(text), "url": href or None})
    return found


def wrap_detail(data: dict[str, Any]) -> str:
    """The HTML document an item carries for one detail answer: ``h1#tw-title``, ``div#tw-release-time``,
    ``div#tw-body`` (``txt`` as served) and ``ul#tw-attachments``."""
    title = escape(clean(data.get("title")) or "")
    released = escape(clean(data.get("releaseTime")) or "")
    links = "".join(
        f'<li><a href="{escape(a["url"] or "")}">{escape(a["name"] or "")}</a></li>'
        for a in attachments_of(data.get("attrs"))
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
        f"{title}</title></head><body>\n"
        f'<h1 id="tw-title">{title}</h1>\n<div id="tw-release-time">{released}</div>\n'
        f'<div id="tw-body">{data.get("txt") or ""}</div>\n<ul id="tw-attachments">{links}</ul>\n</body></html>\n'
    )


def notice_page(response: Response) -> tuple[str, str] | None:
    """(the public page URL, the wrapped HTML) of a detail answer; None when the answer holds no notice."""
    answer = json_answer(response)
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, dict):
        return None
    return public_page_url(response.url), wrap_detail(data)


class SzggzySpider(BaseSpider):
    """Crawls the szggzy.com trade-content API for 采购公告 notices and fetches each notice's detail JSON."""

    name = "szggzy"
    source = SOURCE
    base_url = "https://www.szggzy.com"
    # www only on szexgrp.com: ygcg.szexgrp.com is another portal (深圳阳光采购, city-owned companies).
    allowed_domains: ClassVar[list[str]] = ["www.szggzy.com", "szggzy.com", "www.szexgrp.com"]
    model_id: ClassVar[int] = 1378
    channel_id: ClassVar[int] = 2850  # 政府采购 (2851 is construction)
    # Sent by the 2025-26 clients; the 2023 one did without. Sending them asks what the site's own pages ask.
    site_id: ClassVar[int] = 1
    business_type: ClassVar[str] = "政府采购"
    announcement_type: ClassVar[str] = "采购公告"
    page_size: ClassVar[int] = 100

    def __init__(self, *args: Any, keywords: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # One query per keyword on the title (the API's ``title`` field); "" lists the channel.
        self.keywords = tuple(k.strip() for k in (keywords or "").split(",") if k.strip()) or ("",)

    async def start(self):
        for keyword in self.keywords:
            yield self.list_request(0, keyword)

    def search_body(self, page: int, keyword: str = "") -> dict[str, Any]:
        until = self.until_date or datetime.now(SHANGHAI).date()
        return {
            "modelId": self.model_id,
            "channelId": self.channel_id,
            "siteId": self.site_id,
            "parentBusinessType": self.business_type,
            "fields": [
                {"fieldName": "jygg_gglxmc_rank1", "fieldValue": self.announcement_type},
                {"fieldName": "jygg_gglxmc", "fieldValue": self.announcement_type},
            ],
            "title": keyword or None,
            "releaseTimeBegin": f"{self.from_date.isoformat()} 00:00:00",
            "releaseTimeEnd": f"{until.isoformat()} 23:59:59",
            "page": page,
            "size": self.page_size,
        }

    def list_request(self, page: int, keyword: str = "") -> scrapy.Request:
        body = json.dumps(self.search_body(page, keyword), ensure_ascii=False, separators=(",", ":"))
        return scrapy.Request(
            f"{self.base_url}{LIST_PATH}",
            method="POST",
            body=body.encode("utf-8"),
            headers={"Content-Type": "application/json", "Referer": f"{self.base_url}/jygg/list.html"},
            callback=self.parse,
            cb_kwargs={"page": page, "keyword": keyword},
        )

    def parse(self, response: Response, page: int = 0, keyword: str = ""):
        if self.is_blocked(response):
            return
        answer = json_answer(response)
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("content"), list):
            self.note_empty_list(response)
            return
        listings = [listing_from_item(i, self.base_url, self.announcement_type) for i in data["content"]]
        for listing in listings:
            if self.screen_listing(listing) != "fetch":
                continue
            if not self.take_notice():
                return
            yield scrapy.Request(
                listing["api_url"],
                headers={"Referer": listing["url"]},
                callback=self.parse_detail,
                cb_kwargs={"listing": listing},
            )
        if listings and (page + 1) * self.page_size < int(data.get("totalElements") or 0):
            yield self.list_request(page + 1, keyword)

    def parse_detail(self, response: Response, listing: dict[str, Any]):
        if self.is_blocked(response):
            return
        page = notice_page(response) if response.status == 200 else None
        if page is None:
            self.crawler.stats.inc_value("tenderwatch/detail_errors")
            self.note_missed(response, listing, f"HTTP {response.status}" if response.status != 200 else "no notice")
            return
        # The notice's public page is its URL for analysts; the API answer stays in the archive under its own URL.
        url, html = page
        yield raw_notice(self.source, listing["notice_id"], url, listing, response, html=html)


def read_list(response: Response) -> dict[str, dict[str, Any]]:
    """The listings of an archived list answer, by detail API URL (what the spider fetches); {} when not one."""
    answer = json_answer(response)
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("content"), list):
        return {}
    base = api_base(response.url, LIST_PATH)
    items = [item for item in data["content"] if isinstance(item, dict)]
    listings = [listing_from_item(item, base, SzggzySpider.announcement_type) for item in items]
    return by_detail_url(listings, key="api_url")


# --- detail pages ---
# The document ``wrap_detail`` builds: its parts sit in fixed ids.


def parse_detail_page(response: Response) -> dict[str, Any]:
    """``title``, ``published`` (as written), ``attachments``, ``body_html`` (``div#tw-body``) of a wrapped notice."""
    body = response.css("#tw-body")
    attachments = [
        {"name": node_text(link), "url": response.urljoin(link.attrib["href"]) if link.attrib.get("href") else None}
        for link in response.css("#tw-attachments a")
        if node_text(link)
    ]
    return {
        "title": node_text(response.css("#tw-title")),
        "published": node_text(response.css("#tw-release-time")),
        "summary": {},
        "attachments": attachments,
        "body_html": body[0].get() if body else None,
        # The element itself: the normalizer reads the body on this tree instead of parsing body_html again.
        "body": body[0].root if body else None,
    }
