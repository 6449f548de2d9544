"""Every portal the project can crawl, one ``Portal`` each: its readers, tests, hosts and how well it is known.

The type is ``pipelines.ingest.portals.Portal``; this module fills it from the spider modules, where each portal's
layout lives. Callers hand ``PORTALS`` to the pipelines (``normalize(raw, PORTALS)``, ``reprocess_archive(…,
PORTALS)``), so the pipelines never import the spiders. Which sources the nightly job runs is configuration
(``sources.enabled`` in tenderwatch.toml), not this list.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pipelines.ingest.portals import Night, Portal, page_as_served
from spiders import ccgp, chinabidding, chinatelecom, epoint, freecms, ggzy, szggzy, university
from spiders.base import BaseSpider
from spiders.names import PORTAL_NAMES

# The default night's search terms: 14 instead of search_terms()'s 52, since each keyword costs at least one request
# per portal per night. Full-text searches match inside words, so a short term stands for its longer forms (GPU for
# GPU服务器, 算力 for 算力租赁, 云服务 for 云服务器, 4090 for RTX 4090D, H20 for H200); the matcher reads every
# notice found for the rest (docs/decisions.md, "A default night that finishes").
NIGHT_KEYWORDS: tuple[str, ...] = (
    "GPU", "算力", "智算", "显卡", "加速卡", "英伟达", "A100", "A800", "H100", "H800", "H20", "4090",
    "云服务", "大模型",
)  # fmt: skip
_NIGHT_SEARCH = ("keywords", ",".join(NIGHT_KEYWORDS))


def _epoint(site: type[epoint.EpointSpider], read_detail, **described: Any) -> Portal:
    """An Epoint site's portal; ``described`` are the fields that tell about it (verified, evidence, title, how)."""
    return Portal(
        hosts=tuple(site.allowed_domains),
        read_detail=read_detail,
        read_list=partial(epoint.read_list, site=site),
        is_detail_url=epoint.is_detail_url,
        block_reason=site.block_reason,
        notice_id=epoint.notice_id_from_url,
        notice_page=page_as_served,
        **described,
    )


def _freecms(site: type[freecms.FreecmsSpider], read_detail, **described: Any) -> Portal:
    """A FreeCMS site's portal: unverified; ``described`` are evidence, title and how."""
    return Portal(
        hosts=tuple(site.allowed_domains),
        read_detail=read_detail,
        read_list=partial(freecms.read_list, site=site),
        is_detail_url=freecms.is_detail_url,
        block_reason=site.block_reason,
        notice_id=freecms.notice_id_from_url,
        notice_page=page_as_served,
        verified=False,
        **described,
    )


def _university(site: type[university.UniversitySpider], **described: Any) -> Portal:
    return Portal(
        hosts=tuple(site.allowed_domains),
        read_detail=university.detail_parser(site),
        read_list=partial(university.read_list, site=site),
        is_detail_url=partial(university.is_detail_url, site=site),
        block_reason=site.block_reason,
        notice_id=partial(university.notice_id_from_url, site=site),
        notice_page=page_as_served,
        verified=False,
        **described,
    )


PORTALS: dict[str, Portal] = {
    "ccgp": Portal(
        hosts=("ccgp.gov.cn",),
        # The normalizer reads the body element on the page's tree: its HTML is not written out.
        read_detail=partial(ccgp.parse_detail_page, serialize_body=False),
        read_list=ccgp.read_list,
        is_detail_url=ccgp.is_detail_url,
        block_reason=ccgp.CcgpSpider.block_reason,
        notice_id=ccgp.notice_id_from_url,
        notice_page=page_as_served,
        verified=True,
        evidence="column list, detail pages and rate-limit page tested on the real pages in "
        "../shared/fixtures/real/ccgp",
        title="中国政府采购网 www.ccgp.gov.cn",
        how="column list pages + detail pages; `-a mode=search`: the `bxsearch` keyword search",
        # 14 keywords over a two-day window: a few dozen search pages; the rest is detail pages (the hits).
        night=Night(
            mode=f"search, {len(NIGHT_KEYWORDS)} keywords", spider_args=(("mode", "search"), _NIGHT_SEARCH), budget=400
        ),  # fmt: skip
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
        body_elsewhere=ggzy.body_elsewhere,
        with_original=ggzy.with_original,
        title="全国公共资源交易平台 www.ggzy.gov.cn",
        how="`getTradList` JSON API (政府采购) with `-a keywords=GPU,算力`, `-a province=… -a city=…`, "
        "`-a history=true`; `/b/` detail pages, or the provincial original an empty one links to",
    ),
    "jsggzy": _epoint(
        epoint.JsggzySpider,
        epoint.parse_jsggzy_detail_page,
        verified=True,
        evidence="search API and detail page tested on the real answers in ../shared/fixtures/real/jsggzy",
        title="江苏省公共资源交易网 jsggzy.jszwfw.gov.cn",
        how="Epoint `getFullTextDataNew` API (category 003004002; `-a keywords=…` searches), detail pages",
        # One province: fewer hits than ccgp's whole country, the same keywords.
        night=Night(mode=f"search, {len(NIGHT_KEYWORDS)} keywords", spider_args=(_NIGHT_SEARCH,), budget=200),
    ),
    "scggzy": _epoint(
        epoint.ScggzySpider,
        epoint.parse_scggzy_detail_page,
        verified=False,
        evidence="unverified: layout from public scrapers and an interface note; tests/fixtures/scggzy written by us",
        title="四川省公共资源交易网 ggzyjy.sc.gov.cn",
        how="Epoint API (category 002002001, notices of 四川省政府采购网; `-a keywords=…` searches), detail pages",
    ),
    "szzfcg": _epoint(
        epoint.SzzfcgSpider,
        epoint.parse_szzfcg_detail_page,
        verified=False,
        evidence="unverified: list path, search API cnum and detail selectors from a public scraper (2025-12); "
        "tests/fixtures/szzfcg written by us",
        title="深圳政府采购 zfcg.szggzy.com:8081 (the city's procurement centre: SUSTech, 鹏城实验室, "
        "the universities)",
        how="Epoint API (category 002001001; `-a keywords=…` searches), detail pages",
    ),
    "szggzy": Portal(
        hosts=("szggzy.com", "www.szexgrp.com"),  # not ygcg.szexgrp.com: another portal
        read_detail=szggzy.parse_detail_page,
        read_list=szggzy.read_list,
        is_detail_url=szggzy.is_detail_url,
        block_reason=szggzy.SzggzySpider.block_reason,
        notice_id=szggzy.notice_id_from_url,
        notice_page=szggzy.notice_page,
        verified=False,
        evidence="unverified: API shapes from public scrapers (2023, 2025-26); tests/fixtures/szggzy written by us",
        title="深圳公共资源交易中心 www.szggzy.com (the same API on www.szexgrp.com: `-a base_url=https://www.szexgrp.com`)",
        how="list and detail JSON APIs; `-a keywords=…` searches titles",
    ),
    "plap": _freecms(
        freecms.PlapSpider,
        freecms.parse_plap_detail_page,
        evidence="unverified: list API from the shared EVIDENCE.md and public scrapers (bidpilot and others), "
        "notice-page chrome guessed from other FreeCMS sites; tests/fixtures/freecms/plap written by us",
        title="军队采购网 www.plap.mil.cn (military units)",
        how="FreeCMS `selectInfoMoreChannel.do` JSON list, title search by default (`-a keywords=…`, "
        "`-a mode=channel` for the whole channel), notice pages",
    ),
    "zycg": _freecms(
        freecms.ZycgSpider,
        freecms.parse_zycg_detail_page,
        evidence="unverified: list API and notice-page chrome from public scrapers (bidpilot, infiniflow and others) "
        "and the shared EVIDENCE.md; tests/fixtures/freecms/zycg written by us",
        title="中央政府采购网 www.zycg.gov.cn (central ministries)",
        how="FreeCMS `selectInfoMore.do` JSON list (采购公告, 单位委托项目), title search by default, notice pages",
    ),
    "chinabidding": Portal(
        hosts=tuple(chinabidding.ChinabiddingSpider.allowed_domains),
        read_detail=chinabidding.parse_detail_page,
        read_list=chinabidding.read_list,
        is_detail_url=chinabidding.is_detail_url,
        block_reason=chinabidding.ChinabiddingSpider.block_reason,
        notice_id=chinabidding.notice_id_from_url,
        notice_page=page_as_served,
        verified=False,
        evidence="unverified: list API and detail address from the shared EVIDENCE.md and public scrapers (bidpilot "
        "and others), page title and date chrome guessed; tests/fixtures/chinabidding written by us",
        title="中国国际招标网 chinabidding.mofcom.gov.cn (机电产品国际招标: imported servers and accelerators)",
        how="`bulletinInfoList` JSON list, one keyword search per notice type (`-a keywords=…`), notice pages",
    ),
    "chinatelecom": Portal(
        hosts=tuple(chinatelecom.ChinatelecomSpider.allowed_domains),
        read_detail=chinatelecom.parse_detail_page,
        read_list=chinatelecom.read_list,
        is_detail_url=chinatelecom.is_detail_url,
        block_reason=chinatelecom.ChinatelecomSpider.block_reason,
        notice_id=chinatelecom.notice_id_from_url,
        notice_page=chinatelecom.notice_page,
        notice_from_listing=chinatelecom.notice_document,
        verified=False,
        evidence="unverified: list API from the shared EVIDENCE.md and public clients; no detail API is agreed on, "
        "so a notice is its list record; tests/fixtures/chinatelecom written by us",
        title="中国电信阳光采购网 caigou.chinatelecom.com.cn (China Telecom, a large buyer of AI servers)",
        how="`queryListNew` JSON list, one title search per notice type (`-a keywords=…`); the notice is the list "
        "record (title, date, type, province) under its public page, whose text is not read",
    ),
    "szu": _university(
        university.SzuSpider,
        evidence="unverified: host, list path, datanews fields and detail URLs from a public scraper (2025-12), VSB "
        "detail selectors modelled on the common layout; tests/fixtures/university/szu written by us",
        title="深圳大学招投标管理中心 bidding.szu.edu.cn",
        how="VSB CMS list pages (a `datanews` script array) + detail pages",
    ),
    "shu": _university(
        university.ShuSpider,
        evidence="unverified: URL pattern from public scrapers, selectors modelled on common university CMS layouts; "
        "tests/fixtures/university/shu written by us",
        title="上海大学招投标 bidding.shu.edu.cn",
        how="CMS list pages + detail pages",
    ),
}

# source → its spider class (the crawl runs it by name; tests and tools find the class here).
SPIDERS: dict[str, type[BaseSpider]] = {
    "ccgp": ccgp.CcgpSpider,
    "ggzy": ggzy.GgzySpider,
    **{site.name: site for site in epoint.SPIDERS},
    "szggzy": szggzy.SzggzySpider,
    **{site.name: site for site in freecms.SPIDERS},
    "chinabidding": chinabidding.ChinabiddingSpider,
    "chinatelecom": chinatelecom.ChinatelecomSpider,
    **{site.name: site for site in university.SPIDERS},
}

if set(PORTALS) != PORTAL_NAMES or set(SPIDERS) != PORTAL_NAMES:
    raise RuntimeError(f"spiders/names.py lists {sorted(PORTAL_NAMES)}; the registry has {sorted(PORTALS)}")
