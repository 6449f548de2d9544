"""tenderwatch's command line (``python flows.py COMMAND``): options declared once, one preflight for every command.

    python flows.py nightly [--replay PATH] [--sources ccgp,…] [--from YYYY-MM-DD] [--until …] [--sample N]
    python flows.py serve [--cron EXPR] [--timezone TZ]
    python flows.py backfill --from YYYY-MM-DD [--until …] [--window-days 7] [--max-windows N] [--replay PATH]
    python flows.py check-sources [--sources ccgp,…]
    python flows.py rematch | reprocess | health | sources
    python flows.py review [SOURCE:NOTICE_ID --verdict V]
    python flows.py export-ocds [--since YYYY-MM-DD] OUT
    python flows.py translate [--engine glossary|libretranslate] [--lang en] [--url URL] [--limit N]
    python flows.py parse FILE --url URL
    python flows.py match-text [--title T] [--date YYYY-MM-DD] [--notice-type X] < notice.txt
    python flows.py evaluate [LABELS.jsonl] [--reviews]

Every command takes ``--config FILE`` and ``--data-dir DIR``. The preflight reads the settings the same way for
all of them (flag > environment > ``$TENDERWATCH_CONFIG`` or ``./tenderwatch.toml`` > defaults), so every command
sees the same data directory and sources. The CLI is its own module so that ``--help`` and a mistyped option answer
without importing Prefect; the flows are imported only by the commands that run one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pipelines.config import ConfigError, Paths, Settings, schedule_errors
from pipelines.config import load as load_settings
from pipelines.operations import lock as run_lock
from pipelines.operations.prefect_server import ServerError

SHANGHAI = ZoneInfo("Asia/Shanghai")


class CommandError(Exception):
    """A command that cannot start: printed as one ``error:`` line, exit status 2, nothing done."""


@dataclass(frozen=True)
class Context:
    """What the preflight settled for a command: its settings, data directory and sources."""

    settings: Settings
    paths: Paths
    sources: list[str]

    @property
    def config_file(self) -> str | None:
        return self.settings.origin


def preflight(args: argparse.Namespace) -> Context:
    """Settings for every command, flags over settings; the rules and watch-list too where the command matches."""
    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        raise CommandError(f"settings: {error}") from None
    if getattr(args, "reads_rules", False):
        from pipelines.matching.configured import check_reviewed_data

        try:
            check_reviewed_data()
        except ValueError as error:
            raise CommandError(str(error)) from None
    sources = args.sources.split(",") if getattr(args, "sources", None) else list(settings.sources.enabled)
    source_problem = sources_error(sources, known_sources())
    if source_problem:
        where = "--sources" if getattr(args, "sources", None) else "sources.enabled"
        raise CommandError(f"{where}: {source_problem}")
    if hasattr(args, "base_url"):
        # Crawl options are checked here, before the run lock creates anything in the data directory.
        check_crawl_input(args)
    if getattr(args, "replay", None) and not getattr(args, "sources", None) and Path(args.replay).exists():
        sources = archived_sources(sources, args.replay)
    return Context(settings, Paths(Path(args.data_dir or settings.data_dir)), sources)


def archived_sources(sources: list[str], replay: str) -> list[str]:
    """The enabled sources an archive holds answers of (all of them when it holds none): a replay of the demo's ccgp
    pages must not report every other enabled source broken for pages that were never recorded."""
    from pipelines.ingest.portals import source_for_url
    from pipelines.ingest.warc import archived_origins
    from spiders.registry import PORTALS

    held = {named or source_for_url(f"http://{host}/", PORTALS) for named, host in archived_origins(replay)}
    return [source for source in sources if source in held] or sources


def known_sources() -> list[str]:
    """Every portal the spiders can crawl, by name (spiders/names.py, checked against the registry when it loads)."""
    from spiders.names import PORTAL_NAMES

    return sorted(PORTAL_NAMES)


def sources_error(sources: list[str], known: list[str]) -> str | None:
    """Why these source names cannot run (unknown, repeated, empty), or None: checked before any crawl."""
    unknown = [name for name in sources if name not in known]
    repeated = sorted({name for name in sources if sources.count(name) > 1})
    problems = []
    if unknown:
        problems.append("unknown " + ", ".join(repr(name) for name in unknown))
    if repeated:
        problems.append("repeated " + ", ".join(repr(name) for name in repeated))
    if not problems:
        return None
    return f"{'; '.join(problems)} (known sources: {', '.join(known)})"


# Exit statuses: 0 all well, 1 the work ran but something is unhealthy (a source, a stale crawl), 2 the command
# could not start (settings, arguments, missing files), 69 (EX_UNAVAILABLE) the Prefect server could not be reached or
# started, 75 (EX_TEMPFAIL) another run holds the data directory, 141 (as if killed by SIGPIPE) stdout was closed.
EXIT_UNAVAILABLE = 69
EXIT_BUSY = 75
EXIT_PIPE = 141

# Prefect settings our commands use unless the operator set them (docs/decisions.md, "Orchestration under load").
PREFECT_DEFAULTS = {
    # Prefect's temporary server takes 12-20 s to start on two busy cores; its own limit is 20 s.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    # Offline, the server's telemetry fails with an ERROR line in every command.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}
# What Prefect raises when no server answers; anything else is a bug and keeps its traceback.
_UNREACHABLE = ("Failed to reach API at", "Timed out while attempting to connect to ephemeral Prefect API server")


def prefect_defaults(environ: dict[str, str] | None = None) -> None:
    """Set ``PREFECT_DEFAULTS`` the operator left unset, for this process and its children (the temporary server)."""
    environ = os.environ if environ is None else environ
    for name, value in PREFECT_DEFAULTS.items():
        environ.setdefault(name, value)
    if "prefect.context" in sys.modules:
        # ``python flows.py`` imported Prefect before main() ran: its settings were read from the old environment.
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    prefect_defaults()
    try:
        context = preflight(args)
        if not args.holds_data_dir:
            return args.handler(args, context)
        with run_lock.hold(context.paths.root, args.command):
            return args.handler(args, context)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except run_lock.LockHeld as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BUSY
    except ServerError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except BrokenPipeError:
        # ``| head`` closed stdout: not an error of ours. Point stdout at /dev/null so the exit flush is quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE
    except RuntimeError as error:
        message = str(error).splitlines()[0] if str(error) else ""
        if not message.startswith(_UNREACHABLE):
            raise
        print(f"error: Prefect server: {message[:300]} (check PREFECT_API_URL, or unset it)", file=sys.stderr)
        return EXIT_UNAVAILABLE


# --- options, declared once ----------------------------------------------------------------------------------


def _date_arg(value: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def _pair_arg(what: str, check):
    def parse(value: str) -> tuple[str, str]:
        name, _, setting = value.partition("=")
        if not check(name, setting):
            raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}")
        return name, setting

    return parse


_base_url = _pair_arg("SOURCE=http(s)://host", lambda name, url: name and url.startswith(("http://", "https://")))
_setting = _pair_arg(
    "NAME=VALUE with an upper-case Scrapy setting name", lambda name, v: name.isidentifier() and name.isupper() and v
)
_spider_arg = _pair_arg("NAME=VALUE with a spider argument name", lambda name, v: name.isidentifier() and v)


def _common(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
    sub.add_argument("--config", help="settings file (default: $TENDERWATCH_CONFIG or ./tenderwatch.toml)")
    sub.add_argument(
        "--data-dir", help="data directory (default: data_dir of the settings, $TENDERWATCH_DATA_DIR, or ./data)"
    )
    return sub


def _crawl_options(sub: argparse.ArgumentParser, *, replay: bool) -> None:
    """Options that shape crawls: nightly, backfill and check-sources."""
    sub.add_argument("--sources", help="comma-separated spiders (default: sources.enabled of the settings)")
    sub.add_argument(
        "--base-url", action="append", default=[], type=_base_url, metavar="SOURCE=URL",
        help="fetch SOURCE from another host with the same paths (a mirror, a test server); repeatable",
    )  # fmt: skip
    sub.add_argument(
        "--setting", action="append", default=[], type=_setting, metavar="NAME=VALUE",
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
    if replay:
        sub.add_argument("--replay", help="read responses from this .warc.gz file or folder instead of the network")
        sub.add_argument(
            "--ignore-backoff", action="store_true", help="crawl a source even inside the back-off of a recent block"
        )
        sub.add_argument(
            "--refetch", action="store_true",
            help="fetch every listed notice's page again, also those stored already (after a portal rewrote pages)",
        )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python flows.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(
        name: str, handler, help: str, *, reads_rules: bool = False, holds_data_dir: bool = False
    ) -> argparse.ArgumentParser:
        sub = _common(commands.add_parser(name, help=help))
        sub.set_defaults(handler=handler, reads_rules=reads_rules, holds_data_dir=holds_data_dir)
        return sub

    nightly = command(
        "nightly", cmd_nightly, "crawl, normalize, match, store and publish", reads_rules=True, holds_data_dir=True
    )
    _crawl_options(nightly, replay=True)
    nightly.add_argument("--from", dest="from_date", type=_date_arg, help="oldest publish date to collect")
    nightly.add_argument("--until", dest="until_date", type=_date_arg, help="newest publish date to collect")
    nightly.add_argument("--sample", type=int, help="collect at most this many notices per source")
    nightly.add_argument("--publish-date", type=_date_arg, help="date of the digest (default: today, Asia/Shanghai)")

    serve = command(
        "serve", cmd_serve, "serve the nightly deployment on its schedule (Prefect runner)", reads_rules=True
    )
    serve.add_argument("--sources", help="comma-separated spiders to run (default: from the settings)")
    serve.add_argument("--cron", help="cron expression (default: schedule.cron from the settings)")
    serve.add_argument("--timezone", help="IANA time zone of the cron expression (default: schedule.timezone)")
    serve.add_argument("--replay", help="every night replays this .warc.gz file or folder (a demo; no network)")

    backfill = command(
        "backfill", cmd_backfill, "crawl history in date windows (resumable), without publishing", reads_rules=True,
        holds_data_dir=True,
    )  # fmt: skip
    _crawl_options(backfill, replay=True)
    backfill.add_argument("--from", dest="from_date", type=_date_arg, required=True, help="first publish date")
    backfill.add_argument("--until", dest="until_date", type=_date_arg, help="last publish date (default: yesterday)")
    backfill.add_argument("--window-days", type=int, default=7, help="days per window (default: 7)")
    backfill.add_argument("--max-windows", type=int, help="stop after this many windows; run again to go on")

    check = command("check-sources", cmd_check_sources, "live: fetch one list page per source and print its health")
    _crawl_options(check, replay=False)

    parse = command("parse", cmd_parse, "print the normalized notice of a saved detail page")
    parse.add_argument("file", help="saved detail page (raw bytes as fetched)")
    parse.add_argument("--url", required=True, help="the page's address (gives the portal and the notice id)")

    match = command("match-text", cmd_match_text, "match a notice's text read on stdin")
    match.add_argument("--title", help="the notice title")
    match.add_argument("--date", type=_date_arg, help="publish date, for export-control dates")
    match.add_argument("--notice-type", help="notice type code (award, open_tender, …)")
    match.add_argument("--jsonl", help="match every line of this JSONL file ({id, title, text, …}) instead")

    evaluate = command("evaluate", cmd_evaluate, "precision and recall on a labelled set")
    evaluate.add_argument("labels", nargs="?", help="JSONL of {id, title, text, expected: {match, categories}}")
    evaluate.add_argument("--reviews", action="store_true", help="add the analysts' verdicts in match_reviews")

    command(
        "rematch", cmd_rematch, "re-match every notice the rules have not seen", reads_rules=True, holds_data_dir=True
    )

    review = command("review", cmd_review, "record an analyst's verdict on a match, or list unreviewed matches")
    review.add_argument("notice", nargs="?", help="SOURCE:NOTICE_ID (omit to list matches awaiting review)")
    review.add_argument("--verdict", choices=("confirmed", "false_positive", "unsure"), help="the verdict")
    review.add_argument("--categories", help="for confirmed: comma-separated right categories (default: matched)")
    review.add_argument("--note", help="a note for the team")
    review.add_argument("--reviewer", default=os.environ.get("USER"), help="who reviews (default: $USER)")
    review.add_argument("--limit", type=int, default=50, help="how many unreviewed matches to list")

    health = command("health", cmd_health, "latest live crawl verdict per enabled source, and whether it is stale")
    health.add_argument("--sources", help="comma-separated sources to judge (default: sources.enabled)")

    export = command("export-ocds", cmd_export_ocds, "write the notices as an OCDS release package")
    export.add_argument("out", help="release package file (records go to OUT.records.json beside it)")
    export.add_argument("--since", type=_date_arg, help="only notices published on or after this date")

    translate = command("translate", cmd_translate, "translate segments not yet translated")
    translate.add_argument("--engine", choices=("glossary", "libretranslate"), default="glossary")
    translate.add_argument("--lang", default="en", help="target language (default: en)")
    translate.add_argument(
        "--url", help="LibreTranslate server, e.g. http://localhost:5000 (API key: $LIBRETRANSLATE_API_KEY)"
    )
    translate.add_argument("--limit", type=int, help="send at most this many segments to the engine")

    command(
        "reprocess", cmd_reprocess, "rebuild notices from the WARC archive with the current parser", holds_data_dir=True
    )

    sources = command("sources", cmd_sources, "every portal: verified or not, enabled or not, its last verdict")
    sources.add_argument("--markdown", action="store_true", help="print README's sources table instead")
    return parser


def _spider_args(args: argparse.Namespace, settings: Settings) -> dict[str, str]:
    """-a arguments for every crawl: --spider-arg, --prefilter, and the settings' search keywords unless given."""
    spider_args = dict(args.spider_arg)
    if args.prefilter:
        spider_args["prefilter"] = "1"
    if settings.sources.queries and "keywords" not in spider_args:
        spider_args["keywords"] = ",".join(settings.sources.queries)
    return spider_args


def _require_work_db(paths: Paths) -> None:
    if not paths.work_db.exists():
        raise CommandError(f"no working database at {paths.work_db} (run `python flows.py nightly` first)")


def _require_replay(replay: str | None) -> None:
    if replay and not Path(replay).exists():
        raise CommandError(f"no WARC file or folder at {replay}")


def _status_counts(by_status: str | dict | None) -> str:
    """``{"200": 68, "404": 1}`` → ``HTTP 200×68, 404×1``."""
    counts = json.loads(by_status) if isinstance(by_status, str) else (by_status or {})
    return ("HTTP " + ", ".join(f"{status}×{count}" for status, count in sorted(counts.items()))) if counts else ""


def _local(moment: datetime) -> str:
    return f"{moment.astimezone(SHANGHAI):%Y-%m-%d %H:%M %Z}"


# --- crawling commands -----------------------------------------------------------------------------------------

# Dates a crawl may ask for: ccgp's archive starts in the 2000s, and a date past tomorrow has no notices yet.
EARLIEST_DATE = date(1990, 1, 1)
# Ten years of history per window is already one crawl of everything; more is a typo.
MAX_WINDOW_DAYS = 3660
# Our own Scrapy settings: spiders/settings.py names them, the crawl reads them.
OWN_SETTINGS = ("TENDERWATCH_",)
# Scrapy reads these as seconds with getfloat although their defaults are written as integers.
SECONDS_WITH_INT_DEFAULT = {"DOWNLOAD_DELAY", "DOWNLOAD_TIMEOUT"}


def check_crawl_input(args: argparse.Namespace) -> None:
    """Refuse a crawl command's impossible options before any work (one ``error:`` line, exit 2)."""
    latest = datetime.now(SHANGHAI).date() + timedelta(days=1)
    for flag, value in (("--from", getattr(args, "from_date", None)), ("--until", getattr(args, "until_date", None))):
        if value and not EARLIEST_DATE <= date.fromisoformat(value) <= latest:
            raise CommandError(f"{flag} {value} is outside {EARLIEST_DATE} … {latest} (tomorrow, Asia/Shanghai)")
    from_date, until = getattr(args, "from_date", None), getattr(args, "until_date", None)
    if from_date and until and from_date > until:
        raise CommandError(f"--from {from_date} is after --until {until}")
    sample = getattr(args, "sample", None)
    if sample is not None and sample < 1:
        raise CommandError(f"--sample must be at least 1, got {sample}")
    window_days = getattr(args, "window_days", None)
    if window_days is not None and not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise CommandError(f"--window-days must be between 1 and {MAX_WINDOW_DAYS}, got {window_days}")
    for source, url in args.base_url:
        problem = _url_problem(url)
        if problem:
            raise CommandError(f"--base-url {source}={url}: {problem}")
    for name, value in args.setting:
        problem = scrapy_setting_problem(name, value)
        if problem:
            raise CommandError(f"--setting {name}={value}: {problem}")


def _url_problem(url: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (reading it validates the port)
    except ValueError as error:
        return f"not a URL: {error}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "expected http(s)://host[:port][/path]"
    if parts.query or parts.fragment:
        return "a base URL has no query or fragment"
    return None


def scrapy_setting_problem(name: str, value: str) -> str | None:
    """Why ``-s NAME=VALUE`` would not do what it says: an unknown name, or a value of the wrong type."""
    from scrapy.settings import default_settings

    import spiders.settings as ours

    if name.startswith(OWN_SETTINGS):
        return None if hasattr(ours, name) else "not a tenderwatch setting (spiders/settings.py lists them)"
    if not hasattr(default_settings, name):
        return "not a Scrapy setting (scrapy.settings.default_settings lists them)"
    default = getattr(default_settings, name)
    try:
        if isinstance(default, bool):
            if value.strip().lower() not in ("0", "1", "true", "false"):
                raise ValueError
        elif isinstance(default, int) and name not in SECONDS_WITH_INT_DEFAULT:
            int(value)
        elif isinstance(default, (int, float)) and not math.isfinite(float(value)):
            raise ValueError
    except ValueError:
        kind = "number" if name in SECONDS_WITH_INT_DEFAULT else type(default).__name__
        return f"expected {kind}, like the default {default!r}"
    return None


def cmd_nightly(args: argparse.Namespace, context: Context) -> int:
    from flows import nightly

    _require_replay(args.replay)
    state = nightly(
        data_dir=str(context.paths.root),
        replay=args.replay,
        sources=context.sources,
        from_date=args.from_date,
        until_date=args.until_date,
        sample=args.sample,
        base_urls=dict(args.base_url),
        crawl_settings=dict(args.setting),
        spider_args=_spider_args(args, context.settings),
        ignore_backoff=args.ignore_backoff,
        refetch=args.refetch,
        config=context.config_file,
        publish_date=args.publish_date,
        return_state=True,
    )
    summary = _summary(state)
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
    stored = summary["stored"]
    pending = _pending_line(stored.get("pending_waiting", 0), stored.get("pending_given_up", 0))
    if pending:
        print(pending)
    for path in published["paths"]:
        print(f"wrote {path}")
    print(f"analysts' database: {summary['snapshot']}")
    return 0 if state.is_completed() else 1


def _pending_line(waiting: int, given_up: int) -> str | None:
    from pipelines.storage.pending_fetches import summary_line

    return summary_line(waiting, given_up)


def cmd_backfill(args: argparse.Namespace, context: Context) -> int:
    from flows import backfill

    _require_replay(args.replay)
    until = args.until_date or (datetime.now(SHANGHAI).date() - timedelta(days=1)).isoformat()
    if args.from_date > until:
        raise CommandError(f"--from {args.from_date} is after --until {until}")
    if args.window_days < 1 or (args.max_windows is not None and args.max_windows < 1):
        raise CommandError("--window-days and --max-windows must be at least 1")
    state = backfill(
        data_dir=str(context.paths.root),
        from_date=args.from_date,
        until_date=until,
        sources=context.sources,
        window_days=args.window_days,
        replay=args.replay,
        base_urls=dict(args.base_url),
        crawl_settings=dict(args.setting),
        spider_args=_spider_args(args, context.settings),
        max_windows=args.max_windows,
        ignore_backoff=args.ignore_backoff,
        refetch=args.refetch,
        config=context.config_file,
        return_state=True,
    )
    summary = _summary(state)
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


def _summary(state):
    """What a nightly or backfill run returned, whether it ended Completed or Failed with its summary."""
    from pipelines.operations.outcome import FailedNight

    result = state.result(raise_on_failure=False)
    return result.summary if isinstance(result, FailedNight) else result


def cmd_check_sources(args: argparse.Namespace, context: Context) -> int:
    """One list page per source, live: is each portal answering with notices right now? Nothing is stored."""
    from pipelines.ingest.crawl import CrawlRequest, run_crawl
    from pipelines.storage import crawl_runs

    paths = context.paths
    run_id = "check-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    yesterday = (datetime.now(SHANGHAI).date() - timedelta(days=1)).isoformat()
    base_urls = dict(args.base_url)
    healthy = True
    for source in context.sources:
        request = CrawlRequest(
            source=source, run_id=run_id, from_date=yesterday, sample=1, base_url=base_urls.get(source),
            settings=dict(args.setting), spider_args={**_spider_args(args, context.settings), "list_only": "1"},
        )  # fmt: skip
        crawl = run_crawl(request, paths.runs / run_id, paths.archive, recent_items=[])
        line = f"{source}: {crawl.verdict}: {crawl.reason}"
        statuses = _status_counts(crawl.responses_by_status)
        if statuses:
            line += f" [{statuses}]"
        backoff = crawl_runs.active_backoff(paths.work_db, source, datetime.now(UTC))
        if backoff:
            line += f"; the nightly job leaves it alone until {_local(backoff[0])}"
        print(line)
        healthy = healthy and crawl.healthy
    return 0 if healthy else 1


def cmd_serve(args: argparse.Namespace, context: Context) -> int:
    """Serve the nightly deployment until stopped, on the operator's Prefect server or on one of our own."""
    from pipelines.operations import prefect_server

    schedule = context.settings.schedule
    schedule = replace(schedule, cron=args.cron or schedule.cron, timezone=args.timezone or schedule.timezone)
    problems = schedule_errors(schedule)
    if problems:
        raise CommandError(f"settings: {'; '.join(problems)}")
    _require_replay(args.replay)
    settings = replace(context.settings, schedule=schedule)
    paths = context.paths
    given = os.environ.get("PREFECT_API_URL")
    if given and not prefect_server.answers(given):
        raise prefect_server.ServerError(f"no Prefect server answers at PREFECT_API_URL={given}")
    with contextlib.ExitStack() as stack:
        api_url = given
        if not given:
            server = stack.enter_context(
                prefect_server.LocalServer(paths.root / "prefect", paths.root / "logs" / "prefect-server.log")
            )
            api_url = server.api_url
            _use_prefect_server(api_url)
            # Only our own server is known to have no other runner: runs a killed serve left RUNNING are ours.
            _crash_unfinished(api_url, schedule.deployment, "left unfinished by a serve that was stopped or killed")
        where = "its own Prefect server" if not given else "the Prefect server"
        print(
            f"serving nightly/{schedule.deployment} ({schedule.cron}, {schedule.timezone}) on {where} at {api_url}; "
            f"data in {paths.root}; stop with Ctrl-C",
            flush=True,
        )
        try:
            _serve(settings, paths, context.sources, args.replay)
        finally:
            _crash_unfinished(api_url, schedule.deployment, "serve stopped while this night ran")
    return 0


def _serve(settings: Settings, paths: Paths, sources: list[str], replay: str | None) -> None:
    from prefect import serve

    from flows import nightly_deployment

    deployment = nightly_deployment(settings, str(paths.root), sources, replay)
    # pause_on_shutdown=False: restarting the server process must not silently stop the nightly schedule.
    serve(deployment, pause_on_shutdown=False)


def _use_prefect_server(api_url: str) -> None:
    """Point this process (and the flow runs it starts) at ``api_url``."""
    os.environ["PREFECT_API_URL"] = api_url
    from prefect.context import refresh_global_settings_context

    refresh_global_settings_context()


def _crash_unfinished(api_url: str, deployment: str, why: str) -> None:
    from pipelines.operations import prefect_server

    try:
        crashed = prefect_server.crash_unfinished_runs(api_url, "nightly", deployment, why)
    except OSError as error:
        print(f"warning: could not check for unfinished runs at {api_url}: {error}", file=sys.stderr)
        return
    for name in crashed:
        print(f"marked run {name} crashed: {why}", file=sys.stderr)


# --- commands on the stored data -------------------------------------------------------------------------------


def cmd_rematch(args: argparse.Namespace, context: Context) -> int:
    from flows import rematch

    _require_work_db(context.paths)
    result = rematch(data_dir=str(context.paths.root), config=context.config_file)
    matched = result["matched"]
    print(
        f"re-matched {matched['matched']} notice(s) with rules {matched['rules_version']}: "
        f"{matched['newly_matching']} newly match, {result['published']['new']} newly published"
    )
    for path in result["published"]["paths"]:
        print(f"wrote {path}")
    return 0


def cmd_reprocess(args: argparse.Namespace, context: Context) -> int:
    from flows import reprocess
    from pipelines.ingest.warc import warc_files

    archive = context.paths.archive
    if not archive.is_dir() or not warc_files(archive):
        raise CommandError(f"no WARC archive at {archive}")
    result = reprocess(data_dir=str(context.paths.root), config=context.config_file)
    rebuilt = result["rebuilt"]
    skipped = ", ".join(f"{reason}: {count}" for reason, count in rebuilt["skipped"].items()) or "none"
    print(
        f"reprocessed {rebuilt['notices']} notice(s) from {rebuilt['responses']} archived response(s) with parser "
        f"{rebuilt['parser_version']}: {rebuilt['inserted']} new, {rebuilt['updated']} updated, "
        f"parse errors: {rebuilt['parse_errors']}, skipped: {skipped}"
    )
    processes = result["derived"]["processes"]["processes"]
    print(f"re-matched {result['matched']['matched']} notice(s); {processes} procurement process(es)")
    for damage in rebuilt["damaged"]:
        print(f"skipped damaged archive data: {damage}", file=sys.stderr)
    return 1 if rebuilt["damaged"] else 0


def cmd_health(args: argparse.Namespace, context: Context) -> int:
    """Per enabled source: its latest live crawl (verdict, evidence, back-off), and whether it is older than the
    schedule allows; a newer replay or backfill is shown as such, never as the live verdict; then the notices waiting
    for a retry, and whether the analysts' snapshot opens. Exit 1 when a source has no live crawl, an unhealthy one
    or a stale one, or when the snapshot does not open."""
    from pipelines.config import stale_after
    from pipelines.model import HEALTHY_VERDICTS
    from pipelines.storage import crawl_runs, pending_fetches, snapshot, store

    paths = context.paths
    allowed = stale_after(context.settings.schedule)
    latest = {source: {} for source in context.sources}
    if paths.work_db.exists():
        with store.session(paths.work_db) as con:
            latest = crawl_runs.latest_by_kind(con, context.sources)
    now = datetime.now(UTC)
    healthy = True
    for source, kinds in latest.items():
        live = kinds.get("live")
        if live is None:
            print(f"{source}: no live crawl yet")
            healthy = False
        else:
            line = f"{live['verdict']} at {_local(live['started_at'])}: {live['reason']}"
            statuses = _status_counts(live["responses_by_status"])
            if statuses:
                line += f" [{statuses}]"
            if live["blocked_until"] and live["blocked_until"] > now:
                line += f"; left alone until {_local(live['blocked_until'])}"
            age = now - live["started_at"]
            if age > allowed:
                line = f"STALE: last live crawl {_hours(age)} ago (allowed: {_hours(allowed)}): " + line
            print(f"{source}: {line}")
            healthy = healthy and live["verdict"] in HEALTHY_VERDICTS and age <= allowed
        for kind in ("replay", "backfill"):
            other = kinds.get(kind)
            if other and (live is None or other["started_at"] > live["started_at"]):
                where = (
                    f"from {other['replay']}" if kind == "replay" else f"{other['from_date']} … {other['until_date']}"
                )
                print(f"  {source} {kind} (not a live crawl): {other['verdict']} at {_local(other['started_at'])} "
                      f"{where}: {other['reason']}")  # fmt: skip
    if paths.work_db.exists():
        with store.session(paths.work_db) as con:
            pending = _pending_line(*pending_fetches.counts(con))
        if pending:
            print(pending)
    broken_snapshot = snapshot.snapshot_problem(paths.snapshot)
    if broken_snapshot:
        print(f"analysts' snapshot {paths.snapshot} does not open: {broken_snapshot}")
    return 0 if healthy and not broken_snapshot else 1


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 72 else f"{hours / 24:.0f} days"


def cmd_review(args: argparse.Namespace, context: Context) -> int:
    from pipelines.matching import reviews
    from pipelines.storage import store

    _require_work_db(context.paths)
    with store.session(context.paths.work_db) as con:
        if not args.notice:
            for source, notice_id, tier, categories, title in reviews.pending(con, args.limit):
                print(f"{source}:{notice_id}\t{tier}\t{','.join(categories or [])}\t{title}")
            return 0
        source, _, notice_id = args.notice.partition(":")
        if not notice_id or not args.verdict:
            raise CommandError("give SOURCE:NOTICE_ID and --verdict")
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
            raise CommandError(str(error)) from None
    print(f"recorded {args.verdict} for {args.notice}")
    return 0


def cmd_export_ocds(args: argparse.Namespace, context: Context) -> int:
    import duckdb

    from pipelines.publishing import ocds

    snapshot = context.paths.snapshot
    if not snapshot.exists():
        raise CommandError(f"no analysts' database at {snapshot} (run nightly first)")
    # The snapshot, read-only: an export never competes with the nightly writer.
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        since = date.fromisoformat(args.since) if args.since else None
        summary = ocds.export(con, Path(args.out), since)
    finally:
        con.close()
    print(f"wrote {summary.releases} release(s) to {summary.releases_path}")
    print(f"wrote {summary.records} record(s) to {summary.records_path}")
    return 0


def cmd_translate(args: argparse.Namespace, context: Context) -> int:
    from pipelines.publishing import translate
    from pipelines.storage import snapshot, store

    paths = context.paths
    _require_work_db(paths)
    with store.session(paths.work_db) as con:
        translate.load_glossary(con)
        translate.segment_pending(con)
        try:
            engine = translate.make_engine(
                args.engine, con, args.lang, url=args.url, api_key=os.environ.get("LIBRETRANSLATE_API_KEY")
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        summary = translate.translate_pending(con, engine, args.lang, args.limit)
    snapshot.publish_snapshot(paths.work_db, paths.snapshot, memory_cap=context.settings.memory.cap("snapshot"))
    print(
        f"{summary.engine} → {summary.target_lang}: translated {summary.translated} segment(s), "
        f"{summary.declined} declined, {summary.remaining} left"
    )
    if summary.error:
        print(f"error: stopped: {summary.error}; what was translated is kept, run again to continue", file=sys.stderr)
        return 1
    return 0


def cmd_sources(args: argparse.Namespace, context: Context) -> int:
    """Per portal: verified or not, enabled or not, its last verdict, then what it is, how it is read, and why."""
    from spiders.registry import PORTALS

    if args.markdown:
        print(sources_table(PORTALS))
        return 0
    last = _last_verdicts(context.paths, list(PORTALS))
    width = max(map(len, PORTALS))
    for name, portal in PORTALS.items():
        verified = "verified" if portal.verified else "UNVERIFIED"
        enabled = "enabled" if name in context.sources else "-"
        print(f"{name:<{width}}  {verified:<10}  {enabled:<7}  last: {last.get(name, 'never crawled')}")
        print(f"{'':<{width}}  {portal.title}: {portal.how}")
        print(f"{'':<{width}}  night: {night_plan(portal)}")
        print(f"{'':<{width}}  evidence: {portal.evidence}")
    return 0


def night_plan(portal) -> str:
    """How a live night crawls the portal and within what budget, in minutes at the polite rate (DOWNLOAD_DELAY)."""
    from spiders.settings import DOWNLOAD_DELAY

    night = portal.night
    if night is None:
        return "the spider's defaults, no request budget"
    return (
        f"{night.mode}; at most {night.budget} requests "
        f"({night.minutes_at(DOWNLOAD_DELAY)} min at {DOWNLOAD_DELAY} s each)"
    )


def sources_table(portals) -> str:
    """README's table of sources, from the registry (a test keeps the README equal to it)."""
    rows = ["| source | portal | how | a live night | layout |", "|---|---|---|---|---|"]
    for name, portal in portals.items():
        layout = "verified on real pages" if portal.verified else "unverified"
        rows.append(f"| `{name}` | {portal.title} | {portal.how} | {night_plan(portal)} | {layout} |")
    return "\n".join(rows)


def _last_verdicts(paths: Paths, sources: list[str]) -> dict[str, str]:
    """source → ``verdict (date)`` of its latest live crawl here, or of a replay or backfill, said to be one."""
    from pipelines.storage import crawl_runs, store

    if not paths.work_db.exists():
        return {}
    with store.session(paths.work_db) as con:
        latest = crawl_runs.latest_by_kind(con, sources)
    said = {}
    for source, kinds in latest.items():
        kind = next((kind for kind in ("live", "replay", "backfill") if kind in kinds), None)
        if kind:
            crawl = kinds[kind]
            said[source] = f"{crawl['verdict']} ({_local(crawl['started_at'])}" + (
                ")" if kind == "live" else f", {kind})"
            )
    return said


# --- commands on one page or text ------------------------------------------------------------------------------


def cmd_parse(args: argparse.Namespace, context: Context) -> int:
    from pipelines.ingest.normalize import normalize_page, to_json
    from spiders.registry import PORTALS

    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"no file at {path}")
    print(to_json(normalize_page(path.read_bytes(), args.url, PORTALS)))
    return 0


def _load_matcher():
    from pipelines.matching.configured import load_matcher
    from pipelines.matching.rules import RulesError

    try:
        return load_matcher()
    except RulesError as error:
        raise CommandError(str(error)) from None


def cmd_match_text(args: argparse.Namespace, context: Context) -> int:
    matcher = _load_matcher()
    if args.jsonl:
        from pipelines.matching.engine import match_jsonl

        with Path(args.jsonl).open(encoding="utf-8") as lines:
            for out in match_jsonl(lines, matcher):
                sys.stdout.write(out + "\n")
        return 0
    text = sys.stdin.read()
    published = date.fromisoformat(args.date) if args.date else None
    # One text: neither the fast path's anchors nor (for a short text) the prefilter is worth compiling for it.
    result = matcher.match_once(title=args.title or "", text=text, published=published, notice_type=args.notice_type)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_evaluate(args: argparse.Namespace, context: Context) -> int:
    from pipelines.matching.evaluate import evaluate, format_report, load_cases

    if not args.labels and not args.reviews:
        raise CommandError("give a labelled set (LABELS.jsonl), --reviews, or both")
    matcher = _load_matcher()
    cases = []
    if args.labels:
        try:
            cases += load_cases(args.labels)
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from None
    if args.reviews:
        from pipelines.matching import reviews
        from pipelines.storage import store

        _require_work_db(context.paths)
        with store.session(context.paths.work_db) as con:
            reviewed = list(reviews.labelled_cases(con))
        print(f"{len(reviewed)} case(s) from analysts' reviews")
        cases += reviewed
    print(format_report(evaluate(cases, matcher)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
