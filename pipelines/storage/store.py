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
        row["published_date"] = portal_date(row["published_at"])
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=NOTICE_SCHEMA)


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
        # ocid is derived after the upsert (pipelines.storage.processes), so a re-stored notice keeps its process.
        keep_first_seen = {"source", "notice_id", "first_seen_at", "ocid"}
        updates = ", ".join(f"{c.name} = excluded.{c.name}" for c in NOTICE_COLUMNS if c.name not in keep_first_seen)
        columns = ", ".join(c.name for c in NOTICE_COLUMNS)
        content = [c.name for c in NOTICE_COLUMNS if c.parsed and c.name not in ("source", "notice_id")]
        stored = ", ".join(f"notices.{column}" for column in content)
        fetched = ", ".join(f"excluded.{column}" for column in content)
        newest = f"""
            SELECT DISTINCT ON (source, notice_id) * FROM {name}
            ORDER BY source, notice_id, fetched_at DESC NULLS LAST
        """
        changed = scalar(
            con,
            f"SELECT count(*) FROM ({newest}) AS excluded JOIN notices USING (source, notice_id) "
            f"WHERE ({stored}) IS DISTINCT FROM ({fetched})",
        )
        con.execute(
            f"""
            INSERT INTO notices ({columns})
            SELECT {columns} FROM ({newest})
            ON CONFLICT (source, notice_id) DO UPDATE SET {updates}
            WHERE ({stored}) IS DISTINCT FROM ({fetched})
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
