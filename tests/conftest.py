"""Shared test fixtures.

Third-party real pages and corpora live in ``../shared`` beside the repository and are read in place; tests that
need them skip with the reason when that folder is absent (a fresh clone without it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# Prefect sets up its console log handler when first imported, bound to the sys.stderr of that moment. The CLI imports
# the flows (and Prefect) only when a command runs one, which inside a test would bind the handler to that test's
# captured stream, closed by the next test. Importing the flows here binds it to the real stream, as in production.
import flows  # noqa: F401, E402

ROOT = Path(__file__).resolve().parent.parent
# Tests crawl ccgp's columns as they were written to, whatever the shipped tenderwatch.toml enables for real nights;
# a test about the settings themselves names its own file or unsets this.
os.environ.setdefault("TENDERWATCH_CONFIG", str(ROOT / "tests" / "data" / "tenderwatch.test.toml"))
SHARED = ROOT.parent / "shared"
REAL = SHARED / "fixtures" / "real"
CORPUS = SHARED / "corpus"


def shared_path(relative: str) -> Path:
    """A path under ``../shared``, or skip the calling test when it is not there."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"third-party data not available: {path} (../shared is absent)")
    return path


def real_page(relative: str) -> bytes:
    """Raw bytes of a real page under ``../shared/fixtures/real`` (skips when absent)."""
    return shared_path(f"fixtures/real/{relative}").read_bytes()


# --- a local web server for real crawls over HTTP ----------------------------------------------------------------

# A route answers (status, headers, body) for a path, or None to fall through to the served folder.
Route = Callable[[str], tuple[int, dict[str, str], bytes] | None]
# A POST route answers for a path and the request body; a POST no route answers gets 404.
PostRoute = Callable[[str, bytes], tuple[int, dict[str, str], bytes] | None]


class _Server(ThreadingHTTPServer):
    # Crawls open up to 16 connections at once; the default backlog of 5 can reset some of them.
    request_queue_size = 128


class LocalSite:
    """A folder served on 127.0.0.1, with optional routes that override answers (block pages, 429s…)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.routes: list[Route] = []
        self.post_routes: list[PostRoute] = []
        self.requests: list[str] = []
        # Paths whose streamed answer the client cut off (a download over its size cap).
        self.aborted: list[str] = []
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                site.requests.append(self.path)
                answer = next((a for route in site.routes if (a := route(self.path)) is not None), None)
                if answer is None:
                    super().do_GET()
                else:
                    self._send(*answer)

            def do_POST(self):  # noqa: N802 (http.server's naming)
                site.requests.append(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = next((a for route in site.post_routes if (a := route(self.path, body)) is not None), None)
                if answer is None:
                    self.send_error(404)
                else:
                    self._send(*answer)

            def _send(self, status: int, headers: dict[str, str], body: bytes | Iterator[bytes]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if isinstance(body, bytes):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if isinstance(body, bytes):
                    self.wfile.write(body)
                    return
                # A streamed body (a huge file): written chunk by chunk until the client hangs up.
                try:
                    for chunk in body:
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    site.aborted.append(self.path)

            def end_headers(self):
                # http.server (HTTP/1.0) hangs up after every answer. Unless it says so, Twisted keeps the connection
                # in its pool, and a POST later sent on it is lost (Twisted retries only GETs on a dead pooled
                # connection): about one list request in five, under load.
                self.send_header("Connection", "close")
                super().end_headers()

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> LocalSite:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local_site() -> Iterator[Callable[[Path], LocalSite]]:
    """Factory: ``local_site(folder)`` serves ``folder`` on 127.0.0.1 until the test ends."""
    started: list[LocalSite] = []

    def serve(folder: Path) -> LocalSite:
        site = LocalSite(folder).__enter__()
        started.append(site)
        return site

    yield serve
    for site in started:
        site.__exit__(None, None, None)


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server and database for every test that runs a flow."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


# The longest files, longest first: files whose time is mostly waiting (the serve test waits for three cron minutes)
# or that run many nights. Handed to the workers first (`make test` passes --no-loadscope-reorder, without which
# xdist orders files by their number of tests), so their waits overlap the other files' work and the run ends on
# many short files instead of one long one on one core.
LONG_FILES = (
    "tests/test_schedule.py",
    "tests/test_nightly_publishing.py",
    "tests/test_operations.py",
    "tests/test_completeness.py",
    "tests/test_cli.py",
    "tests/test_flows.py",
    "tests/pipelines/ingest/test_reprocess_portals.py",
    "tests/test_backfill.py",
    "tests/test_attachments_night.py",
    "tests/test_blocks.py",
    "tests/test_matching_commands.py",
    "tests/test_analyst_queries.py",
    "tests/test_bench.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(ROOT).as_posix()
        return LONG_FILES.index(path) if path in LONG_FILES else len(LONG_FILES)

    items.sort(key=rank)  # stable: the order within a file, and of the other files, is kept
