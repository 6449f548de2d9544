"""Benchmark: the one-pass matcher against a naive baseline, on the real corpora in ../shared.

    .venv/bin/python bench/bench_matcher.py [--repeat N] [--limit N]

The baseline is measured in the same run on the same notices: it scans every rule's (and modifier's) own regex
separately over each normalized field, then applies the same context and veto checks, so both produce the same
hits (checked). Normalization is timed on its own, since both pay it. The labelled set (in the repository) always
runs; the real corpora are skipped with a message when ../shared (third-party data, read in place) is absent.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from pipelines.matching.engine import Matcher  # noqa: E402
from pipelines.matching.folding import normalize  # noqa: E402
from tests.corpora import hefei_notices  # noqa: E402


def ccgp_titles() -> list[tuple[str, str]]:
    """Every title of the ccgp.gov.cn list corpus (no body)."""
    path = SHARED / "corpus" / "ccgp_trade_2022" / "trade.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["object"], "") for row in csv.DictReader(handle, delimiter="\t") if row.get("object")]


def timed(function: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Best wall time of ``repeat`` runs (the least disturbed by other processes) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def run(name: str, notices: list[tuple[str, str]], matcher: Matcher, repeat: int) -> float:
    characters = sum(len(title) + len(text) for title, text in notices)

    def one_pass() -> list[dict]:
        return [matcher.match(title, text) for title, text in notices]

    def naive() -> list[dict]:
        return [
            matcher._match(title, text, "", "", None, None, matcher._naive_candidate_starts) for title, text in notices
        ]

    def normalization_only() -> None:
        for title, text in notices:
            normalize(title)
            if text:
                normalize(text)

    fast_time, fast_results = timed(one_pass, repeat)
    naive_time, naive_results = timed(naive, repeat)
    normalize_time, _ = timed(normalization_only, repeat)
    if fast_results != naive_results:
        raise SystemExit(f"{name}: the one-pass and the naive matcher disagree; the prefilter misses something")
    tiers: dict[str, int] = {}
    for result in fast_results:
        tiers[result["tier"]] = tiers.get(result["tier"], 0) + 1
    scan_fast, scan_naive = fast_time - normalize_time, naive_time - normalize_time
    print(f"{name}: {len(notices)} notices, {characters / 1e6:.1f} M characters, tiers {tiers}")
    print(f"  one pass   {fast_time:7.2f} s  {len(notices) / fast_time:9.0f} notices/s")
    print(f"  naive      {naive_time:7.2f} s  {len(notices) / naive_time:9.0f} notices/s")
    print(f"  (normalization alone {normalize_time:.2f} s, paid by both)")
    matching_ratio = scan_naive / max(scan_fast, 1e-9)
    print(f"  speed-up   {naive_time / fast_time:.1f}x end to end, {matching_ratio:.1f}x on matching")
    return naive_time / fast_time


def labelled_cases() -> list[tuple[str, str]]:
    """The labelled set (in the repository): half of it are hits, so the agreement check means something."""
    lines = (ROOT / "tests" / "data" / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines if line.strip()]
    return [(case.get("title") or "", case.get("text") or "") for case in cases]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (the best is kept)")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N notices of each corpus")
    arguments = parser.parse_args(argv)
    matcher = Matcher.load()
    print(f"rules {matcher.rules_version}: {len(matcher.rules)} rules, {len(matcher.modifiers)} modifiers")
    run("labelled set", labelled_cases(), matcher, arguments.repeat)
    if not (SHARED / "corpus").is_dir():
        print(f"real corpora skipped: {SHARED / 'corpus'} is absent (third-party data, not in the repository)")
        return 0
    corpora = (
        ("ccgp_trade_2022 titles", ccgp_titles()),
        ("hefei_ggzy notices", hefei_notices(SHARED / "corpus" / "hefei_ggzy")),
    )
    for name, notices in corpora:
        run(name, notices[: arguments.limit] if arguments.limit else notices, matcher, arguments.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
