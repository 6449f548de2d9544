"""Normalize a fetched notice page into the notice record analysts query (one dict, fixed keys).

``normalize(raw, portals)`` takes the raw notice (``pipelines.model.RawNotice``: ``source``, ``notice_id``, ``url``,
``listing``, ``html`` …) and the portal registry the caller holds (``spiders.registry.PORTALS``), reads the portal's
own chrome with the portal's detail reader, reads the body with the national parser (``pipelines.national.body``)
and merges both with the list metadata. It never raises: whatever fails is recorded in ``parse_error`` as
``"ExceptionType: message"`` and the notice keeps what was read, so a page the parser cannot read is a recorded
error, never a lost notice.

Precedence, strongest first: the portal's summary table (ccgp's 公告概要, curated by the portal), the body's
structured markup, the body's label/value text, the list metadata.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
from parsel.selector import create_root_node
from scrapy.http import HtmlResponse
from scrapy.selector import Selector
from scrapy.utils.response import get_base_url

from pipelines.ingest.portals import Portals, notice_id_for_url, source_for_url
from pipelines.model import LIST_KEYS, NOTICE_KEYS, UNDECODABLE
from pipelines.national.amounts import Amount, parse_amount, parse_datetime
from pipelines.national.body import parse_body
from pipelines.national.labels import METHODS, category_code, merge_lots, method_code
from pipelines.national.notice_types import BY_CODE, CCGP_COLUMNS, classify
from pipelines.national.page_text import clean_line, normalize_width
from pipelines.national.regions import locate

# Bump whenever the output for the same page changes: stored notices record the version that made them.
PARSER_VERSION = "1.1.0"


# source → its column codes (a URL path segment) → notice type.
COLUMN_TYPES: dict[str, dict[str, str]] = {"ccgp": CCGP_COLUMNS}

# Notice types that imply the procurement method when the body does not state it.
_METHOD_OF_TYPE = {
    "open_tender": "公开招标",
    "invited_tender": "邀请招标",
    "competitive_negotiation": "竞争性谈判",
    "competitive_consultation": "竞争性磋商",
    "inquiry": "询价",
    "single_source": "单一来源",
}
_AWARDING_TYPES = frozenset({"award", "deal", "contract"})

# Summary-table labels (ccgp 公告概要 and the same wording elsewhere) → notice fields.
_SUMMARY_TEXT_FIELDS = {
    "采购项目名称": "project_name",
    "项目名称": "project_name",
    "项目编号": "project_code",
    "采购单位": "buyer",
    "采购人": "buyer",
    "采购单位地址": "buyer_address",
    "采购人地址": "buyer_address",
    "采购单位联系方式": "buyer_contact",
    "采购人联系方式": "buyer_contact",
    "代理机构名称": "agency",
    "代理机构地址": "agency_address",
    "代理机构联系方式": "agency_contact",
}
# field → its summary labels, in the order above (the first one the summary fills wins).
_SUMMARY_LABELS_OF: dict[str, tuple[str, ...]] = {
    key: tuple(label for label, k in _SUMMARY_TEXT_FIELDS.items() if k == key) for key in _SUMMARY_TEXT_FIELDS.values()
}
_SUMMARY_BUDGET = ("预算金额", "采购预算")
_SUMMARY_AWARD = ("总中标金额", "总成交金额", "中标金额", "成交金额")
_SUMMARY_CEILING = ("最高限价",)


class _HtmlParser(lxml.html.HTMLParser):
    """lxml.html's parser, with every element an ``HtmlElement`` chosen by lxml itself: lxml.html's own class lookup
    is Python code run each time an element is first touched from Python (a quarter of a bare parse on a page the
    readers walk), to give forms and their fields subclasses that only add form helpers no reader uses."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.set_element_class_lookup(_ELEMENT_CLASSES)


_ELEMENT_CLASSES = lxml.etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement,
    comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity,
)


class _PageResponse(HtmlResponse):
    """An HtmlResponse whose tree is parsed as Scrapy's selector parses it (the same text, options and base URL,
    through parsel's own ``create_root_node``), with ``_HtmlParser``."""

    __slots__ = ()

    @property
    def selector(self) -> Selector:
        if self._cached_selector is None:
            root = create_root_node(self.text, _HtmlParser, base_url=get_base_url(self))
            self._cached_selector = Selector(root=root, type="html")
        return self._cached_selector


class UnreadablePage(Exception):
    """The page has no notice body where the portal puts one (truncated, a block page, not a notice)."""


def empty_notice() -> dict[str, Any]:
    return {key: ([] if key in LIST_KEYS else None) for key in NOTICE_KEYS}


def normalize(raw: dict[str, Any], portals: Portals) -> dict[str, Any]:
    """The notice record for one raw notice; never raises (see the module docstring)."""
    return _normalize(raw, portals)


def _normalize(raw: dict[str, Any], portals: Portals, response: HtmlResponse | None = None) -> dict[str, Any]:
    """``normalize``; ``response`` is the page already decoded as ``raw["html"]`` (read again otherwise)."""
    notice = empty_notice()
    notice["parser_version"] = PARSER_VERSION
    try:
        _fill_from_listing(notice, raw)
        _fill(notice, raw, portals, response)
    except Exception as error:  # any failure becomes a recorded parse error, never a lost notice
        notice["parse_error"] = f"{type(error).__name__}: {error}"
    encoding = str(raw.get("encoding") or "") if isinstance(raw, dict) else ""
    if encoding.endswith(UNDECODABLE) and not notice.get("parse_error"):
        declared = encoding.removesuffix(UNDECODABLE)
        garbled = str(raw.get("html") or "").count("\ufffd")
        notice["parse_error"] = f"page text does not decode as {declared} nor GB18030 ({garbled} bytes replaced)"
    return notice


def normalize_page(body: bytes, url: str, portals: Portals, source: str | None = None) -> dict[str, Any]:
    """Normalize a saved page given as raw bytes (GBK pages decode by their declared or detected charset)."""
    source = source or source_for_url(url, portals)
    response: HtmlResponse | None = None
    try:
        response = _PageResponse(url=url, body=body)
        html, encoding = response.text, response.encoding
    except Exception:  # an unusable URL or body must still give a notice (with its parse error)
        html, encoding = body.decode("utf-8", errors="replace"), "utf-8"
        response = None
    raw = {
        "source": source,
        "notice_id": notice_id_for_url(url, source, portals),
        "url": url,
        "listing": {},
        "fetched_at": None,
        "status": 200,
        "encoding": encoding,
        "html": html,
    }
    # The page as normalize() would build it again from raw["html"] (the same URL, the same UTF-8 bytes): reused,
    # so a page is decoded and parsed once.
    if response is None or _text(url) != url or response.body != html.encode("utf-8", errors="replace"):
        response = None
    return _normalize(raw, portals, response)


def to_json(notice: dict[str, Any], *, exact_amounts: bool = False) -> str:
    """One notice as JSON: Chinese kept readable, Decimal amounts as numbers, dates as ISO strings.

    ``exact_amounts`` writes amounts as decimal strings instead, for batches read back into DECIMAL columns.
    """
    return json.dumps(notice, ensure_ascii=False, default=_exact_value if exact_amounts else _json_value)


def _exact_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else _json_value(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


# --- filling the notice ----------------------------------------------------------------------------------


def _fill_from_listing(notice: dict[str, Any], raw: dict[str, Any]) -> None:
    """What the crawl already knows, kept even when the page cannot be read at all."""
    notice["source"] = _text(raw.get("source"))
    notice["notice_id"] = _text(raw.get("notice_id"))
    notice["url"] = _text(raw.get("url"))
    listing = _listing(raw)
    notice["title"] = _text(listing.get("title"))
    notice["buyer"] = _text(listing.get("buyer"))
    notice["region"] = _text(listing.get("region"))
    published = parse_datetime(_text(listing.get("published")))
    notice["published_at"] = published.isoformat() if published else None
    _set_notice_type(notice, _text(listing.get("notice_type")))


def _fill(notice: dict[str, Any], raw: dict[str, Any], portals: Portals, response: HtmlResponse | None) -> None:
    listing = _listing(raw)
    response = response if response is not None else _response(raw)
    source = notice["source"] or ""
    portal = portals.get(source)
    page = portal.read_detail(response) if portal else _generic_page(response)
    # Labels and names are width-normalized; amounts keep the page's own writing as their raw string.
    raw_summary = {normalize_width(k): v for k, v in (page.get("summary") or {}).items()}
    summary = {k: normalize_width(v) for k, v in raw_summary.items()}
    title = _text(page.get("title")) or notice["title"] or _text(page.get("page_title"))
    notice["title"] = title

    published = parse_datetime(page.get("published") or summary.get("公告时间"))
    if published:
        notice["published_at"] = published.isoformat()
    _set_notice_type(
        notice,
        _listed_type(listing),
        classify(page.get("type_label")).code if page.get("type_label") else None,
        COLUMN_TYPES.get(source, {}).get(_text(listing.get("column")) or _column(source, notice["url"]) or ""),
        classify(title).code if title else None,
    )

    body_html = page.get("body_html")
    # A portal reader may hand over the body element of the tree it read (one parse per page) beside its HTML.
    body = page.get("body") if page.get("body") is not None else body_html
    body = body if body is not None else response.css("body")
    fields = parse_body(body, title=title)

    for key in ("project_name", "project_code", "buyer", "buyer_address", "buyer_contact"):
        notice[key] = _first(_summary_value(summary, key), fields.get(key), notice[key])
    for key in ("agency", "agency_address", "agency_contact"):
        notice[key] = _first(_summary_value(summary, key), fields.get(key))

    notice["category_path"] = _text(summary.get("品目"))
    notice["category"] = category_code(notice["category_path"]) or fields.get("category")

    _fill_method(notice, fields.get("procurement_method_zh"), title)
    _fill_amounts(notice, raw_summary, fields)
    _fill_region(notice, summary, listing)
    _fill_times(notice, summary, fields)

    notice["suppliers"] = fields["suppliers"]
    notice["items"] = fields["items"]
    notice["lots"] = _lots_with_status(merge_lots(fields["lots"], []), notice["notice_type"])
    notice["attachments"] = _attachments(response, page.get("attachments") or [], fields["attachments"])

    if body_html is None and page.get("body") is None and portal is not None:
        # Fields read from the whole page are kept, but its text is the portal's chrome, not the notice.
        raise UnreadablePage(f"no notice body in the {source} page (truncated, blocked or not a notice page)")
    notice["text"] = fields["text"] or None
    notice["content_hash"] = hashlib.sha256(notice["text"].encode("utf-8")).hexdigest() if notice["text"] else None
    if not notice["text"] and not summary:
        raise UnreadablePage("the page holds no notice text")


def _response(raw: dict[str, Any]) -> HtmlResponse:
    html = raw.get("html")
    url = _text(raw.get("url")) or "about:blank"
    if isinstance(html, bytes):
        return _PageResponse(url=url, body=html)
    body = (html if isinstance(html, str) else "").encode("utf-8", errors="replace")
    return _PageResponse(url=url, body=body, encoding="utf-8")


def _generic_page(response: HtmlResponse) -> dict[str, Any]:
    """A portal without its own detail parser: the whole ``<body>`` is the notice body."""
    body = response.css("body")
    title = response.xpath("/html/head/title/text()").get() or response.css("h1 ::text").get()
    return {
        "title": _text(title),
        "published": None,
        "summary": {},
        "attachments": [],
        "body_html": body[0].get() if body else None,
    }


def _listing(raw: Any) -> dict[str, Any]:
    listing = raw.get("listing") if isinstance(raw, dict) else None
    return listing if isinstance(listing, dict) else {}


def _listed_type(listing: dict[str, Any]) -> str | None:
    code = _text(listing.get("notice_type"))
    return code if code in BY_CODE else None


def _column(source: str, url: str | None) -> str | None:
    if source != "ccgp" or not url:
        return None
    parts = urlsplit(url).path.split("/")
    # /cggg/{zygg|dfgg}/{column}/{YYYYMM}/t….htm
    return parts[3] if len(parts) > 5 and parts[1] == "cggg" else None


def _set_notice_type(notice: dict[str, Any], *candidates: str | None) -> None:
    """The first candidate code that names a type; ``other`` only when none does."""
    known = [code for code in candidates if code in BY_CODE]
    code = next((c for c in known if c != "other"), known[0] if known else None)
    if code is None:
        return
    notice_type = BY_CODE[code]
    notice["notice_type"], notice["notice_type_zh"], notice["notice_type_en"] = (
        notice_type.code,
        notice_type.zh,
        notice_type.en,
    )


def _summary_value(summary: dict[str, str], key: str) -> str | None:
    return next((summary[label] for label in _SUMMARY_LABELS_OF[key] if summary.get(label)), None)


def _fill_method(notice: dict[str, Any], stated: str | None, title: str | None) -> None:
    method_zh = stated or _METHOD_OF_TYPE.get(notice["notice_type"] or "")
    if method_zh is None and title:
        method_zh = next((word for word in METHODS if word in title), None)
    notice["procurement_method_zh"] = method_zh
    notice["procurement_method"] = method_code(method_zh)


def _fill_amounts(notice: dict[str, Any], summary: dict[str, str], fields: dict[str, Any]) -> None:
    budget = _more_exact(_summary_amount(summary, _SUMMARY_BUDGET), fields.get("budget"))
    award = _more_exact(_summary_amount(summary, _SUMMARY_AWARD), fields.get("award"))
    ceiling = _more_exact(_summary_amount(summary, _SUMMARY_CEILING), fields.get("ceiling"))
    for key, amount in (("budget", budget), ("award", award), ("ceiling", ceiling)):
        notice[f"{key}_cny"] = amount.value_cny if amount else None
        notice[f"{key}_raw"] = amount.raw if amount else None
    notice["tax_included"] = next(
        (a.tax_included for a in (award, budget, ceiling) if a and a.tax_included is not None), None
    )


# ccgp's summary writes 万元 with six decimals but fills them from a figure rounded to 0.01万 (100 元): a Guangdong
# award of 6,687,920.0元 in the body is ￥668.790000 万元 in the summary. Within that rounding, the body is exact.
_SUMMARY_ROUNDING = Decimal(100)


def _more_exact(summary: Amount | None, body: Amount | None) -> Amount | None:
    if body is None or body.value_cny is None:
        return summary
    if summary is None or summary.value_cny is None:
        return body
    return body if 0 < abs(body.value_cny - summary.value_cny) < _SUMMARY_ROUNDING else summary


def _summary_amount(summary: dict[str, str], labels: tuple[str, ...]) -> Amount | None:
    for label in labels:
        if summary.get(label):
            return parse_amount(summary[label])
    return None


def _fill_region(notice: dict[str, Any], summary: dict[str, str], listing: dict[str, Any]) -> None:
    region = _text(summary.get("行政区域")) or notice["region"]
    location = locate(region, _text(listing.get("region")), notice["buyer_address"], notice["buyer"])
    notice["region"] = region
    notice["province"] = location.province
    notice["city"] = location.city
    notice["region_code"] = location.region_code
    notice["region_en"] = location.region_en


def _fill_times(notice: dict[str, Any], summary: dict[str, str], fields: dict[str, Any]) -> None:
    opening = parse_datetime(summary.get("开标时间")) or fields.get("opening_at")
    first = _more_precise(parse_datetime(summary.get("首次公告日期")), fields.get("first_published_at"))
    corrected = _more_precise(parse_datetime(summary.get("更正日期")), fields.get("corrected_at"))
    for key, value in (
        ("deadline_at", fields.get("deadline_at")),
        ("opening_at", opening),
        ("first_published_at", first),
        ("corrected_at", corrected),
    ):
        notice[key] = value.isoformat() if value else None


def _more_precise(summary: datetime | None, body: datetime | None) -> datetime | None:
    """The summary gives the date; the body often the same date with its time: take the time when they agree."""
    if summary is None:
        return body
    if body is not None and body.date() == summary.date():
        return body
    return summary


def _lots_with_status(lots: list[dict[str, Any]], notice_type: str | None) -> list[dict[str, Any]]:
    if notice_type in _AWARDING_TYPES:
        for lot in lots:
            if lot["status"] is None and lot["suppliers"]:
                lot["status"] = "awarded"
    return lots


def _attachments(
    response: HtmlResponse, chrome: list[dict[str, Any]], body: list[dict[str, Any]]
) -> list[dict[str, str | None]]:
    found: list[dict[str, str | None]] = []
    for attachment in [*chrome, *body]:
        url = attachment.get("url")
        entry = {"name": attachment.get("name"), "url": response.urljoin(url) if url else None}
        if entry["name"] and entry not in found:
            found.append(entry)
    return found


def _first(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "", [])), None)


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = clean_line(value)
    return cleaned or None
