"""Publishing: exactly once per notice, crash-safe, and scraped text made harmless in every output."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from pipelines.publishing import ledger as publish
from pipelines.storage import store
from tests.pipelines.storage.test_store import load, notice

NIGHT_1 = date(2026, 11, 24)
NIGHT_2 = date(2026, 11, 25)


@pytest.fixture
def con(tmp_path):
    connection = store.connect(tmp_path / "warehouse.duckdb")
    yield connection
    connection.close()


def matched(con, notice_id: str, tier: str = "strong", **fields) -> None:
    """A stored notice with a match result and one hit, as the match stage leaves them."""
    load(con, [notice(notice_id, "2026-11-20T01:00:00+00:00", **fields)])
    con.execute(
        "INSERT INTO match_results (source, notice_id, tier, score, categories, rules_version, content_hash) "
        "VALUES ('ccgp', ?, ?, 9.0, ['ai_chip'], 'v1', NULL)",
        [notice_id, tier],
    )
    con.execute(
        "INSERT INTO matches (source, notice_id, hit_no, rule_id, category, tier, score, matched_text, evidence, "
        "field, model, quantity, unit) VALUES ('ccgp', ?, 0, 'chip.a800', 'ai_chip', ?, 9.0, 'A800', "
        "'每台配置8块NVIDIA A800 80GB', 'body', 'A800', 16, 'card')",
        [notice_id, tier],
    )


def run(con, tmp_path, night: date, run_id: str) -> publish.Digest:
    return publish.publish(con, tmp_path / "published", run_id, night, datetime.now(UTC))


def test_each_match_is_published_exactly_once_over_nights_and_reruns(con, tmp_path):
    matched(con, "1")
    matched(con, "2", tier="review")
    matched(con, "3", tier="weak")  # below the publishing bar
    first = run(con, tmp_path, NIGHT_1, "r1")
    assert (first.new, first.total) == (2, 2)
    matched(con, "4")
    second = run(con, tmp_path, NIGHT_2, "r2")
    assert (second.new, second.total) == (1, 1)
    rerun = run(con, tmp_path, NIGHT_2, "r3")
    assert (rerun.new, rerun.total) == (0, 1)
    ledger = con.execute("SELECT notice_id, publish_date, status FROM publications ORDER BY notice_id").fetchall()
    assert ledger == [("1", NIGHT_1, "published"), ("2", NIGHT_1, "published"), ("4", NIGHT_2, "published")]
    night_1_csv = (tmp_path / "published" / "2026-11-24" / "matches.csv").read_text(encoding="utf-8-sig")
    assert [row["notice_id"] for row in csv.DictReader(io.StringIO(night_1_csv))] == ["1", "2"]


def test_a_crash_after_writing_outputs_loses_and_duplicates_nothing(con, tmp_path):
    matched(con, "1")
    # The crashed night: entered and written, never marked.
    publish.enter_new_publications(con, "r1", NIGHT_1, datetime.now(UTC))
    publish.write_outputs(con, tmp_path / "published", NIGHT_1, 1)
    matched(con, "2")
    digest = run(con, tmp_path, NIGHT_2, "r2")
    assert (digest.new, digest.total) == (1, 1)
    assert [r["notice_id"] for r in digest.rows] == ["2"]
    ledger = con.execute("SELECT notice_id, publish_date, status FROM publications ORDER BY notice_id").fetchall()
    assert ledger == [("1", NIGHT_1, "published"), ("2", NIGHT_2, "published")]
    night_1 = (tmp_path / "published" / "2026-11-24" / "digest.md").read_text(encoding="utf-8")
    assert night_1.count("## [strong]") == 1


def test_a_quiet_night_says_so(con, tmp_path):
    digest = run(con, tmp_path, NIGHT_1, "r1")
    assert digest.total == 0
    assert "No matched notices" in (tmp_path / "published" / "2026-11-24" / "digest.md").read_text(encoding="utf-8")


def test_hostile_scraped_text_is_inert_in_markdown_and_csv(con, tmp_path):
    matched(con, "1", title="<script>alert(1)</script>", buyer='=HYPERLINK("http://evil","x")')
    digest = run(con, tmp_path, NIGHT_1, "r1")
    markdown = (tmp_path / "published" / "2026-11-24" / "digest.md").read_text(encoding="utf-8")
    assert "<script>" not in markdown
    assert r"\<script\>alert\(1\)\</script\>" in markdown
    raw = (tmp_path / "published" / "2026-11-24" / "matches.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0]["buyer"] == '\'=HYPERLINK("http://evil","x")'
    assert rows[0]["title"] == "<script>alert(1)</script>"  # CSV keeps the text; only formulas are defused
    assert digest.rows[0]["models"] == ["A800"]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+86 10 1234", "'+86 10 1234"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),  # whitespace first does not hide a formula
        (" =1+2", "'=1+2"),
        ("第一行\n第二行", "第一行 第二行"),
        ("北京大学", "北京大学"),
        (None, ""),
        (["A800", "H100"], "A800; H100"),
    ],
)
def test_csv_cells(value, cell):
    assert publish.csv_cell(value) == cell


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://www.ccgp.gov.cn/a.htm", "https://www.ccgp.gov.cn/a.htm"),
        ("javascript:alert(1)", "about:blank"),
        ("https://x/<b>", "https://x/%3Cb%3E"),
    ],
)
def test_links_are_http_only(url, safe):
    assert publish.safe_url(url) == safe
