"""The data model, declared once: the raw notice a crawl yields, the notice columns, the crawl-run record.

Everything else derives from here: the Arrow schema and the DDL with its comments (``pipelines.storage``), the keys
the normalizer fills (``NOTICE_KEYS``), and the spiders' items (``raw_notice``). Nothing here imports Scrapy or
DuckDB, so both sides of the crawl boundary can use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypedDict
from zoneinfo import ZoneInfo

import pyarrow as pa

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
    # False for what the store adds (fetch and storage times, run, ocid): the normalizer does not fill those.
    parsed: bool = True


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
    Column("fetched_at", "TIMESTAMPTZ", TIMESTAMP, "When the page was fetched.", parsed=False),
    Column("first_seen_at", "TIMESTAMPTZ", TIMESTAMP, "When tenderwatch first stored this notice.", parsed=False),
    Column("last_seen_at", "TIMESTAMPTZ", TIMESTAMP, "When tenderwatch last stored this notice.", parsed=False),
    Column("run_id", "VARCHAR", pa.string(), "Nightly run that last stored this notice.", parsed=False),
    Column(
        "ocid",
        "VARCHAR",
        pa.string(),
        "Procurement process (OCDS ocid): the tender, corrections, award and contract of one project share it.",
        parsed=False,
    ),
    Column(
        "published_date",
        "DATE",
        pa.date32(),
        "Publication date in Asia/Shanghai, the portal's own: group and filter by this, not published_at::DATE, "
        "which follows the session's time zone.",
        parsed=False,
    ),
)
NOTICE_SCHEMA = pa.schema([pa.field(c.name, c.arrow) for c in NOTICE_COLUMNS])

# The fields the normalizer fills, in column order.
NOTICE_KEYS: tuple[str, ...] = tuple(c.name for c in NOTICE_COLUMNS if c.parsed)
LIST_KEYS: frozenset[str] = frozenset(c.name for c in NOTICE_COLUMNS if c.parsed and pa.types.is_list(c.arrow))


class RawNotice(TypedDict):
    """One fetched notice as a crawl (or a reprocess of the archive) yields it, before normalizing."""

    source: str
    notice_id: str | None
    url: str
    # What the portal's list said of the notice (title, published, buyer, region, column …).
    listing: dict[str, Any]
    fetched_at: str | None
    status: int
    encoding: str
    # The decoded page, or the portal's JSON answer wrapped as a small HTML document.
    html: str


class _Response(Protocol):
    status: int
    text: str


def raw_notice(
    source: str,
    notice_id: str | None,
    url: str,
    listing: dict[str, Any] | None,
    response: _Response,
    *,
    html: str | None = None,
    fetched_at: str | None = None,
) -> RawNotice:
    """The raw notice of one detail response; ``html`` overrides its text (JSON APIs wrap their body).

    ``fetched_at`` defaults to now: a live crawl. Reprocessing passes the archived record's date.
    """
    if html is None:
        html, encoding = page_text(response)
    else:
        encoding = getattr(response, "encoding", None) or "utf-8"
    return {
        "source": source,
        "notice_id": without_surrogates(notice_id),
        "url": url,
        "listing": without_surrogates(listing or {}),
        "fetched_at": fetched_at if fetched_at is not None else datetime.now(UTC).isoformat(),
        "status": response.status,
        "encoding": encoding,
        "html": without_surrogates(html),
    }


# Marks the encoding of a page that decodes cleanly neither as declared nor as GB18030: normalize records a parse
# error for it instead of storing garbled text as if it were the notice.
UNDECODABLE = " (undecodable)"


def page_text(response: _Response) -> tuple[str, str]:
    """(text, encoding) of a page: as its declared charset says, unless that leaves replacement characters.

    Chinese portals serve GBK pages labelled utf-8 (or nothing): decoded as declared, every Han character becomes
    U+FFFD. Such a page is decoded as GB18030 (a superset of GBK and GB2312) when it decodes cleanly so; otherwise
    it keeps the declared decoding and its encoding says ``UNDECODABLE``.
    """
    text = response.text
    encoding = getattr(response, "encoding", None) or "utf-8"
    body = getattr(response, "body", b"") or b""
    if text.count("\ufffd") <= body.count("\ufffd".encode()):
        return text, encoding
    try:
        return body.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        return text, encoding + UNDECODABLE


# A JSON answer may escape half a surrogate pair (``"\\ud800"``): Python keeps it as a lone code point that no UTF-8
# encoder accepts, and Scrapy's feed exporter then drops the whole item.
_SURROGATES = re.compile("[\ud800-\udfff]")


def without_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate in its text (nested dicts and lists too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", value)
    if isinstance(value, dict):
        return {without_surrogates(key): without_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_surrogates(item) for item in value]
    return value


@dataclass(frozen=True)
class CrawlRun:
    """One source's crawl in one run, as judged from its stats; a row of ``crawl_runs`` (``items_path`` aside)."""

    run_id: str
    source: str
    started_at: datetime
    finished_at: datetime
    from_date: date | None
    until_date: date | None
    # The WARC file or folder a replay read; None for a live crawl.
    replay: str | None
    finish_reason: str | None
    requests: int
    responses: int
    items: int
    errors: int
    blocked: bool
    verdict: str
    reason: str
    archive_path: str | None
    # The whole stats dump and the responses by HTTP status, as JSON text.
    stats: str
    responses_by_status: str
    empty_list_pages: int
    next_page_lost: int
    prefilter_skipped: int
    retry_after: str | None
    blocked_until: datetime | None
    # List pages that could not be read (error status, timeout, redirect loop): such a crawl is not a good one.
    list_pages_failed: int = 0
    # Listed notices whose detail page could not be fetched; each waits in ``pending_fetches``.
    notices_missed: int = 0
    # Listed notices not fetched because they are stored already: seen by the crawl, neither new nor missed.
    already_stored: int = 0
    # Requests the source's budget left unmade (list pages and detail pages); 0 when the crawl stayed within it.
    budget_reached: int = 0
    # The crawl's raw notices (JSONL); not stored: the notices are.
    items_path: str | None = None
    # The missed notices (JSONL: notice_id, url, listing, reason); not stored: ``pending_fetches`` keeps them.
    misses_path: str | None = None

    @property
    def healthy(self) -> bool:
        return self.verdict in HEALTHY_VERDICTS

    @property
    def health(self) -> dict[str, str]:
        """What a night's outputs say of this crawl."""
        return {"source": self.source, "verdict": self.verdict, "reason": self.reason,
                "finished_at": self.finished_at.isoformat()}  # fmt: skip


# Verdicts under which a crawl counts as done: its window is closed and the next night starts after it.
HEALTHY_VERDICTS: tuple[str, ...] = ("ok", "degraded")


PORTAL_ZONE = ZoneInfo("Asia/Shanghai")


def portal_date(moment: datetime | None) -> date | None:
    """The date of a moment as Chinese portals date it (Asia/Shanghai), whatever zone the timestamp carries; a
    naive one is UTC, as the store reads it."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(PORTAL_ZONE).date()
