"""`flows.py health` on a real working database: the latest live crawl per enabled source, stale ones named, replays
and backfills shown as what they are."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import cli
from pipelines.model import CrawlRun
from pipelines.storage import crawl_runs, store

NOW = datetime.now(UTC)


def crawl(source: str, kind: str, hours_ago: float, verdict: str = "ok") -> CrawlRun:
    """A crawl row of ``kind`` (live, replay or backfill), as the flows record them."""
    started = NOW - timedelta(hours=hours_ago)
    run_id = ("backfill-" if kind == "backfill" else "") + started.strftime("%Y%m%dT%H%M%S%fZ")
    return CrawlRun(
        run_id=run_id, source=source, started_at=started, finished_at=started + timedelta(minutes=5),
        from_date=started.date() - timedelta(days=7),
        until_date=started.date() - timedelta(days=1) if kind == "backfill" else None,
        replay="/srv/demo" if kind == "replay" else None, finish_reason="finished", requests=10, responses=10,
        items=8 if verdict == "ok" else 0, errors=0, blocked=False, verdict=verdict, reason=f"{verdict} {kind}",
        archive_path=None, stats="{}", responses_by_status='{"200": 10}', empty_list_pages=0, next_page_lost=0,
        prefilter_skipped=0, retry_after=None, blocked_until=None,
    )  # fmt: skip


# case → (crawls recorded, extra arguments, exit status, the lines printed with the times taken out)
CASES = {
    "a fresh live crawl": ([crawl("ccgp", "live", 2)], [], 0, ["ccgp: ok at …: ok live [HTTP 200×10]"]),
    "a live crawl older than the cron allows": (
        [crawl("ccgp", "live", 240)], [], 1,
        ["ccgp: STALE: last live crawl 10 days ago (allowed: 30 h): ok at …: ok live [HTTP 200×10]"],
    ),
    "the same age allowed by the setting": (
        [crawl("ccgp", "live", 240)], ["stale_after_hours = 250.0"], 0, ["ccgp: ok at …: ok live [HTTP 200×10]"],
    ),
    "a newer replay is no live verdict": (
        [crawl("ccgp", "live", 3), crawl("ccgp", "replay", 1, "broken")], [], 0,
        ["ccgp: ok at …: ok live [HTTP 200×10]",
         "  ccgp replay (not a live crawl): broken at … from /srv/demo: broken replay"],
    ),
    "replays only": (
        [crawl("ccgp", "replay", 1)], [], 1,
        ["ccgp: no live crawl yet", "  ccgp replay (not a live crawl): ok at … from /srv/demo: ok replay"],
    ),
    "a backfill after a broken night": (
        [crawl("ccgp", "live", 5, "broken"), crawl("ccgp", "backfill", 1)], [], 1,
        ["ccgp: broken at …: broken live [HTTP 200×10]",
         f"  ccgp backfill (not a live crawl): ok at … {(NOW - timedelta(hours=1)).date() - timedelta(days=7)} … "
         f"{(NOW - timedelta(hours=1)).date() - timedelta(days=1)}: ok backfill"],
    ),
    "a source not enabled is not judged": (
        [crawl("ccgp", "live", 2), crawl("ggzy", "live", 500, "broken")], [], 0,
        ["ccgp: ok at …: ok live [HTTP 200×10]"],
    ),
    "an enabled source never crawled": ([], [], 1, ["ccgp: no live crawl yet"]),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_health_judges_the_latest_live_crawl_of_each_enabled_source(tmp_path, monkeypatch, capsys, case):
    crawls, schedule, status, expected = CASES[case]
    data = tmp_path / "data"
    with store.session(data / "work" / "warehouse.duckdb") as con:
        crawl_runs.record(con, crawls)
    settings = tmp_path / "tenderwatch.toml"
    # ccgp alone: the cases are about how one source is judged, whatever the shipped default enables.
    settings.write_text('[sources]\nenabled = ["ccgp"]\n[schedule]\n' + "\n".join(schedule) + "\n", encoding="utf-8")
    monkeypatch.delenv("TENDERWATCH_SOURCES", raising=False)
    assert cli.main(["health", "--config", str(settings), "--data-dir", str(data)]) == status
    lines = capsys.readouterr().out.splitlines()
    assert [_without_times(line) for line in lines] == expected


def _without_times(line: str) -> str:
    """``ok at 2026-12-02 10:31 CST: …`` → ``ok at …: …``: the times depend on when the test runs."""
    return re.sub(r" at \d{4}-\d{2}-\d{2} \d{2}:\d{2} \w+", " at …", line)


def test_health_without_a_working_database_says_no_source_was_crawled(tmp_path, capsys):
    assert cli.main(["health", "--data-dir", str(tmp_path / "none"), "--sources", "ccgp,ggzy"]) == 1
    assert capsys.readouterr().out.splitlines() == ["ccgp: no live crawl yet", "ggzy: no live crawl yet"]
    assert not Path(tmp_path / "none").exists()
