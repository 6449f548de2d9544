"""The nightly flow end to end on the real stack: scrapy processes, Prefect runs, DuckDB files."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import cli
from pipelines.operations.outcome import FailedNight
from tests.conftest import ROOT

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
    assert '"ccgp": {"verdict": "ok", "reason": "51 notices from 57 responses; attachments: 3 fetched (2.4 kB)"' in text
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


def test_a_second_demo_night_publishes_nothing_new(demo_night, capsys):
    data, _ = demo_night
    before = published_csv(data)
    assert run_cli("nightly", "--replay", str(DEMO), "--data-dir", str(data)) == 0
    out = capsys.readouterr().out
    assert "newly published matches: 0" in out
    assert published_csv(data) == before
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM notices").fetchone() == (len(EXPECTED),)
        assert con.execute("SELECT count(*) FROM publications").fetchone() == (len(before),)


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
