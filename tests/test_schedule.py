"""Scheduling that runs unattended: the served deployment, prefect.yaml, and a real server, work pool and worker.

The server tests start `prefect server` on 127.0.0.1 with its own home folder; they skip (with the reason) when it
does not answer within SERVER_START_S.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest
import yaml

import flows
from pipelines import config
from tests.conftest import ROOT

SERVER_START_S = 120
RUN_TIMEOUT_S = 600
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
# The status codes prefect.client retries by default (PrefectHttpxAsyncClient), and how often we try.
RETRYABLE_STATUS = {429, 502, 503}
API_ATTEMPTS = 8
DEMO_WARC = ROOT / "demo" / "ccgp-demo.warc.gz"


def test_the_served_deployment_is_nightly_in_shanghai_and_never_overlaps():
    settings = config.load(ROOT / "tenderwatch.toml", environ={})
    deployment = flows.nightly_deployment(settings, data_dir="somewhere")
    (schedule,) = deployment.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == (
        "30 2 * * *",
        "Asia/Shanghai",
        True,
    )
    assert deployment.concurrency_limit == 1
    assert deployment.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    assert deployment.parameters["data_dir"] == str(Path("somewhere").resolve())
    # The sources whose layouts real pages confirm (each crawled the registry's night way).
    assert deployment.parameters["sources"] == ["ccgp", "jsggzy"]


def test_search_keywords_from_the_settings_reach_the_spiders():
    settings = config.load(ROOT / "tenderwatch.toml", environ={"TENDERWATCH_QUERIES": "A100,算力租赁"})
    deployment = flows.nightly_deployment(settings)
    assert deployment.parameters["spider_args"] == {"keywords": "A100,算力租赁"}


def test_prefect_yaml_defines_the_same_nightly_deployment_for_a_process_pool():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    defaults = config.Settings().schedule
    (deployment,) = [d for d in spec["deployments"] if d["name"] == defaults.deployment]
    assert deployment["entrypoint"] == "flows.py:nightly"
    assert deployment["schedules"] == [{"cron": defaults.cron, "timezone": defaults.timezone, "active": True}]
    assert deployment["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    assert deployment["work_pool"]["name"] == defaults.work_pool


# --- a real Prefect server ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, home: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")},
            "PREFECT_HOME": str(home),
            "PREFECT_API_URL": self.url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_ENABLED": "false",
            # Log why the server answered 503, so a failure here can be read from server.log.
            "PREFECT_SERVER_LOG_RETRYABLE_ERRORS": "true",
            "DO_NOT_TRACK": "1",
            "TENDERWATCH_HOME": str(ROOT),
        }
        self.log = (home / "server.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self) -> bool:
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        return False

    def api(self, method: str, path: str, body: dict | None = None):
        """One API call, retried on the answers Prefect's own client retries.

        The server answers 503 when its SQLite database is busy (the scheduler and a worker write to it too); that
        means "try again", and on two loaded cores it happens.
        """
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(API_ATTEMPTS):
            request = urllib.request.Request(
                f"{self.url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    return json.loads(answer.read() or b"null")
            except urllib.error.HTTPError as error:
                if error.code not in RETRYABLE_STATUS or attempt == API_ATTEMPTS - 1:
                    raise
                time.sleep(min(2**attempt, 10))

    def log_tail(self, size: int = 3000) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-size:]

    def cli(self, *argv: str, cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "prefect", "--no-prompt", *argv],
            cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def deployment(self, flow_name: str, name: str) -> dict | None:
        try:
            return self.api("GET", f"/deployments/name/{flow_name}/{name}")
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    running = Server(home)
    try:
        if not running.wait_ready():
            tail = (home / "server.log").read_text(errors="replace")[-800:]
            pytest.skip(f"local Prefect server did not answer within {SERVER_START_S} s: {tail}")
        yield running
    finally:
        running.stop()


def wait_for(predicate, timeout: float, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def test_serve_registers_the_schedule_and_leaves_it_running_on_shutdown(server, tmp_path):
    settings = tmp_path / "tenderwatch.toml"
    settings.write_text('[schedule]\ndeployment = "nightly-served"\ncron = "15 3 * * *"\n', encoding="utf-8")
    served = subprocess.Popen(
        [sys.executable, "flows.py", "serve", "--config", str(settings), "--data-dir", str(tmp_path / "data")],
        cwd=ROOT, env=server.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deployment = wait_for(lambda: server.deployment("nightly", "nightly-served"), timeout=120)
        assert deployment is not None, "flows.py serve did not register its deployment"
    finally:
        os.killpg(served.pid, signal.SIGINT)
        served.wait(timeout=60)
    (schedule,) = deployment["schedules"]
    assert (schedule["schedule"]["cron"], schedule["schedule"]["timezone"]) == ("15 3 * * *", "Asia/Shanghai")
    assert deployment["global_concurrency_limit"]["limit"] == 1
    assert deployment["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"
    assert deployment["parameters"]["data_dir"] == str(tmp_path / "data")
    after = server.deployment("nightly", "nightly-served")
    assert after["paused"] is False  # pause_on_shutdown=False: a restart does not stop the nights
    assert after["schedules"][0]["active"] is True


def test_a_worker_of_the_process_pool_runs_the_yaml_deployment(server, tmp_path):
    created = server.cli("work-pool", "create", "tenderwatch", "--type", "process")
    assert created.returncode == 0, created.stdout + created.stderr
    deployed = server.cli("deploy", "--all")
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    deployment = server.deployment("nightly", "nightly")
    assert deployment["work_pool_name"] == "tenderwatch"
    assert deployment["schedules"][0]["schedule"]["timezone"] == "Asia/Shanghai"
    data = tmp_path / "data"
    run = server.api(
        "POST",
        f"/deployments/{deployment['id']}/create_flow_run",
        {"parameters": {"replay": str(ROOT / "demo"), "data_dir": str(data), "publish_date": "2026-11-24"}},
    )
    worker = server.cli("worker", "start", "--pool", "tenderwatch", "--run-once", timeout=RUN_TIMEOUT_S)
    assert worker.returncode == 0, worker.stdout[-3000:] + worker.stderr[-3000:] + server.log_tail()

    def finished():
        state = server.api("GET", f"/flow_runs/{run['id']}")["state"]
        return state if state["type"] in TERMINAL else None

    state = wait_for(finished, timeout=RUN_TIMEOUT_S)
    assert state is not None, "the flow run did not finish"
    assert state["type"] == "COMPLETED", f"{state.get('message')}\n{server.log_tail()}"
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*), min(publish_date)::VARCHAR FROM publications").fetchone() == (
            16,
            "2026-11-24",
        )


# --- serve on its own server, as the README runs it ---------------------------------------------------------------


def _processes_with(environment_entry: str) -> list[int]:
    """Live processes whose environment holds ``NAME=VALUE`` (ours: the user's own processes are readable)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if environment_entry.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


def test_serve_starts_its_own_server_runs_a_night_each_minute_and_leaves_nothing_behind(tmp_path):
    """Night 1 completes; night 2 is killed with serve (SIGKILL); the next serve marks it crashed, runs night 3 and
    is stopped by Ctrl-C while it crawls. Nothing is left running, and no run RUNNING."""
    data = tmp_path / "data"
    marker = f"TENDERWATCH_TEST_SERVE={tmp_path}"  # finds every process serve started, whatever it became
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")},
        marker.split("=", 1)[0]: str(tmp_path),
    }
    command = [sys.executable, "flows.py", "serve", "--cron", "* * * * *", "--replay", str(DEMO_WARC), "--data-dir",
               str(data)]  # fmt: skip

    def start(name: str) -> tuple[subprocess.Popen, Path, str]:
        log = tmp_path / name
        with log.open("wb") as out:
            served = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)  # fmt: skip
        banner = wait_for(lambda: next((line for line in log.read_text().splitlines() if " at http://" in line), None),
                          timeout=SERVER_START_S + 60)  # fmt: skip
        assert banner, log.read_text()[-3000:]
        return served, log, banner.split(" at ", 1)[1].split(";", 1)[0]

    def nights_begun(log: Path) -> int:
        return log.read_text().count("Beginning subflow run")

    served, log, api = start("serve-1.out")
    try:
        assert api.startswith("http://127.0.0.1:") and api.endswith("/api")
        assert (data / "prefect" / "prefect.db").exists()  # the server's database lives with the data

        def completed_run():
            request = urllib.request.Request(
                f"{api}/flow_runs/filter", method="POST", headers={"Content-Type": "application/json"},
                data=json.dumps({"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}).encode(),
            )  # fmt: skip
            with urllib.request.urlopen(request, timeout=30) as answer:
                return [run for run in json.loads(answer.read()) if run["deployment_id"]]

        runs = wait_for(completed_run, timeout=RUN_TIMEOUT_S, interval=2)
        assert runs, log.read_text()[-3000:]
        assert wait_for(lambda: nights_begun(log) >= 2, timeout=RUN_TIMEOUT_S, interval=0.2)
        served.kill()  # SIGKILL to serve alone: its server, flow run and crawl must go with it
        served.wait(timeout=60)
        assert wait_for(lambda: not _processes_with(marker), timeout=60), "a killed serve left processes behind"

        served, log, api = start("serve-2.out")
        assert "crashed: left unfinished by a serve that was stopped or killed" in log.read_text()
        # Night 3: Ctrl-C (SIGINT to the whole group, as a terminal sends it) while it crawls.
        assert wait_for(lambda: nights_begun(log) >= 1, timeout=RUN_TIMEOUT_S, interval=0.2), log.read_text()[-3000:]
        os.killpg(served.pid, signal.SIGINT)
        served.wait(timeout=120)
    finally:
        if served.poll() is None:
            os.killpg(served.pid, signal.SIGKILL)
    assert served.returncode == 0, log.read_text()[-3000:]
    # Nothing is left RUNNING to hold the deployment's one slot (the server is stopped: its database is read).
    with sqlite3.connect(data / "prefect" / "prefect.db") as prefect_db:
        states = prefect_db.execute(
            "SELECT state_type, count(*) FROM flow_run WHERE deployment_id IS NOT NULL AND state_type <> 'SCHEDULED' "
            "GROUP BY state_type ORDER BY 1"
        ).fetchall()
    assert {state for state, _ in states} <= {"COMPLETED", "CANCELLED", "CRASHED"}, states
    assert dict(states)["CRASHED"] >= 1, states
    assert runs[0]["parameters"]["replay"] == str(DEMO_WARC)
    assert wait_for(lambda: not _processes_with(marker), timeout=60), "serve left processes behind"
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM publications").fetchone() == (16,)
        assert con.execute("SELECT DISTINCT verdict, replay FROM crawl_runs").fetchall() == [("ok", str(DEMO_WARC))]
