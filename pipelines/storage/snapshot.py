"""The analysts' snapshot: the working database copied into ``tenders.duckdb`` and swapped in, plus Parquet files."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import duckdb

from pipelines.config import disk_full_point, fault_point
from pipelines.storage import schema
from pipelines.storage.store import connect, scalar


class SnapshotError(RuntimeError):
    """The new snapshot does not open: it is not swapped in, the analysts keep the previous one."""


def publish_snapshot(db_path: str | Path, snapshot_path: str | Path, parquet_dir: str | Path | None = None) -> Path:
    """Copy the working database into a new file and swap it in atomically for analysts.

    Sessions already open on the old snapshot keep reading it; new connections see the new one. With
    ``parquet_dir``, every table and view of the new snapshot is also written there as ``<name>.parquet``.
    Temporary files a killed or failed run left are removed first; a failure now removes its own. The new file is
    opened read-only before the swap (one that does not open is never swapped in), and a ``.wal`` beside the
    snapshot is removed before it: written by an analyst who opened the old file read-write, DuckDB would replay it
    into the new file, and every later open would fail.
    """
    snapshot_path = Path(snapshot_path)
    snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(snapshot_path, Path(parquet_dir) if parquet_dir is not None else None)
    tmp = snapshot_path.with_name(f".{snapshot_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        _build(db_path, tmp, Path(parquet_dir) if parquet_dir is not None else None)
        fault_point("snapshot-written")
        _check_opens(tmp)
        _wal(snapshot_path).unlink(missing_ok=True)
        os.replace(tmp, snapshot_path)
    except BaseException:
        for leftover in (tmp, _wal(tmp)):
            leftover.unlink(missing_ok=True)
        raise
    return snapshot_path


def _build(db_path: str | Path, tmp: Path, parquet_dir: Path | None) -> None:
    con = connect(db_path)
    try:
        con.execute(f"ATTACH {schema.quote(str(tmp))} AS snapshot")
        con.execute(f"COPY FROM DATABASE {_db_name(con)} TO snapshot")
        con.execute("DETACH snapshot")
    finally:
        con.close()
    disk_full_point("snapshot-disk-full")
    # Views and comments are re-declared in the snapshot itself so they resolve against its own tables.
    snap = duckdb.connect(str(tmp))
    try:
        schema.apply_schema(snap)
        snap.execute("CHECKPOINT")
        # From the new file before it is swapped in: reopening the snapshot path in this process could hand back
        # a cached instance of the old file (DuckDB reuses instances per path within a process).
        if parquet_dir is not None:
            export_parquet(snap, parquet_dir)
    finally:
        snap.close()


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _check_opens(path: Path) -> None:
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            con.execute("SELECT count(*) FROM notices").fetchone()
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
            con.execute("SELECT count(*) FROM notices").fetchone()
    except duckdb.Error as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    return None


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
            target_sql = schema.quote(str(target))
            con.execute(f'COPY (SELECT * FROM "{name}") TO {target_sql} (FORMAT parquet, COMPRESSION zstd)')
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
