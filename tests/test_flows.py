"""The nightly flow end to end on the real stack: scrapy processes, Prefect runs, DuckDB files."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest

import cli
from pipelines.operations.outcome import FailedNight
from tests.ccgp_site import Notice, SearchResult, search_page, write_site
from tests.conftest import ROOT
from tests.spiders.portal_sites import serve_jsggzy

DEMO = ROOT / "demo"
EXPECTED = json.loads((DEMO / "expected.json").read_text(encoding="utf-8"))["notices"]
PURCHASES = {n["id"]: n for n in EXPECTED if n["expect_match"]}
TRAPS = {n["id"]: n for n in EXPECTED if n["trap"]}
FAST = ["DOWNLOAD_DELAY=0", "AUTOTHROTTLE_ENABLED=False", "RETRY_TIMES=0"]


def run_cli(*argv: str) -> int:
    return cli.main(list(argv))


@pytest.fixture(scope="module")
def demo_night(prefect_harness, tmp_path_factory):
    """The demo replayed once into a fresh data directory, as `make demo` does."""
    data = tmp_path_factory.mktemp("demo-data")
    code = run_cli("nightly", "--replay", str(DEMO), "--data-dir", str(data))
    return data, code


def night_folder(data: Path) -> Path:
    """The one dated output folder of these runs (published/ also holds the cumulative feed)."""
    (folder,) = sorted(p for p in (data / "published").iterdir() if p.is_dir())
    return folder


def published_csv(data: Path) -> list[dict]:
    folder = night_folder(data)
    return list(csv.DictReader(io.StringIO((folder / "matches.csv").read_text(encoding="utf-8-sig"))))


def test_demo_night_stores_every_notice_in_the_analysts_snapshot(demo_night):
    data, code = demo_night
    assert code == 0
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        ids = {row[0] for row in con.execute("SELECT notice_id FROM notices WHERE source = 'ccgp'").fetchall()}
        assert ids == {n["id"] for n in EXPECTED}
        assert con.execute("SELECT count(*) FROM notices WHERE parse_error IS NOT NULL").fetchone() == (0,)
        verdict = con.execute("SELECT verdict FROM source_health WHERE source = 'ccgp'").fetchone()
        assert verdict == ("ok",)


def test_the_night_writes_its_log_under_the_data_directory(demo_night):
    data, _ = demo_night
    (log,) = (data / "logs").glob("nightly-*.log")
    text = log.read_text(encoding="utf-8")
    assert "INFO prefect.flow_runs: nightly summary: " in text
    assert '"ccgp": {"verdict": "ok", "reason": "53 notices from 59 responses; attachments: 3 fetched (2.4 kB)"' in text
    assert "INFO prefect.task_runs: Finished in state Completed()" in text


def test_demo_digest_lists_the_purchases_and_none_of_the_traps(demo_night):
    data, _ = demo_night
    published = {row["notice_id"]: row for row in published_csv(data)}
    assert set(PURCHASES) <= set(published)
    assert not set(TRAPS) & set(published)
    digest = (night_folder(data) / "digest.md").read_text(encoding="utf-8")
    for notice in PURCHASES.values():
        assert notice["url"] in digest
    for notice in TRAPS.values():
        assert notice["url"] not in digest


def crawl_rows(data: Path) -> list[tuple]:
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT requests, items, already_stored, verdict, reason FROM crawl_runs ORDER BY started_at"
        ).fetchall()


def stored_runs(data: Path) -> set[str]:
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        return {row[0] for row in con.execute("SELECT DISTINCT run_id FROM notices").fetchall()}


def test_a_second_demo_night_makes_only_list_requests_and_publishes_nothing_new(demo_night, capsys):
    data, _ = demo_night
    before = published_csv(data)
    first_run = stored_runs(data)
    assert run_cli("nightly", "--replay", str(DEMO), "--data-dir", str(data)) == 0
    out = capsys.readouterr().out
    assert "ccgp: ok: 0 notices from 3 responses (53 listed notices stored already)" in out
    assert "notices: 0 (0 new), parse errors: 0, newly published matches: 0" in out
    assert published_csv(data) == before
    # The first night fetched the 3 list pages, 53 notices and 3 attachments; the second only the list pages.
    first, second = crawl_rows(data)
    assert first[:3] == (59, 53, 0)
    assert second[:4] == (3, 0, 53, "ok")
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM notices").fetchone() == (len(EXPECTED),)
        assert con.execute("SELECT count(*) FROM publications").fetchone() == (len(before),)
    assert stored_runs(data) == first_run


def test_refetch_fetches_every_notice_again_and_stores_no_unchanged_one(demo_night, capsys):
    data, _ = demo_night
    before = published_csv(data)
    first_run = stored_runs(data)
    assert run_cli("nightly", "--replay", str(DEMO), "--data-dir", str(data), "--refetch") == 0
    out = capsys.readouterr().out
    # Every notice page again; the attachments stored already are not (they are files, not notices that change).
    assert "ccgp: ok: 53 notices from 56 responses\n" in out
    assert "notices: 53 (0 new), parse errors: 0, newly published matches: 0" in out
    assert crawl_rows(data)[-1][:3] == (56, 53, 0)
    # Fetched again, the same content: no row rewritten, nothing published.
    assert stored_runs(data) == first_run
    assert published_csv(data) == before


def test_an_unreachable_portal_is_one_clear_line_and_a_failing_exit(prefect_harness, tmp_path, capsys):
    closed_port = "http://127.0.0.1:9"  # discard port: nothing listens there
    settings = [arg for setting in FAST for arg in ("--setting", setting)]
    code = run_cli("nightly", "--data-dir", str(tmp_path), "--base-url", f"ccgp={closed_port}", *settings)
    assert code == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("ccgp: "))
    assert line.startswith("ccgp: unreachable: no response to ")
    assert "connection refused" in line
    assert "Traceback" not in out
    with duckdb.connect(str(tmp_path / "tenders.duckdb"), read_only=True) as con:
        assert con.execute("SELECT verdict FROM crawl_runs").fetchall() == [("unreachable",)]


def test_an_unhealthy_night_run_as_a_deployment_runs_raises_its_reason_with_the_summary(prefect_harness, tmp_path):
    import flows

    # Called without return_state, as Prefect's engine runs a deployment's flow (serve, a worker): the Failed state's
    # data is raised, and must be the reason, not a TypeError about a dict.
    with pytest.raises(FailedNight) as failed:
        flows.nightly(data_dir=str(tmp_path), base_urls={"ccgp": "http://127.0.0.1:9"},
                      crawl_settings=dict(setting.split("=") for setting in FAST))  # fmt: skip
    assert str(failed.value).startswith("unhealthy sources: ccgp: unreachable (no response to ")
    assert failed.value.summary["sources"]["ccgp"]["verdict"] == "unreachable"


def test_parse_command_prints_the_normalized_notice(tmp_path):
    notice = PURCHASES[next(iter(PURCHASES))]
    page = DEMO / "site" / notice["path"]
    result = subprocess.run(
        [sys.executable, "flows.py", "parse", str(page), "--url", notice["url"]],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    parsed = json.loads(result.stdout)
    assert parsed["notice_id"] == notice["id"]
    assert parsed["title"] == notice["title"]
    assert parsed["project_code"] == notice["project_code"]
    assert parsed["buyer"] == notice["buyer"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nightly", "--replay", "no/such/archive"], "no WARC file or folder at no/such/archive"),
        (["parse", "no/such/page.htm", "--url", "https://www.ccgp.gov.cn/x.htm"], "no file at no/such/page.htm"),
    ],
)
def test_bad_input_is_a_clear_error(argv, message, capsys):
    assert run_cli(*argv) == 2
    assert message in capsys.readouterr().err


# --- the default night: every enabled source the registry's night way, within its budget ---------------------------

NIGHT_NOTICES = [
    Notice("62000001", "2026-09-25 10:00", "北辰演示大学A100 GPU服务器采购项目中标公告", sub="zbgg"),
    Notice("62000002", "2026-09-20 11:00", "演示研究院GPU计算卡采购询价公告"),
    Notice("62000003", "2026-09-12 09:30", "演示实验室GPU算力租赁服务采购公告"),
    Notice("62000004", "2026-09-05 15:00", "演示中心GPU云服务采购项目成交公告", column="dfgg", sub="cjgg"),
]


def serve_night(tmp_path: Path, local_site):
    """ccgp's search (GPU finds the four notices, every other keyword nothing) and jsggzy's real search answer."""
    site = local_site(write_site(tmp_path / "site", NIGHT_NOTICES))
    results = [
        SearchResult(url=f"{site.url}/{n.path}", title_html=n.title, time=n.published.replace("-", ".") + ":00",
                     buyer=n.buyer, agency="演示代理", type_label="公开招标", province=n.region, category="货物")
        for n in NIGHT_NOTICES
    ]  # fmt: skip
    hits = search_page(results, pages=1, current=1).encode()
    nothing = search_page([], pages=1, current=1).encode()

    def bxsearch(path: str):
        if not path.startswith("/bxsearch?"):
            return None
        keyword = parse_qs(urlsplit(path).query)["kw"][0]
        return 200, {"Content-Type": "text/html; charset=utf-8"}, hits if keyword == "GPU" else nothing

    site.routes.append(bxsearch)
    serve_jsggzy(site)
    return site


def night_rows(data: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT source, requests, items, already_stored, budget_reached, verdict FROM crawl_runs "
            "ORDER BY started_at"
        ).fetchall()
    by_source: dict[str, list[tuple]] = {}
    for source, *values in rows:
        by_source.setdefault(source, []).append(tuple(values))
    return by_source


def test_the_default_night_searches_every_enabled_source_within_the_budget_the_readme_states(
    prefect_harness, tmp_path, local_site, capsys
):
    from spiders.registry import NIGHT_KEYWORDS, PORTALS

    site = serve_night(tmp_path, local_site)
    data = tmp_path / "data"
    fast = [arg for s in (*FAST, "ROBOTSTXT_OBEY=False") for arg in ("--setting", s)]
    # The shipped settings: the sources it enables, each the registry's night way.
    night = ["nightly", "--config", str(ROOT / "tenderwatch.toml"), "--data-dir", str(data), "--from", "2026-07-01",
             "--base-url", f"ccgp={site.url}", "--base-url", f"jsggzy={site.url}", *fast]  # fmt: skip
    assert run_cli(*night) == 0
    details_first = [path for path in site.requests if path.startswith(("/cggg/", "/jyxx/"))]
    assert run_cli(*night) == 0
    out = capsys.readouterr().out
    rows = night_rows(data)
    assert sorted(rows) == ["ccgp", "jsggzy"]
    keywords = len(NIGHT_KEYWORDS)
    # ccgp: one search page per keyword, then the 4 notices GPU found; jsggzy: two pages per keyword (the second
    # empty), then its 3 notices, each fetched once whichever keyword listed it.
    expected = {"ccgp": (keywords, 4), "jsggzy": (2 * keywords, 3)}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for source, (lists, notices) in expected.items():
        first, second = rows[source]
        budget = PORTALS[source].night.budget
        assert first == (lists + notices, notices, 0, 0, "ok")
        assert first[0] <= budget
        # The second night lists again and fetches no notice: every one is stored already.
        assert second == (lists, 0, notices, 0, "ok")
        assert f"at most {budget} requests" in readme
    assert [path for path in site.requests if path.startswith(("/cggg/", "/jyxx/"))] == details_first
    assert "ccgp: ok: 0 notices from 14 responses (4 listed notices stored already)" in out
