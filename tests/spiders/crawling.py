"""Running a real crawl in its own process (as the flow does) against a local server, for the portal tests."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from pipelines.ingest.crawl import crawl_command, crawl_environment
from tests.conftest import ROOT

# Local crawls need no politeness: the server is ours.
FAST = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
        "ROBOTSTXT_OBEY": "False"}  # fmt: skip

Answer = tuple[int, dict[str, str], bytes]


def crawl(tmp_path: Path, spider: str, label: str, *args: str) -> tuple[list[dict], dict]:
    """Run `scrapy crawl SPIDER` in its own process as the flow does; returns its items and its stats dump.

    ``args`` are ``-s NAME=VALUE`` and ``-a NAME=VALUE`` pairs, as on the scrapy command line.
    """
    items = tmp_path / f"{label}.jsonl"
    stats = tmp_path / f"{label}.stats.json"
    settings, spider_args = dict(FAST), {}
    for flag, pair in zip(args[::2], args[1::2], strict=True):
        name, _, value = pair.partition("=")
        {"-s": settings, "-a": spider_args}[flag][name] = value
    command = crawl_command(spider, items, stats, tmp_path / f"{label}.log", settings, spider_args)
    subprocess.run(command, cwd=ROOT, env=crawl_environment(), check=True, timeout=300)
    lines = items.read_text(encoding="utf-8").splitlines() if items.exists() else []
    return [json.loads(line) for line in lines], json.loads(stats.read_text(encoding="utf-8"))


def file_route(folder: Path, content_type: str = "text/html") -> Callable[[str], Answer | None]:
    """A GET route serving ``folder/<path with '?' as '@'>``, so pages with query strings can be recorded files."""

    def route(path: str) -> Answer | None:
        file = folder / path.lstrip("/").replace("?", "@")
        if not file.is_file():
            return None
        return 200, {"Content-Type": content_type}, file.read_bytes()

    return route


def json_answer(body: bytes, status: int = 200) -> Answer:
    return status, {"Content-Type": "application/json;charset=UTF-8"}, body
