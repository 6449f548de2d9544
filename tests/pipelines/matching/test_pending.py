"""The match stage's reading of pending notices: a batch at a time, each notice's item table as the matcher sees it,
and the date it is judged on."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pipelines.matching.engine import Matcher
from pipelines.matching.pending import MATCH_MEMORY_LIMIT, items_text, match_pending, notice_date
from pipelines.storage import store


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.load()


# The item rows of the demo's A800 award (90000301) and RTX 4090 award (90000202), as the notices table holds them.
SERVERS_OF_EIGHT_A800 = {
    "lot": None, "name": "GPU服务器", "brand": "超微（Supermicro）",
    "model": "SYS-421GE-TNRT（8×NVIDIA A800 80GB PCIe）", "quantity": 2.0, "unit": "台",
    "unit_price_cny": Decimal("1293000.00"), "unit_price_raw": "1293000",
}  # fmt: skip
WORKSTATIONS_OF_TWO_4090 = {
    "lot": "1", "name": "深度学习工作站（2×NVIDIA GeForce RTX 4090 24G）", "brand": "联想", "model": "ThinkStation PX",
    "quantity": 4.0, "unit": "台", "unit_price_cny": Decimal("62800.00"), "unit_price_raw": "6.28",
}  # fmt: skip
A100_CARDS = {
    "lot": None, "name": "计算加速卡", "brand": "英伟达（NVIDIA）", "model": "A100 80GB PCIe", "quantity": 4.0,
    "unit": "块", "unit_price_cny": Decimal("96500.00"), "unit_price_raw": "96500",
}  # fmt: skip


@pytest.mark.parametrize(
    ("item", "model", "cards"),
    [
        (SERVERS_OF_EIGHT_A800, "A800", 16),  # 2 servers × 8 cards
        (WORKSTATIONS_OF_TWO_4090, "RTX 4090", 8),  # 4 workstations × 2 cards
        (A100_CARDS, "A100", 4),  # the cards themselves: no multiplier
    ],
)
def test_item_rows_multiply_cards_per_machine_by_machines(matcher: Matcher, item: dict, model: str, cards: int):
    result = matcher.match("设备采购", "", items=items_text([item]), notice_type="award")
    chip = [hit for hit in result["hits"] if hit["model"] == model and hit["field"] == "items"]
    assert chip, result
    assert (chip[0]["quantity"], chip[0]["unit"]) == (cards, "card")


def test_item_rows_are_cells_one_row_per_line():
    assert items_text([A100_CARDS, {"name": "服务器", "quantity": None}]) == (
        "计算加速卡 | 英伟达（NVIDIA） | A100 80GB PCIe | 4块\n服务器"
    )


@pytest.mark.parametrize(
    ("stored", "day"),
    [
        (datetime(2026, 11, 23, 16, 30, tzinfo=UTC), "2026-11-24"),  # 00:30 in Shanghai is the next day
        (datetime(2026, 11, 23, 6, 50, tzinfo=UTC), "2026-11-23"),
        (None, None),
    ],
)
def test_a_notice_is_judged_on_its_date_in_shanghai(stored, day):
    assert (notice_date(stored).isoformat() if stored else notice_date(stored)) == day


TEXTS = {
    "1": "采购 NVIDIA H100 GPU 服务器 2 台，用于人工智能算力平台。",
    "2": "食堂餐饮服务采购项目。",
    "3": "办公家具采购：会议桌 A100 型（尺寸 1800×900）。",
    "4": "物业管理服务。",
    "5": "采购 A800 80GB 加速卡 8 块。",
}


def raw_notices() -> list[dict]:
    """TEXTS as the spiders hand notices to the store."""
    return [
        {"source": "ccgp", "notice_id": key, "url": f"https://www.ccgp.gov.cn/t_{key}.htm", "title": f"公告{key}",
         "text": text, "content_hash": f"h{key}", "fetched_at": "2026-11-20T01:00:00+00:00"}
        for key, text in TEXTS.items()
    ]  # fmt: skip


def counting_matcher() -> tuple[Matcher, list[str]]:
    """The real matcher, with the title of every notice it is asked to match recorded in order."""
    matcher = Matcher.load()
    calls: list[str] = []
    original = matcher.match

    def counted(*args, **kwargs):
        calls.append(kwargs["title"])
        return original(*args, **kwargs)

    matcher.match = counted
    return matcher, calls


def test_notices_are_matched_in_batches_each_once(tmp_path):
    notices = raw_notices()
    matcher = Matcher.load()
    expected = {key: matcher.match(title=f"公告{key}", text=text)["tier"] for key, text in TEXTS.items()}
    with store.session(tmp_path / "warehouse.duckdb") as con:
        store.upsert_notices(con, store.notices_to_arrow(notices, "r1", datetime.now(UTC)))
        summary = match_pending(con, matcher, batch_size=2)
        tiers = dict(con.execute("SELECT notice_id, tier FROM match_results").fetchall())
        again = match_pending(con, matcher, batch_size=2)
        left = "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'pending_keys_%'"
        leftovers = con.execute(left).fetchall()
    assert summary.matched == 5 and again.matched == 0
    assert tiers == expected and expected["1"] == "strong" and expected["2"] == "none"
    assert leftovers == [(0,)]


@pytest.mark.parametrize(
    ("window_rows", "deleted"),
    [(1, []), (2, []), (2, ["2", "3"]), (3, ["1"]), (50_000, ["5"])],
    ids=["one-per-window", "two-per-window", "holes-in-rowids", "first-row-gone", "one-window"],
)
def test_notices_are_read_a_window_of_rows_at_a_time_and_each_matched_once(tmp_path, window_rows, deleted):
    """Each window its own read transaction; rows deleted before the run (holes, a table a checkpoint may compact)
    leave no notice unmatched and none matched twice."""
    notices = raw_notices()
    matcher, calls = counting_matcher()
    with store.session(tmp_path / "warehouse.duckdb") as con:
        store.upsert_notices(con, store.notices_to_arrow(notices, "r1", datetime.now(UTC)))
        for key in deleted:
            con.execute("DELETE FROM notices WHERE notice_id = ?", [key])
        con.execute("CHECKPOINT")
        summary = match_pending(con, matcher, batch_size=1, window_rows=window_rows)
        matched = sorted(row[0] for row in con.execute("SELECT notice_id FROM match_results").fetchall())
    kept = sorted(set(TEXTS) - set(deleted))
    assert sorted(calls) == [f"公告{key}" for key in kept]  # each notice matched exactly once
    assert summary.matched == len(kept) and matched == kept


@pytest.mark.parametrize(
    ("memory_cap", "runs_out"),
    [(MATCH_MEMORY_LIMIT, False), (None, False), ("16KB", True)],
    ids=["default-cap", "uncapped", "cap-too-small"],
)
def test_duckdb_memory_is_capped_while_matching_and_running_out_loses_nothing(tmp_path, caplog, memory_cap, runs_out):
    """Under a cap DuckDB cannot work in, what is pending is matched without it: each notice once, the setting as
    it was before, the fall-back logged."""
    matcher, calls = counting_matcher()
    with store.session(tmp_path / "warehouse.duckdb") as con:
        store.upsert_notices(con, store.notices_to_arrow(raw_notices(), "r1", datetime.now(UTC)))
        before = con.execute("SELECT current_setting('memory_limit')").fetchall()
        with caplog.at_level(logging.WARNING, logger="pipelines.matching.pending"):
            summary = match_pending(con, matcher, batch_size=2, memory_cap=memory_cap)
        after = con.execute("SELECT current_setting('memory_limit')").fetchall()
        tiers = dict(con.execute("SELECT notice_id, tier FROM match_results").fetchall())
    assert sorted(calls) == sorted(f"公告{key}" for key in TEXTS)
    assert (summary.matched, summary.newly_matching) == (5, 2)
    assert tiers == {"1": "strong", "2": "none", "3": "none", "4": "none", "5": "strong"}
    assert after == before
    assert ("without the cap" in caplog.text) == runs_out
