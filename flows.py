"""tenderwatch flows and command line.

    python flows.py nightly [--replay PATH] [--data-dir DIR] [--sources ccgp,…] [--from YYYY-MM-DD] [--until …]
    python flows.py parse FILE --url URL
    python flows.py match-text [--title T] [--date YYYY-MM-DD] [--notice-type X] < notice.txt
    python flows.py match-text --jsonl FILE
    python flows.py evaluate LABELS.jsonl
    python flows.py rematch
    python flows.py health

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
from prefect.artifacts import create_markdown_artifact
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
) -> dict:
    """Run one spider in its own process and judge the crawl from its stats."""
    from pipelines import health, store

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
                "SELECT items FROM crawl_runs WHERE source = ? AND verdict = 'ok' AND replay IS NULL "
                "ORDER BY started_at DESC LIMIT 7",
                [source],
            ).fetchall()
        ]
    verdict = health.judge(stats, [] if replay else recent)
    reason = verdict.reason
    if stats is None and process_error:
        reason = f"{reason} ({process_error[0]})"
    stats = stats or {}
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
    }


@task(name="normalize", cache_policy=NO_CACHE)
def normalize_items(items_path: str | None, out_path: str) -> dict:
    """Normalize one crawl's raw notices into a JSONL batch of notices; a bad page is a parse error, not a loss."""
    from pipelines.normalize import normalize, to_json

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
                    notice = normalize(raw)
                    notice["fetched_at"] = raw.get("fetched_at")
                    sink.write(to_json(notice, exact_amounts=True) + "\n")
                    count += 1
                    errors += bool(notice.get("parse_error"))
    return {"notices": count, "parse_errors": errors, "unreadable_items": unreadable, "path": str(out)}


@task(name="store", cache_policy=NO_CACHE)
def store_notices(notices_paths: list[str], db_path: str, run_id: str) -> dict:
    from pipelines import store

    notices = [n for path in notices_paths for n in store.read_jsonl(path)]
    table = store.notices_to_arrow(notices, run_id, datetime.now(UTC))
    with store.session(db_path) as con:
        inserted, updated = store.upsert_notices(con, table)
    return {"inserted": inserted, "updated": updated}


@task(name="record-crawl-runs", cache_policy=NO_CACHE)
def record_crawl_runs(crawls: list[dict], db_path: str) -> None:
    import pyarrow as pa

    from pipelines import store

    columns = [
        "run_id", "source", "started_at", "finished_at", "from_date", "until_date", "replay", "finish_reason",
        "requests", "responses", "items", "errors", "blocked", "verdict", "reason", "archive_path", "stats",
    ]  # fmt: skip
    rows = [{name: crawl[name] for name in columns} for crawl in crawls]
    for row in rows:
        row["started_at"] = datetime.fromisoformat(row["started_at"])
        row["finished_at"] = datetime.fromisoformat(row["finished_at"])
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
    from pipelines import store
    from pipelines.matcher import Matcher
    from pipelines.matching import match_pending

    # TENDERWATCH_RULES points at another rules file (a candidate under review, a test's variant).
    matcher = Matcher.load(os.environ.get("TENDERWATCH_RULES") or None)
    with store.session(db_path) as con:
        summary = match_pending(con, matcher)
    return {**asdict(summary), "rules_version": matcher.rules_version}


@task(name="publish-digest", cache_policy=NO_CACHE)
def publish_digest(db_path: str, data_dir: str, run_id: str, publish_date: str) -> dict:
    from pipelines import publish, store

    with store.session(db_path) as con:
        digest = publish.publish(
            con, Paths(Path(data_dir)).published, run_id, date.fromisoformat(publish_date), datetime.now(UTC)
        )
    return {
        "new": digest.new,
        "total": digest.total,
        "markdown": digest.markdown,
        "paths": [str(p) for p in digest.paths],
    }


@task(name="publish-snapshot", cache_policy=NO_CACHE)
def publish_snapshot(db_path: str, snapshot_path: str) -> str:
    from pipelines import store

    return str(store.publish_snapshot(db_path, snapshot_path))


def last_good_crawl_date(db_path: Path, source: str) -> date | None:
    from pipelines import store

    with store.session(db_path) as con:
        value = store.scalar(
            con,
            "SELECT max(started_at) FROM crawl_runs WHERE source = ? AND verdict IN ('ok', 'degraded') "
            "AND replay IS NULL",
            [source],
        )
    return value.astimezone(SHANGHAI).date() if value else None


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
):
    """Crawl → normalize → store → match → publish; returns a Failed state when any source is unhealthy."""
    logger = get_run_logger()
    paths = Paths(Path(data_dir))
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    sources = list(sources or DEFAULT_SOURCES)
    futures = []
    for source in sources:
        start = from_date
        if start is None:
            if replay:
                start = REPLAY_FROM.isoformat()
            else:
                last = last_good_crawl_date(paths.work_db, source)
                today = datetime.now(SHANGHAI).date()
                start = ((last or today) - timedelta(days=OVERLAP_DAYS)).isoformat()
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
            )
        )
    crawls = [future.result() for future in futures]
    record_crawl_runs(crawls, str(paths.work_db))
    batches = [
        normalize_items(crawl["items_path"], str(paths.runs / run_id / f"{crawl['source']}.notices.jsonl"))
        for crawl in crawls
    ]
    stored = store_notices([batch["path"] for batch in batches], str(paths.work_db), run_id)
    matched = match_notices(str(paths.work_db))
    publish_date = datetime.now(SHANGHAI).date().isoformat()
    digest = publish_digest(str(paths.work_db), data_dir, run_id, publish_date)
    create_markdown_artifact(
        key="nightly-digest", markdown=digest["markdown"], description=f"tenderwatch digest {publish_date}"
    )
    publish_snapshot(str(paths.work_db), str(paths.snapshot))
    summary = {
        "run_id": run_id,
        "sources": {c["source"]: {"verdict": c["verdict"], "reason": c["reason"], "items": c["items"]}
                    for c in crawls},
        "notices": sum(b["notices"] for b in batches),
        "parse_errors": sum(b["parse_errors"] for b in batches),
        "stored": stored,
        "matched": matched,
        "published": {"new": digest["new"], "total_for_date": digest["total"], "paths": digest["paths"]},
        "snapshot": str(paths.snapshot),
    }  # fmt: skip
    logger.info("nightly summary: %s", json.dumps(summary, ensure_ascii=False))
    unhealthy = [c for c in crawls if c["verdict"] not in HEALTHY]
    if unhealthy:
        lines = "; ".join(f"{c['source']}: {c['verdict']} ({c['reason']})" for c in unhealthy)
        return Failed(message=f"unhealthy sources: {lines}", data=summary)
    return Completed(message="all sources healthy", data=summary)


@flow(name="rematch", log_prints=True)
def rematch(data_dir: str = "data") -> dict:
    """After a rules change: re-match the whole history in batches, publish what newly matches, refresh the snapshot."""
    paths = Paths(Path(data_dir))
    run_id = "rematch-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    matched = match_notices(str(paths.work_db))
    publish_date = datetime.now(SHANGHAI).date().isoformat()
    digest = publish_digest(str(paths.work_db), data_dir, run_id, publish_date)
    create_markdown_artifact(
        key="rematch-digest", markdown=digest["markdown"], description=f"tenderwatch re-match {publish_date}"
    )
    publish_snapshot(str(paths.work_db), str(paths.snapshot))
    return {"matched": matched, "published": {"new": digest["new"], "paths": digest["paths"]}}


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


def cmd_nightly(args: argparse.Namespace) -> int:
    if args.replay and not Path(args.replay).exists():
        print(f"error: no WARC file or folder at {args.replay}", file=sys.stderr)
        return 2
    state = nightly(
        data_dir=str(args.data_dir),
        replay=args.replay,
        sources=args.sources.split(",") if args.sources else None,
        from_date=args.from_date,
        until_date=args.until_date,
        sample=args.sample,
        base_urls=dict(pair.split("=", 1) for pair in args.base_url),
        crawl_settings=dict(pair.split("=", 1) for pair in args.setting),
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
    from pipelines.normalize import normalize_page, to_json

    path = Path(args.file)
    if not path.is_file():
        print(f"error: no file at {path}", file=sys.stderr)
        return 2
    print(to_json(normalize_page(path.read_bytes(), args.url)))
    return 0


def _load_matcher():
    from pipelines.matcher import Matcher, RulesError

    try:
        return Matcher.load(os.environ.get("TENDERWATCH_RULES") or None)
    except RulesError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_match_text(args: argparse.Namespace) -> int:
    matcher = _load_matcher()
    if args.jsonl:
        from pipelines.matcher import match_jsonl

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
    from pipelines.evaluate import evaluate, format_report, load_cases

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
        from pipelines import reviews, store

        paths = Paths(args.data_dir)
        if not paths.work_db.exists():
            print(f"error: no working database at {paths.work_db}", file=sys.stderr)
            return 2
        with store.session(paths.work_db) as con:
            reviewed = list(reviews.labelled_cases(con))
        print(f"{len(reviewed)} case(s) from analysts' reviews")
        cases += reviewed
    print(format_report(evaluate(cases, matcher)))
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from pipelines import reviews, store

    paths = Paths(args.data_dir)
    if not paths.work_db.exists():
        print(f"error: no working database at {paths.work_db}", file=sys.stderr)
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
    if not paths.work_db.exists():
        print(f"error: no working database at {paths.work_db}", file=sys.stderr)
        return 2
    result = rematch(data_dir=str(args.data_dir))
    matched = result["matched"]
    print(
        f"re-matched {matched['matched']} notice(s) with rules {matched['rules_version']}: "
        f"{matched['newly_matching']} newly match, {result['published']['new']} newly published"
    )
    for path in result["published"]["paths"]:
        print(f"wrote {path}")
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    from pipelines import store

    paths = Paths(args.data_dir)
    if not paths.work_db.exists():
        print(f"no crawls recorded yet ({paths.work_db} does not exist)")
        return 0
    with store.session(paths.work_db) as con:
        rows = con.execute("SELECT source, started_at, verdict, reason FROM source_health ORDER BY source").fetchall()
    for source, started, verdict, reason in rows:
        print(f"{source}: {verdict} at {started:%Y-%m-%d %H:%M %Z}: {reason}")
    return 0 if all(row[2] in HEALTHY for row in rows) else 1


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
    nightly.set_defaults(handler=cmd_nightly)

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
