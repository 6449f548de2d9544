"""中国国际招标网 chinabidding.mofcom.gov.cn: the ministry of commerce's portal for 机电产品国际招标.

Imported machinery and electronics (servers and accelerator cards among them) are bought by international tender,
and each tender, change, evaluation and award is published here. The list is a JSON API: ``POST
/zbwcms/front/bidding/bulletinInfoList`` with a form (``pageNumber`` 1-based, ``keyWord``, ``timeType``,
``rangeCode``, ``typeCode`` 1 招标公告 / 2 招标变更公告 / 3 评标结果公示 / 4 中标结果公告, ``capitalSourceCode``,
``industryCode``, ``provinceCode``) answered ``{maxPageNum, pageNumber, pageSize, total, rows: [{name, digest,
filePath, publishTime, createTime, industryName, areaName, capitalSourceName, fdid}]}``, newest first. A notice is
the server-rendered page ``/bidDetail{filePath}`` (``filePath`` being ``/bidding/bulletin/<yyyymm>/<32 hex>.html``),
its text in ``div.article`` as ``label：value`` paragraphs (招标人, 招标项目编号, 投标截止时间（开标时间）…).

The spider asks once per keyword (``-a keywords=GPU,H100``; default ``pipelines.matching.queries.search_terms()``)
and notice type, fetches a notice several queries find once, and keeps the date window on our side: ``timeType`` is
one of the portal's presets (not a date), sent empty as one client sends it, and paging stops at the first row older
than ``from_date``. An HTML page where the list API should answer JSON, or HTTP 403/412/521, is a block.

Unverified: no stored answer exists; ``tests/fixtures/chinabidding`` is written by us. What each fact rests on
(public code read 2026-12, nothing copied; no live request made):
  Confirmed by several sources: the list path and ``typeCode`` (../shared/fixtures/real/EVIDENCE.md, gitchw/bidpilot
  ``bidpilot/sources/mofcom.py``, a 2020 Java crawler and a Scrapy project); the form's eight fields (bidpilot, a 2026
  Korean collector that called it live, the Scrapy project); the answer's ``rows`` fields and ``maxPageNum`` (the
  Korean collector; bidpilot and the Java crawler read the same row fields); the four type codes' meanings (the
  Scrapy project's column names, bidpilot's event types); the detail address ``/bidDetail`` + ``filePath`` (the
  evidence, the Korean collector, bidpilot, and public links of 2023-26 of the form
  ``/bidDetail/bidding/bulletin/202309/ff808081870df1e9018adab9554103de.html``); the body ``div.article`` of
  ``label：value`` paragraphs (bidpilot, the Java crawler).
  Conflicting: the form is sent urlencoded by bidpilot and the Korean collector, as JSON by the Java crawler and the
  Scrapy project; we send it urlencoded, with ``X-Requested-With`` as the site's own ``$.ajax`` does (bidpilot).
  Guessed: the page's title and publish-time chrome (no client reads them); the reader takes a heading in the
  article and a 发布时间 line, and the list's values stand in where the page lacks them.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import scrapy
from scrapy.http import Response

from pipelines.national.notice_types import classify
from spiders.base import BaseSpider
from spiders.common import api_base, by_detail_url, clean, first_datetime_text, json_answer, node_text

SOURCE = "chinabidding"
LIST_PATH = "/zbwcms/front/bidding/bulletinInfoList"
DETAIL_PREFIX = "/bidDetail"
# typeCode → the portal's column name (the Scrapy project's columns, bidpilot's event types).
TYPE_LABELS: dict[str, str] = {"1": "招标公告", "2": "招标变更公告", "3": "评标结果公示", "4": "中标结果公告"}
_DETAIL_PATH = re.compile(r"^/bidDetail/bidding/bulletin/\d{6}/(?P<id>[0-9A-Za-z]+)\.html$")
# HTTP 412 is the Ruishu-style challenge other ministry sites answer; the base knows 403, 429 and 521.
CHALLENGE_STATUSES: dict[int, str] = {412: "HTTP 412 JS challenge"}
_ATTACHMENT = re.compile(r"\.(?:pdf|docx?|xlsx?|zip|rar)$|download", re.I)


def notice_id_from_url(url: str) -> str | None:
    """``…/bidDetail/bidding/bulletin/202611/ff80…03de.html`` → ``ff80…03de`` (the page's name)."""
    found = _DETAIL_PATH.match(urlsplit(url).path)
    return found["id"] if found else None


def is_detail_url(url: str) -> bool:
    return notice_id_from_url(url) is not None


def listing_from_row(row: dict[str, Any], base_url: str, type_code: str) -> dict[str, Any]:
    file_path = clean(row.get("filePath")) or ""
    url = f"{base_url}{DETAIL_PREFIX}/{file_path.lstrip('/')}" if file_path else ""
    title = clean(row.get("name")) or ""
    type_label = TYPE_LABELS.get(type_code, "")
    return {
        "url": url,
        "notice_id": notice_id_from_url(url) or "",
        "record_id": str(row.get("fdid") or ""),
        "title": title,
        "type_label": type_label,
        "notice_type": classify(title, type_label).code,
        "published": clean(row.get("publishTime")) or clean(row.get("createTime")) or "",
        "region": _parse_region(row.get("areaName")),
        "industry": clean(row.get("industryName")) or "",
        "capital_source": clean(row.get("capitalSourceName")) or "",
        "digest": clean(row.get("digest")) or "",
    }


def _parse_region(value: Any) -> str:
    """``中华人民共和国北京市`` or ``中国-北京市`` → ``北京市``: every tender here is in China."""
    text = clean(value) or ""
    return re.sub(r"^(?:中华人民共和国|中国)[-\s]*", "", text)


def parse_list(answer: Any, base_url: str, type_code: str) -> tuple[list[dict[str, Any]], int] | None:
    """(listings, maxPageNum) of a list answer; None when the answer is not a notice list."""
    if not isinstance(answer, dict) or not isinstance(answer.get("rows"), list):
        return None
    rows = [row for row in answer["rows"] if isinstance(row, dict)]
    try:
        last_page = int(answer.get("maxPageNum") or 0)
    except (TypeError, ValueError):
        last_page = 0
    return [listing_from_row(row, base_url, type_code) for row in rows], last_page


class ChinabiddingSpider(BaseSpider):
    """中国国际招标网 chinabidding.mofcom.gov.cn: keyword searches per notice type, then each notice page."""

    name = "chinabidding"
    source = SOURCE
    # No www: that name does not resolve (the Korean collector's note).
    base_url = "https://chinabidding.mofcom.gov.cn"
    allowed_domains: ClassVar[list[str]] = ["chinabidding.mofcom.gov.cn"]
    challenge_statuses: ClassVar[dict[int, str]] = CHALLENGE_STATUSES
    json_api_path: ClassVar[str | None] = LIST_PATH
    # Changes (2) repeat a tender's specification; results (3, 4) name what was bought and from whom.
    type_codes: ClassVar[tuple[str, ...]] = ("1", "2", "3", "4")
    # A preset range, not a date; empty as the Korean collector sends it (bidpilot saw short presets answer nothing).
    time_type: ClassVar[str] = ""

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

    def list_form(self, keyword: str, type_code: str, page: int) -> dict[str, str]:
        return {
            "pageNumber": str(page),
            "keyWord": keyword,
            "timeType": self.time_type,
            "rangeCode": "",
            "typeCode": type_code,
            "capitalSourceCode": "",
            "industryCode": "",
            "provinceCode": "",
        }

    def list_request(self, keyword: str, type_code: str, page: int) -> scrapy.Request:
        return scrapy.Request(
            f"{self.base_url}{LIST_PATH}",
            method="POST",
            body=urlencode(self.list_form(keyword, type_code, page)),
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
                "X-Requested-With": "XMLHttpRequest",
                "Referer": f"{self.base_url}/channel/business/bulletinList.shtml",
            },
            callback=self.parse,
            cb_kwargs={"keyword": keyword, "type_code": type_code, "page": page},
        )

    def parse(self, response: Response, keyword: str = "", type_code: str = "1", page: int = 1):
        if self.is_blocked(response):
            return
        parsed = parse_list(json_answer(response), self.base_url, type_code)
        listings, last_page = parsed if parsed is not None else (None, 0)
        if not self.note_search_page(response, listings):
            return
        stop = yield from self.follow_listings(response, listings, keyword)
        if not stop and page < last_page:
            yield self.list_request(keyword, type_code, page + 1)


def read_list(response: Response) -> dict[str, dict[str, Any]]:
    """The listings of an archived list answer, by notice page URL; {} when it is not one.

    The form says which notice type was asked; an answer read without it (no request body) has no type label.
    """
    if LIST_PATH not in response.url:
        return {}
    body = response.request.body.decode("utf-8", "replace") if response.request is not None else ""
    type_code = parse_qs(body).get("typeCode", [""])[0]
    parsed = parse_list(json_answer(response), api_base(response.url, LIST_PATH), type_code)
    return by_detail_url(parsed[0]) if parsed else {}


# --- notice pages ---
# ``div.article`` holds the notice (bidpilot, the Java crawler), with a script the Java crawler strips. The title and
# publish time around it are guessed: a heading inside or before the article, a 发布时间 line.


def parse_detail_page(response: Response) -> dict[str, Any]:
    """``title``, ``published`` (as written), ``attachments``, ``body_html`` (``div.article``) of a notice page."""
    article = response.css("div.article")
    return {
        "title": node_text(response.css("div.article h1, div.article h2, h1.title, div.tit h1"))
        or clean(response.xpath("/html/head/title/text()").get()),
        "published": first_datetime_text(
            " ".join(t for t in response.xpath("//*[contains(text(), '发布时间')]/text()").getall())
        ),
        "summary": {},
        "attachments": _attachments(response, article),
        "body_html": article[0].get() if article else None,
        # The element itself: the normalizer reads the body on this tree instead of parsing body_html again.
        "body": article[0].root if article else None,
    }


def _attachments(response: Response, article: Any) -> list[dict[str, str | None]]:
    links = []
    for link in article.css("a[href]") if article else []:
        href = link.attrib["href"].strip()
        name = node_text(link)
        if name and _ATTACHMENT.search(href) and not href.startswith("javascript"):
            links.append({"name": name, "url": response.urljoin(href)})
    return links
