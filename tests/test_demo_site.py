"""The demo sample site (demo/): the committed archive and pages match a fresh build, the list pages parse the way
the ccgp spider reads them, and the ground truth is rich enough for the demo and agrees with the pages."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from scrapy.http import HtmlResponse

from demo import build_demo
from pipelines.ingest.warc import iter_responses
from spiders.base import GENERIC_BLOCK_MARKERS
from spiders.ccgp import CcgpSpider, notice_id_from_url, parse_list_page, parse_pager

DEMO = Path(build_demo.__file__).resolve().parent
SITE = DEMO / "site"
WARC = DEMO / build_demo.WARC_NAME
EXPECTED = json.loads((DEMO / build_demo.EXPECTED_NAME).read_text(encoding="utf-8"))
NOTICES = EXPECTED["notices"]
LIST_PAGES = sorted(SITE.rglob("index*.htm"))
_PAGER = re.compile(r"Pager\(\{size:(\d+), current:(\d+), prefix:'index',suffix:'htm'\}\);")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> build_demo.BuildResult:
    return build_demo.build(tmp_path_factory.mktemp("demo"))


def _archived(warc: Path) -> list[tuple[str, int, str]]:
    return [(r.url, r.status, hashlib.sha256(r.body).hexdigest()) for r in iter_responses(warc)]


# --- the committed files are what build_demo.py makes ----------------------------------------------------------


def test_committed_warc_matches_a_fresh_build(fresh):
    # Same record URLs in the same order with the same payloads: rerun `python demo/build_demo.py` if this fails.
    assert _archived(WARC) == _archived(fresh.warc_path)


def test_committed_site_matches_the_warc_and_a_fresh_build(fresh):
    committed = {p.relative_to(SITE).as_posix(): p.read_bytes() for p in SITE.rglob("*") if p.is_file()}
    assert committed == fresh.pages
    archived = {
        r.url.removeprefix(build_demo.SITE_URL): r.body
        for r in iter_responses(WARC)
        if r.url.startswith(build_demo.SITE_URL)
    }
    assert archived == committed


def test_the_archive_holds_the_attachments_whose_text_the_notices_give():
    files = {r.url: r.body for r in iter_responses(WARC) if not r.url.startswith(build_demo.SITE_URL)}
    assert files == build_demo.attachment_files()
    assert len(files) == 3 and all(url.startswith("https://download.ccgp.gov.cn/oss/download?uuid=") for url in files)
    assert all(body.startswith(b"%PDF-") for body in files.values())


def test_committed_ground_truth_matches_a_fresh_build(fresh):
    assert json.loads(fresh.expected_path.read_text(encoding="utf-8")) == EXPECTED


def test_build_is_deterministic(fresh, tmp_path):
    # Fixed fetch times and record ids: rebuilding must not churn the committed WARC.
    again = build_demo.build(tmp_path)
    assert again.warc_path.read_bytes() == fresh.warc_path.read_bytes()
    assert again.expected_path.read_bytes() == fresh.expected_path.read_bytes()


def test_warc_records_are_utf8_html_from_the_real_host():
    records = [r for r in iter_responses(WARC) if r.url.startswith(build_demo.SITE_URL)]
    assert len(records) == len(list(SITE.rglob("*.htm")))
    for record in records:
        assert record.url.startswith("https://www.ccgp.gov.cn/cggg/")
        assert record.status == 200 and record.method == "GET"
        assert ("Content-Type", "text/html; charset=utf-8") in record.headers
        record.body.decode("utf-8")


# --- list pages --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LIST_PAGES, ids=lambda p: p.relative_to(SITE).as_posix())
def test_list_page_parses_and_links_resolve(path):
    soup = BeautifulSoup(path.read_bytes(), "lxml")
    items = soup.select("ul.c_list_bid > li")
    size, current = map(int, _PAGER.search(path.read_text(encoding="utf-8")).groups())
    page = 0 if path.name == "index.htm" else int(path.stem.split("_")[1])
    assert current == page < size
    assert 1 <= len(items) <= build_demo.PAGE_SIZE
    if current + 1 < size:
        assert len(items) == build_demo.PAGE_SIZE  # only the last page is short
    published = []
    for item in items:
        link = item.select_one("a")
        assert link["title"] and link["href"].startswith("./")
        assert (path.parent / link["href"]).resolve().is_file(), link["href"]
        ems = [em.get_text(strip=True) for em in item.select("em")]
        assert len(ems) == 4 and all(ems)
        published.append(ems[1])
    assert published == sorted(published, reverse=True)  # newest first


@pytest.mark.parametrize("column", ["zygg", "dfgg"])
def test_spider_reads_every_notice_of_a_column_through_its_pages(column):
    expected = {n["id"]: n for n in NOTICES if n["column"] == column}
    seen: dict[str, dict] = {}
    page, size = 0, None
    while size is None or page < size:
        name = "index.htm" if page == 0 else f"index_{page}.htm"
        path = SITE / "cggg" / column / name
        response = HtmlResponse(url=f"https://www.ccgp.gov.cn/cggg/{column}/{name}", body=path.read_bytes())
        size, current = parse_pager(response)
        assert current == page
        for listing in parse_list_page(response):
            seen[listing["notice_id"]] = listing
        page += 1
    assert set(seen) == set(expected)
    for notice_id, listing in seen.items():
        truth = expected[notice_id]
        assert listing["url"] == truth["url"]
        assert listing["title"] == truth["title"]  # from title=, even where the link text is cut short
        assert listing["notice_type"] == truth["notice_type"]
        assert listing["buyer"] == truth["buyer"]
        assert listing["published"] == truth["published"][:16].replace("T", " ")


def test_central_column_spans_several_pages_and_the_local_one_fits_on_one():
    assert (SITE / "cggg/zygg/index_1.htm").is_file()
    assert not (SITE / "cggg/dfgg/index_1.htm").exists()


def test_some_list_links_are_cut_short_like_the_real_ones():
    texts = [a.get_text() for p in LIST_PAGES for a in BeautifulSoup(p.read_bytes(), "lxml").select("ul.c_list_bid a")]
    assert any(text.endswith("...") for text in texts)


# --- the ground truth ------------------------------------------------------------------------------------------


def test_ground_truth_has_enough_cases():
    matches = [n["expect_match"] for n in NOTICES]
    assert len(NOTICES) >= 30
    assert matches.count("ai_chip") >= 4
    assert matches.count("cloud_compute") + matches.count("llm_tokens") >= 4
    assert sum(n["trap"] for n in NOTICES) >= 6
    assert all(n["expect_match"] is None for n in NOTICES if n["trap"])
    types = {n["notice_type"] for n in NOTICES}
    assert {"open_tender", "competitive_consultation", "inquiry", "single_source", "award", "deal"} <= types
    assert {"correction", "termination", "contract", "acceptance"} <= types
    assert {n["column"] for n in NOTICES} == {"zygg", "dfgg"}
    assert {n["template"] for n in NOTICES} == {"plain", "tianjin", "notice_area"}
    assert len({n["id"] for n in NOTICES}) == len(NOTICES)


def test_one_process_links_tender_correction_and_award_to_the_supplier():
    linked = [
        p
        for p in EXPECTED["processes"]
        if {"open_tender", "correction", "award"} <= set(p["notice_types"]) and p["expect_match"] and p["suppliers"]
    ]
    assert linked
    by_id = {n["id"]: n for n in NOTICES}
    for process in linked:
        assert {by_id[i]["project_code"] for i in process["notice_ids"]} == {process["project_code"]}


def _summary(soup: BeautifulSoup) -> dict[str, str]:
    cells = {}
    for label in soup.select("div.table td.title"):
        value = label.find_next_sibling("td")
        cells.setdefault(label.get_text(strip=True), value.get_text(strip=True) if value else "")
    return cells


def _wan(text: str) -> int | None:
    found = re.search(r"￥([\d.]+)\s*万元", text)
    return int(Decimal(found[1]) * 10000) if found else None


@pytest.mark.parametrize("notice", NOTICES, ids=lambda n: n["id"])
def test_ground_truth_agrees_with_the_page(notice):
    assert re.fullmatch(r"9\d{7}", notice["id"])
    assert notice["url"] == build_demo.SITE_URL + notice["path"]
    assert notice_id_from_url(notice["url"]) == notice["id"]
    page = (SITE / notice["path"]).read_bytes()
    soup = BeautifulSoup(page, "lxml")
    assert soup.find("meta", attrs={"name": "ArticleTitle"})["content"] == notice["title"]
    assert soup.find("meta", attrs={"name": "PubDate"})["content"] == notice["published"][:16].replace("T", " ")
    crumbs = [a.get_text() for a in soup.select("div.vF_deail_currentloc a.CurrChnlCls")]
    assert crumbs[2] == ("中央公告" if notice["column"] == "zygg" else "地方公告")
    summary = _summary(soup)
    assert summary["采购单位"] == notice["buyer"]
    assert summary["采购项目名称"] == notice["project_name"]
    if "预算金额" in summary:
        assert _wan(summary["预算金额"]) == notice["budget_cny"]
    for label in ("总中标金额", "总成交金额"):
        if label in summary:
            # A zero in the summary is the portal's placeholder for "see the attachment", not an amount.
            shown = _wan(summary[label])
            assert (None if shown == 0 else shown) == notice["award_cny"]
    if notice["notice_type"] == "correction":
        assert summary["首次公告日期"] and summary["更正日期"]
    text = soup.select_one("div.vF_detail_content").get_text()
    # Evidence the notice gives only in its attachments is checked against those files' text instead.
    evidence = [] if notice["evidence_only_in_attachments"] else notice["evidence"]
    for word in (notice["project_code"], *notice["suppliers"], *evidence):
        if word:
            assert word in text or word in soup.get_text(), word


def test_no_page_looks_like_a_block_page():
    # The spider treats short pages carrying these words as refusals; no demo page may carry them.
    markers = [marker for marker, _ in (*CcgpSpider.block_markers, *GENERIC_BLOCK_MARKERS)]
    for path in SITE.rglob("*.htm"):
        text = path.read_text(encoding="utf-8")
        assert not any(marker in text for marker in markers), path
