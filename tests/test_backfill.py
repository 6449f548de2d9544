"""`flows.py backfill`: two months of history in windows over HTTP, interrupted twice (a window budget, then a
block in the middle window), resumed; every notice is stored exactly once and nothing is published."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

import cli
from pipelines.ingest import crawl
from pipelines.storage import crawl_runs
from tests.ccgp_site import Notice, write_site
from tests.conftest import ROOT

FAST = [arg for s in ("DOWNLOAD_DELAY=0", "AUTOTHROTTLE_ENABLED=False", "RETRY_TIMES=0") for arg in ("--setting", s)]
FIRST, LAST = date(2026, 9, 1), date(2026, 10, 31)
NOTICES = [
    Notice(f"650{n:05d}", f"{FIRST + timedelta(days=2 * n)} {9 + n % 8}:00", f"演示单位{n}号办公设备采购公告",
           column=("zygg", "dfgg")[n % 2], sub=("gkzb", "cjgg")[n % 2])
    for n in range(31)
]  # fmt: skip
WINDOWS = [
    (date(2026, 9, 1), date(2026, 9, 14)),
    (date(2026, 9, 15), date(2026, 9, 28)),
    (date(2026, 9, 29), date(2026, 10, 12)),
    (date(2026, 10, 13), date(2026, 10, 26)),
    (date(2026, 10, 27), date(2026, 10, 31)),
]
BLOCKED_NOTICE = next(n for n in NOTICES if n.published.startswith("2026-10-05"))


def in_window(window: tuple[date, date]) -> set[str]:
    return {n.id for n in NOTICES if window[0].isoformat() <= n.published[:10] <= window[1].isoformat()}


def query(data, sql: str) -> list[tuple]:
    with duckdb.connect(str(data / "work" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.parametrize(
    ("start", "end", "days", "expected"),
    [
        (FIRST, LAST, 14, WINDOWS),
        (date(2024, 1, 1), date(2024, 1, 1), 7, [(date(2024, 1, 1), date(2024, 1, 1))]),
        (date(2024, 1, 1), date(2024, 1, 10), 5, [(date(2024, 1, 1), date(2024, 1, 5)),
                                                  (date(2024, 1, 6), date(2024, 1, 10))]),
    ],
)  # fmt: skip
def test_windows_cover_the_range_once(start, end, days, expected):
    assert crawl.backfill_plan(start, end, days) == expected


def test_backfill_is_resumable_and_stores_every_notice_once(prefect_harness, tmp_path, local_site, capsys):
    site = local_site(write_site(tmp_path / "site", NOTICES))
    blocking = {"on": False}
    block_page = "<html><head><title>频繁访问!</title></head><body>您的访问过于频繁,请稍后再试。</body></html>".encode()
    site.routes.append(
        lambda path: (
            (200, {"Content-Type": "text/html; charset=utf-8"}, block_page)
            if blocking["on"] and path == f"/{BLOCKED_NOTICE.path}"
            else None
        )
    )
    data = tmp_path / "data"
    command = ["backfill", "--data-dir", str(data), "--from", FIRST.isoformat(), "--until", LAST.isoformat(),
               "--window-days", "14", "--base-url", f"ccgp={site.url}", *FAST]  # fmt: skip

    # 1. A budget of one window.
    assert cli.main([*command, "--max-windows", "1"]) == 0
    out = capsys.readouterr().out
    first = len(in_window(WINDOWS[0]))
    assert f"[1/5] 2026-09-01 … 2026-09-14: ccgp ok; {first} notices ({first} new)" in out
    assert "[2/5] 2026-09-15 … 2026-09-28: not started (--max-windows 1)" in out
    assert "backfill: 5 window(s), 4 source window(s) left" in out

    # 2. The portal blocks us in the middle window: the backfill stops there for that source.
    blocking["on"] = True
    assert cli.main(command) == 1
    out = capsys.readouterr().out
    assert "[1/5] 2026-09-01 … 2026-09-14: already done" in out
    second = len(in_window(WINDOWS[1]))
    assert f"[2/5] 2026-09-15 … 2026-09-28: ccgp ok; {second} notices ({second} new)" in out
    assert "[3/5] 2026-09-29 … 2026-10-12: ccgp blocked" in out
    assert "[4/5] 2026-10-13 … 2026-10-26: skipped: no healthy source left" in out
    assert "ccgp: blocked in 2026-09-29 … 2026-10-12: ccgp rate-limit page (频繁访问)" in out

    # 3. Resumed while the back-off lasts: the source is left alone.
    blocking["on"] = False
    requests = len(site.requests)
    assert cli.main(command) == 1
    assert "[3/5] 2026-09-29 … 2026-10-12: ccgp blocked" in capsys.readouterr().out
    assert len(site.requests) == requests

    # 4. Resumed after the block: only the unfinished windows are crawled.
    notices_left = len(in_window(WINDOWS[2])) - query(data, "SELECT count(*) FROM notices")[0][0] + first + second
    assert cli.main([*command, "--ignore-backoff"]) == 0
    out = capsys.readouterr().out
    assert "[1/5] 2026-09-01 … 2026-09-14: already done" in out
    assert "[2/5] 2026-09-15 … 2026-09-28: already done" in out
    # Window 3's notices stored before the block are not fetched again: the window brings the rest.
    stored_before = len(in_window(WINDOWS[2])) - notices_left
    assert stored_before > 0
    for index in (3, 4, 5):
        start, end = WINDOWS[index - 1]
        fetched = len(in_window(WINDOWS[index - 1])) - (stored_before if index == 3 else 0)
        assert f"[{index}/5] {start} … {end}: ccgp ok; {fetched} notices" in out
    assert "backfill: 5 window(s), 0 source window(s) left" in out

    assert query(data, "SELECT count(*), count(DISTINCT notice_id) FROM notices") == [(31, 31)]
    assert {row[0] for row in query(data, "SELECT notice_id FROM notices")} == {n.id for n in NOTICES}
    finished = query(data, "SELECT window_from, window_until, items FROM backfill_windows ORDER BY window_from")
    assert finished == [(start, end, len(in_window((start, end)))) for start, end in WINDOWS]
    ok_crawls = query(data, "SELECT from_date, until_date, count(*) FROM crawl_runs WHERE verdict = 'ok' "
                            "GROUP BY ALL ORDER BY from_date")  # fmt: skip
    assert ok_crawls == [(start, end, 1) for start, end in WINDOWS]  # every window crawled to the end once
    assert query(data, "SELECT count(*) FROM publications") == [(0,)]  # the next nightly publishes, once
    # Backfill windows are not the incremental crawl: tonight's window is not moved by them.
    assert crawl_runs.last_good_crawl_date(data / "work" / "warehouse.duckdb", "ccgp") is None
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM notices").fetchone() == (31,)


def test_a_replayed_backfill_never_marks_a_live_window_done(prefect_harness, tmp_path, local_site, capsys):
    demo = ROOT / "demo"
    site = local_site(write_site(tmp_path / "site", NOTICES))
    data = tmp_path / "data"
    window = ["backfill", "--data-dir", str(data), "--from", "2026-09-01", "--until", "2026-09-14",
              "--window-days", "14"]  # fmt: skip
    expected = len(in_window(WINDOWS[0]))

    # The demo archive holds nothing of September: the replay finds no notice there, and says it is done.
    assert cli.main([*window, "--replay", str(demo)]) == 0
    assert "[1/1] 2026-09-01 … 2026-09-14: ccgp ok; 0 notices (0 new)" in capsys.readouterr().out
    assert cli.main([*window, "--replay", str(demo)]) == 0
    assert "[1/1] 2026-09-01 … 2026-09-14: already done" in capsys.readouterr().out

    # Done for that archive only: the live backfill of the same window still crawls it.
    assert cli.main([*window, "--base-url", f"ccgp={site.url}", *FAST]) == 0
    assert f"[1/1] 2026-09-01 … 2026-09-14: ccgp ok; {expected} notices ({expected} new)" in capsys.readouterr().out
    assert query(data, "SELECT window_from, window_until, items FROM backfill_windows") == [(*WINDOWS[0], expected)]
    assert query(data, "SELECT window_from, window_until, replay, items FROM replay_windows") == [
        (*WINDOWS[0], str(demo), 0)
    ]
