"""The analysts' snapshot: the working database copied into ``tenders.duckdb`` and swapped in, plus Parquet files."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import duckdb

from pipelines.config import disk_full_point, fault_point
from pipelines.storage import schema
from pipelines.storage.store import connect, scalar, within_memory_cap

log = logging.getLogger(__name__)

# The snapshot's own record of its schema: checked equal to the working database's before a patch, and not copied
# over (its applied_at says when the snapshot's schema was applied).
_OWN_TABLES = frozenset({"store_schema"})


# In the Parquet folder: which snapshot file (inode, mtime, size) its files were last brought up to. Readers of
# Parquet datasets skip names starting with "_".
PARQUET_STAMP = "_snapshot.json"

# Tables whose Parquet is a folder of monthly partitions (``notices/published_month=2026-11/data_0.parquet``), and
# the month of a row: a night rewrites only the months its changed rows are in, not the whole archive's text.
PARTITIONED = {"notices": "coalesce(strftime(published_date, '%Y-%m'), 'undated')"}
PARTITION_COLUMN = "published_month"

# Tables keyed by a notice and more (a notice's segments, parties, hits, files) are compared notice by notice first:
# the row count and the sum of the rows' hashes of each notice on each side, then row by row only within the notices
# that differ. At 1M notices (35M segment links) that took the comparison of notice_segments on a night with no change
# from 17 CPU-s to 4, and the whole night from 22 to 8: 1M notices are joined instead of 35M rows (docs/decisions.md).
NOTICE_KEY = ("source", "notice_id")

# DuckDB's memory while the snapshot is copied or patched and its Parquet files written; past it, the copy, the
# patch's comparison joins and the views' queries spill to disk. Uncapped, DuckDB's cache grew with the archive: a
# night changing 1% of 1M notices peaked at 4.9 GB; under this cap (with EXPORT_THREADS) 652 MiB, against 535 at 100k
# (docs/decisions.md). The views over every notice (procurement_processes, matched_notices) are window functions
# so that they too spill: the whole 1M snapshot with every Parquet file peaks at 655 MiB. A copy, patch or export
# that runs out under the cap is done again without it, rather than fail the night: raise the cap
# (`[memory] snapshot`, whose default this is) when the log says so.
SNAPSHOT_MEMORY_LIMIT = "512MB"

# Threads DuckDB writes the Parquet files with. Each thread builds its own hash tables for a view's aggregates: at 1M
# notices the processes view, then a GROUP BY, needed more than 512MB on two threads. It costs less CPU, not
# always less time: every file at 1M took 85 CPU-s against 100 on two threads (126 s against 156-163 s, the machine
# loaded), a 1% night 93 CPU-s and 94 s against 107 CPU-s and 60 s.
EXPORT_THREADS = 1


class SnapshotError(RuntimeError):
    """The new snapshot does not open: it is not swapped in, the analysts keep the previous one."""


def publish_snapshot(
    db_path: str | Path,
    snapshot_path: str | Path,
    parquet_dir: str | Path | None = None,
    *,
    incremental: bool = True,
    memory_cap: str | None = SNAPSHOT_MEMORY_LIMIT,
) -> Path:
    """Bring the analysts' snapshot up to the working database and swap it in atomically.

    The new file is the previous snapshot, copied, with only the rows that differ from the working database deleted
    and re-inserted (``_patch``); without a usable previous snapshot (none yet, another schema, a file that does not
    open, one copied with its keys) or with ``incremental=False`` it is copied whole from the working database
    (tables without their keys: ``_build``). Either way the previous file is never written: sessions already open on
    it keep reading it, new connections see the new one, and a crash at any point leaves it as it was. With
    ``parquet_dir``, the tables that changed (and the views that read them) are written there as
    ``<name>.parquet``; all of them when the folder's stamp does not name the previous snapshot.

    Temporary files a killed or failed run left are removed first; a failure now removes its own. The new file is
    opened read-only before the swap (one that does not open is never swapped in), and a ``.wal`` beside the
    snapshot is removed before it: written by an analyst who opened the old file read-write, DuckDB would replay it
    into the new file, and every later open would fail. The copy or patch and the Parquet files are written with
    DuckDB's memory within ``memory_cap`` (None: DuckDB's default), and again without it if that was too little.
    """
    snapshot_path = Path(snapshot_path)
    snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    parquet = Path(parquet_dir) if parquet_dir is not None else None
    remove_leftovers(snapshot_path, parquet)
    tmp = snapshot_path.with_name(f".{snapshot_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        changed = None
        months: dict[str, set[str]] = {}
        if incremental and snapshot_path.exists():
            try:
                changed, months = _patch(db_path, snapshot_path, tmp, memory_cap) or (None, {})
            except duckdb.Error:
                # A previous snapshot that cannot be patched (damaged, half-written by hand): copied whole instead.
                for leftover in (tmp, _wal(tmp)):
                    leftover.unlink(missing_ok=True)
        if changed is None:
            _build(db_path, tmp, memory_cap)
        disk_full_point("snapshot-disk-full")
        snap = duckdb.connect(str(tmp))
        try:
            if changed is None:
                # Views and comments are re-declared in the copy itself so they resolve against its own tables. Not
                # the tables' DDL: its migrations need the keys the copies leave out, and ran in the working database.
                schema.apply_schema(snap, tables=False)
            snap.execute("CHECKPOINT")
            # From the new file before it is swapped in: reopening the snapshot path in this process could hand
            # back a cached instance of the old file (DuckDB reuses instances per path within a process).
            if parquet is not None:
                due = _parquet_due(snapshot_path, parquet, changed)
                _export_capped(snap, parquet, due, months if due is not None else None, memory_cap)
        finally:
            snap.close()
        fault_point("snapshot-written")
        _check_opens(tmp)
        _wal(snapshot_path).unlink(missing_ok=True)
        os.replace(tmp, snapshot_path)
        if parquet is not None:
            # Written after the swap: a crash before it leaves no stamp for the new file, and the next run writes
            # every Parquet file (a torn stamp does not parse: the same).
            (parquet / PARQUET_STAMP).write_text(json.dumps(_identity(snapshot_path)), encoding="utf-8")
    except BaseException:
        for leftover in (tmp, _wal(tmp)):
            leftover.unlink(missing_ok=True)
        raise
    return snapshot_path


def _export_capped(
    snap: duckdb.DuckDBPyConnection,
    parquet: Path,
    due: set[str] | None,
    months: dict[str, set[str]] | None,
    memory_cap: str | None,
) -> None:
    """``export_parquet`` on ``EXPORT_THREADS`` within ``memory_cap``, and again without the cap if DuckDB ran out (a
    failed export leaves the previous files as they were). ``snap`` is the new snapshot's own connection: the
    setting ends with it."""
    snap.execute(f"SET threads = {EXPORT_THREADS}")
    within_memory_cap(
        snap, memory_cap, lambda: export_parquet(snap, parquet, only=due, months=months),
        what="the Parquet export", logger=log,
    )  # fmt: skip


def _parquet_due(snapshot_path: Path, parquet: Path | None, changed: set[str] | None) -> set[str] | None:
    """The tables whose Parquet file is behind the new snapshot, None for all of them.

    Only tonight's changes when the Parquet folder was last written with the snapshot now in place (its stamp names
    that file); otherwise a run without ``parquet_dir`` (``cli translate``) or a crash came in between: all.
    """
    if changed is None or parquet is None or not snapshot_path.exists():
        return None
    try:
        recorded = json.loads((parquet / PARQUET_STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return changed if recorded == _identity(snapshot_path) else None


def _identity(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_ino, stat.st_mtime_ns, stat.st_size]


def _build(db_path: str | Path, tmp: Path, memory_cap: str | None = None) -> None:
    """Copy every table of the working database into a new file ``tmp``, within ``memory_cap`` if given, and again
    without it if DuckDB ran out there (the first attempt's file is removed).

    Each table is copied by ``CREATE TABLE AS``: its columns, types and rows, not its keys. A key is an index DuckDB
    must hold in memory while it is built (at 1M notices and 35M segment links, the copy peaked at 3.6 GB with the
    keys; without, 650 MB under the 512MB cap), and nobody writes to the snapshot by key: the patch compares rows by
    the working database's keys, and analysts only read.
    """
    con = connect(db_path)
    try:
        within_memory_cap(
            con, memory_cap, lambda: _copy_tables(con, tmp), what="the whole snapshot copy", logger=log,
            undo=lambda: _detach_and_remove(con, tmp),
        )  # fmt: skip
    finally:
        con.close()


def _copy_tables(con: duckdb.DuckDBPyConnection, tmp: Path) -> None:
    """The copy, on a connection to the working database (see ``_build``): one statement per table."""
    con.execute(f"ATTACH {schema.quote(str(tmp))} AS snapshot")
    work = _db_name(con)
    for table in sorted(_tables(con, work)):
        con.execute(f'CREATE TABLE snapshot.main."{table}" AS SELECT * FROM {work}.main."{table}"')
    con.execute("DETACH snapshot")


def _patch(
    db_path: str | Path, previous: Path, tmp: Path, memory_cap: str | None = None
) -> tuple[set[str], dict[str, set[str]]] | None:
    """Copy ``previous`` to ``tmp`` and make its tables equal the working database's; returns the changed tables,
    and for each partitioned one the months its changed rows were or are now in.

    None (and no ``tmp``) when the previous snapshot cannot serve as the base: it does not open, its schema
    fingerprint or tables differ from the working database's, or its tables have keys. Rows are compared by primary
    key and a hash of all their columns, so a row an analyst changed in the snapshot is put back too. A table
    without a primary key is small (a few rows per night) and is replaced whole when any row differs.

    Within ``memory_cap`` if given; if DuckDB runs out there, the patch starts again from a new copy without it (the
    first attempt's changes are not carried over: the months it touched would not be reported again).
    """

    def attempt() -> tuple[set[str], dict[str, set[str]]] | None:
        shutil.copyfile(previous, tmp)
        return _patch_attached(con, tmp)

    con = connect(db_path)
    try:
        return within_memory_cap(
            con, memory_cap, attempt, what="the snapshot patch", logger=log, undo=lambda: _detach_and_remove(con, tmp)
        )
    finally:
        con.close()


def _detach_and_remove(con: duckdb.DuckDBPyConnection, tmp: Path) -> None:
    """What an attempt that ran out of memory left of the new snapshot ``tmp``: gone before the next one."""
    con.execute("DETACH DATABASE IF EXISTS snapshot")
    for leftover in (tmp, _wal(tmp)):
        leftover.unlink(missing_ok=True)


def _patch_attached(con: duckdb.DuckDBPyConnection, tmp: Path) -> tuple[set[str], dict[str, set[str]]] | None:
    """The patch, on a connection to the working database (see ``_patch``)."""
    try:
        con.execute(f"ATTACH {schema.quote(str(tmp))} AS snapshot")
    except duckdb.OutOfMemoryException:
        raise  # not the file's fault: the caller tries again without the memory cap
    except duckdb.Error:
        tmp.unlink(missing_ok=True)
        return None
    work = _db_name(con)
    tables = _tables(con, work)
    if (
        _tables(con, "snapshot") != tables
        or _fingerprint(con, "snapshot") != schema.SCHEMA_FINGERPRINT
        # Copied with its keys, before copies left them out (``_build``): patching would keep their indexes.
        or _primary_keys(con, "snapshot")
    ):
        con.execute("DETACH snapshot")
        tmp.unlink(missing_ok=True)
        return None
    keys = _primary_keys(con, work)
    changed, months = set(), {}
    for number, (table, columns) in enumerate(sorted(tables.items())):
        if number == len(tables) // 2:
            fault_point("snapshot-half-patched")
        if table in _OWN_TABLES:
            continue
        names = [name for name, _ in columns]
        touched = _sync_table(con, work, table, names, keys.get(table), PARTITIONED.get(table))
        if touched is not None:
            changed.add(table)
            if table in PARTITIONED:
                months[table] = touched
    con.execute("DETACH snapshot")
    return changed, months


def _tables(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, tuple[tuple[str, str], ...]]:
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = 'main' AND NOT internal "
        "AND table_name IN (SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main') "
        "ORDER BY table_name, column_index",
        [database, database],
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, []).append((column, data_type))
    return {table: tuple(columns) for table, columns in tables.items()}


def _primary_keys(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, list[str]]:
    rows = con.execute(
        "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
        "WHERE database_name = ? AND schema_name = 'main' AND constraint_type = 'PRIMARY KEY'",
        [database],
    ).fetchall()
    return {table: list(columns) for table, columns in rows}


def _fingerprint(con: duckdb.DuckDBPyConnection, database: str) -> str | None:
    rows = con.execute(f"SELECT fingerprint FROM {database}.main.store_schema").fetchall()
    return rows[0][0] if len(rows) == 1 else None


def _sync_table(
    con: duckdb.DuckDBPyConnection,
    work: str,
    table: str,
    columns: list[str],
    key: list[str] | None,
    month_of: str | None = None,
) -> set[str] | None:
    """Make ``snapshot.<table>`` equal ``<work>.<table>``; None when nothing had to change, else the months
    (``month_of``, an SQL expression of a row) of the rows deleted or inserted (empty without ``month_of``).

    A keyed table's rows are compared by key and row hash; those of a table keyed by a notice and more
    (``NOTICE_KEY``) only within the notices whose rows differ in number or summed hash (``_changed_notices``)."""
    ours, theirs = f'{work}.main."{table}"', f'snapshot.main."{table}"'
    listed = ", ".join(f'"{c}"' for c in columns)
    if not key:
        differs = scalar(
            con,
            f"SELECT count(*) FROM ((SELECT {listed} FROM {ours} EXCEPT ALL SELECT {listed} FROM {theirs}) "
            f"UNION ALL (SELECT {listed} FROM {theirs} EXCEPT ALL SELECT {listed} FROM {ours}))",
        )
        if not differs:
            return None
        con.execute(f"DELETE FROM {theirs}")
        con.execute(f"INSERT INTO {theirs} ({listed}) SELECT {listed} FROM {ours}")
        return set()
    keys = ", ".join(f'"{c}"' for c in key)
    # A hash of each row rather than the rows themselves: the comparison holds keys and 8 bytes a row, not texts.
    row_hash = f"hash({listed})"
    joined, either = _full_join(key)
    diff = f"snapshot_diff_{uuid.uuid4().hex}"
    compared_ours, compared_theirs = ours, theirs
    notices = None
    if len(key) > len(NOTICE_KEY) and tuple(key[: len(NOTICE_KEY)]) == NOTICE_KEY:
        notices = _changed_notices(con, ours, theirs, row_hash)
        if notices is None:
            return None
        by_notice = " AND ".join(f't."{c}" = c."{c}"' for c in NOTICE_KEY)
        compared_ours, compared_theirs = (
            f"(SELECT t.* FROM {side} t SEMI JOIN {notices} c ON {by_notice})" for side in (ours, theirs)
        )
    try:
        con.execute(
            f"CREATE TEMP TABLE {diff} AS "
            f"SELECT {either}, w.h IS NOT NULL AS present "
            f"FROM (SELECT {keys}, {row_hash} AS h FROM {compared_ours}) w "
            f"FULL JOIN (SELECT {keys}, {row_hash} AS h FROM {compared_theirs}) s ON {joined} "
            f"WHERE w.h IS DISTINCT FROM s.h"
        )
    finally:
        if notices is not None:
            con.execute(f"DROP TABLE {notices}")
    try:
        if not scalar(con, f"SELECT count(*) FROM {diff}"):
            return None
        matches = " AND ".join(f'd."{c}" = t."{c}"' for c in key)
        months: set[str] = set()

        def months_of(rows: str) -> set[str]:
            return {row[0] for row in con.execute(f"SELECT DISTINCT {month_of} FROM {rows}").fetchall()}

        if month_of:
            months |= months_of(f"{theirs} t SEMI JOIN {diff} d ON {matches}")
        con.execute(f"DELETE FROM {theirs} t USING {diff} d WHERE {matches}")
        from_ours = ", ".join(f't."{c}"' for c in columns)
        inserted = f"{ours} t SEMI JOIN (SELECT * FROM {diff} WHERE present) d ON {matches}"
        con.execute(f"INSERT INTO {theirs} ({listed}) SELECT {from_ours} FROM {inserted}")
        if month_of:
            months |= months_of(inserted)
        return months
    finally:
        con.execute(f"DROP TABLE {diff}")


def _full_join(key: Iterable[str]) -> tuple[str, str]:
    """For a ``FULL JOIN`` of ``w`` (the working side) and ``s`` (the snapshot's) on ``key``: its condition, and the
    key's columns from whichever side has the row."""
    key = list(key)
    joined = " AND ".join(f'w."{c}" = s."{c}"' for c in key)
    either = ", ".join(f'coalesce(w."{c}", s."{c}") AS "{c}"' for c in key)
    return joined, either


def _changed_notices(con: duckdb.DuckDBPyConnection, ours: str, theirs: str, row_hash: str) -> str | None:
    """A temporary table of the notices whose rows in ``ours`` and ``theirs`` differ (by their number or the sum of
    their ``row_hash``), None when no notice's do; the caller drops it."""
    notice = ", ".join(f'"{c}"' for c in NOTICE_KEY)
    joined, either = _full_join(NOTICE_KEY)
    changed = f"snapshot_notices_{uuid.uuid4().hex}"
    con.execute(
        f"CREATE TEMP TABLE {changed} AS SELECT {either} "
        f"FROM (SELECT {notice}, count(*) AS n, sum({row_hash}::HUGEINT) AS h FROM {ours} GROUP BY ALL) w "
        f"FULL JOIN (SELECT {notice}, count(*) AS n, sum({row_hash}::HUGEINT) AS h FROM {theirs} GROUP BY ALL) s "
        f"ON {joined} WHERE w.n IS DISTINCT FROM s.n OR w.h IS DISTINCT FROM s.h"
    )
    if scalar(con, f"SELECT count(*) FROM {changed}"):
        return changed
    con.execute(f"DROP TABLE {changed}")
    return None


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _check_opens(path: Path) -> None:
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            con.execute("SELECT count(*) FROM notices").fetchall()[0]
    except duckdb.Error as error:
        raise SnapshotError(f"the new snapshot {path} does not open: {error}") from error


def remove_leftovers(snapshot_path: Path, parquet_dir: Path | None) -> list[Path]:
    """Temporary snapshot files and Parquet staging folders a killed run left behind; returns what was removed."""
    removed = []
    for leftover in snapshot_path.parent.glob(f".{snapshot_path.name}.*.tmp*"):
        leftover.unlink(missing_ok=True)
        removed.append(leftover)
    if parquet_dir is not None and parquet_dir.is_dir():
        for staging in parquet_dir.glob(".staging-*"):
            shutil.rmtree(staging, ignore_errors=True)
            removed.append(staging)
    return removed


def snapshot_problem(snapshot_path: str | Path) -> str | None:
    """Why the analysts' snapshot does not open read-only, or None (also None when there is none yet)."""
    snapshot_path = Path(snapshot_path)
    if not snapshot_path.exists():
        return None
    try:
        with duckdb.connect(str(snapshot_path), read_only=True) as con:
            con.execute("SELECT count(*) FROM notices").fetchall()[0]
    except duckdb.Error as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    return None


def export_parquet(
    con: duckdb.DuckDBPyConnection,
    parquet_dir: Path,
    only: set[str] | None = None,
    months: dict[str, set[str]] | None = None,
) -> list[Path]:
    """Every table and view as ``<name>.parquet`` (a partitioned table as a folder), each swapped in atomically;
    files of dropped ones removed.

    With ``only`` (the tables that changed), other tables keep their file unless it is missing, and a view is
    written again only when a table it reads changed (``_view_reads``); a partitioned table in ``only`` has only the
    months in ``months`` written again (all of them when its folder is missing or no months are given).
    All files are written to a staging folder first, so a failure leaves the previous set untouched.
    """
    tables = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    }
    reads = _view_reads(con, tables)
    names = sorted(tables | set(reads))
    parquet_dir.mkdir(parents=True, exist_ok=True)

    def present(name: str) -> bool:
        return (parquet_dir / name).is_dir() if name in PARTITIONED else (parquet_dir / f"{name}.parquet").exists()

    if only is None:
        due = names
    else:
        due = [name for name in names if name in only or reads.get(name, set()) & only or not present(name)]
    staging = parquet_dir / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        partial: dict[str, set[str]] = {}
        for name in due:
            if name in PARTITIONED:
                wanted = (months or {}).get(name) if only is not None and present(name) else None
                if wanted is not None:
                    partial[name] = wanted
                _copy_partitions(con, name, staging / name, wanted)
            else:
                target = schema.quote(str(staging / f"{name}.parquet"))
                con.execute(f'COPY (SELECT * FROM "{name}") TO {target} (FORMAT parquet, COMPRESSION zstd)')
        for name in due:
            if name in partial:
                _swap_months(staging / name, parquet_dir / name, partial[name], staging)
            elif name in PARTITIONED:
                _swap_folder(staging / name, parquet_dir / name, staging)
            else:
                os.replace(staging / f"{name}.parquet", parquet_dir / f"{name}.parquet")
        written = {parquet_dir / f"{name}.parquet" for name in names if name not in PARTITIONED}
        for stale in set(parquet_dir.glob("*.parquet")) - written:
            stale.unlink()  # a dropped table's, or one that is a folder now
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [parquet_dir / (name if name in PARTITIONED else f"{name}.parquet") for name in due]


# A name in a view's SQL (lowered): a table, a view, a column, a keyword.
_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def _view_reads(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, set[str]]:
    """Each view of the database → the tables it reads, itself or through other views.

    Read off the names its SQL mentions, so a column or alias named like a table only makes a view look as if it
    read one more table (written again once too often, never left stale). Every night's ``crawl_runs`` row then
    rewrites ``source_health`` alone, not the views over the notices.
    """
    sqls = dict(
        con.execute(
            "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND database_name = current_database()"
        ).fetchall()
    )
    mentions = {view: set(_NAME.findall(sql.lower())) - {view} for view, sql in sqls.items()}
    reads: dict[str, set[str]] = {}

    def tables_of(view: str, seen: frozenset[str]) -> set[str]:
        if view not in reads:
            found = mentions[view] & tables
            for other in mentions[view] & set(sqls) - seen:
                found |= tables_of(other, seen | {other})
            reads[view] = found
        return reads[view]

    for view in sqls:
        tables_of(view, frozenset({view}))
    return reads


def _copy_partitions(con: duckdb.DuckDBPyConnection, name: str, folder: Path, wanted: set[str] | None) -> None:
    """The table's rows as ``folder/published_month=…/data_0.parquet``: every month, or the ``wanted`` ones."""
    month = PARTITIONED[name]
    where = ""
    if wanted is not None:
        if not wanted:
            folder.mkdir()
            return
        # Months come from a DATE column ('2026-11', 'undated'), quoted all the same.
        where = f"WHERE {month} IN ({', '.join(schema.quote(value) for value in sorted(wanted))})"
    con.execute(
        f'COPY (SELECT *, {month} AS {PARTITION_COLUMN} FROM "{name}" {where}) TO {schema.quote(str(folder))} '
        f"(FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({PARTITION_COLUMN}))"
    )
    folder.mkdir(exist_ok=True)  # no row at all: still a folder, so the table is present


def _swap_folder(new: Path, target: Path, staging: Path) -> None:
    """``target`` replaced by ``new``; the old folder is moved into ``staging`` (removed with it)."""
    if target.exists():
        os.replace(target, staging / f"old-{target.name}")
    os.replace(new, target)


def _swap_months(new: Path, target: Path, months: set[str], staging: Path) -> None:
    """Each of ``months`` in ``target`` replaced by its folder in ``new``, or removed when it has no rows now."""
    for month in sorted(months):
        part = f"{PARTITION_COLUMN}={month}"
        if (target / part).exists():
            os.replace(target / part, staging / f"old-{target.name}-{part}")
        if (new / part).exists():
            os.replace(new / part, target / part)


def _db_name(con: duckdb.DuckDBPyConnection) -> str:
    return scalar(con, "SELECT current_database()")
