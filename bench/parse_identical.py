"""Proof that a parser change keeps every normalized row: record the rows once, compare after each change.

    .venv/bin/python bench/parse_identical.py record ROWS.jsonl [--generated 3000] [--own]
    .venv/bin/python bench/parse_identical.py check ROWS.jsonl [--generated 3000] [--own]

Pages read, each keyed by its URL:

- every HTML page in ../shared/fixtures/real/ (all portals; third-party data, read in place and only when present;
  rows derived from them are written where you say, never into the repository);
- our own portal fixtures in tests/fixtures/ (HTML detail pages, szggzy's detail JSON through its page wrapper);
- ``--generated`` pages of ``bench/generate.py`` (the demo notices with their own ids, dates, codes and titles).

``check`` compares every field of every row and prints the first differences; it exits 1 when any row differs or
is missing. Set ``TENDERWATCH_BENCH_CODE`` to another checkout (``git archive main``) to record with its code.
``--own`` leaves the real pages out: ``OWN_ROWS`` (tests/data/normalized_own_pages.jsonl) is that record for the 48
demo notices, which tests/pipelines/ingest/test_parse_identical.py compares against; record it again (and say why
in the commit) when a parser change is meant to change rows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
OWN_ROWS = ROOT / "tests" / "data" / "normalized_own_pages.jsonl"
OWN_GENERATED = 48  # each demo notice once
CODE = Path(os.environ.get("TENDERWATCH_BENCH_CODE") or ROOT)
sys.path[:0] = [str(CODE), str(ROOT)] if CODE != ROOT else [str(ROOT)]

# Real pages outside tests' URL table: the address each is read under (its portal's host decides the reader).
_REAL_URLS = {
    "ccgp/compass_ccgp_zygg_list.html": "https://www.ccgp.gov.cn/cggg/zygg/index.htm",
    "ccgp/metalnino_ccgp_rate_limited_block_page.html": "https://www.ccgp.gov.cn/cggg/zygg/gkzb/202601/t20260101_1.htm",
    "jiangsu/metalnino_js521_jsl_clearance_challenge.html": "https://jsggzy.jszwfw.gov.cn/jyxx/003004/1.html",
    "jsggzy/compass_jsggzy_detail.html": "https://jsggzy.jszwfw.gov.cn/jyxx/003001/003001001/20260706/"
    "5951fba5-d1e5-4203-80dc-06cfbcea2d39.html",
}


def real_pages() -> Iterator[tuple[str, bytes]]:
    from tests.spiders.ccgp_real_pages import URLS

    folder = SHARED / "fixtures" / "real"
    if not folder.is_dir():
        return
    known = {**URLS, **_REAL_URLS}
    for path in sorted(folder.rglob("*.html")):
        name = path.relative_to(folder).as_posix()
        url = known.get(name) or f"https://www.ccgp.gov.cn/cggg/dfgg/qtgg/202601/t20260101_{len(name)}.htm"
        yield url, path.read_bytes()


def fixture_pages() -> Iterator[tuple[str, bytes]]:
    """Our own detail-page fixtures, each under its portal's host."""
    from scrapy.http import TextResponse

    from spiders.registry import PORTALS

    fixtures = ROOT / "tests" / "fixtures"
    folders = {
        "chinabidding": "chinabidding", "ggzy": "ggzy", "scggzy": "scggzy", "szzfcg": "szzfcg",
        "freecms/plap": "plap", "freecms/zycg": "zycg", "university/shu": "shu", "university/szu": "szu",
    }  # fmt: skip
    for folder, source in folders.items():
        host = PORTALS[source].hosts[0]
        for path in sorted((fixtures / folder).rglob("*")):
            if path.is_file() and path.suffix != ".json":
                yield f"https://{host}/{path.relative_to(fixtures / folder).as_posix()}", path.read_bytes()
    for path in sorted((fixtures / "szggzy").glob("detail_*.json")):
        url = f"https://www.szggzy.com/api/detail?id={path.stem.removeprefix('detail_')}"
        page = PORTALS["szggzy"].notice_page(TextResponse(url=url, body=path.read_bytes(), encoding="utf-8"))
        if page:
            yield page[0], page[1].encode("utf-8")


def rows(generated: int, own: bool = False) -> Iterator[tuple[str, dict]]:
    """(key, normalized row as stored JSON) of every page read; ``own`` leaves out the third-party pages."""
    from bench.generate import pages
    from pipelines.ingest.normalize import normalize_page, to_json
    from spiders.registry import PORTALS

    groups = [("fixture", fixture_pages()), ("generated", pages(generated))]
    for group, found in groups if own else [("real", real_pages()), *groups]:
        for url, body in found:
            yield f"{group} {url}", json.loads(to_json(normalize_page(body, url, PORTALS)))


def record(path: Path, generated: int, own: bool = False) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for key, row in rows(generated, own):
            handle.write(json.dumps({"key": key, "row": row}, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    print(f"recorded {count} rows into {path}")
    return 0


def differences(path: Path, generated: int, own: bool = False) -> tuple[int, list[str]]:
    """(rows compared, one line per differing field or missing row) against the record in ``path``."""
    expected = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            entry = json.loads(line)
            expected[entry["key"]] = entry["row"]
    found: list[str] = []
    seen = 0
    for key, row in rows(generated, own):
        seen += 1
        want = expected.pop(key, None)
        if want is None:
            found.append(f"{key}: not in {path}")
            continue
        for field in sorted(set(want) | set(row)):
            if want.get(field) != row.get(field):
                found.append(f"{key} [{field}]: expected {want.get(field)!r:.300} got {row.get(field)!r:.300}")
    return seen, found + [f"{key}: expected but not produced" for key in expected]


def check(path: Path, generated: int, own: bool = False, shown: int = 20) -> int:
    seen, found = differences(path, generated, own)
    for line in found[:shown]:
        print(line)
    print(f"{seen} rows compared, {len(found)} differences")
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("record", "check"))
    parser.add_argument("rows", type=Path)
    parser.add_argument("--generated", type=int, default=3000, help="bench/generate.py pages")
    parser.add_argument("--own", action="store_true", help="only our own pages (no third-party rows)")
    args = parser.parse_args(argv)
    return (record if args.action == "record" else check)(args.rows, args.generated, args.own)


if __name__ == "__main__":
    raise SystemExit(main())
