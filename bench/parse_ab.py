"""Parse + normalize, this checkout against another commit, in alternating rounds of CPU time (a loaded machine).

    .venv/bin/python bench/parse_ab.py [--before main] [--rounds 6] [--pages 192]

On a shared machine one long run per side drifts with the other users' load, even in CPU seconds. Here each round
runs one short process per side, back to back (this checkout, then ``--before`` checked out with ``git archive``),
each timing the bare ``lxml.html.fromstring().text_content()`` and ``normalize_page`` on the same pages (best of 3,
CPU seconds). It prints the per-page medians over the rounds and the median ratio to the bare parse, for the
generated pages (``bench/generate.py``) and the real ccgp pages in ../shared (read in place, when present).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The code measured: this checkout, or the other commit's in a child run (bench/ itself always comes from here).
CODE = Path(os.environ.get("TENDERWATCH_BENCH_CODE") or ROOT)
sys.path[:0] = [str(CODE), str(ROOT)] if CODE != ROOT else [str(ROOT)]


def measure(pages: int) -> dict[str, tuple[float, float]]:
    """(bare ms, ours ms) per page of CPU time, for each page set; runs in the child process."""
    import lxml.html

    from bench.generate import pages as generated
    from bench.stages import _real_ccgp_pages
    from pipelines.ingest.normalize import normalize_page
    from spiders.registry import PORTALS

    real = _real_ccgp_pages()
    sets = {"generated": list(generated(pages))}
    if real:
        sets["real ccgp"] = real * max(1, pages // len(real))
    found = {}
    for name, batch in sets.items():
        for url, body in batch[:8]:  # warm caches (compiled patterns, lazy imports) outside the timing
            normalize_page(body, url, PORTALS)
        bare = ours = float("inf")
        for _ in range(3):
            started = time.process_time()
            for _, body in batch:
                lxml.html.fromstring(body).text_content()
            bare = min(bare, time.process_time() - started)
            started = time.process_time()
            for url, body in batch:
                normalize_page(body, url, PORTALS)
            ours = min(ours, time.process_time() - started)
        found[name] = (bare * 1000 / len(batch), ours * 1000 / len(batch))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="git ref to compare with")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--pages", type=int, default=192)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.pages)))
        return 0
    from bench.run import checkout

    results: dict[str, list[dict]] = {"after": [], "before": []}
    with tempfile.TemporaryDirectory(prefix="tw-parse-ab-") as scratch:
        old = checkout(args.before, Path(scratch))
        if old is None:
            sys.exit(f"cannot check out {args.before!r}")
        for _ in range(args.rounds):
            for label, code in (("after", ROOT), ("before", old)):
                env = dict(os.environ, TENDERWATCH_BENCH_CODE=str(code))
                done = subprocess.run(
                    [sys.executable, __file__, "--child", "--pages", str(args.pages)],
                    cwd=code, env=env, capture_output=True, text=True, check=True,
                )  # fmt: skip
                results[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
    for name in results["after"][0]:
        for label in ("before", "after"):
            rounds = [r[name] for r in results[label]]
            bare = statistics.median(b for b, _ in rounds)
            ours = statistics.median(o for _, o in rounds)
            ratio = statistics.median(o / b for b, o in rounds)
            print(f"{name:10s} {label:6s} bare {bare:.2f} ms/page, ours {ours:.2f} ms/page, ratio {ratio:.1f}x")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{args.rounds} rounds of {args.pages} pages, CPU seconds, before = {args.before}; load average {load}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
