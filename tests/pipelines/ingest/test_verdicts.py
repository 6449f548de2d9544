"""Crawl verdicts from stats: a crawl is judged by what happened, never by its exit code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelines.ingest.verdicts import (
    DEFAULT_BLOCK_BACKOFF,
    MAX_BLOCK_BACKOFF,
    blocked_until,
    judge,
    read_retry_after,
    retry_after_delay,
)

HEALTHY = {
    "finish_reason": "finished",
    "downloader/request_count": 40,
    "downloader/response_count": 40,
    "item_scraped_count": 38,
}


@pytest.mark.parametrize(
    ("stats", "recent", "verdict", "reason_part"),
    [
        (HEALTHY, [], "ok", "38 notices from 40 responses"),
        (HEALTHY, [40, 35, 42], "ok", "38 notices"),
        ({**HEALTHY, "item_scraped_count": 3}, [40, 35, 42], "degraded", "recent median of 40"),
        (
            {**HEALTHY, "tenderwatch/blocked": 1, "tenderwatch/block_reason": "ccgp rate-limit page (频繁访问)",
             "tenderwatch/block_url": "https://www.ccgp.gov.cn/cggg/zygg/index_3.htm", "finish_reason": "blocked"},
            [], "blocked", "频繁访问) at https://www.ccgp.gov.cn/cggg/zygg/index_3.htm",
        ),
        (
            {**HEALTHY, "tenderwatch/blocked": 1, "tenderwatch/block_reason": "HTTP 429 Too Many Requests",
             "tenderwatch/retry_after": "120", "finish_reason": "blocked"},
            [], "blocked", "Retry-After 120",
        ),
        (
            {"finish_reason": "finished", "downloader/request_count": 9,
             "downloader/exception_type_count/scrapy.exceptions.CannotResolveHostError": 9},
            [], "unreachable", "DNS lookup failed (9×)",
        ),
        (
            {"finish_reason": "finished", "downloader/request_count": 3, "downloader/response_count": 3,
             "tenderwatch/empty_list_pages": 2, "tenderwatch/empty_list_url": "https://x/cggg/zygg/index.htm"},
            [], "broken", "zero notices while the site answered: https://x/cggg/zygg/index.htm",
        ),
        ({**HEALTHY, "tenderwatch/next_page_lost": 1}, [], "degraded", "next list page could not be found"),
        (
            {**HEALTHY, "downloader/exception_type_count/twisted.internet.error.TimeoutError": 15},
            [], "degraded", "15 of 40 requests failed",
        ),
        ({**HEALTHY, "finish_reason": "shutdown"}, [], "broken", "'shutdown'"),
        (None, [], "broken", "wrote no stats"),
    ],
)  # fmt: skip
def test_verdicts(stats, recent, verdict, reason_part):
    result = judge(stats, recent)
    assert result.verdict == verdict
    assert reason_part in result.reason


NOW = datetime(2026, 11, 25, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "delay", "problem"),
    [
        (None, None, None),
        ("", None, None),
        ("120", timedelta(seconds=120), None),
        ("  0120 ", timedelta(seconds=120), None),
        ("0", timedelta(0), None),
        ("604800", MAX_BLOCK_BACKOFF, None),
        ("604801", MAX_BLOCK_BACKOFF, None),
        ("100000000000000", MAX_BLOCK_BACKOFF, None),
        ("9" * 400, MAX_BLOCK_BACKOFF, None),
        ("Wed, 25 Nov 2026 03:30:00 GMT", timedelta(hours=1), None),
        ("Wed, 25 Nov 2026 01:30:00 GMT", timedelta(0), None),
        ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_BLOCK_BACKOFF, None),
        ("²", None, "neither seconds nor an HTTP date"),
        ("١٢٠", None, "neither seconds nor an HTTP date"),  # Arabic-Indic digits: isdigit(), not ASCII
        ("-5", None, "neither seconds nor an HTTP date"),
        ("1.5", None, "neither seconds nor an HTTP date"),
        ("soon", None, "neither seconds nor an HTTP date"),
        ("Wed, 25 Nov 2026 03:30:00", None, "without a time zone"),
    ],
)  # fmt: skip
def test_retry_after_is_read_strictly_and_capped(header, delay, problem):
    read = read_retry_after(header, NOW)
    assert read.delay == delay
    assert (problem in read.problem) if problem else read.problem is None
    assert retry_after_delay(header, NOW) == delay


@pytest.mark.parametrize(
    ("header", "backoff", "reason_part"),
    [
        ("100000000000000", MAX_BLOCK_BACKOFF, "Retry-After 100000000000000"),
        ("²", DEFAULT_BLOCK_BACKOFF, "Retry-After '²' ignored: neither seconds nor an HTTP date, backing off 1:00:00"),
    ],
)
def test_a_hostile_retry_after_is_a_block_with_a_bounded_backoff(header, backoff, reason_part):
    stats = {**HEALTHY, "tenderwatch/blocked": 1, "tenderwatch/block_reason": "HTTP 429 Too Many Requests",
             "tenderwatch/retry_after": header, "finish_reason": "blocked"}  # fmt: skip
    assert blocked_until(stats, NOW) == NOW + backoff
    result = judge(stats)
    assert result.verdict == "blocked"
    assert reason_part in result.reason


def test_the_verdict_notes_attachments_and_a_spent_budget_without_counting_their_failures():
    stats = {"finish_reason": "finished", "downloader/request_count": 12, "downloader/response_count": 10,
             "item_scraped_count": 5, "downloader/exception_type_count/scrapy.exceptions.DownloadCancelledError": 3,
             "tenderwatch/attachments_failed": 3, "tenderwatch/attachments_fetched": 4,
             "tenderwatch/attachment_bytes": 2_400_000, "tenderwatch/attachments_budget_reached": True,
             "tenderwatch/attachments_budget": 7}  # fmt: skip
    verdict = judge(stats)
    assert verdict.verdict == "ok"
    assert verdict.reason == (
        "5 notices from 10 responses; attachments: 4 fetched (2.4 MB), 3 not fetched, "
        "budget reached (7 left for a later night)"
    )
