"""中国政府采购网 www.ccgp.gov.cn: the national government-procurement portal (central and local notices).

Everything specific to ccgp lives here: column URLs and paging, the list item layout, notice ids in URLs, the
rate-limit page, and where the detail page keeps its title, date, breadcrumb and summary table. The notice body is
in the national MOF formats and is parsed by ``pipelines``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response

from pipelines.notice_types import CCGP_COLUMNS, classify
from spiders.base import BaseSpider

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


class CcgpSpider(BaseSpider):
    """Crawls the ccgp.gov.cn announcement columns newest first and fetches each notice's detail page.

    Columns default to the two aggregate columns 中央公告 (``zygg``) and 地方公告 (``dfgg``), which list every
    sub-column; ``-a columns=zygg/zbgg,dfgg/cjgg`` narrows to sub-columns. Paging stops at the first page whose
    notices are all older than ``from_date``.
    """

    name = "ccgp"
    source = SOURCE
    base_url = "https://www.ccgp.gov.cn"
    allowed_domains: ClassVar[list[str]] = ["www.ccgp.gov.cn", "ccgp.gov.cn"]
    default_columns: ClassVar[tuple[str, ...]] = ("zygg", "dfgg")
    block_markers: ClassVar[tuple[tuple[str, str], ...]] = (
        ("频繁访问", "ccgp rate-limit page (频繁访问)"),
        ("您的访问过于频繁", "ccgp rate-limit page (频繁访问)"),
    )

    def __init__(self, *args: Any, columns: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.columns = tuple(c.strip("/ ") for c in columns.split(",")) if columns else self.default_columns
        for column in self.columns:
            if column.split("/")[0] not in LEVELS:
                raise ValueError(f"unknown ccgp column {column!r}: expected zygg[/sub] or dfgg[/sub]")

    async def start(self):
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
        if not listings:
            self.note_empty_list(response)
            return
        reached_older = False
        for listing in listings:
            published = _list_date(listing["published"])
            if published is None:
                self.crawler.stats.inc_value("tenderwatch/list_items_without_date")
            elif self.is_too_new(published):
                continue
            elif self.is_too_old(published):
                reached_older = True
                continue
            if not listing["notice_id"]:
                self.crawler.stats.inc_value("tenderwatch/list_items_without_id")
                continue
            if not self.take_notice():
                return
            yield response.follow(listing["url"], callback=self.parse_detail, cb_kwargs={"listing": listing})
        if reached_older:
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

    def parse_detail(self, response: Response, listing: dict[str, Any]):
        if self.is_blocked(response):
            return
        if response.status != 200:
            self.crawler.stats.inc_value("tenderwatch/detail_errors")
            return
        yield {
            "source": self.source,
            "notice_id": notice_id_from_url(response.url) or listing["notice_id"],
            "url": response.url,
            "listing": listing,
            "fetched_at": datetime.now(UTC).isoformat(),
            "status": response.status,
            "encoding": response.encoding,
            "html": response.text,
        }


def _list_date(value: str) -> date | None:
    try:
        return datetime.strptime(value[:10], "%Y-%m-%d").date()
    except ValueError:
        return None


# --- detail pages ---
# The ccgp chrome around a notice body: title, publish time, breadcrumb, the 公告概要 summary table and its
# attachments. The body inside ``div.vF_detail_content`` is in the national formats and read by ``pipelines``.

_DETAIL_SPACES = re.compile(r"[\s\u00a0\u3000]+")
_DETAIL_LABEL_END = re.compile(r"[：:]+$")
_ATTACHMENT_LABEL = re.compile(r"^附件\s*\d*$")
_TITLE_SITE_SUFFIX = re.compile(r"[_\-|]\s*中国政府采购网\s*$")
_LEVEL_CRUMBS = {"中央公告": "central", "地方公告": "local"}


def parse_detail_page(response: Response) -> dict[str, Any]:
    """The ccgp chrome of a notice detail page; absent parts are None/empty (trimmed pages lack most of it).

    Returns ``title`` (meta ArticleTitle or the h2 heading), ``page_title`` (the ``<title>``: a fallback for pages
    trimmed of their chrome), ``published`` (as written), ``crumbs``, ``level`` (central/local), ``type_label`` (last
    crumb), ``summary`` (label → value text, first non-empty value of a repeated label), ``attachments``
    (``{name, id, url}`` from the summary's 附件 rows; ccgp leaves ``href`` empty and resolves ``id`` by script)
    and ``body_html`` (the ``div.vF_detail_content`` element as HTML).
    """
    crumbs = [
        _detail_text(" ".join(link.xpath(".//text()").getall())) or (link.attrib.get("title") or "").strip()
        for link in response.css("div.vF_deail_currentloc a.CurrChnlCls, div.vF_detail_currentloc a.CurrChnlCls")
    ]
    crumbs = [crumb for crumb in crumbs if crumb]
    level = next((_LEVEL_CRUMBS[c] for c in crumbs if c in _LEVEL_CRUMBS), None) or _level_of(response.url)
    summary, attachments = _detail_summary(response)
    body = response.css("div.vF_detail_content")
    return {
        "title": _detail_title(response),
        "page_title": _page_title(response),
        "published": _detail_text(
            response.xpath("//meta[@name='PubDate']/@content").get() or response.css("span#pubTime::text").get()
        )
        or summary.get("公告时间"),
        "crumbs": crumbs,
        "level": level,
        "type_label": crumbs[-1] if len(crumbs) >= 3 else None,
        "summary": summary,
        "attachments": attachments,
        "body_html": body[0].get() if body else None,
    }


def _detail_title(response: Response) -> str | None:
    for candidate in (
        response.xpath("//meta[@name='ArticleTitle']/@content").get(),
        " ".join(response.css("div.vF_detail_header h2.tc ::text").getall()),
    ):
        title = _detail_text(candidate)
        if title:
            return title
    return None


def _page_title(response: Response) -> str | None:
    return _detail_text(_TITLE_SITE_SUFFIX.sub("", response.xpath("/html/head/title/text()").get() or ""))


def _detail_summary(response: Response) -> tuple[dict[str, str], list[dict[str, str | None]]]:
    """``div.table`` rows of ``td.title`` label cells, each followed by its value cell."""
    summary: dict[str, str] = {}
    attachments: list[dict[str, str | None]] = []
    for label_cell in response.css("div.table td.title"):
        label = _DETAIL_LABEL_END.sub("", _detail_text(" ".join(label_cell.xpath(".//text()").getall())) or "")
        value_cell = label_cell.xpath("following-sibling::td[1]")
        if not label or not value_cell:
            continue
        if _ATTACHMENT_LABEL.match(label):
            for link in value_cell.css("a"):
                name = _detail_text(" ".join(link.xpath(".//text()").getall()))
                if name:
                    href = (link.attrib.get("href") or "").strip()
                    attachments.append(
                        {
                            "name": name,
                            "id": link.attrib.get("id") or None,
                            "url": response.urljoin(href) if href else None,
                        }
                    )
            continue
        value = _detail_text(" ".join(value_cell.xpath(".//text()").getall()))
        if value and not summary.get(label):
            summary[label] = value
    return summary, attachments


def _detail_text(value: str | None) -> str | None:
    cleaned = _DETAIL_SPACES.sub(" ", value or "").strip()
    return cleaned or None
