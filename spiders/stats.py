"""Crawl statistics for the flow: a crawl is judged by its stats, never by `scrapy crawl`'s exit code."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured


class StatsDump:
    """Writes the crawler stats plus the close reason to ``TENDERWATCH_STATS_FILE`` when the spider closes."""

    def __init__(self, path: Path, crawler):
        self.path = path
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        path = crawler.settings.get("TENDERWATCH_STATS_FILE")
        if not path:
            raise NotConfigured("no TENDERWATCH_STATS_FILE")
        extension = cls(Path(path), crawler)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider, reason: str) -> None:
        stats = {key: _jsonable(value) for key, value in self.crawler.stats.get_stats().items()}
        stats["finish_reason"] = reason
        stats["dumped_at"] = datetime.now(UTC).isoformat()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stats, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self.path)


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)
