"""The match stage: runs the matcher over every notice not yet matched with the current rules, in batches.

A notice is (re)matched when it is new, when its text changed (content hash) or when the rules changed (rules
version), so a rules change re-matches the whole history and a re-run with nothing new does no work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pyarrow as pa

from pipelines.model import portal_date
from pipelines.storage.schema import MATCH_SCHEMA, RESULT_COLUMNS, RESULT_SCHEMA
from pipelines.storage.store import insert_arrow, rowid_windows, within_memory_cap
from pipelines.storage.transactions import transaction

log = logging.getLogger(__name__)

PUBLISHED_TIERS = ("strong", "review")
_RESULT_NAMES = ", ".join(c.name for c in RESULT_COLUMNS)
BATCH_SIZE = 2000
# Notices per read transaction of a (re)match: the results written meanwhile wait for it to end before they can
# be checkpointed out of memory.
WINDOW_ROWS = 20_000
# DuckDB's memory while matching, past which its joins spill to disk and its cache of the table's blocks is evicted.
# Uncapped, that cache grew with the history: a 1M rematch peaked at 1,258 MiB (100k: 274). Under 256MB, 434 MiB;
# under 128MB, 309 MiB, against 251 for 100k (docs/decisions.md). A pass that still runs out under the cap (what
# cannot spill: a key index being changed) goes on uncapped rather than fail the night. The default of the
# `[memory] match` setting.
MATCH_MEMORY_LIMIT = "128MB"


@dataclass
class MatchSummary:
    matched: int = 0
    hits: int = 0
    newly_matching: int = 0


def items_text(items: list[dict] | None) -> str:
    """The item table as the matcher reads the ``items`` field: one row per line, cells joined by " | ".

    The cells matter: a card multiplier in the model cell ("8×A800") counts per machine of the row's quantity
    cell ("2台"), which the extraction finds only across cell marks. That product is the one definition of a card
    count: the matcher's hit quantity, which ``purchases_by_category.cards`` and the digest read.
    """
    lines = []
    for item in items or []:
        parts = [item.get(key) for key in ("name", "brand", "model")]
        quantity = item.get("quantity")
        if quantity is not None:
            parts.append(f"{quantity:g}{item.get('unit') or ''}" if isinstance(quantity, float) else str(quantity))
        lines.append(" | ".join(str(p) for p in parts if p))
    return "\n".join(lines)


def notice_date(published: datetime | None) -> date | None:
    """The date a notice is judged on (restrictions, licence policy): its publication date in Asia/Shanghai."""
    return portal_date(published)


def attachments_text(attachments: list[dict] | None) -> str:
    return "\n".join(a.get("name") or "" for a in attachments or [])


PAGE_BREAK = "\f"
# Page words per format: PDF pages, spreadsheet sheets; a Word file has no pages of its own.
_PAGE_WORDS = {"pdf": "p.", "xlsx": "sheet", "xls": "sheet"}


class AttachmentText:
    """The ``attachment`` field of a notice: its file names, then each read file's text under its name.

    Remembers where each file's text sits, so a hit can be quoted with the file and page it came from.
    """

    def __init__(self, names: list[dict] | None, files: list[dict] | None):
        read = [f for f in files or [] if f.get("text")]
        read_names = {f["name"] for f in read}
        parts = [a.get("name") or "" for a in names or [] if (a.get("name") or "") not in read_names]
        self.spans: list[tuple[int, int, dict]] = []
        text = "\n".join(parts)
        for file in read:
            header = f"{text and chr(10)}《{file['name']}》\n"
            start = len(text) + len(header)
            text += header + file["text"]
            self.spans.append((start, len(text), file))
        self.text = text

    def locate(self, hit: dict) -> str | None:
        """``《name》 p.3`` for a hit in a read file's text, None when it is in the file names."""
        evidence, matched = hit.get("evidence") or "", hit.get("text") or ""
        at = self.text.find(evidence) if evidence else -1
        if at < 0:
            return None
        at += max(evidence.find(matched), 0)
        for start, end, file in self.spans:
            if start <= at < end:
                word = _PAGE_WORDS.get(file.get("media_type") or "")
                if word is None:
                    return f"《{file['name']}》"
                return f"《{file['name']}》 {word} {self.text.count(PAGE_BREAK, start, at) + 1}"
        return None

    def quote(self, hit: dict) -> None:
        """Prefix an attachment hit's evidence with its file and page."""
        if hit.get("field") == "attachment":
            where = self.locate(hit)
            evidence = (hit.get("evidence") or "").replace(PAGE_BREAK, " ")
            hit["evidence"] = f"{where}: {evidence}" if where else evidence


def match_pending(
    con: duckdb.DuckDBPyConnection,
    matcher,
    batch_size: int = BATCH_SIZE,
    window_rows: int = WINDOW_ROWS,
    memory_cap: str | None = MATCH_MEMORY_LIMIT,
) -> MatchSummary:
    """Match every notice whose rules version or content changed since it was last matched.

    DuckDB works within ``memory_cap`` (None: its own default); if it runs out there, what is still pending is
    matched without the cap. Every batch is committed with its results, so nothing is matched twice.
    """
    summary = MatchSummary()

    def attempt() -> None:
        # A second attempt finds only what the first left pending.
        _match_windows(con, matcher, batch_size, window_rows, summary)
        # The results checkpointed under the cap too: left to the connection's close, the checkpoint after a 1M
        # rematch took the process from 420 to 1,258 MiB.
        con.execute("CHECKPOINT")

    within_memory_cap(con, memory_cap, attempt, what="matching", logger=log)
    return summary


def _match_windows(
    con: duckdb.DuckDBPyConnection, matcher, batch_size: int, window_rows: int, summary: MatchSummary
) -> None:
    version = matcher.rules_version
    # The pending notices stream a batch at a time from a second cursor while this connection writes each batch's
    # results, so memory follows the batch, not the history: a rules change re-matches everything. The stream reads
    # the notices a window of rows at a time (``rowid`` ranges, which prune row groups), each in its own read
    # transaction: one transaction over the whole history kept every result written meanwhile from being
    # checkpointed. (DuckDB's own memory is held under MATCH_MEMORY_LIMIT by match_pending.)
    # The text of the notice's read attachments counts as its content: a file read later re-matches the notice.
    # Rows are not renumbered while nothing deletes notices (this stage only writes results), but a checkpoint may
    # compact a table that had deletions: whatever a pass over the windows missed is still pending, and a second
    # pass takes it (counted first, without the texts).
    for _ in range(2):
        for rowids in rowid_windows(con, window_rows):
            reader = con.cursor()
            try:
                _match_stream(con, reader, matcher, version, batch_size, summary, rowids)
            finally:
                reader.close()
        if not con.execute(f"SELECT count(*) FROM ({_pending_sql('')})", [version]).fetchall()[0][0]:
            break


def _match_stream(
    con: duckdb.DuckDBPyConnection,
    reader: duckdb.DuckDBPyConnection,
    matcher,
    version: str,
    batch_size: int,
    summary: MatchSummary,
    rowids: str | None = None,
) -> None:
    pending = reader.sql(_pending_sql(rowids), params=[version]).to_arrow_reader(batch_size)
    now = datetime.now(UTC)
    for batch in pending:
        rows = batch.to_pylist()
        hit_rows, result_rows, newly_matching = [], [], 0
        for row in rows:
            published = row["published_at"]
            attachment_text = AttachmentText(row["attachments"], row["files"])
            result = matcher.match(
                title=row["title"] or "",
                text=row["text"] or "",
                items=items_text(row["items"]),
                attachments=attachment_text.text,
                published=notice_date(published) if isinstance(published, datetime) else None,
                notice_type=row["notice_type"],
            )
            for number, hit in enumerate(result["hits"]):
                attachment_text.quote(hit)
                hit_rows.append(_hit_row(row, number, hit, version))
            reaches_publish = result["tier"] in PUBLISHED_TIERS
            if reaches_publish and row["old_tier"] not in PUBLISHED_TIERS:
                newly_matching += 1
            result_rows.append(
                {
                    "source": row["source"],
                    "notice_id": row["notice_id"],
                    "tier": result["tier"],
                    "score": float(result["score"]),
                    "categories": list(result["categories"]),
                    "rules_version": version,
                    "content_hash": row["content_hash"],
                    "first_matched_at": now if reaches_publish else None,
                    "matched_at": now,
                }
            )
        _replace_results(con, result_rows, hit_rows)
        # Counted once the batch is committed: a batch that fails is matched again, and counted then.
        summary.newly_matching += newly_matching
        summary.matched += len(rows)
        summary.hits += len(hit_rows)


def _pending_sql(rowids: str | None) -> str:
    """The notices to match (in the rows ``rowids``, built from integers only), with what the matcher reads."""
    window = f"WHERE rowid {rowids}" if rowids else ""
    # The window is applied to each read of notices, not through a shared CTE: DuckDB materializes a CTE read
    # twice, and that held the window's notices whole (texts included) beside the stream.
    return f"""
        WITH files AS (
            SELECT source, notice_id,
                   list({{'name': name, 'media_type': media_type, 'text': text}} ORDER BY url, member) AS files,
                   sha256(string_agg(content_hash, ',' ORDER BY url, member)) AS digest
            FROM attachments SEMI JOIN (SELECT source, notice_id FROM notices {window}) USING (source, notice_id)
            WHERE text IS NOT NULL
            GROUP BY source, notice_id
        ), results AS (
            -- The window's results only: against the whole table, DuckDB built its hash table on the window's
            -- notices, texts and all, instead of on these few columns.
            SELECT source, notice_id, tier, rules_version, content_hash FROM match_results
            SEMI JOIN (SELECT source, notice_id FROM notices {window}) USING (source, notice_id)
        ), notice_files AS (
            SELECT n.*, f.files,
                   CASE WHEN f.digest IS NULL THEN n.content_hash
                        ELSE sha256(coalesce(n.content_hash, '') || f.digest) END AS matched_hash
            FROM (SELECT * FROM notices {window}) n LEFT JOIN files f USING (source, notice_id)
        )
        SELECT n.source, n.notice_id, n.title, n.text, n.items, n.attachments, n.files, n.published_at,
               n.notice_type, n.matched_hash AS content_hash, r.tier AS old_tier
        FROM notice_files n LEFT JOIN results r USING (source, notice_id)
        WHERE r.rules_version IS DISTINCT FROM ? OR r.content_hash IS DISTINCT FROM n.matched_hash
        """


def _money(value) -> Decimal | None:
    return Decimal(str(value)).quantize(Decimal("0.01")) if value is not None else None


def _hit_row(notice: dict, number: int, hit: dict, version: str) -> dict:
    restricted = hit.get("restricted_since")
    return {
        "source": notice["source"],
        "notice_id": notice["notice_id"],
        "hit_no": number,
        "rule_id": hit.get("rule_id"),
        "category": hit.get("category"),
        "tier": hit.get("tier"),
        "score": float(hit["score"]) if hit.get("score") is not None else None,
        "matched_text": hit.get("text"),
        "evidence": hit.get("evidence"),
        "field": hit.get("field"),
        "model": hit.get("model"),
        "quantity": float(hit["quantity"]) if hit.get("quantity") is not None else None,
        "unit": hit.get("unit"),
        "memory": hit.get("memory"),
        "provider": hit.get("provider"),
        "tokens": int(hit["tokens"]) if hit.get("tokens") is not None else None,
        "restricted_since": date.fromisoformat(restricted) if isinstance(restricted, str) else restricted,
        "after_restriction": hit.get("after_restriction"),
        "licence_policy": hit.get("licence"),
        "licence_policy_listed": hit.get("licence_listed"),
        "reason": hit.get("reason"),
        "amount_cny": _money(hit.get("amount")),
        "rules_version": version,
    }


def _replace_results(con: duckdb.DuckDBPyConnection, result_rows: list[dict], hit_rows: list[dict]) -> None:
    """Swap in a batch's results and hits in one transaction: old hits of these notices go, new ones come."""
    results = pa.Table.from_pylist(result_rows, schema=RESULT_SCHEMA)
    hits = pa.Table.from_pylist(hit_rows, schema=MATCH_SCHEMA)
    try:
        with transaction(con):
            con.register("batch_results", results)
            con.execute(
                "DELETE FROM matches WHERE (source, notice_id) IN (SELECT (source, notice_id) FROM batch_results)"
            )
            insert_arrow(con, "matches", hits)
            con.execute(
                f"""
                INSERT INTO match_results ({_RESULT_NAMES})
                SELECT {_RESULT_NAMES} FROM batch_results
                ON CONFLICT (source, notice_id) DO UPDATE SET
                    tier = excluded.tier, score = excluded.score, categories = excluded.categories,
                    rules_version = excluded.rules_version, content_hash = excluded.content_hash,
                    first_matched_at = coalesce(match_results.first_matched_at, excluded.first_matched_at),
                    matched_at = excluded.matched_at
                """
            )
    finally:
        con.unregister("batch_results")
