"""Running a real crawl in its own process (as the flow does) against a local server, for the portal tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ROOT

# Local crawls need no politeness: the server is ours.
FAST = [
    "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    "-s", "ROBOTSTXT_OBEY=False",
]  # fmt: skip

Answer = tuple[int, dict[str, str], bytes]


def crawl(tmp_path: Path, spider: str, label: str, *args: str) -> tuple[list[dict], dict]:
    """Run `scrapy crawl SPIDER` in its own process; returns its items and its stats dump."""
    items = tmp_path / f"{label}.jsonl"
    stats = tmp_path / f"{label}.stats.json"
    command = [
        sys.executable, "-m", "scrapy", "crawl", spider,
        "-O", f"{items}:jsonlines",
        "-s", f"TENDERWATCH_STATS_FILE={stats}",
        "-s", f"LOG_FILE={tmp_path / label}.log",
        *FAST, *args,
    ]  # fmt: skip
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "spiders.settings"}
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=300)
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
