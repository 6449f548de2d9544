"""Judging a crawl from its stats: `scrapy crawl` exits 0 even when every request failed.

Verdicts: ``ok``; ``degraded`` (some errors, or far fewer notices than usual); ``blocked`` (the portal refused
us: a block page, a 403/429/521); ``broken`` (the site answers but its pages no longer parse: a layout change);
``unreachable`` (nothing came back at all: DNS, connection or TLS failures, timeouts).
A list page that could not be read (an error status after retries, a timeout, a redirect loop) makes a crawl
``broken``: the window it was to cover is not done. A listed notice whose detail page failed makes it ``degraded``;
the notice waits in ``pending_fetches`` for the next nights.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

VERDICTS = ("ok", "degraded", "blocked", "broken", "unreachable")

# More than this share of requests failing makes a crawl degraded even when it produced notices.
ERROR_RATE_DEGRADED = 0.2
# Fewer notices than this share of the source's recent median makes a crawl degraded.
ITEM_DROP_DEGRADED = 0.3
# How long a blocked source is left alone when the portal does not say (no Retry-After): ccgp's rate limit lasts
# "minutes to hours" (STRUCTURE.md §1.5); a nightly job comes back the next night anyway, so this only stops an
# operator's re-runs from prolonging the block.
DEFAULT_BLOCK_BACKOFF = timedelta(hours=1)
# A Retry-After longer than this is taken as this: a portal's typo must not silence a source for months.
MAX_BLOCK_BACKOFF = timedelta(days=7)


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str


# Exception class names in Scrapy's stats, in words an operator reads at a glance.
PLAIN_FAILURES = {
    "CannotResolveHostError": "DNS lookup failed",
    "DownloadConnectionRefusedError": "connection refused",
    "DownloadTimeoutError": "timed out",
    "DownloadFailedError": "download failed",
    "ResponseDataLossError": "response cut short",
    "DNSLookupError": "DNS lookup failed",
    "ConnectionRefusedError": "connection refused",
    "ConnectError": "connection failed",
    "TCPTimedOutError": "connection timed out",
    "TimeoutError": "timed out",
    "ResponseNeverReceived": "no response received",
    "ConnectionLost": "connection lost",
    "SSLError": "TLS handshake failed",
}


def _exceptions(stats: dict) -> dict[str, int]:
    prefix = "downloader/exception_type_count/"
    return {key[len(prefix) :].rsplit(".", 1)[-1]: value for key, value in stats.items() if key.startswith(prefix)}


def judge(stats: dict | None, recent_item_counts: list[int] | tuple[int, ...] = ()) -> Verdict:
    """The verdict on one crawl from its dumped stats (see ``spiders.stats.StatsDump``)."""
    if not stats:
        return Verdict("broken", "the crawl wrote no stats: the crawler process failed before closing")
    reason = stats.get("finish_reason", "")
    requests = stats.get("downloader/request_count", 0)
    responses = stats.get("downloader/response_count", 0)
    items = stats.get("item_scraped_count", 0)
    errors = stats.get("log_count/ERROR", 0)
    exceptions = _exceptions(stats)

    if stats.get("tenderwatch/blocked") or reason == "blocked":
        evidence = stats.get("tenderwatch/block_reason", "block page")
        url = stats.get("tenderwatch/block_url", "")
        retry_after = stats.get("tenderwatch/retry_after")
        suffix = f"; Retry-After {retry_after}" if retry_after else ""
        problem = read_retry_after(retry_after, datetime.now(UTC)).problem
        if problem:
            suffix = f"; {problem}, backing off {DEFAULT_BLOCK_BACKOFF}"
        return Verdict("blocked", f"{evidence} at {url}{suffix}")
    if requests and not responses:
        kinds = ", ".join(f"{PLAIN_FAILURES.get(name, name)} ({count}×)" for name, count in sorted(exceptions.items()))
        return Verdict("unreachable", f"no response to {requests} request(s): {kinds or 'nothing came back'}")
    failed_lists = stats.get("tenderwatch/list_pages_failed", 0)
    if failed_lists:
        # A list page not read may hide any number of notices: the night is not done, whatever else it brought.
        url = stats.get("tenderwatch/list_failed_url", "")
        why = stats.get("tenderwatch/list_failed_reason", "")
        return Verdict("broken", f"{failed_lists} list page(s) could not be read, e.g. {url} ({why})")
    budget_lists = stats.get("tenderwatch/budget_list_pages", 0)
    if budget_lists:
        # As a failed list page: what those pages list is unknown, so the window must stay open.
        budget = stats.get("tenderwatch/budget", "?")
        return Verdict("broken", f"request budget reached ({budget} per crawl) with {budget_lists} list page(s) unread")
    empty_pages = stats.get("tenderwatch/empty_list_pages", 0)
    if empty_pages and not items and not stats.get("tenderwatch/list_items"):
        url = stats.get("tenderwatch/empty_list_url", "")
        return Verdict("broken", f"list page parsed to zero notices while the site answered: {url}")
    if reason not in ("finished", "closespider_itemcount", "sample"):
        return Verdict("broken", f"crawl ended with reason {reason!r}")
    problems = []
    if stats.get("tenderwatch/budget_reached"):
        problems.append(f"request budget reached ({stats.get('tenderwatch/budget', '?')} per crawl)")
    if empty_pages:
        url = stats.get("tenderwatch/empty_list_url", "")
        problems.append(f"{empty_pages} list page(s) parsed to zero notices, e.g. {url}")
    missed = stats.get("tenderwatch/notices_missed", 0)
    if missed:
        url = stats.get("tenderwatch/notice_missed_url", "")
        why = stats.get("tenderwatch/notice_missed_reason", "")
        problems.append(f"{missed} listed notice(s) not fetched, kept for retry, e.g. {url} ({why})")
    if stats.get("tenderwatch/next_page_lost"):
        problems.append("the next list page could not be found")
    # An attachment that could not be fetched (over its size cap, an HTTP error) is recorded with the notice's
    # files; it says nothing about the portal's health.
    failed = sum(exceptions.values()) + stats.get("tenderwatch/detail_errors", 0)
    failed = max(failed - stats.get("tenderwatch/attachments_failed", 0), 0)
    if requests and failed / requests > ERROR_RATE_DEGRADED:
        problems.append(f"{failed} of {requests} requests failed")
    if errors and not problems:
        problems.append(f"{errors} error(s) logged")
    # A notice listed but stored already was seen: a night with nothing new is a quiet night, not a drop.
    stored = stats.get("tenderwatch/already_stored", 0)
    usual = sorted(recent_item_counts)
    if usual:
        median = usual[len(usual) // 2]
        if median and items + stored < median * ITEM_DROP_DEGRADED:
            problems.append(f"{items + stored} notices against a recent median of {median}")
    if problems:
        return Verdict("degraded", "; ".join(problems) + attachments_note(stats))
    if stats.get("tenderwatch/list_only"):
        listed = stats.get("tenderwatch/list_items", 0)
        return Verdict("ok", f"{listed} notices listed on {stats.get('tenderwatch/list_pages', 0)} list page(s)")
    skipped = stats.get("tenderwatch/prefilter_skipped")
    notes = [f"{stored} listed notices stored already"] if stored else []
    notes += [f"{skipped} listed notices skipped by the title prefilter"] if skipped else []
    suffix = f" ({'; '.join(notes)})" if notes else ""
    return Verdict("ok", f"{items} notices from {responses} responses{suffix}{attachments_note(stats)}")


def attachments_note(stats: dict) -> str:
    """``; attachments: 4 fetched (1.2 MB), budget reached (3 left for a later night)`` or nothing."""
    fetched = stats.get("tenderwatch/attachments_fetched", 0)
    budget = stats.get("tenderwatch/attachments_budget", 0)
    if not fetched and not budget and not stats.get("tenderwatch/attachments_failed"):
        return ""
    size = stats.get("tenderwatch/attachment_bytes", 0)
    shown = f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"
    note = f"; attachments: {fetched} fetched ({shown})"
    if stats.get("tenderwatch/attachments_failed"):
        note += f", {stats['tenderwatch/attachments_failed']} not fetched"
    if stats.get("tenderwatch/attachments_budget_reached"):
        note += f", budget reached ({budget} left for a later night)"
    return note


def responses_by_status(stats: dict | None) -> dict[str, int]:
    """Responses per HTTP status, e.g. ``{"200": 68, "404": 1}`` (Scrapy counts them after retries too)."""
    prefix = "downloader/response_status_count/"
    return {key[len(prefix) :]: value for key, value in sorted((stats or {}).items()) if key.startswith(prefix)}


@dataclass(frozen=True)
class RetryAfter:
    """A Retry-After header read strictly: the delay it asks for (capped), or why it was ignored."""

    delay: timedelta | None
    problem: str | None = None


def read_retry_after(value: str | None, now: datetime) -> RetryAfter:
    """Retry-After as RFC 9110 §10.2.3 allows it: ASCII delta-seconds or an HTTP date, capped at MAX_BLOCK_BACKOFF.

    Anything else (``²``, ``-5``, ``1.5``, a date without a zone) is ignored with the reason: a portal's garbage must
    neither crash the flow nor silence a source. The digits are compared as text before ``int``, so a
    hundred-digit value never reaches ``timedelta``.
    """
    if value is None or not value.strip():
        return RetryAfter(None)
    value = value.strip()
    if value.isascii() and value.isdigit():
        cap = int(MAX_BLOCK_BACKOFF.total_seconds())
        digits = value.lstrip("0") or "0"
        seconds = cap if len(digits) > len(str(cap)) else min(int(digits), cap)
        return RetryAfter(timedelta(seconds=seconds))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return RetryAfter(None, f"Retry-After {value[:40]!r} ignored: neither seconds nor an HTTP date")
    if when.tzinfo is None:
        return RetryAfter(None, f"Retry-After {value[:40]!r} ignored: a date without a time zone")
    try:
        delay = when - now
    except OverflowError:
        delay = MAX_BLOCK_BACKOFF
    return RetryAfter(min(max(delay, timedelta(0)), MAX_BLOCK_BACKOFF))


def retry_after_delay(value: str | None, now: datetime) -> timedelta | None:
    """The delay a Retry-After header asks for (capped), or None when absent or unreadable."""
    return read_retry_after(value, now).delay


def blocked_until(stats: dict | None, finished_at: datetime) -> datetime | None:
    """Until when a blocked source is left alone: Retry-After when the portal gave one, else the default."""
    if not stats or not (stats.get("tenderwatch/blocked") or stats.get("finish_reason") == "blocked"):
        return None
    delay = retry_after_delay(stats.get("tenderwatch/retry_after"), finished_at)
    return finished_at + min(delay if delay is not None else DEFAULT_BLOCK_BACKOFF, MAX_BLOCK_BACKOFF)
