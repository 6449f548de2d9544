"""Settings in one place: ``tenderwatch.toml`` (documented defaults), then environment variables, then CLI flags.

Where the file is looked for, first found wins: the path given (``--config``), ``$TENDERWATCH_CONFIG``,
``./tenderwatch.toml``. With no file every setting takes its default below.

Everything is validated when loaded, before any work: an unknown key, a wrong type, a bad cron expression or time
zone, a URL that is not http(s) stops the command with one message naming each offending key.
"""

from __future__ import annotations

import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlsplit

CONFIG_ENV = "TENDERWATCH_CONFIG"
DEFAULT_FILE = "tenderwatch.toml"


class ConfigError(ValueError):
    """Settings that cannot be used; the message names every offending key."""


@dataclass(frozen=True)
class Sources:
    # Spider names (modules in spiders/) crawled by the nightly job: the portals whose layout real pages confirm.
    enabled: tuple[str, ...] = ("ccgp", "jsggzy")
    # Search keywords for portals with a search API; given to every crawl as ``-a keywords=…`` (empty: each
    # spider's own default terms, pipelines/matching/queries.py).
    queries: tuple[str, ...] = ()
    # Live nights crawl each source the registry's night way (search mode, its keywords, a request budget); false:
    # with each spider's own defaults (ccgp's full column lists) and no budget.
    night_defaults: bool = True


@dataclass(frozen=True)
class Schedule:
    cron: str = "30 2 * * *"
    timezone: str = "Asia/Shanghai"
    deployment: str = "nightly"
    work_pool: str = "tenderwatch"
    # How old the last live crawl of an enabled source may be before ``health`` calls it stale; 0: the longest gap
    # between two runs of the cron plus STALE_GRACE (30 h for a nightly cron).
    stale_after_hours: float = 0.0


# A night may start late and crawl for hours (a crawl is stopped after 6 h), so a stale crawl is one that missed a
# whole run of the schedule, not one that is merely running now.
STALE_GRACE_HOURS = 6.0
# Runs of the cron looked at to find its longest gap (200 covers a year of weekly runs and every daily pattern).
CRON_SAMPLE = 200


@dataclass(frozen=True)
class Outputs:
    # Entries kept in the cumulative Atom feed (newest first).
    feed_entries: int = 500
    feed_title: str = "tenderwatch: AI-compute purchases in Chinese public procurement"
    # Entry ids are tag: URIs (RFC 4151) minted under this name and date; never change them once feeds are read.
    tag_authority: str = "tenderwatch"
    tag_date: str = "2026"
    # Weeks shown in the HTML digest's chart of matches over time.
    chart_weeks: int = 12


@dataclass(frozen=True)
class Webhook:
    url: str = ""


@dataclass(frozen=True)
class Email:
    smtp_host: str = ""
    smtp_port: int = 25
    starttls: bool = False
    username: str = ""
    password: str = ""
    sender: str = "tenderwatch@localhost"
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Delivery:
    attempts: int = 3
    backoff_seconds: float = 5.0
    timeout_seconds: float = 20.0
    # Also deliver on nights with nothing new (a "still alive" message).
    send_empty: bool = False
    webhook: Webhook = field(default_factory=Webhook)
    email: Email = field(default_factory=Email)


@dataclass(frozen=True)
class Housekeeping:
    # Per-run folders (work/runs/) and log files (logs/) untouched for this many days are removed by the nightly
    # run; 0 keeps them all. The archive, the databases and the published outputs are never removed.
    keep_days: int = 30


@dataclass(frozen=True)
class Memory:
    # DuckDB's memory for the passes that read the whole history, past which they spill to disk (pipelines/storage
    # and pipelines/matching say what each needs): the store's load, the match, the snapshot's copy, patch and
    # Parquet. A pass that runs out under its cap is done again without it, with a warning naming the cap to raise;
    # "" runs it uncapped (DuckDB's own default, 80% of RAM). The defaults are the code's (LOAD_MEMORY_LIMIT,
    # MATCH_MEMORY_LIMIT, SNAPSHOT_MEMORY_LIMIT).
    load: str = "1GB"
    match: str = "128MB"
    snapshot: str = "512MB"

    def cap(self, name: str) -> str | None:
        """The cap of one pass (``load``, ``match`` or ``snapshot``) as the passes take it: None for no cap."""
        return getattr(self, name).strip() or None


@dataclass(frozen=True)
class Settings:
    data_dir: str = "data"
    sources: Sources = field(default_factory=Sources)
    schedule: Schedule = field(default_factory=Schedule)
    outputs: Outputs = field(default_factory=Outputs)
    delivery: Delivery = field(default_factory=Delivery)
    housekeeping: Housekeeping = field(default_factory=Housekeeping)
    memory: Memory = field(default_factory=Memory)
    # Where the settings came from (None: defaults only); not a setting itself.
    origin: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Paths:
    """Where everything lives under one data directory (``data_dir``)."""

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


# Environment variable → dotted key. Secrets (SMTP password, a webhook URL holding a token) belong here, not in
# the file.
ENVIRONMENT = {
    "TENDERWATCH_DATA_DIR": "data_dir",
    "TENDERWATCH_SOURCES": "sources.enabled",
    "TENDERWATCH_QUERIES": "sources.queries",
    "TENDERWATCH_NIGHT_DEFAULTS": "sources.night_defaults",
    "TENDERWATCH_SCHEDULE_CRON": "schedule.cron",
    "TENDERWATCH_SCHEDULE_TIMEZONE": "schedule.timezone",
    "TENDERWATCH_WORK_POOL": "schedule.work_pool",
    "TENDERWATCH_STALE_AFTER_HOURS": "schedule.stale_after_hours",
    "TENDERWATCH_KEEP_DAYS": "housekeeping.keep_days",
    "TENDERWATCH_MEMORY_LOAD": "memory.load",
    "TENDERWATCH_MEMORY_MATCH": "memory.match",
    "TENDERWATCH_MEMORY_SNAPSHOT": "memory.snapshot",
    "TENDERWATCH_WEBHOOK_URL": "delivery.webhook.url",
    "TENDERWATCH_SMTP_HOST": "delivery.email.smtp_host",
    "TENDERWATCH_SMTP_PORT": "delivery.email.smtp_port",
    "TENDERWATCH_SMTP_USERNAME": "delivery.email.username",
    "TENDERWATCH_SMTP_PASSWORD": "delivery.email.password",
    "TENDERWATCH_MAIL_FROM": "delivery.email.sender",
    "TENDERWATCH_MAIL_TO": "delivery.email.recipients",
}


def config_path(explicit: str | Path | None = None, environ: typing.Mapping[str, str] | None = None) -> Path | None:
    """The settings file to read, or None when there is none (defaults apply)."""
    environ = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    local = Path(DEFAULT_FILE)
    return local if local.is_file() else None


def load(explicit: str | Path | None = None, environ: typing.Mapping[str, str] | None = None) -> Settings:
    """Read, override from the environment and validate; raises ConfigError naming every bad key."""
    environ = os.environ if environ is None else environ
    path = config_path(explicit, environ)
    table: dict = {}
    where = "defaults"
    if path is not None:
        where = str(path)
        if not path.is_file():
            raise ConfigError(f"{where}: no such settings file")
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{where}: not valid TOML: {error}") from None
    errors: list[str] = []
    settings = _build(Settings, table, "", errors)
    settings = _apply_environment(settings, environ, errors)
    # Fields that failed their type check kept their defaults, so the values can be checked in the same pass.
    errors += _validate(settings)
    if errors:
        raise ConfigError(f"{where}: " + "; ".join(errors))
    return replace(settings, origin=str(path) if path else None)


# --- building dataclasses from TOML tables, with type checks -----------------------------------------------------


def _build(cls, table: dict, prefix: str, errors: list[str]):
    known = [f.name for f in fields(cls) if f.name != "origin"]
    for key in table:
        if key not in known:
            errors.append(f"{prefix}{key}: unknown setting (known: {', '.join(sorted(known))})")
    values = {}
    for name in known:
        if name not in table:
            continue
        kind = _field_type(cls, name)
        key = f"{prefix}{name}"
        if is_dataclass(kind):
            if isinstance(table[name], dict):
                values[name] = _build(kind, table[name], f"{key}.", errors)
            else:
                errors.append(f"{key}: expected a table ([{key}])")
            continue
        converted = _convert(table[name], kind)
        if converted is _INVALID:
            errors.append(f"{key}: expected {_describe(kind)}, got {table[name]!r}")
        else:
            values[name] = converted
    return cls(**values)


_INVALID = object()


def _field_type(cls, name: str):
    return typing.get_type_hints(cls)[name]


def _convert(value, kind):
    """``value`` as ``kind`` (TOML already typed it; only exact kinds pass, ints widen to floats)."""
    if kind is bool:
        return value if isinstance(value, bool) else _INVALID
    if kind is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _INVALID
    if kind is float:
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else _INVALID
    if kind is str:
        return value if isinstance(value, str) else _INVALID
    if typing.get_origin(kind) is tuple:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        return _INVALID
    if isinstance(kind, types.UnionType):
        return value if value is None or isinstance(value, str) else _INVALID
    return _INVALID


def _describe(kind) -> str:
    if typing.get_origin(kind) is tuple:
        return "a list of strings"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(kind, str(kind))


def _from_text(text: str, kind):
    """An environment variable's text as ``kind``."""
    if kind is bool:
        lowered = text.strip().lower()
        return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}.get(lowered, _INVALID)
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            return _INVALID
    if typing.get_origin(kind) is tuple:
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return text


def _apply_environment(settings: Settings, environ: typing.Mapping[str, str], errors: list[str]) -> Settings:
    for variable, dotted in ENVIRONMENT.items():
        if variable not in environ:
            continue
        *parents, name = dotted.split(".")
        chain = [settings]
        for parent in parents:
            chain.append(getattr(chain[-1], parent))
        value = _from_text(environ[variable], _field_type(type(chain[-1]), name))
        if value is _INVALID:
            errors.append(f"{dotted} (from ${variable}): cannot read {environ[variable]!r}")
            continue
        updated = replace(chain[-1], **{name: value})
        for holder, parent in zip(reversed(chain[:-1]), reversed(parents), strict=True):
            updated = replace(holder, **{parent: updated})
        settings = updated
    return settings


# --- validation of values ----------------------------------------------------------------------------------------

_SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_TAG_AUTHORITY = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(@[a-z0-9.-]+)?\Z")
_TAG_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?\Z")
# A size as DuckDB's memory_limit reads it; the only text of a setting that reaches SQL, so nothing else passes.
_MEMORY_SIZE = re.compile(r"\d+(\.\d+)? ?(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\Z", re.IGNORECASE)


def _validate(settings: Settings) -> list[str]:
    errors = []
    errors += schedule_errors(settings.schedule)
    if not settings.data_dir.strip():
        errors.append("data_dir: must not be empty")
    if not settings.sources.enabled:
        errors.append("sources.enabled: name at least one source")
    errors += [
        f"sources.enabled: {name!r} is not a spider name (lower-case letters, digits, _)"
        for name in settings.sources.enabled
        if not _SOURCE_NAME.match(name)
    ]
    outputs = settings.outputs
    if not 1 <= outputs.feed_entries <= 100_000:
        errors.append("outputs.feed_entries: between 1 and 100000")
    if not 1 <= outputs.chart_weeks <= 260:
        errors.append("outputs.chart_weeks: between 1 and 260")
    if not _TAG_AUTHORITY.match(outputs.tag_authority):
        errors.append("outputs.tag_authority: a domain name or e-mail address (RFC 4151)")
    if not _TAG_DATE.match(outputs.tag_date):
        errors.append("outputs.tag_date: YYYY, YYYY-MM or YYYY-MM-DD")
    errors += _delivery_errors(settings.delivery)
    if not 0 <= settings.housekeeping.keep_days <= 36500:
        errors.append("housekeeping.keep_days: between 0 (keep everything) and 36500")
    errors += [
        f"memory.{item.name}: {value!r} is not a size such as '512MB' or '2GB' (or '' for no cap)"
        for item in fields(Memory)
        if (value := getattr(settings.memory, item.name).strip()) and not _MEMORY_SIZE.match(value)
    ]
    return errors


def schedule_errors(schedule: Schedule) -> list[str]:
    errors = []
    problem = _cron_problem(schedule.cron)
    if problem:
        errors.append(f"schedule.cron: {schedule.cron!r} is not valid ({problem})")
    if _zone(schedule.timezone) is None:
        errors.append(f"schedule.timezone: {schedule.timezone!r} is not valid (not an IANA time zone)")
    if not errors and not next_runs(schedule, 1):
        errors.append(f"schedule.cron: {schedule.cron!r} never fires (no date matches it), so no night would run")
    for key in ("deployment", "work_pool"):
        if not _SLUG.match(getattr(schedule, key)):
            errors.append(f"schedule.{key}: lower-case letters, digits and dashes")
    if schedule.stale_after_hours < 0:
        errors.append("schedule.stale_after_hours: must not be negative (0: derived from the cron)")
    return errors


# Settings are read by every command, so the cron is checked with cronsim (imports in milliseconds) rather than
# Prefect's schedule models (importing Prefect takes seconds, and most commands orchestrate nothing). Only the
# five-field form is accepted: it is what a Prefect ``Cron`` schedule and every crontab understand alike.
_CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")


def _cron_problem(cron: str) -> str | None:
    """Why ``cron`` is not a five-field cron expression, or None (an expression that never fires is valid here)."""
    from cronsim.cronsim import CronSimError, Field

    parts = cron.split()
    if len(parts) != len(_CRON_FIELDS):
        return f"{len(_CRON_FIELDS)} fields: {' '.join(_CRON_FIELDS)}"
    fields_ = (Field.MINUTE, Field.HOUR, Field.DAY, Field.MONTH, Field.DOW)
    for name, part, kind in zip(_CRON_FIELDS, parts, fields_, strict=True):
        try:
            kind.parse(part.upper())
        except CronSimError:
            return f"bad {name} field {part!r}"
    return None


def _zone(name: str):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def next_runs(schedule: Schedule, count: int, after: datetime | None = None) -> list[datetime]:
    """The next ``count`` times the cron fires (fewer, or none, when it rarely or never matches a date)."""
    from cronsim import CronSim, CronSimError

    zone = _zone(schedule.timezone)
    if zone is None or _cron_problem(schedule.cron):
        return []
    start = (after or datetime.now(zone)).astimezone(zone)
    try:
        # cronsim refuses, as it is built, a day-of-month that no listed month has (30 February): never fires.
        times = CronSim(schedule.cron, start)
    except CronSimError:
        return []
    runs = []
    for moment in times:
        runs.append(moment)
        if len(runs) == count:
            break
    return runs


def stale_after(schedule: Schedule) -> timedelta:
    """How old the last live crawl of an enabled source may be before it is stale (``schedule.stale_after_hours``)."""
    if schedule.stale_after_hours > 0:
        return timedelta(hours=schedule.stale_after_hours)
    runs = next_runs(schedule, CRON_SAMPLE)
    gap = max((later - earlier for earlier, later in pairwise(runs)), default=timedelta(days=1))
    return gap + timedelta(hours=STALE_GRACE_HOURS)


def _delivery_errors(delivery: Delivery) -> list[str]:
    errors = []
    if not 1 <= delivery.attempts <= 10:
        errors.append("delivery.attempts: between 1 and 10")
    if delivery.backoff_seconds < 0:
        errors.append("delivery.backoff_seconds: must not be negative")
    if not 0 < delivery.timeout_seconds <= 300:
        errors.append("delivery.timeout_seconds: more than 0 and at most 300")
    if delivery.webhook.url and not is_http_url(delivery.webhook.url):
        errors.append(f"delivery.webhook.url: {redact_url(delivery.webhook.url)!r} is not an http(s) URL")
    email = delivery.email
    if email.smtp_host:
        if not 1 <= email.smtp_port <= 65535:
            errors.append("delivery.email.smtp_port: between 1 and 65535")
        if not email.recipients:
            errors.append("delivery.email.recipients: name at least one address when smtp_host is set")
        errors += [
            f"delivery.email.{key}: {address!r} is not an e-mail address"
            for key, addresses in (("sender", [email.sender]), ("recipients", email.recipients))
            for address in addresses
            if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", address)
        ]
    return errors


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def redact_url(url: str) -> str:
    """Scheme, host and port only: webhook paths and queries often carry the secret token."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return "<not a URL>"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ":<bad port>"
    return f"{parts.scheme}://{parts.hostname}{port}/…"


# --- fault injection for the crash-safety tests ------------------------------------------------------------------
# Unset in production. TENDERWATCH_FAULT=<point> makes the process die at that point as a killed run would (os._exit,
# no cleanup), or, for a "*-disk-full" point, raise ENOSPC as a full disk would. Here, at the bottom of the layers,
# so storage and publishing can both name their points.
FAULT_ENV = "TENDERWATCH_FAULT"
FAULT_EXIT_CODE = 70


def fault_point(name: str) -> None:
    if os.environ.get(FAULT_ENV) == name:
        os._exit(FAULT_EXIT_CODE)


def disk_full_point(name: str) -> None:
    if os.environ.get(FAULT_ENV) == name:
        raise OSError(28, f"No space left on device (injected at {name})")
