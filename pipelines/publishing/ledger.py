"""Nightly publishing: the digest of newly matched notices, exactly once per notice.

Order of work, so a crash at any point neither loses nor duplicates a notice:
1. the notices to publish are entered in the ``publications`` ledger as ``pending`` for tonight's date;
2. tonight's outputs are (re)written from the ledger (every notice of that date), each file atomically;
3. the ledger rows are marked ``published``.
Outputs per date: ``digest.md``, ``digest.html``, ``matches.csv``, ``matches.json``; plus the cumulative
``feed.atom`` next to the date folders (see ``pipelines/publishing/outputs.py``).
A run that finds ``pending`` rows left by a crash writes them into their own date's outputs and marks them, and
never enters them again. Step 3 also puts the night's message in the delivery outbox (same transaction), which the
delivery step empties after the snapshot, this run or, after a kill, the next.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from pipelines.config import FAULT_ENV, FAULT_EXIT_CODE, Outputs, fault_point  # noqa: F401 (the tests' names)
from pipelines.matching.pending import PUBLISHED_TIERS
from pipelines.publishing import english, outputs
from pipelines.publishing.delivery import Message, enqueue
from pipelines.storage import schema
from pipelines.storage.transactions import transaction

CSV_COLUMNS = (
    "published_at",
    "tier",
    "categories",
    "title",
    "notice_type",
    "buyer",
    "suppliers",
    "watched_suppliers",
    "amount_cny",
    "amount_kind",
    "headline_en",
    "flag",
    "licence_statement",
    "models",
    "quantities",
    "providers",
    "tokens",
    "evidence",
    "url",
    "source",
    "notice_id",
)


@dataclass
class Digest:
    publish_date: date
    new: int
    total: int
    rows: list[dict] = field(default_factory=list)
    markdown: str = ""
    paths: list[Path] = field(default_factory=list)
    announced: list[dict] = field(default_factory=list)
    recovered: list[date] = field(default_factory=list)
    # The night's source health (source, verdict, reason, finished_at); None when no crawl was part of the run.
    sources: list[dict] | None = None


def enter_new_publications(con: duckdb.DuckDBPyConnection, run_id: str, publish_date: date, now: datetime) -> int:
    """Enter every matched notice not yet in the ledger as pending for ``publish_date``; returns how many."""
    before = _count(con, "SELECT count(*) FROM publications")
    con.execute(
        """
        INSERT INTO publications (source, notice_id, run_id, publish_date, published_at, tier, categories, status)
        SELECT r.source, r.notice_id, ?, ?, ?, r.tier, r.categories, 'pending'
        FROM match_results r
        WHERE r.tier IN (SELECT unnest(?::VARCHAR[]))
          AND NOT EXISTS (SELECT 1 FROM publications p WHERE p.source = r.source AND p.notice_id = r.notice_id)
        """,
        [run_id, publish_date, now, list(PUBLISHED_TIERS)],
    )
    return _count(con, "SELECT count(*) FROM publications") - before


def pending_dates(con: duckdb.DuckDBPyConnection) -> list[date]:
    rows = con.execute("SELECT DISTINCT publish_date FROM publications WHERE status = 'pending' ORDER BY 1").fetchall()
    return [row[0] for row in rows]


def mark_published(con: duckdb.DuckDBPyConnection, publish_date: date) -> None:
    con.execute(
        "UPDATE publications SET status = 'published' WHERE status = 'pending' AND publish_date = ?",
        [publish_date],
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(sql).fetchall()[0][0]


_LEDGER_ROWS = """
    WITH chosen AS ({chosen})
    SELECT p.source, p.notice_id, p.tier, p.categories, p.run_id, p.publish_date, p.published_at AS entered_at,
           n.title, {title_en} AS title_en, n.url, n.notice_type_en, n.published_at, n.buyer,
           [s.name FOR s IN coalesce(n.suppliers, [])] AS suppliers,
           (SELECT list(w.name_en ORDER BY w.name_en) FROM supplier_watchlist w
              WHERE len([s FOR s IN coalesce(n.suppliers, []) IF contains(s.name, w.name_zh)]) > 0)
             AS watched_suppliers,
           coalesce(n.award_cny, n.budget_cny) AS amount_cny,
           CASE WHEN n.award_cny IS NOT NULL THEN 'award' WHEN n.budget_cny IS NOT NULL THEN 'budget' END
             AS amount_kind,
           (SELECT list_sort(list(DISTINCT m.model) FILTER (WHERE m.model IS NOT NULL))
              FROM matches m WHERE m.source = p.source AND m.notice_id = p.notice_id) AS models,
           (SELECT list_sort(list(DISTINCT m.quantity::BIGINT || ' ' || coalesce(m.unit, ''))
                     FILTER (WHERE m.quantity IS NOT NULL))
              FROM matches m WHERE m.source = p.source AND m.notice_id = p.notice_id) AS quantities,
           (SELECT list_sort(list(DISTINCT m.provider) FILTER (WHERE m.provider IS NOT NULL))
              FROM matches m WHERE m.source = p.source AND m.notice_id = p.notice_id) AS providers,
           (SELECT max(m.tokens) FROM matches m
              WHERE m.source = p.source AND m.notice_id = p.notice_id) AS tokens,
           (SELECT list(m.evidence ORDER BY m.score DESC, m.hit_no)
              FROM matches m WHERE m.source = p.source AND m.notice_id = p.notice_id
               AND m.tier IN ('strong', 'review')) AS evidence,
           (SELECT min(m.restricted_since) FROM matches m
              WHERE m.source = p.source AND m.notice_id = p.notice_id AND m.tier IN ('strong', 'review'))
             AS restricted_since,
           (SELECT arg_max(regexp_replace(m.reason, ' \\[.*\\]$', ''), m.score) FROM matches m
              WHERE m.source = p.source AND m.notice_id = p.notice_id) AS reason,
           (SELECT r.tier FROM match_results r WHERE r.source = p.source AND r.notice_id = p.notice_id)
             AS current_tier,
           n.notice_type, mn.buyer_party_en, mn.buyer_list, mn.buyer_relation, mn.buyer_military,
           mn.suppliers_listed, mn.licence_statement, coalesce(mn.priority, 3) AS priority,
           (SELECT list(DISTINCT pp.notice_id ORDER BY pp.notice_id) FROM notices pp
              WHERE pp.ocid = n.ocid AND pp.notice_id <> n.notice_id) AS same_process
    FROM chosen p LEFT JOIN notices n USING (source, notice_id)
    LEFT JOIN ({matched}) mn USING (source, notice_id)
"""
# The chosen rows that are matched now (what matched_notices holds of them).
_CHOSEN_MATCHED = (
    "SELECT c.source, c.notice_id FROM chosen c JOIN match_results r USING (source, notice_id) "
    "WHERE r.tier IN ('strong', 'review')"
)


def _ledger_rows(con: duckdb.DuckDBPyConnection, chosen: str, order: str, params: list) -> list[dict]:
    """The ledger rows ``chosen`` picks (a query over ``publications p`` and ``notices n``), in ``order``.

    The rows are picked first and their hits, parties and titles looked up after: a night's digest or the feed's
    newest 500 then cost what they show, not the whole ledger's lookups (1.7 CPU-s a night at 100k notices).
    """
    picked = f"SELECT p.* FROM publications p LEFT JOIN notices n USING (source, notice_id) {chosen}"
    sql = (
        _LEDGER_ROWS.format(
            title_en=_title_en_expression(con), chosen=picked, matched=schema.matched_notices_for(_CHOSEN_MATCHED)
        )
        + order
    )
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        # Published once, then no longer matched (a later rules change): kept in the feed, marked withdrawn.
        row["withdrawn"] = row.get("current_tier") not in PUBLISHED_TIERS
        row["headline_en"] = english.headline(row)
        row["buyer_en"] = english.english_name(row.get("buyer"))
        row["suppliers_en"] = [english.english_name(name) for name in row.get("suppliers") or []]
    return rows


def digest_rows(con: duckdb.DuckDBPyConnection, publish_date: date) -> list[dict]:
    """Every notice in the ledger for ``publish_date``, with what the analysts need to judge it."""
    return _ledger_rows(
        con,
        "WHERE p.publish_date = ?",
        # Restricted chips bought by listed or military buyers first, then listed suppliers and intermediaries.
        "ORDER BY coalesce(mn.priority, 3), CASE p.tier WHEN 'strong' THEN 0 ELSE 1 END, n.published_at DESC, "
        "p.source, p.notice_id",
        [publish_date],
    )


def feed_rows(con: duckdb.DuckDBPyConnection, limit: int) -> list[dict]:
    """The newest ``limit`` notices of the whole ledger, for the cumulative feed."""
    newest = "ORDER BY p.published_at DESC, n.published_at DESC, p.source, p.notice_id"
    return _ledger_rows(con, f"{newest} LIMIT ?", newest, [limit])


def _title_en_expression(con: duckdb.DuckDBPyConnection) -> str:
    """SQL for a notice's English title when the database has one, else NULL.

    An English title arrives with translations: a ``title_en`` column on ``notices``, the ``notices_en`` view, or
    any table or view keyed by (source, notice_id) with a ``title_en`` column. The relation name comes from the
    catalog, never from scraped text, and is quoted as an identifier.
    """
    rows = con.execute(
        """
        SELECT table_name FROM duckdb_columns()
        WHERE schema_name = current_schema() AND database_name = current_database()
        GROUP BY table_name
        HAVING bool_or(column_name = 'title_en') AND bool_or(column_name = 'source')
           AND bool_or(column_name = 'notice_id')
        ORDER BY table_name <> 'notices', table_name <> 'notices_en', table_name
        """
    ).fetchall()
    if not rows:
        return "NULL::VARCHAR"
    relation = rows[0][0]
    if relation == "notices":
        return "n.title_en"
    quoted = '"' + relation.replace('"', '""') + '"'
    return (
        f"(SELECT any_value(t.title_en) FROM {quoted} t WHERE t.source = p.source AND t.notice_id = p.notice_id "
        "AND t.title_en IS NOT NULL)"
    )


def timeline(con: duckdb.DuckDBPyConnection, end: date, weeks: int) -> dict[date, dict[str, int]]:
    """Published matches per week (Monday) and category, by the notice's own publish date, up to ``end``'s week."""
    last = end - timedelta(days=end.weekday())
    first = last - timedelta(weeks=weeks - 1)
    counts: dict[date, dict[str, int]] = {first + timedelta(weeks=i): {} for i in range(weeks)}
    rows = con.execute(
        """
        SELECT week, category, count(*) FROM (
            SELECT date_trunc('week', coalesce(CAST(n.published_at AS DATE), p.publish_date))::DATE AS week,
                   unnest(p.categories) AS category
            FROM publications p LEFT JOIN notices n USING (source, notice_id)
        )
        WHERE week BETWEEN ? AND ?
        GROUP BY ALL
        """,
        [first, last],
    ).fetchall()
    for week, category, count in rows:
        counts[week][category] = count
    return counts


# --- rendering ---------------------------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def md(text: object) -> str:
    """Scraped text made inert in Markdown (and in the HTML a Markdown renderer makes of it)."""
    if text is None:
        return ""
    flat = " ".join(str(text).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat).replace("&", "&amp;")


def render_markdown(publish_date: date, rows: list[dict], new: int, sources: list[dict] | None = None) -> str:
    lines = [f"# tenderwatch digest, {publish_date.isoformat()}", ""]
    lines += _markdown_sources(sources)
    if not rows:
        lines.append("No matched notices were published for this date.")
        return "\n".join(lines) + "\n"
    by_category: dict[str, int] = {}
    for row in rows:
        for category in row["categories"] or []:
            by_category[category] = by_category.get(category, 0) + 1
    summary = ", ".join(f"{name}: {count}" for name, count in sorted(by_category.items()))
    rows, unnamed = outputs.split_unnamed(rows)
    lines += [f"{len(rows)} matched notice(s) for this date ({new} new in the latest run). {summary}", ""]
    lines += [f"Tiers: {outputs.TIER_LEGEND}", ""]
    for row in rows:
        flag = outputs.flag_line(row)
        lines.append(f"## [{row['tier']}] {md(row.get('headline_en') or row['title'])}")
        lines.append("")
        if flag:
            lines += [f"**{md(flag)}**", ""]
        lines.append(f"- **Title (Chinese):** {md(row['title'])}")
        lines += [f"- **{label}:** {md(value)}" for label, value in outputs.match_facts(row)]
        for snippet in outputs.merged_evidence(row.get("evidence"))[:3]:
            lines.append(f"- **Evidence:** {md(snippet)}")
        if row["url"]:
            lines.append(f"- **Link:** <{safe_url(row['url'])}>")
        lines.append("")
    if unnamed:
        lines += [
            "## Unnamed AI compute (to follow up)",
            "",
            "Notices that buy GPU or AI compute without naming a chip, a cloud or a model: not restricted purchases; "
            "follow them to the award notice and the attachments.",
            "",
        ]
        for row in unnamed:
            link = f" <{safe_url(row['url'])}>" if row.get("url") else ""
            buyer = outputs.with_english(row.get("buyer"), row.get("buyer_en")) or "buyer unknown"
            headline = f"{md(row['headline_en'])}: " if row.get("headline_en") else ""
            lines.append(f"- {headline}{md(row['title'])} ({md(buyer)}){link}")
        lines.append("")
    return "\n".join(lines)


def _markdown_sources(sources: list[dict] | None) -> list[str]:
    """The night's source health first, unhealthy sources flagged: an empty night must not look like a quiet one."""
    if not sources:
        return []
    lines = []
    bad = outputs.unhealthy_sources(sources)
    if bad:
        names = ", ".join(md(source["source"]) for source in bad)
        lines += [f"**Unhealthy sources: {names}.** Notices they published tonight are missing from this digest "
                  "until a crawl succeeds.", ""]  # fmt: skip
    lines += ["## Sources", ""]
    for source in outputs.night_sources(sources):
        lines.append(f"- **{md(source['source'])}**: {md(source['verdict'])}: {md(source.get('reason'))}")
    return [*lines, ""]


def safe_url(url: str) -> str:
    """Only http(s) links, with characters that could end the autolink escaped."""
    if not re.match(r"https?://", url):
        return "about:blank"
    return url.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value if v is not None)
    # One line per cell: evidence snippets quote table rows and paragraphs.
    text = " ".join(str(value).split()) if isinstance(value, str) else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def render_csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        record = dict(row)
        record["notice_type"] = row["notice_type_en"]
        record["published_at"] = row["published_at"].isoformat() if row["published_at"] else ""
        record["evidence"] = (row["evidence"] or [""])[0]
        record["flag"] = outputs.flag_line(row)
        writer.writerow([csv_cell(record.get(column)) for column in CSV_COLUMNS])
    # The BOM makes Excel read the file as UTF-8, so Chinese text does not turn into mojibake.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_atomic(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


FEED_FILE = "feed.atom"


def write_outputs(
    con: duckdb.DuckDBPyConnection,
    out_root: Path,
    publish_date: date,
    new: int,
    options: Outputs | None = None,
    sources: list[dict] | None = None,
) -> Digest:
    """(Re)write the outputs of ``publish_date`` and the cumulative feed from the ledger, each file atomically.

    ``sources`` is the health of the night's crawls; without it (a rematch, a crashed night's date rewritten) the
    health the date's ``matches.json`` already records is kept.
    """
    options = options or Outputs()
    folder = out_root / publish_date.isoformat()
    if sources is None:
        sources = recorded_sources(folder)
    rows = digest_rows(con, publish_date)
    markdown = render_markdown(publish_date, rows, new, sources)
    chart = timeline(con, publish_date, options.chart_weeks)
    page = outputs.render_html(publish_date, rows, new, chart, sources=sources)
    feed = outputs.render_atom(
        feed_rows(con, options.feed_entries), options.feed_title, options.tag_authority, options.tag_date,
        night=publish_date, sources=sources,
    )  # fmt: skip
    paths = [
        write_atomic(folder / "matches.csv", render_csv(rows)),
        write_atomic(folder / "matches.json", outputs.render_json(publish_date, rows, new, sources)),
        write_atomic(folder / "digest.html", page.encode("utf-8")),
        write_atomic(folder / "digest.md", markdown.encode("utf-8")),
        write_atomic(out_root / FEED_FILE, feed),
    ]
    return Digest(
        publish_date=publish_date, new=new, total=len(rows), rows=rows, markdown=markdown, paths=paths, sources=sources
    )


def recorded_sources(folder: Path) -> list[dict] | None:
    """The source health a date's ``matches.json`` records, or None."""
    try:
        recorded = json.loads((folder / "matches.json").read_text(encoding="utf-8")).get("sources")
    except (OSError, ValueError, AttributeError):
        return None
    return recorded or None


def publish(
    con: duckdb.DuckDBPyConnection,
    out_root: Path,
    run_id: str,
    publish_date: date,
    now: datetime,
    options: Outputs | None = None,
    sources: list[dict] | None = None,
    channels: tuple[str, ...] = (),
    send_empty: bool = False,
) -> Digest:
    """Publish every matched notice that has not gone out before (see the module docstring for the order).

    ``sources`` is tonight's source health, written into tonight's outputs (and so into the delivery).

    The returned digest is tonight's; its ``announced`` rows are every notice this run took from pending to
    published (tonight's new ones and those a crashed run left pending), which is what delivery sends. The
    message for each of ``channels`` enters the delivery outbox in the same transaction that marks the notices
    published, so no kill between the two can publish a notice nobody is told about.
    """
    new = enter_new_publications(con, run_id, publish_date, now)
    fault_point("after-enter")
    pending_keys = _pending_keys(con)
    digest = None
    announced: list[dict] = []
    dates = pending_dates(con)
    for pending in dates:
        tonight = pending == publish_date
        written = write_outputs(con, out_root, pending, new if tonight else 0, options, sources if tonight else None)
        announced += [row for row in written.rows if (row["source"], row["notice_id"]) in pending_keys]
        if pending == publish_date:
            digest = written
    fault_point("after-write-outputs")
    if digest is None:
        # Nothing new tonight: tonight's digest still says so (and keeps what an earlier run put there).
        digest = write_outputs(con, out_root, publish_date, 0, options, sources)
    digest.announced = announced
    digest.recovered = sorted({row["publish_date"] for row in announced} - {publish_date})
    with transaction(con):
        for pending in dates:
            mark_published(con, pending)
        message = delivery_message(digest)
        # A night with an unhealthy source is news even without matches: it must not pass for a quiet one.
        if channels and (announced or send_empty or message.payload.get("unhealthy")):
            enqueue(con, run_id, channels, message, now)
    fault_point("after-mark-published")
    return digest


def _pending_keys(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    rows = con.execute("SELECT source, notice_id FROM publications WHERE status = 'pending'").fetchall()
    return {(source, notice_id) for source, notice_id in rows}


def delivery_message(digest: Digest) -> Message:
    """What webhook and e-mail carry: every notice this run published (tonight's and any recovered)."""
    rows = digest.announced
    payload = outputs.digest_payload(digest.publish_date, rows, digest.new, digest.sources)
    payload["recovered_dates"] = [day.isoformat() for day in digest.recovered]
    subject = f"tenderwatch {digest.publish_date.isoformat()}: {len(rows)} new matched notice(s)"
    bad = outputs.unhealthy_sources(digest.sources)
    if bad:
        # First in the subject: it is what an operator must act on.
        names = ", ".join(f"{source['source']} {source['verdict']}" for source in bad)
        subject = f"tenderwatch {digest.publish_date.isoformat()}: UNHEALTHY {names}; {len(rows)} new matched notice(s)"
    chart: dict[date, dict[str, int]] = {}
    return Message(
        publish_date=digest.publish_date,
        payload=payload,
        subject=subject,
        text=render_markdown(digest.publish_date, rows, len(rows), digest.sources),
        html=outputs.render_html(digest.publish_date, rows, len(rows), chart, sources=digest.sources),
    )


ARTIFACT_COLUMNS = ("tier", "categories", "title", "buyer", "suppliers", "amount_cny", "models", "providers", "url")


def artifact_table(rows: list[dict]) -> list[dict]:
    """The digest as rows of plain strings for a Prefect table artifact."""
    table = []
    for row in rows:
        record = {}
        for column in ARTIFACT_COLUMNS:
            value = row.get(column)
            record[column] = outputs.joined(value) if isinstance(value, list) else ("" if value is None else str(value))
        table.append(record)
    return table
