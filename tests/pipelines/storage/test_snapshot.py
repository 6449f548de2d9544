"""The analysts' snapshot survives what analysts and crashes do to it: real DuckDB files, no mocks."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import cli
from pipelines.config import FAULT_ENV, FAULT_EXIT_CODE
from pipelines.storage import schema, snapshot, store

ROOT = Path(__file__).resolve().parents[3]


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
    assert list((parquet / "notices").glob("published_month=*/data_0.parquet"))
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


def described(con: duckdb.DuckDBPyConnection) -> tuple[list[tuple], ...]:
    """What an analyst reads about the tables and views: names, comments, columns and their types and comments."""
    return (
        con.execute("SELECT table_name, comment FROM duckdb_tables() ORDER BY ALL").fetchall(),
        con.execute("SELECT view_name, comment FROM duckdb_views() WHERE NOT internal ORDER BY ALL").fetchall(),
        con.execute(
            "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() WHERE NOT internal ORDER BY ALL"
        ).fetchall(),
    )


def keys(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
        "WHERE constraint_type = 'PRIMARY KEY' ORDER BY ALL"
    ).fetchall()


def test_a_whole_copy_has_every_table_view_and_comment_but_not_the_keys(tmp_path):
    db = working_db(tmp_path)
    target = tmp_path / "tenders.duckdb"
    snapshot.publish_snapshot(db, target, incremental=False)
    with duckdb.connect(str(db), read_only=True) as work, duckdb.connect(str(target), read_only=True) as snap:
        assert described(snap) == described(work)
        assert ("notices", ["source", "notice_id"]) in keys(work)
        assert keys(snap) == []
        assert snap.execute("SELECT notice_id, title FROM notices").fetchall() == [("1", "公告")]
        assert snap.execute("SELECT fingerprint FROM store_schema").fetchall() == [(schema.SCHEMA_FINGERPRINT,)]


def test_a_snapshot_copied_with_its_keys_is_copied_whole_once_more(tmp_path):
    """Snapshots were copies with the keys before; patched, they would keep the indexes the copies now leave out."""
    db = working_db(tmp_path)
    target = tmp_path / "tenders.duckdb"
    with duckdb.connect() as con:
        con.execute(f"ATTACH {schema.quote(str(db))} AS work (READ_ONLY)")
        con.execute(f"ATTACH {schema.quote(str(target))} AS old")
        con.execute("COPY FROM DATABASE work TO old")
    with duckdb.connect(str(target)) as con:
        schema.apply_schema(con)
        assert keys(con)
    with store.session(db) as con:
        con.execute("INSERT INTO notices (source, notice_id, title) VALUES ('ccgp', '2', '服务器')")

    snapshot.publish_snapshot(db, target)

    with duckdb.connect(str(target), read_only=True) as con:
        assert keys(con) == []
        assert con.execute("SELECT notice_id FROM notices ORDER BY ALL").fetchall() == [("1",), ("2",)]


# --- the incremental snapshot: the previous one copied and patched with what differs ------------------------------

# Each night changes the working database, then the snapshot is published. Every night's incremental snapshot must
# equal a snapshot copied whole from the working database: tables, views and Parquet files.
NIGHTS = [
    (
        "insert",
        [
            # published_date as the store writes it (the schema backfills it only where the schema is applied).
            "INSERT INTO notices (source, notice_id, title, text, buyer, published_at, published_date) VALUES "
            "('ccgp', '2', 'GPU服务器采购', '采购A100 4块', '某大学', '2026-11-20 10:00:00+08', '2026-11-20'), "
            "('ccgp', '3', '办公家具', '桌椅', '某局', '2026-11-21 10:00:00+08', '2026-11-21')",
            "INSERT INTO match_results (source, notice_id, tier, score, rules_version, content_hash) "
            "VALUES ('ccgp', '2', 'strong', 9.0, 'r1', 'h2'), ('ccgp', '3', 'none', 0.0, 'r1', 'h3')",
            "INSERT INTO matches (source, notice_id, hit_no, rule_id, tier, model, quantity, rules_version) "
            "VALUES ('ccgp', '2', 0, 'chip', 'strong', 'A100', 4, 'r1')",
            "INSERT INTO supplier_watchlist VALUES ('某科技', 'Some Tech', 'reported')",
        ],
    ),
    (
        "change",
        [
            "UPDATE notices SET text = '采购A100 8块（更正）', content_hash = 'h2b' WHERE notice_id = '2'",
            "UPDATE matches SET quantity = 8 WHERE notice_id = '2'",
            "UPDATE supplier_watchlist SET why = 'reported twice'",
        ],
    ),
    (
        "withdraw",
        [
            "DELETE FROM matches WHERE notice_id = '2'",
            "UPDATE match_results SET tier = 'none', score = 0 WHERE notice_id = '2'",
            "DELETE FROM notices WHERE notice_id = '3'",
            "DELETE FROM supplier_watchlist",
        ],
    ),
    # Notice 2 moves to October: its new month is written, and November, left empty, goes.
    ("move", ["UPDATE notices SET published_date = '2026-10-30' WHERE notice_id = '2'"]),
    ("nothing", []),
    # What every night adds, new notices or not: one view reads it.
    (
        "crawl",
        [
            "INSERT INTO crawl_runs (run_id, source, started_at, finished_at, verdict, reason, responses_by_status) "
            "VALUES ('n6', 'ccgp', '2026-11-22 01:00:00+00', '2026-11-22 01:05:00+00', 'ok', 'nothing new', '{}')"
        ],
    ),
    ("watchlist", ["INSERT INTO supplier_watchlist VALUES ('某科技', 'Some Tech', 'reported')"]),
    # Tables of several rows a notice are compared notice by notice first (the row count and the sum of the rows'
    # hashes), then row by row within the notices that differ.
    (
        "segment",
        [
            "INSERT INTO notice_segments VALUES ('ccgp', '1', 0, 'title', 's-a', 'v1'), "
            "('ccgp', '1', 1, 'text', 's-b', 'v1'), ('ccgp', '2', 0, 'title', 's-c', 'v1')"
        ],
    ),
    # The same number of rows for each notice, one of them different.
    ("resegment", ["UPDATE notice_segments SET segment_hash = 's-d' WHERE notice_id = '1' AND position = 1"]),
    # A row moves from notice 1 to notice 2: both notices' rows differ, the table's count does not.
    ("move segment", ["UPDATE notice_segments SET notice_id = '2' WHERE notice_id = '1' AND position = 1"]),
]


def contents(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every table's and view's rows, sorted (store_schema's applied_at says when, not what: left out)."""
    names = [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    ]
    found = {}
    for name in sorted(names):
        selected = "fingerprint" if name == "store_schema" else "*"
        found[name] = con.execute(f'SELECT {selected} FROM "{name}" ORDER BY ALL').fetchall()
    return found


def parquet_contents(folder) -> dict[str, list[tuple]]:
    """Every table's and view's rows as its Parquet holds them; a partitioned table's folder read whole."""
    con = duckdb.connect()
    try:
        found = {
            path.stem: con.execute(
                f"SELECT {'fingerprint' if path.stem == 'store_schema' else '*'} "
                f"FROM read_parquet('{path}') ORDER BY ALL"
            ).fetchall()
            for path in sorted(folder.glob("*.parquet"))
        }
        for partitioned in sorted(path for path in folder.iterdir() if path.is_dir() and path.name[0] not in "._"):
            found[partitioned.name] = con.execute(
                f"SELECT * FROM read_parquet('{partitioned}/*/*.parquet', hive_partitioning = true) ORDER BY ALL"
            ).fetchall()
        return found
    finally:
        con.close()


def file_ids(folder) -> dict[str, tuple[int, int]]:
    """Each Parquet file (partitions by their path in the folder) → its inode and mtime: rewritten files differ."""
    return {
        str(path.relative_to(folder)): (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in folder.rglob("*.parquet")
        if not path.relative_to(folder).parts[0].startswith(".")
    }


class Warnings(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# Too little memory for DuckDB to patch or export in: both are done again without the cap.
TOO_LITTLE = "16KB"


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """The nights published incrementally, whole, and incrementally under a memory cap too small: (night,
    incremental, whole, parquet, whole's parquet, rewritten, (capped, its parquet, its rewritten, its warnings))."""
    root = tmp_path_factory.mktemp("nights")
    db = working_db(root)
    published = []
    warnings = Warnings()
    logging.getLogger(snapshot.__name__).addHandler(warnings)

    def publish(folder: Path, **options) -> list[str]:
        before = file_ids(folder / "parquet") if (folder / "parquet").exists() else {}
        snapshot.publish_snapshot(db, folder / "tenders.duckdb", folder / "parquet", **options)
        after = file_ids(folder / "parquet")
        return sorted(name for name, ident in after.items() if before.get(name) != ident)

    for night, statements in NIGHTS:
        with store.session(db) as con:
            for statement in statements:
                con.execute(statement)
        rewritten = publish(root)
        warnings.messages.clear()
        capped_rewritten = publish(root / "capped", memory_cap=TOO_LITTLE)
        capped_warnings = list(warnings.messages)
        whole = root / night
        snapshot.publish_snapshot(db, whole / "tenders.duckdb", whole / "parquet", incremental=False)
        with duckdb.connect(str(root / "tenders.duckdb"), read_only=True) as con:
            incremental = contents(con)
        with duckdb.connect(str(whole / "tenders.duckdb"), read_only=True) as con:
            rebuilt = contents(con)
        with duckdb.connect(str(root / "capped" / "tenders.duckdb"), read_only=True) as con:
            capped = (contents(con), parquet_contents(root / "capped" / "parquet"), capped_rewritten, capped_warnings)
        published.append(
            (night, incremental, rebuilt, parquet_contents(root / "parquet"), parquet_contents(whole / "parquet"),
             rewritten, capped)
        )  # fmt: skip
    logging.getLogger(snapshot.__name__).removeHandler(warnings)
    return published


@pytest.mark.parametrize("night", [night for night, _ in NIGHTS])
def test_the_incremental_snapshot_equals_a_whole_copy_after_every_night(nights, night):
    (incremental, rebuilt, parquet, rebuilt_parquet, _, _) = next(rest for name, *rest in nights if name == night)
    assert incremental == rebuilt
    assert parquet == rebuilt_parquet
    assert set(parquet) == set(incremental)  # every table and view has its file


@pytest.mark.parametrize("night", [night for night, _ in NIGHTS])
def test_a_night_whose_memory_cap_is_too_small_is_done_again_without_it(nights, night):
    """The same snapshot, the same Parquet files rewritten (the months of the failed attempt are not lost), and
    each fall-back said."""
    (_, rebuilt, _, rebuilt_parquet, rewritten, capped) = next(rest for name, *rest in nights if name == night)
    tables, parquet, capped_rewritten, warned = capped
    assert tables == rebuilt
    assert parquet == rebuilt_parquet
    assert capped_rewritten == rewritten
    # The first night has no previous snapshot to patch: it is copied whole.
    made = "the whole snapshot copy" if night == NIGHTS[0][0] else "the snapshot patch"
    assert [message.split(";")[0] for message in warned] == [
        f"{made} ran out of DuckDB memory under 16KB",
        "the Parquet export ran out of DuckDB memory under 16KB",  # even with nothing to write: it looks first
    ]


def test_the_nights_changed_what_they_say(nights):
    """The comparison is not vacuous: each night's data is what its statements made."""
    by_night = {name: incremental for name, incremental, *_ in nights}
    assert [row[1] for row in by_night["insert"]["notices"]] == ["1", "2", "3"]
    assert by_night["change"]["matches"][0][11] == 8.0  # quantity
    assert [row[1] for row in by_night["withdraw"]["notices"]] == ["1", "2"]
    assert by_night["withdraw"]["matches"] == []
    assert by_night["withdraw"]["supplier_watchlist"] == []
    assert by_night["nothing"] == by_night["move"]
    assert [row[1:3] + row[4:5] for row in by_night["segment"]["notice_segments"]] == [
        ("1", 0, "s-a"),
        ("1", 1, "s-b"),
        ("2", 0, "s-c"),
    ]
    assert [row[1:3] + row[4:5] for row in by_night["resegment"]["notice_segments"]] == [
        ("1", 0, "s-a"),
        ("1", 1, "s-d"),
        ("2", 0, "s-c"),
    ]
    assert [row[1:3] + row[4:5] for row in by_night["move segment"]["notice_segments"]] == [
        ("1", 0, "s-a"),
        ("2", 0, "s-c"),
        ("2", 1, "s-d"),
    ]


# Notice 1 has no publication date (its month is "undated"); notices 2 and 3 are of November 2026.
NOVEMBER = "notices/published_month=2026-11/data_0.parquet"


# Every view but source_health (it reads crawl_runs alone) reads the notices.
OVER_NOTICES = set(schema.VIEWS) - {"source_health"}


@pytest.mark.parametrize(
    ("night", "rewritten_tables", "rewritten_months"),
    [
        ("change", {"matches", "supplier_watchlist"}, {NOVEMBER}),
        ("withdraw", {"matches", "match_results", "supplier_watchlist"}, {NOVEMBER}),
        ("move", set(), {"notices/published_month=2026-10/data_0.parquet"}),
        ("nothing", set(), set()),
        ("crawl", {"crawl_runs", "source_health"}, set()),
        (
            "watchlist",
            {"supplier_watchlist", "listed_party_purchases", "matched_notices", "watched_supplier_notices"},
            set(),
        ),
    ],
)
def test_only_the_parquet_of_changed_tables_and_months_and_the_views_over_them_are_rewritten(
    nights, night, rewritten_tables, rewritten_months
):
    rewritten = set(next(rest[-2] for name, *rest in nights if name == night))
    views = OVER_NOTICES if rewritten_months else set()
    expected = {f"{name}.parquet" for name in rewritten_tables | views} | rewritten_months
    assert rewritten == expected
    # The undated month (notice 1, stored before the first night) was never written again.
    assert "notices/published_month=undated/data_0.parquet" not in rewritten


def test_a_partitioned_table_is_a_folder_of_months_with_every_row(nights):
    _, incremental, _, parquet, _, _, _ = next(entry for entry in nights if entry[0] == "change")
    rows = parquet["notices"]
    assert [row[1] for row in rows] == [row[1] for row in incremental["notices"]] == ["1", "2", "3"]
    assert [row[-1] for row in rows] == ["undated", "2026-11", "2026-11"]  # published_month, from the folder
    _, _, _, moved, _, _, _ = next(entry for entry in nights if entry[0] == "move")
    assert [(row[1], row[-1]) for row in moved["notices"]] == [("1", "undated"), ("2", "2026-10")]


def test_a_snapshot_killed_mid_patch_leaves_the_previous_one_intact(tmp_path):
    """Killed (os._exit) after half the tables were patched into the copy: the analysts' file and Parquet are the
    previous night's, and the next run publishes the working database whole."""
    db = working_db(tmp_path)
    target, parquet = tmp_path / "tenders.duckdb", tmp_path / "parquet"
    snapshot.publish_snapshot(db, target, parquet)
    with duckdb.connect(str(target), read_only=True) as con:
        previous = contents(con)
    previous_files = file_ids(parquet)
    with store.session(db) as con:
        for statement in NIGHTS[0][1]:
            con.execute(statement)
    code = (
        "import sys; from pipelines.storage import snapshot; "
        "snapshot.publish_snapshot(sys.argv[1], sys.argv[2], sys.argv[3])"
    )
    killed = subprocess.run(
        [sys.executable, "-c", code, str(db), str(target), str(parquet)],
        cwd=ROOT, env={**os.environ, FAULT_ENV: "snapshot-half-patched"}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert killed.returncode == FAULT_EXIT_CODE, killed.stderr[-2000:]
    assert snapshot.snapshot_problem(target) is None
    with duckdb.connect(str(target), read_only=True) as con:
        assert contents(con) == previous
    assert file_ids(parquet) == previous_files
    assert list(tmp_path.glob(".tenders.duckdb.*.tmp"))  # the killed run's copy, removed by the next run

    snapshot.publish_snapshot(db, target, parquet)

    assert not list(tmp_path.glob(".tenders.duckdb.*.tmp*"))
    with duckdb.connect(str(target), read_only=True) as con:
        assert [row[1] for row in contents(con)["notices"]] == ["1", "2", "3"]
    assert [row[1] for row in parquet_contents(parquet)["notices"]] == ["1", "2", "3"]


def test_rows_an_analyst_changed_in_the_snapshot_are_put_back(tmp_path):
    db = working_db(tmp_path)
    target = tmp_path / "tenders.duckdb"
    snapshot.publish_snapshot(db, target)
    with duckdb.connect(str(target)) as con:  # read-write, against the README's advice
        con.execute("UPDATE notices SET title = '改过'")
        con.execute("INSERT INTO notices (source, notice_id) VALUES ('ccgp', 'mine')")

    snapshot.publish_snapshot(db, target)

    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT notice_id, title FROM notices").fetchall() == [("1", "公告")]


@pytest.mark.parametrize(
    "damage",
    [
        b"not a database at all" * 100,  # does not attach
        None,  # a DuckDB file, truncated: its blocks are gone
    ],
    ids=["garbage", "truncated"],
)
def test_a_damaged_previous_snapshot_is_replaced_by_a_whole_copy(tmp_path, damage):
    db = working_db(tmp_path)
    target = tmp_path / "tenders.duckdb"
    snapshot.publish_snapshot(db, target)
    if damage is None:
        damage = target.read_bytes()[: target.stat().st_size // 3]
    target.write_bytes(damage)

    snapshot.publish_snapshot(db, target)

    assert snapshot.snapshot_problem(target) is None
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT notice_id, title FROM notices").fetchall() == [("1", "公告")]
    assert not list(tmp_path.glob(".tenders.duckdb.*.tmp*"))


def test_a_snapshot_with_another_schema_is_copied_whole(tmp_path):
    db = working_db(tmp_path)
    target = tmp_path / "tenders.duckdb"
    snapshot.publish_snapshot(db, target)
    with duckdb.connect(str(target)) as con:
        con.execute("DROP TABLE glossary")  # an older schema, or an analyst's doing
        con.execute("CREATE TABLE scratch AS SELECT 1 AS x")

    snapshot.publish_snapshot(db, target)

    with duckdb.connect(str(target), read_only=True) as con:
        names = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert "glossary" in names and "scratch" not in names


def test_parquet_left_behind_by_a_run_without_it_is_written_by_the_next_run_with_it(tmp_path):
    """``cli translate`` publishes the snapshot without Parquet: the night after still writes those tables' files."""
    db = working_db(tmp_path)
    target, parquet = tmp_path / "tenders.duckdb", tmp_path / "parquet"
    snapshot.publish_snapshot(db, target, parquet)
    with store.session(db) as con:
        con.execute("INSERT INTO notices (source, notice_id, title) VALUES ('ccgp', '2', '二')")
    snapshot.publish_snapshot(db, target)  # no Parquet
    assert [row[1] for row in parquet_contents(parquet)["notices"]] == ["1"]

    snapshot.publish_snapshot(db, target, parquet)  # nothing changed since the last snapshot

    assert [row[1] for row in parquet_contents(parquet)["notices"]] == ["1", "2"]


@pytest.mark.parametrize(
    ("changed", "written"),
    [
        ({"a"}, {"a", "over_a", "over_over_a_and_b"}),
        ({"b"}, {"b", "over_over_a_and_b"}),
        ({"c"}, {"c"}),
        (set(), set()),
    ],
)
def test_a_view_is_written_again_when_a_table_it_reads_changed_even_through_another_view(tmp_path, changed, written):
    parquet = tmp_path / "parquet"
    with duckdb.connect() as con:
        con.execute("CREATE TABLE a AS SELECT 1 AS n")
        con.execute("CREATE TABLE b AS SELECT 2 AS n")
        con.execute("CREATE TABLE c AS SELECT 3 AS n")
        con.execute("CREATE VIEW over_a AS SELECT n FROM a")
        con.execute("CREATE VIEW over_over_a_and_b AS SELECT n FROM over_a UNION ALL SELECT n FROM b")
        snapshot.export_parquet(con, parquet)

        again = snapshot.export_parquet(con, parquet, only=changed)

    assert {path.stem for path in again} == written
