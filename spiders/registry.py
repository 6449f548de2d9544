"""Every portal the project can crawl, one ``Portal`` each: its readers, tests, hosts and how well it is known.

The type is ``pipelines.ingest.portals.Portal``; this module fills it from the spider modules, where each portal's
layout lives. Callers hand ``PORTALS`` to the pipelines (``normalize(raw, PORTALS)``, ``reprocess_archive(…,
PORTALS)``), so the pipelines never import the spiders. Which sources the nightly job runs is configuration
(``sources.enabled`` in tenderwatch.toml), not this list.
"""

from __future__ import annotations

from functools import partial

from pipelines.ingest.portals import Portal, page_as_served
from spiders import ccgp, epoint, freecms, ggzy, szggzy, university
from spiders.base import BaseSpider


def _epoint(site: type[epoint.EpointSpider], read_detail, verified: bool, evidence: str) -> Portal:
    return Portal(
        hosts=tuple(site.allowed_domains),
        read_detail=read_detail,
        read_list=partial(epoint.read_list, site=site),
        is_detail_url=epoint.is_detail_url,
        block_reason=site.block_reason,
        notice_id=epoint.notice_id_from_url,
        notice_page=page_as_served,
        verified=verified,
        evidence=evidence,
    )


def _freecms(site: type[freecms.FreecmsSpider], read_detail, evidence: str) -> Portal:
    return Portal(
        hosts=tuple(site.allowed_domains),
        read_detail=read_detail,
        read_list=partial(freecms.read_list, site=site),
        is_detail_url=freecms.is_detail_url,
        block_reason=site.block_reason,
        notice_id=freecms.notice_id_from_url,
        notice_page=page_as_served,
        verified=False,
        evidence=evidence,
    )


def _university(site: type[university.UniversitySpider], evidence: str) -> Portal:
    return Portal(
        hosts=tuple(site.allowed_domains),
        read_detail=university.detail_parser(site),
        read_list=partial(university.read_list, site=site),
        is_detail_url=partial(university.is_detail_url, site=site),
        block_reason=site.block_reason,
        notice_id=partial(university.notice_id_from_url, site=site),
        notice_page=page_as_served,
        verified=False,
        evidence=evidence,
    )


PORTALS: dict[str, Portal] = {
    "ccgp": Portal(
        hosts=("ccgp.gov.cn",),
        read_detail=ccgp.parse_detail_page,
        read_list=ccgp.read_list,
        is_detail_url=ccgp.is_detail_url,
        block_reason=ccgp.CcgpSpider.block_reason,
        notice_id=ccgp.notice_id_from_url,
        notice_page=page_as_served,
        verified=True,
        evidence="column list, detail pages and rate-limit page tested on the real pages in "
        "../shared/fixtures/real/ccgp",
    ),
    "ggzy": Portal(
        hosts=("ggzy.gov.cn",),
        read_detail=ggzy.parse_detail_page,
        read_list=ggzy.read_list,
        is_detail_url=ggzy.is_detail_url,
        block_reason=ggzy.GgzySpider.block_reason,
        notice_id=ggzy.notice_id_from_url,
        notice_page=page_as_served,
        # The list API alone is known: a notice's values come from the /b/ page, which no real copy confirms.
        verified=False,
        evidence="list API tested on real getTradList answers in ../shared/fixtures/real/ggzy; the /b/ detail "
        "chrome is unverified (public scrapers only)",
    ),
    "jsggzy": _epoint(
        epoint.JsggzySpider,
        epoint.parse_jsggzy_detail_page,
        verified=True,
        evidence="search API and detail page tested on the real answers in ../shared/fixtures/real/jsggzy",
    ),
    "scggzy": _epoint(
        epoint.ScggzySpider,
        epoint.parse_scggzy_detail_page,
        verified=False,
        evidence="unverified: layout from public scrapers and an interface note; tests/fixtures/scggzy written by us",
    ),
    "szggzy": Portal(
        hosts=("szggzy.com",),
        read_detail=szggzy.parse_detail_page,
        read_list=szggzy.read_list,
        is_detail_url=szggzy.is_detail_url,
        block_reason=szggzy.SzggzySpider.block_reason,
        notice_id=szggzy.notice_id_from_url,
        notice_page=szggzy.notice_page,
        verified=False,
        evidence="unverified: API shapes from a public scraper (2023); tests/fixtures/szggzy written by us",
    ),
    "plap": _freecms(
        freecms.PlapSpider,
        freecms.parse_plap_detail_page,
        "unverified: list API from the shared EVIDENCE.md and public scrapers (bidpilot and others), "
        "notice-page chrome guessed from other FreeCMS sites; tests/fixtures/freecms/plap written by us",
    ),
    "zycg": _freecms(
        freecms.ZycgSpider,
        freecms.parse_zycg_detail_page,
        "unverified: list API and notice-page chrome from public scrapers (bidpilot, infiniflow and others) and the "
        "shared EVIDENCE.md; tests/fixtures/freecms/zycg written by us",
    ),
    "szu": _university(
        university.SzuSpider,
        "unverified: URL pattern from public scrapers, selectors modelled on common university CMS layouts; "
        "tests/fixtures/university/szu written by us",
    ),
    "scu": _university(
        university.ScuSpider,
        "unverified: host guessed, selectors modelled on common university CMS layouts; "
        "tests/fixtures/university/scu written by us",
    ),
    "shu": _university(
        university.ShuSpider,
        "unverified: URL pattern from public scrapers, selectors modelled on common university CMS layouts; "
        "tests/fixtures/university/shu written by us",
    ),
}

# source → its spider class (the crawl runs it by name; tests and tools find the class here).
SPIDERS: dict[str, type[BaseSpider]] = {
    "ccgp": ccgp.CcgpSpider,
    "ggzy": ggzy.GgzySpider,
    **{site.name: site for site in epoint.SPIDERS},
    "szggzy": szggzy.SzggzySpider,
    **{site.name: site for site in freecms.SPIDERS},
    **{site.name: site for site in university.SPIDERS},
}
