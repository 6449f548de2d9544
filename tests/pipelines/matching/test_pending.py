"""The match stage reads pending notices a batch at a time: every notice is matched once, then nothing is pending."""

from __future__ import annotations

from datetime import UTC, datetime

from pipelines.matching.engine import Matcher
from pipelines.matching.pending import match_pending
from pipelines.storage import store

TEXTS = {
    "1": "采购 NVIDIA H100 GPU 服务器 2 台，用于人工智能算力平台。",
    "2": "食堂餐饮服务采购项目。",
    "3": "办公家具采购：会议桌 A100 型（尺寸 1800×900）。",
    "4": "物业管理服务。",
    "5": "采购 A800 80GB 加速卡 8 块。",
}


def test_notices_are_matched_in_batches_each_once(tmp_path):
    notices = [
        {"source": "ccgp", "notice_id": key, "url": f"https://www.ccgp.gov.cn/t_{key}.htm", "title": f"公告{key}",
         "text": text, "content_hash": f"h{key}", "fetched_at": "2026-11-20T01:00:00+00:00"}
        for key, text in TEXTS.items()
    ]  # fmt: skip
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
