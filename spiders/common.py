"""Small helpers the portal spiders share: list dates, JSON answers, API base URLs, listings by URL, text cleanup.

Every spider yields its notices through ``pipelines.model.raw_notice``, so the flow, reprocessing and
``pipelines.ingest.normalize`` treat every portal alike.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response

_DATE = re.compile(r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})")
_DATETIME = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}(?:\s*日)?(?:\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?"
)
_SPACES = re.compile(r"[\s\u00a0\u3000]+")
_TAGS = re.compile(r"<[^>]+>")


def list_date(value: str | None) -> date | None:
    """The first date written in ``value`` (``2024-03-28``, ``2024/3/8``, ``2024年3月8日``), or None."""
    found = _DATE.search(value or "")
    if not found:
        return None
    try:
        return date(int(found["y"]), int(found["m"]), int(found["d"]))
    except ValueError:
        return None


def first_datetime_text(value: str | None) -> str | None:
    """The first date (with its time when written) in ``value`` as written, e.g. ``2026-07-06 22:41:54``."""
    found = _DATETIME.search(value or "")
    return clean(found[0]) if found else None


def json_answer(response: Response) -> Any | None:
    """The decoded JSON of an API answer, or None when the body is not JSON (a challenge page, an error page)."""
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return None


def api_base(url: str, path: str) -> str:
    """The base an API answer was asked from (the portal, a mirror, a test server): its URL before ``path``."""
    head = url.split("?", 1)[0]
    if head.endswith(path):
        return head[: -len(path)]
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def by_detail_url(listings: list[dict[str, Any]], key: str = "url") -> dict[str, dict[str, Any]]:
    """Listings keyed by the URL the spider fetches for each notice (listings without one are dropped)."""
    return {listing[key]: listing for listing in listings if listing.get(key)}


def clean(value: Any) -> str | None:
    """Whitespace-collapsed text without markup (API titles carry ``<font>`` highlights); None when empty."""
    if not isinstance(value, str):
        return None
    text = _SPACES.sub(" ", _TAGS.sub("", value)).strip()
    return text or None


def node_text(selection: Any) -> str | None:
    """The cleaned text of the first node of a selector list (or a selector), or None."""
    if not selection:
        return None
    node = selection[0] if isinstance(selection, list) else selection
    return clean(" ".join(node.xpath(".//text()").getall()))
