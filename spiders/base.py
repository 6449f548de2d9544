"""What every portal spider shares: the date window, sampling, base URL override and block detection.

A portal spider sets class attributes (``name``, ``base_url``, ``block_markers`` …) and writes ``start`` and its
``parse_*`` callbacks; every callback begins with ``if self.is_blocked(response): return``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Response

from pipelines.model import UNDECODABLE, raw_notice
from spiders.common import json_answer, list_date
from spiders.completeness import note_missed_notice
from spiders.hosts import DEFAULT_PORTS, port_of

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Block answers shared by many portals: HTTP statuses and page markers of anti-bot products.
BLOCK_STATUSES: dict[int, str] = {
    403: "HTTP 403 Forbidden",
    429: "HTTP 429 Too Many Requests",
    521: "HTTP 521 JS cookie challenge",
}
GENERIC_BLOCK_MARKERS: tuple[tuple[str, str], ...] = (
    ("__jsl_clearance", "JSL (加速乐) JS cookie challenge"),
    # The obfuscated JSL stage-1 page spells the cookie name out character by character; its reload survives.
    ("location.href=location.pathname+location.search", "JSL (加速乐) JS cookie challenge"),
    ("验证码", "captcha page"),
)


def parse_bool_argument(value: str | bool | None, name: str, default: bool) -> bool:
    """A yes/no spider argument (``-a prefilter=1``): 1/0, true/false, yes/no, on/off."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 1/0, true/false, yes/no or on/off, got {value!r}")


def read_pending(path: str | None) -> list[dict[str, Any]]:
    """The notices to fetch again from a ``-a pending=FILE`` JSON list; entries without a URL are dropped."""
    if not path:
        return []
    entries = json.loads(Path(path).read_text(encoding="utf-8"))
    return [
        {"url": entry["url"], "listing": entry.get("listing") or {"notice_id": entry.get("notice_id")}}
        for entry in entries
        if isinstance(entry, dict) and entry.get("url")
    ]


def read_known(path: str | None) -> dict[str, str | None]:
    """The notices stored already, from a ``-a known=FILE`` JSON object ``{notice_id: update time or null}``."""
    if not path:
        return {}
    known = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(known, dict):
        raise ValueError(f"known must name a JSON object of notice ids, got {type(known).__name__} in {path}")
    return {str(notice_id): (str(updated) if updated else None) for notice_id, updated in known.items()}


def parse_date_argument(value: str | date | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be a date as YYYY-MM-DD, got {value!r}") from None


class BaseSpider(scrapy.Spider):
    """Base of every portal spider.

    Arguments (``-a name=value``):
      from_date  oldest publish date to collect (YYYY-MM-DD); default: yesterday in Asia/Shanghai
      until_date newest publish date to collect (YYYY-MM-DD); default: no upper bound
      sample     collect at most this many notices (a quick look at a portal)
      base_url   fetch from another host with the same paths (a mirror, or the test server)
      list_only  fetch only the first list page(s) and count their notices, no detail pages (the operators'
                 live check: ``flows.py check-sources``); a spider honours it with ``self.list_only``
      prefilter  fetch a detail page only when its list title passes ``pipelines.matching.queries.title_may_match``
                 (default: the class's ``prefilter_default``); a spider asks ``self.title_wanted(title)``
      pending    a JSON file of notices earlier crawls listed but could not fetch (``[{notice_id, url, listing}]``,
                 written by the flow from ``pending_fetches``); their detail pages are requested first
                 (``spiders.completeness``), whatever the date window
      known      a JSON object of the notices already stored (``{notice_id: update time or null}``, written by the
                 flow unless ``--refetch``): a listed notice found there is not fetched again (counted in
                 ``tenderwatch/already_stored``), unless its type is in ``refetch_notice_types`` or its listing
                 shows an update time (``updated``) other than the stored one
    """

    base_url: ClassVar[str]
    # (marker, what it means): text that, found in a small page, means the portal refused us.
    block_markers: ClassVar[tuple[tuple[str, str], ...]] = ()
    # A real block page is short; a notice that merely mentions 验证码 is long.
    block_page_max_bytes: ClassVar[int] = 8000
    handle_httpstatus_list: ClassVar[list[int]] = sorted(BLOCK_STATUSES)
    # Statuses a portal's anti-bot product answers with besides BLOCK_STATUSES (Ruishu's 412), and what they mean.
    challenge_statuses: ClassVar[dict[int, str]] = {}
    # The path of the portal's JSON API: an HTML page answered there is a challenge, never an empty list.
    json_api_path: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        # A refusal status must reach the callbacks to be recognised: Scrapy drops error statuses before them.
        cls.handle_httpstatus_list = sorted({*cls.handle_httpstatus_list, *cls.challenge_statuses})

    # Whether list titles are prefiltered unless ``-a prefilter=…`` says otherwise (docs/decisions.md).
    prefilter_default: ClassVar[bool] = False
    # Notice types a portal rewrites in place under the same id, fetched even when stored (none known today:
    # corrections and awards are notices of their own, with their own ids).
    refetch_notice_types: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        from_date: str | date | None = None,
        until_date: str | date | None = None,
        sample: str | int | None = None,
        base_url: str | None = None,
        *args: Any,
        list_only: str | bool | None = None,
        prefilter: str | bool | None = None,
        pending: str | None = None,
        known: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.pending = read_pending(pending)
        self.known = read_known(known)
        self.list_only = parse_bool_argument(list_only, "list_only", False)
        self.prefilter = parse_bool_argument(prefilter, "prefilter", self.prefilter_default)
        self.from_date = parse_date_argument(from_date, "from_date")
        self.until_date = parse_date_argument(until_date, "until_date")
        if self.from_date is None:
            self.from_date = datetime.now(SHANGHAI).date() - timedelta(days=1)
        if self.until_date and self.from_date > self.until_date:
            raise ValueError(f"from_date {self.from_date} is after until_date {self.until_date}")
        try:
            self.sample = int(sample) if sample not in (None, "") else None
        except ValueError:
            raise ValueError(f"sample must be a whole number, got {sample!r}") from None
        if self.sample is not None and self.sample < 1:
            raise ValueError(f"sample must be at least 1, got {self.sample}")
        # Ports per allowed domain (spiders.hosts): the portal's own domains on the default ports only.
        self.allowed_ports: dict[str, set[int]] = {
            domain: set(DEFAULT_PORTS.values()) for domain in getattr(self, "allowed_domains", [])
        }
        # The host of a mirror or test server given as base_url: the crawl reaches nothing else (spiders.attachments).
        self.mirror_host: str | None = None
        if base_url:
            self.base_url = base_url.rstrip("/")
            parts = urlsplit(self.base_url)
            host = self.mirror_host = parts.hostname
            self.allowed_domains = [*getattr(self, "allowed_domains", []), host]
            # A mirror or test server is reached on its own port and no other.
            self.allowed_ports[host] = {port_of(parts.scheme, parts.port)}
        self.scheduled_notices = 0
        # Notices already scheduled in this crawl: another query, column or page may list them again.
        self.scheduled_ids: set[str] = set()

    # --- the date window -------------------------------------------------------------------------------------

    def is_too_new(self, published: date) -> bool:
        return self.until_date is not None and published > self.until_date

    def is_too_old(self, published: date) -> bool:
        return published < self.from_date

    def take_notice(self) -> bool:
        """Whether one more notice may be scheduled under ``sample``."""
        if self.sample is not None and self.scheduled_notices >= self.sample:
            return False
        self.scheduled_notices += 1
        return True

    def title_wanted(self, title: str | None) -> bool:
        """Whether a listed notice's detail page is worth fetching under the title prefilter (counted in stats)."""
        if not self.prefilter:
            return True
        from pipelines.matching.queries import title_may_match

        if title_may_match(title):
            self.crawler.stats.inc_value("tenderwatch/prefilter_passed")
            return True
        self.crawler.stats.inc_value("tenderwatch/prefilter_skipped")
        return False

    def screen_listing(self, listing: dict[str, Any], *, prefilter: bool = True) -> str:
        """What to do with a listed notice: ``fetch``, ``skip``, or ``older`` (before the window: stop paging).

        A notice already scheduled by this crawl (another keyword's query, another column) is skipped, and so is
        one stored by an earlier crawl (``known``; counted as ``tenderwatch/already_stored``).

        Counts why notices were passed over in the crawl stats. ``prefilter=False`` for keyword search results,
        whose titles need not carry the keyword (full-text search).
        """
        stats = self.crawler.stats
        published = list_date(listing.get("published"))
        if published is None:
            stats.inc_value("tenderwatch/list_items_without_date")
        elif self.is_too_new(published) or self.is_too_old(published):
            stats.inc_value("tenderwatch/list_items_out_of_window")
            return "older" if self.is_too_old(published) else "skip"
        if not listing.get("notice_id") or not listing.get("url"):
            stats.inc_value("tenderwatch/list_items_without_id")
            return "skip"
        if listing["notice_id"] in self.scheduled_ids:
            stats.inc_value("tenderwatch/repeated_notices")
            return "skip"
        if self.is_stored(listing):
            # Seen, not missed: the verdict counts it with the notices (pipelines.ingest.verdicts).
            self.scheduled_ids.add(listing["notice_id"])
            stats.inc_value("tenderwatch/already_stored")
            return "skip"
        if prefilter and not self.title_wanted(listing.get("title")):
            return "skip"
        self.scheduled_ids.add(listing["notice_id"])
        return "fetch"

    def is_stored(self, listing: dict[str, Any]) -> bool:
        """Whether a listed notice is stored already as the list shows it (same id, same update time if shown)."""
        notice_id = listing["notice_id"]
        if notice_id not in self.known or listing.get("notice_type") in self.refetch_notice_types:
            return False
        updated = listing.get("updated")
        return not updated or updated == self.known[notice_id]

    def follow_listings(self, response: Response, listings: list[dict[str, Any]], keyword: str = ""):
        """What the listed notices worth having become (``take_listing``), newest-first lists.

        ``keyword`` is the search that listed them: its hits skip the title prefilter (a full-text hit need not
        carry the word in its title) and remember it. Returns (via ``yield from``) whether paging should stop: the
        list reached notices older than the window, or ``sample`` is used up.
        """
        reached_older = False
        for listing in listings:
            verdict = self.screen_listing(listing, prefilter=not keyword)
            reached_older = reached_older or verdict == "older"
            if verdict != "fetch":
                continue
            if not self.take_notice():
                return True
            if keyword:
                listing["keyword"] = keyword
            yield self.take_listing(response, listing)
        return reached_older

    def take_listing(self, response: Response, listing: dict[str, Any]):
        """A listed notice worth having: a request for its detail page (a portal whose list is the notice overrides)."""
        return response.follow(listing["url"], callback=self.parse_detail, cb_kwargs={"listing": listing})

    def notice_id_of(self, response: Response, listing: dict[str, Any]) -> str:
        """The notice id for the detail item; portals whose detail URL carries the id override this."""
        return listing["notice_id"]

    def parse_detail(self, response: Response, listing: dict[str, Any]):
        """The raw notice of one detail page (JSON APIs that wrap their body override this)."""
        if self.is_blocked(response):
            return
        if response.status != 200:
            self.crawler.stats.inc_value("tenderwatch/detail_errors")
            self.note_missed(response, listing, f"HTTP {response.status}")
            return
        raw = raw_notice(self.source, self.notice_id_of(response, listing), response.url, listing, response)
        self.note_encoding(response, raw)
        yield raw

    def note_encoding(self, response: Response, raw: dict[str, Any]) -> None:
        """Count pages whose declared charset lied (decoded as GB18030) or that decode as nothing clean."""
        if raw["encoding"].endswith(UNDECODABLE):
            self.crawler.stats.inc_value("tenderwatch/undecodable_pages")
            self.logger.warning("Page does not decode as %s nor GB18030: %s", response.encoding, response.url)
        elif raw["encoding"] != getattr(response, "encoding", raw["encoding"]):
            self.crawler.stats.inc_value("tenderwatch/charset_redetected")

    def note_missed(self, response: Response, listing: dict[str, Any], reason: str) -> None:
        """A listed notice whose detail answer holds no notice: kept for the flow to fetch again."""
        path = self.settings.get("TENDERWATCH_MISSES_FILE")
        # The URL the spider asked for, before any redirect: what a retry must request again.
        url = (response.meta.get("redirect_urls") or [response.url])[0] if response.request else response.url
        note_missed_notice(self.crawler, Path(path) if path else None, url, listing, reason)

    def note_search_page(self, response: Response, listings: list[dict[str, Any]] | None) -> bool:
        """Count one search answer; whether its listings are to be followed. ``None`` (no result list at all: an
        error page, a changed layout) is an empty list page, never a quiet day; no hits is counted apart."""
        if listings is None:
            self.note_list_page(response, 0)
            self.note_empty_list(response)
            return False
        self.note_list_page(response, len(listings))
        if not listings:
            self.crawler.stats.inc_value("tenderwatch/search_queries_without_results")
            return False
        return not self.list_only

    def note_list_page(self, response: Response, listed: int) -> None:
        """Count a list page and its notices; with ``list_only`` the stats say the crawl was a check."""
        stats = self.crawler.stats
        stats.inc_value("tenderwatch/list_pages")
        stats.inc_value("tenderwatch/list_items", listed)
        if self.list_only:
            stats.set_value("tenderwatch/list_only", True)

    # --- blocks ----------------------------------------------------------------------------------------------

    @classmethod
    def block_reason(cls, response: Response) -> str | None:
        """Why this response is a refusal rather than content, or None.

        A class method: the judgement depends on the portal alone, so reprocessing asks it without a crawl.
        """
        status = cls.challenge_statuses.get(response.status) or BLOCK_STATUSES.get(response.status)
        if status:
            return status
        if len(response.body) <= cls.block_page_max_bytes:
            text = response.text if hasattr(response, "text") else response.body.decode("utf-8", "replace")
            for marker, meaning in (*cls.block_markers, *GENERIC_BLOCK_MARKERS):
                if marker in text:
                    return meaning
        if (
            cls.json_api_path
            and cls.json_api_path in response.url
            and response.status == 200
            and json_answer(response) is None
            and response.body.lstrip()[:1] == b"<"
        ):
            return "HTML page instead of the notice API's JSON"
        return None

    def is_blocked(self, response: Response) -> bool:
        """Record a block (stats carry the evidence) and stop the crawl: more requests only prolong it."""
        reason = self.block_reason(response)
        if reason is None:
            return False
        stats = self.crawler.stats
        stats.inc_value("tenderwatch/blocked")
        stats.set_value("tenderwatch/block_reason", reason)
        stats.set_value("tenderwatch/block_url", response.url)
        stats.set_value("tenderwatch/block_status", response.status)
        stats.set_value("tenderwatch/blocked_at", datetime.now(UTC).isoformat())
        retry_after = response.headers.get(b"Retry-After")
        if retry_after:
            stats.set_value("tenderwatch/retry_after", retry_after.decode("latin-1"))
        self.logger.error("Blocked by the portal (%s) at %s", reason, response.url)
        raise CloseSpider("blocked")

    def note_empty_list(self, response: Response) -> None:
        """A list page that parses to nothing while the site answers 200: the layout may have changed."""
        self.crawler.stats.inc_value("tenderwatch/empty_list_pages")
        self.crawler.stats.set_value("tenderwatch/empty_list_url", response.url)
        self.logger.warning("List page parsed to zero notices: %s", response.url)
