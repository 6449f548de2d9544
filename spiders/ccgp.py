"""中国政府采购网 www.ccgp.gov.cn: the national government-procurement portal (central and local notices).

Everything specific to ccgp lives here: column URLs and paging, the list item layout, notice ids in URLs, the
rate-limit page, and where the detail page keeps its title, date, breadcrumb and summary table. The notice body is
in the national MOF formats and is parsed by ``pipelines``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import lxml.etree
import lxml.html
import scrapy
from parsel.csstranslator import HTMLTranslator
from scrapy.http import Response

from pipelines.national.notice_types import CCGP_COLUMNS, classify
from spiders.base import SHANGHAI, BaseSpider
from spiders.common import by_detail_url

SOURCE = "ccgp"

_DETAIL_URL = re.compile(r"/cggg/(?P<level>zygg|dfgg)/(?:(?P<column>[a-z]+)/)?\d{6}/t(?P<day>\d{8})_(?P<id>\d+)\.htm")
_PAGER = re.compile(r"Pager\(\{\s*size:\s*(?P<size>\d+),\s*current:\s*(?P<current>\d+)")
_LIST_FIELD = re.compile(r"(发布时间|地域|采购人)：\s*$")
LEVELS = {"zygg": "central", "dfgg": "local"}


def notice_id_from_url(url: str) -> str | None:
    """The portal's own notice id: ``…/t20260928_27412423.htm`` → ``27412423``."""
    found = _DETAIL_URL.search(url)
    return found["id"] if found else None


def is_detail_url(url: str) -> bool:
    return _DETAIL_URL.search(url) is not None


def parse_list_page(response: Response) -> list[dict[str, Any]]:
    """The notices on a column list page (``ul.c_list_bid > li``), as list metadata dicts."""
    listings = []
    for item in response.css("ul.c_list_bid > li"):
        link = item.css("a")
        href = link.attrib.get("href")
        if not href:
            continue
        url = response.urljoin(href)
        fields: dict[str, str] = {}
        label = "type"
        # The li alternates text labels ("发布时间：") and <em> values; the first <em> is the notice type.
        for node in item.xpath("./text() | ./em"):
            raw = node.root if isinstance(node.root, str) else node.xpath("string(.)").get("")
            text = " ".join(raw.split())
            if isinstance(node.root, str):
                found = _LIST_FIELD.search(text)
                label = found[1] if found else label
            elif label:
                fields[label] = text
                label = None
        published = fields.get("发布时间", "")
        column = _column_of(url)
        title = (link.attrib.get("title") or link.xpath("string(.)").get("")).strip()
        notice_type = CCGP_COLUMNS.get(column or "")
        if notice_type in (None, "other"):
            # 其他公告 holds single-source, failed-bid and result notices: the title says which.
            notice_type = classify(title, fields.get("type")).code
        listings.append(
            {
                "url": url,
                "notice_id": notice_id_from_url(url),
                "title": title,
                "type_label": fields.get("type", ""),
                "notice_type": notice_type,
                "published": published,
                "region": fields.get("地域", ""),
                "buyer": fields.get("采购人", ""),
                "column": column,
                "level": _level_of(url),
            }
        )
    return listings


def read_list(response: Response) -> dict[str, dict[str, Any]]:
    """The listings of an archived column list page or keyword search page, by detail URL (reprocessing)."""
    found = parse_search_page(response) if urlsplit(response.url).path.endswith("/bxsearch") else None
    return by_detail_url(found if found is not None else parse_list_page(response))


def _column_of(url: str) -> str | None:
    found = _DETAIL_URL.search(url)
    return found["column"] if found else None


def _level_of(url: str) -> str | None:
    found = _DETAIL_URL.search(url)
    return LEVELS.get(found["level"]) if found else None


def parse_pager(response: Response) -> tuple[int, int] | None:
    """(page count, current zero-based page) from the inline ``Pager({size:N, current:K …})`` script."""
    found = _PAGER.search(response.text)
    if not found:
        return None
    return int(found["size"]), int(found["current"])


def list_page_url(base_url: str, column: str, page: int) -> str:
    name = "index.htm" if page == 0 else f"index_{page}.htm"
    return f"{base_url}/cggg/{column}/{name}"


# --- keyword search (search.ccgp.gov.cn/bxsearch) ---
# Parameters and result layout: ../shared/fixtures/real/STRUCTURE.md §1.4 (no real results page is stored; the
# tests use recorded pages written to that description).

SEARCH_TYPES = {"1": "title", "2": "full text"}
_OHTMLURLS = re.compile(r"var\s+ohtmlurls\s*=\s*[\"']([^\"']*)[\"']")
_SEARCH_PAGER = re.compile(r"Pager\(\{\s*size:\s*(?P<size>\d+)")
_SEARCH_TIME = re.compile(
    r"(?P<date>\d{4})[.\-/年](?P<month>\d{1,2})[.\-/月](?P<day>\d{1,2})日?(?P<time>\s+\d{1,2}:\d{2}(?::\d{2})?)?"
)
_SEARCH_LABELS = {"采购人": "buyer", "代理机构": "agency"}
# The span's unlabelled parts after the time, in order (chengguojun/ccgpspider splits the same way).
_SEARCH_PLAIN_FIELDS = ("type_label", "province", "category_path")


def search_page_url(
    base_url: str, keyword: str, page: int, start: date, end: date, search_type: str = "2", bid_type: str = "0"
) -> str:
    """One results page of a keyword search over a custom date range (``timeType=6``); ``page`` is 1-based."""
    query = {
        "searchtype": search_type,
        "page_index": page,
        "bidSort": 0,
        "buyerName": "",
        "projectId": "",
        "pinMu": 0,
        "bidType": bid_type,
        "dbselect": "bidx",
        "kw": keyword,
        "start_time": start.strftime("%Y:%m:%d"),
        "end_time": end.strftime("%Y:%m:%d"),
        "timeType": 6,
        "displayZone": "",
        "zoneId": "",
        "pppStatus": 0,
        "agentName": "",
    }
    return f"{base_url}/bxsearch?{urlencode(query)}"


def parse_search_page(response: Response) -> list[dict[str, Any]] | None:
    """The results of a bxsearch page as list metadata dicts; None when the page has no result list at all.

    Detail URLs come from ``var ohtmlurls`` (the real addresses, in result order) when it lists one per result,
    else from each result's ``<a href>``.
    """
    result_list = response.css("ul.vT-srch-result-list-bid")
    if not result_list:
        return None
    results = result_list[0].xpath("./li")
    script_urls = parse_ohtmlurls(response)
    use_script = script_urls is not None and len(script_urls) == len(results)
    listings = []
    for index, item in enumerate(results):
        link = item.css("a")
        href = script_urls[index] if use_script else link.attrib.get("href")
        if not href:
            continue
        url = response.urljoin(href)
        title = _search_title(item)
        fields = _parse_search_span(item)
        listings.append(
            {
                "url": url,
                "notice_id": notice_id_from_url(url),
                "title": title,
                "type_label": fields.get("type_label", ""),
                "notice_type": classify(title, fields.get("type_label")).code,
                "published": fields.get("published", ""),
                "region": fields.get("province", ""),
                "buyer": fields.get("buyer", ""),
                "agency": fields.get("agency", ""),
                "category_path": fields.get("category_path", ""),
                "summary": _search_summary(item),
                "column": _column_of(url),
                "level": _level_of(url),
            }
        )
    return listings


def parse_ohtmlurls(response: Response) -> list[str] | None:
    """The ``var ohtmlurls="u1,u2,…"`` list of a search page, or None when the page has none."""
    found = _OHTMLURLS.search(response.text)
    if not found:
        return None
    return [url.strip() for url in found[1].split(",") if url.strip()]


def parse_search_pager(response: Response) -> int | None:
    """Total result pages from the ``Pager({size:N, …})`` script, or None when the page has no pager."""
    found = _SEARCH_PAGER.search(response.text)
    return int(found["size"]) if found else None


def _search_title(item) -> str:
    """The result title without the ``<font color=red>`` keyword highlighting."""
    link = item.css("a")
    return " ".join(" ".join(link.xpath(".//text()").getall()).split()) or (link.attrib.get("title") or "").strip()


def _search_summary(item) -> str:
    return " ".join(" ".join(item.xpath("./p//text()").getall()).split())


def _parse_search_span(item) -> dict[str, str]:
    """``2026.09.23 12:30:10 | 采购人：X | 代理机构：Y <br/> 公告类型 | 省份 | 品目`` → named fields."""
    # The <br/> between the agency and the notice type separates fields like a "|" does.
    parts = [
        " ".join(node.get().split()) if isinstance(node.root, str) else "|"
        for node in item.xpath("./span//text() | ./span//br")
    ]
    text = " ".join(parts)
    fields: dict[str, str] = {}
    plain = iter(_SEARCH_PLAIN_FIELDS)
    for part in (p.strip() for p in text.split("|")):
        if not part:
            continue
        label, colon, value = part.partition("：") if "：" in part else part.partition(":")
        if colon and label.strip() in _SEARCH_LABELS:
            fields[_SEARCH_LABELS[label.strip()]] = value.strip()
        elif "published" not in fields and (published := _parse_search_time(part)):
            fields["published"] = published
        else:
            name = next(plain, None)
            if name:
                fields[name] = part
    return fields


def _parse_search_time(value: str) -> str | None:
    """``2026.09.23 12:30:10`` → ``2026-09-23 12:30:10`` (the column lists' form, which the flow reads)."""
    found = _SEARCH_TIME.match(value.strip())
    if not found:
        return None
    day = f"{found['date']}-{int(found['month']):02d}-{int(found['day']):02d}"
    return f"{day}{found['time'] or ''}".strip()


class CcgpSpider(BaseSpider):
    """Crawls ccgp.gov.cn newest first and fetches each notice's detail page.

    ``-a mode=columns`` (default): the announcement columns. Columns default to the two aggregate columns 中央公告
    (``zygg``) and 地方公告 (``dfgg``), which list every sub-column; ``-a columns=zygg/zbgg,dfgg/cjgg`` narrows to
    sub-columns. Paging stops at the first page whose notices are all older than ``from_date``.

    ``-a mode=search``: the keyword search ``search.ccgp.gov.cn/bxsearch`` over the date window, one query per
    keyword (``-a keywords=算力,A100``; default ``pipelines.matching.queries.search_terms()``), ``-a searchtype=1``
    (title) or ``2`` (full text, the default), ``-a bid_type=N`` (0 all). A notice found by several keywords is
    fetched once.
    """

    name = "ccgp"
    source = SOURCE
    base_url = "https://www.ccgp.gov.cn"
    # bxsearch answered 500 over https on 2026-10-03 while http worked (STRUCTURE.md §1.4); a class attribute, so
    # one line changes it back when the portal fixes its certificate set-up.
    search_scheme: ClassVar[str] = "http"
    search_host: ClassVar[str] = "search.ccgp.gov.cn"
    allowed_domains: ClassVar[list[str]] = ["www.ccgp.gov.cn", "ccgp.gov.cn", "search.ccgp.gov.cn"]
    default_columns: ClassVar[tuple[str, ...]] = ("zygg", "dfgg")
    modes: ClassVar[tuple[str, ...]] = ("columns", "search")
    block_markers: ClassVar[tuple[tuple[str, str], ...]] = (
        ("频繁访问", "ccgp rate-limit page (频繁访问)"),
        ("您的访问过于频繁", "ccgp rate-limit page (频繁访问)"),
    )

    def __init__(
        self,
        *args: Any,
        columns: str | None = None,
        mode: str | None = None,
        keywords: str | None = None,
        searchtype: str | None = None,
        bid_type: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.mode = (mode or "columns").strip()
        if self.mode not in self.modes:
            raise ValueError(f"unknown ccgp mode {mode!r}: expected one of {', '.join(self.modes)}")
        self.columns = tuple(c.strip("/ ") for c in columns.split(",")) if columns else self.default_columns
        for column in self.columns:
            if column.split("/")[0] not in LEVELS:
                raise ValueError(f"unknown ccgp column {column!r}: expected zygg[/sub] or dfgg[/sub]")
        self.search_type = (searchtype or "2").strip()
        if self.search_type not in SEARCH_TYPES:
            raise ValueError(f"searchtype must be 1 (title) or 2 (full text), got {searchtype!r}")
        self.bid_type = (bid_type or "0").strip()
        if not self.bid_type.isdigit():
            raise ValueError(f"bid_type must be a number (0 all, 1 公开招标 … 12 终止), got {bid_type!r}")
        if keywords:
            self.keywords = [k.strip() for k in keywords.split(",") if k.strip()]
        else:
            from pipelines.matching.queries import search_terms

            self.keywords = search_terms()
        # A mirror or test server answers the search on its own host, with the same path.
        self.search_base_url = self.base_url if kwargs.get("base_url") else f"{self.search_scheme}://{self.search_host}"

    async def start(self):
        if self.mode == "search":
            for keyword in self.keywords:
                yield self._search_request(keyword, 1)
            return
        for column in self.columns:
            yield scrapy.Request(
                list_page_url(self.base_url, column, 0),
                callback=self.parse,
                cb_kwargs={"column": column},
            )

    def parse(self, response: Response, column: str):
        if self.is_blocked(response):
            return
        listings = parse_list_page(response)
        self.note_list_page(response, len(listings))
        if not listings:
            self.note_empty_list(response)
            return
        if self.list_only:
            return
        if (yield from self.follow_listings(response, listings)):
            return
        pager = parse_pager(response)
        if pager is None:
            # Every real list page carries the pager script; without it the next page cannot be found.
            self.crawler.stats.inc_value("tenderwatch/next_page_lost")
            self.logger.warning("No pager on list page, paging stops: %s", response.url)
            return
        size, current = pager
        if current + 1 < size:
            yield scrapy.Request(
                list_page_url(self.base_url, column, current + 1),
                callback=self.parse,
                cb_kwargs={"column": column},
            )

    # --- keyword search ------------------------------------------------------------------------------------------

    def _search_window(self) -> tuple[date, date]:
        until = self.until_date or datetime.now(SHANGHAI).date()
        return self.from_date, until

    def _search_request(self, keyword: str, page: int) -> scrapy.Request:
        start, end = self._search_window()
        url = search_page_url(self.search_base_url, keyword, page, start, end, self.search_type, self.bid_type)
        return scrapy.Request(url, callback=self.parse_search, cb_kwargs={"keyword": keyword, "page": page})

    def parse_search(self, response: Response, keyword: str, page: int):
        if self.is_blocked(response):
            return
        listings = parse_search_page(response)
        if not self.note_search_page(response, listings):
            return
        for listing in listings:
            # The portal filters by date, so a result outside the window is another day's notice, not the end.
            if self.screen_listing(listing, prefilter=False) != "fetch":
                continue
            if not self.take_notice():
                return
            listing["keyword"] = keyword
            yield response.follow(listing["url"], callback=self.parse_detail, cb_kwargs={"listing": listing})
        pages = parse_search_pager(response)
        if pages is None:
            self.crawler.stats.inc_value("tenderwatch/next_page_lost")
            self.logger.warning("No pager on search page, paging stops: %s", response.url)
            return
        if page < pages:
            yield self._search_request(keyword, page + 1)

    def notice_id_of(self, response: Response, listing: dict[str, Any]) -> str:
        return notice_id_from_url(response.url) or listing["notice_id"]


# --- detail pages ---
# The ccgp chrome around a notice body: title, publish time, breadcrumb, the 公告概要 summary table and its
# attachments. The body inside ``div.vF_detail_content`` is in the national formats and read by ``pipelines``.

_DETAIL_LABEL_END = re.compile(r"[：:]+$")
_ATTACHMENT_LABEL = re.compile(r"^附件\s*\d*$")
_TITLE_SITE_SUFFIX = re.compile(r"[_\-|]\s*中国政府采购网\s*$")
_LEVEL_CRUMBS = {"中央公告": "central", "地方公告": "local"}


def _css(query: str) -> lxml.etree.XPath:
    """A CSS selector compiled once to lxml XPath, as parsel translates it (parsel re-translates on every call)."""
    return lxml.etree.XPath(HTMLTranslator().css_to_xpath(query))


# The detail page is read on the tree Scrapy already parsed (``response.selector.root``), with these compiled once.
# The crumbs (``div.vF_deail_currentloc a.CurrChnlCls, div.vF_detail_currentloc a.CurrChnlCls``), the summary
# labels (``div.table td.title``) and the body (``div.vF_detail_content``) are found in one scan of the page, not
# one each (a scan costs a fifth of parsing the page): every div whose class attribute holds one of these names
# (a superset: contains() also finds longer names), told apart by its class tokens, then searched inside.
_CRUMB_CLASSES = frozenset({"vF_deail_currentloc", "vF_detail_currentloc"})
_SUMMARY_CLASS = "table"
_BODY_CLASS = "vF_detail_content"
_CHROME_DIVS = lxml.etree.XPath(
    "descendant-or-self::div[@class and ("
    + " or ".join(f"contains(@class, '{name}')" for name in sorted({*_CRUMB_CLASSES, _SUMMARY_CLASS, _BODY_CLASS}))
    + ")]"
)
# Inside a container div (never an <a> nor a <td> itself), descendant-or-self:: finds its descendants.
_CRUMB_LINKS_IN = _css("a.CurrChnlCls")
_SUMMARY_LABELS_IN = _css("td.title")
# What normalize-space() leaves of a class attribute, split: CSS class selectors compare these tokens.
_XML_SPACES = re.compile(r"[ \t\r\n]+")
_HEADING_TEXT = lxml.etree.XPath(_css("div.vF_detail_header h2.tc").path + "/descendant-or-self::text()")
_PUB_TIME_TEXT = lxml.etree.XPath(_css("span#pubTime").path + "/text()")
_HEAD_TITLE = lxml.etree.XPath("/html/head/title/text()")
_LINKS_IN = _css("a")
# A handful of lookups per summary row, and meta tags: lxml's own iterators, not an XPath call each (an XPath call
# costs more than the little it finds here). Each gives what `.//text()`, `following-sibling::td[1]` and
# `//meta[@name=…]/@content` gave, checked on every element of the real and generated pages.


def _meta(root: Any, name: str) -> str | None:
    return next(
        (m.get("content") for m in root.iter("meta") if m.get("name") == name and m.get("content") is not None), None
    )


def _next_cell(cell: Any) -> Any:
    return next(cell.itersiblings("td"), None)


def _first(found: list) -> str | None:
    return str(found[0]) if found else None


def _texts(element: Any) -> str:
    if len(element) == 0:  # a leaf (most cells): its text is all itertext gives
        return element.text or ""
    return " ".join(element.itertext())


class _Chrome:
    """The page's crumb, summary and body divs, from one scan, each list in document order."""

    def __init__(self, root: Any) -> None:
        self.crumbs: list[Any] = []
        self.summaries: list[Any] = []
        self.bodies: list[Any] = []
        for div in _CHROME_DIVS(root):
            tokens = _XML_SPACES.split(div.get("class").strip(" \t\r\n"))
            if not _CRUMB_CLASSES.isdisjoint(tokens):
                self.crumbs.append(div)
            if _SUMMARY_CLASS in tokens:
                self.summaries.append(div)
            if _BODY_CLASS in tokens:
                self.bodies.append(div)


def _found_in(containers: list[Any], path: lxml.etree.XPath) -> list[Any]:
    """What ``path`` finds under any of the containers, once each, in document order: the containers come in
    document order, and one inside another only finds again what the outer one found."""
    found: list[Any] = []
    seen: set[Any] = set()
    for container in containers:
        for element in path(container):
            if element not in seen:
                seen.add(element)
                found.append(element)
    return found


def parse_detail_page(response: Response, *, serialize_body: bool = True) -> dict[str, Any]:
    """The ccgp chrome of a notice detail page; absent parts are None/empty (trimmed pages lack most of it).

    Returns ``title`` (meta ArticleTitle or the h2 heading), ``page_title`` (the ``<title>``: a fallback for pages
    trimmed of their chrome), ``published`` (as written), ``crumbs``, ``level`` (central/local), ``type_label`` (last
    crumb), ``summary`` (label → value text, first non-empty value of a repeated label), ``attachments``
    (``{name, id, url}`` from the summary's 附件 rows; ccgp leaves ``href`` empty and resolves ``id`` by script)
    ``body_html`` (the ``div.vF_detail_content`` element as HTML) and ``body`` (that element itself).

    ``serialize_body=False`` leaves ``body_html`` None: the normalizer reads ``body`` and writing the HTML out costs
    almost half of parsing the page.
    """
    root = response.selector.root
    chrome = _Chrome(root)
    links = _found_in(chrome.crumbs, _CRUMB_LINKS_IN)
    crumbs = [_detail_text(_texts(link)) or (link.get("title") or "").strip() for link in links]
    crumbs = [crumb for crumb in crumbs if crumb]
    level = next((_LEVEL_CRUMBS[c] for c in crumbs if c in _LEVEL_CRUMBS), None) or _level_of(response.url)
    summary, attachments = _detail_summary(response, _found_in(chrome.summaries, _SUMMARY_LABELS_IN))
    body = chrome.bodies
    return {
        "title": _detail_title(response),
        "page_title": _page_title(response),
        "published": _detail_text(_meta(root, "PubDate") or _first(_PUB_TIME_TEXT(root))) or summary.get("公告时间"),
        "crumbs": crumbs,
        "level": level,
        "type_label": crumbs[-1] if len(crumbs) >= 3 else None,
        "summary": summary,
        "attachments": attachments,
        "body_html": (
            lxml.html.tostring(body[0], encoding="unicode", method="html", with_tail=False)
            if body and serialize_body
            else None
        ),
        # The same element on the page's parsed tree: the normalizer reads it instead of parsing body_html again.
        "body": body[0] if body else None,
    }


def _detail_title(response: Response) -> str | None:
    root = response.selector.root
    # The heading is looked up only when the meta title is empty (each lookup is a scan of the whole page).
    return _detail_text(_meta(root, "ArticleTitle")) or _detail_text(" ".join(str(t) for t in _HEADING_TEXT(root)))


def _page_title(response: Response) -> str | None:
    return _detail_text(_TITLE_SITE_SUFFIX.sub("", _first(_HEAD_TITLE(response.selector.root)) or ""))


def _detail_summary(response: Response, label_cells: list[Any]) -> tuple[dict[str, str], list[dict[str, str | None]]]:
    """``div.table`` rows of ``td.title`` label cells, each followed by its value cell; each cell's text read once."""
    summary: dict[str, str] = {}
    attachments: list[dict[str, str | None]] = []
    for label_cell in label_cells:
        label = _DETAIL_LABEL_END.sub("", _detail_text(_texts(label_cell)) or "")
        value_cell = _next_cell(label_cell)
        if not label or value_cell is None:
            continue
        if _ATTACHMENT_LABEL.match(label):
            for link in _LINKS_IN(value_cell):
                name = _detail_text(_texts(link))
                if name:
                    href = (link.get("href") or "").strip()
                    anchor_id = (link.get("id") or "").strip() or None
                    url = response.urljoin(href) if href else download_url(response.url, anchor_id)
                    attachments.append({"name": name, "id": anchor_id, "url": url})
            continue
        if summary.get(label):
            continue
        value = _detail_text(_texts(value_cell))
        if value:
            summary[label] = value
    return summary, attachments


_DOWNLOAD_ID = re.compile(r"[0-9A-Za-z-]{8,80}")
_HYPHENATED_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def download_url(page_url: str, anchor_id: str | None) -> str | None:
    """Where a ``bizDownload`` attachment (empty href, the file id in ``id``) is served.

    Public ccgp scrapers all download it from ``download.ccgp.gov.cn/oss/download?uuid=<id>``; one reports that a
    hyphenated 36-character id answers over http only and a compact one over https only (docs/decisions.md,
    "Attachments"). A mirror or test server of the portal serves the same path on its own host.
    """
    if not anchor_id or not _DOWNLOAD_ID.fullmatch(anchor_id):
        return None
    query = urlencode({"uuid": anchor_id})
    host = urlsplit(page_url).hostname or ""
    if host == "ccgp.gov.cn" or host.endswith(".ccgp.gov.cn"):
        scheme = "http" if _HYPHENATED_UUID.fullmatch(anchor_id) else "https"
        return f"{scheme}://download.ccgp.gov.cn/oss/download?{query}"
    parts = urlsplit(page_url)
    return f"{parts.scheme}://{parts.netloc}/oss/download?{query}"


def _detail_text(value: str | None) -> str | None:
    # Runs of white space (str.isspace(): the regex \s, with the no-break and ideographic spaces) as one space,
    # stripped; split and join, without a regex pass.
    cleaned = " ".join(value.split()) if value else ""
    return cleaned or None
