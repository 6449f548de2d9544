"""Procurement processes: notices linked by normalized project code and buyer into one ocid, and the analysts' view."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pipelines.ingest.normalize import empty_notice
from pipelines.ingest.reprocess import reprocess_archive
from pipelines.storage import store
from pipelines.storage.processes import OCID_PREFIX, ProjectCode, assign, assign_ocids, normalize_code
from spiders.registry import PORTALS
from tests.conftest import ROOT

DEMO = ROOT / "demo"
EXPECTED = json.loads((DEMO / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("[230109]HDSJ[GK]20260041", ProjectCode("230109HDSJGK20260041")),
        ("［230109］hdsj［GK］ 20260041", ProjectCode("230109HDSJGK20260041")),
        ("ZB-2026-001（包1）", ProjectCode("ZB2026001")),
        ("ZB-2026-001-第2包", ProjectCode("ZB2026001")),
        ("ZB-2026-001 标段3", ProjectCode("ZB2026001")),
        ("X-2026-1", ProjectCode("X20261", base="X2026")),
        ("GXZT-2026-ZB-0431", ProjectCode("GXZT2026ZB0431")),
        ("川大招字2024-01", ProjectCode("川大招字202401", base="川大招字2024")),
        ("无", None),
        ("/", None),
        ("", None),
        (None, None),
    ],
)
def test_project_codes_are_normalized(raw, expected):
    assert normalize_code(raw) == expected


def notice(notice_id, notice_type, code, buyer, published, **fields):
    row = empty_notice()
    row.update(
        source=fields.pop("source", "ccgp"),
        notice_id=notice_id,
        title=fields.pop("title", f"{notice_type} {notice_id}"),
        notice_type=notice_type,
        project_code=code,
        buyer=buyer,
        published_at=published,
        **fields,
    )
    return row


OWN_NOTICES = [
    # One project: tender, correction (full-width code), award (lot suffix, buyer variant) naming the supplier.
    notice(
        "1001",
        "open_tender",
        "ZB-2026-001",
        "滨江大学",
        "2026-09-01T09:00:00+08:00",
        budget_cny="800000",
        procurement_method="open",
        procurement_method_zh="公开招标",
    ),  # fmt: skip
    notice("1002", "correction", "ＺＢ－２０２６－００１", "滨江大学", "2026-09-05T09:00:00+08:00"),
    notice(
        "1003",
        "award",
        "ZB-2026-001-包1",
        "滨江大学（本级）",
        "2026-09-20T09:00:00+08:00",
        award_cny="765000",
        suppliers=[{"name": "滨江智算科技有限公司", "amount_cny": "765000"}],
    ),  # fmt: skip
    # The same code used by another buyer: another process; a notice without buyer cannot tell which it belongs to.
    notice("2001", "open_tender", "ZB-2026-001", "滨江市第一医院", "2026-09-02T09:00:00+08:00"),
    notice("2002", "correction", "ZB-2026-001", None, "2026-09-06T09:00:00+08:00"),
    # A numeric suffix joins its base only when the base is known for the buyer.
    notice("3001", "inquiry", "XJ-2026", "滨江中学", "2026-09-03T09:00:00+08:00"),
    notice("3002", "deal", "XJ-2026-1", "滨江中学", "2026-09-10T09:00:00+08:00"),
    # Without a buyer, a notice joins the code's only buyer.
    notice("3003", "correction", "XJ-2026", None, "2026-09-05T09:00:00+08:00"),
    notice("4001", "inquiry", "CG-2026-1", "滨江图书馆", "2026-09-03T09:00:00+08:00"),
    notice("4002", "inquiry", "CG-2026-2", "滨江图书馆", "2026-09-04T09:00:00+08:00"),
    # Terminations: a failed tender is unsuccessful, a stopped one cancelled.
    notice("5001", "open_tender", "FB-2026-7", "滨江档案馆", "2026-09-01T09:00:00+08:00"),
    notice("5002", "termination", "FB-2026-7", "滨江档案馆", "2026-09-15T09:00:00+08:00", title="某项目废标公告"),
    notice("6001", "open_tender", "ZZ-2026-8", "滨江档案馆", "2026-09-01T09:00:00+08:00"),
    notice("6002", "termination", "ZZ-2026-8", "滨江档案馆", "2026-09-15T09:00:00+08:00", title="某项目终止公告"),
    # No project code: a process of its own.
    notice("7001", "intent", None, "滨江档案馆", "2026-08-01T09:00:00+08:00"),
]


@pytest.fixture(scope="module")
def own_db(tmp_path_factory):
    con = store.connect(tmp_path_factory.mktemp("processes") / "w.duckdb")
    store.upsert_notices(con, store.notices_to_arrow(OWN_NOTICES, "test", datetime.now(UTC)))
    first = assign_ocids(con)
    yield con, first
    con.close()


def ocids(con) -> dict[str, str]:
    return dict(con.execute("SELECT notice_id, ocid FROM notices").fetchall())


def test_tender_correction_and_award_are_one_process_with_the_award_supplier(own_db):
    con, _ = own_db
    found = ocids(con)
    assert found["1001"] == found["1002"] == found["1003"]
    assert found["1001"].startswith(OCID_PREFIX)
    row = con.execute(
        "SELECT status, notice_count, notice_ids, supplier_names, budget_cny, award_cny, buyer, latest_notice_type, "
        "procurement_method, procurement_method_zh FROM procurement_processes WHERE ocid = ?",
        [found["1001"]],
    ).fetchall()[0]
    # The award does not restate the method: the process keeps the tender's.
    assert row == (
        "complete", 3, ["1001", "1002", "1003"], ["滨江智算科技有限公司"], Decimal("800000.00"),
        Decimal("765000.00"), "滨江大学（本级）", "award", "open", "公开招标",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("1001", "2001", False),  # same code, another buyer
        ("3001", "3002", True),  # XJ-2026-1 joins XJ-2026 of the same buyer
        ("3001", "3003", True),  # no buyer, one candidate
        ("2002", "1001", False),  # no buyer, two candidates
        ("2002", "2001", False),
        ("4001", "4002", False),  # CG-2026-1 and CG-2026-2 with no base: two projects
        ("5001", "5002", True),
        ("7001", "1001", False),
    ],
)
def test_which_notices_share_a_process(own_db, first, second, same):
    con, _ = own_db
    found = ocids(con)
    assert (found[first] == found[second]) is same


@pytest.mark.parametrize(
    ("notice_id", "status"),
    [("1001", "complete"), ("2001", "active"), ("5001", "unsuccessful"), ("6001", "cancelled"), ("7001", "planned")],
)
def test_process_status(own_db, notice_id, status):
    con, _ = own_db
    got = con.execute(
        "SELECT p.status FROM procurement_processes p JOIN notices n USING (ocid) WHERE n.notice_id = ?", [notice_id]
    ).fetchall()[0]
    assert got == (status,)


# One process whose notices share their publication time: the view orders them by time, then by notice id.
SAME_TIME = [
    {**notice("9002", "correction", "TS-2026-9", "滨江科学院", "2026-09-01T09:00:00+08:00", agency="乙代理",
           procurement_method_zh=None, title="更正公告"), "url": "https://example.org/9002"},
    {**notice("9001", "open_tender", "TS-2026-9", "滨江科学院", "2026-09-01T09:00:00+08:00", agency="甲代理",
           procurement_method="open", procurement_method_zh="公开招标", budget_cny="100", title="招标公告"),
     "url": "https://example.org/9001"},
    {**notice("9003", "termination", "TS-2026-9", "滨江科学院", "2026-09-01T09:00:00+08:00", agency=None,
           title="某项目终止公告"), "url": "https://example.org/9003"},
]  # fmt: skip


def test_a_process_reads_notices_of_one_time_in_id_order(tmp_path):
    """First and latest are by (published_at, notice_id): the same answer whatever order the rows are stored in;
    a value missing from the latest notice comes from the latest one stating it."""
    for stored in (SAME_TIME, SAME_TIME[::-1]):
        with store.session(tmp_path / f"{stored[0]['notice_id']}.duckdb") as con:
            store.upsert_notices(con, store.notices_to_arrow(stored, "test", datetime.now(UTC)))
            assign_ocids(con)
            row = con.execute(
                "SELECT notice_ids, process_title, agency, latest_notice_type, status, procurement_method_zh, "
                "budget_cny, first_notice_url, latest_notice_url FROM procurement_processes"
            ).fetchall()
        assert row == [
            (["9001", "9002", "9003"], "招标公告", "乙代理", "termination", "cancelled", "公开招标", Decimal("100.00"),
             "https://example.org/9001", "https://example.org/9003"),
        ]  # fmt: skip


def test_assignment_is_stable_and_only_writes_changes(own_db):
    con, first = own_db
    assert (first.notices, first.processes, first.changed) == (15, 9, 15)
    before = ocids(con)
    again = assign_ocids(con)
    assert again.changed == 0
    assert ocids(con) == before
    # A re-stored notice keeps its process until the batch step runs again.
    store.upsert_notices(con, store.notices_to_arrow(OWN_NOTICES[:1], "test-2", datetime.now(UTC)))
    assert ocids(con)["1001"] == before["1001"]


def test_every_view_column_is_documented(own_db):
    con, _ = own_db
    missing = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'procurement_processes' AND comment IS NULL"
    ).fetchall()
    assert missing == []


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo-processes")
    (folder / "archive").mkdir()
    shutil.copy(DEMO / "ccgp-demo.warc.gz", folder / "archive")
    con = store.connect(folder / "w.duckdb")
    reprocess_archive(con, folder / "archive", "test", PORTALS)
    summary = assign_ocids(con)
    yield con, summary
    con.close()


@pytest.mark.parametrize("process", EXPECTED["processes"], ids=lambda p: p["project_code"])
def test_the_demo_processes_are_linked(demo_db, process):
    con, _ = demo_db
    row = con.execute(
        "SELECT p.notice_ids, p.supplier_names, p.buyer FROM procurement_processes p "
        "WHERE p.ocid = (SELECT ocid FROM notices WHERE notice_id = ?)",
        [process["notice_ids"][0]],
    ).fetchall()[0]
    assert sorted(row[0]) == sorted(process["notice_ids"])
    assert row[1] == process["suppliers"]
    assert row[2] == process["buyer"]


def test_demo_notices_outside_the_linked_processes_stand_alone(demo_db):
    con, summary = demo_db
    linked = sum(len(p["notice_ids"]) for p in EXPECTED["processes"])
    assert summary.notices == len(EXPECTED["notices"])
    assert summary.processes == len(EXPECTED["notices"]) - linked + len(EXPECTED["processes"])
    hdsj = con.execute(
        "SELECT status, award_cny FROM procurement_processes WHERE project_code = '[230109]HDSJ[GK]20260041'"
    ).fetchall()[0]
    assert hdsj == ("complete", Decimal("13865000.00"))


# --- nightly linking recomputes only the processes changed notices touch -------------------------------------------

# Each night's statements, applied in order to one database; after each, the incremental linking must give every
# notice the ocid a computation over all notices gives.
LINKING_NIGHTS = [
    ("nothing", [], 0),
    (
        "insert",  # joins an existing process by its base code; and the first process by its code and buyer
        [
            "INSERT INTO notices (source, notice_id, project_code, buyer) VALUES "
            "('ccgp', '3004', 'XJ-2026-2', '滨江中学'), ('ccgp', '8001', 'ZB-2026-001', '滨江大学')",
        ],
        2,
    ),
    (
        "change code",  # 3001 leaves XJ-2026: 3002 and 3004 (XJ-2026-1/-2) no longer fold into it
        ["UPDATE notices SET project_code = 'XJ-2027' WHERE notice_id = '3001'"],
        4,
    ),
    (
        "change buyer",  # 2002 gains a buyer: it joins 2001's process
        ["UPDATE notices SET buyer = '滨江市第一医院' WHERE notice_id = '2002'"],
        1,
    ),
    ("withdraw", ["DELETE FROM notices WHERE notice_id IN ('1003', '3003')"], 0),
    ("lose code", ["UPDATE notices SET project_code = NULL WHERE notice_id = '5002'"], 1),
    ("nothing again", [], 0),
]


@pytest.fixture(scope="module")
def linking_nights(tmp_path_factory):
    con = store.connect(tmp_path_factory.mktemp("linking") / "w.duckdb")
    store.upsert_notices(con, store.notices_to_arrow(OWN_NOTICES, "test", datetime.now(UTC)))
    assign_ocids(con)
    seen = {}
    for night, statements, _ in LINKING_NIGHTS:
        for statement in statements:
            con.execute(statement)
        summary = assign_ocids(con)
        rows = con.execute("SELECT source, notice_id, project_code, buyer FROM notices").fetchall()
        whole = assign([dict(zip(("source", "notice_id", "project_code", "buyer"), row, strict=True)) for row in rows])
        stored = {(source, notice_id): ocid for source, notice_id, ocid in con.execute(
            "SELECT source, notice_id, ocid FROM notices").fetchall()}  # fmt: skip
        seen[night] = (summary, stored, whole)
    yield seen
    con.close()


@pytest.mark.parametrize(("night", "changed"), [(night, changed) for night, _, changed in LINKING_NIGHTS])
def test_nightly_linking_equals_linking_everything(linking_nights, night, changed):
    summary, stored, whole = linking_nights[night]
    assert stored == whole
    assert summary.changed == changed
    assert summary.notices == len(whole)
    assert summary.processes == len(set(whole.values()))


def test_the_linking_nights_moved_notices_between_processes(linking_nights):
    """Not vacuous: the nights did join and split processes."""
    _, inserted, _ = linking_nights["insert"]
    _, recoded, _ = linking_nights["change code"]
    assert inserted[("ccgp", "3004")] == inserted[("ccgp", "3001")] == inserted[("ccgp", "3002")]
    assert inserted[("ccgp", "8001")] == inserted[("ccgp", "1001")]
    assert recoded[("ccgp", "3002")] != recoded[("ccgp", "3001")]
    assert recoded[("ccgp", "3002")] != inserted[("ccgp", "3002")]
