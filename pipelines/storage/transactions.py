"""One DuckDB transaction around a block of statements: the writers' all-or-nothing, written once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Commit when the block ends; roll back and re-raise when it raises, interrupts included (a Ctrl-C or a
    killed night must not leave half of a batch committed by the connection's close)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
