"""The README's analyst guide, run as written against the demo night's snapshot and its Parquet copy."""

from __future__ import annotations

import json
import re
import shutil

import duckdb
import feedparser
import pytest

import cli
from tests.conftest import ROOT
from tests.views_before_issue14 import REFERENCE_VIEWS

README = (ROOT / "README.md").read_text(encoding="utf-8")
GUIDE = README.split("## For analysts", 1)[1].split("\n## ", 1)[0]
QUERIES = re.findall(r"\*\*(\d+)\. ([^*]+)\*\*.*?```sql\n(.*?)```", GUIDE, re.DOTALL)

# What the demo's invented notices (demo/expected.json) answer to each question: (rows, a value that must show).
DEMO_ANSWERS = {
    "1": (3, "成都锦程数联科技有限公司"),  # the cloud buy's supplier is only named in its award notice
    "2": (3, "AWS"),
    "3": (1, 40_000_000),
    "4": (0, None),  # every invented reseller sells to one buyer: the query must run and find none
    "5": (4, "cloud_compute"),
    "6": (3, "weak"),
    "7": (6, "H20"),
    "8": (14, "北京智衡恒信科技有限公司"),  # two of them tenders whose chip is named only in an attachment
    "9": (7, None),
    "10": (10, "哈尔滨工业大学（深圳）"),  # the listed campus's H800 award (CNY 2.26 M) is among the ten
    "11": (1, None),
    "12": (2, "Harbin Institute of Technology"),  # its Shenzhen campus (H800) and a PLA unit (A100)
}


@pytest.fixture(scope="module")
def demo_data(prefect_harness, tmp_path_factory):
    data = tmp_path_factory.mktemp("analyst-demo")
    assert cli.main(["nightly", "--replay", str(ROOT / "demo"), "--data-dir", str(data)]) == 0
    return data


@pytest.fixture(scope="module")
def snapshot(demo_data):
    con = duckdb.connect(str(demo_data / "tenders.duckdb"), read_only=True)
    yield con
    con.close()


def test_the_guide_numbers_its_questions_in_order():
    assert [number for number, _, _ in QUERIES] == [str(n) for n in range(1, len(DEMO_ANSWERS) + 1)]
    assert not any("published_at::DATE" in sql for _, _, sql in QUERIES)  # the session zone, not the portal's


def flatten(rows) -> list:
    values = []
    for row in rows:
        for value in row:
            values += flatten([value]) if isinstance(value, list | tuple) else [value]
    return values


@pytest.mark.parametrize(("number", "question", "sql"), QUERIES, ids=[q[0] for q in QUERIES])
def test_every_readme_query_answers_its_question_on_the_demo(snapshot, number, question, sql):
    rows = snapshot.execute(sql).fetchall()
    expected_rows, expected_value = DEMO_ANSWERS[number]
    assert len(rows) == expected_rows, question
    if expected_value is not None:
        assert expected_value in flatten(rows), question


@pytest.mark.parametrize(("number", "question", "sql"), QUERIES, ids=[q[0] for q in QUERIES])
def test_every_readme_query_answers_the_same_in_new_york(demo_data, number, question, sql):
    """A US analyst's session follows America/New_York: the dates and the answers must not move."""
    answers = {}
    for zone in ("Asia/Shanghai", "America/New_York"):
        con = duckdb.connect(str(demo_data / "tenders.duckdb"), read_only=True)
        con.execute(f"SET TimeZone = '{zone}'")
        answers[zone] = con.execute(sql).fetchall()
        con.close()
    assert answers["America/New_York"] == answers["Asia/Shanghai"], question


def test_published_date_is_the_portal_date_whatever_the_session_zone(demo_data):
    con = duckdb.connect(str(demo_data / "tenders.duckdb"), read_only=True)
    con.execute("SET TimeZone = 'America/New_York'")
    # 90000804 was published 2026-11-23 14:50 in Shanghai, 01:50 the same day in New York; an early-morning notice
    # is the day before in New York. published_date stays the portal's date for every notice.
    mismatched = con.execute(
        "SELECT notice_id FROM notices WHERE published_date <> timezone('Asia/Shanghai', published_at)::DATE"
    ).fetchall()
    moved = con.execute("SELECT count(*) FROM notices WHERE published_date <> published_at::DATE").fetchone()[0]
    con.close()
    assert mismatched == []
    assert moved > 0  # the demo has notices that a New York session would otherwise date a day early


def test_matched_processes_count_a_tender_and_its_award_once_at_the_award(snapshot):
    rows = snapshot.execute(
        "SELECT amount_cny, amount_kind, cards, len(matched_notice_ids) FROM matched_processes "
        "WHERE list_contains(matched_notice_ids, '90000901')"
    ).fetchall()
    (amount, kind, cards, matched) = rows[0]
    assert len(rows) == 1 and matched == 2  # the A800 tender (90000001) and its award (90000901)
    assert kind == "award"
    award = snapshot.execute("SELECT award_cny FROM notices WHERE notice_id = '90000901'").fetchone()[0]
    assert amount == award
    assert cards == 64


def test_card_totals_multiply_item_rows_and_match_the_hit_quantities(snapshot):
    cards = dict(
        snapshot.execute(
            "SELECT notice_id, cards FROM purchases_by_category WHERE notice_id IN ('90000301', '90000202')"
        ).fetchall()
    )
    assert cards == {"90000301": 16, "90000202": 8}  # 2 servers × 8 A800; 4 workstations × 2 RTX 4090
    attached = dict(
        snapshot.execute(
            "SELECT notice_id, cards FROM purchases_by_category WHERE notice_id IN ('90000907', '90000908')"
        ).fetchall()
    )
    # The attachments' English specifications: "2 nodes / Each node: 8 x A800", "4 units / Each unit: 8 x H800".
    assert attached == {"90000907": 16, "90000908": 32}
    a100 = snapshot.execute("SELECT amount_cny FROM matches WHERE notice_id = '90000804' AND model = 'A100'").fetchall()
    assert a100 and all(amount is None or amount > 1000 for (amount,) in a100)  # not the table's row number 1


def test_purchases_by_category_has_one_row_per_matched_notice_and_category(snapshot):
    rows = snapshot.execute(
        "SELECT category, count(*) FROM purchases_by_category GROUP BY category ORDER BY category"
    ).fetchall()
    assert rows == [("ai_chip", 11), ("cloud_compute", 4), ("llm_tokens", 2)]
    token_buy = snapshot.execute(
        "SELECT buyer, tokens, providers, suppliers_named, amount_cny FROM purchases_by_category "
        "WHERE category = 'llm_tokens' AND tokens IS NOT NULL"
    ).fetchone()
    assert token_buy[:4] == ("蜀江大学", 40_000_000, ["Azure", "OpenAI"], ["四川雪岭智联科技有限公司"])


def test_every_table_view_and_column_of_the_snapshot_is_documented(snapshot):
    undocumented = snapshot.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal AND comment IS NULL"
    ).fetchall()
    assert undocumented == []
    assert snapshot.execute(
        "SELECT count(*) FROM duckdb_views() WHERE NOT internal AND comment IS NULL"
    ).fetchone() == (0,)


def test_parquet_holds_every_table_and_view_with_the_same_rows(demo_data, snapshot):
    relations = [
        row[0]
        for row in snapshot.execute(
            "SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    ]
    parquet = demo_data / "parquet"
    files = sorted(p.stem for p in parquet.glob("*.parquet"))
    folders = sorted(p.name for p in parquet.iterdir() if p.is_dir())
    assert folders == ["notices"]  # partitioned by month of publication; every other relation is one file
    assert sorted(files + folders) == sorted(relations)
    # The path the README gives analysts for the notices.
    notices = f"{parquet}/notices/*/*.parquet"
    for name, path in [
        ("notices", notices),
        *((n, f"{parquet}/{n}.parquet") for n in ("matches", "publications", "purchases_by_category")),
    ]:
        in_db = snapshot.execute(f"SELECT count(*) FROM {name}").fetchone()
        assert duckdb.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone() == in_db, name
    award = duckdb.execute(
        f"SELECT award_cny, published_month FROM read_parquet('{notices}') WHERE notice_id = '90000802'"
    ).fetchall()
    assert [(str(value), month) for value, month in award] == [("199804.00", "2026-11")]


def test_the_known_intermediaries_query_in_the_guide_runs_on_the_snapshot(snapshot):
    sentence = GUIDE.split("Known intermediaries: ", 1)[1]
    sql = re.match(r"`([^`]+)`", sentence)[1]
    # The demo's companies are invented, so none is on the watch-list; the query and the loaded list must still work.
    assert snapshot.execute(sql).fetchall() == []
    assert snapshot.execute("SELECT count(*) FROM supplier_watchlist").fetchone()[0] >= 1


def test_the_demo_digest_puts_the_listed_and_military_purchases_first_in_english(demo_data):
    """The demo night's digest: the listed campus and the PLA unit first, flagged; every headline English with the
    Chinese title beside it, in every format and in the feed."""
    (folder,) = [path for path in (demo_data / "published").iterdir() if path.is_dir()]
    matches = json.loads((folder / "matches.json").read_text(encoding="utf-8"))["matches"]
    assert [m["notice_id"] for m in matches[:2]] == ["90000911", "90000910"]  # both priority 1, newest first
    assert all(m["priority"] > 1 for m in matches[2:])
    pla, campus = matches[:2]
    assert pla["headline_en"] == "Award: 2 × A100 (restricted since Oct 2022), CNY 196 k"
    assert (pla["buyer_military"], pla["buyer_list"], pla["buyer_en"]) == (True, None, "PLA 93212 Unit")
    assert campus["headline_en"] == "Award: 1 GPU server with 8 × H800 (restricted since Oct 2023), CNY 2.26 M"
    assert (campus["buyer_list"], campus["buyer_relation"]) == ("Entity List", "campus (深圳)")
    assert campus["buyer_en"] == "Harbin Institute of Technology, Shenzhen"
    for match in (pla, campus):
        assert match["licence_statement"] == (
            "licence required; presumption of denial for Entity-List and military end users"
        )
    markdown = (folder / "digest.md").read_text(encoding="utf-8")
    entries = markdown.split("\n## [")[1:]
    assert len(entries) == len(matches)
    for entry, match in zip(entries, matches, strict=True):
        heading, _, body = entry.partition("\n")
        assert not re.search(r"[\u4e00-\u9fff]", heading), heading  # the headline is English
        assert match["headline_en"].split(" (")[0] in heading.replace("\\", "")
        assert f"- **Title (Chinese):** {match['title']}" in body.replace("\\", "")
    assert "**PRIORITY: restricted chip, listed or military buyer \\| MILITARY BUYER" in entries[0]
    assert "LISTED BUYER: Harbin Institute of Technology \\(Entity List; campus \\(深圳\\)\\)" in entries[1]
    page = (folder / "digest.html").read_text(encoding="utf-8")
    assert page.index("90000911") < page.index("90000910") < page.index("90000901")
    feed = feedparser.parse((demo_data / "published" / "feed.atom").read_bytes())
    titles = {entry.id.rsplit("/", 1)[-1]: entry.title for entry in feed.entries}
    assert len(titles) == len(matches)
    for match in matches:
        assert titles[match["notice_id"]] == f"[{match['tier']}] {match['headline_en']} ({match['title']})"


# Rows the demo night does not have, added to a copy of its snapshot so that every branch of the views is taken: title
# translations (machine for most titles, the glossary's for three, none for one, a German one that must not show),
# known intermediaries among the suppliers (two fragments of one name), a listed supplier and a buyer that only
# carries a listed name, a review-tier notice whose hits are all weak, a matched notice without hits, a matched notice
# without ocid, and a listed buyer's strongest policy-stating hit without the listed policy.
# The snapshot's tables have no keys (pipelines/storage/snapshot.py _build): a translation already there is left out
# by hand.
NOT_TRANSLATED = (
    "NOT EXISTS (SELECT 1 FROM translations t WHERE t.segment_hash = s.segment_hash AND t.target_lang = '{lang}' "
    "AND t.engine = '{engine}')"
)
ENRICHMENT = (
    "INSERT INTO translations SELECT DISTINCT s.segment_hash, 'en', 'libretranslate', 'Machine: ' || g.text, "
    "TIMESTAMPTZ '2026-11-30 00:00:00+00' FROM notice_segments s JOIN segments g USING (segment_hash) "
    "WHERE s.field = 'title' AND s.notice_id <> '90000911' AND "
    + NOT_TRANSLATED.format(lang="en", engine="libretranslate"),
    "INSERT INTO translations SELECT DISTINCT s.segment_hash, 'en', 'glossary', 'Glossary: ' || g.text, "
    "TIMESTAMPTZ '2026-11-01 00:00:00+00' FROM notice_segments s JOIN segments g USING (segment_hash) "
    "WHERE s.field = 'title' AND s.notice_id IN ('90000001', '90000910', '90000901') AND "
    + NOT_TRANSLATED.format(lang="en", engine="glossary"),
    "INSERT INTO translations SELECT DISTINCT s.segment_hash, 'de', 'libretranslate', 'Deutsch', now() "
    "FROM notice_segments s WHERE s.field = 'title' AND s.notice_id = '90000911' AND "
    + NOT_TRANSLATED.format(lang="de", engine="libretranslate"),
    "INSERT INTO supplier_watchlist VALUES ('锦程数联', 'Jincheng Shulian', 'invented for the test'), "
    "('数联科技', 'Shulian Technology', 'invented for the test'), ('南海云算', 'Nanhai Yunsuan', 'invented')",
    "INSERT INTO notice_parties VALUES ('ccgp', '90000301', 'supplier', '北京智衡恒信科技有限公司', 'hit', "
    "'Harbin Institute of Technology', 'Entity List', 'itself', true, false), ('ccgp', '90000201', 'buyer', "
    "'x', 'hit', 'Harbin Institute of Technology', NULL, 'carries its name (附属中学)', false, false)",
    "UPDATE match_results SET tier = 'review' WHERE notice_id IN ('90000403', '90000101', '90000001')",
    "UPDATE notices SET ocid = NULL WHERE notice_id = '90000202'",
    "UPDATE matches SET licence_policy_listed = NULL WHERE notice_id = '90000910' AND hit_no = 0",
)


@pytest.fixture(scope="module")
def enriched(demo_data, tmp_path_factory):
    path = tmp_path_factory.mktemp("enriched") / "tenders.duckdb"
    shutil.copyfile(demo_data / "tenders.duckdb", path)
    con = duckdb.connect(str(path))
    for statement in ENRICHMENT:
        con.execute(statement)
    yield con
    con.close()


def test_the_enriched_copy_takes_every_branch_of_the_views(enriched):
    rows = {
        row[0]: row[1:]
        for row in enriched.execute(
            "SELECT notice_id, tier, title_en, watched_suppliers, suppliers_listed, evidence, after_restriction, "
            "licence_statement, priority, buyer_relation FROM matched_notices"
        ).fetchall()
    }
    assert rows["90000001"][0] == "review"
    assert rows["90000001"][1].startswith("Glossary: ")  # the glossary's wording before the newer machine one
    assert rows["90000802"][1].startswith("Machine: ")
    assert rows["90000911"][1] is None  # no English translation (the German one does not count)
    assert rows["90000802"][2] == ["Jincheng Shulian", "Shulian Technology"]
    assert rows["90000301"][3] == ["Harbin Institute of Technology"] and rows["90000301"][7] == 2
    assert rows["90000101"][4] is None  # matched without a hit
    assert rows["90000403"][0] == "review" and rows["90000403"][5] is None  # its hits are all weak
    assert rows["90000910"][6] == "licence required; presumption of denial for Entity-List and military end users"
    assert rows["90000201"][8] == "carries its name (附属中学)"
    assert enriched.execute("SELECT count(*) FROM matched_processes WHERE list_contains(matched_notice_ids, "
                            "'90000202')").fetchone() == (0,)  # fmt: skip
    titled = enriched.execute("SELECT count(*) FROM procurement_processes WHERE process_title_en IS NOT NULL")
    assert titled.fetchone()[0] > 0


def test_hits_of_one_score_are_read_in_hit_order_however_stored(demo_data, tmp_path):
    """The licence statement is that of the strongest hit stating one, the first in hit order among equal scores;
    evidence of equal scores keeps hit order. Both whatever order the hits are stored in."""
    path = tmp_path / "tenders.duckdb"
    shutil.copyfile(demo_data / "tenders.duckdb", path)
    with duckdb.connect(str(path)) as con:
        tied = con.execute(
            "SELECT list(hit_no ORDER BY hit_no) FROM matches WHERE notice_id = '90000303' AND score = "
            "(SELECT max(score) FROM matches WHERE notice_id = '90000303') AND licence_policy IS NOT NULL"
        ).fetchone()[0]
        assert tied == [0, 1]  # the demo's two strongest hits of this notice, each stating a policy
        con.execute(
            "UPDATE matches SET licence_policy = 'policy of hit ' || hit_no, "
            "licence_policy_listed = 'policy of hit ' || hit_no WHERE notice_id = '90000303' AND hit_no IN (0, 1)"
        )
        expected = con.execute(
            "SELECT list(evidence ORDER BY score DESC, hit_no) FROM matches WHERE notice_id = '90000303'"
        ).fetchone()[0]
        for order in ("hit_no", "hit_no DESC"):
            con.execute(f"CREATE OR REPLACE TEMP TABLE stored AS SELECT * FROM matches ORDER BY notice_id, {order}")
            con.execute("DELETE FROM matches")
            con.execute("INSERT INTO matches SELECT * FROM stored")
            found = con.execute(
                "SELECT licence_statement, evidence FROM matched_notices WHERE notice_id = '90000303'"
            ).fetchone()
            assert found == ("policy of hit 0", expected), order


@pytest.mark.parametrize("view", REFERENCE_VIEWS)
@pytest.mark.parametrize("database", ["demo", "enriched"])
def test_every_view_equals_its_reference_row_for_row(snapshot, enriched, database, view):
    """The set-wise views answer exactly what the per-notice subqueries answered: same columns, types and rows."""
    con = {"demo": snapshot, "enriched": enriched}[database]
    read = ("matched_notices", "procurement_processes")  # by the views that read views
    dependencies = ", ".join(f"{name} AS ({REFERENCE_VIEWS[name]})" for name in read)

    def answer(sql: str) -> tuple[list, list]:
        cursor = con.execute(sql)
        return [(c[0], str(c[1])) for c in cursor.description], sorted(cursor.fetchall(), key=repr)

    # Compared in Python, not by EXCEPT ALL: on DuckDB 2.0.1 that reported rows of one query missing from a second
    # run of the same query over these nested rows.
    columns, expected = answer(f"WITH {dependencies} SELECT * FROM ({REFERENCE_VIEWS[view]})")
    assert answer(f"SELECT * FROM {view}") == (columns, expected)
    assert expected or (view, database) == ("watched_supplier_notices", "demo")  # the demo's suppliers are invented
