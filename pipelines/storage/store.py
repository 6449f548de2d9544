"""The DuckDB working database: one writer, batch loads through Arrow, deduplicated upserts.

The pipeline owns ``data/work/warehouse.duckdb``. Analysts never open it (DuckDB allows one writer or many readers,
never both): they get ``data/tenders.duckdb``, a snapshot built next to it and swapped in with ``os.replace``.
The schema lives in ``schema``, the snapshot in ``snapshot``.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.model import NOTICE_COLUMNS, NOTICE_SCHEMA, portal_date
from pipelines.storage import schema

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
        return lambda value: value if isinstance(value, bool) else None
    if pa.types.is_string(arrow_type):
        return lambda value: value if value is None or isinstance(value, str) else str(value)
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
            values = [value if value is None or isinstance(value, str) else str(value) for value in values]
        columns[name] = values
    for name, convert in _OTHER_COLUMNS:
        columns[name] = [None if (value := notice.get(name)) is None else convert(value) for notice in notices]
    columns["first_seen_at"] = columns["last_seen_at"] = [seen_at] * len(notices)
    columns["run_id"] = [run_id] * len(notices)
    columns["published_date"] = [portal_date(value) for value in columns["published_at"]]
    return pa.Table.from_arrays(
        [pa.array(columns[field.name], type=field.type) for field in NOTICE_SCHEMA], schema=NOTICE_SCHEMA
    )


# ocid is derived after the upsert (pipelines.storage.processes), so a re-stored notice keeps its process.
_KEEP = {"source", "notice_id", "first_seen_at", "ocid"}
_UPDATES = ", ".join(f"{c.name} = excluded.{c.name}" for c in NOTICE_COLUMNS if c.name not in _KEEP)
_COMPARED = tuple(c.name for c in NOTICE_COLUMNS if c.parsed and c.name not in _KEEP)


def _changed(other: str) -> str:
    """SQL: the stored notice differs from ``other``'s row in a parsed column."""
    return " OR ".join(f"notices.{name} IS DISTINCT FROM {other}.{name}" for name in _COMPARED)


def upsert_notices(con: duckdb.DuckDBPyConnection, table: pa.Table) -> tuple[int, int]:
    """Insert new notices and refresh changed ones in one statement; returns (inserted, updated).

    A known notice whose parsed content is unchanged (same text hash, parser version, fields) is left as it is:
    its row, its ``last_seen_at`` and its run stay those of the fetch that last changed it, and nothing derived
    from it (processes, segments, matches) has anything to redo. The batch is deduplicated first: DuckDB keeps only
    the first of two rows with the same key in one ``INSERT … ON CONFLICT`` statement, so the newest fetch must be
    the only one left.
    """
    if table.num_rows == 0:
        return 0, 0
    name = f"batch_{uuid.uuid4().hex}"
    con.register(name, table)
    try:
        before = scalar(con, "SELECT count(*) FROM notices")
        latest = f"""
            SELECT DISTINCT ON (source, notice_id) * FROM {name}
            ORDER BY source, notice_id, fetched_at DESC NULLS LAST
        """
        columns = ", ".join(c.name for c in NOTICE_COLUMNS)
        changed = scalar(
            con,
            f"SELECT count(*) FROM ({latest}) AS b JOIN notices USING (source, notice_id) WHERE {_changed('b')}",
        )
        con.execute(
            f"""
            INSERT INTO notices ({columns})
            SELECT {columns} FROM ({latest})
            ON CONFLICT (source, notice_id) DO UPDATE SET {_UPDATES} WHERE {_changed("excluded")}
            """
        )
        after = scalar(con, "SELECT count(*) FROM notices")
    finally:
        con.unregister(name)
    return after - before, changed


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
