"""Segments stored once per text, the glossary and its engine, and the LibreTranslate engine against a local server."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import cli
from pipelines.ingest.normalize import empty_notice
from pipelines.ingest.reprocess import reprocess_archive
from pipelines.matching.engine import Matcher
from pipelines.matching.pending import match_pending
from pipelines.publishing.translate import (
    GlossaryEngine,
    LibreTranslateEngine,
    Term,
    glossary_terms,
    load_glossary,
    segment_hash,
    segment_pending,
    split_segments,
    translate_pending,
)
from pipelines.storage import store
from pipelines.storage.processes import assign_ocids
from spiders.registry import PORTALS
from tests.conftest import ROOT

DEMO = ROOT / "demo"
BOILERPLATE = "本项目不接受联合体投标。"


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("一、项目基本情况\n项目编号：A-1", ["一、项目基本情况", "项目编号：A-1"]),
        ("第一句。第二句！第三句", ["第一句。", "第二句！", "第三句"]),
        ("  \n\n 空行之后 \n", ["空行之后"]),
        ("", []),
        (None, []),
    ],
)
def test_text_splits_into_lines_and_sentences(text, segments):
    assert split_segments(text) == segments


def notice(notice_id: str, title: str, text: str) -> dict:
    row = empty_notice()
    row.update(source="ccgp", notice_id=notice_id, title=title, text=text)
    return row


def test_shared_boilerplate_is_one_segment_and_only_changed_notices_are_resegmented(tmp_path):
    con = store.connect(tmp_path / "w.duckdb")
    notices = [notice("1", "甲项目公告", f"甲项目采购GPU服务器。{BOILERPLATE}"), notice("2", "乙项目公告", BOILERPLATE)]
    store.upsert_notices(con, store.notices_to_arrow(notices, "t", datetime.now(UTC)))
    first = segment_pending(con)
    assert (first.notices, first.links, first.new_segments) == (2, 5, 4)
    shared = con.execute(
        "SELECT s.text, count(*) FROM notice_segments n JOIN segments s USING (segment_hash) "
        "WHERE n.field = 'text' GROUP BY s.text ORDER BY s.text"
    ).fetchall()
    assert shared == [(BOILERPLATE, 2), ("甲项目采购GPU服务器。", 1)]
    assert segment_pending(con).notices == 0
    changed = [notice("2", "乙项目公告", f"{BOILERPLATE}\n新增一行")]
    store.upsert_notices(con, store.notices_to_arrow(changed, "t2", datetime.now(UTC)))
    again = segment_pending(con)
    assert (again.notices, again.new_segments) == (1, 1)
    positions = con.execute(
        "SELECT position, field, s.text FROM notice_segments n JOIN segments s USING (segment_hash) "
        "WHERE notice_id = '2' ORDER BY position"
    ).fetchall()
    assert positions == [(0, "title", "乙项目公告"), (1, "text", BOILERPLATE), (2, "text", "新增一行")]
    con.close()


@pytest.fixture(scope="module")
def terms():
    return glossary_terms()


@pytest.mark.parametrize(
    ("segment", "english"),
    [
        ("采购方式：公开招标", "Procurement method: open tender"),
        ("预算金额：73.08 万元（人民币）", "Budget: 73.08 ten thousand yuan (RMB)"),
        ("GPU服务器 8台", "GPU server 8 units"),
        ("100000卡时", "100000 GPU-card hours"),
        ("本项目不接受联合体投标。", "Consortium bids are not accepted."),
        ("中标供应商：", "Winning supplier:"),
        ("北京市", "Beijing"),
        ("更正公告", "Correction notice"),
        # Dates, clock times and list markers are written out by rule, not looked up.
        ("截止时间：2026年12月8日 9点30分", "Deadline: 2026-12-08 09:30"),
        ("首次公告日期：2026年10月28日", "First notice date: 2026-10-28"),
        ("一、项目基本情况", "1. basic project information"),
        ("（二）采购人信息", "(2) purchaser information"),
        ("收费金额2040.00元，由成交供应商支付。", "Fee 2040.00 yuan, paid by the selected supplier."),
        # Any Han character outside the glossary: declined, never half-translated.
        ("采购人：滨江大学", None),
        ("A100 80GB", None),
        # Not a date or a list marker: left to the glossary, which declines what it does not cover.
        ("更正日期：2026年2月30日", None),
        ("二十、附件", None),
        ("截止时间：2026年12月8日 25点30分", None),
    ],
)
def test_glossary_engine_translates_only_fully_covered_segments(terms, segment, english):
    assert GlossaryEngine(terms).translate_one(segment) == english


def test_glossary_holds_the_coded_fields_labels(tmp_path, terms):
    con = store.connect(tmp_path / "w.duckdb")
    assert load_glossary(con) == len(terms)
    assert load_glossary(con) == len(terms)  # reloading replaces, never duplicates
    rows = dict(
        ((zh, kind), en) for zh, kind, en in con.execute("SELECT term_zh, kind, term_en FROM glossary").fetchall()
    )
    for key, english in {
        ("卡时", "unit"): "GPU-card hours",
        ("台", "unit"): "units",
        ("套", "unit"): "sets",
        ("竞争性磋商", "method"): "competitive consultation",
        ("货物", "category"): "goods",
        ("中标公告", "notice_type"): "Award notice",
        ("黑龙江", "region"): "Heilongjiang",
    }.items():
        assert rows[key] == english
    con.close()


def test_a_broken_glossary_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "glossary.toml"
    bad.write_text('[units]\n"台" = "units"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown sections \\['units'\\]"):
        glossary_terms(bad)


# --- a LibreTranslate-compatible server on 127.0.0.1 ---------------------------------------------------------------


class FakeLibreTranslate:
    """Answers ``POST /translate`` like LibreTranslate (``q`` as a list); ``plan`` decides each answer's status."""

    def __init__(self, plan: Callable[[int], int] = lambda n: 200):
        self.plan = plan
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8"))
                server.requests.append({"path": self.path, **body})
                status = server.plan(len(server.requests))
                if status == 200:
                    answer = {"translatedText": [f"EN[{text}]" for text in body["q"]]}
                else:
                    answer = {"error": f"refused with {status}"}
                data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def libretranslate() -> Iterator[Callable[..., FakeLibreTranslate]]:
    started = []

    def start(plan: Callable[[int], int] = lambda n: 200) -> FakeLibreTranslate:
        started.append(FakeLibreTranslate(plan))
        return started[-1]

    yield start
    for server in started:
        server.close()


@pytest.fixture
def demo_db(tmp_path):
    """The demo notices, processes, segments and matches, rebuilt from the demo WARC."""
    (tmp_path / "archive").mkdir()
    shutil.copy(DEMO / "ccgp-demo.warc.gz", tmp_path / "archive")
    con = store.connect(tmp_path / "work" / "warehouse.duckdb")
    reprocess_archive(con, tmp_path / "archive", "test", PORTALS)
    assign_ocids(con)
    segment_pending(con)
    match_pending(con, Matcher.load())
    yield con
    con.close()


def pending_count(con, engine: str) -> int:
    return con.execute(
        "SELECT count(*) FROM segments s WHERE NOT EXISTS (SELECT 1 FROM translations t "
        "WHERE t.segment_hash = s.segment_hash AND t.target_lang = 'en' AND t.engine = ?)",
        [engine],
    ).fetchall()[0][0]


def test_libretranslate_engine_fills_translations_in_batches_and_titles_reach_the_views(demo_db, libretranslate):
    server = libretranslate()
    total = pending_count(demo_db, "libretranslate")
    engine = LibreTranslateEngine(server.url, api_key="secret", batch_size=100, backoff_s=0)
    summary = translate_pending(demo_db, engine, "en")
    assert (summary.translated, summary.remaining, summary.error) == (total, 0, None)
    assert len(server.requests) == -(-total // 100)
    first = server.requests[0]
    assert (first["path"], first["source"], first["target"], first["format"], first["api_key"]) == (
        "/translate", "zh", "en", "text", "secret",
    )  # fmt: skip
    titles = demo_db.execute("SELECT title, title_en FROM matched_notices").fetchall()
    assert titles and all(title_en == f"EN[{title}]" for title, title_en in titles)
    process = demo_db.execute(
        "SELECT process_title, process_title_en FROM procurement_processes "
        "WHERE project_code = '[230109]HDSJ[GK]20260041'"
    ).fetchall()[0]
    assert process[1] == f"EN[{process[0]}]"
    # Nothing left: a second run asks the server nothing.
    assert translate_pending(demo_db, engine, "en").translated == 0
    assert len(server.requests) == -(-total // 100)


def test_a_failing_server_loses_nothing_and_the_next_run_continues(demo_db, libretranslate):
    total = pending_count(demo_db, "libretranslate")
    # Two good batches, then the server breaks for good (each later request, retries included, is a 503).
    failing = libretranslate(lambda n: 200 if n <= 2 else 503)
    engine = LibreTranslateEngine(failing.url, batch_size=10, retries=2, backoff_s=0)
    summary = translate_pending(demo_db, engine, "en")
    assert summary.translated == 20
    assert summary.remaining == total - 20
    assert "HTTP 503: refused with 503" in summary.error
    assert len(failing.requests) == 2 + 3  # the failing batch was tried once and retried twice
    assert pending_count(demo_db, "libretranslate") == total - 20

    healthy = libretranslate()
    summary = translate_pending(demo_db, LibreTranslateEngine(healthy.url, batch_size=500, backoff_s=0), "en")
    assert (summary.translated, summary.remaining, summary.error) == (total - 20, 0, None)
    sent = [text for request in healthy.requests for text in request["q"]]
    assert len(sent) == len(set(sent)) == total - 20


@pytest.mark.parametrize(
    ("plan", "requests", "error"),
    [
        (lambda n: 503 if n == 1 else 200, 2, None),  # a passing hiccup is retried
        (lambda n: 429 if n == 1 else 200, 2, None),
        (lambda n: 400, 1, "HTTP 400: refused with 400"),  # a refusal is not retried
        (lambda n: 403, 1, "HTTP 403: refused with 403"),
    ],
)
def test_retries(demo_db, libretranslate, plan, requests, error):
    server = libretranslate(plan)
    engine = LibreTranslateEngine(server.url, batch_size=1000, retries=3, backoff_s=0)
    summary = translate_pending(demo_db, engine, "en", limit=5)
    assert len(server.requests) == requests
    assert summary.error == (None if error is None else f"{server.url}/translate: {error}")
    assert summary.translated == (5 if error is None else 0)


def test_translate_command_with_the_glossary_and_libretranslate(demo_db, libretranslate, tmp_path, capsys):
    demo_db.close()
    server = libretranslate()
    assert cli.main(["translate", "--engine", "glossary", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("glossary → en: translated ")
    # What the glossary honestly covers of the demo: field labels, methods, amounts, dates and times, list markers.
    glossed, declined = map(int, re.search(r"translated (\d+) segment\(s\), (\d+) declined", out).groups())
    assert (glossed, glossed + declined) == (205, 843), out
    argv = ["translate", "--engine", "libretranslate", "--url", server.url, "--limit", "7", "--data-dir", str(tmp_path)]
    assert cli.main(argv) == 0
    assert "libretranslate → en: translated 7 segment(s)" in capsys.readouterr().out
    assert sum(len(r["q"]) for r in server.requests) == 7
    import duckdb

    with duckdb.connect(str(tmp_path / "tenders.duckdb"), read_only=True) as snapshot:
        engines = dict(snapshot.execute("SELECT engine, count(*) FROM translations GROUP BY engine").fetchall())
        assert engines["libretranslate"] == 7
        assert engines["glossary"] > 0
        hashes = snapshot.execute("SELECT segment_hash, s.text FROM translations JOIN segments s USING (segment_hash)")
        assert all(segment_hash(text) == digest for digest, text in hashes.fetchall())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--engine", "libretranslate"], "needs --url"),
        (["--engine", "libretranslate", "--url", "localhost:5000"], "expected the LibreTranslate server as http"),
    ],
)
def test_bad_translate_arguments_are_clear_errors(demo_db, tmp_path, capsys, argv, message):
    demo_db.close()
    assert cli.main(["translate", *argv, "--data-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_the_glossary_is_not_offered_what_it_declined_until_it_changes(tmp_path):
    con = store.connect(tmp_path / "w.duckdb")
    store.upsert_notices(
        con,
        store.notices_to_arrow(
            [notice("1", "项目编号：A-1", "滨江智算平台扩容。\n采购预算：100万元")], "t", datetime.now(UTC)
        ),
    )
    segment_pending(con)
    terms = glossary_terms()
    first = translate_pending(con, GlossaryEngine(terms), "en")
    assert (first.considered, first.declined, first.remaining) == (3, 1, 0)
    # The same glossary: nothing offered again, however many nights.
    again = translate_pending(con, GlossaryEngine(terms), "en")
    assert (again.considered, again.translated, again.declined, again.remaining) == (0, 0, 0, 0)
    # A new term: the glossary changed, so what it declined is offered again, and this time translated.
    grown = GlossaryEngine([*terms, Term("滨江智算平台扩容", "term", "Binjiang compute platform expansion")])
    assert grown.version != GlossaryEngine(terms).version
    third = translate_pending(con, grown, "en")
    assert (third.considered, third.translated, third.declined) == (1, 1, 0)
    assert con.execute(
        "SELECT t.text FROM translations t JOIN segments s USING (segment_hash) WHERE s.text = '滨江智算平台扩容。'"
    ).fetchall() == [("Binjiang compute platform expansion.",)]
    assert con.execute("SELECT count(*) FROM translation_declines").fetchone() == (1,)  # the old decline stays
    con.close()


@pytest.mark.parametrize(
    ("window_rows", "deleted"),
    [(1, []), (2, ["2"]), (3, ["1", "4"]), (100, [])],
    ids=["one-per-window", "hole", "two-holes", "one-query"],
)
def test_many_pending_notices_are_segmented_a_window_at_a_time_as_in_one_go(tmp_path, window_rows, deleted):
    rows = [notice(str(n), f"标题{n}", f"第{n}句。{BOILERPLATE}\n项目编号：A-{n}") for n in range(1, 7)]
    links = "SELECT source, notice_id, position, field, segment_hash FROM notice_segments ORDER BY ALL"
    found = {}
    for window in (window_rows, 10_000):
        con = store.connect(tmp_path / f"w{window}.duckdb")
        store.upsert_notices(con, store.notices_to_arrow(rows, "t", datetime.now(UTC)))
        for notice_id in deleted:
            con.execute("DELETE FROM notices WHERE notice_id = ?", [notice_id])
        con.execute("CHECKPOINT")
        summary = segment_pending(con, batch_size=2, window_rows=window)
        found[window] = (summary.notices, summary.links, con.execute(links).fetchall())
        assert segment_pending(con, window_rows=window).notices == 0  # nothing left pending
        con.close()
    kept = 6 - len(deleted)
    assert found[window_rows] == found[10_000]
    assert found[window_rows][:2] == (kept, 4 * kept)  # title, two sentences, the code line
