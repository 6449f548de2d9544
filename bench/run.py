"""The performance table of issue 14: every figure with its baseline measured in the same run, the target, met or not.

    .venv/bin/python bench/run.py [--size N] [--pages P] [--before REF] [--skip match,rematch] [--results FILE]

It generates a corpus of N notices (``bench/generate.py``: demo-shaped pages as WARC, stored-notice rows as JSONL;
cached in ``--corpus``), runs each stage in its own process (``bench/stages.py``: peak memory is the stage's own),
prints one table and writes it into ``bench/RESULTS.md`` under a section for N (other sizes' sections are kept).

``--before REF`` (default ``main``, when the repository has it) runs the same stages with that commit's code
(checked out with ``git archive`` into a temporary folder) on the same corpus, so "before" and "after" come from one
run on one machine. ``--before ''`` skips it. The real corpora in ../shared are read in place when present; their
rows say "skipped" otherwise. The older per-topic scripts (``bench_matcher.py``, ``bench_prefilter.py``,
``bench_store.py``) still run on their own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# "seed" runs only when "rematch" is skipped: it gives the stored copies their templates' matches (bench/stages.py).
STAGES = ("parse", "store", "link", "match", "rematch", "seed", "night", "snapshot", "queries")
# What the code of another commit needs to run the stages (its own versions of them).
CODE_PATHS = ("pipelines", "spiders", "demo", "tests/__init__.py", "tests/corpora.py", "tests/spiders", "cli.py",
              "flows.py", "scrapy.cfg")  # fmt: skip


def run_stage(stage: str, corpus: Path, work: Path, code_root: Path, repeat: int, limit: int = 0) -> dict:
    env = dict(os.environ, TENDERWATCH_BENCH_CODE=str(code_root))
    done = subprocess.run(
        [sys.executable, str(BENCH / "stages.py"), stage, str(corpus), str(work), "--repeat", str(repeat),
         "--limit", str(limit)],
        cwd=code_root, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def best_command(argv: list[str], cwd: Path, repeat: int, stdin: str = "") -> float:
    fastest = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, text=True, check=False)
        fastest = min(fastest, time.perf_counter() - started)
    return fastest


def command_times(code_root: Path, repeat: int) -> dict:
    python = sys.executable
    flows = str(code_root / "flows.py")
    text = "采购 NVIDIA H100 GPU 服务器 2 台，用于人工智能算力平台。"
    return {
        "bare_s": best_command([python, "-c", "import duckdb, lxml"], code_root, repeat),
        "help_s": best_command([python, flows, "--help"], code_root, repeat),
        "match_text_s": best_command([python, flows, "match-text", "--title", "服务器采购"], code_root, repeat, text),
    }


def checkout(ref: str, into: Path) -> Path | None:
    archive = subprocess.run(["git", "archive", ref, *CODE_PATHS], cwd=ROOT, capture_output=True, check=False)
    if archive.returncode:
        return None
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


# --- the table -------------------------------------------------------------------------------------------------------


def _rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds else "-"


def _x(value: float) -> str:
    return f"{value:.1f}×"


def _cpu(parse: dict, prefix: str) -> str:
    """The ratio in CPU seconds as well, when the stage measured it (steadier than wall time on a shared machine)."""
    ours, bare = parse.get(f"{prefix}cpu_s" if prefix else "ours_cpu_s"), parse.get(f"{prefix}bare_cpu_s")
    return f", CPU {ours / bare:.1f}×" if ours and bare else ""


def rows_for(size: int, now: dict, before: dict | None) -> list[tuple[str, str, str, str, str, str, str]]:
    """(figure, before, after, baseline, ratio to baseline, target, met) for every figure of issue 14."""
    rows = []

    def was(stage: str, render) -> str:
        if not before or stage not in before or "error" in before[stage] or "skipped" in before[stage]:
            return "-"
        try:
            return render(before[stage])
        except (KeyError, ZeroDivisionError, TypeError):
            return "-"

    cli = now["commands"]
    for key, name in (("help_s", "`flows.py --help`"), ("match_text_s", "`flows.py match-text`, one text")):
        ratio = cli[key] / cli["bare_s"]
        rows.append((
            name, was("commands", lambda b, key=key: f"{b[key]:.2f} s ({b[key] / b['bare_s']:.1f}×)"),
            f"{cli[key]:.2f} s", f"`import duckdb, lxml` {cli['bare_s']:.2f} s", _x(ratio), "≤ 3×",
            "met" if ratio <= 3 else "not met",
        ))  # fmt: skip

    parse = now.get("parse", {})
    if "ours_s" in parse:
        ratio = parse["ours_s"] / parse["bare_s"]
        rows.append((
            f"parse + normalize, {parse['pages']:,} generated pages",
            was("parse", lambda b: f"{_rate(b['pages'], b['ours_s'])} ({b['ours_s'] / b['bare_s']:.1f}×{_cpu(b, '')})"),
            _rate(parse["pages"], parse["ours_s"]), f"bare lxml {_rate(parse['pages'], parse['bare_s'])}",
            _x(ratio) + _cpu(parse, ""), "≤ 3×", "met" if ratio <= 3 else "not met",
        ))  # fmt: skip
    if "real_s" in parse:
        ratio = parse["real_s"] / parse["real_bare_s"]
        rows.append((
            f"parse + normalize, real ccgp pages ({parse['real_pages']:,}: 8 pages repeated)",
            was("parse", lambda b: f"{_rate(b['real_pages'], b['real_s'])} ({b['real_s'] / b['real_bare_s']:.1f}×"
                f"{_cpu(b, 'real_')})"),
            _rate(parse["real_pages"], parse["real_s"]),
            f"bare lxml {_rate(parse['real_pages'], parse['real_bare_s'])}",
            _x(ratio) + _cpu(parse, "real_"), "≤ 3×", "met" if ratio <= 3 else "not met",
        ))  # fmt: skip
    elif "error" in parse:
        rows.append(("parse + normalize", "-", parse["error"], "-", "-", "≤ 3×", "error"))

    store = now.get("store", {})
    if "insert_s" in store:
        for key, name in (("insert_s", "insert"), ("rerun_s", "re-run (same rows)")):
            ratio = store[key] / store["read_json_s"]
            # The insert's own peak, then the larger of both loads' (the stage's peak also holds the baseline's).
            peak = store.get("insert_peak_mib") if key == "insert_s" else store.get("loads_peak_mib")
            rows.append((
                f"store {store['rows']:,} notices: {name}",
                was("store", lambda b, key=key: f"{_rate(b['rows'], b[key])} ({b[key] / b['read_json_s']:.1f}×)"),
                _rate(store["rows"], store[key]) + (f", {peak:,.0f} MiB peak" if peak else ""),
                f"DuckDB read_json {_rate(store['rows'], store['read_json_s'])}",
                _x(ratio), "≤ 2×", "met" if ratio <= 2 else "not met",
            ))  # fmt: skip

    link = now.get("link", {})
    if "noop_s" in link:
        for key, name in (("first", "first linking"), ("noop", "night with no change"),
                          ("change", "night changing 1% of the buyers")):  # fmt: skip
            rows.append((
                f"processes (ocids), {name}",
                was("link", lambda b, key=key: f"{b[f'{key}_s']:.2f} s (CPU {b[f'{key}_cpu_s']:.2f} s)"),
                f"{link[f'{key}_s']:.2f} s (CPU {link[f'{key}_cpu_s']:.2f} s)",
                f"first linking {link['first_s']:.2f} s",
                f"{link[f'{key}_s'] / link['first_s']:.2f}×" if link["first_s"] else "-",
                "grows with the night's changes", "compare sizes" if key != "first" else "-",
            ))  # fmt: skip

    match = now.get("match", {})
    if "match_s" in match:
        before_rate = None
        if before and "match_s" in before.get("match", {}):
            before_rate = before["match"]["notices"] / before["match"]["match_s"]
        rate = match["notices"] / match["match_s"]
        speedup = rate / before_rate if before_rate else None
        rows.append((
            f"match, Hefei texts ({match['notices']:,})",
            f"{before_rate:,.0f}/s" if before_rate else "-", f"{rate:,.0f}/s",
            f"normalization alone {_rate(match['notices'], match['normalize_s'])}",
            f"{speedup:.1f}× before" if speedup else "-", "≥ 3× before",
            "met" if speedup and speedup >= 3 else ("not met" if speedup else "no before"),
        ))  # fmt: skip
    if "full_s" in match:
        ratio = match["full_s"] / match["match_s"]
        identical = "identical" if match["identical"] else "RESULTS DIFFER"
        rows.append((
            f"match, Hefei texts: fast path ({match['full_path_notices']:,} took the full path)",
            "-", f"{_rate(match['notices'], match['match_s'])}, {identical}",
            f"full path {_rate(match['notices'], match['full_s'])}", f"{ratio:.1f}× full path",
            "≥ 3×, identical results",
            "met" if ratio >= 3 and match["identical"] else "not met",
        ))  # fmt: skip
    elif match:
        rows.append(
            ("match, Hefei texts", "-", match.get("skipped") or match.get("error", "-"), "-", "-", "-", "skipped")
        )

    rematch = now.get("rematch", {})
    if "rematch_s" in rematch:
        of = f" (stopped after {rematch['limit']:,} of {rematch['stored']:,})" if rematch.get("limit") else ""
        rows.append((
            f"rematch {rematch['notices']:,} notices{of}",
            was("rematch", lambda b: f"{b['rematch_s']:.1f} s (CPU {b.get('rematch_cpu_s', 0):.1f} s), "
                                     f"{b['peak_mib']:.0f} MiB"),
            f"{rematch['rematch_s']:.1f} s (CPU {rematch.get('rematch_cpu_s', 0):.1f} s), "
            f"{rematch['peak_mib']:.0f} MiB peak", "-", "-",
            "peak RSS at 1M ≤ 1.5× 100k", "compare sizes",
        ))  # fmt: skip
    night = now.get("night", {})
    if "parties_noop_cpu_s" in night:
        names = ("link", "segment", "translate", "watchlist", "parties")
        first = sum(night[f"{name}_first_cpu_s"] for name in names)
        noop = sum(night[f"{name}_noop_cpu_s"] for name in names)
        rows.append((
            f"the night's passes after the store, nothing new ({night['notices']:,} notices)",
            was("night", lambda b: f"CPU {sum(b[f'{n}_noop_cpu_s'] for n in names):.2f} s"),
            f"CPU {noop:.2f} s: " + ", ".join(f"{name} {night[f'{name}_noop_cpu_s']:.2f}" for name in names),
            f"the same passes on a first night: CPU {first:.1f} s", f"{noop / first:.3f}× first" if first else "-",
            "grows with the night's changes", "compare sizes",
        ))  # fmt: skip
    snap = now.get("snapshot", {})
    if "snapshot_s" in snap and "noop_s" in snap:
        size = f"{snap['notices']:,} notices, {snap['db_mib']:.0f} MiB database"
        whole = snap["whole_s"]
        for key, name in (
            ("snapshot", "first snapshot (nothing to patch: whole copy)"),
            ("noop", "night with no change"),
            ("change", "night changing 1% of the notices"),
            ("whole", "whole copy of that night (every night before)"),
            ("latest", "night adding 1% new notices, all in the latest month"),
        ):
            if f"{key}_s" not in snap:
                continue
            seconds = snap["snapshot_s" if key == "snapshot" else f"{key}_s"]
            cpu = snap["first_cpu_s" if key == "snapshot" else f"{key}_cpu_s"]
            before_key = "snapshot_s" if key == "snapshot" else f"{key}_s"
            before_cpu = "first_cpu_s" if key == "snapshot" else f"{key}_cpu_s"
            rows.append((
                f"snapshot + Parquet, {name} ({size})",
                was("snapshot", lambda b, k=before_key, c=before_cpu: f"{b[k]:.1f} s (CPU {b[c]:.1f} s)"),
                f"{seconds:.1f} s (CPU {cpu:.1f} s)",
                f"whole copy {whole:.1f} s; file copy {snap['file_copy_s']:.2f} s",
                f"{seconds / whole:.2f}× whole" if whole else "-", "grows with the night's changes",
                "compare sizes" if key in ("noop", "change", "latest") else "-",
            ))  # fmt: skip
        parts = snap.get("parquet_parts_cpu_s") or {}
        if parts:
            # Where a changing night's time goes: the Parquet files it writes again, one by one.
            largest = sorted(parts.items(), key=lambda item: -item[1])[:4]
            rows.append((
                f"of which Parquet files written again on that night ({size})", "-",
                f"CPU {sum(parts.values()):.1f} s: " + ", ".join(f"{name} {cpu:.1f}" for name, cpu in largest),
                f"night changing 1% {snap['change_cpu_s']:.1f} CPU-s", "-", "-", "measured",
            ))  # fmt: skip
        before_peak = was("snapshot", lambda b: f"{b['peak_mib']:.0f} MiB")
        rows.append((f"peak memory of the snapshot stage ({size})", before_peak, f"{snap['peak_mib']:.0f} MiB",
                     "-", "-", "-", "-"))  # fmt: skip
    elif "snapshot_s" in snap:
        ratio = snap["snapshot_s"] / max(snap["file_copy_s"], 1e-9)
        rows.append((
            f"snapshot + Parquet, {snap['notices']:,} notices ({snap['db_mib']:.0f} MiB database)",
            was("snapshot", lambda b: f"{b['snapshot_s']:.1f} s, {b['peak_mib']:.0f} MiB"),
            f"{snap['snapshot_s']:.1f} s, {snap['peak_mib']:.0f} MiB peak", f"file copy {snap['file_copy_s']:.2f} s",
            _x(ratio), "grows with the night's changes", "not met (full rebuild)",
        ))  # fmt: skip
    queries = now.get("queries", {})
    if "count_s" in queries:
        timed = {k: v for k, v in queries["queries"].items() if isinstance(v, float)}
        slowest = max(timed, key=timed.get) if timed else None
        errors = [k for k, v in queries["queries"].items() if not isinstance(v, float)]
        where = "snapshot" if queries.get("db", "tenders.duckdb") == "tenders.duckdb" else "working database"
        if slowest:
            ratio = timed[slowest] / max(queries["count_s"], 1e-9)
            rows.append((
                f"README queries on the {where} (slowest: {slowest.split('.')[0]})",
                was("queries", lambda b: f"{max(v for v in b['queries'].values() if isinstance(v, float)):.2f} s"),
                f"{timed[slowest]:.2f} s (all {len(timed)}: {sum(timed.values()):.2f} s)",
                f"`count(*)` {queries['count_s'] * 1000:.1f} ms", _x(ratio), "-",
                f"{len(errors)} failed" if errors else "measured",
            ))  # fmt: skip
        search = next((k for k in timed if k.startswith("9.")), None)
        if search and search != slowest:
            rows.append((
                "README query 9 (regexp over every notice's text)", "-", f"{timed[search]:.2f} s",
                f"`count(*)` {queries['count_s'] * 1000:.1f} ms", _x(timed[search] / max(queries["count_s"], 1e-9)),
                "-", "measured",
            ))  # fmt: skip
    return rows


HEADER = ("figure", "before", "after", "baseline (same run)", "ratio", "target", "met?")


def table(rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(str(cell).replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    cpus = os.cpu_count()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"{platform.platform()}, Python {platform.python_version()}, {cpus} CPUs, load average at the end {load}"


def write_results(path: Path, size: int, section: str) -> None:
    """Replace this size's section of RESULTS.md (or add it), keeping the other sizes' sections."""
    intro = (
        "# Benchmark results (issue 14)\n\n"
        'Written by `python bench/run.py --size N`; one section per N, each from one run. "before" is the same\n'
        'stage run with `main`\'s code on the same corpus in the same run; "baseline" is the reference the issue\n'
        "names (bare lxml, DuckDB `read_json`, a bare `import duckdb, lxml`, a file copy, `count(*)`). Timings are\n"
        "wall seconds on a shared machine: read the ratios, not the absolute figures.\n"
    )
    text = path.read_text(encoding="utf-8") if path.is_file() else intro
    marker = f"## N = {size:,}\n"
    # A section ends at the next "## " heading: the hand-kept sections between the sizes are kept too.
    pattern = re.compile(re.escape(marker) + r".*?(?=^## |\Z)", re.S | re.M)
    found = pattern.search(text)
    text = pattern.sub(lambda _: section.rstrip("\n") + "\n\n", text) if found else text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="stored notices (store, rematch, snapshot, queries)")
    parser.add_argument("--pages", type=int, default=0, help="pages through the parser (default: min(N, 2000))")
    parser.add_argument("--before", default="main", help="git ref measured as 'before' ('' to skip)")
    parser.add_argument("--skip", default="", help="stages to skip, comma-separated: " + ",".join(STAGES))
    parser.add_argument("--repeat", type=int, default=1, help="repeats of the cheap measurements (best kept)")
    parser.add_argument("--match-limit", type=int, default=0, help="match only the first N Hefei notices")
    parser.add_argument(
        "--rematch-limit",
        type=int,
        default=0,
        help="rematch stops after N notices (its peak memory is reached by then)",
    )
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (default: a temporary cache)")
    parser.add_argument("--results", type=Path, default=BENCH / "RESULTS.md", help="where the table goes")
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="keep the stages' databases in this folder (default: a temporary one), e.g. to query the 1M snapshot",
    )
    args = parser.parse_args(argv)
    pages = args.pages or min(args.size, 2000)
    skip = {name for name in args.skip.split(",") if name}
    corpus = args.corpus or Path(tempfile.gettempdir()) / f"tenderwatch-bench-{args.size}-{pages}"
    started = time.perf_counter()
    if not (corpus / "notices.jsonl").is_file() or not (corpus / "pages.warc.gz").is_file():
        subprocess.run(
            [sys.executable, str(BENCH / "generate.py"), "--size", str(args.size), "--pages", str(pages),
             "--out", str(corpus)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="tw-bench-") as scratch:
        scratch_path = args.work or Path(scratch)
        scratch_path.mkdir(parents=True, exist_ok=True)
        roots = {"now": ROOT}
        if args.before:
            (scratch_path / "before-code").mkdir(exist_ok=True)
            old = checkout(args.before, scratch_path / "before-code")
            if old is not None:
                roots["before"] = old
        # Stage by stage, "now" then "before" back to back: a shared machine's load drifts over a long run, and
        # the pair of one stage should see the same load.
        works = {label: scratch_path / f"work-{label}" for label in roots}
        for label in roots:
            works[label].mkdir(exist_ok=True)
            results[label] = {"commands": command_times(roots[label], args.repeat)}
        for stage in STAGES:
            if stage in skip or (stage == "seed" and ("rematch" not in skip or "queries" in skip)):
                continue
            for label, code_root in roots.items():
                limit = {"match": args.match_limit, "rematch": args.rematch_limit}.get(stage, 0)
                results[label][stage] = run_stage(stage, corpus, works[label], code_root, args.repeat, limit)
                print(f"[{label}] {stage}: {json.dumps(results[label][stage], ensure_ascii=False)[:300]}", flush=True)
    rows = rows_for(args.size, results["now"], results.get("before"))
    rendered = table(rows)
    print("\n" + rendered)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    command = "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    section = (
        f"## N = {args.size:,}\n\n"
        f"`{command.strip()}` at commit {commit.strip() or '?'} (before: `{args.before or 'not measured'}`), "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {time.perf_counter() - started:,.0f} s in all.\n"
        f"Machine: {machine()}.\n\n{rendered}\n\n"
        f"<details><summary>raw figures</summary>\n\n```json\n{json.dumps(results, ensure_ascii=False, indent=1)}\n"
        "```\n</details>\n"
    )
    write_results(args.results, args.size, section)
    print(f"\nwrote {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
