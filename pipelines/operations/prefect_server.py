"""The Prefect server ``serve`` needs: one it starts and owns (database under the data directory), or the operator's.

Prefect's temporary server, which a command starts when no ``PREFECT_API_URL`` is set, runs no scheduler: a
deployment served against it never fires. So ``serve`` starts ``prefect server start`` as its child, on 127.0.0.1
and a free port, with ``PREFECT_HOME`` (and so its SQLite database) in ``<data_dir>/prefect``, its log in
``<data_dir>/logs/prefect-server.log``, tied to ``serve`` like a crawl (own process group, killed when ``serve``
dies), and stops it on exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

# A server's first start creates and migrates its database: 10-20 s here, far more on a loaded machine.
START_TIMEOUT_S = 180
# Runs that no process can be running any more once ``serve`` is gone (or before it starts on its own server).
UNFINISHED_STATES = ("RUNNING", "PENDING", "CANCELLING")


class ServerError(Exception):
    """No Prefect server to serve against: one line saying why."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(api_url: str, timeout: float = 5) -> bool:
    # urllib is imported where it is used: the CLI imports this module for ServerError alone, and urllib.request
    # (http.client, email…) was a tenth of the start-up of commands that never talk to a server.
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


class LocalServer:
    """``prefect server start`` as a child process with its home under ``home``; a context manager."""

    def __init__(self, home: Path, log_path: Path, start_timeout: float = START_TIMEOUT_S):
        self.home = home
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.process: subprocess.Popen | None = None

    def environment(self) -> dict[str, str]:
        # The operator's own Prefect profile or server must not leak into ours.
        inherited = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_PROFILE")}
        return {
            **inherited,
            "PREFECT_HOME": str(self.home),
            "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{self.home / 'prefect.db'}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": os.environ.get("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
        }

    def __enter__(self) -> LocalServer:
        # Imported here: the CLI imports this module for ServerError, and the crawl module brings the data model and
        # pyarrow with it, a third of the start-up of commands that start no server.
        from pipelines.ingest.crawl import owned_command

        self.home.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port",
                   str(self.port)]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                owned_command(command), env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + self.start_timeout
        while not answers(self.api_url, timeout=2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                why = "exited" if self.process.poll() is not None else f"did not answer within {self.start_timeout} s"
                self.stop()
                raise ServerError(f"the local Prefect server {why}; see {self.log_path}: {self.log_tail()}")
            time.sleep(0.5)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_tail(self, lines: int = 3) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def crash_unfinished_runs(api_url: str, flow_name: str, deployment: str, why: str) -> list[str]:
    """Mark the deployment's runs that no process is running any more as Crashed; returns their names.

    Called when ``serve`` stops (its runs die with it) and when it starts on its own server (a killed ``serve``
    left them): a run left RUNNING would hold the deployment's one concurrency slot, and every later night would be
    cancelled while it does.
    """
    import urllib.error

    base = api_url.rstrip("/")
    try:
        found = _api(base, "GET", f"/deployments/name/{flow_name}/{deployment}")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise
    runs = _api(base, "POST", "/flow_runs/filter", {
        "deployments": {"id": {"any_": [found["id"]]}},
        "flow_runs": {"state": {"type": {"any_": list(UNFINISHED_STATES)}}},
    })  # fmt: skip
    crashed = []
    for run in runs:
        state = {"type": "CRASHED", "name": "Crashed", "message": why}
        _api(base, "POST", f"/flow_runs/{run['id']}/set_state", {"state": state, "force": True})
        crashed.append(run["name"])
    return crashed


def _api(base: str, method: str, path: str, body: dict | None = None):
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{base}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"null")
