"""Completeness is judged, not assumed: the nightly flow against a local ccgp-layout site that injects faults.

A list page that cannot be read (500/503 after retries, 404, a redirect loop) makes the crawl `broken` with the URL,
exit 1, and the window stays where the last good crawl left it. A listed notice whose detail page fails (404, 500,
a timeout, a redirect loop) is kept in `pending_fetches`, handed back to the next night's crawl, and stored then
(even when no list shows it any more); one that keeps failing is given up with the reason.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

import cli
from pipelines.ingest import crawl
from pipelines.storage import crawl_runs, pending_fetches, store
from spiders.base import SHANGHAI
from tests.ccgp_site import Notice, detail_page, write_site
from tests.test_nightly_publishing import latest_artifacts

FAST = ["--setting", "DOWNLOAD_DELAY=0", "--setting", "AUTOTHROTTLE_ENABLED=False"]
LIST = "/cggg/zygg/index.htm"


def rows(data, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(data / "work" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def todays_notices() -> list[Notice]:
    today = datetime.now(SHANGHAI).date()
    return [
        Notice(f"7100000{n}", f"{today} 0{n}:00", f"演示单位{n}号办公设备采购公告", column=("zygg", "dfgg")[n % 2])
        for n in range(6)
    ]


def seed_good_crawl(data, days_ago: int) -> datetime:
    """An earlier good crawl, so the test can see whether a night moves the window past it."""
    started = datetime.now(UTC) - timedelta(days=days_ago)
    with store.session(data / "work" / "warehouse.duckdb") as con:
        con.execute(
            "INSERT INTO crawl_runs (run_id, source, started_at, finished_at, from_date, verdict, reason, items) "
            "VALUES ('earlier', 'ccgp', ?, ?, ?, 'ok', 'earlier run', 3)",
            [started, started, started.date() - timedelta(days=1)],
        )
    return started


def redirect(location: str):
    return 302, {"Location": location, "Content-Type": "text/html"}, b""


# (fault, route answering the faulty path, reason in the verdict)
LIST_FAULTS = [
    ("500", lambda path: (500, {}, b"Internal Server Error"), "(HTTP 500)"),
    ("503", lambda path: (503, {"Retry-After": "10"}, b"Service Unavailable"), "(HTTP 503)"),
    ("404", lambda path: (404, {}, b"Not Found"), "(HTTP 404)"),
    ("redirect-loop", lambda path: redirect("/loop/a.htm"), "(redirect loop)"),
]


# The next night's recovery does not depend on how the list failed (the window and what was stored are the same
# whatever the reason): it is run after one of the faults, not after each, to spare three full nights.
RECOVERY_AFTER_LIST_FAULT = "503"


@pytest.mark.parametrize(("fault", "answer", "reason"), LIST_FAULTS, ids=[case[0] for case in LIST_FAULTS])
def test_a_list_page_not_read_is_broken_and_the_window_stays_open(
    prefect_harness, tmp_path, local_site, capsys, fault, answer, reason
):
    notices = todays_notices()
    site = local_site(write_site(tmp_path / "site", notices))
    faulty = {"on": True}
    site.routes.append(lambda path: answer(path) if faulty["on"] and path == LIST else None)
    site.routes.append(lambda path: redirect(LIST) if path == "/loop/a.htm" else None)
    data = tmp_path / "data"
    last_good = seed_good_crawl(data, days_ago=5)
    expected_from = last_good.astimezone(SHANGHAI).date() - timedelta(days=crawl.OVERLAP_DAYS)
    nightly = ["nightly", "--data-dir", str(data), "--base-url", f"ccgp={site.url}", *FAST]

    assert cli.main(nightly) == 1
    out = capsys.readouterr().out
    assert f"ccgp: broken: 1 list page(s) could not be read, e.g. {site.url}{LIST} {reason}" in out
    [(verdict, failed, from_date)] = rows(
        data, "SELECT verdict, list_pages_failed, from_date FROM crawl_runs WHERE run_id <> 'earlier'"
    )
    assert (verdict, failed, from_date) == ("broken", 1, expected_from)
    # What the readable column listed is stored; the window still starts at the last good crawl.
    stored = {row[0] for row in rows(data, "SELECT notice_id FROM notices")}
    assert stored == {n.id for n in notices if n.column == "dfgg"}
    db = data / "work" / "warehouse.duckdb"
    assert crawl_runs.last_good_crawl_date(db, "ccgp") == last_good.astimezone(SHANGHAI).date()

    if fault != RECOVERY_AFTER_LIST_FAULT:
        return
    faulty["on"] = False
    assert cli.main(nightly) == 0
    # The readable column's notices were stored by the broken night: only the other column's are fetched.
    assert "ccgp: ok: 3 notices from 6 responses (3 listed notices stored already)" in capsys.readouterr().out
    assert rows(data, "SELECT from_date FROM crawl_runs ORDER BY started_at DESC LIMIT 1") == [(expected_from,)]
    assert {row[0] for row in rows(data, "SELECT notice_id FROM notices")} == {n.id for n in notices}
    assert crawl_runs.last_good_crawl_date(db, "ccgp") == datetime.now(SHANGHAI).date()


def slow(path: str):
    # Longer than the crawl's DOWNLOAD_TIMEOUT below; the event ends the wait when the test is over.
    RELEASE.wait(5)
    return 200, {"Content-Type": "text/html"}, b"<html>too late</html>"


RELEASE = threading.Event()

# (fault, route answering the missed notice's detail path, extra settings, reason kept)
DETAIL_FAULTS = [
    ("404", lambda path: (404, {}, b"Not Found"), [], "HTTP 404"),
    ("500", lambda path: (500, {}, b"Internal Server Error"), [], "HTTP 500"),
    ("timeout", slow, ["--setting", "DOWNLOAD_TIMEOUT=1", "--setting", "RETRY_TIMES=0"], "timed out"),
    ("redirect-loop", lambda path: redirect("/loop/detail.htm"), [], "redirect loop"),
]


# The retry reads pending_fetches, which is the same whatever the fault was: one recovery night serves them all.
RECOVERY_AFTER_DETAIL_FAULT = "timeout"


@pytest.mark.parametrize(
    ("fault", "answer", "settings", "reason"), DETAIL_FAULTS, ids=[case[0] for case in DETAIL_FAULTS]
)
def test_a_notice_missed_on_night_one_is_stored_on_night_two(
    prefect_harness, tmp_path, local_site, capsys, fault, answer, settings, reason
):
    notices = todays_notices()
    missed = notices[2]
    folder = write_site(tmp_path / "site", notices)
    site = local_site(folder)
    faulty = {"on": True}
    detail = f"/{missed.path}"
    site.routes.append(lambda path: answer(path) if faulty["on"] and path == detail else None)
    site.routes.append(lambda path: redirect(detail) if path == "/loop/detail.htm" else None)
    data = tmp_path / "data"
    nightly = ["nightly", "--data-dir", str(data), "--base-url", f"ccgp={site.url}", *FAST, *settings]

    RELEASE.clear()
    try:
        assert cli.main(nightly) == 0
    finally:
        RELEASE.set()
    out = capsys.readouterr().out
    assert f"ccgp: degraded: 1 listed notice(s) not fetched, kept for retry, e.g. {site.url}{detail} ({reason}" in out
    assert "pending fetches: 1 waiting for a retry, 0 given up" in out
    assert missed.id not in {row[0] for row in rows(data, "SELECT notice_id FROM notices")}
    [(notice_id, url, kept_reason, attempts, given_up, title)] = rows(
        data, "SELECT notice_id, url, reason, attempts, given_up, listing->>'title' FROM pending_fetches"
    )
    assert (notice_id, url, attempts, given_up, title) == (missed.id, f"{site.url}{detail}", 1, None, missed.title)
    assert kept_reason.startswith(reason)
    (digest,) = latest_artifacts("nightly-digest")
    assert "pending fetches: 1 waiting for a retry, 0 given up" in digest.data
    assert cli.main(["health", "--data-dir", str(data)]) == 0
    assert "pending fetches: 1 waiting for a retry, 0 given up" in capsys.readouterr().out

    # Night 2: the portal answers again, and no list shows the notice any more: only the pending record finds it.
    if fault != RECOVERY_AFTER_DETAIL_FAULT:
        return
    faulty["on"] = False
    write_site(folder, [n for n in notices if n is not missed])
    requests_before = len(site.requests)
    assert cli.main(nightly) == 0
    out = capsys.readouterr().out
    # Only the pending notice is fetched; the five stored on night 1 are not fetched again.
    assert "ccgp: ok: 1 notices from 4 responses (5 listed notices stored already)" in out
    assert "pending fetches" not in out
    assert detail in site.requests[requests_before:]
    assert {row[0] for row in rows(data, "SELECT notice_id FROM notices")} == {n.id for n in notices}
    assert rows(data, "SELECT title FROM notices WHERE notice_id = ?", [missed.id]) == [(missed.title,)]
    assert rows(data, "SELECT count(*) FROM pending_fetches") == [(0,)]


def test_a_notice_that_keeps_failing_is_given_up_with_its_reason(tmp_path):
    db = tmp_path / "work.duckdb"
    miss = {"notice_id": "42", "url": "https://www.ccgp.gov.cn/x/t20261125_42.htm", "listing": {"title": "采购"},
            "reason": "HTTP 404"}  # fmt: skip
    now = datetime(2026, 11, 25, tzinfo=UTC)
    with store.session(db) as con:
        # (night, pending afterwards, given_up afterwards)
        for night, waiting, given_up in [(1, 1, None), (2, 1, None), (3, 1, None), (4, 1, None), (5, 0, 5)]:
            pending_fetches.record_misses(con, "ccgp", f"run{night}", [miss], now + timedelta(days=night))
            assert len(pending_fetches.to_retry(con, "ccgp")) == waiting
            [(attempts, gave_up)] = con.execute("SELECT attempts, given_up FROM pending_fetches").fetchall()
            assert attempts == night
            assert gave_up == (f"gave up after {given_up} attempts: HTTP 404" if given_up else None)
        assert pending_fetches.counts(con) == (0, 1)
        assert pending_fetches.to_retry(con, "ccgp") == []
        # A given-up notice that some list later brings in is resolved like any other.
        con.execute("INSERT INTO notices (source, notice_id, url) VALUES ('ccgp', '42', ?)", [miss["url"]])
        assert pending_fetches.resolve(con) == 1
        assert pending_fetches.counts(con) == (0, 0)


def test_a_backfill_leaves_the_retries_to_the_nightly_crawls(prefect_harness, tmp_path, local_site, capsys):
    notices = todays_notices()
    missed = notices[2]
    site = local_site(write_site(tmp_path / "site", [n for n in notices if n is not missed]))
    data = tmp_path / "data"
    miss = {"notice_id": missed.id, "url": f"{site.url}/{missed.path}", "listing": {"title": missed.title},
            "reason": "HTTP 503"}  # fmt: skip
    with store.session(data / "work" / "warehouse.duckdb") as con:
        pending_fetches.record_misses(con, "ccgp", "earlier", [miss], datetime.now(UTC))
    # The missed page is served again now, though no list shows it; only an open-ended crawl may ask for it.
    (tmp_path / "site" / missed.path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "site" / missed.path).write_text(detail_page(missed), encoding="utf-8")
    today = datetime.now(SHANGHAI).date()
    backfill = ["backfill", "--data-dir", str(data), "--base-url", f"ccgp={site.url}", "--from",
                str(today - timedelta(days=1)), "--until", str(today), "--window-days", "1", *FAST]  # fmt: skip

    assert cli.main(backfill) == 0
    assert f"/{missed.path}" not in site.requests
    assert rows(data, "SELECT attempts, given_up FROM pending_fetches") == [(1, None)]

    assert cli.main(["nightly", "--data-dir", str(data), "--base-url", f"ccgp={site.url}", *FAST]) == 0
    assert f"/{missed.path}" in site.requests
    assert rows(data, "SELECT title FROM notices WHERE notice_id = ?", [missed.id]) == [(missed.title,)]
    assert rows(data, "SELECT count(*) FROM pending_fetches") == [(0,)]
    capsys.readouterr()
