"""Analyst review of matches: verdicts recorded in ``match_reviews`` become labelled cases for ``evaluate``.

An analyst confirms a match, calls it a false positive, or marks it unsure, by SQL (``INSERT INTO match_reviews``)
or with ``python flows.py review``. ``evaluate --reviews`` turns confirmed and false-positive verdicts into cases in
the labelled-set format, so the rules are measured (and improved) against what analysts saw in real use.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import duckdb

VERDICTS = ("confirmed", "false_positive", "unsure")


class ReviewError(ValueError):
    """A review that cannot be recorded (unknown notice, bad verdict or category)."""


def record(
    con: duckdb.DuckDBPyConnection,
    source: str,
    notice_id: str,
    verdict: str,
    *,
    categories: list[str] | None = None,
    note: str | None = None,
    reviewer: str | None = None,
) -> None:
    """Record (or replace) the verdict on one notice."""
    from pipelines.matching.rules import CATEGORIES

    if verdict not in VERDICTS:
        raise ReviewError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
    unknown = sorted(set(categories or []) - set(CATEGORIES))
    if unknown:
        raise ReviewError(f"unknown categories {unknown}: expected some of {', '.join(CATEGORIES)}")
    found = con.execute(
        "SELECT r.categories FROM notices n LEFT JOIN match_results r USING (source, notice_id) "
        "WHERE n.source = ? AND n.notice_id = ?",
        [source, notice_id],
    ).fetchall()
    if not found:
        raise ReviewError(f"no notice {source}:{notice_id} in the database")
    if verdict == "confirmed" and not categories:
        categories = list(found[0][0] or [])
        if not categories:
            raise ReviewError("a confirmed notice with no matched category needs --categories")
    con.execute(
        "INSERT OR REPLACE INTO match_reviews VALUES (?, ?, ?, ?, ?, ?, ?)",
        [source, notice_id, verdict, categories or [], note, reviewer, datetime.now(UTC)],
    )


def pending(con: duckdb.DuckDBPyConnection, limit: int = 50) -> list[tuple]:
    """Matched notices (tier review first) that no analyst has reviewed yet."""
    return con.execute(
        """
        SELECT r.source, r.notice_id, r.tier, r.categories, n.title
        FROM match_results r JOIN notices n USING (source, notice_id)
        LEFT JOIN match_reviews v USING (source, notice_id)
        WHERE r.tier IN ('strong', 'review') AND v.verdict IS NULL
        ORDER BY CASE r.tier WHEN 'review' THEN 0 ELSE 1 END, n.published_at DESC
        LIMIT ?
        """,
        [limit],
    ).fetchall()


def labelled_cases(con: duckdb.DuckDBPyConnection) -> Iterator[dict]:
    """Confirmed and false-positive verdicts as labelled cases (the ``evaluate`` format); unsure ones are left out."""
    from pipelines.matching.pending import attachments_text, items_text

    rows = con.execute(
        """
        SELECT v.source, v.notice_id, v.verdict, v.categories, n.title, n.text, n.items, n.attachments,
               n.notice_type, n.published_at
        FROM match_reviews v JOIN notices n USING (source, notice_id)
        WHERE v.verdict IN ('confirmed', 'false_positive')
        ORDER BY v.source, v.notice_id
        """
    ).fetchall()
    for source, notice_id, verdict, categories, title, text, items, attachments, notice_type, published in rows:
        confirmed = verdict == "confirmed"
        yield {
            "id": f"{source}:{notice_id}",
            "title": title or "",
            "text": text or "",
            "items": items_text(items),
            "attachments": attachments_text(attachments),
            "notice_type": notice_type,
            "date": published.date().isoformat() if published else None,
            "expected": {"match": confirmed, "categories": sorted(categories or []) if confirmed else []},
        }
