"""Reprocessing covers every portal: an archive made by really crawling each one rebuilds the crawl's own notices.

Each registered portal is crawled over HTTP from 127.0.0.1 (real pages where ../shared holds them, ours elsewhere)
into one archive; reprocessing that archive into a fresh database must store exactly what normalizing the crawls'
items stores. Then refusals archived later under detail URLs are skipped with their reasons and change nothing.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.ingest.normalize import normalize
from pipelines.ingest.reprocess import reprocess_archive, source_of
from pipelines.ingest.warc import WarcWriter, iter_responses
from pipelines.model import NOTICE_KEYS
from pipelines.storage import store
from spiders.registry import PORTALS
from tests.conftest import ROOT, LocalSite
from tests.spiders import portal_sites
from tests.spiders.crawling import crawl

WINDOW_2024_01 = ["-a", "from_date=2024-01-01", "-a", "until_date=2024-01-31"]
COLUMNS = ", ".join(NOTICE_KEYS)


def _ccgp(site: LocalSite) -> list[str]:
    return ["-a", "from_date=2026-11-18", "-a", "until_date=2026-11-20"]


def _ggzy(site: LocalSite) -> list[str]:
    portal_sites.serve_ggzy(site, portal_sites.ggzy_real_wrappers())
    return ["-a", "history=true", "-a", "from_date=2024-03-27", "-a", "until_date=2024-03-28"]


def _jsggzy(site: LocalSite) -> list[str]:
    portal_sites.serve_jsggzy(site)
    return ["-a", "from_date=2026-07-06", "-a", "until_date=2026-07-07"]


def _scggzy(site: LocalSite) -> list[str]:
    portal_sites.serve_scggzy(site)
    return WINDOW_2024_01


def _szzfcg(site: LocalSite) -> list[str]:
    portal_sites.serve_szzfcg(site)
    return WINDOW_2024_01


def _szggzy(site: LocalSite) -> list[str]:
    portal_sites.serve_szggzy(site)
    return WINDOW_2024_01


def _freecms(name: str, window: list[str]) -> Callable[[LocalSite], list[str]]:
    def serve(site: LocalSite) -> list[str]:
        portal_sites.serve_freecms(site, name)
        return ["-a", "mode=channel", *window]

    return serve


def _chinabidding(site: LocalSite) -> list[str]:
    portal_sites.serve_chinabidding(site)
    return ["-a", "keywords=GPU,H100", "-a", "from_date=2026-11-18", "-a", "until_date=2026-11-20"]


def _chinatelecom(site: LocalSite) -> list[str]:
    portal_sites.serve_chinatelecom(site)
    # Answers with records in the window only: reprocessing rebuilds every record a list answer holds.
    return ["-a", "keywords=H100", "-a", "from_date=2026-11-18", "-a", "until_date=2026-11-20"]


def _university(name: str) -> Callable[[LocalSite], list[str]]:
    def serve(site: LocalSite) -> list[str]:
        portal_sites.serve_university(site, name)
        return WINDOW_2024_01

    return serve


# source → (the folder its site serves, how its answers are set up → the crawl's arguments)
CRAWLS: dict[str, tuple[Path, Callable[[LocalSite], list[str]]]] = {
    "ccgp": (ROOT / "demo" / "site", _ccgp),
    "ggzy": (portal_sites.GGZY_FIXTURES, _ggzy),
    "jsggzy": (portal_sites.SC_FIXTURES, _jsggzy),
    "scggzy": (portal_sites.SC_FIXTURES, _scggzy),
    "szzfcg": (portal_sites.SZZFCG_FIXTURES, _szzfcg),
    "szggzy": (portal_sites.SZ_FIXTURES, _szggzy),
    "plap": (
        portal_sites.FREECMS_FIXTURES / "plap",
        _freecms("plap", ["-a", "from_date=2025-12-09", "-a", "until_date=2025-12-10"]),
    ),
    "zycg": (
        portal_sites.FREECMS_FIXTURES / "zycg",
        _freecms("zycg", ["-a", "from_date=2025-06-16", "-a", "until_date=2025-06-18"]),
    ),
    "chinabidding": (portal_sites.CHINABIDDING_FIXTURES, _chinabidding),
    "chinatelecom": (portal_sites.CHINATELECOM_FIXTURES, _chinatelecom),
    **{name: (portal_sites.UNIVERSITY_FIXTURES / name, _university(name)) for name in ("szu", "shu")},
}


@dataclass
class Crawled:
    archive: Path
    items: dict[str, list[dict]]
    # source → why it could not be crawled here (its real pages are absent)
    missing: dict[str, str]
    crawled_db: Path
    reprocessed_db: Path


def rows(db: Path) -> dict[tuple[str, str], tuple]:
    with store.session(db) as con:
        found = con.execute(f"SELECT {COLUMNS} FROM notices").fetchall()
    return {(row[0], row[1]): row for row in found}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> Crawled:
    """Every portal crawled into one archive; the crawls' items stored as the nightly flow stores them."""
    folder = tmp_path_factory.mktemp("every-portal")
    archive = folder / "archive"
    items: dict[str, list[dict]] = {}
    missing: dict[str, str] = {}
    for source, (served, set_up) in CRAWLS.items():
        with LocalSite(served) as site:
            try:
                args = set_up(site)
            except pytest.skip.Exception as absent:
                missing[source] = absent.msg
                continue
            found, stats = crawl(
                folder, source, source, "-a", f"base_url={site.url}", *args,
                "-s", f"TENDERWATCH_ARCHIVE_DIR={archive}", "-s", f"TENDERWATCH_RUN_ID={source}",
            )  # fmt: skip
        assert stats["finish_reason"] == "finished", source
        items[source] = found
    seen_at = datetime.now(UTC)
    crawled_db = folder / "crawled.duckdb"
    with store.session(crawled_db) as con:
        notices = [normalize(item, PORTALS) for found in items.values() for item in found]
        store.upsert_notices(con, store.notices_to_arrow(notices, "crawl", seen_at))
    return Crawled(archive, items, missing, crawled_db, folder / "reprocessed.duckdb")


@pytest.fixture(scope="module")
def reprocessed(crawled):
    with store.session(crawled.reprocessed_db) as con:
        summary = reprocess_archive(con, crawled.archive, "reprocess-all", PORTALS)
    return summary


def test_every_registered_portal_is_crawled_here():
    assert set(CRAWLS) == set(PORTALS)


def test_the_archive_names_the_spider_of_every_response(crawled):
    # The pages sit on 127.0.0.1, a host no portal is known by: only the record says whose they are.
    for archived in iter_responses(crawled.archive):
        assert archived.source in crawled.items
        assert source_of(archived, PORTALS) == archived.source
        assert Path(archived.warc_path).name == f"{archived.source}-{archived.source}.warc.gz"


@pytest.mark.parametrize("source", sorted(CRAWLS))
def test_reprocess_rebuilds_the_notices_the_crawl_stored(crawled, reprocessed, source):
    if source in crawled.missing:
        pytest.skip(f"{source} not crawled: {crawled.missing[source]}")
    items = crawled.items[source]
    assert items, f"the {source} crawl brought no notice"
    expected = {key: row for key, row in rows(crawled.crawled_db).items() if key[0] == source}
    rebuilt = {key: row for key, row in rows(crawled.reprocessed_db).items() if key[0] == source}
    assert set(expected) == {(source, item["notice_id"]) for item in items}
    assert set(rebuilt) == set(expected)
    for key, row in expected.items():
        assert dict(zip(NOTICE_KEYS, rebuilt[key], strict=True)) == dict(zip(NOTICE_KEYS, row, strict=True)), key
    # The list answers were read too: every notice keeps its list title, and the lists' own fields where used.
    assert all(row[NOTICE_KEYS.index("title")] for row in rebuilt.values())


def test_reprocess_counts_what_it_read(crawled, reprocessed):
    notices = sum(len(found) for found in crawled.items.values())
    # chinatelecom's notices are its list records: built from the list answers, no detail page.
    listed = len(crawled.items.get("chinatelecom", []))
    assert listed == reprocessed.list_notices == 2
    assert (reprocessed.notices, reprocessed.detail_pages, reprocessed.inserted) == (notices, notices - listed, notices)
    assert reprocessed.skipped == {}
    assert reprocessed.parse_errors == 0
    assert reprocessed.list_pages >= len(crawled.items)


# --- refusals archived later under detail URLs of other portals than ccgp -------------------------------------------

CAPTCHA = "<html><head><title>安全验证</title></head><body>请输入验证码后继续访问</body></html>".encode()


def first_detail(crawled: Crawled, source: str) -> tuple[str, str]:
    """(the archived detail URL, the notice id) of the source's first crawled notice."""
    for archived in iter_responses(crawled.archive):
        if archived.source == source and PORTALS[source].is_detail_url(archived.url):
            return archived.url, PORTALS[source].notice_id(archived.url)
    raise AssertionError(f"no {source} detail page in the archive")


# source → (status, body, the reason it is skipped for)
REFUSALS = {
    "scggzy": (200, CAPTCHA, "block page"),
    "szggzy": (200, b'{"code":500,"message":"error","data":null}', "no notice in the answer"),
    "plap": (412, b"<html><script>var _t=1;</script></html>", "block page"),
    "chinabidding": (521, b"<html><script>document.cookie='__jsl_clearance=1'</script></html>", "block page"),
    "szu": (404, b"<html><body>Not Found</body></html>", "HTTP 404"),
    "shu": (403, b"<html><body>Forbidden</body></html>", "block page"),
}


def test_refusals_archived_later_are_skipped_with_their_reasons_and_replace_nothing(crawled, reprocessed, tmp_path):
    archive, db = tmp_path / "archive", tmp_path / "reprocessed.duckdb"
    shutil.copytree(crawled.archive, archive)
    shutil.copy(crawled.reprocessed_db, db)
    before = rows(db)
    refused = set()
    # Written as a later crawl would: the URLs are the test servers', so the record names the spider.
    with WarcWriter(archive / "zz-later.warc.gz") as writer:
        for source, (status, body, _) in REFUSALS.items():
            url, notice_id = first_detail(crawled, source)
            refused.add((source, notice_id))
            writer.write_response(url, status=status, body=body, source=source,
                                  headers=[("Content-Type", "text/html; charset=utf-8")])  # fmt: skip
    with store.session(db) as con:
        summary = reprocess_archive(con, archive, "reprocess-again", PORTALS)
    assert summary.skipped == dict(Counter(reason for _, _, reason in REFUSALS.values()))
    assert summary.notices == len(before) - len(REFUSALS)
    after = rows(db)
    assert refused <= set(after)
    assert after == before
