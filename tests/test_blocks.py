"""Blocks end to end: the nightly flow against a local server answering with the REAL block pages and with 429 +
Retry-After. A block is a `blocked` verdict with the evidence and a back-off, never "no new notices"; the other
source's notices are still stored; a run inside the back-off leaves the source alone; a later run fetches what was
missed, because the window starts at the last GOOD crawl."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

import cli
from pipelines.ingest import crawl
from pipelines.ingest.verdicts import DEFAULT_BLOCK_BACKOFF
from pipelines.storage import crawl_runs
from spiders.base import SHANGHAI
from tests.ccgp_site import Notice, write_site
from tests.conftest import real_page
from tests.spiders.portal_sites import GGZY_FIXTURES, ggzy_real_wrappers, serve_ggzy

FAST = [arg for s in ("DOWNLOAD_DELAY=0", "AUTOTHROTTLE_ENABLED=False", "RETRY_TIMES=0") for arg in ("--setting", s)]
# Two sources at once: keep Scrapy's retries, since the local server's POST answers now and then drop a connection
# (a transient error the real flow retries too); 429 is retried before it counts as a block.
FAST_RETRYING = ["--setting", "DOWNLOAD_DELAY=0", "--setting", "AUTOTHROTTLE_ENABLED=False"]
GGZY_WINDOW = ["--from", "2023-11-01", "--until", "2024-03-28", "--spider-arg", "history=true",
               "--spider-arg", "province=340000", "--spider-arg", "city=340100"]  # fmt: skip


def crawl_rows(data, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(data / "work" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def block_route(status: int, headers: dict[str, str], body: bytes):
    def route(path: str):
        return (
            (status, {"Content-Type": "text/html; charset=utf-8", **headers}, body)
            if path.startswith("/cggg/")
            else None
        )

    return route


@pytest.mark.parametrize(
    ("status", "headers", "page", "evidence", "backoff"),
    [
        pytest.param(200, {}, "ccgp/metalnino_ccgp_rate_limited_block_page.html", "ccgp rate-limit page (频繁访问)",
                     DEFAULT_BLOCK_BACKOFF, id="200-rate-limit-page"),
        pytest.param(521, {}, "jiangsu/metalnino_js521_jsl_clearance_challenge.html", "HTTP 521 JS cookie challenge",
                     DEFAULT_BLOCK_BACKOFF, id="521-jsl-challenge"),
        pytest.param(429, {"Retry-After": "7200"}, None, "HTTP 429 Too Many Requests", timedelta(seconds=7200),
                     id="429-retry-after"),
    ],
)  # fmt: skip
def test_a_blocked_source_is_blocked_with_evidence_while_the_other_source_is_stored(
    prefect_harness, tmp_path, local_site, capsys, status, headers, page, evidence, backoff
):
    ccgp = local_site(write_site(tmp_path / "ccgp", []))
    body = real_page(page) if page else b"<html><body>Too Many Requests</body></html>"
    ccgp.routes.append(block_route(status, headers, body))
    ggzy = local_site(GGZY_FIXTURES)
    serve_ggzy(ggzy, ggzy_real_wrappers())
    data = tmp_path / "data"

    code = cli.main(["nightly", "--data-dir", str(data), "--sources", "ccgp,ggzy", "--base-url", f"ccgp={ccgp.url}",
                       "--base-url", f"ggzy={ggzy.url}", *GGZY_WINDOW, *FAST_RETRYING])  # fmt: skip

    assert code == 1
    out = capsys.readouterr().out
    assert f"ccgp: blocked: {evidence} at {ccgp.url}/cggg/" in out
    assert "ggzy: ok: 70 notices" in out
    [(verdict, blocked, reason, retry_after, by_status, finished, until)] = crawl_rows(
        data, "SELECT verdict, blocked, reason, retry_after, responses_by_status, finished_at, blocked_until "
              "FROM crawl_runs WHERE source = 'ccgp'",
    )  # fmt: skip
    assert (verdict, blocked) == ("blocked", True)
    assert reason.startswith(f"{evidence} at {ccgp.url}/cggg/")
    assert retry_after == headers.get("Retry-After")
    statuses = json.loads(by_status)
    assert set(statuses) == {str(status), "404"} and statuses["404"] == 1  # 404: robots.txt, which the site lacks
    assert statuses[str(status)] >= 1
    assert until - finished == backoff
    assert crawl_rows(data, "SELECT source, count(*) FROM notices GROUP BY source") == [("ggzy", 70)]
    health = crawl_rows(data, "SELECT source, verdict, blocked_until IS NOT NULL FROM source_health ORDER BY source")
    assert health == [("ccgp", "blocked", True), ("ggzy", "ok", False)]

    assert cli.main(["health", "--data-dir", str(data), "--sources", "ccgp,ggzy"]) == 1
    lines = capsys.readouterr().out.splitlines()
    ccgp_line = next(line for line in lines if line.startswith("ccgp: "))
    assert ccgp_line.startswith("ccgp: blocked at ") and evidence in ccgp_line
    assert "[HTTP " in ccgp_line and f"{status}×" in ccgp_line and "404×1" in ccgp_line
    assert "left alone until" in ccgp_line
    assert any(line.startswith("ggzy: ok at ") for line in lines)


def test_a_source_inside_its_backoff_is_skipped_and_a_later_run_fetches_what_was_missed(
    prefect_harness, tmp_path, local_site, capsys
):
    now = datetime.now(UTC)
    today = now.astimezone(SHANGHAI).date()
    notices = [Notice(f"6400000{age}", f"{today - timedelta(days=age)} 10:00", f"演示单位第{age}批办公设备采购公告",
                      column=("zygg", "dfgg")[age % 2]) for age in range(9)]  # fmt: skip
    site = local_site(write_site(tmp_path / "site", notices))
    blocking = {"on": True}
    answer_429 = block_route(429, {"Retry-After": "3600"}, b"Too Many Requests")
    site.routes.append(lambda path: answer_429(path) if blocking["on"] else None)
    data = tmp_path / "data"
    # History: the last good crawl ran five days ago.
    last_good = now - timedelta(days=5)
    from pipelines.storage import store

    with store.session(data / "work" / "warehouse.duckdb") as con:
        con.execute(
            "INSERT INTO crawl_runs (run_id, source, started_at, finished_at, from_date, verdict, reason, items) "
            "VALUES ('earlier', 'ccgp', ?, ?, ?, 'ok', 'earlier run', 3)",
            [last_good, last_good, today - timedelta(days=7)],
        )
    expected_from = last_good.astimezone(SHANGHAI).date() - timedelta(days=crawl.OVERLAP_DAYS)
    nightly = ["nightly", "--data-dir", str(data), "--base-url", f"ccgp={site.url}", *FAST]

    # 1. Blocked: nothing stored, the window stays open.
    assert cli.main(nightly) == 1
    assert "ccgp: blocked: HTTP 429 Too Many Requests" in capsys.readouterr().out
    requests_after_block = len(site.requests)

    # 2. Inside the back-off (the portal asked for an hour): not crawled, reported blocked, not "no new notices".
    blocking["on"] = False
    assert cli.main(nightly) == 1
    assert "ccgp: blocked: not crawled: backing off until " in capsys.readouterr().out
    assert len(site.requests) == requests_after_block
    skipped = crawl_rows(data, "SELECT verdict, finish_reason, requests, from_date FROM crawl_runs "
                               "WHERE source = 'ccgp' ORDER BY started_at DESC LIMIT 1")  # fmt: skip
    assert skipped == [("blocked", "backing_off", 0, expected_from)]
    db = data / "work" / "warehouse.duckdb"
    assert crawl_runs.active_backoff(db, "ccgp", datetime.now(UTC)) is not None
    assert crawl_runs.active_backoff(db, "ccgp", datetime.now(UTC) + timedelta(hours=2)) is None

    # 3. The block is over (the operator says so): the window still starts at the last GOOD crawl.
    assert cli.main([*nightly, "--ignore-backoff"]) == 0
    assert "ccgp: ok: " in capsys.readouterr().out
    runs = crawl_rows(data, "SELECT verdict, from_date FROM crawl_runs WHERE source = 'ccgp' ORDER BY started_at")
    assert [verdict for verdict, _ in runs] == ["ok", "blocked", "blocked", "ok"]
    assert runs[1][1] == runs[3][1] == expected_from
    stored = {row[0] for row in crawl_rows(data, "SELECT notice_id FROM notices")}
    assert stored == {n.id for n in notices if n.published[:10] >= expected_from.isoformat()}
    assert len(stored) == 7


@pytest.mark.parametrize(
    ("blocked", "code", "line"),
    [
        (False, 0, "ccgp: ok: 6 notices listed on 2 list page(s) [HTTP 200×2, 404×1]"),  # 3 per first page
        (True, 1, "ccgp: blocked: ccgp rate-limit page (频繁访问) at "),
    ],
)
def test_check_sources_fetches_one_list_page_per_column_and_stores_nothing(
    tmp_path, local_site, capsys, blocked, code, line
):
    notices = [
        Notice(f"6600000{n}", f"2026-11-{10 + n} 10:00", f"演示单位{n}号采购公告", column=("zygg", "dfgg")[n % 2])
        for n in range(9)
    ]
    site = local_site(write_site(tmp_path / "site", notices, page_size=3))
    if blocked:
        site.routes.append(block_route(200, {}, real_page("ccgp/metalnino_ccgp_rate_limited_block_page.html")))
    data = tmp_path / "data"
    assert cli.main(["check-sources", "--data-dir", str(data), "--base-url", f"ccgp={site.url}", *FAST]) == code
    assert line in capsys.readouterr().out
    fetched = [path for path in site.requests if path != "/robots.txt"]
    assert set(fetched) <= {"/cggg/zygg/index.htm", "/cggg/dfgg/index.htm"}  # list pages only: no paging, no details
    # A check records no crawl: it neither opens a night's window nor hides the last real verdict.
    assert not (data / "work" / "warehouse.duckdb").exists()
