"""The analysts' snapshot survives what analysts and crashes do to it: real DuckDB files, no mocks."""

from __future__ import annotations

import duckdb

import cli
from pipelines.storage import snapshot, store


def working_db(tmp_path):
    db = tmp_path / "work" / "warehouse.duckdb"
    with store.session(db) as con:
        con.execute("INSERT INTO notices (source, notice_id, title) VALUES ('ccgp', '1', '公告')")
    return db


def stale_wal(tmp_path):
    """A write-ahead log left by a session that wrote and never checkpointed (an analyst's killed session)."""
    other = tmp_path / "analyst.duckdb"
    con = duckdb.connect(str(other))
    con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.execute("CREATE TABLE scratch AS SELECT 42 AS answer")
    con.execute("INSERT INTO scratch VALUES (43)")
    con.close()
    wal = other.with_name(other.name + ".wal")
    assert wal.exists()
    return wal.read_bytes()


def test_a_stale_wal_beside_the_snapshot_never_makes_the_new_one_unopenable(tmp_path):
    db = working_db(tmp_path)
    target = tmp_path / "tenders.duckdb"
    snapshot.publish_snapshot(db, target)
    (tmp_path / "tenders.duckdb.wal").write_bytes(stale_wal(tmp_path))
    assert snapshot.snapshot_problem(target) is not None  # what an analyst would hit, and health reports

    snapshot.publish_snapshot(db, target)

    assert not (tmp_path / "tenders.duckdb.wal").exists()
    assert snapshot.snapshot_problem(target) is None
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT notice_id, title FROM notices").fetchall() == [("1", "公告")]


def test_leftovers_of_a_killed_snapshot_are_removed_at_the_next_start(tmp_path):
    db = working_db(tmp_path)
    target = tmp_path / "tenders.duckdb"
    parquet = tmp_path / "parquet"
    leftovers = [tmp_path / ".tenders.duckdb.0123abcd.tmp", tmp_path / ".tenders.duckdb.0123abcd.tmp.wal"]
    for leftover in leftovers:
        leftover.write_bytes(b"\0" * 1024)
    (parquet / ".staging-0123abcd").mkdir(parents=True)
    (parquet / ".staging-0123abcd" / "notices.parquet").write_bytes(b"half")

    snapshot.publish_snapshot(db, target, parquet)

    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert sorted(p.name for p in parquet.iterdir() if p.name.startswith(".")) == []
    assert (parquet / "notices.parquet").exists()
    assert snapshot.snapshot_problem(target) is None


def test_health_says_when_the_analysts_snapshot_does_not_open(tmp_path, capsys):
    db = working_db(tmp_path)
    with store.session(db) as con:
        # A fresh, healthy live crawl: health's only complaint can then be the snapshot.
        con.execute(
            "INSERT INTO crawl_runs (run_id, source, started_at, finished_at, verdict, reason, responses_by_status) "
            "VALUES ('live', 'ccgp', now(), now(), 'ok', '3 notices from 4 responses', '{}')"
        )
    target = tmp_path / "tenders.duckdb"
    snapshot.publish_snapshot(db, target)
    assert cli.main(["health", "--data-dir", str(tmp_path)]) == 0
    assert "does not open" not in capsys.readouterr().out

    (tmp_path / "tenders.duckdb.wal").write_bytes(stale_wal(tmp_path))

    assert cli.main(["health", "--data-dir", str(tmp_path)]) == 1
    assert f"analysts' snapshot {target} does not open: " in capsys.readouterr().out
