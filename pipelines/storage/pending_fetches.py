"""Listed notices whose detail page could not be fetched: kept, handed back to the next crawls, resolved or given up.

A crawl's misses (``spiders.completeness`` writes them) are recorded here; the next live crawl of the source gets
the ones still waiting as ``-a pending=FILE``; a notice that reaches ``notices`` is resolved (its row deleted); one
that failed ``MAX_ATTEMPTS`` crawls is given up with the reason, which ``health`` and the nightly summary show.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.model import CrawlRun

# Nights a missed notice is tried before it is given up: a portal's outage rarely lasts a week, a removed page does.
MAX_ATTEMPTS = 5


def record_misses(
    con: duckdb.DuckDBPyConnection,
    source: str,
    run_id: str,
    misses: list[dict],
    now: datetime,
    max_attempts: int = MAX_ATTEMPTS,
) -> int:
    """Record one crawl's missed notices: a new one with one attempt, a known one with one more; returns how many."""
    latest = {miss["notice_id"]: miss for miss in misses if miss.get("notice_id") and miss.get("url")}
    for notice_id, miss in latest.items():
        con.execute(
            """
            INSERT INTO pending_fetches AS p
                (source, notice_id, url, listing, reason, attempts, first_tried, last_tried, last_run_id, given_up)
            VALUES ($source, $notice_id, $url, $listing, $reason, 1, $now, $now, $run_id,
                    CASE WHEN $max <= 1 THEN 'gave up after 1 attempt: ' || $reason END)
            ON CONFLICT (source, notice_id) DO UPDATE SET
                url = excluded.url, listing = excluded.listing, reason = excluded.reason,
                attempts = p.attempts + 1, last_tried = excluded.last_tried, last_run_id = excluded.last_run_id,
                given_up = coalesce(p.given_up, CASE WHEN p.attempts + 1 >= $max
                    THEN 'gave up after ' || (p.attempts + 1) || ' attempts: ' || excluded.reason END)
            """,
            {
                "source": source,
                "notice_id": str(notice_id),
                "url": miss["url"],
                "listing": json.dumps(miss.get("listing") or {}, ensure_ascii=False),
                "reason": str(miss.get("reason") or "unknown"),
                "now": now,
                "run_id": run_id,
                "max": max_attempts,
            },
        )
    return len(latest)


def to_retry(con: duckdb.DuckDBPyConnection, source: str) -> list[dict]:
    """The source's missed notices still waiting, oldest first, as the spider's ``pending`` file lists them."""
    rows = con.execute(
        "SELECT notice_id, url, listing FROM pending_fetches WHERE source = ? AND given_up IS NULL "
        "ORDER BY first_tried, notice_id",
        [source],
    ).fetchall()
    return [
        {"notice_id": notice_id, "url": url, "listing": json.loads(listing or "{}")} for notice_id, url, listing in rows
    ]


def resolve(con: duckdb.DuckDBPyConnection) -> int:
    """Forget the misses whose notice is now stored (fetched again, or by another list); returns how many."""
    return con.execute(
        "DELETE FROM pending_fetches p WHERE EXISTS "
        "(SELECT 1 FROM notices n WHERE n.source = p.source AND n.notice_id = p.notice_id)"
    ).fetchall()[0][0]


def counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(waiting, given up) over every source."""
    waiting, given_up = con.execute(
        "SELECT count(*) FILTER (WHERE given_up IS NULL), count(*) FILTER (WHERE given_up IS NOT NULL) "
        "FROM pending_fetches"
    ).fetchall()[0]
    return waiting, given_up


def summary_line(waiting: int, given_up: int) -> str | None:
    """``pending fetches: 2 waiting for a retry, 1 given up`` when there are any, else None."""
    if not (waiting or given_up):
        return None
    return f"pending fetches: {waiting} waiting for a retry, {given_up} given up (see pending_fetches)"


def record_misses_file(con: duckdb.DuckDBPyConnection, crawl: CrawlRun) -> None:
    """The notices ``crawl`` listed but could not fetch, from the JSONL file its spider wrote, kept for retries."""
    if not crawl.misses_path or not Path(crawl.misses_path).exists():
        return
    misses = [json.loads(line) for line in Path(crawl.misses_path).read_text("utf-8").splitlines() if line]
    record_misses(con, crawl.source, crawl.run_id, misses, crawl.finished_at)


def write_retry_file(retry: list[dict], path: Path) -> str:
    """The notices to fetch again as the JSON file a crawl takes (``-a pending=FILE``); returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(retry, ensure_ascii=False), encoding="utf-8")
    return str(path)
