"""The match stage's reading of a notice: its item table as the matcher sees it, and the date it is judged on."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pipelines.matching.engine import Matcher
from pipelines.matching.pending import items_text, notice_date


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
