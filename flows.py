"""tenderwatch flows and command line.

    python flows.py nightly [--replay PATH] [--data-dir DIR] [--sources ccgp,…] [--from YYYY-MM-DD] [--until …]
    python flows.py serve [--config FILE] [--cron EXPR] [--timezone TZ]
    python flows.py parse FILE --url URL
    python flows.py match-text [--title T] [--date YYYY-MM-DD] [--notice-type X] < notice.txt
    python flows.py match-text --jsonl FILE
    python flows.py evaluate LABELS.jsonl
    python flows.py rematch
    python flows.py health
    python flows.py backfill --from YYYY-MM-DD [--until …] [--sources ccgp,…] [--window-days 7] [--max-windows N]
    python flows.py check-sources [--sources ccgp,…]
    python flows.py export-ocds [--since YYYY-MM-DD] OUT
    python flows.py translate [--engine glossary|libretranslate] [--lang en] [--url URL] [--limit N]
    python flows.py reprocess

The nightly flow: crawl each source in its own ``scrapy crawl`` process → normalize → store → match → publish the
newly matched notices → publish the analysts' snapshot. Tasks take and return paths, never connections.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, Failed

ROOT = Path(__file__).resolve().parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_SOURCES = ("ccgp",)
HEALTHY = ("ok", "degraded")
# Days re-crawled before the last good crawl: notices are sometimes listed hours after their publish time.
OVERLAP_DAYS = 1
# A whole crawl that takes longer than this is stuck; it is stopped and judged from what it managed.
CRAWL_TIMEOUT_S = 6 * 3600
# In replay mode every archived notice is wanted unless a window is given.
REPLAY_FROM = date(2000, 1, 1)


def data_dir_default() -> Path:
    return Path(os.environ.get("TENDERWATCH_DATA_DIR", "data"))


def load_settings(config: str | None = None):
    """The validated settings (``pipelines/config.py``); raises ConfigError naming every bad key."""
    from pipelines import config as settings

    return settings.load(config)


def check_reviewed_data() -> None:
    """Fail before any work when the rules or the watch-list cannot be read; each error names the file and where."""
    from pipelines.matching import watchlist
    from pipelines.matching.engine import Matcher

    Matcher.load(os.environ.get("TENDERWATCH_RULES") or None)
    watchlist.read_watchlist()


@dataclass(frozen=True)
class Paths:
    """Where everything lives under one data directory."""

    root: Path

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def work_db(self) -> Path:
        return self.root / "work" / "warehouse.duckdb"

    @property
    def runs(self) -> Path:
        return self.root / "work" / "runs"

    @property
    def published(self) -> Path:
        return self.root / "published"

    @property
    def snapshot(self) -> Path:
        return self.root / "tenders.duckdb"

    @property
    def parquet(self) -> Path:
        return self.root / "parquet"


# --- tasks -------------------------------------------------------------------------------------------------------
# Every task has side effects (files, the database), so none may be skipped by Prefect's result cache.


@task(name="crawl", cache_policy=NO_CACHE)
def crawl_source(
    source: str,
    run_id: str,
    data_dir: str,
    replay: str | None,
    from_date: str,
    until_date: str | None,
    sample: int | None,
    base_url: str | None = None,
    settings: dict[str, str] | None = None,
    spider_args: dict[str, str] | None = None,
) -> dict:
    """Run one spider in its own process and judge the crawl from its stats.

    ``spider_args`` are passed as ``-a NAME=VALUE`` (``prefilter``, ``mode``, ``list_only`` …).
    """
    from pipelines.ingest import verdicts as health
    from pipelines.storage import store

    paths = Paths(Path(data_dir))
    run_dir = paths.runs / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    items_path = run_dir / f"{source}.items.jsonl"
    stats_path = run_dir / f"{source}.stats.json"
    log_path = run_dir / f"{source}.log"
    command = [
        sys.executable, "-m", "scrapy", "crawl", source,
        "-O", f"{items_path}:jsonlines",
        "-s", f"TENDERWATCH_STATS_FILE={stats_path}",
        "-s", f"TENDERWATCH_RUN_ID={run_id}",
        "-s", f"LOG_FILE={log_path}",
        "-a", f"from_date={from_date}",
    ]  # fmt: skip
    if replay:
        command += ["-s", f"TENDERWATCH_REPLAY={Path(replay).resolve()}"]
    else:
        command += ["-s", f"TENDERWATCH_ARCHIVE_DIR={paths.archive.resolve()}"]
    if until_date:
        command += ["-a", f"until_date={until_date}"]
    if sample:
        command += ["-a", f"sample={sample}"]
    if base_url:
        command += ["-a", f"base_url={base_url}"]
    for name, value in (settings or {}).items():
        command += ["-s", f"{name}={value}"]
    for name, value in (spider_args or {}).items():
        command += ["-a", f"{name}={value}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "spiders.settings", "PYTHONPATH": str(ROOT)}
    started = datetime.now(UTC)
    try:
        completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=CRAWL_TIMEOUT_S)
        process_error = completed.stderr.strip().splitlines()[-1:] if completed.returncode else []
    except subprocess.TimeoutExpired:
        process_error = [f"crawl stopped after {CRAWL_TIMEOUT_S} s"]
    finished = datetime.now(UTC)
    stats = json.loads(stats_path.read_text(encoding="utf-8")) if stats_path.exists() else None
    with store.session(paths.work_db) as con:
        recent = [
            row[0]
            for row in con.execute(
                # Open-ended crawls only: a backfill window or a narrowed run holds another number of days.
                "SELECT items FROM crawl_runs WHERE source = ? AND verdict = 'ok' AND replay IS NULL "
                "AND until_date IS NULL ORDER BY started_at DESC LIMIT 7",
                [source],
            ).fetchall()
        ]
    verdict = health.judge(stats, [] if replay else recent)
    reason = verdict.reason
    if stats is None and process_error:
        reason = f"{reason} ({process_error[0]})"
    stats = stats or {}
    block_end = health.blocked_until(stats, finished)
    return {
        "run_id": run_id,
        "source": source,
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "from_date": from_date,
        "until_date": until_date,
        "replay": str(replay) if replay else None,
        "finish_reason": stats.get("finish_reason"),
        "requests": stats.get("downloader/request_count", 0),
        "responses": stats.get("downloader/response_count", 0),
        "items": stats.get("item_scraped_count", 0),
        "errors": stats.get("log_count/ERROR", 0),
        "blocked": bool(stats.get("tenderwatch/blocked")),
        "verdict": verdict.verdict,
        "reason": reason,
        "archive_path": stats.get("archive/path"),
        "stats": json.dumps(stats, ensure_ascii=False),
        "items_path": str(items_path) if items_path.exists() else None,
        "responses_by_status": json.dumps(health.responses_by_status(stats)),
        "empty_list_pages": stats.get("tenderwatch/empty_list_pages", 0),
        "next_page_lost": stats.get("tenderwatch/next_page_lost", 0),
        "prefilter_skipped": stats.get("tenderwatch/prefilter_skipped", 0),
        "retry_after": stats.get("tenderwatch/retry_after"),
        "blocked_until": block_end.isoformat() if block_end else None,
    }


def skipped_crawl(source: str, run_id: str, from_date: str, until_date: str | None, backoff: tuple) -> dict:
    """The crawl record of a source left alone because it is still inside the back-off of an earlier block."""
    until, reason = backoff
    now = datetime.now(UTC).isoformat()
    return {
        "run_id": run_id, "source": source, "started_at": now, "finished_at": now, "from_date": from_date,
        "until_date": until_date, "replay": None, "finish_reason": "backing_off", "requests": 0, "responses": 0,
        "items": 0, "errors": 0, "blocked": True, "verdict": "blocked",
        "reason": f"not crawled: backing off until {until.astimezone(SHANGHAI):%Y-%m-%d %H:%M %Z} after a block "
                  f"({reason})",
        "archive_path": None, "stats": "{}", "items_path": None, "responses_by_status": "{}", "empty_list_pages": 0,
        "next_page_lost": 0, "prefilter_skipped": 0, "retry_after": None, "blocked_until": until.isoformat(),
    }  # fmt: skip


@task(name="normalize", cache_policy=NO_CACHE)
def normalize_items(items_path: str | None, out_path: str) -> dict:
    """Normalize one crawl's raw notices into a JSONL batch of notices; a bad page is a parse error, not a loss."""
    from pipelines.ingest.normalize import normalize, to_json
    from spiders.registry import PORTALS

    count = errors = unreadable = 0
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as sink:
        if items_path and Path(items_path).exists():
            with Path(items_path).open(encoding="utf-8") as items:
                for line in items:
                    if not line.strip():
                        continue
                    try:
                        raw = json.loads(line)
                    except json.JSONDecodeError:
                        # A crawl killed mid-write leaves a torn last line: count it, keep the rest.
                        unreadable += 1
                        continue
                    notice = normalize(raw, PORTALS)
                    notice["fetched_at"] = raw.get("fetched_at")
                    sink.write(to_json(notice, exact_amounts=True) + "\n")
                    count += 1
                    errors += bool(notice.get("parse_error"))
    return {"notices": count, "parse_errors": errors, "unreadable_items": unreadable, "path": str(out)}


@task(name="store", cache_policy=NO_CACHE)
def store_notices(notices_paths: list[str], db_path: str, run_id: str) -> dict:
    from pipelines.storage import store

    notices = [n for path in notices_paths for n in store.read_jsonl(path)]
    table = store.notices_to_arrow(notices, run_id, datetime.now(UTC))
    with store.session(db_path) as con:
        inserted, updated = store.upsert_notices(con, table)
    return {"inserted": inserted, "updated": updated}


@task(name="record-crawl-runs", cache_policy=NO_CACHE)
def record_crawl_runs(crawls: list[dict], db_path: str) -> None:
    import pyarrow as pa

    from pipelines.storage import store

    columns = [
        "run_id", "source", "started_at", "finished_at", "from_date", "until_date", "replay", "finish_reason",
        "requests", "responses", "items", "errors", "blocked", "verdict", "reason", "archive_path", "stats",
        "responses_by_status", "empty_list_pages", "next_page_lost", "prefilter_skipped", "retry_after",
        "blocked_until",
    ]  # fmt: skip
    rows = [{name: crawl.get(name) for name in columns} for crawl in crawls]
    for row in rows:
        row["started_at"] = datetime.fromisoformat(row["started_at"])
        row["finished_at"] = datetime.fromisoformat(row["finished_at"])
        row["blocked_until"] = datetime.fromisoformat(row["blocked_until"]) if row["blocked_until"] else None
        row["from_date"] = date.fromisoformat(row["from_date"]) if row["from_date"] else None
        row["until_date"] = date.fromisoformat(row["until_date"]) if row["until_date"] else None
    table = pa.Table.from_pylist(rows)
    with store.session(db_path) as con:
        con.register("crawl_batch", table)
        con.execute(
            f"INSERT OR REPLACE INTO crawl_runs ({', '.join(columns)}) SELECT {', '.join(columns)} FROM crawl_batch"
        )


@task(name="match", cache_policy=NO_CACHE)
def match_notices(db_path: str) -> dict:
    from pipelines.matching.engine import Matcher
    from pipelines.matching.pending import match_pending
    from pipelines.storage import store

    # TENDERWATCH_RULES points at another rules file (a candidate under review, a test's variant).
    matcher = Matcher.load(os.environ.get("TENDERWATCH_RULES") or None)
    with store.session(db_path) as con:
        summary = match_pending(con, matcher)
    return {**asdict(summary), "rules_version": matcher.rules_version}


@task(name="publish-digest", cache_policy=NO_CACHE)
def publish_digest(db_path: str, data_dir: str, run_id: str, publish_date: str, config: str | None = None) -> dict:
    """Publish tonight's new matches (and any a crashed run left pending); leaves the delivery message on disk."""
    from pipelines.matching import watchlist
    from pipelines.publishing import ledger as publish
    from pipelines.storage import store

    settings = load_settings(config)
    paths = Paths(Path(data_dir))
    with store.session(db_path) as con:
        # Reloaded every night, so an edit of watchlist.toml shows in the next digest and view.
        watchlist.load_watchlist(con)
        digest = publish.publish(
            con, paths.published, run_id, date.fromisoformat(publish_date), datetime.now(UTC), settings.outputs
        )
    message_path = paths.runs / run_id / "delivery.json"
    publish.write_atomic(message_path, publish.delivery_message(digest).to_json())
    return {
        "new": digest.new,
        "total": digest.total,
        "announced": len(digest.announced),
        "recovered": [day.isoformat() for day in digest.recovered],
        "markdown": digest.markdown,
        "table": publish.artifact_table(digest.rows),
        "paths": [str(p) for p in digest.paths],
        "message_path": str(message_path),
    }


@task(name="publish-snapshot", cache_policy=NO_CACHE)
def publish_snapshot(db_path: str, snapshot_path: str, parquet_dir: str | None = None) -> str:
    from pipelines.storage import store

    return str(store.publish_snapshot(db_path, snapshot_path, parquet_dir))


@task(name="deliver-digest", cache_policy=NO_CACHE)
def deliver_digest(db_path: str, run_id: str, message_path: str, announced: int, config: str | None = None) -> list:
    """Webhook and e-mail, when configured; every failure is logged and recorded, none fails the run."""
    from pipelines.publishing import delivery
    from pipelines.storage import store

    logger = get_run_logger()
    try:
        settings = load_settings(config).delivery
        if not (settings.webhook.url or settings.email.smtp_host) or not (announced or settings.send_empty):
            return []
        message = delivery.Message.from_json(Path(message_path).read_bytes())
        outcomes = delivery.deliver(message, settings)
        with store.session(db_path) as con:
            delivery.record(con, run_id, message, outcomes)
    except Exception as error:  # noqa: BLE001 (delivery must never fail the night)
        logger.warning("delivery skipped: %s: %s", type(error).__name__, error)
        return [{"channel": "all", "status": "failed", "error": f"{type(error).__name__}: {error}"}]
    for outcome in outcomes:
        if outcome.status != "sent":
            logger.warning("delivery by %s to %s failed: %s", outcome.channel, outcome.target, outcome.error)
    return [asdict(outcome) for outcome in outcomes]


@task(name="derive", cache_policy=NO_CACHE)
def derive_notices(db_path: str) -> dict:
    """After notices are stored: link processes (ocid), segment new text, refresh the glossary and its translations."""
    from pipelines.publishing import translate
    from pipelines.storage import processes, store

    with store.session(db_path) as con:
        linked = processes.assign_ocids(con)
        segmented = translate.segment_pending(con)
        terms = translate.load_glossary(con)
        glossed = translate.translate_pending(con, translate.make_engine("glossary", con, "en"), "en")
    return {
        "processes": asdict(linked),
        "segments": asdict(segmented),
        "glossary_terms": terms,
        "glossary_translations": glossed.translated,
    }


def last_good_crawl_date(db_path: Path, source: str) -> date | None:
    from pipelines.storage import store

    with store.session(db_path) as con:
        value = store.scalar(
            con,
            # Only open-ended crawls reach up to their start: a backfill window or an --until run does not.
            "SELECT max(started_at) FROM crawl_runs WHERE source = ? AND verdict IN ('ok', 'degraded') "
            "AND replay IS NULL AND until_date IS NULL",
            [source],
        )
    return value.astimezone(SHANGHAI).date() if value else None


def active_backoff(db_path: Path, source: str, now: datetime) -> tuple[datetime, str] | None:
    """(until, why) when the source's latest live crawl was blocked and asked us to stay away past ``now``."""
    from pipelines.storage import store

    if not Path(db_path).exists():
        return None
    with store.session(db_path) as con:
        rows = con.execute(
            "SELECT blocked_until, reason FROM crawl_runs WHERE source = ? AND replay IS NULL "
            "AND finish_reason IS DISTINCT FROM 'backing_off' ORDER BY started_at DESC LIMIT 1",
            [source],
        ).fetchall()
    if not rows or rows[0][0] is None or rows[0][0] <= now:
        return None
    return rows[0][0], rows[0][1]


def publish_night(
    paths: Paths, run_id: str, publish_date: str | None, config: str | None, artifact_prefix: str
) -> tuple[dict, list]:
    """The end of every flow that can produce matches: digest and artifacts, snapshot and Parquet, delivery."""
    publish_date = publish_date or datetime.now(SHANGHAI).date().isoformat()
    digest = publish_digest(str(paths.work_db), str(paths.root), run_id, publish_date, config)
    create_markdown_artifact(
        key=f"{artifact_prefix}-digest", markdown=digest["markdown"], description=f"tenderwatch digest {publish_date}"
    )
    if digest["table"]:
        create_table_artifact(
            key=f"{artifact_prefix}-matches", table=digest["table"], description=f"tenderwatch matches {publish_date}"
        )
    publish_snapshot(str(paths.work_db), str(paths.snapshot), str(paths.parquet))
    # After the snapshot: analysts get tonight's data even while a slow endpoint is being retried.
    deliveries = deliver_digest(str(paths.work_db), run_id, digest["message_path"], digest["announced"], config)
    return digest, deliveries


@flow(name="nightly", log_prints=True)
def nightly(
    data_dir: str = "data",
    replay: str | None = None,
    sources: list[str] | None = None,
    from_date: str | None = None,
    until_date: str | None = None,
    sample: int | None = None,
    base_urls: dict[str, str] | None = None,
    crawl_settings: dict[str, str] | None = None,
    spider_args: dict[str, str] | None = None,
    ignore_backoff: bool = False,
    config: str | None = None,
    publish_date: str | None = None,
):
    """Crawl → normalize → store → match → publish; returns a Failed state when any source is unhealthy.

    A source still inside the back-off of an earlier block is not crawled and is reported ``blocked`` (never as "no
    new notices") unless ``ignore_backoff``; its window stays open, since ``from_date`` follows the last good crawl.
    ``config`` is the settings file for outputs and delivery (validated before any work); ``publish_date`` dates
    the digest (default: today in Asia/Shanghai).
    """
    logger = get_run_logger()
    load_settings(config)
    check_reviewed_data()
    paths = Paths(Path(data_dir))
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    sources = list(sources or DEFAULT_SOURCES)
    futures = []
    skipped = []
    for source in sources:
        start = from_date
        if start is None:
            if replay:
                start = REPLAY_FROM.isoformat()
            else:
                last = last_good_crawl_date(paths.work_db, source)
                today = datetime.now(SHANGHAI).date()
                start = ((last or today) - timedelta(days=OVERLAP_DAYS)).isoformat()
        backoff = None if replay or ignore_backoff else active_backoff(paths.work_db, source, datetime.now(UTC))
        if backoff:
            skipped.append(skipped_crawl(source, run_id, start, until_date, backoff))
            continue
        futures.append(
            crawl_source.submit(
                source,
                run_id,
                data_dir,
                replay,
                start,
                until_date,
                sample,
                (base_urls or {}).get(source),
                crawl_settings,
                spider_args,
            )
        )
    crawls = [future.result() for future in futures] + skipped
    record_crawl_runs(crawls, str(paths.work_db))
    batches = [
        normalize_items(crawl["items_path"], str(paths.runs / run_id / f"{crawl['source']}.notices.jsonl"))
        for crawl in crawls
    ]
    stored = store_notices([batch["path"] for batch in batches], str(paths.work_db), run_id)
    derive_notices(str(paths.work_db))
    matched = match_notices(str(paths.work_db))
    digest, deliveries = publish_night(paths, run_id, publish_date, config, artifact_prefix="nightly")
    summary = {
        "run_id": run_id,
        "sources": {c["source"]: {"verdict": c["verdict"], "reason": c["reason"], "items": c["items"]}
                    for c in crawls},
        "notices": sum(b["notices"] for b in batches),
        "parse_errors": sum(b["parse_errors"] for b in batches),
        "stored": stored,
        "matched": matched,
        "published": {"new": digest["new"], "total_for_date": digest["total"], "paths": digest["paths"],
                      "recovered_dates": digest["recovered"]},
        "deliveries": deliveries,
        "snapshot": str(paths.snapshot),
        "parquet": str(paths.parquet),
    }  # fmt: skip
    logger.info("nightly summary: %s", json.dumps(summary, ensure_ascii=False))
    unhealthy = [c for c in crawls if c["verdict"] not in HEALTHY]
    if unhealthy:
        lines = "; ".join(f"{c['source']}: {c['verdict']} ({c['reason']})" for c in unhealthy)
        return Failed(message=f"unhealthy sources: {lines}", data=summary)
    return Completed(message="all sources healthy", data=summary)


# --- backfill: history in date windows, resumable --------------------------------------------------------------


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


def finished_backfill_windows(db_path: Path) -> set[tuple[str, date, date]]:
    from pipelines.storage import store

    with store.session(db_path) as con:
        rows = con.execute("SELECT source, window_from, window_until FROM backfill_windows").fetchall()
    return {(source, start, end) for source, start, end in rows}


@task(name="record-backfill-windows", cache_policy=NO_CACHE)
def record_backfill_windows(crawls: list[dict], db_path: str) -> None:
    """Mark the windows of these healthy crawls finished, so a resumed backfill skips them."""
    from pipelines.storage import store

    with store.session(db_path) as con:
        for crawl in crawls:
            con.execute(
                "INSERT OR REPLACE INTO backfill_windows VALUES (?, ?, ?, ?, ?, ?, ?)",
                [crawl["source"], crawl["from_date"], crawl["until_date"], crawl["run_id"], crawl["verdict"],
                 crawl["items"], datetime.fromisoformat(crawl["finished_at"])],
            )  # fmt: skip


@flow(name="backfill")
def backfill(
    data_dir: str,
    from_date: str,
    until_date: str,
    sources: list[str] | None = None,
    window_days: int = 7,
    replay: str | None = None,
    base_urls: dict[str, str] | None = None,
    crawl_settings: dict[str, str] | None = None,
    spider_args: dict[str, str] | None = None,
    max_windows: int | None = None,
    ignore_backoff: bool = False,
):
    """Walk history in date windows: per window one crawl per source, then normalize → store → match.

    Finished (source, window) pairs are recorded in ``backfill_windows``; a re-run skips them, so an interrupted
    backfill resumes where it stopped. A source that is blocked or broken in a window is left out of the later
    windows of this run (more requests only prolong a block). Nothing is published here: the next nightly run
    publishes the new matches once (docs/decisions.md). Prints one progress line per window.
    """
    logger = get_run_logger()
    check_reviewed_data()
    paths = Paths(Path(data_dir))
    sources = list(sources or DEFAULT_SOURCES)
    windows = backfill_plan(date.fromisoformat(from_date), date.fromisoformat(until_date), window_days)
    done = finished_backfill_windows(paths.work_db)
    active = list(sources)
    failures: dict[str, str] = {}
    processed = 0
    stored_total = {"notices": 0, "inserted": 0}
    lines = []

    def progress(line: str) -> None:
        lines.append(line)
        print(line, flush=True)
        logger.info(line)

    for index, (start, end) in enumerate(windows, 1):
        label = f"[{index}/{len(windows)}] {start} … {end}"
        todo = [source for source in active if (source, start, end) not in done]
        if not todo:
            progress(f"{label}: " + ("already done" if active else "skipped: no healthy source left"))
            continue
        if max_windows is not None and processed >= max_windows:
            progress(f"{label}: not started (--max-windows {max_windows}); run the same command again to go on")
            break
        run_id = "backfill-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        futures, crawls = [], []
        for source in todo:
            backoff = None if replay or ignore_backoff else active_backoff(paths.work_db, source, datetime.now(UTC))
            if backoff:
                crawls.append(skipped_crawl(source, run_id, start.isoformat(), end.isoformat(), backoff))
                continue
            futures.append(
                crawl_source.submit(
                    source, run_id, data_dir, replay, start.isoformat(), end.isoformat(), None,
                    (base_urls or {}).get(source), crawl_settings, spider_args,
                )
            )  # fmt: skip
        crawls = [future.result() for future in futures] + crawls
        record_crawl_runs(crawls, str(paths.work_db))
        batches = [
            normalize_items(crawl["items_path"], str(paths.runs / run_id / f"{crawl['source']}.notices.jsonl"))
            for crawl in crawls
        ]
        stored = store_notices([batch["path"] for batch in batches], str(paths.work_db), run_id)
        derive_notices(str(paths.work_db))
        match_notices(str(paths.work_db))
        healthy = [crawl for crawl in crawls if crawl["verdict"] in HEALTHY]
        record_backfill_windows(healthy, str(paths.work_db))
        for crawl in crawls:
            if crawl["verdict"] not in HEALTHY:
                failures[crawl["source"]] = f"{crawl['verdict']} in {start} … {end}: {crawl['reason']}"
                active.remove(crawl["source"])
        processed += 1
        notices = sum(batch["notices"] for batch in batches)
        stored_total["notices"] += notices
        stored_total["inserted"] += stored["inserted"]
        verdicts = ", ".join(f"{c['source']} {c['verdict']}" for c in crawls)
        progress(f"{label}: {verdicts}; {notices} notices ({stored['inserted']} new)")
    publish_snapshot(str(paths.work_db), str(paths.snapshot), str(paths.parquet))
    finished = finished_backfill_windows(paths.work_db)
    remaining = sum((source, start, end) not in finished for source in sources for start, end in windows)
    summary = {
        "windows": len(windows),
        "remaining": remaining,
        "notices": stored_total["notices"],
        "inserted": stored_total["inserted"],
        "failures": failures,
        "lines": lines,
        "snapshot": str(paths.snapshot),
    }
    if failures:
        message = "; ".join(f"{source}: {why}" for source, why in failures.items())
        return Failed(message=f"backfill stopped for: {message}", data=summary)
    return Completed(message=f"{remaining} source window(s) left", data=summary)


@flow(name="rematch", log_prints=True)
def rematch(data_dir: str = "data", config: str | None = None) -> dict:
    """After a rules change: re-match the whole history in batches, publish what newly matches, refresh the snapshot."""
    load_settings(config)
    check_reviewed_data()
    paths = Paths(Path(data_dir))
    run_id = "rematch-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    matched = match_notices(str(paths.work_db))
    digest, deliveries = publish_night(paths, run_id, None, config, artifact_prefix="rematch")
    return {
        "matched": matched,
        "published": {"new": digest["new"], "paths": digest["paths"]},
        "deliveries": deliveries,
    }


@task(name="reprocess-archive", cache_policy=NO_CACHE)
def reprocess_archive(archive: str, db_path: str, run_id: str) -> dict:
    from pipelines.ingest.reprocess import reprocess_archive as rebuild
    from pipelines.storage import store
    from spiders.registry import PORTALS

    with store.session(db_path) as con:
        return asdict(rebuild(con, archive, run_id, PORTALS))


@flow(name="reprocess", log_prints=True)
def reprocess(data_dir: str = "data") -> dict:
    """Rebuild notices from the WARC archive with the current parser (no network), then everything derived.

    Notices that now match are left for the next nightly run to publish (its ledger picks them up).
    """
    paths = Paths(Path(data_dir))
    run_id = "reprocess-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    rebuilt = reprocess_archive(str(paths.archive), str(paths.work_db), run_id)
    derived = derive_notices(str(paths.work_db))
    matched = match_notices(str(paths.work_db))
    publish_snapshot(str(paths.work_db), str(paths.snapshot), str(paths.parquet))
    return {"run_id": run_id, "rebuilt": rebuilt, "derived": derived, "matched": matched}


# --- command line ------------------------------------------------------------------------------------------------


def _date_arg(value: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def _base_url_arg(value: str) -> str:
    source, _, url = value.partition("=")
    if not source or not url.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"expected SOURCE=http(s)://host, got {value!r}")
    return value


def _setting_arg(value: str) -> str:
    name, _, setting = value.partition("=")
    if not name.isidentifier() or not name.isupper() or not setting:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE with an upper-case Scrapy setting name, got {value!r}")
    return value


def _has_work_db(paths: Paths) -> bool:
    """Whether the working database exists; says so on stderr when it does not (commands that only read it)."""
    if paths.work_db.exists():
        return True
    print(f"error: no working database at {paths.work_db} (run `python flows.py nightly` first)", file=sys.stderr)
    return False


def _settings_or_none(args: argparse.Namespace):
    """The validated settings, or None after printing the one-line error (before any work starts).

    The rules and the watch-list are read here too: a bad file stops the run before any crawl.
    """
    from pipelines.config import ConfigError

    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        print(f"error: settings: {error}", file=sys.stderr)
        return None
    try:
        check_reviewed_data()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    return settings


def _with_queries(spider_args: dict[str, str], queries: tuple[str, ...]) -> dict[str, str]:
    """The settings' search keywords as the spiders' ``keywords`` argument, unless --spider-arg already gave it."""
    if queries and "keywords" not in spider_args:
        return {**spider_args, "keywords": ",".join(queries)}
    return spider_args


def cmd_nightly(args: argparse.Namespace) -> int:
    settings = _settings_or_none(args)
    if settings is None:
        return 2
    if args.replay and not Path(args.replay).exists():
        print(f"error: no WARC file or folder at {args.replay}", file=sys.stderr)
        return 2
    state = nightly(
        # Flags beat the settings, which already carry the environment's overrides.
        data_dir=str(args.data_dir or settings.data_dir),
        replay=args.replay,
        sources=args.sources.split(",") if args.sources else list(settings.sources.enabled),
        from_date=args.from_date,
        until_date=args.until_date,
        sample=args.sample,
        base_urls=dict(pair.split("=", 1) for pair in args.base_url),
        crawl_settings=dict(pair.split("=", 1) for pair in args.setting),
        spider_args=_with_queries(_spider_args(args), settings.sources.queries),
        ignore_backoff=args.ignore_backoff,
        config=settings.origin,
        publish_date=args.publish_date,
        return_state=True,
    )
    summary = state.result(raise_on_failure=False)
    if not isinstance(summary, dict):
        print(f"nightly failed: {state.message}", file=sys.stderr)
        return 1
    for source, info in summary["sources"].items():
        print(f"{source}: {info['verdict']}: {info['reason']}")
    published = summary["published"]
    print(
        f"notices: {summary['notices']} ({summary['stored']['inserted']} new), parse errors: "
        f"{summary['parse_errors']}, newly published matches: {published['new']}"
    )
    for path in published["paths"]:
        print(f"wrote {path}")
    print(f"analysts' database: {summary['snapshot']}")
    return 0 if state.is_completed() else 1


def cmd_parse(args: argparse.Namespace) -> int:
    from pipelines.ingest.normalize import normalize_page, to_json
    from spiders.registry import PORTALS

    path = Path(args.file)
    if not path.is_file():
        print(f"error: no file at {path}", file=sys.stderr)
        return 2
    print(to_json(normalize_page(path.read_bytes(), args.url, PORTALS)))
    return 0


def _load_matcher():
    from pipelines.matching.engine import Matcher, RulesError

    try:
        return Matcher.load(os.environ.get("TENDERWATCH_RULES") or None)
    except RulesError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_match_text(args: argparse.Namespace) -> int:
    matcher = _load_matcher()
    if args.jsonl:
        from pipelines.matching.engine import match_jsonl

        with Path(args.jsonl).open(encoding="utf-8") as lines:
            for out in match_jsonl(lines, matcher):
                sys.stdout.write(out + "\n")
        return 0
    text = sys.stdin.read()
    published = date.fromisoformat(args.date) if args.date else None
    result = matcher.match(title=args.title or "", text=text, published=published, notice_type=args.notice_type)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pipelines.matching.evaluate import evaluate, format_report, load_cases

    if not args.labels and not args.reviews:
        print("error: give a labelled set (LABELS.jsonl), --reviews, or both", file=sys.stderr)
        return 2
    matcher = _load_matcher()
    cases = []
    if args.labels:
        try:
            cases += load_cases(args.labels)
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if args.reviews:
        from pipelines.matching import reviews
        from pipelines.storage import store

        paths = Paths(args.data_dir)
        if not _has_work_db(paths):
            return 2
        with store.session(paths.work_db) as con:
            reviewed = list(reviews.labelled_cases(con))
        print(f"{len(reviewed)} case(s) from analysts' reviews")
        cases += reviewed
    print(format_report(evaluate(cases, matcher)))
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from pipelines.matching import reviews
    from pipelines.storage import store

    paths = Paths(args.data_dir)
    if not _has_work_db(paths):
        return 2
    with store.session(paths.work_db) as con:
        if not args.notice:
            for source, notice_id, tier, categories, title in reviews.pending(con, args.limit):
                print(f"{source}:{notice_id}\t{tier}\t{','.join(categories or [])}\t{title}")
            return 0
        source, _, notice_id = args.notice.partition(":")
        if not notice_id or not args.verdict:
            print("error: give SOURCE:NOTICE_ID and --verdict", file=sys.stderr)
            return 2
        try:
            reviews.record(
                con,
                source,
                notice_id,
                args.verdict,
                categories=args.categories.split(",") if args.categories else None,
                note=args.note,
                reviewer=args.reviewer,
            )
        except reviews.ReviewError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    print(f"recorded {args.verdict} for {args.notice}")
    return 0


def cmd_rematch(args: argparse.Namespace) -> int:
    paths = Paths(args.data_dir)
    if not _has_work_db(paths):
        return 2
    if _settings_or_none(args) is None:
        return 2
    result = rematch(data_dir=str(args.data_dir), config=args.config)
    matched = result["matched"]
    print(
        f"re-matched {matched['matched']} notice(s) with rules {matched['rules_version']}: "
        f"{matched['newly_matching']} newly match, {result['published']['new']} newly published"
    )
    for path in result["published"]["paths"]:
        print(f"wrote {path}")
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    from pipelines.storage import store

    paths = Paths(args.data_dir)
    if not paths.work_db.exists():
        print(f"no crawls recorded yet ({paths.work_db} does not exist)")
        return 0
    with store.session(paths.work_db) as con:
        rows = con.execute(
            "SELECT source, started_at, verdict, reason, responses_by_status, blocked_until FROM source_health "
            "ORDER BY source"
        ).fetchall()
    now = datetime.now(UTC)
    for source, started, verdict, reason, by_status, until in rows:
        line = f"{source}: {verdict} at {started:%Y-%m-%d %H:%M %Z}: {reason}"
        statuses = _status_counts(by_status)
        if statuses:
            line += f" [{statuses}]"
        if until and until > now:
            line += f"; left alone until {until.astimezone(SHANGHAI):%Y-%m-%d %H:%M %Z}"
        print(line)
    return 0 if all(row[2] in HEALTHY for row in rows) else 1


def _status_counts(by_status: str | dict | None) -> str:
    """``{"200": 68, "404": 1}`` → ``HTTP 200×68, 404×1``."""
    counts = json.loads(by_status) if isinstance(by_status, str) else (by_status or {})
    return ("HTTP " + ", ".join(f"{status}×{count}" for status, count in sorted(counts.items()))) if counts else ""


def _spider_args(args: argparse.Namespace) -> dict[str, str]:
    spider_args = dict(pair.split("=", 1) for pair in getattr(args, "spider_arg", []))
    if getattr(args, "prefilter", False):
        spider_args["prefilter"] = "1"
    return spider_args


def cmd_backfill(args: argparse.Namespace) -> int:
    if args.replay and not Path(args.replay).exists():
        print(f"error: no WARC file or folder at {args.replay}", file=sys.stderr)
        return 2
    until = args.until_date or (datetime.now(SHANGHAI).date() - timedelta(days=1)).isoformat()
    if args.from_date > until:
        print(f"error: --from {args.from_date} is after --until {until}", file=sys.stderr)
        return 2
    if args.window_days < 1 or (args.max_windows is not None and args.max_windows < 1):
        print("error: --window-days and --max-windows must be at least 1", file=sys.stderr)
        return 2
    state = backfill(
        data_dir=str(args.data_dir),
        from_date=args.from_date,
        until_date=until,
        sources=args.sources.split(",") if args.sources else None,
        window_days=args.window_days,
        replay=args.replay,
        base_urls=dict(pair.split("=", 1) for pair in args.base_url),
        crawl_settings=dict(pair.split("=", 1) for pair in args.setting),
        spider_args=_spider_args(args),
        max_windows=args.max_windows,
        ignore_backoff=args.ignore_backoff,
        return_state=True,
    )
    summary = state.result(raise_on_failure=False)
    if not isinstance(summary, dict):
        print(f"backfill failed: {state.message}", file=sys.stderr)
        return 1
    for source, why in summary["failures"].items():
        print(f"{source}: {why}")
    print(
        f"backfill: {summary['windows']} window(s), {summary['remaining']} source window(s) left; "
        f"{summary['notices']} notices ({summary['inserted']} new)"
    )
    print(f"analysts' database: {summary['snapshot']}")
    return 0 if state.is_completed() else 1


def cmd_check_sources(args: argparse.Namespace) -> int:
    """One list page per source, live: is each portal answering with notices right now? Nothing is stored."""
    paths = Paths(args.data_dir)
    run_id = "check-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    yesterday = (datetime.now(SHANGHAI).date() - timedelta(days=1)).isoformat()
    base_urls = dict(pair.split("=", 1) for pair in args.base_url)
    settings = dict(pair.split("=", 1) for pair in args.setting)
    healthy = True
    for source in args.sources.split(",") if args.sources else DEFAULT_SOURCES:
        crawl = crawl_source.fn(
            source, run_id, str(paths.root), None, yesterday, None, 1, base_urls.get(source), settings,
            {**_spider_args(args), "list_only": "1"},
        )  # fmt: skip
        line = f"{source}: {crawl['verdict']}: {crawl['reason']}"
        statuses = _status_counts(crawl["responses_by_status"])
        if statuses:
            line += f" [{statuses}]"
        backoff = active_backoff(paths.work_db, source, datetime.now(UTC)) if paths.work_db.exists() else None
        if backoff:
            line += f"; the nightly job leaves it alone until {backoff[0].astimezone(SHANGHAI):%Y-%m-%d %H:%M %Z}"
        print(line)
        healthy = healthy and crawl["verdict"] in HEALTHY
    return 0 if healthy else 1


def _add_crawl_options(sub: argparse.ArgumentParser, *, with_sources: bool = True) -> None:
    """Options that shape crawls (shared by backfill and check-sources; nightly declares its own older ones)."""
    if with_sources:
        sub.add_argument("--sources", help=f"comma-separated spiders (default: {','.join(DEFAULT_SOURCES)})")
        sub.add_argument(
            "--base-url", action="append", default=[], type=_base_url_arg, metavar="SOURCE=URL",
            help="fetch SOURCE from another host with the same paths (a mirror, a test server); repeatable",
        )  # fmt: skip
        sub.add_argument(
            "--setting", action="append", default=[], type=_setting_arg, metavar="NAME=VALUE",
            help="Scrapy setting for every crawl, e.g. DOWNLOAD_DELAY=10; repeatable",
        )  # fmt: skip
    sub.add_argument(
        "--spider-arg", action="append", default=[], type=_spider_arg, metavar="NAME=VALUE",
        help="spider argument for every crawl (-a NAME=VALUE), e.g. mode=search; repeatable",
    )  # fmt: skip
    sub.add_argument(
        "--prefilter", action="store_true",
        help="fetch a detail page only when its list title may match (pipelines/matching/queries.py)",
    )  # fmt: skip


def _spider_arg(value: str) -> str:
    name, _, setting = value.partition("=")
    if not name.isidentifier() or not setting:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE with a spider argument name, got {value!r}")
    return value


def cmd_export_ocds(args: argparse.Namespace) -> int:
    import duckdb

    from pipelines.publishing import ocds

    paths = Paths(args.data_dir)
    if not paths.snapshot.exists():
        print(f"error: no analysts' database at {paths.snapshot} (run nightly first)", file=sys.stderr)
        return 2
    # The snapshot, read-only: an export never competes with the nightly writer.
    con = duckdb.connect(str(paths.snapshot), read_only=True)
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        since = date.fromisoformat(args.since) if args.since else None
        summary = ocds.export(con, Path(args.out), since)
    finally:
        con.close()
    print(f"wrote {summary.releases} release(s) to {summary.releases_path}")
    print(f"wrote {summary.records} record(s) to {summary.records_path}")
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    from pipelines.publishing import translate
    from pipelines.storage import store

    paths = Paths(args.data_dir)
    if not _has_work_db(paths):
        return 2
    with store.session(paths.work_db) as con:
        translate.load_glossary(con)
        translate.segment_pending(con)
        try:
            engine = translate.make_engine(
                args.engine, con, args.lang, url=args.url, api_key=os.environ.get("LIBRETRANSLATE_API_KEY")
            )
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        summary = translate.translate_pending(con, engine, args.lang, args.limit)
    store.publish_snapshot(paths.work_db, paths.snapshot)
    print(
        f"{summary.engine} → {summary.target_lang}: translated {summary.translated} segment(s), "
        f"{summary.declined} declined, {summary.remaining} left"
    )
    if summary.error:
        print(f"error: stopped: {summary.error}; what was translated is kept, run again to continue", file=sys.stderr)
        return 1
    return 0


def cmd_reprocess(args: argparse.Namespace) -> int:
    from pipelines.ingest.warc import warc_files

    paths = Paths(args.data_dir)
    if not paths.archive.is_dir() or not warc_files(paths.archive):
        print(f"error: no WARC archive at {paths.archive}", file=sys.stderr)
        return 2
    result = reprocess(data_dir=str(args.data_dir))
    rebuilt = result["rebuilt"]
    skipped = ", ".join(f"{reason}: {count}" for reason, count in rebuilt["skipped"].items()) or "none"
    print(
        f"reprocessed {rebuilt['notices']} notice(s) from {rebuilt['responses']} archived response(s) with parser "
        f"{rebuilt['parser_version']}: {rebuilt['inserted']} new, {rebuilt['updated']} updated, "
        f"parse errors: {rebuilt['parse_errors']}, skipped: {skipped}"
    )
    processes = result["derived"]["processes"]["processes"]
    print(f"re-matched {result['matched']['matched']} notice(s); {processes} procurement process(es)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python flows.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def with_data_dir(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--data-dir",
            type=Path,
            default=data_dir_default(),
            help="data directory (default: $TENDERWATCH_DATA_DIR or ./data)",
        )
        return sub

    nightly = with_data_dir(commands.add_parser("nightly", help="crawl, normalize, match, store and publish"))
    nightly.add_argument("--replay", help="read responses from this .warc.gz file or folder instead of the network")
    nightly.add_argument("--sources", help=f"comma-separated spiders to run (default: {','.join(DEFAULT_SOURCES)})")
    nightly.add_argument("--from", dest="from_date", type=_date_arg, help="oldest publish date to collect")
    nightly.add_argument("--until", dest="until_date", type=_date_arg, help="newest publish date to collect")
    nightly.add_argument("--sample", type=int, help="collect at most this many notices per source")
    nightly.add_argument(
        "--base-url",
        action="append",
        default=[],
        type=_base_url_arg,
        metavar="SOURCE=URL",
        help="fetch SOURCE from another host with the same paths (a mirror, a test server); repeatable",
    )
    nightly.add_argument(
        "--setting",
        action="append",
        default=[],
        type=_setting_arg,
        metavar="NAME=VALUE",
        help="Scrapy setting for every crawl, e.g. DOWNLOAD_DELAY=10; repeatable",
    )
    _add_crawl_options(nightly, with_sources=False)
    nightly.add_argument(
        "--ignore-backoff", action="store_true", help="crawl a source even inside the back-off of a recent block"
    )
    nightly.add_argument("--config", help="settings file (default: $TENDERWATCH_CONFIG or ./tenderwatch.toml)")
    nightly.add_argument("--publish-date", type=_date_arg, help="date of the digest (default: today, Asia/Shanghai)")
    # No data-dir default here: the settings file (and $TENDERWATCH_DATA_DIR through it) decides unless the flag does.
    nightly.set_defaults(handler=cmd_nightly, data_dir=None)

    serve = commands.add_parser("serve", help="serve the nightly deployment on its schedule (Prefect runner)")
    serve.add_argument("--config", help="settings file (default: $TENDERWATCH_CONFIG or ./tenderwatch.toml)")
    serve.add_argument("--data-dir", type=Path, help="data directory (default: from the settings)")
    serve.add_argument("--sources", help="comma-separated spiders to run (default: from the settings)")
    serve.add_argument("--cron", help="cron expression (default: schedule.cron from the settings)")
    serve.add_argument("--timezone", help="IANA time zone of the cron expression (default: schedule.timezone)")
    serve.set_defaults(handler=cmd_serve)

    backfill = with_data_dir(
        commands.add_parser("backfill", help="crawl history in date windows (resumable), without publishing")
    )
    backfill.add_argument("--from", dest="from_date", type=_date_arg, required=True, help="first publish date")
    backfill.add_argument("--until", dest="until_date", type=_date_arg, help="last publish date (default: yesterday)")
    backfill.add_argument("--window-days", type=int, default=7, help="days per window (default: 7)")
    backfill.add_argument("--max-windows", type=int, help="stop after this many windows; run again to go on")
    backfill.add_argument("--replay", help="read responses from this .warc.gz file or folder instead of the network")
    backfill.add_argument(
        "--ignore-backoff", action="store_true", help="crawl a source even inside the back-off of a recent block"
    )
    _add_crawl_options(backfill)
    backfill.set_defaults(handler=cmd_backfill)

    check = with_data_dir(
        commands.add_parser("check-sources", help="live: fetch one list page per source and print its health")
    )
    _add_crawl_options(check)
    check.set_defaults(handler=cmd_check_sources)

    parse = with_data_dir(commands.add_parser("parse", help="print the normalized notice of a saved detail page"))
    parse.add_argument("file", help="saved detail page (raw bytes as fetched)")
    parse.add_argument("--url", required=True, help="the page's address (gives the portal and the notice id)")
    parse.set_defaults(handler=cmd_parse)

    match = with_data_dir(commands.add_parser("match-text", help="match a notice's text read on stdin"))
    match.add_argument("--title", help="the notice title")
    match.add_argument("--date", type=_date_arg, help="publish date, for export-control dates")
    match.add_argument("--notice-type", help="notice type code (award, open_tender, …)")
    match.add_argument("--jsonl", help="match every line of this JSONL file ({id, title, text, …}) instead")
    match.set_defaults(handler=cmd_match_text)

    evaluate = with_data_dir(commands.add_parser("evaluate", help="precision and recall on a labelled set"))
    evaluate.add_argument("labels", nargs="?", help="JSONL of {id, title, text, expected: {match, categories}}")
    evaluate.add_argument("--reviews", action="store_true", help="add the analysts' verdicts in match_reviews")
    evaluate.set_defaults(handler=cmd_evaluate)

    rematch = with_data_dir(commands.add_parser("rematch", help="re-match every notice the rules have not seen"))
    rematch.add_argument("--config", help="settings file (default: $TENDERWATCH_CONFIG or tenderwatch.toml)")
    rematch.set_defaults(handler=cmd_rematch)

    review = with_data_dir(
        commands.add_parser("review", help="record an analyst's verdict on a match, or list unreviewed matches")
    )
    review.add_argument("notice", nargs="?", help="SOURCE:NOTICE_ID (omit to list matches awaiting review)")
    review.add_argument("--verdict", choices=("confirmed", "false_positive", "unsure"), help="the verdict")
    review.add_argument("--categories", help="for confirmed: comma-separated right categories (default: matched)")
    review.add_argument("--note", help="a note for the team")
    review.add_argument("--reviewer", default=os.environ.get("USER"), help="who reviews (default: $USER)")
    review.add_argument("--limit", type=int, default=50, help="how many unreviewed matches to list")
    review.set_defaults(handler=cmd_review)

    health = with_data_dir(commands.add_parser("health", help="latest crawl verdict per source"))
    health.set_defaults(handler=cmd_health)

    export = with_data_dir(commands.add_parser("export-ocds", help="write the notices as an OCDS release package"))
    export.add_argument("out", help="release package file (records go to OUT.records.json beside it)")
    export.add_argument("--since", type=_date_arg, help="only notices published on or after this date")
    export.set_defaults(handler=cmd_export_ocds)

    translate = with_data_dir(commands.add_parser("translate", help="translate segments not yet translated"))
    translate.add_argument("--engine", choices=("glossary", "libretranslate"), default="glossary")
    translate.add_argument("--lang", default="en", help="target language (default: en)")
    translate.add_argument(
        "--url", help="LibreTranslate server, e.g. http://localhost:5000 (API key: $LIBRETRANSLATE_API_KEY)"
    )
    translate.add_argument("--limit", type=int, help="send at most this many segments to the engine")
    translate.set_defaults(handler=cmd_translate)

    reprocess_cmd = with_data_dir(
        commands.add_parser("reprocess", help="rebuild notices from the WARC archive with the current parser")
    )
    reprocess_cmd.set_defaults(handler=cmd_reprocess)
    return parser


def nightly_deployment(settings, data_dir: str | None = None, sources: list[str] | None = None):
    """The nightly deployment: cron in its time zone, one run at a time (a new one is cancelled while one runs)."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.schedules import Cron

    parameters = {
        # Absolute, so a run does not depend on the runner's working directory.
        "data_dir": str(Path(data_dir or settings.data_dir).resolve()),
        "sources": list(sources or settings.sources.enabled),
        "config": str(Path(settings.origin).resolve()) if settings.origin else None,
    }
    if settings.sources.queries:
        parameters["spider_args"] = _with_queries({}, settings.sources.queries)
    return nightly.to_deployment(
        name=settings.schedule.deployment,
        schedules=[Cron(settings.schedule.cron, timezone=settings.schedule.timezone)],
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
        parameters=parameters,
        description="Crawl, normalize, match, publish and snapshot: the tenderwatch night.",
        tags=["tenderwatch"],
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from prefect import serve

    settings = _settings_or_none(args)
    if settings is None:
        return 2
    from pipelines.config import schedule_errors

    schedule = settings.schedule
    schedule = replace(schedule, cron=args.cron or schedule.cron, timezone=args.timezone or schedule.timezone)
    problems = schedule_errors(schedule)
    if problems:
        print(f"error: settings: {'; '.join(problems)}", file=sys.stderr)
        return 2
    deployment = nightly_deployment(
        replace(settings, schedule=schedule), args.data_dir, args.sources.split(",") if args.sources else None
    )
    # pause_on_shutdown=False: restarting the server process must not silently stop the nightly schedule.
    serve(deployment, pause_on_shutdown=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
