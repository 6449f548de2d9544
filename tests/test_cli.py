"""Every command reads the settings the same way: a data_dir named by --config, $TENDERWATCH_CONFIG or
$TENDERWATCH_DATA_DIR is the one each command uses, never ``./data`` (the working directory here has none)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import cli
from spiders.registry import PORTALS
from tests.conftest import ROOT

DEMO = ROOT / "demo"


@pytest.fixture(scope="module")
def demo_night(prefect_harness, tmp_path_factory) -> Path:
    """A data directory after the demo night, with the demo's WARC as its archive (for reprocess)."""
    data = tmp_path_factory.mktemp("settings-demo") / "data"
    assert cli.main(["nightly", "--replay", str(DEMO), "--data-dir", str(data)]) == 0
    (data / "archive").mkdir()
    shutil.copy(DEMO / "ccgp-demo.warc.gz", data / "archive")
    return data


def _settings_file(tmp_path: Path, data: Path) -> Path:
    settings = tmp_path / "elsewhere.toml"
    # ccgp alone: check-sources below serves it on 127.0.0.1, and no other portal may be asked.
    settings.write_text(f'data_dir = "{data}"\n[sources]\nenabled = ["ccgp"]\n', encoding="utf-8")
    return settings


# How the data directory is named: (extra arguments, environment) from the settings file and the data folder.
WAYS: dict[str, Callable[[Path, Path], tuple[list[str], dict[str, str]]]] = {
    "--config": lambda settings, data: (["--config", str(settings)], {}),
    "TENDERWATCH_CONFIG": lambda settings, data: ([], {"TENDERWATCH_CONFIG": str(settings)}),
    "TENDERWATCH_DATA_DIR": lambda settings, data: ([], {"TENDERWATCH_DATA_DIR": str(data)}),
}

# command line → (exit status, a line the command can only print after reading the data directory it was given).
COMMANDS: dict[str, tuple[list[str], int, Callable[[Path], str]]] = {
    # The demo night is a replay: health says so, and that no live crawl has run yet.
    "health": (["health"], 1, lambda data: "  ccgp replay (not a live crawl): ok at "),
    "backfill": (
        ["backfill", "--from", "2026-11-16", "--until", "2026-11-17", "--replay", str(DEMO)],
        0,
        lambda data: f"analysts' database: {data / 'tenders.duckdb'}",
    ),
    "rematch": (["rematch"], 0, lambda data: "re-matched 0 notice(s) with rules "),
    "review": (["review"], 0, lambda data: "ccgp:"),
    "check-sources": (["check-sources"], 0, lambda data: "ccgp: ok: "),
    "export-ocds": (["export-ocds", "OUT"], 0, lambda data: "wrote 53 release(s)"),
    "translate": (["translate"], 0, lambda data: "glossary → en: translated "),
    "reprocess": (["reprocess"], 0, lambda data: "reprocessed 53 notice(s) from "),
}


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_uses_the_data_dir_the_settings_name(
    demo_night, tmp_path, monkeypatch, capsys, local_site, command, way
):
    data = tmp_path / "configured" / "data"
    shutil.copytree(demo_night, data)
    argv, status, expected = COMMANDS[command]
    argv = [str(tmp_path / "ocds.json") if arg == "OUT" else arg for arg in argv]
    if command == "check-sources":
        site = local_site(DEMO / "site")
        # ccgp alone, whatever the defaults enable: no other portal may be asked.
        argv += ["--sources", "ccgp", "--base-url", f"ccgp={site.url}", "--setting", "DOWNLOAD_DELAY=0",
                 "--setting", "ROBOTSTXT_OBEY=0"]  # fmt: skip
    extra, environment = WAYS[way](_settings_file(tmp_path, data), data)
    for name in ("TENDERWATCH_CONFIG", "TENDERWATCH_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)

    assert cli.main([*argv, *extra]) == status
    out = capsys.readouterr().out
    assert expected(data) in out
    assert not (workdir / "data").exists()
    if command == "check-sources":
        assert list((data / "work" / "runs").glob("check-*/ccgp.stats.json"))


def test_a_flag_beats_the_settings_file(demo_night, tmp_path, monkeypatch, capsys):
    data = tmp_path / "flagged"
    shutil.copytree(demo_night, data)
    settings = _settings_file(tmp_path, tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["health", "--config", str(settings), "--data-dir", str(data)]) == 1
    assert "  ccgp replay (not a live crawl): ok at " in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["health", "--config", "missing.toml"], "error: settings: missing.toml: no such settings file"),
        (["review", "--data-dir", "nowhere"], "error: no working database at nowhere/work/warehouse.duckdb"),
        (["reprocess", "--data-dir", "nowhere"], "error: no WARC archive at nowhere/archive"),
        (["export-ocds", "out.json", "--data-dir", "nowhere"], "error: no analysts' database at nowhere/tenders"),
        (
            ["serve", "--cron", "0 0 30 2 *"],
            "error: settings: schedule.cron: '0 0 30 2 *' never fires (no date matches it), so no night would run",
        ),
    ],
)
def test_a_command_that_cannot_start_says_why_in_one_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("source", "verified", "enabled"),
    [("ccgp", "verified", "enabled"), ("jsggzy", "verified", "-"), ("ggzy", "UNVERIFIED", "enabled"),
     ("szggzy", "UNVERIFIED", "-"), ("plap", "UNVERIFIED", "-"), ("szu", "UNVERIFIED", "-")],
)  # fmt: skip
def test_sources_says_which_layouts_real_pages_verified(tmp_path, monkeypatch, capsys, source, verified, enabled):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TENDERWATCH_SOURCES", "ccgp,ggzy")
    assert cli.main(["sources"]) == 0
    lines = {line.split()[0]: line.split()[1:3] for line in capsys.readouterr().out.splitlines() if line[:1] != " "}
    assert lines[source] == [verified, enabled]


def test_sources_shows_how_a_live_night_crawls_each_source_and_its_budget(tmp_path, monkeypatch, capsys):
    from spiders.registry import NIGHT_KEYWORDS, PORTALS
    from spiders.settings import DOWNLOAD_DELAY

    monkeypatch.chdir(tmp_path)
    assert cli.main(["sources"]) == 0
    nights = {}
    for line in capsys.readouterr().out.splitlines():
        if line[:1] != " ":
            name = line.split()[0]
        elif line.strip().startswith("night: "):
            nights[name] = line.strip().removeprefix("night: ")
    for source in ("ccgp", "jsggzy"):
        budget = PORTALS[source].night.budget
        minutes = -(-budget * DOWNLOAD_DELAY // 60)
        plan = f"search, {len(NIGHT_KEYWORDS)} keywords; at most {budget} requests"
        assert nights[source] == f"{plan} ({minutes} min at {DOWNLOAD_DELAY} s each)"
    assert nights["szu"] == "the spider's defaults, no request budget"


def test_sources_shows_each_sources_last_verdict(demo_night, monkeypatch, capsys):
    assert cli.main(["sources", "--data-dir", str(demo_night)]) == 0
    out = capsys.readouterr().out
    # The demo night is a replay, and says so.
    assert re.search(r"^ccgp\s+verified\s+enabled\s+last: ok \(\d{4}-\d\d-\d\d \d\d:\d\d CST, replay\)$", out, re.M)
    assert re.search(r"^szu\s+UNVERIFIED\s+-\s+last: never crawled$", out, re.M)


def test_the_readme_sources_table_is_the_registry(capsys):
    assert cli.main(["sources", "--markdown"]) == 0
    table = capsys.readouterr().out.strip()
    assert table.count("\n") == len(PORTALS) + 1
    assert table in (ROOT / "README.md").read_text(encoding="utf-8")


# (argv after the command, message): every one stops before any work, in one line, exit 2.
BAD_CRAWL_INPUT = [
    (["nightly", "--from", "2026-11-20", "--until", "2026-11-10"],
     "error: --from 2026-11-20 is after --until 2026-11-10"),
    (["nightly", "--from", "9999-01-01"], "error: --from 9999-01-01 is outside 1990-01-01 … "),
    (["nightly", "--until", "1900-01-01"], "error: --until 1900-01-01 is outside 1990-01-01 … "),
    (["nightly", "--sample", "0"], "error: --sample must be at least 1, got 0"),
    (["nightly", "--sample", "-1"], "error: --sample must be at least 1, got -1"),
    (["nightly", "--base-url", "ccgp=http://"], "error: --base-url ccgp=http://: expected http(s)://host"),
    (["nightly", "--base-url", "ccgp=http://127.0.0.1:99999"],
     "error: --base-url ccgp=http://127.0.0.1:99999: not a URL"),
    (["nightly", "--setting", "DOWNLOAD_DELAY=abc"], "error: --setting DOWNLOAD_DELAY=abc: expected number"),
    (["nightly", "--setting", "RETRY_TIMES=2.5"], "error: --setting RETRY_TIMES=2.5: expected int, like the default 2"),
    (["nightly", "--setting", "DOWNLOAD_TIMEOUT=inf"], "error: --setting DOWNLOAD_TIMEOUT=inf: expected number"),
    (["nightly", "--setting", "ROBOTSTXT_OBEY=maybe"], "error: --setting ROBOTSTXT_OBEY=maybe: expected bool"),
    (["nightly", "--setting", "DOWNLOAD_DELAYS=3"], "error: --setting DOWNLOAD_DELAYS=3: not a Scrapy setting"),
    (["nightly", "--setting", "TENDERWATCH_REPLAYY=x"],
     "error: --setting TENDERWATCH_REPLAYY=x: not a tenderwatch setting"),
    (["backfill", "--from", "9999-01-01", "--until", "9999-12-31"],
     "error: --from 9999-01-01 is outside 1990-01-01 … "),
    (["backfill", "--from", "2026-01-01", "--until", "2026-01-31", "--window-days", "100000000000"],
     "error: --window-days must be between 1 and 3660, got 100000000000"),
    (["backfill", "--from", "2026-01-01", "--until", "2026-01-31", "--window-days", "0"],
     "error: --window-days must be between 1 and 3660, got 0"),
    (["check-sources", "--setting", "CONCURRENT_REQUESTS=lots"],
     "error: --setting CONCURRENT_REQUESTS=lots: expected int"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "message"), BAD_CRAWL_INPUT, ids=[" ".join(case[0]) for case in BAD_CRAWL_INPUT])
def test_bad_crawl_input_stops_before_any_work_in_one_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    assert cli.main([*argv, "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert len(err.strip().splitlines()) == 1
    assert not data.exists()


# How a command names its sources → the refusal (the names come from spiders/registry.py).
BAD_SOURCES = {
    "nightly --sources cgp": (["nightly", "--sources", "cgp"], "--sources: unknown 'cgp'"),
    "backfill --sources ccgp,ccgp": (
        ["backfill", "--from", "2026-11-01", "--sources", "ccgp,ccgp"],
        "--sources: repeated 'ccgp'",
    ),
    "check-sources --sources ccgp,": (["check-sources", "--sources", "ccgp,"], "--sources: unknown ''"),
    "serve --sources x,x": (["serve", "--sources", "x,x"], "--sources: unknown 'x', 'x'; repeated 'x'"),
    "TENDERWATCH_SOURCES=ccgp,cgp health": (["health"], "sources.enabled: unknown 'cgp'"),
}


@pytest.mark.parametrize("case", BAD_SOURCES)
def test_bad_source_names_stop_before_any_work_naming_the_known_ones(tmp_path, monkeypatch, capsys, case):
    argv, problem = BAD_SOURCES[case]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TENDERWATCH_SOURCES", "ccgp,cgp" if case.startswith("TENDERWATCH") else "ccgp")
    assert cli.main([*argv, "--data-dir", str(tmp_path / "data")]) == 2
    known = ", ".join(cli.known_sources())
    assert capsys.readouterr().err.splitlines() == [f"error: {problem} (known sources: {known})"]
    assert "ccgp" in cli.known_sources() and "ggzy" in cli.known_sources()
    assert not (tmp_path / "data").exists()


# Commands that orchestrate nothing answer without importing Prefect (seconds of imports; issue 14). The data
# directory is the demo night's, so each command does its real work, not an early error.
_NON_ORCHESTRATING = """
import io, sys
import cli

data, out, labels = sys.argv[1:4]
sys.stdin = io.StringIO("采购 NVIDIA H100 GPU 服务器 2 台")
runs = [
    ["--help"],
    ["match-text", "--title", "服务器采购"],
    ["evaluate", labels],
    ["health", "--data-dir", data],
    ["review", "--data-dir", data],
    ["export-ocds", out, "--data-dir", data],
]
for argv in runs:
    try:
        status = cli.main(argv)
    except SystemExit as stop:
        status = stop.code
    print(argv[0], status, "prefect" in sys.modules, file=sys.stderr)
"""


def test_commands_that_orchestrate_nothing_do_not_import_prefect(demo_night, tmp_path):
    import subprocess
    import sys

    data = tmp_path / "data"
    shutil.copytree(demo_night, data)
    labels = ROOT / "tests" / "data" / "labels.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", _NON_ORCHESTRATING, str(data), str(tmp_path / "ocds.json"), str(labels)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    lines = [line.split() for line in done.stderr.splitlines() if line.split()[:1] and line.split()[0][:1] in "-mehr"]
    assert [(command, prefect) for command, _, prefect in lines] == [
        ("--help", "False"),
        ("match-text", "False"),
        ("evaluate", "False"),
        ("health", "False"),
        ("review", "False"),
        ("export-ocds", "False"),
    ], done.stderr
    assert [status for _, status, _ in lines] == ["0", "0", "0", "1", "0", "0"], done.stderr
    # ``python flows.py`` is the documented entry: it must hand over to the command line before importing Prefect.
    entry = subprocess.run(
        [sys.executable, "-X", "importtime", str(ROOT / "flows.py"), "match-text", "--title", "H100 GPU 服务器采购"],
        cwd=tmp_path, input="", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert entry.returncode == 0, entry.stderr[-2000:]
    assert '"tier": "strong"' in entry.stdout
    imported = {line.split("|")[-1].strip() for line in entry.stderr.splitlines() if line.startswith("import time:")}
    assert "cli" in imported and "pipelines.matching.engine" in imported
    assert not {name for name in imported if name.split(".")[0] in ("prefect", "scrapy")}
