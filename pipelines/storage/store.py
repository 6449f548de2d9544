"""The DuckDB working database: one writer, batch loads through Arrow, deduplicated upserts.

The pipeline owns ``data/work/warehouse.duckdb``. Analysts never open it (DuckDB allows one writer or many readers,
never both): they get ``data/tenders.duckdb``, a snapshot built next to it and swapped in with ``os.replace``.
The schema lives in ``schema``, the snapshot in ``snapshot``.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa

from pipelines.model import NOTICE_COLUMNS, NOTICE_SCHEMA, portal_date, without_surrogates
from pipelines.storage import schema
from pipelines.storage.transactions import transaction

log = logging.getLogger(__name__)

T = TypeVar("T")

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
            if schema.applied_fingerprint(con) != schema.SCHEMA_FINGERPRINT:
                schema.apply_schema(con)
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def session(db_path: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(db_path)
    try:
        yield con
    finally:
        con.close()


# --- converting normalized notices to Arrow ---------------------------------------------------------------------


# The Python converters give what DuckDB's JSON reader gives for the same value wherever DuckDB accepts it (amounts
# rounded half away from zero, 1/"yes"/"t" as true, a number or object in a text column as its JSON text), so a row
# is stored alike whichever path reads its file; they also take what DuckDB refuses ("1,200", "", "n/a": no value).
_CENTS = Decimal("0.01")
# DECIMAL(18,2): an amount needs fewer than 10^16 yuan.
_MONEY_LIMIT = Decimal(10) ** 16
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def _money(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(int(value) if isinstance(value, bool) else str(value)).quantize(_CENTS, ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and abs(amount) < _MONEY_LIMIT else None


def _number(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value) if isinstance(value, bool | int | float) else float(str(value).replace(",", ""))
    except (ValueError, OverflowError):
        return None


def _boolean(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        word = value.lower()
        return True if word in _TRUE else False if word in _FALSE else None
    return None


def _text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


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
    return _converter(arrow_type)(value)


def _converter(arrow_type: pa.DataType):
    """A function coercing one JSON value to ``arrow_type``, built once per type rather than decided per value.

    Deciding the type of every value (and of every field of every nested struct) was most of a load's time.
    """
    if pa.types.is_list(arrow_type):
        element = _converter(arrow_type.value_type)

        def to_list(value):
            return [element(v) for v in value] if isinstance(value, list) else None

        return to_list
    if pa.types.is_struct(arrow_type):
        fields = [(field.name, _converter(field.type)) for field in arrow_type]

        def to_struct(value):
            if not isinstance(value, dict):
                return None
            return {name: convert(value.get(name)) for name, convert in fields}

        return to_struct
    if pa.types.is_decimal(arrow_type):
        return _money
    if pa.types.is_floating(arrow_type):
        return _number
    if pa.types.is_timestamp(arrow_type):
        return _timestamp
    if pa.types.is_boolean(arrow_type):
        return _boolean
    if pa.types.is_string(arrow_type):
        return _text
    return lambda value: value


# Column → its converter, with the columns whose values are usually already right (strings) kept apart: they skip
# the call when the value is a string or None.
_STRING_COLUMNS = tuple(c.name for c in NOTICE_COLUMNS if pa.types.is_string(c.arrow))
_OTHER_COLUMNS = tuple((c.name, _converter(c.arrow)) for c in NOTICE_COLUMNS if not pa.types.is_string(c.arrow))


def notices_to_arrow(notices: Iterable[dict], run_id: str, seen_at: datetime) -> pa.Table:
    """One Arrow table of notices, built column by column (one typed array per column, no per-row dicts)."""
    notices = notices if isinstance(notices, list) else list(notices)
    columns: dict[str, list] = {}
    for name in _STRING_COLUMNS:
        values = [notice.get(name) for notice in notices]
        if any(value is not None and not isinstance(value, str) for value in values):
            values = [_text(value) for value in values]
        columns[name] = values
    for name, convert in _OTHER_COLUMNS:
        columns[name] = [None if (value := notice.get(name)) is None else convert(value) for notice in notices]
    columns["first_seen_at"] = columns["last_seen_at"] = [seen_at] * len(notices)
    columns["run_id"] = [run_id] * len(notices)
    columns["published_date"] = [portal_date(value) for value in columns["published_at"]]
    return pa.Table.from_arrays(
        [pa.array(columns[field.name], type=field.type) for field in NOTICE_SCHEMA], schema=NOTICE_SCHEMA
    )


# --- loading notices: DuckDB reads the typed JSONL, Python only for rows it refuses ---------------------------------

# The columns a batch file carries (what the normalizer fills, plus the fetch time), typed from NOTICE_COLUMNS: DuckDB
# converts the JSON to these types itself, so no row passes through Python on the usual path.
_BATCH_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (c.name, c.sql.removesuffix(" NOT NULL")) for c in NOTICE_COLUMNS if c.parsed or c.name == "fetched_at"
)
_BATCH_NAMES = ", ".join(name for name, _ in _BATCH_COLUMNS)
_STAGE_DDL = ", ".join(f"{name} {sql}" for name, sql in _BATCH_COLUMNS)
_READ_JSON = (
    "read_json(?, format = 'newline_delimited', records = true, columns = {"
    + ", ".join(f"{name}: '{sql}'" for name, sql in _BATCH_COLUMNS)
    + "})"
)
# Rows the Python path converts and stages at once: its memory follows this, not the file.
PYTHON_BATCH_ROWS = 5_000
# DuckDB's working memory during a load; past it the staged rows spill to its temporary folder next to the database,
# so a load's memory does not grow with the file. The setting is restored afterwards. What cannot spill is the
# notices' key index being changed: a load that runs out under the cap is done again without it. The default of the
# `[memory] load` setting.
LOAD_MEMORY_LIMIT = "1GB"

# ocid is derived after the upsert (pipelines.storage.processes), so a re-stored notice keeps its process.
_KEEP = {"source", "notice_id", "first_seen_at", "ocid"}
_COMPARED = tuple(c.name for c in NOTICE_COLUMNS if c.parsed and c.name not in _KEEP)


class MalformedBatch(ValueError):
    """A batch file has lines that are not JSON objects; nothing of the load was stored."""


@dataclass
class LoadSummary:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    # Files DuckDB refused as typed (a value of the wrong type, a lone surrogate…), read by the Python converters.
    python_files: list[str] = dataclass_field(default_factory=list)


def load_jsonl(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | Path],
    run_id: str,
    seen_at: datetime,
    *,
    memory_cap: str | None = LOAD_MEMORY_LIMIT,
) -> LoadSummary:
    """Store the notices of the normalizer's JSONL files: new ones inserted, changed ones rewritten, in one
    transaction.

    DuckDB reads each file straight into the column types; a file it refuses is read again by the Python converters
    (``notices_to_arrow``), a batch at a time. A line that is not a JSON object stops the load before anything is
    stored, with every such line named (``MalformedBatch``). A notice present more than once (in one file or across
    files) is stored as its newest fetch; of equal fetch times, the last one read. DuckDB works within
    ``memory_cap`` (``_load``).
    """
    summary = LoadSummary()
    paths = list(map(str, paths))

    def stage_files(stage: str) -> None:
        summary.python_files.clear()  # staged again when the load is done again without the memory cap
        for path in paths:
            try:
                con.execute(f"INSERT INTO {stage} SELECT {_BATCH_NAMES} FROM {_READ_JSON}", [path])
            except (duckdb.InvalidInputException, duckdb.ConversionException):
                summary.python_files.append(path)
                _stage_with_python(con, stage, path)

    summary.rows, summary.inserted, summary.updated = _load(con, stage_files, run_id, seen_at, memory_cap)
    return summary


def _load(
    con: duckdb.DuckDBPyConnection,
    stage_rows: Callable[[str], None],
    run_id: str,
    seen_at: datetime,
    memory_cap: str | None,
) -> tuple[int, int, int]:
    """Stage rows into a temporary table with ``stage_rows(name)``, then merge them in one transaction.

    Staging runs outside the transaction: a file DuckDB refuses fails only its own statement (a failed statement
    inside a DuckDB transaction aborts the whole transaction), and the temporary table is the connection's own.
    Within ``memory_cap`` if given; if DuckDB runs out there, the load is done again without it (nothing of the
    first attempt was stored: its staged rows are dropped, its merge rolled back).
    """
    return within_memory_cap(
        con, memory_cap, lambda: _stage_and_merge(con, stage_rows, run_id, seen_at), what="the load", logger=log
    )


def _stage_and_merge(
    con: duckdb.DuckDBPyConnection, stage_rows: Callable[[str], None], run_id: str, seen_at: datetime
) -> tuple[int, int, int]:
    stage = f"stage_{uuid.uuid4().hex}"
    con.execute(f"CREATE TEMP TABLE {stage} ({_STAGE_DDL})")
    try:
        stage_rows(stage)
        with transaction(con):
            return _merge(con, stage, run_id, seen_at)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {stage}")
        con.execute(f"DROP TABLE IF EXISTS {stage}_latest")
        con.execute(f"DROP TABLE IF EXISTS {stage}_changed")


def rowid_windows(con: duckdb.DuckDBPyConnection, rows: int) -> list[str]:
    """``BETWEEN a AND b`` conditions on ``notices.rowid`` that cover the table, ``rows`` rows each.

    A pass over all history (a rematch, a first segmentation) reads one window per query: a rowid range prunes whole
    row groups, and each query's read transaction ends before the next, so what the pass writes meanwhile can be
    checkpointed instead of piling up in memory. Built from integers only.
    """
    low, high = con.execute("SELECT coalesce(min(rowid), 0), coalesce(max(rowid), -1) FROM notices").fetchall()[0]
    return [f"BETWEEN {start} AND {start + rows - 1}" for start in range(low, high + 1, rows)]


def within_memory_cap(
    con: duckdb.DuckDBPyConnection,
    memory_cap: str | None,
    attempt: Callable[[], T],
    *,
    what: str,
    logger: logging.Logger,
    undo: Callable[[], None] | None = None,
) -> T:
    """``attempt()`` with DuckDB's memory within ``memory_cap`` (None: DuckDB's default). If DuckDB runs out there,
    ``logger`` warns that ``what`` did, ``undo()`` removes what the first attempt left, and ``attempt()`` runs again
    without the cap: a pass that outgrew its cap costs memory, not the night."""
    if memory_cap is not None:
        try:
            with memory_limit(con, memory_cap):
                return attempt()
        except duckdb.OutOfMemoryException as error:
            logger.warning("%s ran out of DuckDB memory under %s; again without the cap: %s",
                           what, memory_cap, str(error).splitlines()[0])  # fmt: skip
            if undo is not None:
                undo()
    return attempt()


@contextmanager
def memory_limit(con: duckdb.DuckDBPyConnection, limit: str = LOAD_MEMORY_LIMIT) -> Iterator[None]:
    """DuckDB's working memory capped at ``limit`` inside the block (past it, joins and sorts spill to disk), then
    the previous setting back: connections to one file share the setting."""
    previous = scalar(con, "SELECT current_setting('memory_limit')")
    # The setting reads back rounded ("18.7 GiB"): set again, it would not be the default it was.
    con.execute("RESET memory_limit")
    was_default = scalar(con, "SELECT current_setting('memory_limit')") == previous
    con.execute(f"SET memory_limit = '{limit}'")
    try:
        yield
    finally:
        con.execute("RESET memory_limit" if was_default else f"SET memory_limit = '{previous}'")


def _stage_with_python(con: duckdb.DuckDBPyConnection, stage: str, path: str) -> None:
    """Stage one file through the Python converters, ``PYTHON_BATCH_ROWS`` at a time; a line that is not a JSON
    object fails the load, after every such line of the file has been named."""
    bad: list[str] = []
    batch: list[dict] = []
    with Path(path).open(encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                notice = json.loads(line)
            except json.JSONDecodeError as error:
                bad.append(f"line {number}: not JSON ({error.msg}, column {error.colno})")
                continue
            if not isinstance(notice, dict):
                bad.append(f"line {number}: a JSON {type(notice).__name__}, not an object")
            elif not bad:
                batch.append(without_surrogates(notice))
                if len(batch) >= PYTHON_BATCH_ROWS:
                    _stage_arrow(con, stage, batch)
                    batch = []
    if bad:
        shown = "; ".join(bad[:10]) + (f"; and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise MalformedBatch(f"{path}: {len(bad)} malformed line(s), nothing stored: {shown}")
    _stage_arrow(con, stage, batch)


def _stage_arrow(con: duckdb.DuckDBPyConnection, stage: str, notices: list[dict]) -> None:
    if notices:
        table = notices_to_arrow(notices, "", datetime.now(UTC))
        insert_arrow(con, stage, table.select([name for name, _ in _BATCH_COLUMNS]))


def _merge(con: duckdb.DuckDBPyConnection, stage: str, run_id: str, seen_at: datetime) -> tuple[int, int, int]:
    """Staged rows → notices: (rows staged, inserted, updated). Unchanged notices are not touched."""
    rows, keys = con.execute(f"SELECT count(*), count(DISTINCT (source, notice_id)) FROM {stage}").fetchall()[0]
    if rows == 0:
        return 0, 0, 0
    latest = stage
    if keys != rows:
        # Rowids follow the order rows were staged in (files in order, lines in order): the last one read wins ties.
        latest = f"{stage}_latest"
        con.execute(
            f"""CREATE TEMP TABLE {latest} AS SELECT {_BATCH_NAMES} FROM {stage} QUALIFY row_number() OVER (
                PARTITION BY source, notice_id ORDER BY fetched_at DESC NULLS LAST, rowid DESC) = 1"""
        )
    params = {"seen_at": seen_at, "run_id": run_id}
    same_key = "notices.source = b.source AND notices.notice_id = b.notice_id"
    published_date = "CAST(b.published_at AT TIME ZONE 'Asia/Shanghai' AS DATE)"
    updates = ", ".join(f"{name} = b.{name}" for name, _ in _BATCH_COLUMNS if name not in _KEEP)
    # Changed notices are found by a digest of their parsed columns on each side, so the join holds keys and digests,
    # not whole rows twice (at 1M the whole rows spilled to disk and the re-run took 2.3x read_json). A digest that
    # differs proves a change; equal digests of different rows (2^-64 per row) would leave that change unstored.
    digest = "hash(" + ", ".join(f"{{table}}.{name}" for name in _COMPARED) + ")"
    con.execute(
        f"""CREATE TEMP TABLE {stage}_changed AS SELECT b.source, b.notice_id FROM notices
            JOIN (SELECT source, notice_id, {digest.format(table="l")} AS digest FROM {latest} AS l) AS b ON {same_key}
            WHERE {digest.format(table="notices")} <> b.digest"""
    )
    updated = con.execute(
        f"""UPDATE notices SET {updates}, last_seen_at = $seen_at, run_id = $run_id, published_date = {published_date}
            FROM (SELECT * FROM {latest} SEMI JOIN {stage}_changed USING (source, notice_id)) AS b WHERE {same_key}""",
        params,
    ).fetchall()[0][0]
    inserted = con.execute(
        f"""INSERT INTO notices ({_BATCH_NAMES}, first_seen_at, last_seen_at, run_id, published_date)
            SELECT {", ".join(f"b.{name}" for name, _ in _BATCH_COLUMNS)}, $seen_at, $seen_at, $run_id, {published_date}
            FROM {latest} AS b WHERE NOT EXISTS (SELECT 1 FROM notices WHERE {same_key})""",
        params,
    ).fetchall()[0][0]
    return rows, inserted, updated


def upsert_notices(
    con: duckdb.DuckDBPyConnection, table: pa.Table, *, memory_cap: str | None = LOAD_MEMORY_LIMIT
) -> tuple[int, int]:
    """Insert new notices and refresh changed ones, from an Arrow table (``notices_to_arrow``); returns
    (inserted, updated).

    The same rules as ``load_jsonl``: a known notice whose parsed content is unchanged (same text hash, parser
    version, fields) is left as it is, with its ``last_seen_at`` and run those of the fetch that last changed it, so
    nothing derived from it (processes, segments, matches) has anything to redo; of two rows with one key the newest
    fetch wins, then the later row.
    """
    if table.num_rows == 0:
        return 0, 0
    run_id = table.column("run_id")[0].as_py()
    seen_at = table.column("last_seen_at")[0].as_py()
    rows = table.select([name for name, _ in _BATCH_COLUMNS])
    _, inserted, updated = _load(con, lambda stage: insert_arrow(con, stage, rows), run_id, seen_at, memory_cap)
    return inserted, updated


# Days before a crawl's window whose stored notices still count as known: a list may date a notice a day or two
# apart from its page (listed late, re-dated), and a notice outside the window is never fetched anyway.
KNOWN_MARGIN_DAYS = 7


def known_notices(
    con: duckdb.DuckDBPyConnection, source: str, from_date: date, until_date: date | None = None
) -> dict[str, str | None]:
    """The notice ids of ``source`` stored without a parse error, published in the window (with a margin) or
    undated: what a crawl of that window need not fetch again. Values are the stored update time (none kept yet)."""
    rows = con.execute(
        "SELECT notice_id FROM notices WHERE source = ? AND parse_error IS NULL AND (published_at IS NULL OR "
        "(published_at::DATE >= ? AND (?::DATE IS NULL OR published_at::DATE <= ?)))",
        [source, from_date - timedelta(days=KNOWN_MARGIN_DAYS), until_date,
         until_date + timedelta(days=KNOWN_MARGIN_DAYS) if until_date else None],
    ).fetchall()  # fmt: skip
    return dict.fromkeys((row[0] for row in rows), None)


def write_known_file(known: dict[str, str | None], path: Path) -> str:
    """The ``-a known=FILE`` a crawl reads (``spiders.base.read_known``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(known), encoding="utf-8")
    return str(path)


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


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The first value of a query's only row; fetches the whole result so the connection is free afterwards."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None
