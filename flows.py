"""tenderwatch's Prefect flows: the night, the backfill, the rematch and the reprocess, and the tasks they share.

    nightly    crawl each source (``ingest``) → publish the newly matched notices → refresh the analysts' snapshot
    backfill   ``ingest`` history in date windows, resumable; publishes nothing (the next night does, once)
    rematch    re-match history after a rules change, publish what newly matches
    reprocess  rebuild notices from the WARC archive with the current parser, no network

``ingest`` is the shared subflow: one ``scrapy crawl`` process per source → crawl records → normalize → store →
derive (processes, segments, glossary) → match. Tasks take and return paths and records, never connections.
The command line is ``cli.py``; ``python flows.py COMMAND`` runs it.
"""

from __future__ import annotations

if __name__ == "__main__":
    # ``python flows.py COMMAND`` is the command line: dispatch before importing Prefect (seconds), which only the
    # commands that run a flow need; they import this module again as ``flows``.
    import cli

    raise SystemExit(cli.main())

import json
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, Failed

from pipelines.config import Paths, Settings, Sources, fault_point
from pipelines.config import load as load_settings
from pipelines.ingest import attachments
from pipelines.ingest.child import die_with_runner
from pipelines.ingest.crawl import (
    CrawlRequest,
    attachments_log_path,
    backfill_plan,
    nightly_from_date,
    run_crawl,
    skipped_crawl,
)
from pipelines.ingest.normalize import normalize, to_json
from pipelines.ingest.reprocess import reprocess_archive as rebuild_from_archive
from pipelines.matching import parties, watchlist
from pipelines.matching.configured import check_reviewed_data, load_matcher
from pipelines.matching.pending import MATCH_MEMORY_LIMIT, match_pending
from pipelines.model import CrawlRun
from pipelines.operations import lock as run_lock
from pipelines.operations import logs as run_logs
from pipelines.operations.outcome import FailedNight
from pipelines.publishing import delivery, ledger, translate
from pipelines.storage import crawl_runs, pending_fetches, processes, snapshot, store
from pipelines.storage.snapshot import SNAPSHOT_MEMORY_LIMIT
from spiders.registry import PORTALS

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_SOURCES = tuple(Sources().enabled)


def _run_id(prefix: str = "") -> str:
    return prefix + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


# --- tasks -------------------------------------------------------------------------------------------------------
# Every task has side effects (files, the database), so none may be skipped by Prefect's result cache.


@task(name="crawl", cache_policy=NO_CACHE)
def crawl_source(request: CrawlRequest, data_dir: str) -> CrawlRun:
    """Run one spider in its own process and judge the crawl from its stats."""
    paths = Paths(Path(data_dir))
    run_dir = paths.runs / request.run_id
    with store.session(paths.work_db) as con:
        recent = crawl_runs.recent_item_counts(con, request.source)
        # Open-ended live crawls carry the retries: every window of a backfill would otherwise retry the same
        # notices and spend their attempts within one run.
        retry = [] if request.replay or request.until_date else pending_fetches.to_retry(con, request.source)
        # What is stored already is not fetched again (a night costs what is new), unless --refetch asks.
        known = None
        if not request.refetch:
            until = date.fromisoformat(request.until_date) if request.until_date else None
            known = store.known_notices(con, request.source, date.fromisoformat(request.from_date), until)
        known_files = attachments.known_urls(con)
    if known is not None:
        request = replace(request, known=store.write_known_file(known, run_dir / f"{request.source}.known.json"))
    if known_files:
        run_dir.mkdir(parents=True, exist_ok=True)
        known_path = run_dir / f"{request.source}.attachments-known.json"
        known_path.write_text(json.dumps(known_files), encoding="utf-8")
        request = replace(request, attachments_known=str(known_path))
    if retry:
        request = replace(
            request, pending=pending_fetches.write_retry_file(retry, run_dir / f"{request.source}.pending.json")
        )
    return run_crawl(request, run_dir, paths.archive, recent)


@task(name="record-crawl-runs", cache_policy=NO_CACHE)
def record_crawl_runs(crawls: list[CrawlRun], db_path: str) -> None:
    """The crawl rows, and the notices each crawl listed but could not fetch (kept for the next nights)."""
    with store.session(db_path) as con:
        crawl_runs.record(con, crawls)
        for crawl in crawls:
            pending_fetches.record_misses_file(con, crawl)


@task(name="normalize", cache_policy=NO_CACHE)
def normalize_items(items_path: str | None, out_path: str) -> dict:
    """Normalize one crawl's raw notices into a JSONL batch of notices; a bad page is a parse error, not a loss."""
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
def store_notices(
    notices_paths: list[str], db_path: str, run_id: str, memory_cap: str | None = store.LOAD_MEMORY_LIMIT
) -> dict:
    """The night's notice batches into the store; DuckDB reads the files itself (``store.load_jsonl``)."""
    with store.session(db_path) as con:
        loaded = store.load_jsonl(con, notices_paths, run_id, datetime.now(UTC), memory_cap=memory_cap)
        resolved = pending_fetches.resolve(con)
        waiting, given_up = pending_fetches.counts(con)
    # Files DuckDB refused as typed were stored by the slower Python converters: listed so an operator sees them.
    return {"inserted": loaded.inserted, "updated": loaded.updated, "python_path_files": loaded.python_files,
            "pending_resolved": resolved, "pending_waiting": waiting, "pending_given_up": given_up}  # fmt: skip


@task(name="read-attachments", cache_policy=NO_CACHE)
def read_attachments(crawls: list[CrawlRun], data_dir: str, run_id: str) -> dict:
    """Text of the attachments tonight's crawls archived (or replayed), and why the others have none."""
    paths = Paths(Path(data_dir))
    totals: dict[str, int] = {}
    with store.session(paths.work_db) as con:
        for crawl in crawls:
            archive = crawl.replay or crawl.archive_path
            log_path = attachments_log_path(paths.runs / run_id, crawl.source)
            log = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line.strip()] \
                if log_path.exists() else []  # fmt: skip
            if not archive and not log:
                continue
            summary = attachments.read_attachments(con, archive, log)
            for name, value in asdict(summary).items():
                totals[name] = totals.get(name, 0) + value
    return totals


@task(name="derive", cache_policy=NO_CACHE)
def derive_notices(db_path: str) -> dict:
    """After notices are stored: link processes (ocid), segment new text, refresh the glossary and its translations."""
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


@task(name="match", cache_policy=NO_CACHE)
def match_notices(db_path: str, memory_cap: str | None = MATCH_MEMORY_LIMIT) -> dict:
    matcher = load_matcher()
    with store.session(db_path) as con:
        summary = match_pending(con, matcher, memory_cap=memory_cap)
    return {**asdict(summary), "rules_version": matcher.rules_version}


@task(name="publish-digest", cache_policy=NO_CACHE)
def publish_digest(
    db_path: str, data_dir: str, run_id: str, publish_date: str, config_file: str | None, sources: list[dict] | None
) -> dict:
    """Publish tonight's new matches (and any a crashed run left pending) with tonight's source health (``sources``,
    None when the run crawled nothing); leaves the delivery message on disk."""
    settings = load_settings(config_file)
    paths = Paths(Path(data_dir))
    with store.session(db_path) as con:
        # Reloaded every night, so an edit of watchlist.toml shows in the next digest and view.
        watchlist.load_watchlist(con)
        # Likewise parties.toml; the buyers and suppliers of every notice are identified again against it.
        parties.load_parties(con)
        digest = ledger.publish(
            con, paths.published, run_id, date.fromisoformat(publish_date), datetime.now(UTC), settings.outputs,
            sources, channels=delivery.channels(settings.delivery), send_empty=settings.delivery.send_empty,
        )  # fmt: skip
    return {
        "new": digest.new,
        "total": digest.total,
        "announced": len(digest.announced),
        "recovered": [day.isoformat() for day in digest.recovered],
        "markdown": digest.markdown,
        "table": ledger.artifact_table(digest.rows),
        "paths": [str(p) for p in digest.paths],
    }


@task(name="publish-snapshot", cache_policy=NO_CACHE)
def publish_snapshot(
    db_path: str, snapshot_path: str, parquet_dir: str | None = None, memory_cap: str | None = SNAPSHOT_MEMORY_LIMIT
) -> str:
    return str(snapshot.publish_snapshot(db_path, snapshot_path, parquet_dir, memory_cap=memory_cap))


@task(name="deliver-digest", cache_policy=NO_CACHE)
def deliver_digest(db_path: str, config_file: str | None) -> list:
    """Send every message waiting in the outbox (tonight's, and a killed run's); none fails the run."""
    logger = get_run_logger()
    try:
        settings = load_settings(config_file).delivery
        with store.session(db_path) as con:
            outcomes = delivery.send_waiting(con, settings)
    except Exception as error:  # noqa: BLE001 (delivery must never fail the night)
        logger.warning("delivery skipped: %s: %s", type(error).__name__, error)
        return [{"channel": "all", "status": "failed", "error": f"{type(error).__name__}: {error}"}]
    for outcome in outcomes:
        if outcome.status != "sent":
            logger.warning("delivery by %s to %s failed: %s", outcome.channel, outcome.target, outcome.error)
    return [asdict(outcome) for outcome in outcomes]


@task(name="reprocess-archive", cache_policy=NO_CACHE)
def reprocess_archive(
    archive: str, db_path: str, run_id: str, memory_cap: str | None = store.LOAD_MEMORY_LIMIT
) -> dict:
    with store.session(db_path) as con:
        return asdict(rebuild_from_archive(con, archive, run_id, PORTALS, memory_cap=memory_cap))


@task(name="reread-attachments", cache_policy=NO_CACHE)
def reread_attachments(archive: str, db_path: str) -> dict:
    """Every archived attachment of every notice read again with the current readers and caps."""
    with store.session(db_path) as con:
        return asdict(attachments.read_attachments(con, archive, only_new=False))


def publish_night(
    paths: Paths,
    run_id: str,
    publish_date: str | None,
    config_file: str | None,
    artifact_prefix: str,
    crawls: list[CrawlRun] | None = None,
) -> tuple[dict, list]:
    """The end of every flow that can produce matches: digest and artifacts, snapshot and Parquet, delivery."""
    publish_date = publish_date or datetime.now(SHANGHAI).date().isoformat()
    sources = None
    if crawls is not None:
        sources = [crawl.health for crawl in crawls]
    digest = publish_digest(str(paths.work_db), str(paths.root), run_id, publish_date, config_file, sources)
    with store.session(paths.work_db) as con:
        pending = pending_fetches.summary_line(*pending_fetches.counts(con))
    # The operators' copy of the digest says what is still missing; the published files stay a function of the ledger.
    markdown = digest["markdown"] + (f"\n---\n\n{pending}\n" if pending else "")
    create_markdown_artifact(
        key=f"{artifact_prefix}-digest", markdown=markdown, description=f"tenderwatch digest {publish_date}"
    )
    if digest["table"]:
        create_table_artifact(
            key=f"{artifact_prefix}-matches", table=digest["table"], description=f"tenderwatch matches {publish_date}"
        )
    caps = load_settings(config_file).memory
    publish_snapshot(str(paths.work_db), str(paths.snapshot), str(paths.parquet), caps.cap("snapshot"))
    fault_point("after-snapshot")
    # After the snapshot: analysts get tonight's data even while a slow endpoint is being retried.
    deliveries = deliver_digest(str(paths.work_db), config_file)
    return digest, deliveries


# --- flows -------------------------------------------------------------------------------------------------------


@flow(name="ingest")
def ingest(
    data_dir: str,
    run_id: str,
    requests: list[CrawlRequest],
    ignore_backoff: bool = False,
    config: str | None = None,
) -> dict:
    """Crawl every requested source (in parallel), then record → normalize → store → derive → match.

    A source still inside the back-off of an earlier block is not crawled and is recorded ``blocked`` (never as "no
    new notices") unless ``ignore_backoff``; its window stays open, since the next start follows the last good crawl.
    ``config`` is the settings file whose ``[memory]`` caps the store and the match keep to.
    """
    paths = Paths(Path(data_dir))
    caps = load_settings(config).memory
    futures, skipped = [], []
    for request in requests:
        live = not (request.replay or ignore_backoff)
        backoff = crawl_runs.active_backoff(paths.work_db, request.source, datetime.now(UTC)) if live else None
        if backoff:
            skipped.append(skipped_crawl(request, backoff))
        else:
            futures.append(crawl_source.submit(request, data_dir))
    crawls: list[CrawlRun] = [future.result() for future in futures] + skipped
    record_crawl_runs(crawls, str(paths.work_db))
    fault_point("after-record-crawls")
    batches = [
        normalize_items(crawl.items_path, str(paths.runs / run_id / f"{crawl.source}.notices.jsonl"))
        for crawl in crawls
    ]
    stored = store_notices([batch["path"] for batch in batches], str(paths.work_db), run_id, caps.cap("load"))
    fault_point("after-store")
    read = read_attachments(crawls, data_dir, run_id)
    derive_notices(str(paths.work_db))
    matched = match_notices(str(paths.work_db), caps.cap("match"))
    fault_point("after-match")
    return {
        "crawls": crawls,
        "notices": sum(batch["notices"] for batch in batches),
        "parse_errors": sum(batch["parse_errors"] for batch in batches),
        "stored": stored,
        "attachments": read,
        "matched": matched,
    }


def night_request(request: CrawlRequest, night_defaults: bool) -> CrawlRequest:
    """A live night's crawl the registry's night way (``Portal.night``: mode, keywords, request budget) under what
    was asked: a --spider-arg or --setting of the same name wins. A replay runs the spiders as the archive was
    recorded (their own defaults), and a backfill reads whole columns: neither takes the night's way."""
    night = PORTALS[request.source].night if request.source in PORTALS else None
    if request.replay or not night_defaults or night is None:
        return request
    return replace(
        request,
        spider_args={**dict(night.spider_args), **request.spider_args},
        settings={"TENDERWATCH_MAX_REQUESTS": str(night.budget), **request.settings},
    )


def _window_start(paths: Paths, source: str, replay: bool, today: date) -> str:
    last_good = None if replay else crawl_runs.last_good_crawl_date(paths.work_db, source)
    return nightly_from_date(last_good, replay, today).isoformat()


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
    refetch: bool = False,
):
    """Ingest → publish; returns a Failed state when any source is unhealthy.

    ``config`` is the settings file for outputs, delivery and memory (validated before any work); ``publish_date`` dates
    the digest (default: today in Asia/Shanghai). A listed notice stored already is not fetched again unless
    ``refetch``.
    """
    die_with_runner()
    with run_lock.hold(data_dir, "nightly"), run_logs.run_log(data_dir, "nightly"):
        logger = get_run_logger()
        settings = load_settings(config)
        check_reviewed_data()
        paths = Paths(Path(data_dir))
        pruned = run_logs.prune(data_dir, settings.housekeeping.keep_days)
        if pruned.run_folders or pruned.log_files:
            logger.info("housekeeping: removed %d run folder(s) and %d log file(s) older than %d days",
                        pruned.run_folders, pruned.log_files, settings.housekeeping.keep_days)  # fmt: skip
        run_id = _run_id()
        today = datetime.now(SHANGHAI).date()
        requests = [
            night_request(
                CrawlRequest(
                    source=source,
                    run_id=run_id,
                    from_date=from_date or _window_start(paths, source, bool(replay), today),
                    until_date=until_date,
                    sample=sample,
                    replay=replay,
                    base_url=(base_urls or {}).get(source),
                    settings=crawl_settings or {},
                    spider_args=spider_args or {},
                    refetch=refetch,
                ),
                settings.sources.night_defaults,
            )
            for source in sources or settings.sources.enabled
        ]
        ingested = ingest(data_dir, run_id, requests, ignore_backoff, config)
        crawls: list[CrawlRun] = ingested["crawls"]
        digest, deliveries = publish_night(
            paths, run_id, publish_date, config, artifact_prefix="nightly", crawls=crawls
        )
        summary = {
            "run_id": run_id,
            "sources": {c.source: {"verdict": c.verdict, "reason": c.reason, "items": c.items} for c in crawls},
            "notices": ingested["notices"],
            "parse_errors": ingested["parse_errors"],
            "stored": ingested["stored"],
            "matched": ingested["matched"],
            "published": {"new": digest["new"], "total_for_date": digest["total"], "paths": digest["paths"],
                          "recovered_dates": digest["recovered"]},
            "deliveries": deliveries,
            "snapshot": str(paths.snapshot),
            "parquet": str(paths.parquet),
        }  # fmt: skip
        logger.info("nightly summary: %s", json.dumps(summary, ensure_ascii=False))
        unhealthy = [c for c in crawls if not c.healthy]
        if unhealthy:
            lines = "; ".join(f"{c.source}: {c.verdict} ({c.reason})" for c in unhealthy)
            message = f"unhealthy sources: {lines}"
            return Failed(message=message, data=FailedNight(message, summary))
        return Completed(message="all sources healthy", data=summary)


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
    refetch: bool = False,
    config: str | None = None,
):
    """Walk history in date windows: per window one ``ingest`` of the sources not yet done there.

    Finished (source, window) pairs are recorded in ``backfill_windows``; a re-run skips them, so an interrupted
    backfill resumes where it stopped. A source that is blocked or broken in a window is left out of the later
    windows of this run (more requests only prolong a block). Nothing is published here: the next nightly run
    publishes the new matches once (docs/decisions.md). Prints one progress line per window. ``config`` is the
    settings file whose ``[memory]`` caps the store, the match and the snapshot keep to.
    """
    die_with_runner()
    with run_lock.hold(data_dir, "backfill"), run_logs.run_log(data_dir, "backfill"):
        logger = get_run_logger()
        check_reviewed_data()
        paths = Paths(Path(data_dir))
        sources = list(sources or DEFAULT_SOURCES)
        windows = backfill_plan(date.fromisoformat(from_date), date.fromisoformat(until_date), window_days)
        done = crawl_runs.finished_windows(paths.work_db, replay)
        active = list(sources)
        failures: dict[str, str] = {}
        processed = notices = inserted = 0
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
            run_id = _run_id("backfill-")
            template = CrawlRequest(
                source="", run_id=run_id, from_date=start.isoformat(), until_date=end.isoformat(), replay=replay,
                settings=crawl_settings or {}, spider_args=spider_args or {}, refetch=refetch,
            )  # fmt: skip
            requests = [replace(template, source=s, base_url=(base_urls or {}).get(s)) for s in todo]
            ingested = ingest(data_dir, run_id, requests, ignore_backoff, config)
            crawls: list[CrawlRun] = ingested["crawls"]
            with store.session(paths.work_db) as con:
                crawl_runs.record_windows(con, [crawl for crawl in crawls if crawl.healthy])
            for crawl in crawls:
                if not crawl.healthy:
                    failures[crawl.source] = f"{crawl.verdict} in {start} … {end}: {crawl.reason}"
                    active.remove(crawl.source)
            processed += 1
            notices += ingested["notices"]
            inserted += ingested["stored"]["inserted"]
            verdicts = ", ".join(f"{c.source} {c.verdict}" for c in crawls)
            progress(f"{label}: {verdicts}; {ingested['notices']} notices ({ingested['stored']['inserted']} new)")
        caps = load_settings(config).memory
        publish_snapshot(str(paths.work_db), str(paths.snapshot), str(paths.parquet), caps.cap("snapshot"))
        finished = crawl_runs.finished_windows(paths.work_db, replay)
        remaining = sum((source, start, end) not in finished for source in sources for start, end in windows)
        summary = {
            "windows": len(windows),
            "remaining": remaining,
            "notices": notices,
            "inserted": inserted,
            "failures": failures,
            "lines": lines,
            "snapshot": str(paths.snapshot),
        }
        if failures:
            message = "; ".join(f"{source}: {why}" for source, why in failures.items())
            message = f"backfill stopped for: {message}"
            return Failed(message=message, data=FailedNight(message, summary))
        return Completed(message=f"{remaining} source window(s) left", data=summary)


@flow(name="rematch", log_prints=True)
def rematch(data_dir: str = "data", config: str | None = None) -> dict:
    """After a rules change: re-match the whole history in batches, publish what newly matches, refresh the snapshot."""
    with run_lock.hold(data_dir, "rematch"), run_logs.run_log(data_dir, "rematch"):
        caps = load_settings(config).memory
        check_reviewed_data()
        paths = Paths(Path(data_dir))
        run_id = _run_id("rematch-")
        matched = match_notices(str(paths.work_db), caps.cap("match"))
        digest, deliveries = publish_night(paths, run_id, None, config, artifact_prefix="rematch")
        return {
            "matched": matched,
            "published": {"new": digest["new"], "paths": digest["paths"]},
            "deliveries": deliveries,
        }


@flow(name="reprocess", log_prints=True)
def reprocess(data_dir: str = "data", config: str | None = None) -> dict:
    """Rebuild notices from the WARC archive with the current parser (no network), then everything derived.

    Notices that now match are left for the next nightly run to publish (its ledger picks them up). ``config`` is
    the settings file whose ``[memory]`` caps the store, the match and the snapshot keep to.
    """
    with run_lock.hold(data_dir, "reprocess"), run_logs.run_log(data_dir, "reprocess"):
        caps = load_settings(config).memory
        paths = Paths(Path(data_dir))
        run_id = _run_id("reprocess-")
        rebuilt = reprocess_archive(str(paths.archive), str(paths.work_db), run_id, caps.cap("load"))
        reread = reread_attachments(str(paths.archive), str(paths.work_db))
        derived = derive_notices(str(paths.work_db))
        matched = match_notices(str(paths.work_db), caps.cap("match"))
        publish_snapshot(str(paths.work_db), str(paths.snapshot), str(paths.parquet), caps.cap("snapshot"))
        return {"run_id": run_id, "rebuilt": rebuilt, "attachments": reread, "derived": derived, "matched": matched}


def nightly_deployment(
    settings: Settings, data_dir: str | None = None, sources: list[str] | None = None, replay: str | None = None
):
    """The nightly deployment: cron in its time zone, one run at a time (a new one is cancelled while one runs)."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.schedules import Cron

    parameters = {
        # Absolute, so a run does not depend on the runner's working directory.
        "data_dir": str(Path(data_dir or settings.data_dir).resolve()),
        "sources": list(sources or settings.sources.enabled),
        "config": str(Path(settings.origin).resolve()) if settings.origin else None,
    }
    if replay:
        parameters["replay"] = str(Path(replay).resolve())
    if settings.sources.queries:
        parameters["spider_args"] = {"keywords": ",".join(settings.sources.queries)}
    return nightly.to_deployment(
        name=settings.schedule.deployment,
        schedules=[Cron(settings.schedule.cron, timezone=settings.schedule.timezone)],
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
        parameters=parameters,
        description="Crawl, normalize, match, publish and snapshot: the tenderwatch night.",
        tags=["tenderwatch"],
    )
