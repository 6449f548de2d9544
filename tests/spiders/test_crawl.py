"""Real crawls: the ccgp spider over HTTP against a local copy of the demo site, then the same crawl from its WARC."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.ingest.warc import iter_responses
from tests.conftest import ROOT
from tests.spiders import crawling

DEMO_SITE = ROOT / "demo" / "site"
EXPECTED = json.loads((ROOT / "demo" / "expected.json").read_text(encoding="utf-8"))


def crawl(tmp_path: Path, name: str, *args: str) -> tuple[list[dict], dict]:
    return crawling.crawl(tmp_path, "ccgp", name, *args)


def test_http_crawl_collects_the_window_archives_it_and_replays_identically(tmp_path, local_site):
    site = local_site(DEMO_SITE)
    archive = tmp_path / "archive"
    window = ["-a", f"base_url={site.url}", "-a", "from_date=2026-11-18", "-a", "until_date=2026-11-22"]
    live, stats = crawl(tmp_path, "live", *window, "-s", f"TENDERWATCH_ARCHIVE_DIR={archive}")

    expected = {n["id"] for n in EXPECTED["notices"] if "2026-11-18" <= n["published"][:10] <= "2026-11-22"}
    assert {item["notice_id"] for item in live} == expected
    assert stats["finish_reason"] == "finished"
    for item in live:
        assert item["source"] == "ccgp"
        assert item["url"].startswith(site.url) and item["url"].endswith(f"_{item['notice_id']}.htm")
        assert item["listing"]["title"] and item["listing"]["published"][:10] >= "2026-11-18"
        assert "vF_detail_content" in item["html"]

    records = list(iter_responses(archive))
    archived_urls = {record.url for record in records}
    assert {record.source for record in records} == {"ccgp"}
    assert {item["url"] for item in live} <= archived_urls
    assert stats["archive/records"] == len(archived_urls) == len(site.requests)

    replayed, replay_stats = crawl(tmp_path, "replay", *window, "-s", f"TENDERWATCH_REPLAY={archive}")
    assert sorted((i["notice_id"], i["html"], i["listing"]) for i in replayed) == sorted(
        (i["notice_id"], i["html"], i["listing"]) for i in live
    )
    assert replay_stats.get("replay/missing", 0) == 0


def test_replay_of_a_page_missing_from_the_archive_is_a_logged_404(tmp_path, local_site):
    site = local_site(DEMO_SITE)
    archive = tmp_path / "archive"
    # Archive only the first days; a replay asking for a wider window meets pages it does not hold. Pages only: a
    # static folder cannot answer ccgp's attachment address (/oss/download?uuid=…), whose 404s would be archived.
    pages_only = ("-s", "TENDERWATCH_ATTACHMENTS=False")
    crawl(tmp_path, "narrow", "-a", f"base_url={site.url}", "-a", "from_date=2026-11-24",
          "-s", f"TENDERWATCH_ARCHIVE_DIR={archive}", *pages_only)  # fmt: skip
    replayed, stats = crawl(
        tmp_path, "wide", "-a", f"base_url={site.url}", "-a", "from_date=2026-10-01",
        "-s", f"TENDERWATCH_REPLAY={archive}", *pages_only,
    )  # fmt: skip
    assert stats["replay/missing"] > 0
    assert stats["downloader/response_status_count/404"] == stats["replay/missing"]
    assert {i["notice_id"] for i in replayed} <= {n["id"] for n in EXPECTED["notices"]}
    log = (tmp_path / "wide.log").read_text(encoding="utf-8")
    assert "Not in the replay archive, answering 404" in log
