"""One source's crawl in its own ``scrapy crawl`` process, judged from the stats it dumps, never its exit code.

The command line is built here only (the flow and the crawl tests both use it). The spiders are named, not
imported: the crawl boundary is a process boundary, so nothing here depends on Scrapy's reactor or the spiders.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pipelines.ingest import verdicts
from pipelines.model import CrawlRun

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
# A whole crawl that takes longer than this is stuck; it is stopped and judged from what it managed.
CRAWL_TIMEOUT_S = 6 * 3600
# Days re-crawled before the last good crawl: notices are sometimes listed hours after their publish time.
OVERLAP_DAYS = 1
# In replay mode every archived notice is wanted unless a window is given.
REPLAY_FROM = date(2000, 1, 1)


@dataclass(frozen=True)
class CrawlRequest:
    """What one crawl of one source is asked to do."""

    source: str
    run_id: str
    from_date: str
    until_date: str | None = None
    sample: int | None = None
    # The WARC file or folder to answer from instead of the network.
    replay: str | None = None
    base_url: str | None = None
    # Scrapy settings (-s) and spider arguments (-a), e.g. DOWNLOAD_DELAY=10, mode=search.
    settings: dict[str, str] = field(default_factory=dict)
    spider_args: dict[str, str] = field(default_factory=dict)
    # A JSON file of notices earlier crawls listed but could not fetch (``pending_fetches``): fetched again first.
    pending: str | None = None
    # Fetch every listed notice again, stored or not (``--refetch``); otherwise the flow writes ``known``.
    refetch: bool = False
    # A JSON object of the notices stored already (``spiders.base.read_known``): listed ones are not fetched again.
    known: str | None = None
    # A JSON list of attachment URLs already stored: the crawl does not fetch them again.
    attachments_known: str | None = None


def crawl_command(
    source: str,
    items_path: Path,
    stats_path: Path,
    log_path: Path,
    settings: dict[str, str] | None = None,
    spider_args: dict[str, str] | None = None,
) -> list[str]:
    """``python -m scrapy crawl SOURCE`` writing items as JSONL and the stats dump, with settings and arguments."""
    command = [
        sys.executable, "-m", "scrapy", "crawl", source,
        "-O", f"{items_path}:jsonlines",
        "-s", f"TENDERWATCH_STATS_FILE={stats_path}",
        "-s", f"LOG_FILE={log_path}",
    ]  # fmt: skip
    for name, value in (settings or {}).items():
        command += ["-s", f"{name}={value}"]
    for name, value in (spider_args or {}).items():
        command += ["-a", f"{name}={value}"]
    return command


def crawl_environment() -> dict[str, str]:
    """The environment a crawl process needs: the project's settings module, found from any working directory."""
    return {**os.environ, "SCRAPY_SETTINGS_MODULE": "spiders.settings", "PYTHONPATH": str(ROOT)}


def run_crawl(request: CrawlRequest, run_dir: Path, archive_dir: Path, recent_items: list[int]) -> CrawlRun:
    """Crawl in a child process and judge it; ``recent_items`` are the source's usual notice counts (live only)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    items_path = run_dir / f"{request.source}.items.jsonl"
    stats_path = run_dir / f"{request.source}.stats.json"
    misses_path = run_dir / f"{request.source}.misses.jsonl"
    misses_path.unlink(missing_ok=True)
    attachments_path = attachments_log_path(run_dir, request.source)
    attachments_path.unlink(missing_ok=True)
    settings = {"TENDERWATCH_RUN_ID": request.run_id, "TENDERWATCH_ATTACHMENTS_FILE": str(attachments_path)}
    if request.attachments_known:
        settings["TENDERWATCH_ATTACHMENTS_KNOWN"] = request.attachments_known
    if request.replay:
        settings["TENDERWATCH_REPLAY"] = str(Path(request.replay).resolve())
    else:
        settings["TENDERWATCH_ARCHIVE_DIR"] = str(archive_dir.resolve())
        # Live only: a page missing from a replayed archive is counted, but no later night can fetch it from there.
        settings["TENDERWATCH_MISSES_FILE"] = str(misses_path)
    spider_args = {"from_date": request.from_date}
    optional = {"until_date": request.until_date, "sample": request.sample, "base_url": request.base_url,
                "pending": request.pending, "known": None if request.refetch else request.known}  # fmt: skip
    spider_args.update({name: str(value) for name, value in optional.items() if value})
    command = crawl_command(
        request.source,
        items_path,
        stats_path,
        run_dir / f"{request.source}.log",
        settings={**settings, **request.settings},
        spider_args={**spider_args, **request.spider_args},
    )
    started = datetime.now(UTC)
    try:
        returncode, stderr = _run_owned(command, CRAWL_TIMEOUT_S)
        process_error = stderr.strip().splitlines()[-1:] if returncode else []
    except subprocess.TimeoutExpired:
        process_error = [f"crawl stopped after {CRAWL_TIMEOUT_S} s"]
    finished = datetime.now(UTC)
    stats = json.loads(stats_path.read_text(encoding="utf-8")) if stats_path.exists() else None
    verdict = verdicts.judge(stats, [] if request.replay else recent_items)
    reason = verdict.reason
    if stats is None and process_error:
        reason = f"{reason} ({process_error[0]})"
    stats = stats or {}
    block_end = verdicts.blocked_until(stats, finished)
    return CrawlRun(
        run_id=request.run_id,
        source=request.source,
        started_at=started,
        finished_at=finished,
        from_date=date.fromisoformat(request.from_date),
        until_date=date.fromisoformat(request.until_date) if request.until_date else None,
        replay=str(request.replay) if request.replay else None,
        finish_reason=stats.get("finish_reason"),
        requests=stats.get("downloader/request_count", 0),
        responses=stats.get("downloader/response_count", 0),
        items=stats.get("item_scraped_count", 0),
        errors=stats.get("log_count/ERROR", 0),
        blocked=bool(stats.get("tenderwatch/blocked")),
        verdict=verdict.verdict,
        reason=reason,
        archive_path=stats.get("archive/path"),
        stats=json.dumps(stats, ensure_ascii=False),
        responses_by_status=json.dumps(verdicts.responses_by_status(stats)),
        empty_list_pages=stats.get("tenderwatch/empty_list_pages", 0),
        next_page_lost=stats.get("tenderwatch/next_page_lost", 0),
        prefilter_skipped=stats.get("tenderwatch/prefilter_skipped", 0),
        retry_after=stats.get("tenderwatch/retry_after"),
        blocked_until=block_end,
        list_pages_failed=stats.get("tenderwatch/list_pages_failed", 0),
        notices_missed=stats.get("tenderwatch/notices_missed", 0),
        already_stored=stats.get("tenderwatch/already_stored", 0),
        budget_reached=stats.get("tenderwatch/budget_reached", 0),
        items_path=str(items_path) if items_path.exists() else None,
        misses_path=str(misses_path) if misses_path.exists() else None,
    )


def attachments_log_path(run_dir: Path, source: str) -> Path:
    """The JSONL of attachments a crawl did not archive, and why (``spiders.attachments``)."""
    return run_dir / f"{source}.attachments.jsonl"


def owned_command(command: list[str]) -> list[str]:
    """``command`` started through ``pipelines.ingest.child``, so that it dies with this process."""
    return [sys.executable, "-m", "pipelines.ingest.child", str(os.getpid()), *command]


def _run_owned(command: list[str], timeout: float) -> tuple[int, str]:
    """Run a crawl in its own process group, tied to this process; a timeout kills the whole group."""
    process = subprocess.Popen(
        owned_command(command), cwd=ROOT, env=crawl_environment(), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        _, stderr = process.communicate(timeout=timeout)
    except BaseException:
        # A timeout, or this thread interrupted: nothing will read the crawl's results, so it must not go on.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    return process.returncode, stderr


def skipped_crawl(request: CrawlRequest, backoff: tuple[datetime, str]) -> CrawlRun:
    """The record of a source left alone because it is still inside the back-off of an earlier block."""
    until, why = backoff
    now = datetime.now(UTC)
    return CrawlRun(
        run_id=request.run_id, source=request.source, started_at=now, finished_at=now,
        from_date=date.fromisoformat(request.from_date),
        until_date=date.fromisoformat(request.until_date) if request.until_date else None,
        replay=None, finish_reason="backing_off", requests=0, responses=0, items=0, errors=0, blocked=True,
        verdict="blocked",
        reason=f"not crawled: backing off until {until.astimezone(SHANGHAI):%Y-%m-%d %H:%M %Z} after a block ({why})",
        archive_path=None, stats="{}", responses_by_status="{}", empty_list_pages=0, next_page_lost=0,
        prefilter_skipped=0, retry_after=None, blocked_until=until,
    )  # fmt: skip


def nightly_from_date(last_good: date | None, replay: bool, today: date) -> date:
    """Where a night's window starts: everything in a replay, else the last good crawl (or today) less the overlap."""
    if replay:
        return REPLAY_FROM
    return (last_good or today) - timedelta(days=OVERLAP_DAYS)


def backfill_plan(start: date, end: date, window_days: int) -> list[tuple[date, date]]:
    """Consecutive inclusive windows of ``window_days`` days from ``start`` to ``end``, oldest first."""
    if window_days < 1:
        raise ValueError(f"window_days must be at least 1, got {window_days}")
    windows = []
    while start <= end:
        last = min(start + timedelta(days=window_days - 1), end)
        windows.append((start, last))
        start = last + timedelta(days=1)
    return windows
