"""Realistic corpora for the benchmarks, generated from the demo's invented notices (never from third-party pages).

    .venv/bin/python bench/generate.py --size 100000 --out /tmp/tw-bench

Two things come out, both deterministic for a given size:

- ``pages.warc.gz``: ccgp.gov.cn-layout detail pages rendered by ``demo/build_demo.py`` (the three body templates,
  the summary table, the real page chrome) from the 48 demo notices, each copy with its own id, date, project code
  and title, archived as the spiders archive them. This is what the parse path reads.
- ``notices.jsonl``: stored-notice records as the normalizer writes them (``to_json(exact_amounts=True)``). The 48
  demo pages are normalized once and copied with fresh ids, dates, codes, URLs and content hashes, so store,
  rematch, snapshot and the analysts' queries run over N rows shaped like the real ones (about one in six a hit or
  a trap, as in the demo) without paying the parser N times.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from demo import build_demo  # noqa: E402
from demo.notices import NOTICES, Notice  # noqa: E402

FIRST_ID = 30_000_000
# Copies spread over the years the real archive covers, one notice every few minutes.
EPOCH = datetime(2019, 1, 1, 8, 0)
STEP = timedelta(minutes=7)


def notice_copy(number: int) -> Notice:
    """The ``number``-th generated notice: a demo notice with its own id, date, code and title."""
    template = NOTICES[number % len(NOTICES)]
    published = (EPOCH + STEP * number).strftime("%Y-%m-%d %H:%M")
    batch = number // len(NOTICES)
    return replace(
        template,
        id=FIRST_ID + number,
        published=published,
        project_code=f"{template.project_code}-{batch}",
        title=f"{template.title}（{batch}）" if batch else template.title,
        deadline=None if template.deadline is None else published,
    )


def pages(count: int) -> Iterator[tuple[str, bytes]]:
    """(url, UTF-8 page) of the first ``count`` generated notices."""
    for number in range(count):
        notice = notice_copy(number)
        yield build_demo.SITE_URL + build_demo.detail_path(notice), build_demo.detail_page(notice).encode("utf-8")


def write_warc(path: Path, count: int) -> Path:
    from pipelines.ingest.warc import WarcWriter

    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fetched = build_demo.CRAWL_STARTED
    with WarcWriter(tmp) as writer:
        for index, (url, body) in enumerate(pages(count)):
            writer.write_response(
                url,
                status=200,
                headers=[("Content-Type", "text/html; charset=utf-8")],
                body=body,
                method="GET",
                record_id=url,
                request_body=b"",
                fetched_at=fetched + timedelta(seconds=3 * index),
            )
    tmp.replace(path)
    return path


def read_warc(path: Path) -> list[tuple[str, bytes]]:
    """(url, body) of every response in a WARC file."""
    from warcio.archiveiterator import ArchiveIterator

    found = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response":
                found.append((record.rec_headers.get_header("WARC-Target-URI"), record.content_stream().read()))
    return found


def _templates() -> list[dict]:
    """The 48 demo notices, normalized once by the real parser."""
    from pipelines.ingest.normalize import normalize_page
    from spiders.registry import PORTALS

    return [
        normalize_page(
            build_demo.detail_page(notice).encode("utf-8"),
            build_demo.SITE_URL + build_demo.detail_path(notice),
            PORTALS,
        )
        for notice in NOTICES
    ]


def notice_records(count: int) -> Iterator[dict]:
    """``count`` stored-notice records shaped like the normalized demo pages, each its own notice."""
    templates = _templates()
    for number in range(count):
        template = templates[number % len(templates)]
        notice_id = str(FIRST_ID + number)
        published = EPOCH + STEP * number
        batch = number // len(templates)
        record = dict(template)
        record["notice_id"] = notice_id
        record["url"] = template["url"].rsplit("_", 1)[0] + f"_{notice_id}.htm"
        record["published_at"] = published.isoformat() + "+08:00"
        record["fetched_at"] = (published + timedelta(days=1)).isoformat() + "+08:00"
        if template.get("project_code"):
            record["project_code"] = f"{template['project_code']}-{batch}"
        if batch and template.get("title"):
            record["title"] = f"{template['title']}（{batch}）"
        record["content_hash"] = hashlib.sha256(f"{template.get('content_hash')}/{number}".encode()).hexdigest()
        yield record


def write_notices(path: Path, count: int) -> Path:
    from pipelines.ingest.normalize import to_json

    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for record in notice_records(count):
            handle.write(to_json(record, exact_amounts=True) + "\n")
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="notices in notices.jsonl")
    parser.add_argument("--pages", type=int, default=0, help="pages in pages.warc.gz (default: --size)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    write_warc(args.out / "pages.warc.gz", args.pages or args.size)
    write_notices(args.out / "notices.jsonl", args.size)
    print(json.dumps({"out": str(args.out), "pages": args.pages or args.size, "notices": args.size}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
