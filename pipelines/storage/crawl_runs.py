"""Crawl runs and backfill windows: the one place that writes ``crawl_runs`` and asks it about the past.

What a night needs to know of earlier nights (where the window starts, whether a portal asked us to stay away, how
many notices a source usually yields) and what ``health`` prints are all queries here, so the flows hold no SQL.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from pipelines.model import CrawlRun
from pipelines.storage import store

SHANGHAI = ZoneInfo("Asia/Shanghai")
STORED_FIELDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(CrawlRun) if f.name not in ("items_path", "misses_path")
)


def record(con: duckdb.DuckDBPyConnection, crawls: list[CrawlRun]) -> None:
    """Write the crawls' rows (a re-recorded run and source replaces its row)."""
    if not crawls:
        return
    table = pa.Table.from_pylist([{name: getattr(crawl, name) for name in STORED_FIELDS} for crawl in crawls])
    columns = ", ".join(STORED_FIELDS)
    con.register("crawl_batch", table)
    try:
        con.execute(f"INSERT OR REPLACE INTO crawl_runs ({columns}) SELECT {columns} FROM crawl_batch")
    finally:
        con.unregister("crawl_batch")


def recent_item_counts(con: duckdb.DuckDBPyConnection, source: str, limit: int = 7) -> list[int]:
    """Notices seen per good live crawl of ``source`` (fetched, or listed and stored already), newest first: what a
    normal night lists."""
    rows = con.execute(
        # Open-ended crawls only: a backfill window or a narrowed run holds another number of days.
        "SELECT items + coalesce(already_stored, 0) FROM crawl_runs WHERE source = ? AND verdict = 'ok' "
        "AND replay IS NULL AND until_date IS NULL ORDER BY started_at DESC LIMIT ?",
        [source, limit],
    ).fetchall()
    return [row[0] for row in rows]


def last_good_crawl_date(db_path: str | Path, source: str) -> date | None:
    """The day (Asia/Shanghai) the latest healthy open-ended live crawl of ``source`` started, or None."""
    if not Path(db_path).exists():
        return None
    with store.session(db_path) as con:
        value = store.scalar(
            con,
            # Only open-ended crawls reach up to their start: a backfill window or an --until run does not.
            "SELECT max(started_at) FROM crawl_runs WHERE source = ? AND verdict IN ('ok', 'degraded') "
            "AND replay IS NULL AND until_date IS NULL",
            [source],
        )
    return value.astimezone(SHANGHAI).date() if value else None


def active_backoff(db_path: str | Path, source: str, now: datetime) -> tuple[datetime, str] | None:
    """(until, why) when the source's latest live crawl was blocked and asked us to stay away past ``now``."""
    if not Path(db_path).exists():
        return None
    with store.session(db_path) as con:
        rows = con.execute(
            "SELECT blocked_until, reason FROM crawl_runs WHERE source = ? AND replay IS NULL "
            "AND finish_reason IS DISTINCT FROM 'backing_off' ORDER BY started_at DESC LIMIT 1",
            [source],
        ).fetchall()
    if not rows or rows[0][0] is None or rows[0][0] <= now:
        return None
    return rows[0][0], rows[0][1]


# What kind of crawl a row is: a replay (from an archive), a backfill window, or a live night (what `health` judges).
CRAWL_KIND = "CASE WHEN replay IS NOT NULL THEN 'replay' WHEN run_id LIKE 'backfill-%' THEN 'backfill' ELSE 'live' END"


def latest_by_kind(con: duckdb.DuckDBPyConnection, sources: list[str]) -> dict[str, dict[str, dict]]:
    """Per source, its latest crawl of each kind (``live``, ``replay``, ``backfill``) with what ``health`` prints."""
    cursor = con.execute(
        f"""
        SELECT source, {CRAWL_KIND} AS kind, started_at, verdict, reason, responses_by_status, blocked_until,
               replay, from_date, until_date
        FROM crawl_runs
        WHERE source IN (SELECT unnest(?::VARCHAR[]))
        QUALIFY row_number() OVER (PARTITION BY source, kind ORDER BY started_at DESC) = 1
        """,
        [sources],
    )
    names = [d[0] for d in cursor.description]
    latest: dict[str, dict[str, dict]] = {source: {} for source in sources}
    for row in cursor.fetchall():
        record = dict(zip(names, row, strict=True))
        latest[record["source"]][record["kind"]] = record
    return latest


def finished_windows(db_path: str | Path, replay: str | None = None) -> set[tuple[str, date, date]]:
    """(source, first day, last day) of every backfill window already crawled healthily, live or from ``replay``.

    A replay answers only what its archive holds, so its windows are kept apart (``replay_windows``, per archive)
    and never count as crawled live.
    """
    if not Path(db_path).exists():
        return set()
    with store.session(db_path) as con:
        if replay is None:
            rows = con.execute("SELECT source, window_from, window_until FROM backfill_windows").fetchall()
        else:
            rows = con.execute(
                "SELECT source, window_from, window_until FROM replay_windows WHERE replay = ?", [replay]
            ).fetchall()
    return {(source, start, end) for source, start, end in rows}


def record_windows(con: duckdb.DuckDBPyConnection, crawls: list[CrawlRun]) -> None:
    """Mark the windows of these crawls finished, so a resumed backfill skips them (replays apart from live)."""
    for crawl in crawls:
        window = [crawl.source, crawl.from_date, crawl.until_date]
        # The notices the window holds: fetched now, or listed and stored already by an earlier crawl.
        outcome = [crawl.run_id, crawl.verdict, crawl.items + crawl.already_stored, crawl.finished_at]
        if crawl.replay is None:
            con.execute("INSERT OR REPLACE INTO backfill_windows VALUES (?, ?, ?, ?, ?, ?, ?)", window + outcome)
        else:
            con.execute(
                "INSERT OR REPLACE INTO replay_windows VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [*window, crawl.replay, *outcome],
            )
