"""The DuckDB working database and the analysts' snapshot, on real DuckDB files."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pytest

from pipelines.ingest.normalize import to_json
from pipelines.model import NOTICE_COLUMNS, without_surrogates
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
    ).fetchall() == [("9", None, True, None, "42", 1200.0, Decimal("3.00"), None)]  # "yes" reads as DuckDB reads it


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


# --- load_jsonl: DuckDB reads the normalizer's files; the Python converters take what it refuses ----------------------

SEEN_AT = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
# Every stored column but the process id (derived later).
STORED = ", ".join(c.name for c in NOTICE_COLUMNS if c.name != "ocid")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """One database loaded with ``load_jsonl`` and one with the Python converters (``upsert_notices``), shared by
    the cases below: each case uses its own notice ids."""
    folder = tmp_path_factory.mktemp("load")
    fast, python = store.connect(folder / "fast.duckdb"), store.connect(folder / "python.duckdb")
    yield folder, fast, python
    fast.close()
    python.close()


def write_jsonl(path, rows: list) -> str:
    """Rows as the normalizer writes them; a str row is written as it is (a malformed line)."""
    lines = [row if isinstance(row, str) else to_json(row, exact_amounts=True) for row in rows]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def stored_rows(con, notice_ids) -> list[tuple]:
    ids = list(notice_ids)
    return con.execute(
        f"SELECT {STORED} FROM notices WHERE list_contains(?, notice_id) ORDER BY notice_id", [ids]
    ).fetchall()


# (case, field, odd value, read by DuckDB?, what is stored). DuckDB's own conversions are the reference: the Python
# converters agree with them, so a row is stored alike whichever path its file takes.
ODD_VALUES = [
    ("yes is true", "tax_included", "yes", True, True),
    ("F is false", "tax_included", "F", True, False),
    ("1 is true", "tax_included", 1, True, True),
    ("a word is no answer", "tax_included", "maybe", False, None),
    ("half a cent rounds up", "budget_cny", "1.005", True, Decimal("1.01")),
    ("negative half a cent", "budget_cny", "-1.005", True, Decimal("-1.01")),
    ("an amount as a number", "budget_cny", 12, True, Decimal("12.00")),
    ("not an amount", "budget_cny", "abc", False, None),
    ("an empty amount", "budget_cny", "", False, None),
    ("an amount too large for DECIMAL(18,2)", "budget_cny", "1e17", False, None),
    ("a number as text", "title", 42, True, "42"),
    ("an object as text", "title", {"名": "值"}, True, '{"名":"值"}'),
    ("true as text", "title", True, True, "true"),
    ("a naive time is UTC", "published_at", "2026-11-20T07:32:00", True, datetime(2026, 11, 20, 7, 32, tzinfo=UTC)),
    ("a date alone", "published_at", "2026-11-20", True, datetime(2026, 11, 20, tzinfo=UTC)),
    ("Z", "published_at", "2026-11-20T07:32:00Z", True, datetime(2026, 11, 20, 7, 32, tzinfo=UTC)),
    ("not a time", "published_at", "not a date", False, None),
    ("an empty time", "published_at", "", False, None),
    ("a list as a string", "suppliers", "none", False, None),
    ("an object for a list", "suppliers", {"name": "x"}, False, None),
    ("a quantity with a comma", "items", [{"name": "GPU", "quantity": "1,200"}], False, 1200.0),
    ("a quantity as text", "items", [{"name": "GPU", "quantity": "8"}], True, 8.0),
    ("an escaped lone surrogate", "title", "\ud800", False, "\ufffd"),
]


@pytest.mark.parametrize(
    ("case", "column", "value", "by_duckdb", "expected"), ODD_VALUES, ids=[c[0] for c in ODD_VALUES]
)
def test_both_paths_store_an_odd_value_alike(loaded, case, column, value, by_duckdb, expected):
    folder, fast, python = loaded
    key = "odd-" + case.replace(" ", "-")
    rows = [notice(f"{key}-plain", "2026-11-20T01:00:00+00:00"), notice(f"{key}-odd", "2026-11-20T01:00:00+00:00")]
    rows[1][column] = value
    if column == "title" and value == "\ud800":
        path = write_jsonl(folder / f"{key}.jsonl", [rows[0], json.dumps(rows[1])])  # escaped, as a JSON API sends it
        rows[1] = json.loads(json.dumps(rows[1]))
    else:
        path = write_jsonl(folder / f"{key}.jsonl", rows)
    summary = store.load_jsonl(fast, [path], "r1", SEEN_AT)
    assert (summary.rows, summary.inserted, summary.updated) == (2, 2, 0)
    assert summary.python_files == ([] if by_duckdb else [path])
    # The Python converters on the same values (lone surrogates replaced, as the Python path reads a file).
    store.upsert_notices(python, store.notices_to_arrow([without_surrogates(r) for r in rows], "r1", SEEN_AT))
    stored = stored_rows(fast, [f"{key}-plain", f"{key}-odd"])
    assert stored == stored_rows(python, [f"{key}-plain", f"{key}-odd"])
    read = "items[1].quantity" if column == "items" else column
    assert fast.execute(f"SELECT {read} FROM notices WHERE notice_id = ?", [f"{key}-odd"]).fetchone()[0] == expected


# (case, lines, the line numbers named). A line that is not a JSON object stops the load: nothing is stored.
MALFORMED = [
    ("a torn last line", ['{"source": "ccgp", "notice_id": "t1", "title": "半'], [3]),
    ("an array", ["[1, 2]"], [3]),
    ("a bare string", ['"ccgp"'], [3]),
    ("two bad lines, both named", ["{", "null"], [3, 4]),
]


@pytest.mark.parametrize(("case", "bad_lines", "numbers"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_a_malformed_line_is_named_and_nothing_is_stored(loaded, case, bad_lines, numbers):
    folder, fast, _ = loaded
    key = f"bad-{case.replace(' ', '-')}"
    path = write_jsonl(
        folder / f"{key}.jsonl",
        [notice(f"{key}-1", "2026-11-20T01:00:00+00:00"), notice(f"{key}-2", "2026-11-20T01:00:00+00:00"), *bad_lines],
    )
    good = write_jsonl(folder / f"{key}-good.jsonl", [notice(f"{key}-3", "2026-11-20T01:00:00+00:00")])
    before = store.scalar(fast, "SELECT count(*) FROM notices")
    with pytest.raises(store.MalformedBatch) as error:
        store.load_jsonl(fast, [good, path], "r1", SEEN_AT)
    message = str(error.value)
    assert message.startswith(f"{path}: {len(numbers)} malformed line(s), nothing stored")
    assert [int(n) for n in re.findall(r"line (\d+)", message)] == numbers
    # Nothing stored, not even the good file's notice; no staging table left; the memory limit is back.
    assert store.scalar(fast, "SELECT count(*) FROM notices") == before
    assert store.scalar(fast, "SELECT count(*) FROM duckdb_tables() WHERE temporary") == 0
    assert store.scalar(fast, "SELECT current_setting('memory_limit')") != store.LOAD_MEMORY_LIMIT


def test_a_huge_row_is_stored_whole(loaded):
    folder, fast, _ = loaded
    text = "算力" * 12_000_000  # 72 MB of UTF-8 on one line
    path = write_jsonl(folder / "huge.jsonl", [notice("huge", "2026-11-20T01:00:00+00:00", text=text)])
    summary = store.load_jsonl(fast, [path], "r1", SEEN_AT)
    assert (summary.inserted, summary.updated) == (1, 0)
    assert fast.execute("SELECT length(text), text[-2:] FROM notices WHERE notice_id = 'huge'").fetchone() == (
        len(text),
        "算力",
    )


# (case, files as lists of (suffix, fetched_at, budget), the budget stored). The newest fetch wins; of equal fetch
# times the last one read (later line, later file); an undated fetch loses to a dated one.
DUPLICATES = [
    ("newer fetch first in a file", [[("2026-11-21", "2"), ("2026-11-20", "1")]], "2"),
    ("equal fetches: the later line", [[("2026-11-20", "1"), ("2026-11-20", "2")]], "2"),
    ("undated loses", [[("2026-11-20", "1"), (None, "2")]], "1"),
    ("across files: the newer fetch", [[("2026-11-21", "1")], [("2026-11-20", "2")]], "1"),
    ("across files: equal fetches, the later file", [[("2026-11-20", "1")], [("2026-11-20", "2")]], "2"),
]


@pytest.mark.parametrize("python_path", [False, True], ids=["duckdb", "python"])
@pytest.mark.parametrize(("case", "files", "budget"), DUPLICATES, ids=[c[0] for c in DUPLICATES])
def test_a_notice_read_twice_is_stored_as_its_last_fetch(loaded, case, files, budget, python_path):
    folder, fast, _ = loaded
    key = f"dup-{case.replace(' ', '-')}-{python_path}"
    paths = []
    for number, rows in enumerate(files):
        notices = [
            notice(key, f"{day}T01:00:00+00:00" if day else None, budget_cny=f"{amount}.00") for day, amount in rows
        ]
        if python_path:  # a value DuckDB refuses sends the whole file through the Python converters
            notices.append(notice(f"{key}-odd-{number}", "2026-11-20T01:00:00+00:00", budget_cny="abc"))
        paths.append(write_jsonl(folder / f"{key}-{number}.jsonl", notices))
    summary = store.load_jsonl(fast, paths, "r1", SEEN_AT)
    assert (summary.python_files != []) == python_path
    assert summary.inserted == 1 + (len(files) if python_path else 0)
    assert store.scalar(fast, "SELECT budget_cny FROM notices WHERE notice_id = ?", [key]) == Decimal(f"{budget}.00")


def test_a_reloaded_file_records_only_what_changed(loaded):
    folder, fast, _ = loaded
    first = [notice(f"again-{n}", "2026-11-20T01:00:00+00:00", content_hash=f"{n}" * 64) for n in range(3)]
    store.load_jsonl(fast, [write_jsonl(folder / "again-1.jsonl", first)], "r1", SEEN_AT)
    before = stored_rows(fast, ["again-0", "again-1", "again-2"])
    # The next night: the same three fetched again, one of them changed, and one new notice.
    later = [{**row, "fetched_at": "2026-11-21T01:00:00+00:00"} for row in first]
    later[1]["content_hash"] = "f" * 64
    later.append(notice("again-3", "2026-11-21T01:00:00+00:00"))
    next_night = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    summary = store.load_jsonl(fast, [write_jsonl(folder / "again-2.jsonl", later)], "r2", next_night)
    assert (summary.rows, summary.inserted, summary.updated) == (4, 1, 1)
    after = fast.execute(
        "SELECT notice_id, content_hash, fetched_at, first_seen_at, last_seen_at, run_id FROM notices "
        "WHERE notice_id LIKE 'again-%' ORDER BY notice_id"
    ).fetchall()
    r1_fetch = datetime(2026, 11, 20, 1, tzinfo=UTC)
    r2_fetch = datetime(2026, 11, 21, 1, tzinfo=UTC)
    assert [(row[0], (row[1] or "")[:1], row[2], row[3], row[4], row[5]) for row in after] == [
        ("again-0", "0", r1_fetch, SEEN_AT, SEEN_AT, "r1"),  # unchanged: left as it was
        ("again-1", "f", r2_fetch, SEEN_AT, next_night, "r2"),  # changed: rewritten, first seen kept
        ("again-2", "2", r1_fetch, SEEN_AT, SEEN_AT, "r1"),
        ("again-3", "", r2_fetch, next_night, next_night, "r2"),
    ]
    assert stored_rows(fast, ["again-0", "again-2"]) == [before[0], before[2]]


@pytest.mark.parametrize("previous", [None, "2GB", "300MB"], ids=["default", "2GB", "300MB"])
def test_a_memory_cap_leaves_the_setting_as_it_found_it(tmp_path, previous):
    """The setting reads back truncated ("18.7 GiB"): the default comes back as the default, also when the block
    fails; a value someone set comes back as it reads, within that truncation."""
    with store.session(tmp_path / "cap.duckdb") as con:
        if previous:
            con.execute(f"SET memory_limit = '{previous}'")
        setting = "SELECT current_setting('memory_limit')"
        before = store.scalar(con, setting)
        with pytest.raises(ZeroDivisionError), store.memory_limit(con, "100MB"):
            assert store.scalar(con, setting) == "95.3 MiB"
            1 / 0  # noqa: B018 (the block fails)
        after = store.scalar(con, setting)
        (number, unit), (number_before, unit_before) = after.split(), before.split()
        assert unit == unit_before and round(abs(float(number) - float(number_before)), 6) <= 0.1
        con.execute("RESET memory_limit")
        assert (store.scalar(con, setting) == after) == (previous is None)


@pytest.mark.parametrize("path", ["load_jsonl", "upsert_notices"])
def test_a_load_whose_memory_cap_is_too_small_is_done_again_without_it(tmp_path, caplog, path):
    """The same rows stored as without the cap, each counted once, a file DuckDB refused named once, and the
    fall-back said."""
    rows = [notice("cap-1", "2026-11-20T01:00:00+00:00"), notice("cap-2", "2026-11-20T01:00:00+00:00")]
    refused = [notice("cap-3", "2026-11-20T01:00:00+00:00", budget_cny="abc")]
    files = [write_jsonl(tmp_path / "plain.jsonl", rows), write_jsonl(tmp_path / "refused.jsonl", refused)]
    stored = {}
    for cap in (None, "16KB"):
        with store.session(tmp_path / f"{cap}.duckdb") as con, caplog.at_level(logging.WARNING, logger=store.__name__):
            if path == "load_jsonl":
                summary = store.load_jsonl(con, files, "r1", SEEN_AT, memory_cap=cap)
                counts = (summary.rows, summary.inserted, summary.updated, summary.python_files)
            else:
                counts = store.upsert_notices(
                    con, store.notices_to_arrow(rows + refused, "r1", SEEN_AT), memory_cap=cap
                )
            stored[cap] = (counts, stored_rows(con, ["cap-1", "cap-2", "cap-3"]))
    assert stored["16KB"] == stored[None]
    counts, rows_stored = stored[None]
    assert counts == ((3, 3, 0, [files[1]]) if path == "load_jsonl" else (3, 0))
    assert [row[1] for row in rows_stored] == ["cap-1", "cap-2", "cap-3"]
    said = [record.getMessage().split(";")[0] for record in caplog.records if record.name == store.__name__]
    assert said == ["the load ran out of DuckDB memory under 16KB"]
