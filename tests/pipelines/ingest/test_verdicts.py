"""Crawl verdicts from stats: a crawl is judged by what happened, never by its exit code."""

from __future__ import annotations

import pytest

from pipelines.ingest.verdicts import judge

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
