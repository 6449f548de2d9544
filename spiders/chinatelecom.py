"""中国电信阳光采购网 caigou.chinatelecom.com.cn: China Telecom's procurement notices (the carriers buy AI servers).

The list is a JSON API: ``POST /portal/base/announcementJoin/queryListNew`` with a JSON body (``pageNum`` 1-based,
``pageSize``, ``type`` a notice-type code such as ``e2no`` 招标公告, ``xi9s`` 采购公告, ``n0eves`` 结果公告,
``title`` a title keyword, ``provinceCode``, ``noticeSummary``, ``queryStartTime``/``queryEndTime`` as YYYY-MM-DD)
answered ``{code: 200, msg, data: {pageInfo: {total, list, pageNum, pageSize, hasNextPage}}}``; ``hasNextPage`` is
always false, so paging goes by ``total``. A record carries ``id`` (``docId`` in one client), ``docTitle``,
``createDate`` (``YYYY-MM-DD HH:MM:SS``), ``docType``, ``docTypeCode``, ``provinceName``, ``securityViewCode``,
``idEncryStr`` and ``encryCode``. The public page of a notice, ``/DeclareDetails?id=&type=&docTypeCode=
&securityViewCode=``, is a JavaScript application that holds no notice text.

The notice is the list record alone. Three clients name three different detail APIs (``announcementJoin/queryDetail``
named in one adapter's docstring but never called; ``announcementJoin/detail?id=&idEncryStr=&encryCode=`` marked
abandoned by the same adapter; ``POST /portal/base/tenderannouncement/view {type, id, securityViewCode}`` answering
``data.context`` in one other), none seconded: the spider fetches none. It wraps each record's fields into a small
HTML document (``notice_document``: title, date, type, province) under the public page's URL, so an analyst opens
the real notice and the matcher reads the title. The archive keeps the list answers; the registry's
``notice_from_listing`` rebuilds the same notices from them when reprocessing.

The spider asks once per keyword (``-a keywords=GPU,H100``; default ``pipelines.matching.queries.search_terms()``)
and type code, sends the window as ``queryStartTime``/``queryEndTime`` and keeps it on our side too (one client
sends it; paging stops at the first record older than ``from_date``), and reports a notice several queries find
once. An HTML page where JSON was expected, or HTTP 403/412/521, is a block; an answer whose ``code`` is not 200 is
no list, never a quiet day.

Unverified: no stored answer exists; ``tests/fixtures/chinatelecom`` is written by us. What each fact rests on
(public code read 2026-12, nothing copied; no live request made):
  Confirmed by several sources: the list path and body (``pageNum``, ``pageSize``, ``type``, ``title``,
  ``provinceCode``, ``noticeSummary``; ../shared/fixtures/real/EVIDENCE.md and four clients); ``e2no``, ``xi9s`` and
  ``n0eves`` and their meanings (three clients); ``data.pageInfo.list`` and ``total``, ``code`` 200, ``hasNextPage``
  always false (a 2026 technical note and two clients); ``docTitle``, ``createDate``, ``docType``, ``provinceName``,
  ``docTypeCode``, ``securityViewCode`` (three clients); the public page's parameters (EVIDENCE.md, two clients).
  Single sources: ``queryStartTime``/``queryEndTime`` (one client, 2025); ``idEncryStr``, ``encryCode``; the public
  page's ``type`` numbers per code (``e2no`` 1, ``xi9s`` 6, ``n0eves`` 7; one client, another sends 1 for all).
  Conflicting: the keyword field, ``title`` in three clients, ``name`` in the technical note; we send ``title``.
  Left out: the note says a first GET of the home page sets a session cookie; the other clients post directly.
"""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import scrapy
from scrapy.http import Response

from pipelines.model import raw_notice
from pipelines.national.notice_types import classify
from spiders.base import SHANGHAI, BaseSpider
from spiders.common import api_base, by_detail_url, clean, json_answer, node_text

SOURCE = "chinatelecom"
LIST_PATH = "/portal/base/announcementJoin/queryListNew"
PAGE_PATH = "/DeclareDetails"
# type code → (its name, the public page's ``type`` number).
TYPES: dict[str, tuple[str, str]] = {"e2no": ("招标公告", "1"), "xi9s": ("采购公告", "6"), "n0eves": ("结果公告", "7")}
CHALLENGE_STATUSES: dict[int, str] = {412: "HTTP 412 JS challenge"}


def notice_id_from_url(url: str) -> str | None:
    """``…/DeclareDetails?id=9876543&type=1&…`` → ``9876543``."""
    parts = urlsplit(url)
    values = parse_qs(parts.query).get("id")
    return values[0] if parts.path.endswith(PAGE_PATH) and values and values[0].strip() else None


def is_detail_url(url: str) -> bool:
    """Whether ``url`` is a notice's public page (the notice's URL; the spider never fetches it)."""
    return notice_id_from_url(url) is not None


def notice_page(response: Response) -> tuple[str, str] | None:
    """None: the public page is a JavaScript application; a notice comes from its list record (``notice_document``)."""
    return None


def listing_from_record(record: dict[str, Any], base_url: str, type_code: str) -> dict[str, Any]:
    notice_id = str(record.get("id") or record.get("docId") or "").strip()
    title = clean(record.get("docTitle")) or ""
    type_name, page_type = TYPES.get(type_code, ("", "1"))
    # The record's own type name is more precise than the column asked for.
    type_label = clean(record.get("docType")) or type_name
    query = urlencode({
        "id": notice_id,
        "type": page_type,
        "docTypeCode": clean(record.get("docTypeCode")) or "",
        "securityViewCode": clean(record.get("securityViewCode")) or "",
    })  # fmt: skip
    return {
        "url": f"{base_url}{PAGE_PATH}?{query}" if notice_id else "",
        "notice_id": notice_id,
        "title": title,
        "type_label": type_label,
        "notice_type": classify(title, type_label).code,
        "published": clean(record.get("createDate")) or "",
        "region": clean(record.get("provinceName")) or "",
        "buyer": "",
    }


def parse_list(answer: Any, base_url: str, type_code: str) -> tuple[list[dict[str, Any]], int] | None:
    """(listings, total) of a list answer; None when the answer is not a notice list (an error code, no pageInfo)."""
    if not isinstance(answer, dict) or str(answer.get("code")) != "200":
        return None
    data = answer.get("data")
    page_info = data.get("pageInfo") if isinstance(data, dict) else None
    if not isinstance(page_info, dict) or not isinstance(page_info.get("list"), list):
        return None
    try:
        total = int(page_info.get("total") or 0)
    except (TypeError, ValueError):
        total = 0
    records = [r for r in page_info["list"] if isinstance(r, dict)]
    return [listing_from_record(r, base_url, type_code) for r in records], total


def notice_document(listing: dict[str, Any]) -> tuple[str, str]:
    """(the public page URL, the HTML document) of one listing: ``h1#tw-title``, ``div#tw-release-time`` and
    ``div#tw-body`` holding the record's type and province as ``label：value`` lines."""
    title = escape(listing["title"])
    lines = [("公告类型", listing["type_label"]), ("省份", listing["region"]), ("发布时间", listing["published"])]
    body = "".join(f"<p>{label}：{escape(value)}</p>" for label, value in lines if value)
    html = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
        f"{title}</title></head><body>\n"
        f'<h1 id="tw-title">{title}</h1>\n<div id="tw-release-time">{escape(listing["published"])}</div>\n'
        f'<div id="tw-body"><p>{title}</p>{body}</div>\n</body></html>\n'
    )
    return listing["url"], html


class ChinatelecomSpider(BaseSpider):
    """中国电信阳光采购网 caigou.chinatelecom.com.cn: title searches per notice type; each record is the notice."""

    name = "chinatelecom"
    source = SOURCE
    base_url = "https://caigou.chinatelecom.com.cn"
    allowed_domains: ClassVar[list[str]] = ["caigou.chinatelecom.com.cn"]
    challenge_statuses: ClassVar[dict[int, str]] = CHALLENGE_STATUSES
    json_api_path: ClassVar[str | None] = LIST_PATH
    type_codes: ClassVar[tuple[str, ...]] = tuple(TYPES)
    # The site's own front end asks 10 or 20; more per page would only be a guess at the server's limit.
    page_size: ClassVar[int] = 20

    def __init__(self, *args: Any, keywords: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if keywords:
            self.keywords = [k.strip() for k in keywords.split(",") if k.strip()]
        else:
            from pipelines.matching.queries import search_terms

            self.keywords = search_terms()

    async def start(self):
        for keyword in self.keywords:
            for type_code in self.type_codes:
                yield self.list_request(keyword, type_code, 1)

    def list_body(self, keyword: str, type_code: str, page: int) -> dict[str, Any]:
        until = self.until_date or datetime.now(SHANGHAI).date()
        return {
            "pageNum": page,
            "pageSize": self.page_size,
            "type": type_code,
            "title": keyword,
            "provinceCode": "",
            "noticeSummary": "",
            "queryStartTime": self.from_date.isoformat(),
            "queryEndTime": until.isoformat(),
        }

    def list_request(self, keyword: str, type_code: str, page: int) -> scrapy.Request:
        body = json.dumps(self.list_body(keyword, type_code, page), ensure_ascii=False, separators=(",", ":"))
        return scrapy.Request(
            f"{self.base_url}{LIST_PATH}",
            method="POST",
            body=body.encode("utf-8"),
            headers={
                "Content-Type": "application/json;charset=UTF-8",
                "Accept": "application/json, text/plain, */*",
                "Origin": self.base_url,
                "Referer": f"{self.base_url}/search",
            },
            callback=self.parse,
            cb_kwargs={"keyword": keyword, "type_code": type_code, "page": page},
        )

    def take_listing(self, response: Response, listing: dict[str, Any]):
        """The notice is its list record: no detail page is fetched (module docstring)."""
        url, html = notice_document(listing)
        return raw_notice(self.source, listing["notice_id"], url, listing, response, html=html)

    def parse(self, response: Response, keyword: str = "", type_code: str = "e2no", page: int = 1):
        if self.is_blocked(response):
            return
        parsed = parse_list(json_answer(response), self.base_url, type_code)
        listings, total = parsed if parsed is not None else (None, 0)
        if not self.note_search_page(response, listings):
            return
        stop = yield from self.follow_listings(response, listings, keyword)
        if not stop and page * self.page_size < total:
            yield self.list_request(keyword, type_code, page + 1)


def read_list(response: Response) -> dict[str, dict[str, Any]]:
    """The listings of an archived list answer, by public page URL; {} when it is not one (the type from the body)."""
    if LIST_PATH not in response.url:
        return {}
    try:
        type_code = json.loads(response.request.body or b"{}").get("type", "")
    except (AttributeError, ValueError):
        type_code = ""
    parsed = parse_list(json_answer(response), api_base(response.url, LIST_PATH), type_code)
    return by_detail_url(parsed[0]) if parsed else {}


# --- notice documents ---
# The document ``notice_document`` builds: its parts sit in fixed ids.


def parse_detail_page(response: Response) -> dict[str, Any]:
    """``title``, ``published`` (as written), ``attachments`` (none), ``body_html`` (``div#tw-body``)."""
    body = response.css("#tw-body")
    return {
        "title": node_text(response.css("#tw-title")),
        "published": node_text(response.css("#tw-release-time")),
        "summary": {},
        "attachments": [],
        "body_html": body[0].get() if body else None,
    }
