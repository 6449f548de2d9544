"""Title prefilter: how many detail fetches it avoids on real ccgp titles, what it costs, and what it misses.

    .venv/bin/python bench/bench_prefilter.py [--delay 3]

Reads the real titles of ``../shared/corpus/ccgp_trade_2022/*.csv`` (tab-separated, deduplicated by ``ref``) and
measures, in the same run:

- the share of list titles that pass ``title_may_match`` (= detail pages still fetched) and of those avoided;
- the time of deciding (prefilter) against the baseline of no prefilter (every title passes, nothing to compute),
  and the crawl time both imply at the polite per-request delay of the nightly settings (DOWNLOAD_DELAY);
- recall of the prefilter on the purchases of the demo (``demo/expected.json``, ``expect_match``) and on the titles
  of the positives of the labelled set ``tests/data/labels.jsonl``, with the missed titles listed.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.matching.queries import title_may_match  # noqa: E402
from spiders import settings  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "ccgp_trade_2022"


def corpus_titles() -> list[str]:
    titles: dict[str, str] = {}
    for path in sorted(CORPUS.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as stream:
            for row in csv.DictReader(stream, delimiter="\t"):
                title = row.get("object_original") or row.get("object") or ""
                titles.setdefault(row.get("ref") or title, title)
    return list(titles.values())


def timed(decide, titles: list[str]) -> tuple[int, float]:
    started = time.perf_counter()
    passed = sum(1 for title in titles if decide(title))
    return passed, time.perf_counter() - started


def recall(titles: list[str]) -> tuple[int, int, list[str]]:
    missed = [title for title in titles if not title_may_match(title)]
    return len(titles) - len(missed), len(titles), missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay", type=float, default=settings.DOWNLOAD_DELAY, help="seconds per detail request")
    args = parser.parse_args()
    if not CORPUS.exists():
        print(f"skipped: no corpus at {CORPUS} (../shared is absent)")
        return 0
    titles = corpus_titles()
    title_may_match("warm-up")  # compile the pattern outside the timing
    baseline_passed, baseline_s = timed(lambda title: True, titles)
    passed, prefilter_s = timed(title_may_match, titles)
    avoided = baseline_passed - passed
    print(f"titles: {len(titles)} real ccgp list titles ({CORPUS.name})")
    print(f"no prefilter: {baseline_passed} detail fetches; deciding took {baseline_s * 1000:.1f} ms")
    print(
        f"prefilter:    {passed} detail fetches ({passed / len(titles):.1%}); {avoided} avoided "
        f"({avoided / len(titles):.1%}); deciding took {prefilter_s * 1000:.1f} ms "
        f"({prefilter_s / len(titles) * 1e6:.1f} µs per title)"
    )
    print(
        f"at {args.delay:g} s per request: {baseline_passed * args.delay / 3600:.1f} h of detail fetches without, "
        f"{passed * args.delay / 3600:.1f} h with the prefilter"
    )
    demo = json.loads((ROOT / "demo" / "expected.json").read_text(encoding="utf-8"))["notices"]
    labels = [json.loads(line) for line in (ROOT / "tests/data/labels.jsonl").read_text(encoding="utf-8").splitlines()]
    for name, positives in (
        ("demo purchases", [n["title"] for n in demo if n["expect_match"]]),
        ("labelled positives", [case["title"] for case in labels if case["expected"]["match"]]),
    ):
        kept, total, missed = recall(positives)
        print(f"recall on {name}: {kept}/{total} ({kept / total:.1%}); missed: {', '.join(missed) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
