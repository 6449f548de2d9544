"""Analysts' verdicts: recorded once per notice, validated, and turned into labelled cases."""

from __future__ import annotations

import pytest

from pipelines.matching import reviews
from pipelines.matching.engine import Matcher
from pipelines.matching.evaluate import evaluate
from pipelines.storage import store
from tests.pipelines.publishing.test_ledger import matched


@pytest.fixture
def con(tmp_path):
    connection = store.connect(tmp_path / "warehouse.duckdb")
    matched(connection, "1", text="采购GPU服务器2台，每台配置8块NVIDIA A800 80GB")
    matched(connection, "2", tier="review", text="办公桌 规格W1200×D600×H800mm")
    yield connection
    connection.close()


def test_pending_lists_unreviewed_matches_review_tier_first(con):
    assert [row[:3] for row in reviews.pending(con)] == [("ccgp", "2", "review"), ("ccgp", "1", "strong")]
    reviews.record(con, "ccgp", "2", "false_positive", note="desk height")
    assert [row[1] for row in reviews.pending(con)] == ["1"]


def test_a_new_verdict_replaces_the_old_one(con):
    reviews.record(con, "ccgp", "1", "unsure")
    reviews.record(con, "ccgp", "1", "confirmed", reviewer="analyst")
    rows = con.execute("SELECT verdict, categories, reviewer FROM match_reviews").fetchall()
    assert rows == [("confirmed", ["ai_chip"], "analyst")]  # categories default to the matched ones


@pytest.mark.parametrize(
    ("notice_id", "verdict", "categories", "message"),
    [
        ("1", "maybe", None, "verdict must be one of"),
        ("1", "confirmed", ["gpu"], "unknown categories"),
        ("404", "confirmed", None, "no notice ccgp:404"),
    ],
)
def test_bad_reviews_are_refused_with_the_reason(con, notice_id, verdict, categories, message):
    with pytest.raises(reviews.ReviewError, match=message):
        reviews.record(con, "ccgp", notice_id, verdict, categories=categories)
    assert con.execute("SELECT count(*) FROM match_reviews").fetchall() == [(0,)]


def test_verdicts_become_a_labelled_set_the_evaluator_scores(con):
    reviews.record(con, "ccgp", "1", "confirmed")
    reviews.record(con, "ccgp", "2", "false_positive")
    cases = list(reviews.labelled_cases(con))
    assert [(c["id"], c["expected"]) for c in cases] == [
        ("ccgp:1", {"match": True, "categories": ["ai_chip"]}),
        ("ccgp:2", {"match": False, "categories": []}),
    ]
    report = evaluate(cases, Matcher.load())
    assert report["categories"]["ai_chip"]["tp"] == 1
    assert report["categories"]["ai_chip"]["fp"] == 0
