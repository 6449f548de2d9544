"""Known intermediaries: the reviewed watch-list, the view of what they supply, and their mark in the digest."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

import cli
from pipelines.matching import watchlist
from pipelines.publishing import ledger as publish
from pipelines.storage import store
from tests.pipelines.publishing.test_ledger import NIGHT_1, matched
from tests.pipelines.storage.test_store import load, notice

YUNDA = "成都运达科技股份有限公司"
YUNDA_EN = "Chengdu Yunda Technology (运达科技)"


@pytest.fixture
def con(tmp_path):
    connection = store.connect(tmp_path / "warehouse.duckdb")
    watchlist.load_watchlist(connection, watchlist.WATCHLIST_PATH)
    yield connection
    connection.close()


def supplied_by(name: str) -> list[dict]:
    return [{"name": name, "amount_cny": "199804"}]


def test_the_repo_watch_list_is_valid_and_says_why_for_each_company():
    entries = watchlist.read_watchlist(watchlist.WATCHLIST_PATH)
    assert YUNDA_EN in [entry.name_en for entry in entries]
    assert all("Reuters" in entry.why or "report" in entry.why.lower() for entry in entries)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('[[suppliers]]\nname_zh = "运达科技"\nname_en = "Yunda"\n', "why must be a non-empty string"),
        ('[[suppliers]]\nname_zh = "运达"\nname_en = "Yunda"\nwhy = "x"\n', "too short to name one company"),
        (
            '[[suppliers]]\nname_zh = "运达科技"\nname_en = "A"\nwhy = "x"\n'
            '[[suppliers]]\nname_zh = "运达科技"\nname_en = "B"\nwhy = "y"\n',
            "supplier 2: '运达科技' is listed twice",
        ),
        ('[[suppliers]]\nname_zh = "运达科技"\nname_en = "Yunda"\nwhy = "x"\nurl = 1\n', "unknown keys ['url']"),
        ('[[supplier]]\nname_zh = "运达科技"\n', "unknown keys ['supplier']"),
        ('[[suppliers]]\nname_zh = "运达科技\n', "line 2"),
    ],
)
def test_a_malformed_watch_list_fails_naming_the_file_and_the_reason(tmp_path, content, reason):
    path = tmp_path / "watchlist.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as error:
        watchlist.read_watchlist(path)
    assert str(path) in str(error.value)
    assert reason in str(error.value)


def test_the_view_shows_what_a_watched_company_supplies_with_the_matchers_verdict(con):
    matched(con, "1", suppliers=supplied_by(YUNDA), notice_type="deal")
    load(
        con,
        [
            # Unmatched: Yunda also sells rail equipment; the analyst still sees the award.
            notice("2", "2026-11-21T01:00:00+00:00", suppliers=supplied_by(YUNDA), notice_type="award"),
            # 云达科技 (QCT, a server maker) is not 运达科技.
            notice("3", "2026-11-21T01:00:00+00:00", suppliers=supplied_by("云达科技（北京）有限公司")),
            notice("4", "2026-11-21T01:00:00+00:00", suppliers=[]),
        ],
    )
    rows = con.execute(
        "SELECT notice_id, watched_name, watched_name_en, supplier_name, supplier_amount_cny::VARCHAR, tier, "
        "categories FROM watched_supplier_notices ORDER BY notice_id"
    ).fetchall()
    assert rows == [
        ("1", "运达科技", YUNDA_EN, YUNDA, "199804.00", "strong", ["ai_chip"]),
        ("2", "运达科技", YUNDA_EN, YUNDA, "199804.00", "none", None),
    ]
    undocumented = con.execute(
        "SELECT column_name FROM duckdb_columns() "
        "WHERE table_name IN ('watched_supplier_notices', 'supplier_watchlist') AND comment IS NULL"
    ).fetchall()
    assert undocumented == []


def test_reloading_replaces_the_list(con, tmp_path):
    other = tmp_path / "watchlist.toml"
    other.write_text('[[suppliers]]\nname_zh = "蓝海数算"\nname_en = "Lanhai"\nwhy = "test"\n', encoding="utf-8")
    assert watchlist.load_watchlist(con, other) == 1
    assert con.execute("SELECT name_zh FROM supplier_watchlist").fetchall() == [("蓝海数算",)]
    broken = tmp_path / "broken.toml"
    broken.write_text("[[suppliers]]\n", encoding="utf-8")
    with pytest.raises(ValueError):
        watchlist.load_watchlist(con, broken)
    assert con.execute("SELECT name_zh FROM supplier_watchlist").fetchall() == [("蓝海数算",)]


def test_the_digest_marks_a_match_sold_by_a_known_intermediary(con, tmp_path):
    matched(con, "1", suppliers=supplied_by(YUNDA), notice_type="deal")
    matched(con, "2", suppliers=supplied_by("云达科技（北京）有限公司"))
    publish.publish(con, tmp_path / "published", "r1", NIGHT_1, datetime.now(UTC))
    night = tmp_path / "published" / NIGHT_1.isoformat()
    markdown = (night / "digest.md").read_text(encoding="utf-8")
    assert markdown.count("Known intermediary") == 1
    assert f"- **Known intermediary:** {YUNDA_EN}" in markdown.replace("\\(", "(").replace("\\)", ")")
    assert f"<dt>Known intermediary</dt><dd>{YUNDA_EN}</dd>" in (night / "digest.html").read_text(encoding="utf-8")
    document = json.loads((night / "matches.json").read_text(encoding="utf-8"))
    assert {m["notice_id"]: m["watched_suppliers"] for m in document["matches"]} == {"1": [YUNDA_EN], "2": None}
    rows = csv.DictReader(io.StringIO((night / "matches.csv").read_text(encoding="utf-8-sig")))
    assert {row["notice_id"]: row["watched_suppliers"] for row in rows} == {"1": YUNDA_EN, "2": ""}


@pytest.mark.parametrize(
    ("variable", "content", "named"),
    [
        ("TENDERWATCH_WATCHLIST", "[[suppliers]]\nname_zh = 1\n", "supplier 1: name_zh must be a non-empty string"),
        ("TENDERWATCH_RULES", 'version = "x"\n[[rules]]\nid = "a"\ncategory = "gpu"\n', "rules.toml"),
        (
            "TENDERWATCH_PARTIES",
            "[military]\npatterns = ['部队']\n[[parties]]\nid = \"hit\"\n",
            "party hit: unknown keys [], missing keys ['name_en'",
        ),
    ],
)
def test_a_bad_rules_or_watch_list_file_stops_the_night_before_any_crawl(
    tmp_path, monkeypatch, capsys, variable, content, named
):
    broken = tmp_path / ("rules.toml" if variable == "TENDERWATCH_RULES" else "watchlist.toml")
    broken.write_text(content, encoding="utf-8")
    monkeypatch.setenv(variable, str(broken))
    data = tmp_path / "data"
    assert cli.main(["nightly", "--replay", "demo", "--data-dir", str(data)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and str(broken) in error and named in error
    assert "Traceback" not in error
    assert not data.exists()
