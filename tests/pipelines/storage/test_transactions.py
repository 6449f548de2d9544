"""The writers' transaction: committed when the block ends, rolled back when it raises (interrupts included)."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.storage.transactions import transaction


class Killed(BaseException):
    """Stands for a KeyboardInterrupt or SystemExit: not an Exception, still rolled back."""


@pytest.mark.parametrize(
    ("raised", "rows_after"),
    [
        (None, [(1,), (2,)]),
        (ValueError("a bad row"), [(1,)]),
        (Killed(), [(1,)]),
    ],
    ids=["commits", "rolls-back-an-error", "rolls-back-an-interrupt"],
)
def test_a_block_is_all_or_nothing(tmp_path, raised, rows_after):
    path = str(tmp_path / "t.duckdb")
    with duckdb.connect(path) as con:
        con.execute("CREATE TABLE t (n INTEGER)")
        con.execute("INSERT INTO t VALUES (1)")
        try:
            with transaction(con):
                con.execute("INSERT INTO t VALUES (2)")
                if raised is not None:
                    raise raised
        except BaseException as error:
            assert error is raised
        # The connection is usable after a rollback: no transaction is left open.
        con.execute("INSERT INTO t VALUES (3)")
        con.execute("DELETE FROM t WHERE n = 3")
    # Read back from a new connection to the file: what was committed, and only that.
    with duckdb.connect(path, read_only=True) as con:
        assert con.execute("SELECT n FROM t ORDER BY n").fetchall() == rows_after


def test_a_failed_statement_rolls_back_the_statements_before_it(tmp_path):
    with duckdb.connect(str(tmp_path / "t.duckdb")) as con:
        con.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
        with pytest.raises(duckdb.ConstraintException), transaction(con):
            con.execute("INSERT INTO t VALUES (1)")
            con.execute("INSERT INTO t VALUES (1)")
        assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)
