"""The DuckDB working database: one writer, batch loads through Arrow, deduplicated upserts.

The pipeline owns ``data/work/warehouse.duckdb``. Analysts never open it (DuckDB allows one writer or many readers,
never both): they get ``data/tenders.duckdb``, a snapshot built next to it and swapped in with ``os.replace``.
Table and column names are the analysts' interface; every one is documented with ``COMMENT ON``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.matching import reviews, watchlist

WORK_DB = Path("work") / "warehouse.duckdb"
SNAPSHOT_DB = Path("tenders.duckdb")

MONEY = pa.decimal128(18, 2)
SUPPLIER = pa.struct(
    [
        ("name", pa.string()),
        ("address", pa.string()),
        ("credit_code", pa.string()),
        ("amount_cny", MONEY),
        ("amount_raw", pa.string()),
        ("lot", pa.string()),
    ]
)
LOT = pa.struct(
    [
        ("number", pa.string()),
        ("name", pa.string()),
        ("budget_cny", MONEY),
        ("award_cny", MONEY),
        ("suppliers", pa.list_(pa.string())),
        ("status", pa.string()),
    ]
)
ITEM = pa.struct(
    [
        ("lot", pa.string()),
        ("name", pa.string()),
        ("brand", pa.string()),
        ("model", pa.string()),
        ("quantity", pa.float64()),
        ("unit", pa.string()),
        ("unit_price_cny", MONEY),
        ("unit_price_raw", pa.string()),
    ]
)
ATTACHMENT = pa.struct([("name", pa.string()), ("url", pa.string())])
TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Column:
    name: str
    sql: str
    arrow: pa.DataType
    comment: str


NOTICE_COLUMNS: tuple[Column, ...] = (
    Column("source", "VARCHAR NOT NULL", pa.string(), "Portal the notice came from (spider name, e.g. ccgp)."),
    Column("notice_id", "VARCHAR NOT NULL", pa.string(), "The portal's own id of the notice (from its URL)."),
    Column("url", "VARCHAR", pa.string(), "Address of the notice page on the portal."),
    Column("title", "VARCHAR", pa.string(), "Notice title in Chinese, as published."),
    Column("notice_type", "VARCHAR", pa.string(), "Notice type code (award, open_tender, correction, …)."),
    Column("notice_type_zh", "VARCHAR", pa.string(), "Notice type, Chinese label."),
    Column("notice_type_en", "VARCHAR", pa.string(), "Notice type, English label."),
    Column("procurement_method", "VARCHAR", pa.string(), "OCDS procurement method: open, selective, limited, direct."),
    Column("procurement_method_zh", "VARCHAR", pa.string(), "Procurement method as written (公开招标, 竞争性磋商…)."),
    Column("category", "VARCHAR", pa.string(), "What is bought: goods, services or works."),
    Column("category_path", "VARCHAR", pa.string(), "品目: the portal's procurement catalogue path."),
    Column("project_name", "VARCHAR", pa.string(), "Procurement project name."),
    Column("project_code", "VARCHAR", pa.string(), "Project number (项目编号); links the notices of one process."),
    Column("buyer", "VARCHAR", pa.string(), "Purchasing entity (采购人/采购单位)."),
    Column("buyer_address", "VARCHAR", pa.string(), "Buyer's address."),
    Column("buyer_contact", "VARCHAR", pa.string(), "Buyer's contact as published."),
    Column("agency", "VARCHAR", pa.string(), "Procurement agency running the process (代理机构)."),
    Column("agency_address", "VARCHAR", pa.string(), "Agency's address."),
    Column("agency_contact", "VARCHAR", pa.string(), "Agency's contact as published."),
    Column(
        "suppliers",
        "STRUCT(name VARCHAR, address VARCHAR, credit_code VARCHAR, amount_cny DECIMAL(18,2), amount_raw VARCHAR,"
        " lot VARCHAR)[]",
        pa.list_(SUPPLIER),
        "Winning or proposed suppliers with address, credit code, amount (CNY) and lot; unnest() to query.",
    ),
    Column("budget_cny", "DECIMAL(18,2)", MONEY, "Budget in CNY (预算金额); NULL when not given or a placeholder."),
    Column("budget_raw", "VARCHAR", pa.string(), "Budget as written on the page."),
    Column("ceiling_cny", "DECIMAL(18,2)", MONEY, "Ceiling price in CNY (最高限价)."),
    Column("ceiling_raw", "VARCHAR", pa.string(), "Ceiling price as written."),
    Column("award_cny", "DECIMAL(18,2)", MONEY, "Total award (中标/成交) amount in CNY."),
    Column("award_raw", "VARCHAR", pa.string(), "Award amount as written."),
    Column("tax_included", "BOOLEAN", pa.bool_(), "Whether amounts include tax (含税) when the page says."),
    Column("region", "VARCHAR", pa.string(), "Administrative area as the page gives it (行政区域)."),
    Column("province", "VARCHAR", pa.string(), "Province (Chinese)."),
    Column("city", "VARCHAR", pa.string(), "City (Chinese)."),
    Column("region_code", "VARCHAR", pa.string(), "Administrative division code (6 digits) where derivable."),
    Column("region_en", "VARCHAR", pa.string(), "Region in English (pinyin)."),
    Column("published_at", "TIMESTAMPTZ", TIMESTAMP, "Publication time (portal time is Asia/Shanghai)."),
    Column("deadline_at", "TIMESTAMPTZ", TIMESTAMP, "Bid or response deadline."),
    Column("opening_at", "TIMESTAMPTZ", TIMESTAMP, "Bid opening time."),
    Column("first_published_at", "TIMESTAMPTZ", TIMESTAMP, "Corrections: date of the first notice."),
    Column("corrected_at", "TIMESTAMPTZ", TIMESTAMP, "Corrections: date of the correction."),
    Column(
        "lots",
        "STRUCT(number VARCHAR, name VARCHAR, budget_cny DECIMAL(18,2), award_cny DECIMAL(18,2), suppliers VARCHAR[],"
        " status VARCHAR)[]",
        pa.list_(LOT),
        "Lots (包/标段) with their own budget, award, suppliers and status.",
    ),
    Column(
        "items",
        "STRUCT(lot VARCHAR, name VARCHAR, brand VARCHAR, model VARCHAR, quantity DOUBLE, unit VARCHAR,"
        " unit_price_cny DECIMAL(18,2), unit_price_raw VARCHAR)[]",
        pa.list_(ITEM),
        "Main items (主要标的): name, brand, model, quantity, unit, unit price (CNY).",
    ),
    Column("attachments", "STRUCT(name VARCHAR, url VARCHAR)[]", pa.list_(ATTACHMENT), "Attached files."),
    Column("text", "VARCHAR", pa.string(), "Clean body text, normalized and translation-ready."),
    Column("content_hash", "VARCHAR", pa.string(), "SHA-256 of the clean text: a changed notice gets a new hash."),
    Column("parser_version", "VARCHAR", pa.string(), "Version of the parser that produced this row."),
    Column("parse_error", "VARCHAR", pa.string(), "Why the page could not be fully parsed; NULL when it was."),
    Column("fetched_at", "TIMESTAMPTZ", TIMESTAMP, "When the page was fetched."),
    Column("first_seen_at", "TIMESTAMPTZ", TIMESTAMP, "When tenderwatch first stored this notice."),
    Column("last_seen_at", "TIMESTAMPTZ", TIMESTAMP, "When tenderwatch last stored this notice."),
    Column("run_id", "VARCHAR", pa.string(), "Nightly run that last stored this notice."),
    Column(
        "ocid",
        "VARCHAR",
        pa.string(),
        "Procurement process (OCDS ocid): the tender, corrections, award and contract of one project share it.",
    ),
)
NOTICE_SCHEMA = pa.schema([pa.field(c.name, c.arrow) for c in NOTICE_COLUMNS])
_STRUCTS = {c.name: c.arrow for c in NOTICE_COLUMNS if pa.types.is_list(c.arrow)}

MATCH_COLUMNS: tuple[Column, ...] = (
    Column("source", "VARCHAR NOT NULL", pa.string(), "Portal of the matched notice."),
    Column("notice_id", "VARCHAR NOT NULL", pa.string(), "Portal id of the matched notice."),
    Column("hit_no", "INTEGER NOT NULL", pa.int32(), "Position of this hit among the notice's hits."),
    Column("rule_id", "VARCHAR", pa.string(), "Rule that fired (see pipelines/matching/rules.toml)."),
    Column("category", "VARCHAR", pa.string(), "ai_chip, cloud_compute or llm_tokens."),
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
    PRIMARY KEY (run_id, source)
);
-- Databases created before the crawl-health columns existed get them here.
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS responses_by_status JSON;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS empty_list_pages BIGINT;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS next_page_lost BIGINT;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS prefilter_skipped BIGINT;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS retry_after VARCHAR;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS blocked_until TIMESTAMPTZ;
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
ALTER TABLE matches ADD COLUMN IF NOT EXISTS amount_cny DECIMAL(18,2);
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
"""

TABLE_COMMENTS = {
    "notices": "One row per procurement notice (source + notice_id), normalized from the archived page.",
    "matches": "One row per rule hit on a notice: what matched, the evidence and what was extracted.",
    "match_results": "One row per notice: its overall tier, score and categories under the current rules.",
    "crawl_runs": "One row per source and nightly run: what was fetched and the health verdict.",
    "backfill_windows": "Date windows a backfill has finished per source: a resumed backfill skips them.",
    "publications": "Ledger of notices published in a nightly digest: each goes out exactly once.",
    "deliveries": "One row per delivery channel tried per nightly run (webhook, e-mail): sent or failed, and why.",
    "segments": "Translation units: each distinct sentence or line of clean text once, keyed by its hash.",
    "notice_segments": "Which segments make up each notice's title and text, in order.",
    "glossary": (
        "Domain terms and coded-field labels, Chinese to English (pipelines/publishing/glossary.toml and code tables)."
    ),
    "translations": "Translations of segments by target language and engine.",
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

# A notice's English title: its title segment translated; the glossary's exact wording before machine translation.
_TITLES_EN = """
    SELECT s.source, s.notice_id, t.text AS title_en
    FROM notice_segments s JOIN translations t ON t.segment_hash = s.segment_hash AND t.target_lang = 'en'
    WHERE s.field = 'title'
    QUALIFY row_number() OVER (
        PARTITION BY s.source, s.notice_id ORDER BY t.engine = 'glossary' DESC, t.translated_at DESC) = 1
"""

VIEWS = {
    "matched_notices": (
        "Notices at tier review or above, newest first, with their evidence: the analysts' starting point.",
        """
        SELECT r.tier, r.score, r.categories, n.published_at, n.title, te.title_en, n.notice_type_en, n.buyer,
               n.suppliers, n.budget_cny, n.award_cny, n.region, n.url, n.source, n.notice_id, n.ocid,
               (SELECT list(m.evidence ORDER BY m.score DESC) FROM matches m
                 WHERE m.source = n.source AND m.notice_id = n.notice_id) AS evidence,
               (SELECT list_sort(list(DISTINCT m.model) FILTER (WHERE m.model IS NOT NULL)) FROM matches m
                 WHERE m.source = n.source AND m.notice_id = n.notice_id) AS models,
               (SELECT list_sort(list(DISTINCT m.provider) FILTER (WHERE m.provider IS NOT NULL)) FROM matches m
                 WHERE m.source = n.source AND m.notice_id = n.notice_id) AS providers
        FROM match_results r JOIN notices n USING (source, notice_id)
        LEFT JOIN ({_TITLES_EN}) te ON te.source = n.source AND te.notice_id = n.notice_id
        WHERE r.tier IN ('strong', 'review')
        """.replace("{_TITLES_EN}", _TITLES_EN),
    ),
    "procurement_processes": (
        "One row per procurement process (notices sharing an ocid): tender → corrections → award → contract.",
        """
        WITH linked AS (
            SELECT n.*, te.title_en FROM notices n
            LEFT JOIN ({_TITLES_EN}) te ON te.source = n.source AND te.notice_id = n.notice_id
            WHERE n.ocid IS NOT NULL
        ), processes AS (
            SELECT ocid,
                   arg_min(project_code, published_at) AS project_code,
                   arg_min(source, published_at) AS source,
                   arg_max(buyer, published_at) FILTER (WHERE buyer IS NOT NULL) AS buyer,
                   arg_max(agency, published_at) FILTER (WHERE agency IS NOT NULL) AS agency,
                   arg_min(title, published_at) AS process_title,
                   arg_min(title_en, published_at) AS process_title_en,
                   count(*) AS notice_count,
                   min(published_at) AS first_notice_at,
                   max(published_at) AS latest_notice_at,
                   arg_max(notice_type, published_at) AS latest_notice_type,
                   -- Corrections and side notices do not move the process on; the latest stage notice does.
                   arg_max(notice_type, published_at)
                       FILTER (WHERE notice_type NOT IN ('correction', 'complaint', 'supervision', 'other'))
                       AS stage_type,
                   arg_max(title, published_at) FILTER (WHERE notice_type = 'termination') AS termination_title,
                   -- Award and deal notices rarely restate the method; the process keeps the latest one stated.
                   arg_max(procurement_method, published_at) FILTER (WHERE procurement_method IS NOT NULL)
                       AS procurement_method,
                   arg_max(procurement_method_zh, published_at) FILTER (WHERE procurement_method_zh IS NOT NULL)
                       AS procurement_method_zh,
                   arg_max(budget_cny, published_at) FILTER (WHERE budget_cny IS NOT NULL) AS budget_cny,
                   arg_max(award_cny, published_at)
                       FILTER (WHERE award_cny IS NOT NULL AND notice_type IN ('award', 'deal', 'contract'))
                       AS award_cny,
                   coalesce(list_sort(list_distinct(flatten(list([s.name FOR s IN suppliers IF s.name IS NOT NULL])
                       FILTER (WHERE notice_type IN ('award', 'deal', 'contract'))))), []) AS supplier_names,
                   list(notice_id ORDER BY published_at, notice_id) AS notice_ids,
                   arg_min(url, published_at) AS first_notice_url,
                   arg_max(url, published_at) AS latest_notice_url
            FROM linked GROUP BY ocid
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
               latest_notice_at, budget_cny, award_cny, supplier_names, notice_ids, first_notice_url, latest_notice_url
        FROM processes
        """.replace("{_TITLES_EN}", _TITLES_EN),
    ),
    "watched_supplier_notices": (
        "Notices naming a known intermediary (supplier_watchlist) as supplier, with the matcher's verdict on each.",
        """
        WITH supplied AS (
            SELECT n.source, n.notice_id, unnest(n.suppliers) AS supplier FROM notices n
        )
        SELECT w.name_en AS watched_name_en, w.name_zh AS watched_name, w.why,
               s.supplier.name AS supplier_name, s.supplier.amount_cny AS supplier_amount_cny,
               n.published_at, n.notice_type, n.notice_type_en, n.title, te.title_en, n.buyer,
               coalesce(r.tier, 'none') AS tier, r.categories, n.url, n.source, n.notice_id, n.ocid
        FROM supplied s
        JOIN supplier_watchlist w ON contains(s.supplier.name, w.name_zh)
        JOIN notices n USING (source, notice_id)
        LEFT JOIN match_results r USING (source, notice_id)
        LEFT JOIN ({_TITLES_EN}) te ON te.source = n.source AND te.notice_id = n.notice_id
        """.replace("{_TITLES_EN}", _TITLES_EN),
    ),
    "notices_en": (
        "Every notice with its coded fields in English (glossary) and its English title where translated.",
        """
        WITH labels AS (
            SELECT map_from_entries(list((term_zh, term_en)) FILTER (WHERE kind = 'method')) AS methods,
                   map_from_entries(list((term_zh, term_en)) FILTER (WHERE kind = 'unit')) AS units
            FROM glossary
        )
        SELECT n.source, n.notice_id, n.ocid, n.published_at, n.title, te.title_en, n.notice_type,
               n.notice_type_en, n.procurement_method, labels.methods[n.procurement_method_zh] AS procurement_method_en,
               n.category AS category_en, n.region_en, n.buyer, n.budget_cny, n.award_cny,
               [{'name': i.name, 'model': i.model, 'quantity': i.quantity, 'unit': i.unit,
                 'unit_en': labels.units[i.unit]} FOR i IN n.items] AS items_en,
               n.url
        FROM notices n CROSS JOIN labels
        LEFT JOIN ({_TITLES_EN}) te ON te.source = n.source AND te.notice_id = n.notice_id
        """.replace("{_TITLES_EN}", _TITLES_EN),
    ),
    "purchases_by_category": (
        "One row per matched notice (tier review or above) and category, with what was bought, from whom, how "
        "much, and the strongest evidence: filter on category for chips, remote compute or LLM tokens.",
        """
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
            FROM matches WHERE tier IN ('strong', 'review')
            GROUP BY source, notice_id, category
        )
        SELECT h.category, r.tier, n.published_at, n.title, te.title_en, n.notice_type, n.notice_type_en, n.buyer,
               [s.name FOR s IN coalesce(n.suppliers, []) IF s.name IS NOT NULL] AS suppliers_named,
               coalesce(n.award_cny, n.budget_cny) AS amount_cny, n.budget_cny, n.award_cny,
               h.models, h.quantities, h.cards, h.providers, h.tokens, h.restricted_since, h.after_restriction,
               h.top_evidence, n.project_code, n.ocid, n.region, n.url, n.source, n.notice_id
        FROM hits h
        JOIN match_results r ON r.source = h.source AND r.notice_id = h.notice_id
        JOIN notices n ON n.source = h.source AND n.notice_id = h.notice_id
        LEFT JOIN ({_TITLES_EN}) te ON te.source = n.source AND te.notice_id = n.notice_id
        WHERE r.tier IN ('strong', 'review') AND list_contains(r.categories, h.category)
        """.replace("{_TITLES_EN}", _TITLES_EN),
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


# Schema set-up writes to the catalog; two connections doing it at once in one process (the nightly flow's crawl tasks
# run in threads) fail with "Catalog write-write conflict". The lock makes set-up one at a time per process; DuckDB's
# file lock already keeps other processes out of a database that is being written.
_SCHEMA_LOCK = threading.Lock()


def connect(db_path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the working database with its schema.

    The schema (tables, views, comments) is applied only when the database's recorded fingerprint differs from this
    code's, so an ordinary session writes nothing to the catalog.
    """
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        with _SCHEMA_LOCK:
            if _applied_fingerprint(con) != SCHEMA_FINGERPRINT:
                _apply_schema(con)
    except BaseException:
        con.close()
        raise
    return con


def _schema_statements() -> list[str]:
    """Every statement that sets the schema up, except the view column comments (they need the views to exist)."""
    statements = [DDL, reviews.DDL, watchlist.DDL, SCHEMA_DDL]
    for name, (comment, sql) in VIEWS.items():
        statements += [f"CREATE OR REPLACE VIEW {name} AS {sql}", f"COMMENT ON VIEW {name} IS {_quote(comment)}"]
    for table, comment in {**TABLE_COMMENTS, "store_schema": SCHEMA_TABLE_COMMENT}.items():
        statements.append(f"COMMENT ON TABLE {table} IS {_quote(comment)}")
    for table, module in (("match_reviews", reviews), ("supplier_watchlist", watchlist)):
        statements.append(f"COMMENT ON TABLE {table} IS {_quote(module.TABLE_COMMENT)}")
        statements += [f"COMMENT ON COLUMN {table}.{n} IS {_quote(c)}" for n, c in module.COMMENTS.items()]
    for table, columns in (("notices", NOTICE_COLUMNS), ("matches", MATCH_COLUMNS), ("match_results", RESULT_COLUMNS)):
        statements += [f"COMMENT ON COLUMN {table}.{c.name} IS {_quote(c.comment)}" for c in columns]
    for table, comments in (
        ("crawl_runs", CRAWL_RUN_COMMENTS),
        ("backfill_windows", BACKFILL_WINDOW_COMMENTS),
        ("publications", PUBLICATION_COMMENTS),
        ("deliveries", DELIVERY_COMMENTS),
        ("segments", SEGMENT_COMMENTS),
        ("notice_segments", NOTICE_SEGMENT_COMMENTS),
        ("glossary", GLOSSARY_COMMENTS),
        ("translations", TRANSLATION_COMMENTS),
        ("store_schema", SCHEMA_COMMENTS),
    ):
        statements += [f"COMMENT ON COLUMN {table}.{n} IS {_quote(c)}" for n, c in comments.items()]
    return statements


def _view_column_comments() -> dict[str, str]:
    """Comments of view columns, by column name: a table column's own, or VIEW_COLUMN_COMMENTS."""
    known = {c.name: c.comment for c in (*NOTICE_COLUMNS, *MATCH_COLUMNS, *RESULT_COLUMNS)}
    return {**known, **CRAWL_RUN_COMMENTS, **VIEW_COLUMN_COMMENTS}


def _apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    for statement in _schema_statements():
        con.execute(statement)
    known = _view_column_comments()
    for view in VIEWS:
        for (column,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND schema_name = current_schema()",
            [view],
        ).fetchall():
            con.execute(f"COMMENT ON COLUMN {view}.{column} IS {_quote(known[column])}")
    con.execute("DELETE FROM store_schema")
    con.execute("INSERT INTO store_schema VALUES (?, now())", [SCHEMA_FINGERPRINT])


def _applied_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'store_schema' AND schema_name = current_schema()"
    ).fetchall()[0][0]
    if not exists:
        return None
    rows = con.execute("SELECT fingerprint FROM store_schema").fetchall()
    return rows[0][0] if rows else None


@contextmanager
def session(db_path: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(db_path)
    try:
        yield con
    finally:
        con.close()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# View columns that are not simply a documented table column under the same name.
VIEW_COLUMN_COMMENTS = {
    "evidence": "Evidence snippets of the notice's hits, strongest first.",
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
    "amount_cny": "Award amount in CNY when the notice has one, else its budget.",
    "quantities": "Quantities extracted from the hits, with their unit (8 card, 2 server, 100000 card_hour).",
    "cards": "Largest number of accelerator cards named in the hits.",
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
    "\n".join([*_schema_statements(), json.dumps(_view_column_comments(), sort_keys=True)]).encode("utf-8")
).hexdigest()


# --- converting normalized notices to Arrow ---------------------------------------------------------------------


def _money(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def _number(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(str(value).replace(",", ""))
    except ValueError:
        return None


def _timestamp(value) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _conform(value, arrow_type: pa.DataType):
    """Coerce one JSON value to the Arrow type (money to Decimal, quantities to float, nested lists)."""
    if value is None:
        return None
    if pa.types.is_list(arrow_type):
        if not isinstance(value, list):
            return None
        return [_conform(v, arrow_type.value_type) for v in value]
    if pa.types.is_struct(arrow_type):
        if not isinstance(value, dict):
            return None
        return {field.name: _conform(value.get(field.name), field.type) for field in arrow_type}
    if pa.types.is_decimal(arrow_type):
        return _money(value)
    if pa.types.is_floating(arrow_type):
        return _number(value)
    if pa.types.is_timestamp(arrow_type):
        return _timestamp(value)
    if pa.types.is_boolean(arrow_type):
        return bool(value) if isinstance(value, bool) else None
    if pa.types.is_string(arrow_type):
        return value if isinstance(value, str) else str(value)
    return value


def notices_to_arrow(notices: Iterable[dict], run_id: str, seen_at: datetime) -> pa.Table:
    rows = []
    for notice in notices:
        row = {c.name: _conform(notice.get(c.name), c.arrow) for c in NOTICE_COLUMNS}
        row["first_seen_at"] = row["last_seen_at"] = seen_at
        row["run_id"] = run_id
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=NOTICE_SCHEMA)


def upsert_notices(con: duckdb.DuckDBPyConnection, table: pa.Table) -> tuple[int, int]:
    """Insert new notices and refresh known ones in one statement; returns (inserted, updated).

    The batch is deduplicated first: DuckDB keeps only the first of two rows with the same key in one
    ``INSERT … ON CONFLICT`` statement, so the newest fetch must be the only one left.
    """
    if table.num_rows == 0:
        return 0, 0
    name = f"batch_{uuid.uuid4().hex}"
    con.register(name, table)
    try:
        before = scalar(con, "SELECT count(*) FROM notices")
        # ocid is derived after the upsert (pipelines.storage.processes), so a re-stored notice keeps its process.
        keep_first_seen = {"source", "notice_id", "first_seen_at", "ocid"}
        updates = ", ".join(f"{c.name} = excluded.{c.name}" for c in NOTICE_COLUMNS if c.name not in keep_first_seen)
        columns = ", ".join(c.name for c in NOTICE_COLUMNS)
        con.execute(
            f"""
            INSERT INTO notices ({columns})
            SELECT {columns} FROM (
                SELECT DISTINCT ON (source, notice_id) * FROM {name}
                ORDER BY source, notice_id, fetched_at DESC NULLS LAST
            )
            ON CONFLICT (source, notice_id) DO UPDATE SET {updates}
            """
        )
        after = scalar(con, "SELECT count(*) FROM notices")
        distinct = scalar(con, f"SELECT count(*) FROM (SELECT DISTINCT source, notice_id FROM {name})")
    finally:
        con.unregister(name)
    inserted = after - before
    return inserted, distinct - inserted


def insert_arrow(con: duckdb.DuckDBPyConnection, target: str, table: pa.Table) -> None:
    """Append an Arrow table to ``target`` in one set-based statement."""
    if table.num_rows == 0:
        return
    name = f"batch_{uuid.uuid4().hex}"
    con.register(name, table)
    try:
        columns = ", ".join(table.column_names)
        con.execute(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {name}")
    finally:
        con.unregister(name)


def read_jsonl(path: str | Path) -> Iterator[dict]:
    with Path(path).open(encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                yield json.loads(line)


def publish_snapshot(db_path: str | Path, snapshot_path: str | Path, parquet_dir: str | Path | None = None) -> Path:
    """Copy the working database into a new file and swap it in atomically for analysts.

    Sessions already open on the old snapshot keep reading it; new connections see the new one. With
    ``parquet_dir``, every table and view of the new snapshot is also written there as ``<name>.parquet``.
    """
    snapshot_path = Path(snapshot_path)
    snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = snapshot_path.with_name(f".{snapshot_path.name}.{uuid.uuid4().hex}.tmp")
    con = connect(db_path)
    try:
        con.execute(f"ATTACH {_quote(str(tmp))} AS snapshot")
        con.execute(f"COPY FROM DATABASE {_db_name(con)} TO snapshot")
        con.execute("DETACH snapshot")
    finally:
        con.close()
    # Views and comments are re-declared in the snapshot itself so they resolve against its own tables.
    snap = duckdb.connect(str(tmp))
    try:
        _apply_schema(snap)
        snap.execute("CHECKPOINT")
        # From the new file before it is swapped in: reopening the snapshot path in this process could hand back
        # a cached instance of the old file (DuckDB reuses instances per path within a process).
        if parquet_dir is not None:
            export_parquet(snap, Path(parquet_dir))
    finally:
        snap.close()
    os.replace(tmp, snapshot_path)
    return snapshot_path


def export_parquet(con: duckdb.DuckDBPyConnection, parquet_dir: Path) -> list[Path]:
    """Every table and view as ``<name>.parquet``, each swapped in atomically; files of dropped ones removed.

    All files are written to a staging folder first, so a failure leaves the previous set untouched.
    """
    names = [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "UNION SELECT view_name FROM duckdb_views() WHERE NOT internal AND database_name = current_database() "
            "ORDER BY 1"
        ).fetchall()
    ]
    parquet_dir.mkdir(parents=True, exist_ok=True)
    staging = parquet_dir / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        for name in names:
            target = staging / f"{name}.parquet"
            con.execute(f'COPY (SELECT * FROM "{name}") TO {_quote(str(target))} (FORMAT parquet, COMPRESSION zstd)')
        written = []
        for name in names:
            written.append(parquet_dir / f"{name}.parquet")
            os.replace(staging / f"{name}.parquet", written[-1])
        for stale in set(parquet_dir.glob("*.parquet")) - set(written):
            stale.unlink()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


def _db_name(con: duckdb.DuckDBPyConnection) -> str:
    return scalar(con, "SELECT current_database()")


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The first value of a query's only row; fetches the whole result so the connection is free afterwards."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None
