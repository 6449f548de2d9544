"""University bidding sites (高校招标采购网): simple CMS list pages and notice pages, one configurable spider.

Small cloud, GPU-server and LLM-token purchases show up on universities' own bidding sites before (or instead of)
the provincial portals. Each site is a subclass that only sets class attributes: list page paths, the selectors of
a list item, its link and its date, the next-page link, the notice id in a detail URL, and the detail page's title,
date and body selectors. Lists are newest first: paging stops at the first page reaching past ``from_date``.

Configured: ``szu`` 深圳大学招投标管理中心 (bidding.szu.edu.cn, a VSB/博达 CMS whose list pages carry their
notices as a ``var datanews=[…]`` script array, notices at ``/info/1029/<id>.htm`` that mostly link to the original
on the city's procurement platform) and ``shu`` 上海大学 (bidding.shu.edu.cn, ``/sy/xtgg_list.jsp`` lists with
``ul.listPageList``, notices at ``xtgg_detail.jsp?…&wid=N``, the time in the second ``div.text_right``).

**Unverified against the live sites**: no real page of either was available. What rests on evidence
(``../shared/fixtures/real/EVIDENCE.md``, "university.py"): szu's host, list path, ``datanews`` fields and detail
URLs (a public scraper of 2025-12); shu's list URL, list items and detail selectors (a public scraper). The VSB detail
selectors of szu are modelled on the common VSB layout, and the recorded pages in ``tests/fixtures/university/``
were written by us to match. Check them on the first live crawl.

Not crawled: the logistics department's board ``www1.szu.edu.cn/bids`` (后勤保障部, no notice after 2023-05) that an
earlier version took for the university's procurement site, and 四川大学: no public evidence names its procurement
site (``zbb.scu.edu.cn`` occurs nowhere; ``cgzx.scu.edu.cn`` is the sports-venue booking centre).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response

from pipelines.national.notice_types import classify
from spiders.base import BaseSpider
from spiders.common import by_detail_url, clean, first_datetime_text, node_text


def listing_from_item(item: Any, response: Response, site: type[UniversitySpider]) -> dict[str, Any] | None:
    """List metadata of one list item, or None when it holds no notice link."""
    link = item.css(site.link_selector)
    href = link.attrib.get("href") if link else None
    if not href or href.startswith(("javascript", "#")):
        return None
    url = response.urljoin(href)
    title = clean(link.attrib.get("title")) or node_text(link) or ""
    dated = item.css(site.date_selector) if site.date_selector else item
    published = first_datetime_text(node_text(dated)) or ""
    return {
        "url": url,
        "notice_id": notice_id_from_url(url, site) or "",
        "title": title,
        "type_label": "",
        "notice_type": classify(title).code,
        "published": published,
        "region": site.region,
        "buyer": site.university,
    }


def parse_list_page(response: Response, site: type[UniversitySpider]) -> list[dict[str, Any]]:
    if site.list_script_variable:
        return _script_listings(response, site)
    listings = (listing_from_item(item, response, site) for item in response.css(site.list_item_selector))
    return [listing for listing in listings if listing]


# One entry of a VSB ``datanews`` array: a flat object with one nested ``url:{asString:…}``; keys quoted or not.
_SCRIPT_ENTRY = re.compile(r"\{[^{}]*\{[^{}]*\}[^{}]*\}|\{[^{}]*\}")
_SCRIPT_FIELD = re.compile(
    r"""["']?(?P<key>\w+)["']?\s*:\s*(?P<quote>["'])(?P<value>(?:\\.|(?!(?P=quote)).)*)(?P=quote)"""
)


def _script_listings(response: Response, site: type[UniversitySpider]) -> list[dict[str, Any]]:
    """Listings from ``var <name>=[{date,showTitle,tipsTitle,showDate,url:{asString}}, …]`` in the page's scripts."""
    array = re.search(rf"var\s+{re.escape(site.list_script_variable)}\s*=\s*\[(?P<body>.*?)\]\s*;", response.text, re.S)
    listings = []
    for entry in _SCRIPT_ENTRY.findall(array["body"]) if array else []:
        fields = {found["key"]: found["value"] for found in _SCRIPT_FIELD.finditer(entry)}
        href = fields.get("asString")
        if not href:
            continue
        url = response.urljoin(href)
        # showTitle is cut to fit the column; tipsTitle is the whole title.
        title = clean(fields.get("tipsTitle")) or clean(fields.get("showTitle")) or ""
        listings.append({
            "url": url,
            "notice_id": notice_id_from_url(url, site) or "",
            "title": title,
            "type_label": "",
            "notice_type": classify(title).code,
            "published": first_datetime_text(fields.get("date")) or "",
            "region": site.region,
            "buyer": site.university,
        })  # fmt: skip
    return listings


def read_list(response: Response, site: type[UniversitySpider]) -> dict[str, dict[str, Any]]:
    """The listings of an archived list page of ``site``, by detail URL (reprocessing)."""
    return by_detail_url(parse_list_page(response, site))


def is_detail_url(url: str, site: type[UniversitySpider]) -> bool:
    return notice_id_from_url(url, site) is not None


def next_page_url(response: Response, site: type[UniversitySpider]) -> str | None:
    href = response.xpath(site.next_page_xpath).get() if site.next_page_xpath else None
    if not href or href.strip().startswith(("javascript", "#")):
        return None
    url = response.urljoin(href.strip())
    return url if url != response.url else None


def notice_id_from_url(url: str, site: type[UniversitySpider]) -> str | None:
    found = re.search(site.notice_id_pattern, url)
    return found["id"] if found else None


class UniversitySpider(BaseSpider):
    """Base of the university spiders: a subclass sets the site's class attributes and nothing else."""

    source: ClassVar[str]
    university: ClassVar[str]  # the buyer every notice of the site names
    region: ClassVar[str]
    list_paths: ClassVar[tuple[str, ...]]
    list_item_selector: ClassVar[str]
    link_selector: ClassVar[str] = "a"
    # Set when the list page carries its notices as a script array (VSB ``datanews``) rather than as markup.
    list_script_variable: ClassVar[str | None] = None
    # None: the first date written anywhere in the item.
    date_selector: ClassVar[str | None] = None
    next_page_xpath: ClassVar[str | None] = "//a[contains(normalize-space(.), '下一页') or contains(., '下页')]/@href"
    max_list_pages: ClassVar[int] = 30
    notice_id_pattern: ClassVar[str]  # a regex with a group named ``id``, searched in the detail URL
    detail_title_selector: ClassVar[str]
    # Every node it matches is tried in turn: the first holding a date gives the publish time.
    detail_date_selector: ClassVar[str]
    detail_body_selector: ClassVar[str]

    async def start(self):
        for path in self.list_paths:
            yield scrapy.Request(f"{self.base_url}{path}", callback=self.parse, cb_kwargs={"page": 1})

    def parse(self, response: Response, page: int = 1):
        if self.is_blocked(response):
            return
        listings = parse_list_page(response, type(self))
        if not listings:
            self.note_empty_list(response)
            return
        stop = yield from self.follow_listings(response, listings)
        if stop or page >= self.max_list_pages:
            return
        following = next_page_url(response, type(self))
        if following:
            yield scrapy.Request(following, callback=self.parse, cb_kwargs={"page": page + 1})

    def notice_id_of(self, response: Response, listing: dict[str, Any]) -> str:
        return notice_id_from_url(response.url, type(self)) or listing["notice_id"]


class SzuSpider(UniversitySpider):
    """深圳大学招投标管理中心 bidding.szu.edu.cn: Shenzhen University's procurement notices (VSB CMS, unverified)."""

    name = "szu"
    source = "szu"
    university = "深圳大学"
    region = "广东省深圳市"
    base_url = "https://bidding.szu.edu.cn"
    allowed_domains: ClassVar[list[str]] = ["bidding.szu.edu.cn"]
    # 采购意向公开 under 采购公告, the column the evidence names.
    list_paths = ("/cggg/cgyxgk.htm",)
    list_script_variable = "datanews"
    list_item_selector = ""
    notice_id_pattern = r"/info/\d+/(?P<id>\d+)\.htm"
    detail_title_selector = "form[name='_newscontent_fromname'] h1, div.article h1"
    detail_date_selector = "div.article div.info span, div.info span"
    detail_body_selector = "div.v_news_content"


class ShuSpider(UniversitySpider):
    """上海大学招投标 bidding.shu.edu.cn: Shanghai University's bidding notices (selectors unverified)."""

    name = "shu"
    source = "shu"
    university = "上海大学"
    region = "上海市"
    base_url = "https://bidding.shu.edu.cn"
    allowed_domains: ClassVar[list[str]] = ["bidding.shu.edu.cn"]
    list_paths = ("/sy/xtgg_list.jsp?gglx2bh=KCGG_A&page=1&searchText=",)
    list_item_selector = "ul.listPageList li"
    date_selector = "span"
    notice_id_pattern = r"[?&]wid=(?P<id>\d+)"
    detail_title_selector = "div.artical_tit"
    detail_date_selector = "div.text_right"
    detail_body_selector = "div.artical_text"


SPIDERS: tuple[type[UniversitySpider], ...] = (SzuSpider, ShuSpider)


# --- detail pages ---
# A university notice page: title, a line with the publish (or update) time, and the notice body, at the selectors
# the site's class names. ``detail_parser(site)`` gives the site's ``response → fields`` reader for the registry.


def parse_detail_page(response: Response, site: type[UniversitySpider]) -> dict[str, Any]:
    """``title``, ``published`` (as written), ``attachments``, ``body_html`` of a university notice page."""
    published = next(
        (found for node in response.css(site.detail_date_selector) if (found := first_datetime_text(node_text(node)))),
        None,
    )
    body = response.css(site.detail_body_selector)
    attachments = []
    for link in body.css("a[href]") if body else []:
        href = link.attrib["href"].strip()
        name = node_text(link)
        if name and re.search(r"\.(pdf|docx?|xlsx?|zip|rar)$|download|attach", href, flags=re.I):
            attachments.append({"name": name, "url": response.urljoin(href)})
    return {
        "title": node_text(response.css(site.detail_title_selector))
        or clean(response.xpath("/html/head/title/text()").get()),
        "published": published,
        "summary": {},
        "attachments": attachments,
        "body_html": body[0].get() if body else None,
        # The element itself: the normalizer reads the body on this tree instead of parsing body_html again.
        "body": body[0].root if body else None,
    }


def detail_parser(site: type[UniversitySpider]):
    """The detail-page parser of one configured site."""

    def parse(response: Response) -> dict[str, Any]:
        return parse_detail_page(response, site)

    parse.__name__ = f"parse_{site.name}_detail_page"
    return parse
