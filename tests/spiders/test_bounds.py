"""Bounds: response size per kind, decompressed size, list pages per crawl, and pages whose charset lies.

Real crawls (`scrapy crawl` processes) against a local ccgp-layout site. The limits are lowered with `-s` so the
payloads stay small (a few MB); the project's own limits are checked against Scrapy's 1 GiB default.
"""

from __future__ import annotations

import gzip
import json
import re

import pytest
from scrapy.settings import default_settings

import spiders.settings as ours
from pipelines.ingest.normalize import normalize
from spiders.registry import PORTALS
from tests.ccgp_site import Notice, detail_page, list_page, write_site
from tests.spiders.crawling import crawl

MIB = 1024 * 1024
NOTICES = [
    Notice("8300001", "2026-11-20 10:00", "普通的办公设备采购公告"),
    Notice("8300002", "2026-11-20 09:00", "超大的公告"),
]
WINDOW = ["-a", "from_date=2026-11-19"]
LIMITS = ["-s", f"TENDERWATCH_DETAIL_MAXSIZE={MIB}", "-s", f"TENDERWATCH_LIST_MAXSIZE={MIB}"]


def test_the_projects_limits_are_far_below_scrapys_default():
    assert default_settings.DOWNLOAD_MAXSIZE == 1024 * MIB
    assert ours.DOWNLOAD_MAXSIZE <= 64 * MIB
    assert ours.DOWNLOAD_WARNSIZE < ours.DOWNLOAD_MAXSIZE
    assert ours.TENDERWATCH_LIST_MAXSIZE <= ours.DOWNLOAD_MAXSIZE
    assert ours.TENDERWATCH_DETAIL_MAXSIZE <= ours.DOWNLOAD_MAXSIZE
    assert 100 <= ours.TENDERWATCH_MAX_LIST_PAGES <= 10_000


def padded(notice: Notice, size: int) -> bytes:
    page = detail_page(notice)
    return page.replace("</body>", f"<!-- {'x' * size} --></body>").encode("utf-8")


# (case, answer for the big notice's detail page, reason kept)
OVERSIZE = [
    ("2-MiB-page", lambda notice: (200, {"Content-Type": "text/html"}, padded(notice, 2 * MIB)), "too large"),
    (
        "gzip-bomb",  # 3 MiB of HTML in about 3 KB on the wire: the limit counts the decompressed bytes
        lambda notice: (200, {"Content-Type": "text/html", "Content-Encoding": "gzip"},
                        gzip.compress(padded(notice, 3 * MIB))),
        "too large",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("case", "answer", "reason"), OVERSIZE, ids=[c[0] for c in OVERSIZE])
def test_a_detail_page_over_its_limit_is_cut_and_kept_for_retry(tmp_path, local_site, case, answer, reason):
    site = local_site(write_site(tmp_path / "site", NOTICES))
    big = NOTICES[1]
    site.routes.append(lambda path: answer(big) if path == f"/{big.path}" else None)

    items, stats = crawl(tmp_path, "ccgp", case, "-a", f"base_url={site.url}", *WINDOW, *LIMITS,
                         "-s", f"TENDERWATCH_MISSES_FILE={tmp_path / 'misses.jsonl'}")  # fmt: skip

    assert [item["notice_id"] for item in items] == ["8300001"]
    assert stats["tenderwatch/oversize_responses"] == 1
    assert stats["tenderwatch/notices_missed"] == 1
    assert stats["tenderwatch/notice_missed_reason"].startswith(reason)
    misses = (tmp_path / "misses.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["notice_id"] for line in misses] == ["8300002"]


def test_a_pager_claiming_100000_pages_stops_at_the_cap_and_says_so(tmp_path, local_site):
    site = local_site(write_site(tmp_path / "site", NOTICES))
    endless = re.compile(r"/cggg/zygg/index(?:_(\d+))?\.htm$")

    def pager(path: str):
        found = endless.match(path)
        if not found:
            return None
        page = int(found[1] or 0)
        # Every page lists the same in-window notice, so nothing but the cap ends the paging.
        return 200, {"Content-Type": "text/html"}, list_page(NOTICES[:1], page, 100_000).encode("utf-8")

    site.routes.append(pager)
    _, stats = crawl(tmp_path, "ccgp", "pager", "-a", f"base_url={site.url}", *WINDOW,
                     "-a", "columns=zygg", "-s", "TENDERWATCH_MAX_LIST_PAGES=5")  # fmt: skip

    assert stats["tenderwatch/list_pages"] == 5
    assert stats["tenderwatch/list_pages_capped"] == 1
    assert stats["tenderwatch/list_pages_failed"] == 1
    assert stats["tenderwatch/list_failed_reason"] == "list page cap reached (5 per crawl)"
    assert len([p for p in site.requests if endless.match(p)]) == 5


GBK_NOTICE = Notice("8300003", "2026-11-20 08:00", "服务器及图形处理器采购项目招标公告")


# (case, the detail page's bytes, encoding the raw notice keeps, parse error part or None)
CHARSETS = [
    ("gbk-served-as-utf-8", detail_page(GBK_NOTICE).encode("gbk"), "gb18030", None),
    ("utf-8", detail_page(GBK_NOTICE).encode("utf-8"), "utf-8", None),
    (
        "undecodable",
        detail_page(GBK_NOTICE).replace("四、", "四\ufffd、").encode("utf-8").replace(b"\xef\xbf\xbd", b"\xff<"),
        "utf-8 (undecodable)",
        "does not decode as utf-8 nor GB18030",
    ),
]


@pytest.mark.parametrize(("case", "body", "encoding", "error"), CHARSETS, ids=[c[0] for c in CHARSETS])
def test_a_page_whose_declared_charset_lies_is_redetected_or_a_parse_error(
    tmp_path, local_site, case, body, encoding, error
):
    site = local_site(write_site(tmp_path / "site", [GBK_NOTICE]))
    site.routes.append(
        lambda path: (
            (200, {"Content-Type": "text/html; charset=utf-8"}, body) if path == f"/{GBK_NOTICE.path}" else None
        )
    )

    [item], stats = crawl(tmp_path, "ccgp", case, "-a", f"base_url={site.url}", *WINDOW)

    assert item["encoding"] == encoding
    notice = normalize(item, PORTALS)
    if error:
        assert error in notice["parse_error"]
        assert stats["tenderwatch/undecodable_pages"] == 1
    else:
        assert notice["parse_error"] is None
        assert notice["title"] == GBK_NOTICE.title
        assert "\ufffd" not in item["html"]
        assert stats.get("tenderwatch/charset_redetected", 0) == (encoding == "gb18030")


@pytest.mark.parametrize(
    ("budget", "columns", "items", "verdict", "reason"),
    [
        # The list page and one notice: the other notice waits for the next night, the window may move on.
        (2, "zygg", 1, "degraded", "request budget reached (2 per crawl)"),
        # One list page of two: what the other lists is unknown, so the window must stay open.
        (1, "zygg,dfgg", 0, "broken", "request budget reached (1 per crawl) with 1 list page(s) unread"),
    ],
)
def test_a_crawl_stops_at_its_request_budget_and_the_verdict_says_so(
    tmp_path, local_site, budget, columns, items, verdict, reason
):
    from pipelines.ingest.verdicts import judge

    site = local_site(write_site(tmp_path / "site", NOTICES))
    misses = tmp_path / "misses.jsonl"
    limits = ["-s", f"TENDERWATCH_MAX_REQUESTS={budget}", "-s", f"TENDERWATCH_MISSES_FILE={misses}"]
    found, stats = crawl(
        tmp_path, "ccgp", "budget", "-a", f"base_url={site.url}", *WINDOW, "-a", f"columns={columns}", *limits
    )

    assert len(found) == items
    assert stats["downloader/request_count"] == budget == len(site.requests)
    assert stats["tenderwatch/budget_reached"] >= 1
    judged = judge(stats)
    assert (judged.verdict, judged.reason.split("; ")[0]) == (verdict, reason)
    if verdict == "degraded":
        (line,) = misses.read_text(encoding="utf-8").splitlines()
        assert json.loads(line)["reason"] == "request budget reached (2 per crawl)"
