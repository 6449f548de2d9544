"""What the pipelines need to know of a portal, as a type: the spiders fill it, the pipelines only read it.

A ``Portal`` carries the portal's readers and tests (detail page, list answer, detail URL, block, notice id) and
whether its layout was checked on real pages. ``spiders.registry.PORTALS`` holds one per source; code here takes
that mapping as an argument (``normalize(raw, portals)``, ``reprocess_archive(…, portals)``), so no module under
``pipelines/`` imports ``spiders/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response

# The listings of one list answer, keyed by the URL the spider fetches for each notice's detail.
Listings = dict[str, dict[str, Any]]


def page_as_served(response: Response) -> tuple[str, str] | None:
    """The notice of an ordinary detail page: its own URL and its decoded HTML."""
    return response.url, response.text


@dataclass(frozen=True)
class Night:
    """How a live nightly crawl reads a portal unless told otherwise: its spider arguments and its request budget.

    The budget is the most requests one crawl may make (``TENDERWATCH_MAX_REQUESTS``, ``spiders.completeness``);
    README states it per source with the minutes it takes at the polite rate (``DOWNLOAD_DELAY``).
    """

    # For people: "search, 14 keywords", "columns, title prefilter".
    mode: str
    # Spider arguments (-a); a --spider-arg of the same name wins.
    spider_args: tuple[tuple[str, str], ...]
    # Requests per crawl (list and detail pages).
    budget: int

    def minutes_at(self, delay_seconds: float) -> int:
        """Minutes the whole budget takes at one request per ``delay_seconds`` (rounded up)."""
        return -(-int(self.budget * delay_seconds) // 60)


@dataclass(frozen=True)
class Portal:
    # Host suffixes of the portal's pages: a page given by URL alone finds its source by host.
    hosts: tuple[str, ...]
    # detail response → {title, published, summary, attachments, body, body_html …}: the portal's chrome around the
    # body; ``body`` is the body element on the response's tree (``body_html`` may then be left None).
    read_detail: Callable[[Response], dict[str, Any]]
    # an archived list answer (HTML list page or POST API JSON) → its listings by detail URL; {} when it holds none.
    read_list: Callable[[Response], Listings]
    # Whether a URL is one the spider fetches a notice's detail from (as opposed to lists, searches, robots.txt).
    is_detail_url: Callable[[str], bool]
    # The spider's own judgement (status, size, markers, API codes), so crawling, replaying and reprocessing agree.
    block_reason: Callable[[Response], str | None]
    # A detail URL (or the notice's public page) → the portal's notice id, or None.
    notice_id: Callable[[str], str | None]
    # detail response → (the notice's URL, the HTML normalize reads); None when the answer holds no notice.
    # JSON APIs differ from their pages here: szggzy wraps its answer and names the public page.
    notice_page: Callable[[Response], tuple[str, str] | None]
    # True only when list and detail layouts are tested against real pages (../shared/fixtures/real).
    verified: bool
    # What the layout was built from, in one line.
    evidence: str
    # For people: the portal's name and address, and how the spider reads it (README's sources table is these).
    title: str = ""
    how: str = ""
    # For portals whose page may only point at the notice (ggzy's empty /b/ pages): the address the body must be
    # read from, or None when the page holds it; and (URL, HTML) from the page and that original, as the spider
    # yields them. Reprocessing answers the original from the archive, as the crawl fetched it.
    body_elsewhere: Callable[[Response], str | None] | None = None
    with_original: Callable[[Response, Response], tuple[str, str]] | None = None
    # For portals whose list answer is all there is (chinatelecom: its notice pages are a JavaScript application):
    # (the notice's URL, the HTML normalize reads) from one listing, as the spider yields it. Reprocessing builds
    # these notices from the archived list answers.
    notice_from_listing: Callable[[dict[str, Any]], tuple[str, str]] | None = None
    # How the default night crawls it (verified portals); None: with the spider's defaults and no budget.
    night: Night | None = None


Portals = Mapping[str, Portal]


def source_for_url(url: str | None, portals: Portals) -> str | None:
    """``https://www.ccgp.gov.cn/…`` → ``ccgp``; an unknown host is its own source name."""
    host = (urlsplit(url or "").hostname or "").lower()
    # The longest matching suffix wins: zfcg.szggzy.com is its own portal, not szggzy.com's.
    matches = [
        (len(suffix), source)
        for source, portal in portals.items()
        for suffix in portal.hosts
        if host == suffix or host.endswith("." + suffix)
    ]
    return max(matches)[1] if matches else (host or None)


def notice_id_for_url(url: str | None, source: str | None, portals: Portals) -> str | None:
    """The portal's notice id in ``url``; else (an unknown portal, an unusual URL) the URL's last path segment."""
    portal = portals.get(source or "")
    found = portal.notice_id(url or "") if portal else None
    if found:
        return found
    stem = PurePosixPath(urlsplit(url or "").path).stem
    return stem or None
