"""The DuckDB working database and the analysts' snapshot, on real DuckDB files."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pytest

from pipelines.storage import schema, snapshot, store

READ_COUNTS = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("SELECT count(*) FROM notices").fetchone()[0])
print(con.execute("SELECT count(*) FROM matched_notices").fetchone()[0])
"""


def notice(notice_id: str, fetched_at: str, **fields) -> dict:
    return {
        "source": "ccgp",
        "notice_id": notice_id,
        "url": f"https://www.ccgp.gov.cn/cggg/zygg/zbgg/202611/t20261120_{notice_id}.htm",
        "title": f"公告{notice_id}",
        "fetched_at": fetched_at,
        "published_at": "2026-11-20T15:32:00+08:00",
        **fields,
    }


@pytest.fixture
def con(tmp_path):
    connection = store.connect(tmp_path / "work" / "warehouse.duckdb")
    yield connection
    connection.close()


def load(con, notices, run_id="r1"):
    return store.upsert_notices(con, store.notices_to_arrow(notices, run_id, datetime.now(UTC)))


def test_upsert_keeps_the_newest_fetch_of_a_duplicated_key(con):
    inserted, updated = load(
        con,
        [
            notice("1", "2026-11-20T01:00:00+00:00", budget_cny="100.00"),
            notice("1", "2026-11-21T01:00:00+00:00", budget_cny="200.00"),
            notice("2", "2026-11-20T01:00:00+00:00"),
        ],
    )
    assert (inserted, updated) == (2, 0)
    assert con.execute("SELECT budget_cny FROM notices WHERE notice_id = '1'").fetchall() == [(Decimal("200.00"),)]


def test_rerunning_an_unchanged_batch_changes_no_row(con):
    batch = [notice("1", "2026-11-20T01:00:00+00:00"), notice("2", "2026-11-20T01:00:00+00:00")]
    load(con, batch, "r1")
    before = con.execute("SELECT notice_id, first_seen_at, last_seen_at, run_id FROM notices ORDER BY 1").fetchall()
    # Fetched again a day later, the same content: nothing to store, nothing derived to redo.
    refetched = [{**n, "fetched_at": "2026-11-21T01:00:00+00:00"} for n in batch]
    assert load(con, refetched, "r2") == (0, 0)
    assert con.execute("SELECT notice_id, first_seen_at, last_seen_at, run_id FROM notices ORDER BY 1").fetchall() == (
        before
    )


@pytest.mark.parametrize(
    ("change", "column", "stored"),
    [
        ({"content_hash": "b" * 64}, "content_hash", "b" * 64),
        ({"parser_version": "9.9.9"}, "parser_version", "9.9.9"),
        ({"budget_cny": "200.00"}, "budget_cny", Decimal("200.00")),
        ({"title": "更正后的公告1"}, "title", "更正后的公告1"),
        ({"parse_error": "UnreadablePage: empty body"}, "parse_error", "UnreadablePage: empty body"),
    ],
)
def test_a_changed_notice_is_updated_and_keeps_first_seen(con, change, column, stored):
    original = notice("1", "2026-11-20T01:00:00+00:00", content_hash="a" * 64, parser_version="1.1.0")
    load(con, [original, notice("2", "2026-11-20T01:00:00+00:00")], "r1")
    first_seen = store.scalar(con, "SELECT first_seen_at FROM notices WHERE notice_id = '1'")
    changed = {**original, "fetched_at": "2026-11-21T01:00:00+00:00", **change}
    assert load(con, [changed, notice("2", "2026-11-21T01:00:00+00:00")], "r2") == (0, 1)
    row = con.execute(f"SELECT {column}, run_id, first_seen_at FROM notices WHERE notice_id = '1'").fetchone()
    assert row == (stored, "r2", first_seen)
    assert store.scalar(con, "SELECT run_id FROM notices WHERE notice_id = '2'") == "r1"


def test_known_notices_are_the_clean_ones_of_the_source_near_the_window(con):
    load(con, [
        notice("in", "2026-11-20T01:00:00+00:00"),
        notice("margin", "2026-11-20T01:00:00+00:00", published_at="2026-11-14T09:00:00+08:00"),
        notice("old", "2026-11-20T01:00:00+00:00", published_at="2026-10-01T09:00:00+08:00"),
        notice("undated", "2026-11-20T01:00:00+00:00", published_at=None),
        notice("failed", "2026-11-20T01:00:00+00:00", parse_error="UnreadablePage: empty body"),
        {**notice("other", "2026-11-20T01:00:00+00:00"), "source": "jsggzy"},
    ])  # fmt: skip
    known = store.known_notices(con, "ccgp", date(2026, 11, 19))
    assert known == {"in": None, "margin": None, "undated": None}
    # A backfill window also bounds the newest date (with the same margin).
    assert store.known_notices(con, "ccgp", date(2026, 9, 25), date(2026, 10, 2)) == {"old": None, "undated": None}


def test_values_of_the_wrong_type_are_coerced_or_dropped_not_fatal(con):
    odd = notice("9", "2026-11-20T01:00:00+00:00", budget_cny="abc", tax_included="yes", suppliers="none",
                 items=[{"name": 42, "quantity": "1,200", "unit_price_cny": 3}], published_at="not a date")  # fmt: skip
    odd["notice_id"] = 9
    assert load(con, [odd]) == (1, 0)
    assert con.execute(
        "SELECT notice_id, budget_cny, tax_included, suppliers, items[1].name, items[1].quantity, "
        "items[1].unit_price_cny, published_at FROM notices"
    ).fetchall() == [("9", None, None, None, "42", 1200.0, Decimal("3.00"), None)]


def test_nested_fields_and_amounts_survive_the_arrow_load(con):
    load(
        con,
        [
            notice(
                "7",
                "2026-11-20T01:00:00+00:00",
                budget_cny=Decimal("33000000.00"),
                suppliers=[{"name": "天津市联大医用设备有限公司", "amount_cny": "13950000", "lot": "1"}],
                items=[{"name": "GPU服务器", "brand": "浪潮", "model": "NF5688M7", "quantity": "2", "unit": "台"}],
                attachments=[{"name": "采购文件.pdf", "url": "https://example.org/a.pdf"}],
            )
        ],
    )
    row = con.execute(
        "SELECT budget_cny, suppliers[1].name, suppliers[1].amount_cny, items[1].quantity, items[1].model, "
        "attachments[1].name, strftime(published_at AT TIME ZONE 'Asia/Shanghai', '%Y-%m-%d %H:%M') FROM notices"
    ).fetchone()
    assert row == (
        Decimal("33000000.00"),
        "天津市联大医用设备有限公司",
        Decimal("13950000.00"),
        2.0,
        "NF5688M7",
        "采购文件.pdf",
        "2026-11-20 15:32",
    )


def test_every_table_view_and_column_is_documented(con):
    undocumented = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal AND comment IS NULL"
    ).fetchall()
    assert undocumented == []
    assert store.scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE comment IS NULL") == 0
    assert store.scalar(con, "SELECT count(*) FROM duckdb_views() WHERE NOT internal AND comment IS NULL") == 0


def test_snapshot_swaps_atomically_under_an_open_reader(tmp_path, con):
    load(con, [notice("1", "2026-11-20T01:00:00+00:00")])
    con.close()
    work = tmp_path / "work" / "warehouse.duckdb"
    snapshot_path = tmp_path / "tenders.duckdb"
    snapshot.publish_snapshot(work, snapshot_path)
    reader = duckdb.connect(str(snapshot_path), read_only=True)
    with store.session(work) as writer:
        load(writer, [notice("2", "2026-11-21T01:00:00+00:00")])
    snapshot.publish_snapshot(work, snapshot_path)
    assert reader.execute("SELECT count(*) FROM notices").fetchone() == (1,)
    # An analyst's new session is another process (within one process DuckDB reuses the open instance).
    fresh = subprocess.run(
        [sys.executable, "-c", READ_COUNTS, str(snapshot_path)], capture_output=True, text=True, check=True
    )
    assert fresh.stdout.split() == ["2", "0"]
    reader.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tenders.duckdb", "work"]


def test_sessions_opened_at_once_in_threads_do_not_conflict_over_the_schema(tmp_path):
    # The nightly flow's crawl tasks run in threads and each opens a session when its crawl ends.
    path = tmp_path / "w.duckdb"
    store.connect(path).close()

    def open_session(barrier: threading.Barrier, errors: list) -> None:
        barrier.wait()
        try:
            with store.session(path) as con:
                con.execute("SELECT count(*) FROM matched_notices").fetchall()
        except Exception as error:  # collected: an exception in a thread would not fail the test
            errors.append(error)

    for _ in range(5):
        errors: list[BaseException] = []
        barrier = threading.Barrier(3)
        threads = [threading.Thread(target=open_session, args=(barrier, errors)) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []


def test_a_database_set_up_by_other_code_gets_the_current_schema(tmp_path):
    path = tmp_path / "w.duckdb"
    with store.session(path) as con:
        con.execute("DROP VIEW matched_notices")
        con.execute("UPDATE store_schema SET fingerprint = 'an older version'")
    with store.session(path) as con:
        assert con.execute("SELECT fingerprint FROM store_schema").fetchall() == [(schema.SCHEMA_FINGERPRINT,)]
        comment = con.execute("SELECT comment FROM duckdb_views() WHERE view_name = 'matched_notices'").fetchall()
        assert comment == [(schema.VIEWS["matched_notices"][0],)]
