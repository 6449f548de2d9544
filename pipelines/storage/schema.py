"""The warehouse schema: tables, views and their comments, declared once and applied by fingerprint.

The notice columns come from ``pipelines.model``; the match, review, watch-list, crawl-run, ledger and translation
tables are declared here. Table and column names are the analysts' interface: every one has a ``COMMENT ON``.
"""

from __future__ import annotations

import hashlib
import json

import duckdb
import pyarrow as pa

from pipelines.model import MONEY, NOTICE_COLUMNS, TIMESTAMP, Column
from pipelines.storage.transactions import transaction

MATCH_COLUMNS: tuple[Column, ...] = (
    Column("source", "VARCHAR NOT NULL", pa.string(), "Portal of the matched notice."),
    Column("notice_id", "VARCHAR NOT NULL", pa.string(), "Portal id of the matched notice."),
    Column("hit_no", "INTEGER NOT NULL", pa.int32(), "Position of this hit among the notice's hits."),
    Column("rule_id", "VARCHAR", pa.string(), "Rule that fired (see pipelines/matching/rules.toml)."),
    Column("category", "VARCHAR", pa.string(), "ai_chip, cloud_compute, llm_tokens or ai_compute_unspecified."),
    Column("tier", "VARCHAR", pa.string(), "Strength of this hit: strong, review or weak."),
    Column("score", "DOUBLE", pa.float64(), "Score of this hit."),
    Column("matched_text", "VARCHAR", pa.string(), "The text the rule matched, as on the page."),
    Column("evidence", "VARCHAR", pa.string(), "About 40 characters either side of the hit, as on the page."),
    Column("field", "VARCHAR", pa.string(), "Where the hit is: title, body, items or attachment."),
    Column("model", "VARCHAR", pa.string(), "Chip model named (A100, H800, RTX 4090…)."),
    Column("quantity", "DOUBLE", pa.float64(), "Number of cards or servers extracted."),
    Column("unit", "VARCHAR", pa.string(), "Unit of the quantity (card, server, …)."),
    Column("memory", "VARCHAR", pa.string(), "Accelerator memory named (80GB…)."),
    Column("provider", "VARCHAR", pa.string(), "Cloud or model provider named (AWS, Azure, OpenAI…)."),
    Column("tokens", "BIGINT", pa.int64(), "LLM tokens bought (4000万tokens → 40000000)."),
    Column("restricted_since", "DATE", pa.date32(), "Date US export restrictions on this model began."),
    Column("after_restriction", "BOOLEAN", pa.bool_(), "Whether the notice is dated after that restriction."),
    Column(
        "licence_policy",
        "VARCHAR",
        pa.string(),
        "What US licence policy applied to this model on the notice's date, for any buyer in China (e.g. 'licensable "
        "case by case since 15 Jan 2026 …'); from rules.toml [[licence_changes]].",
    ),
    Column(
        "licence_policy_listed",
        "VARCHAR",
        pa.string(),
        "The same for a buyer on the Entity List or the MEU list, or military by its name.",
    ),
    Column("reason", "VARCHAR", pa.string(), "Why the rule exists, in English."),
    Column("amount_cny", "DECIMAL(18,2)", MONEY, "Amount in CNY stated near the hit (a line total, a unit price)."),
    Column("rules_version", "VARCHAR", pa.string(), "Version of the rules file that produced the hit."),
)
MATCH_SCHEMA = pa.schema([pa.field(c.name, c.arrow) for c in MATCH_COLUMNS])

RESULT_COLUMNS: tuple[Column, ...] = (
    Column("source", "VARCHAR NOT NULL", pa.string(), "Portal of the notice."),
    Column("notice_id", "VARCHAR NOT NULL", pa.string(), "Portal id of the notice."),
    Column("tier", "VARCHAR", pa.string(), "Overall verdict: strong (publish), review, weak or none."),
    Column("score", "DOUBLE", pa.float64(), "Overall score of the notice."),
    Column("categories", "VARCHAR[]", pa.list_(pa.string()), "Categories with hits at tier review or above."),
    Column("rules_version", "VARCHAR", pa.string(), "Rules version the notice was last matched with."),
    Column("content_hash", "VARCHAR", pa.string(), "Content hash of the notice text that was matched."),
    Column("first_matched_at", "TIMESTAMPTZ", TIMESTAMP, "When the notice first reached tier review or above."),
    Column("matched_at", "TIMESTAMPTZ", TIMESTAMP, "When the notice was last matched."),
)
RESULT_SCHEMA = pa.schema([pa.field(c.name, c.arrow) for c in RESULT_COLUMNS])

ATTACHMENT_COLUMNS: tuple[Column, ...] = (
    Column("source", "VARCHAR NOT NULL", pa.string(), "Portal of the notice the file is attached to."),
    Column("notice_id", "VARCHAR NOT NULL", pa.string(), "Portal id of that notice (notices.notice_id)."),
    Column("url", "VARCHAR NOT NULL", pa.string(), "Where the file was downloaded from (the archived request)."),
    Column(
        "member",
        "VARCHAR NOT NULL",
        pa.string(),
        "Path inside a ZIP the row was read from ('' for the downloaded file itself); never used as a file path.",
    ),
    Column("name", "VARCHAR", pa.string(), "File name as the notice lists it (a ZIP member: zip name/member path)."),
    Column("media_type", "VARCHAR", pa.string(), "pdf, docx, xlsx, xls, zip, doc, wps, rar or unknown (from bytes)."),
    Column("bytes", "BIGINT", pa.int64(), "Size of the file (a ZIP member: unpacked); NULL when not downloaded."),
    Column("pages", "INTEGER", pa.int32(), "PDF pages or spreadsheet sheets read; NULL for other formats."),
    Column(
        "status",
        "VARCHAR NOT NULL",
        pa.string(),
        "ok (text read), no_text_layer (a scan: pages without text), unpacked (a ZIP: see its members), or why "
        "it was skipped: encrypted, corrupt, unsupported, too_large, too_many_pages, zip_bomb, too_deep, "
        "budget (the night's download budget was spent), not_fetched (HTTP error).",
    ),
    Column("reason", "VARCHAR", pa.string(), "One line on the status (the error, the cap that was hit)."),
    Column(
        "text",
        "VARCHAR",
        pa.string(),
        "Extracted text; pages (PDF) or sheets (XLSX/XLS) are separated by a form feed (chr(12)).",
    ),
    Column("content_hash", "VARCHAR", pa.string(), "SHA-256 of the file's bytes (NULL when not downloaded)."),
    Column("extracted_at", "TIMESTAMPTZ", TIMESTAMP, "When the row was written."),
)
ATTACHMENT_SCHEMA = pa.schema([pa.field(c.name, c.arrow) for c in ATTACHMENT_COLUMNS])

DDL = f"""
CREATE TABLE IF NOT EXISTS notices (
    {", ".join(f"{c.name} {c.sql}" for c in NOTICE_COLUMNS)},
    PRIMARY KEY (source, notice_id)
);
CREATE TABLE IF NOT EXISTS matches (
    {", ".join(f"{c.name} {c.sql}" for c in MATCH_COLUMNS)},
    PRIMARY KEY (source, notice_id, hit_no)
);
CREATE TABLE IF NOT EXISTS match_results (
    {", ".join(f"{c.name} {c.sql}" for c in RESULT_COLUMNS)},
    PRIMARY KEY (source, notice_id)
);
CREATE TABLE IF NOT EXISTS attachments (
    {", ".join(f"{c.name} {c.sql}" for c in ATTACHMENT_COLUMNS)},
    PRIMARY KEY (source, notice_id, url, member)
);
CREATE TABLE IF NOT EXISTS crawl_runs (
    run_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    from_date DATE,
    until_date DATE,
    replay VARCHAR,
    finish_reason VARCHAR,
    requests BIGINT,
    responses BIGINT,
    items BIGINT,
    errors BIGINT,
    blocked BOOLEAN,
    verdict VARCHAR,
    reason VARCHAR,
    archive_path VARCHAR,
    stats JSON,
    responses_by_status JSON,
    empty_list_pages BIGINT,
    next_page_lost BIGINT,
    prefilter_skipped BIGINT,
    retry_after VARCHAR,
    blocked_until TIMESTAMPTZ,
    list_pages_failed BIGINT,
    notices_missed BIGINT,
    already_stored BIGINT,
    budget_reached BIGINT,
    PRIMARY KEY (run_id, source)
);
-- Databases created before the crawl-health columns existed get them here.
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS responses_by_status JSON;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS empty_list_pages BIGINT;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS next_page_lost BIGINT;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS prefilter_skipped BIGINT;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS retry_after VARCHAR;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS blocked_until TIMESTAMPTZ;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS list_pages_failed BIGINT;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS notices_missed BIGINT;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS already_stored BIGINT;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS budget_reached BIGINT;
CREATE TABLE IF NOT EXISTS pending_fetches (
    source VARCHAR NOT NULL,
    notice_id VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    listing JSON,
    reason VARCHAR,
    attempts INTEGER NOT NULL,
    first_tried TIMESTAMPTZ,
    last_tried TIMESTAMPTZ,
    last_run_id VARCHAR,
    given_up VARCHAR,
    PRIMARY KEY (source, notice_id)
);
CREATE TABLE IF NOT EXISTS backfill_windows (
    source VARCHAR NOT NULL,
    window_from DATE NOT NULL,
    window_until DATE NOT NULL,
    run_id VARCHAR NOT NULL,
    verdict VARCHAR,
    items BIGINT,
    finished_at TIMESTAMPTZ,
    PRIMARY KEY (source, window_from, window_until)
);
CREATE TABLE IF NOT EXISTS replay_windows (
    source VARCHAR NOT NULL,
    window_from DATE NOT NULL,
    window_until DATE NOT NULL,
    replay VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    verdict VARCHAR,
    items BIGINT,
    finished_at TIMESTAMPTZ,
    PRIMARY KEY (source, window_from, window_until, replay)
);
-- Before replay_windows, a replayed backfill marked its windows in backfill_windows, where a live backfill then
-- skipped them: such rows move here (their crawl says it was a replay).
INSERT OR IGNORE INTO replay_windows
SELECT w.source, w.window_from, w.window_until, c.replay, w.run_id, w.verdict, w.items, w.finished_at
FROM backfill_windows w JOIN crawl_runs c USING (run_id, source) WHERE c.replay IS NOT NULL;
DELETE FROM backfill_windows
WHERE (run_id, source) IN (SELECT run_id, source FROM crawl_runs WHERE replay IS NOT NULL);
CREATE TABLE IF NOT EXISTS publications (
    source VARCHAR NOT NULL,
    notice_id VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    publish_date DATE NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    tier VARCHAR,
    categories VARCHAR[],
    status VARCHAR NOT NULL,
    PRIMARY KEY (source, notice_id)
);
CREATE TABLE IF NOT EXISTS delivery_outbox (
    run_id VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    publish_date DATE,
    message JSON NOT NULL,
    status VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    done_at TIMESTAMPTZ,
    PRIMARY KEY (run_id, channel)
);
CREATE TABLE IF NOT EXISTS deliveries (
    run_id VARCHAR NOT NULL,
    publish_date DATE,
    channel VARCHAR NOT NULL,
    target VARCHAR,
    status VARCHAR NOT NULL,
    attempts INTEGER,
    error VARCHAR,
    matches INTEGER,
    delivered_at TIMESTAMPTZ NOT NULL
);
-- Databases created before the process column existed get it here.
ALTER TABLE notices ADD COLUMN IF NOT EXISTS ocid VARCHAR;
ALTER TABLE notices ADD COLUMN IF NOT EXISTS published_date DATE;
UPDATE notices SET published_date = timezone('Asia/Shanghai', published_at)::DATE
WHERE published_date IS NULL AND published_at IS NOT NULL;
ALTER TABLE matches ADD COLUMN IF NOT EXISTS amount_cny DECIMAL(18,2);
ALTER TABLE matches ADD COLUMN IF NOT EXISTS licence_policy VARCHAR;
ALTER TABLE matches ADD COLUMN IF NOT EXISTS licence_policy_listed VARCHAR;
CREATE TABLE IF NOT EXISTS segments (
    segment_hash VARCHAR PRIMARY KEY,
    text VARCHAR NOT NULL,
    chars INTEGER NOT NULL,
    first_seen_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS notice_segments (
    source VARCHAR NOT NULL,
    notice_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    field VARCHAR NOT NULL,
    segment_hash VARCHAR NOT NULL,
    segmented_from VARCHAR NOT NULL,
    PRIMARY KEY (source, notice_id, position)
);
CREATE TABLE IF NOT EXISTS glossary (
    term_zh VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    term_en VARCHAR NOT NULL,
    PRIMARY KEY (term_zh, kind)
);
CREATE TABLE IF NOT EXISTS translations (
    segment_hash VARCHAR NOT NULL,
    target_lang VARCHAR NOT NULL,
    engine VARCHAR NOT NULL,
    text VARCHAR NOT NULL,
    translated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (segment_hash, target_lang, engine)
);
CREATE TABLE IF NOT EXISTS translation_declines (
    segment_hash VARCHAR NOT NULL,
    target_lang VARCHAR NOT NULL,
    engine VARCHAR NOT NULL,
    engine_version VARCHAR NOT NULL,
    declined_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (segment_hash, target_lang, engine)
);
"""

TABLE_COMMENTS = {
    "notices": "One row per procurement notice (source + notice_id), normalized from the archived page.",
    "matches": "One row per rule hit on a notice: what matched, the evidence and what was extracted.",
    "match_results": "One row per notice: its overall tier, score and categories under the current rules.",
    "attachments": "One row per file attached to a screened notice (and per document inside an attached ZIP): "
    "its text, or why none was read.",
    "crawl_runs": "One row per source and nightly run: what was fetched and the health verdict.",
    "pending_fetches": "Listed notices whose detail page could not be fetched yet: retried every night until stored "
    "or given up.",
    "backfill_windows": "Date windows a live backfill has finished per source: a resumed backfill skips them.",
    "replay_windows": (
        "Date windows a backfill replayed from a WARC archive has finished, per source and archive; never live."
    ),
    "publications": "Ledger of notices published in a nightly digest: each goes out exactly once.",
    "deliveries": "One row per delivery channel tried per nightly run (webhook, e-mail): sent or failed, and why.",
    "delivery_outbox": "Each run's message per channel, entered with the publication it announces: sent once, by "
    "that run or the next.",
    "segments": "Translation units: each distinct sentence or line of clean text once, keyed by its hash.",
    "notice_segments": "Which segments make up each notice's title and text, in order.",
    "glossary": (
        "Domain terms and coded-field labels, Chinese to English (pipelines/publishing/glossary.toml and code tables)."
    ),
    "translations": "Translations of segments by target language and engine.",
    "translation_declines": "Segments a deterministic engine (the glossary) declined, and with which version of it: "
    "not offered to it again until it changes.",
}
SEGMENT_COMMENTS = {
    "segment_hash": "SHA-256 of the segment text: the key translations use.",
    "text": "The segment in Chinese (a sentence or a line of the clean text).",
    "chars": "Length of the segment in characters.",
    "first_seen_at": "When the segment was first stored.",
}
NOTICE_SEGMENT_COMMENTS = {
    "source": "Portal of the notice.",
    "notice_id": "Portal id of the notice.",
    "position": "Order of the segment in the notice (0 is the title when there is one).",
    "field": "title or text.",
    "segment_hash": "The segment (segments.segment_hash).",
    "segmented_from": "Hash of the title and text this segmentation was made from.",
}
GLOSSARY_COMMENTS = {
    "term_zh": "Term in Chinese.",
    "kind": "What the term labels: notice_type, method, category, region, unit or term.",
    "term_en": "English equivalent.",
}
TRANSLATION_COMMENTS = {
    "segment_hash": "The segment translated (segments.segment_hash).",
    "target_lang": "Language translated into (ISO 639-1, e.g. en).",
    "engine": "Engine that produced it: glossary (exact terms) or libretranslate (machine translation).",
    "text": "The translation.",
    "translated_at": "When it was translated.",
}
DECLINE_COMMENTS = {
    "segment_hash": "The segment declined (segments.segment_hash).",
    "target_lang": "Language it was to be translated into.",
    "engine": "Engine that declined it (glossary: a Han character outside the glossary, or too long).",
    "engine_version": "The engine's version then (for the glossary, a digest of its terms and rules).",
    "declined_at": "When it was declined.",
}
CRAWL_RUN_COMMENTS = {
    "run_id": "Nightly run id (UTC start time).",
    "source": "Portal crawled.",
    "started_at": "When the crawl started.",
    "finished_at": "When the crawl ended.",
    "from_date": "Oldest publish date asked for.",
    "until_date": "Newest publish date asked for (NULL: up to now).",
    "replay": "WARC archive replayed instead of the network (NULL for live crawls).",
    "finish_reason": "Scrapy's close reason.",
    "requests": "Requests sent.",
    "responses": "Responses received.",
    "items": "Notices collected.",
    "errors": "Errors logged.",
    "blocked": "Whether the portal refused us (block page, 403/429/521).",
    "verdict": "ok, degraded, blocked, broken or unreachable.",
    "reason": "One line explaining the verdict.",
    "archive_path": "WARC file holding every response of this crawl.",
    "stats": "All crawler stats as JSON.",
    "responses_by_status": 'Responses per HTTP status as JSON, e.g. {"200": 68, "429": 3}.',
    "empty_list_pages": "List pages that parsed to zero notices while the site answered (a layout change?).",
    "next_page_lost": "List pages whose link to the next page could not be found (paging stopped early).",
    "prefilter_skipped": "Listed notices whose detail page was not fetched: the title prefilter ruled them out.",
    "retry_after": "Retry-After header of the block answer, as sent.",
    "blocked_until": "After a block: the source is left alone until then (Retry-After, else a default back-off).",
    "list_pages_failed": "List pages that could not be read after retries (error status, timeout, redirect loop).",
    "notices_missed": "Listed notices whose detail page could not be fetched (kept in pending_fetches).",
    "already_stored": "Listed notices not fetched because they are stored already (same portal id); seen, not missed.",
    "budget_reached": "Requests left unmade because the source's request budget per crawl was spent (0: within it).",
}
PENDING_FETCH_COMMENTS = {
    "source": "Portal that listed the notice.",
    "notice_id": "Portal id of the listed notice.",
    "url": "Detail page to fetch again.",
    "listing": "What the list said of the notice (JSON), handed back to the spider with the URL.",
    "reason": "Why the latest attempt failed (HTTP 404, timed out, redirect loop…).",
    "attempts": "Crawls that tried the detail page and failed.",
    "first_tried": "When the first attempt failed.",
    "last_tried": "When the latest attempt failed.",
    "last_run_id": "Run of the latest failed attempt.",
    "given_up": "NULL while retried every night; else why it is no longer tried.",
}
BACKFILL_WINDOW_COMMENTS = {
    "source": "Portal backfilled.",
    "window_from": "First publish date of the window.",
    "window_until": "Last publish date of the window.",
    "run_id": "Backfill run that finished the window.",
    "verdict": "Verdict of the window's crawl (ok or degraded: a finished window).",
    "items": "Notices the window's crawl collected.",
    "finished_at": "When the window was finished.",
}
REPLAY_WINDOW_COMMENTS = {
    **BACKFILL_WINDOW_COMMENTS,
    "replay": "The WARC file or folder the window was replayed from.",
    "run_id": "Replayed backfill run that finished the window.",
}
PUBLICATION_COMMENTS = {
    "source": "Portal of the published notice.",
    "notice_id": "Portal id of the published notice.",
    "run_id": "Nightly run that published it.",
    "publish_date": "Date of the digest it appeared in (Asia/Shanghai).",
    "published_at": "When it was published.",
    "tier": "Tier at publication.",
    "categories": "Categories at publication.",
    "status": "pending while the night's outputs are being written, then published.",
}
DELIVERY_OUTBOX_COMMENTS = {
    "run_id": "Run that published the notices the message announces.",
    "channel": "webhook or email.",
    "publish_date": "Date of the digest announced (Asia/Shanghai).",
    "message": "The message as sent (JSON payload, subject, text and HTML).",
    "status": "waiting until a run sends it, then sent or failed (after every attempt).",
    "created_at": "When the notices it announces were marked published.",
    "done_at": "When it was sent or given up.",
}
DELIVERY_COMMENTS = {
    "run_id": "Nightly run that delivered.",
    "publish_date": "Date of the digest delivered (Asia/Shanghai).",
    "channel": "webhook or email.",
    "target": "Where to, without secrets: the webhook's scheme and host, or the SMTP server and recipient count.",
    "status": "sent, or failed after every attempt.",
    "attempts": "Attempts made (retries back off exponentially).",
    "error": "The last attempt's error; NULL when sent.",
    "matches": "Number of matches in the delivered message.",
    "delivered_at": "When delivery finished.",
}

# The notices at tier review or above: every view about matches restricts its per-notice lookups to these keys, so
# the hits, titles and parties of the other notices (most of them) are never read.
_MATCHED_KEYS = "SELECT source, notice_id FROM match_results WHERE tier IN ('strong', 'review')"


def _titles_en(only: str) -> str:
    """A notice's English title: its title segment translated; the glossary's exact wording before machine
    translation. ``only`` is a query of the (source, notice_id) pairs whose titles are needed ('' for all): the
    window then ranks the translations of those notices only."""
    restricted = f"AND (s.source, s.notice_id) IN ({only})" if only else ""
    return f"""
    SELECT s.source, s.notice_id, t.text AS title_en
    FROM notice_segments s JOIN translations t ON t.segment_hash = s.segment_hash AND t.target_lang = 'en'
    WHERE s.field = 'title' {restricted}
    QUALIFY row_number() OVER (
        PARTITION BY s.source, s.notice_id ORDER BY t.engine = 'glossary' DESC, t.translated_at DESC) = 1
"""


def matched_notices_for(keys: str) -> str:
    """The rows of ``matched_notices`` for the notices of ``keys``, a query of (source, notice_id) pairs at tier review
    or above. Their hits, title and parties are looked up for those notices only: in one pass each (a GROUP BY
    joined to the notices, where a subquery per column and notice read ``matches`` again for each), and not for the
    other notices (a view reading this one for a few notices does not pay for all of them)."""
    return f"""
        WITH hits AS (
            -- Window functions, not a GROUP BY, for the same reason as the processes view: each notice's hits are
            -- sorted (spilling to disk when they must) instead of held in aggregate states (an ordered evidence
            -- list, two licence texts), which ran out of the snapshot's memory cap at 1M notices (docs/decisions.md).
            SELECT source, notice_id,
                   -- Equal scores in hit order, as in the digest (the order among ties was the plan's).
                   [h.evidence FOR h IN list_sort(list({{'score': -score, 'hit_no': hit_no, 'evidence': evidence}})
                       OVER notice)] AS evidence,
                   CASE WHEN count(model) OVER notice > 0 THEN list_sort(list_distinct(list(model) OVER notice)) END
                       AS models,
                   CASE WHEN count(provider) OVER notice > 0
                        THEN list_sort(list_distinct(list(provider) OVER notice)) END AS providers,
                   bool_or(after_restriction) FILTER (WHERE tier IN ('strong', 'review')) OVER notice
                       AS after_restriction,
                   -- The licence statement is the policy of the strongest hit that states one (the first in hit
                   -- order among equal scores); which of its two policies applies depends on the buyer, known after
                   -- the join, so both are kept.
                   first_value(CASE WHEN licence_policy IS NOT NULL AND tier IN ('strong', 'review')
                                    THEN licence_policy END IGNORE NULLS) OVER strongest AS licence_policy,
                   first_value(CASE WHEN licence_policy IS NOT NULL AND tier IN ('strong', 'review')
                                    THEN licence_policy_listed END IGNORE NULLS) OVER strongest
                       AS licence_policy_listed
            FROM matches WHERE (source, notice_id) IN ({keys})
            WINDOW notice AS (PARTITION BY source, notice_id),
                   strongest AS (PARTITION BY source, notice_id ORDER BY score DESC, hit_no
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
            QUALIFY row_number() OVER (PARTITION BY source, notice_id ORDER BY score DESC, hit_no) = 1
        ), parties AS (
            -- The buyer's listing (or the party whose name it carries) and the listed suppliers.
            SELECT source, notice_id,
                   any_value(party_name_en) FILTER (WHERE role = 'buyer' AND party_id IS NOT NULL) AS buyer_party_en,
                   any_value(list_name) FILTER (WHERE role = 'buyer' AND listed) AS buyer_list,
                   any_value(relation) FILTER (WHERE role = 'buyer' AND party_id IS NOT NULL) AS buyer_relation,
                   bool_or(military) FILTER (WHERE role = 'buyer') AS buyer_military,
                   list(DISTINCT party_name_en) FILTER (WHERE role = 'supplier' AND listed) AS suppliers_listed
            FROM notice_parties WHERE (source, notice_id) IN ({keys}) GROUP BY source, notice_id
        ), base AS (
            SELECT r.tier, r.score, r.categories, n.published_at, n.published_date, n.title, te.title_en,
                   n.notice_type_en, n.buyer, n.suppliers, n.budget_cny, n.award_cny, n.region, n.url, n.source,
                   n.notice_id, n.ocid, h.evidence, h.models, h.providers, h.after_restriction,
                   p.buyer_party_en, p.buyer_list, p.buyer_relation, coalesce(p.buyer_military, false)
                       AS buyer_military, coalesce(p.suppliers_listed, []) AS suppliers_listed,
                   (SELECT list(w.name_en ORDER BY w.name_en) FROM supplier_watchlist w
                     WHERE len([s FOR s IN coalesce(n.suppliers, []) IF contains(s.name, w.name_zh)]) > 0)
                       AS watched_suppliers,
                   h.licence_policy, h.licence_policy_listed
            FROM match_results r JOIN notices n USING (source, notice_id)
            LEFT JOIN ({_titles_en(keys)}) te ON te.source = n.source AND te.notice_id = n.notice_id
            LEFT JOIN parties p ON p.source = n.source AND p.notice_id = n.notice_id
            LEFT JOIN hits h ON h.source = n.source AND h.notice_id = n.notice_id
            WHERE r.tier IN ('strong', 'review') AND (n.source, n.notice_id) IN ({keys})
        )
        SELECT b.* EXCLUDE (licence_policy, licence_policy_listed),
               CASE WHEN b.buyer_list IS NOT NULL OR b.buyer_military THEN b.licence_policy_listed
                    ELSE b.licence_policy END AS licence_statement,
               CASE
                   WHEN coalesce(b.after_restriction, false) AND (b.buyer_list IS NOT NULL OR b.buyer_military)
                       THEN 1
                   WHEN len(b.suppliers_listed) > 0 OR b.watched_suppliers IS NOT NULL THEN 2
                   ELSE 3
               END AS priority
        FROM base b
"""


# The matched notices with a party flagged by listed_party_purchases.
_FLAGGED_KEYS = f"""
    SELECT source, notice_id FROM notice_parties WHERE listed OR (military AND role = 'buyer')
    INTERSECT {_MATCHED_KEYS}
"""


def _processes(ocids: str) -> str:
    """One row per process (notices sharing an ocid). ``ocids`` is a query of the ocids wanted ('' for all): a
    process's row reads only its own notices, so the others are not aggregated."""
    restricted = f"AND n.ocid IN ({ocids})" if ocids else ""
    titles = f"SELECT source, notice_id FROM notices WHERE ocid IN ({ocids})" if ocids else ""
    return f"""
        WITH linked AS (
            SELECT n.*, te.title_en FROM notices n
            LEFT JOIN ({_titles_en(titles)}) te ON te.source = n.source AND te.notice_id = n.notice_id
            WHERE n.ocid IS NOT NULL {restricted}
        ), processes AS (
            -- Window functions, not a GROUP BY: the window sorts each process's notices by date (then id) and can
            -- spill to disk; an aggregate holding a dozen texts per process could not, and ran out of its memory cap
            -- at 1M notices (docs/decisions.md). The frame is the whole process; the first row of each is kept.
            SELECT ocid,
                   first_value(project_code IGNORE NULLS) OVER in_order AS project_code,
                   first_value(source) OVER in_order AS source,
                   last_value(buyer IGNORE NULLS) OVER in_order AS buyer,
                   last_value(agency IGNORE NULLS) OVER in_order AS agency,
                   first_value(title IGNORE NULLS) OVER in_order AS process_title,
                   first_value(title_en IGNORE NULLS) OVER in_order AS process_title_en,
                   count(*) OVER process AS notice_count,
                   min(published_at) OVER process AS first_notice_at,
                   max(published_at) OVER process AS latest_notice_at,
                   min(published_date) OVER process AS first_notice_date,
                   max(published_date) OVER process AS latest_notice_date,
                   last_value(notice_type) OVER in_order AS latest_notice_type,
                   -- Corrections and side notices do not move the process on; the latest stage notice does.
                   last_value(CASE WHEN notice_type NOT IN ('correction', 'complaint', 'supervision', 'other')
                                   THEN notice_type END IGNORE NULLS) OVER in_order AS stage_type,
                   last_value(CASE WHEN notice_type = 'termination' THEN title END IGNORE NULLS) OVER in_order
                       AS termination_title,
                   -- Award and deal notices rarely restate the method; the process keeps the latest one stated.
                   last_value(procurement_method IGNORE NULLS) OVER in_order AS procurement_method,
                   last_value(procurement_method_zh IGNORE NULLS) OVER in_order AS procurement_method_zh,
                   last_value(budget_cny IGNORE NULLS) OVER in_order AS budget_cny,
                   last_value(CASE WHEN notice_type IN ('award', 'deal', 'contract') THEN award_cny END IGNORE NULLS)
                       OVER in_order AS award_cny,
                   -- Lists over the unordered window, sorted after: an aggregate in a frame with an order is
                   -- computed again for every row of the process (twice the view's time).
                   coalesce(list_sort(list_distinct(flatten(list(
                       CASE WHEN notice_type IN ('award', 'deal', 'contract')
                            THEN [s.name FOR s IN suppliers IF s.name IS NOT NULL] END) OVER process))), [])
                       AS supplier_names,
                   [n.notice_id FOR n IN list_sort(list({{'published_at': published_at, 'notice_id': notice_id}})
                       OVER process)] AS notice_ids,
                   first_value(url) OVER in_order AS first_notice_url,
                   last_value(url) OVER in_order AS latest_notice_url
            FROM linked
            WINDOW process AS (PARTITION BY ocid),
                   in_order AS (PARTITION BY ocid ORDER BY published_at, notice_id
                                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
            QUALIFY row_number() OVER (PARTITION BY ocid ORDER BY published_at, notice_id) = 1
        )
        SELECT ocid, project_code, source, buyer, agency, process_title, process_title_en,
               CASE
                   WHEN stage_type IN ('award', 'deal', 'contract', 'acceptance') THEN 'complete'
                   WHEN stage_type = 'termination'
                       THEN CASE WHEN regexp_matches(coalesce(termination_title, ''), '废标|流标|失败')
                                 THEN 'unsuccessful' ELSE 'cancelled' END
                   WHEN stage_type = 'intent' THEN 'planned'
                   ELSE 'active'
               END AS status,
               latest_notice_type, procurement_method, procurement_method_zh, notice_count, first_notice_at,
               latest_notice_at, first_notice_date, latest_notice_date, budget_cny, award_cny,
               coalesce(award_cny, budget_cny) AS amount_cny,
               CASE WHEN award_cny IS NOT NULL THEN 'award' WHEN budget_cny IS NOT NULL THEN 'budget' END
                   AS amount_kind,
               supplier_names, notice_ids, first_notice_url, latest_notice_url
        FROM processes
"""


# The notices naming a known intermediary as supplier.
_WATCHED_KEYS = """
    SELECT n.source, n.notice_id FROM notices n, unnest(n.suppliers) AS u(supplier)
    JOIN supplier_watchlist w ON contains(u.supplier.name, w.name_zh)
"""

# The ocids of the processes with a matched notice.
_MATCHED_OCIDS = """
    SELECT n.ocid FROM match_results r JOIN notices n USING (source, notice_id)
    WHERE r.tier IN ('strong', 'review') AND n.ocid IS NOT NULL
"""

VIEWS = {
    "matched_notices": (
        "Notices at tier review or above, newest first, with their evidence, the buyer's and suppliers' listing and "
        "the licence policy of the notice's date: the analysts' starting point.",
        matched_notices_for(_MATCHED_KEYS),
    ),
    "listed_party_purchases": (
        "Every matched AI-compute purchase (tier review or above) whose buyer is a listed party or military by name, "
        "or whose supplier is a listed party: one row per notice and flagged party.",
        f"""
        SELECT mn.priority, mn.tier, mn.categories, mn.published_date, np.role, np.name AS party_name,
               np.party_name_en, np.list_name, np.relation, np.military, mn.models, mn.licence_statement,
               coalesce(mn.award_cny, mn.budget_cny) AS amount_cny,
               CASE WHEN mn.award_cny IS NOT NULL THEN 'award' WHEN mn.budget_cny IS NOT NULL THEN 'budget' END
                   AS amount_kind,
               mn.title, mn.title_en, mn.url, mn.source, mn.notice_id, mn.ocid
        FROM ({matched_notices_for(_FLAGGED_KEYS)}) mn
        JOIN notice_parties np USING (source, notice_id)
        WHERE np.listed OR (np.military AND np.role = 'buyer')
        """,
    ),
    "procurement_processes": (
        "One row per procurement process (notices sharing an ocid): tender → corrections → award → contract.",
        _processes(""),
    ),
    "watched_supplier_notices": (
        "Notices naming a known intermediary (supplier_watchlist) as supplier, with the matcher's verdict on each.",
        f"""
        WITH supplied AS (
            SELECT n.source, n.notice_id, unnest(n.suppliers) AS supplier FROM notices n
        )
        SELECT w.name_en AS watched_name_en, w.name_zh AS watched_name, w.why,
               s.supplier.name AS supplier_name, s.supplier.amount_cny AS supplier_amount_cny,
               n.published_at, n.published_date, n.notice_type, n.notice_type_en, n.title, te.title_en, n.buyer,
               coalesce(r.tier, 'none') AS tier, r.categories, n.url, n.source, n.notice_id, n.ocid
        FROM supplied s
        JOIN supplier_watchlist w ON contains(s.supplier.name, w.name_zh)
        JOIN notices n USING (source, notice_id)
        LEFT JOIN match_results r USING (source, notice_id)
        LEFT JOIN ({_titles_en(_WATCHED_KEYS)}) te ON te.source = n.source AND te.notice_id = n.notice_id
        """,
    ),
    "notices_en": (
        "Every notice with its coded fields in English (glossary) and its English title where translated.",
        f"""
        WITH labels AS (
            SELECT map_from_entries(list((term_zh, term_en)) FILTER (WHERE kind = 'method')) AS methods,
                   map_from_entries(list((term_zh, term_en)) FILTER (WHERE kind = 'unit')) AS units
            FROM glossary
        )
        SELECT n.source, n.notice_id, n.ocid, n.published_at, n.published_date, n.title, te.title_en, n.notice_type,
               n.notice_type_en, n.procurement_method, labels.methods[n.procurement_method_zh] AS procurement_method_en,
               n.category AS category_en, n.region_en, n.buyer, n.budget_cny, n.award_cny,
               [{{'name': i.name, 'model': i.model, 'quantity': i.quantity, 'unit': i.unit,
                 'unit_en': labels.units[i.unit]}} FOR i IN n.items] AS items_en,
               n.url
        FROM notices n CROSS JOIN labels
        LEFT JOIN ({_titles_en("")}) te ON te.source = n.source AND te.notice_id = n.notice_id
        """,
    ),
    "purchases_by_category": (
        "One row per matched notice (tier review or above) and category, with what was bought, from whom, how "
        "much, and the strongest evidence: filter on category for chips, remote compute or LLM tokens.",
        f"""
        WITH hits AS (
            SELECT source, notice_id, category,
                   list_sort(list(DISTINCT model) FILTER (WHERE model IS NOT NULL)) AS models,
                   list_sort(list(DISTINCT quantity::BIGINT || ' ' || coalesce(unit, ''))
                       FILTER (WHERE quantity IS NOT NULL)) AS quantities,
                   max(quantity) FILTER (WHERE unit = 'card') AS cards,
                   list_sort(list(DISTINCT provider) FILTER (WHERE provider IS NOT NULL)) AS providers,
                   max(tokens) AS tokens,
                   min(restricted_since) AS restricted_since,
                   bool_or(after_restriction) AS after_restriction,
                   arg_max(evidence, score) AS top_evidence
            FROM matches WHERE tier IN ('strong', 'review') AND (source, notice_id) IN ({_MATCHED_KEYS})
            GROUP BY source, notice_id, category
        )
        SELECT h.category, r.tier, n.published_at, n.published_date, n.title, te.title_en, n.notice_type,
               n.notice_type_en, n.buyer,
               [s.name FOR s IN coalesce(n.suppliers, []) IF s.name IS NOT NULL] AS suppliers_named,
               coalesce(n.award_cny, n.budget_cny) AS amount_cny,
               CASE WHEN n.award_cny IS NOT NULL THEN 'award' WHEN n.budget_cny IS NOT NULL THEN 'budget' END
                   AS amount_kind,
               n.budget_cny, n.award_cny,
               h.models, h.quantities, h.cards, h.providers, h.tokens, h.restricted_since, h.after_restriction,
               h.top_evidence, n.project_code, n.ocid, n.region, n.url, n.source, n.notice_id
        FROM hits h
        JOIN match_results r ON r.source = h.source AND r.notice_id = h.notice_id
        JOIN notices n ON n.source = h.source AND n.notice_id = h.notice_id
        LEFT JOIN ({_titles_en(_MATCHED_KEYS)}) te ON te.source = n.source AND te.notice_id = n.notice_id
        WHERE r.tier IN ('strong', 'review') AND list_contains(r.categories, h.category)
        """,
    ),
    "matched_processes": (
        "One row per procurement process with a notice at tier review or above: its tender and award counted "
        "once, at the award when there is one, else the budget. Sum amount_cny here, not over notices.",
        f"""
        WITH matched AS (
            SELECT n.ocid, r.tier, r.categories, n.source, n.notice_id, n.published_date
            FROM match_results r JOIN notices n USING (source, notice_id)
            WHERE r.tier IN ('strong', 'review') AND n.ocid IS NOT NULL
        ), hits AS (
            SELECT n.ocid,
                   list_sort(list(DISTINCT m.model) FILTER (WHERE m.model IS NOT NULL)) AS models,
                   -- The tender and the award of one purchase name the same cards: the largest count, not a sum.
                   max(m.quantity) FILTER (WHERE m.unit = 'card') AS cards,
                   list_sort(list(DISTINCT m.provider) FILTER (WHERE m.provider IS NOT NULL)) AS providers,
                   max(m.tokens) AS tokens
            FROM matches m JOIN matched n USING (source, notice_id)
            WHERE m.tier IN ('strong', 'review')
            GROUP BY n.ocid
        ), processes AS (
            SELECT ocid, CASE WHEN bool_or(tier = 'strong') THEN 'strong' ELSE 'review' END AS tier,
                   list_sort(list_distinct(flatten(list(categories)))) AS categories,
                   min(published_date) AS first_matched_date,
                   list(notice_id ORDER BY published_date, notice_id) AS matched_notice_ids
            FROM matched GROUP BY ocid
        )
        SELECT p.ocid, p.tier, p.categories, pr.buyer, pr.process_title, pr.process_title_en, pr.status,
               pr.amount_cny, pr.amount_kind, pr.budget_cny, pr.award_cny, pr.supplier_names, h.models, h.cards,
               h.providers, h.tokens, p.first_matched_date, pr.first_notice_date, pr.latest_notice_date,
               p.matched_notice_ids, pr.notice_ids, pr.latest_notice_url
        FROM processes p
        JOIN ({_processes(_MATCHED_OCIDS)}) pr USING (ocid)
        LEFT JOIN hits h USING (ocid)
        """,
    ),
    "source_health": (
        "Latest crawl verdict per source, with the evidence: responses by status, empty list pages, lost next "
        "pages, and the back-off after a block.",
        """
        SELECT source, run_id, started_at, verdict, reason, requests, responses, items, errors,
               responses_by_status, empty_list_pages, next_page_lost, prefilter_skipped, blocked, retry_after,
               blocked_until
        FROM crawl_runs
        QUALIFY row_number() OVER (PARTITION BY source ORDER BY started_at DESC) = 1
        """,
    ),
}


REVIEWS_DDL = """
CREATE TABLE IF NOT EXISTS match_reviews (
    source VARCHAR NOT NULL,
    notice_id VARCHAR NOT NULL,
    verdict VARCHAR NOT NULL CHECK (verdict IN ('confirmed', 'false_positive', 'unsure')),
    categories VARCHAR[],
    note VARCHAR,
    reviewer VARCHAR,
    reviewed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, notice_id)
);
"""
REVIEWS_COMMENTS = {
    "source": "Portal of the reviewed notice.",
    "notice_id": "Portal id of the reviewed notice.",
    "verdict": "confirmed (a real purchase), false_positive, or unsure.",
    "categories": "For confirmed notices: the right categories (default: the matched ones).",
    "note": "The analyst's note.",
    "reviewer": "Who reviewed.",
    "reviewed_at": "When the verdict was recorded.",
}
REVIEWS_TABLE_COMMENT = "Analysts' verdicts on matched notices; evaluate --reviews turns them into a labelled set."


WATCHLIST_DDL = """
CREATE TABLE IF NOT EXISTS supplier_watchlist (
    name_zh VARCHAR PRIMARY KEY,
    name_en VARCHAR NOT NULL,
    why VARCHAR NOT NULL
);
"""
WATCHLIST_TABLE_COMMENT = (
    "Known intermediaries (pipelines/matching/watchlist.toml): suppliers that resold restricted compute before."
)
WATCHLIST_COMMENTS = {
    "name_zh": "Distinctive part of the company's Chinese name; a supplier whose name contains it is watched.",
    "name_en": "The company's name in English.",
    "why": "Why it is watched and who reported it.",
}


PARTIES_DDL = """
CREATE TABLE IF NOT EXISTS listed_parties (
    party_id VARCHAR PRIMARY KEY,
    name_en VARCHAR NOT NULL,
    names_zh VARCHAR[] NOT NULL,
    aliases_zh VARCHAR[],
    list_name VARCHAR NOT NULL,
    added DATE,
    citation VARCHAR,
    licence_policy VARCHAR,
    source VARCHAR NOT NULL,
    checked VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS notice_parties (
    source VARCHAR NOT NULL,
    notice_id VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    party_id VARCHAR,
    party_name_en VARCHAR,
    list_name VARCHAR,
    relation VARCHAR,
    listed BOOLEAN NOT NULL,
    military BOOLEAN NOT NULL,
    PRIMARY KEY (source, notice_id, role, name)
);
"""
PARTIES_TABLE_COMMENT = (
    "US-listed Chinese parties (pipelines/matching/parties.toml): Entity List, MEU list, Unverified List; reviewed and "
    "cited, reloaded every night."
)
PARTIES_COMMENTS = {
    "party_id": "Short key of the listed party.",
    "name_en": "The party's name in English, as the list gives it.",
    "names_zh": "Its registered Chinese name(s).",
    "aliases_zh": "Other Chinese names and short forms.",
    "list_name": "Entity List, Military End-User List or Unverified List.",
    "added": "When the listing took effect; NULL when no source seen gave it.",
    "citation": "Federal Register citation (84 FR 29371) or unknown.",
    "licence_policy": "Licence requirement and review policy as the sources state them.",
    "source": "Where the facts were found.",
    "checked": "primary (read in the Federal Register or on BIS's site) or secondary (summaries of it).",
}
NOTICE_PARTIES_TABLE_COMMENT = (
    "Buyers and suppliers of every notice that are a listed party (or carry one's name), or military by their name."
)
NOTICE_PARTIES_COMMENTS = {
    "source": "Portal of the notice.",
    "notice_id": "Portal id of the notice.",
    "role": "buyer or supplier.",
    "name": "The name as the notice gives it.",
    "party_id": "The listed party it is or carries the name of (listed_parties.party_id); NULL for a military unit "
    "that is on no list.",
    "party_name_en": "That party's English name.",
    "list_name": "The list, when the name is the party itself or a campus or department of it; NULL otherwise.",
    "relation": "itself, campus (深圳), part of it (华西医院), or carries its name (附属中学): not the listed party.",
    "listed": "Whether the name is the listed party or part of it (a school or company that only carries the name is "
    "not).",
    "military": "Whether the name is a military unit or institution (部队 numbers, 军医大学, 国防科技大学…): a "
    "class by name, apart from the lists.",
}

PROCESS_KEYS_DDL = """
CREATE TABLE IF NOT EXISTS process_keys (
    source VARCHAR NOT NULL,
    notice_id VARCHAR NOT NULL,
    project_code VARCHAR,
    buyer VARCHAR,
    code VARCHAR,
    base VARCHAR,
    PRIMARY KEY (source, notice_id)
);
"""
PROCESS_KEYS_TABLE_COMMENT = (
    "Internal: each notice's project code and buyer as its ocid was last computed from, so the nightly linking "
    "recomputes only the processes whose notices changed."
)
PROCESS_KEYS_COMMENTS = {
    "source": "Portal of the notice.",
    "notice_id": "Portal id of the notice.",
    "project_code": "notices.project_code when the ocid was computed.",
    "buyer": "notices.buyer when the ocid was computed.",
    "code": "The normalized project code (NULL: none, a process of its own).",
    "base": "The normalized code without its trailing -N, when it has one.",
}

PARTY_KEYS_DDL = """
CREATE TABLE IF NOT EXISTS party_keys (
    source VARCHAR NOT NULL,
    notice_id VARCHAR NOT NULL,
    names_hash UBIGINT NOT NULL,
    identified_with VARCHAR NOT NULL,
    PRIMARY KEY (source, notice_id)
);
"""
PARTY_KEYS_TABLE_COMMENT = (
    "Internal: what each notice's notice_parties rows were identified from, so a night identifies only the notices "
    "whose buyer or suppliers changed."
)
PARTY_KEYS_COMMENTS = {
    "source": "Portal of the notice.",
    "notice_id": "Portal id of the notice.",
    "names_hash": "Hash of the notice's buyer and supplier names when its parties were identified.",
    "identified_with": "The identification's version and a digest of parties.toml: other data identifies again.",
}


def schema_statements(*, tables: bool = True) -> list[str]:
    """Every statement that sets the schema up, except the view column comments (they need the views to exist);
    without ``tables``, only the views and the comments (for tables that exist already)."""
    tables_ddl = [DDL, REVIEWS_DDL, WATCHLIST_DDL, PARTIES_DDL, PROCESS_KEYS_DDL, PARTY_KEYS_DDL, SCHEMA_DDL]
    statements = tables_ddl if tables else []
    for name, (comment, sql) in VIEWS.items():
        statements += [f"CREATE OR REPLACE VIEW {name} AS {sql}", f"COMMENT ON VIEW {name} IS {quote(comment)}"]
    for table, comment in {**TABLE_COMMENTS, "store_schema": SCHEMA_TABLE_COMMENT}.items():
        statements.append(f"COMMENT ON TABLE {table} IS {quote(comment)}")
    for table, table_comment, comments in (
        ("match_reviews", REVIEWS_TABLE_COMMENT, REVIEWS_COMMENTS),
        ("supplier_watchlist", WATCHLIST_TABLE_COMMENT, WATCHLIST_COMMENTS),
        ("listed_parties", PARTIES_TABLE_COMMENT, PARTIES_COMMENTS),
        ("notice_parties", NOTICE_PARTIES_TABLE_COMMENT, NOTICE_PARTIES_COMMENTS),
        ("process_keys", PROCESS_KEYS_TABLE_COMMENT, PROCESS_KEYS_COMMENTS),
        ("party_keys", PARTY_KEYS_TABLE_COMMENT, PARTY_KEYS_COMMENTS),
    ):
        statements.append(f"COMMENT ON TABLE {table} IS {quote(table_comment)}")
        statements += [f"COMMENT ON COLUMN {table}.{n} IS {quote(c)}" for n, c in comments.items()]
    for table, columns in (
        ("notices", NOTICE_COLUMNS),
        ("matches", MATCH_COLUMNS),
        ("match_results", RESULT_COLUMNS),
        ("attachments", ATTACHMENT_COLUMNS),
    ):
        statements += [f"COMMENT ON COLUMN {table}.{c.name} IS {quote(c.comment)}" for c in columns]
    for table, comments in (
        ("crawl_runs", CRAWL_RUN_COMMENTS),
        ("backfill_windows", BACKFILL_WINDOW_COMMENTS),
        ("pending_fetches", PENDING_FETCH_COMMENTS),
        ("replay_windows", REPLAY_WINDOW_COMMENTS),
        ("publications", PUBLICATION_COMMENTS),
        ("deliveries", DELIVERY_COMMENTS),
        ("delivery_outbox", DELIVERY_OUTBOX_COMMENTS),
        ("segments", SEGMENT_COMMENTS),
        ("notice_segments", NOTICE_SEGMENT_COMMENTS),
        ("glossary", GLOSSARY_COMMENTS),
        ("translations", TRANSLATION_COMMENTS),
        ("translation_declines", DECLINE_COMMENTS),
        ("store_schema", SCHEMA_COMMENTS),
    ):
        statements += [f"COMMENT ON COLUMN {table}.{n} IS {quote(c)}" for n, c in comments.items()]
    return statements


def _view_column_comments() -> dict[str, str]:
    """Comments of view columns, by column name: a table column's own, or VIEW_COLUMN_COMMENTS."""
    known = {c.name: c.comment for c in (*NOTICE_COLUMNS, *MATCH_COLUMNS, *RESULT_COLUMNS)}
    return {**known, **CRAWL_RUN_COMMENTS, **VIEW_COLUMN_COMMENTS}


def apply_schema(con: duckdb.DuckDBPyConnection, *, tables: bool = True) -> None:
    """Set the database up in one transaction: all of the schema or none of it, and one commit instead of one per
    statement (262 statements, mostly COMMENT ON: 2-7x faster on a fresh file). Without ``tables``, only the views,
    the comments and the fingerprint, on tables copied from a database with the whole schema (the snapshot)."""
    with transaction(con):
        _apply_schema(con, tables)


def _apply_schema(con: duckdb.DuckDBPyConnection, tables: bool) -> None:
    for statement in schema_statements(tables=tables):
        con.execute(statement)
    known = _view_column_comments()
    for view in VIEWS:
        for (column,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND schema_name = current_schema()",
            [view],
        ).fetchall():
            con.execute(f"COMMENT ON COLUMN {view}.{column} IS {quote(known[column])}")
    con.execute("DELETE FROM store_schema")
    con.execute("INSERT INTO store_schema VALUES (?, now())", [SCHEMA_FINGERPRINT])


def applied_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'store_schema' AND schema_name = current_schema()"
    ).fetchall()[0][0]
    if not exists:
        return None
    rows = con.execute("SELECT fingerprint FROM store_schema").fetchall()
    return rows[0][0] if rows else None


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# View columns that are not simply a documented table column under the same name.
VIEW_COLUMN_COMMENTS = {
    "evidence": "Evidence snippets of the notice's hits, strongest first.",
    "after_restriction": "Whether a hit at tier review or above names a model bought after its US restriction began.",
    "buyer_party_en": "The listed party the buyer is, is part of, or only carries the name of (buyer_relation says "
    "which), in English.",
    "buyer_list": "The list the buyer is on (Entity List, Military End-User List, Unverified List), itself or as a "
    "campus or department; NULL when not listed (a school carrying a listed name is not).",
    "buyer_relation": "How the buyer relates to that party: itself, campus (深圳), part of it (华西医院), or "
    "carries its name (附属中学): not the listed party.",
    "buyer_military": "Whether the buyer is a military unit or institution by its name (部队 numbers, 军医大学, "
    "国防科技大学…), listed or not.",
    "suppliers_listed": "Suppliers of the notice that are listed parties (English names).",
    "watched_suppliers": "Suppliers on the known-intermediary watch-list (supplier_watchlist), English names.",
    "licence_statement": "US licence policy on the notice's date for its strongest chip hit and this buyer: e.g. "
    "'licence required; presumption of denial for Entity-List and military end users' or 'licensable case by case "
    "since 15 Jan 2026 …' (rules.toml [[licence_changes]]).",
    "priority": "1: a restricted chip bought after its restriction by a listed or military buyer; 2: sold by a "
    "listed supplier or a known intermediary; 3: the rest. The digest shows 1 and 2 first, marked.",
    "party_name": "The buyer's or supplier's name as the notice gives it.",
    "role": "buyer or supplier.",
    "list_name": "The list the party is on; NULL for a military buyer on no list.",
    "relation": "itself, campus (深圳) or part of it (华西医院).",
    "military": "Whether the party is military by its name.",
    "party_name_en": "The listed party's English name.",
    "models": "Chip models named in the notice's hits.",
    "providers": "Cloud or model providers named in the notice's hits.",
    "title_en": "Notice title in English where a translation exists (translations, glossary first).",
    "process_title": "Title of the process's first notice, in Chinese.",
    "process_title_en": "That title in English where a translation exists.",
    "status": "Process status: planned, active, cancelled, unsuccessful (废标/流标) or complete (awarded).",
    "latest_notice_type": "Notice type code of the process's latest notice.",
    "notice_count": "Number of notices in the process.",
    "first_notice_at": "Publication time of the process's first notice.",
    "latest_notice_at": "Publication time of its latest notice.",
    "supplier_names": "Suppliers named by the process's award, deal or contract notices.",
    "notice_ids": "The process's notices (notices.notice_id), oldest first.",
    "first_notice_url": "Address of the first notice.",
    "latest_notice_url": "Address of the latest notice.",
    "procurement_method_en": "Procurement method as written, in English (glossary).",
    "category_en": "What is bought, in English: goods, services or works.",
    "items_en": "Main items with their unit in English (glossary): name, model, quantity, unit, unit_en.",
    "suppliers_named": "Suppliers (winning or proposed) named on this notice itself; award-type notices name them.",
    "amount_cny": "Award amount in CNY when there is one, else the budget: amount_kind says which.",
    "amount_kind": "What amount_cny is: award (中标/成交 amount) or budget (预算); NULL when neither is known.",
    "first_notice_date": "Publication date (Asia/Shanghai) of the process's first notice.",
    "latest_notice_date": "Publication date (Asia/Shanghai) of its latest notice.",
    "first_matched_date": "Publication date (Asia/Shanghai) of the process's first matched notice.",
    "matched_notice_ids": "The process's notices at tier review or above, oldest first.",
    "quantities": "Quantities extracted from the hits, with their unit (8 card, 2 server, 100000 card_hour).",
    "cards": "Accelerator cards bought: the largest card count of the hits (item rows count cards per machine × "
    "machines, e.g. 2 servers × 8 A800 = 16).",
    "top_evidence": "Evidence snippet of the strongest hit of this category.",
    "watched_name_en": "The known intermediary, in English (supplier_watchlist.name_en).",
    "watched_name": "The watch-list name found in the supplier's name (supplier_watchlist.name_zh).",
    "why": "Why the company is watched and who reported it.",
    "supplier_name": "The supplier's name as the notice gives it.",
    "supplier_amount_cny": "That supplier's amount on the notice, CNY.",
}


SCHEMA_DDL = """
CREATE TABLE IF NOT EXISTS store_schema (
    fingerprint VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
);
"""
SCHEMA_TABLE_COMMENT = "Internal: which schema version store.connect last set this database up with."
SCHEMA_COMMENTS = {
    "fingerprint": "SHA-256 of every schema statement and comment; a new one makes store.connect apply the schema.",
    "applied_at": "When the schema was last applied.",
}
SCHEMA_FINGERPRINT = hashlib.sha256(
    "\n".join([*schema_statements(), json.dumps(_view_column_comments(), sort_keys=True)]).encode("utf-8")
).hexdigest()
