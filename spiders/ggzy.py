"""全国公共资源交易平台 www.ggzy.gov.cn: the national public-resources trading platform (government procurement).

The list is a JSON API, ``POST /information/pubTradingInfo/getTradList`` (``/his/…`` for the history archive), with
a form body: ``FINDTXT`` keyword, ``PAGENUMBER`` (1-based, 20 records a page), ``DEAL_TIME=06`` with
``TIMEBEGIN``/``TIMEEND`` for a custom date range, ``DEAL_CLASSIFY=02`` 政府采购, ``SOURCE_TYPE``, ``DEAL_PROVINCE`` and
``DEAL_CITY``. It answers ``{code, data: {records, total, pages}}``; the same record can appear twice in one page.
Code 829 (captcha required) and 800 (too frequent) are refusals, not empty results. A record's ``url`` is the ``/a/``
container page; the notice itself is on the ``/b/`` content page, whose body sits in ``#mycontent``.

Many 政府采购 ``/b/`` pages carry only the platform's metadata: ``#mycontent`` is empty and the notice is on the
provincial platform, linked from ``span.detail_url a``. The spider then fetches that original and reads the notice
from it (``body_elsewhere``, ``with_original``; the document keeps the original's address in ``data-tw-read-from``).
When a ``/b/`` page is missing (404), the ``/a/`` container names its content page in ``firstLastUrl``, which is
followed instead of the rewritten address.

The list API and its fields come from real answers (``../shared/fixtures/real/ggzy``); the ``/b/`` page chrome
(``h4.h4_o`` title, ``p.p_o`` publish line), the empty bodies, ``span.detail_url`` and ``firstLastUrl`` are from
public scrapers of 2026 (``../shared/fixtures/real/EVIDENCE.md``, "ggzy.py"), unverified against a stored page.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError

from pipelines.model import raw_notice
from pipelines.national.notice_types import classify
from spiders.base import SHANGHAI, BaseSpider
from spiders.common import api_base, by_detail_url, clean, first_datetime_text, json_answer, node_text
from spiders.completeness import KIND, failure_reason, note_missed_notice

SOURCE = "ggzy"
LIST_PATH = "/information/pubTradingInfo/getTradList"
HISTORY_LIST_PATH = "/his/information/pubTradingInfo/getTradList"
PAGE_SIZE = 20
# The current endpoint never reports more than this many hits: a capped total means the query must be narrowed.
CURRENT_TOTAL_CAP = 1000
# API return codes that mean the portal refused us (STRUCTURE.md §2.1).
BLOCK_CODES: dict[int, str] = {
    829: "ggzy captcha required (code 829)",
    800: "ggzy too frequent (code 800)",
}

_DETAIL_URL = re.compile(r"/deal/html/(?P<page>[ab])/(?:[^/]+/)*(?P<id>[0-9A-Za-z]+)\.html")


def notice_id_from_url(url: str) -> str | None:
    """``…/html/b/340000/0201/20240328/0034abb7….html`` → ``0034abb7…`` (the record ``id``)."""
    found = _DETAIL_URL.search(url)
    return found["id"] if found else None


def is_detail_url(url: str) -> bool:
    """Whether ``url`` is a ``/b/`` content page, the one the spider fetches (the ``/a/`` frame never is)."""
    found = _DETAIL_URL.search(url)
    return found is not None and found["page"] == "b"


def content_url(url: str) -> str:
    """The ``/b/`` content page for a record's ``/a/`` container page (other URLs unchanged)."""
    return re.sub(r"/deal/html/a/", "/deal/html/b/", url, count=1)


_FIRST_LAST_URL = re.compile(r"""firstLastUrl\s*=\s*["']([^"']+)["']""")
_MYCONTENT = re.compile(r"""<(?P<tag>\w+)\b[^>]*\bid=["']mycontent["'][^>]*>""")
_BODY_TAGS = re.compile(r"^.*?<body[^>]*>|</body>.*$", re.S | re.I)


def first_last_url(container: Response) -> str | None:
    """The content page an ``/a/`` container page names in its script (``firstLastUrl='/…/html/b/…'``)."""
    found = _FIRST_LAST_URL.search(container.text)
    return container.urljoin(found[1]) if found else None


def body_elsewhere(page: Response) -> str | None:
    """The original notice's address when this ``/b/`` page holds no body of its own; None when it does."""
    body = page.css("#mycontent")
    if body and clean(" ".join(body.xpath(".//text()").getall())):
        return None
    href = (page.css("span.detail_url a::attr(href)").get() or "").strip()
    url = page.urljoin(href) if href else ""
    return url if url.startswith(("http://", "https://")) else None


def with_original(page: Response, original: Response) -> tuple[str, str]:
    """(the ``/b/`` URL, its page with the original's body inside ``#mycontent``), marked with where it was read."""
    inner = _BODY_TAGS.sub("", original.text)
    filled = f'<div class="tw-original" data-tw-read-from="{escape(original.url)}">{inner}</div>'
    html, count = _MYCONTENT.subn(lambda opening: opening[0] + filled, page.text, count=1)
    if not count:  # no #mycontent at all: the original's body becomes the page's
        html = f'<html><body><div id="mycontent">{filled}</div></body></html>'
    return page.url, html


def api_code(response: Response) -> int | None:
    """The ``code`` of a getTradList answer, or None when the body is not that JSON."""
    answer = json_answer(response)
    if not isinstance(answer, dict):
        return None
    try:
        return int(answer.get("code"))
    except (TypeError, ValueError):
        return None


def block_from_code(code: int | None) -> str | None:
    return BLOCK_CODES.get(code) if code is not None else None


def list_form(
    *,
    page: int,
    keyword: str,
    time_begin: str,
    time_end: str,
    province: str,
    city: str,
    source_type: str,
    deal_classify: str,
) -> dict[str, str]:
    """The getTradList form body (field order fixed: the archive keys POSTs by their body)."""
    form = {
        "FINDTXT": keyword,
        "PAGENUMBER": str(page),
        "DEAL_TIME": "06",
        "TIMEBEGIN": time_begin,
        "TIMEEND": time_end,
        "DEAL_CLASSIFY": deal_classify,
        "DEAL_PROVINCE": province,
        "DEAL_CITY": city,
    }
    if source_type:
        form["SOURCE_TYPE"] = source_type
    return form


def parse_list(answer: dict[str, Any], base_url: str) -> tuple[list[dict[str, Any]], int]:
    """The listings of one getTradList answer, each id once, and how many repeated records were dropped."""
    records = (answer.get("data") or {}).get("records") or []
    listings: list[dict[str, Any]] = []
    seen: set[str] = set()
    repeats = 0
    for record in records:
        listing = listing_from_record(record, base_url)
        if listing["notice_id"] in seen:
            repeats += 1
            continue
        seen.add(listing["notice_id"])
        listings.append(listing)
    return listings, repeats


def read_list(response: Response) -> dict[str, dict[str, Any]]:
    """The listings of an archived getTradList answer (current or ``/his/``), by ``/b/`` URL; {} for refusals."""
    answer = json_answer(response)
    if api_code(response) != 200 or not isinstance(answer.get("data"), dict):
        return {}
    base = api_base(response.url, HISTORY_LIST_PATH if HISTORY_LIST_PATH in response.url else LIST_PATH)
    return by_detail_url(parse_list(answer, base)[0])


def listing_from_record(record: dict[str, Any], base_url: str) -> dict[str, Any]:
    """List metadata of one record; ``url`` is the ``/b/`` content page, ``container_url`` the ``/a/`` page."""
    container = f"{base_url}{record['url']}" if str(record.get("url") or "").startswith("/") else record.get("url")
    title = clean(record.get("title")) or ""
    type_label = clean(record.get("informationTypeText")) or ""
    region = " ".join(x for x in (clean(record.get("provinceText")), clean(record.get("cityText"))) if x)
    return {
        "url": content_url(container) if container else None,
        "container_url": container,
        "notice_id": clean(record.get("id")) or (notice_id_from_url(container or "")),
        "title": title,
        "type_label": type_label,
        "notice_type": classify(type_label, title).code,
        "published": clean(record.get("publishTime")) or "",
        "region": region,
        "buyer": "",
        "business_type": clean(record.get("businessTypeText")) or "",
        "information_type": clean(record.get("informationType")) or "",
        "platform": clean(record.get("transactionSourcesPlatformText")) or "",
        "project_code": clean(record.get("tenderProjectCode")) or "",
    }


class GgzySpider(BaseSpider):
    """Crawls the ggzy.gov.cn getTradList API for government-procurement notices and fetches each /b/ page.

    Arguments besides BaseSpider's: ``keywords`` (comma-separated FINDTXT values, one query each; default: one query
    without keyword), ``province``/``city`` (DEAL_PROVINCE/DEAL_CITY region codes, default 0 = any),
    ``source_type`` (SOURCE_TYPE, default 1 = provincial platforms; empty = any), ``history`` (``true`` for the
    ``/his/`` archive endpoint, which is not capped at 1000 hits).
    """

    name = "ggzy"
    source = SOURCE
    base_url = "https://www.ggzy.gov.cn"
    allowed_domains: ClassVar[list[str]] = ["www.ggzy.gov.cn", "ggzy.gov.cn"]
    deal_classify: ClassVar[str] = "02"  # 政府采购
    default_source_type: ClassVar[str] = "1"
    list_headers: ClassVar[dict[str, str]] = {
        "Referer": "https://www.ggzy.gov.cn/deal/dealList.html",
        "Origin": "https://www.ggzy.gov.cn",
        "X-Requested-With": "XMLHttpRequest",
    }

    def __init__(
        self,
        *args: Any,
        keywords: str | None = None,
        province: str = "0",
        city: str = "0",
        source_type: str | None = None,
        history: str | bool = False,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.keywords = tuple(k.strip() for k in (keywords or "").split(",") if k.strip()) or ("",)
        self.province = str(province or "0")
        self.city = str(city or "0")
        self.source_type = self.default_source_type if source_type is None else str(source_type)
        self.history = str(history).lower() in ("1", "true", "yes")
        self.list_path = HISTORY_LIST_PATH if self.history else LIST_PATH

    async def start(self):
        for keyword in self.keywords:
            yield self.list_request(keyword, 1)

    def list_request(self, keyword: str, page: int) -> scrapy.FormRequest:
        until = self.until_date or datetime.now(SHANGHAI).date()
        form = list_form(
            page=page,
            keyword=keyword,
            time_begin=self.from_date.isoformat(),
            time_end=until.isoformat(),
            province=self.province,
            city=self.city,
            source_type=self.source_type,
            deal_classify=self.deal_classify,
        )
        return scrapy.FormRequest(
            f"{self.base_url}{self.list_path}",
            formdata=form,
            headers=self.list_headers,
            callback=self.parse,
            cb_kwargs={"keyword": keyword, "page": page},
        )

    @classmethod
    def block_reason(cls, response: Response) -> str | None:
        """Base refusals (403/429/521, challenge pages) plus the API's own block codes 829 and 800."""
        # The code first: a small 829 answer also says 验证码, but the code names the block exactly.
        return block_from_code(api_code(response)) or super().block_reason(response)

    def parse(self, response: Response, keyword: str = "", page: int = 1):
        if self.is_blocked(response):
            return
        answer = json_answer(response)
        stats = self.crawler.stats
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), dict):
            self.note_empty_list(response)
            return
        if api_code(response) != 200:
            stats.inc_value("tenderwatch/api_errors")
            self.logger.warning("ggzy answered code %s (%s) for %r page %d", answer.get("code"),
                                answer.get("message"), keyword, page)  # fmt: skip
            return
        data = answer["data"]
        if not self.history and int(data.get("total") or 0) >= CURRENT_TOTAL_CAP:
            stats.inc_value("tenderwatch/list_total_capped")
        listings, repeats = parse_list(answer, self.base_url)
        if repeats:
            stats.inc_value("tenderwatch/duplicate_list_items", repeats)
        for listing in listings:
            if self.screen_listing(listing) != "fetch":
                continue
            if not self.take_notice():
                return
            yield scrapy.Request(
                listing["url"], callback=self.parse_detail, errback=self.detail_failed, cb_kwargs={"listing": listing}
            )
        pages = int(data.get("pages") or 0)
        if listings and page < pages:
            yield self.list_request(keyword, page + 1)

    def parse_detail(self, response: Response, listing: dict[str, Any]):
        """The /b/ page's notice, or, when its body is empty, a request for the original it links to."""
        if self.is_blocked(response):
            return
        original = body_elsewhere(response) if response.status == 200 else None
        if original is None:
            yield from super().parse_detail(response, listing)
            return
        self.crawler.stats.inc_value("tenderwatch/originals_followed")
        # The original is on a provincial platform, off this spider's domains by design.
        yield scrapy.Request(
            original,
            callback=self.parse_original,
            errback=self.original_failed,
            cb_kwargs={"listing": listing, "page": response},
            meta={"allow_offsite": True, KIND: "detail"},
        )

    def parse_original(self, response: Response, listing: dict[str, Any], page: Response):
        if BaseSpider.block_reason(response) or response.status != 200:
            yield from self._without_original(page, listing)
            return
        url, html = with_original(page, response)
        yield raw_notice(self.source, self.notice_id_of(page, listing), url, listing, page, html=html)

    def original_failed(self, failure):
        kwargs = failure.request.cb_kwargs
        yield from self._without_original(kwargs["page"], kwargs["listing"])

    def _without_original(self, page: Response, listing: dict[str, Any]):
        """The /b/ page as it is: its metadata stay known, and the empty body is the notice's recorded parse error."""
        self.crawler.stats.inc_value("tenderwatch/originals_failed")
        yield from super().parse_detail(page, listing)

    def detail_failed(self, failure):
        """A /b/ page that failed: a 404 asks its /a/ container which content page it names; anything else is a
        missed notice, kept for a retry as on every portal (``spiders.completeness``)."""
        listing = failure.request.cb_kwargs["listing"]
        missing = failure.check(HttpError) and failure.value.response.status == 404
        if missing and listing.get("container_url") and not listing.get("via_container"):
            yield scrapy.Request(
                listing["container_url"],
                callback=self.parse_container,
                errback=self.container_failed,
                cb_kwargs={"listing": listing},
                meta={KIND: "detail"},
            )
            return
        self._missed(listing, failure_reason(failure))

    def container_failed(self, failure):
        self._missed(failure.request.cb_kwargs["listing"], f"content page missing, container {failure_reason(failure)}")

    def _missed(self, listing: dict[str, Any], reason: str) -> None:
        # Kept under the content page's address, the one a later night asks for again.
        path = self.settings.get("TENDERWATCH_MISSES_FILE")
        note_missed_notice(self.crawler, Path(path) if path else None, listing["url"], listing, reason)

    def parse_container(self, response: Response, listing: dict[str, Any]):
        if self.is_blocked(response):
            return
        named = first_last_url(response)
        if not named or named == listing["url"]:
            self._missed(listing, "content page missing, and its container names no other")
            return
        self.crawler.stats.inc_value("tenderwatch/content_pages_from_container")
        listing = {**listing, "url": named, "via_container": True}
        yield scrapy.Request(
            named, callback=self.parse_detail, errback=self.detail_failed, cb_kwargs={"listing": listing}
        )


# --- detail pages ---
# The /b/ content page: a heading, a line with the publish time and the source platform, and the notice body in
# #mycontent, which holds the provincial platform's notice in the national formats (read by ``pipelines``).


def parse_detail_page(response: Response) -> dict[str, Any]:
    """The ggzy chrome of a /b/ page: ``title``, ``published`` (as written), ``platform``, ``origin_url``, ``read_from``
    (the original's address when the body was read there), ``body_html``."""
    info = node_text(response.css("p.p_o")) or ""
    platform = re.search(r"(?:信息)?来源[：:]\s*(\S+)", info)
    body = response.css("#mycontent")
    origin = (response.css("span.detail_url a::attr(href)").get() or "").strip()
    return {
        "title": node_text(response.css("h4.h4_o")) or clean(response.xpath("/html/head/title/text()").get()),
        "published": first_datetime_text(info),
        "platform": platform[1] if platform else None,
        "origin_url": response.urljoin(origin) if origin else None,
        "read_from": response.css("#mycontent .tw-original::attr(data-tw-read-from)").get(),
        "summary": {},
        "attachments": [],
        "body_html": body[0].get() if body else None,
        # The element itself: the normalizer reads the body on this tree instead of parsing body_html again.
        "body": body[0].root if body else None,
    }
