"""The analysts' snapshot: the working database copied into ``tenders.duckdb`` and swapped in, plus Parquet files."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import duckdb

from pipelines.storage import schema
from pipelines.storage.store import connect, scalar


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
        con.execute(f"ATTACH {schema.quote(str(tmp))} AS snapshot")
        con.execute(f"COPY FROM DATABASE {_db_name(con)} TO snapshot")
        con.execute("DETACH snapshot")
    finally:
        con.close()
    # Views and comments are re-declared in the snapshot itself so they resolve against its own tables.
    snap = duckdb.connect(str(tmp))
    try:
        schema.apply_schema(snap)
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
