"""Unattended nights on the real stack: one night at a time per data directory, and no crawl outlives its run."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

import cli
from pipelines.operations import lock as run_lock
from tests.conftest import ROOT

DEMO = ROOT / "demo"
WAIT_S = 300


def harness_env(**extra: str) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), **extra}


def wait_for(predicate, timeout: float = WAIT_S, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def flows_py(*argv: str) -> list[str]:
    return [sys.executable, "flows.py", *argv]


def test_two_nights_on_one_data_directory_give_one_run_and_one_clear_refusal(prefect_harness, tmp_path):
    data = tmp_path / "data"
    first = subprocess.Popen(
        flows_py("nightly", "--replay", str(DEMO), "--data-dir", str(data)), cwd=ROOT, env=harness_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        holder = wait_for(lambda: (h := run_lock.read_holder(data)) and h.pid == first.pid and h)
        assert holder is not None, "the first night never took the lock"
        second = subprocess.run(
            flows_py("nightly", "--replay", str(DEMO), "--data-dir", str(data)), cwd=ROOT, env=harness_env(),
            capture_output=True, text=True, timeout=WAIT_S,
        )  # fmt: skip
    finally:
        out, err = first.communicate(timeout=WAIT_S)
    assert first.returncode == 0, err[-2000:]
    assert second.returncode == cli.EXIT_BUSY
    assert second.stdout == ""
    assert second.stderr.splitlines() == [
        f"error: {data} is in use by nightly (pid {first.pid} on {holder.host}, since {holder.started_at}); "
        "try again when it has finished"
    ]
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT run_id) FROM crawl_runs").fetchone() == (1,)
    assert run_lock.read_holder(data) is None  # released cleanly: nothing stale for the next night


def _processes_mentioning(text: str) -> set[int]:
    """Live (not zombie) processes whose command line contains ``text``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.add(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux only")
def test_a_killed_night_leaves_no_crawl_running_and_its_lock_is_recovered(
    prefect_harness, tmp_path, local_site, caplog
):
    release = threading.Event()
    site = local_site(tmp_path)
    # Every request hangs until the test ends, so the crawl is surely running when the flow is killed.
    site.routes.append(lambda path: release.wait(WAIT_S) and None)
    data = tmp_path / "data"
    night = subprocess.Popen(
        flows_py("nightly", "--data-dir", str(data), "--base-url", f"ccgp={site.url}", "--setting",
                 "ROBOTSTXT_OBEY=False"),
        cwd=ROOT, env=harness_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert wait_for(lambda: site.requests), "the crawl never reached the site"
        crawl = _processes_mentioning(f"{data}/work/runs/")
        assert crawl and night.pid not in crawl
        assert all("scrapy crawl ccgp" in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                   for pid in crawl)  # fmt: skip
        night.send_signal(signal.SIGKILL)
        night.wait(timeout=WAIT_S)
        assert wait_for(lambda: not _processes_mentioning(f"{data}/work/runs/")), "a crawl outlived its night"
    finally:
        release.set()
        if night.poll() is None:
            night.kill()
    left = run_lock.read_holder(data)
    assert (left.pid, left.command) == (night.pid, "nightly")
    with caplog.at_level(logging.WARNING, logger=run_lock.__name__), run_lock.hold(data, "nightly"):
        assert run_lock.read_holder(data).pid == os.getpid()
    assert caplog.messages == [
        f"recovered a stale lock on {data} left by {left.describe()}, which did not finish (pid gone)"
    ]


def test_the_lock_is_taken_again_by_its_own_process_and_refused_to_another(tmp_path):
    data = tmp_path / "data"
    with run_lock.hold(data, "nightly"):
        with run_lock.hold(data, "nightly"):  # the flow under the CLI that already holds it
            pass
        assert run_lock.read_holder(data).pid == os.getpid()
        other = subprocess.run(
            [sys.executable, "-c", "import sys; from pipelines.operations import lock\n"
             "try:\n    lock.hold(sys.argv[1], 'rematch').__enter__()\nexcept lock.LockHeld as e:\n    print(e)",
             str(data)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert other.stdout.startswith(f"{data} is in use by nightly (pid {os.getpid()} on ")
    assert run_lock.read_holder(data) is None


# --- orchestration and expected failures -------------------------------------------------------------------------

# environment before → the Prefect settings our commands run with
DEFAULTS = {
    "nothing set": ({}, cli.PREFECT_DEFAULTS),
    "the operator's limit kept": (
        {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "600"},
        {**cli.PREFECT_DEFAULTS, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "600"},
    ),
    "the operator's telemetry kept": (
        {"PREFECT_SERVER_ANALYTICS_ENABLED": "true"},
        {**cli.PREFECT_DEFAULTS, "PREFECT_SERVER_ANALYTICS_ENABLED": "true"},
    ),
}


@pytest.mark.parametrize("case", DEFAULTS)
def test_prefect_defaults_fill_only_what_the_operator_left_unset(case):
    environ, expected = DEFAULTS[case]
    environ = dict(environ)
    cli.prefect_defaults(environ)
    assert environ == expected
    assert expected["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] != "20"  # Prefect's own, too short here


def without_prefect_server(**extra: str) -> dict[str, str]:
    """The environment of an operator with no Prefect server configured: commands start a temporary one."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}, **extra}


def test_a_night_on_its_own_temporary_server_completes_without_telemetry_errors(tmp_path):
    night = subprocess.run(
        flows_py("nightly", "--replay", str(DEMO), "--data-dir", str(tmp_path / "data")), cwd=ROOT,
        env=without_prefect_server(PREFECT_HOME=str(tmp_path / "prefect")), capture_output=True, text=True,
        timeout=WAIT_S,
    )  # fmt: skip
    assert night.returncode == 0, night.stderr[-3000:]
    assert "ccgp: ok: 53 notices" in night.stdout
    assert "Starting temporary server" in night.stderr
    assert "telemetry" not in night.stderr
    assert "Traceback" not in night.stderr


# command line, environment → (exit status, the one line on stderr)
EXPECTED_FAILURES = {
    "no Prefect server at PREFECT_API_URL": (
        "flows.py nightly --replay demo --data-dir {tmp}/data",
        {"PREFECT_API_URL": "http://127.0.0.1:9/api"},
        cli.EXIT_UNAVAILABLE,
        "error: Prefect server: Failed to reach API at http://127.0.0.1:9/api/ (check PREFECT_API_URL, or unset it)",
    ),
    "stdout closed by | head": (
        "flows.py match-text --jsonl tests/data/labels.jsonl | head -c 10 >/dev/null; exit ${{PIPESTATUS[0]}}",
        {},
        cli.EXIT_PIPE,
        None,
    ),
}


@pytest.mark.parametrize("case", EXPECTED_FAILURES)
def test_expected_failures_are_one_line_not_a_traceback(tmp_path, case):
    command, environment, status, line = EXPECTED_FAILURES[case]
    done = subprocess.run(
        ["bash", "-c", f"{sys.executable} " + command.format(tmp=tmp_path)], cwd=ROOT,
        env=without_prefect_server(**environment), capture_output=True, text=True, timeout=WAIT_S,
    )  # fmt: skip
    assert done.returncode == status
    assert done.stderr.splitlines() == ([line] if line else [])


# --- housekeeping ------------------------------------------------------------------------------------------------

DAY = 86400
# file under the data directory → its age in days (a folder's age is that of its newest file)
AGES = {
    "work/runs/old/ccgp.items.jsonl": 40,
    "work/runs/old/ccgp.stats.json": 35,
    "work/runs/young/ccgp.items.jsonl": 3,
    "work/runs/old-with-a-recent-file/ccgp.items.jsonl": 90,
    "work/runs/old-with-a-recent-file/delivery.json": 1,
    "logs/nightly-old.log": 31,
    "logs/nightly-young.log": 29,
    "logs/notes.txt": 400,
    "archive/ccgp-old.warc.gz": 400,
    "published/2025-01-01/digest.md": 400,
}
# keep_days → what is left
KEPT = {
    30: sorted(set(AGES) - {"work/runs/old/ccgp.items.jsonl", "work/runs/old/ccgp.stats.json", "logs/nightly-old.log"}),
    0: sorted(AGES),
}


@pytest.mark.parametrize("keep_days", KEPT)
def test_retention_removes_old_run_folders_and_logs_only(tmp_path, keep_days):
    from pipelines.operations import logs

    now = time.time()
    data = tmp_path / "data"
    for name, age in AGES.items():
        path = data / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name, encoding="utf-8")
        os.utime(path, (now - age * DAY, now - age * DAY))
    for folder in (data / "work" / "runs").iterdir():
        os.utime(folder, (now - 100 * DAY, now - 100 * DAY))
    pruned = logs.prune(data, keep_days, now=now)
    left = sorted(p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file())
    assert left == KEPT[keep_days]
    assert (pruned.run_folders, pruned.log_files) == ((1, 1) if keep_days else (0, 0))
