"""Every command reads the settings the same way: a data_dir named by --config, $TENDERWATCH_CONFIG or
$TENDERWATCH_DATA_DIR is the one each command uses, never ``./data`` (the working directory here has none)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import cli
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
    settings.write_text(f'data_dir = "{data}"\n', encoding="utf-8")
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
    "export-ocds": (["export-ocds", "OUT"], 0, lambda data: "wrote 48 release(s)"),
    "translate": (["translate"], 0, lambda data: "glossary → en: translated "),
    "reprocess": (["reprocess"], 0, lambda data: "reprocessed 48 notice(s) from "),
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
        argv += ["--base-url", f"ccgp={site.url}", "--setting", "DOWNLOAD_DELAY=0", "--setting", "ROBOTSTXT_OBEY=0"]
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
