"""CI's smoke run of the 10k benchmark: every stage runs end to end and its table has every figure of issue 14.

No timing is asserted (CI machines are noisy). The parser and the matcher see 16 pages and 40 texts: their figures
do not depend on the number of stored notices."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT, SHARED

SIZE = 10_000


def test_bench_runs_at_10k_and_reports_every_figure(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# kept\n\n## N = 7\n\nan older section\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--size", str(SIZE), "--pages", "16", "--before", "",
         "--match-limit", "40", "--corpus", str(tmp_path / "corpus"), "--results", str(results)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    text = results.read_text(encoding="utf-8")
    assert text.startswith("# kept") and "## N = 7\n\nan older section" in text
    section = text.split(f"## N = {SIZE:,}\n", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    figures = [row.split(" | ")[0].removeprefix("| ") for row in rows]
    expected = [
        "`flows.py --help`",
        "`flows.py match-text`, one text",
        "parse + normalize, 16 generated pages",
        f"store {SIZE:,} notices: insert",
        f"store {SIZE:,} notices: re-run (same rows)",
        "processes (ocids), first linking",
        "processes (ocids), night with no change",
        "processes (ocids), night changing 1% of the buyers",
        f"rematch {SIZE:,} notices",
        f"the night's passes after the store, nothing new ({SIZE:,} notices)",
        "snapshot + Parquet, first snapshot (nothing to patch: whole copy)",
        "snapshot + Parquet, night with no change",
        "snapshot + Parquet, night changing 1% of the notices",
        "snapshot + Parquet, whole copy of that night",
        "README queries on the snapshot",
    ]
    for name in expected:
        assert any(figure.startswith(name) for figure in figures), (name, figures)
    if (SHARED / "fixtures" / "real" / "ccgp").is_dir():
        assert any(figure.startswith("parse + normalize, real ccgp pages") for figure in figures), figures
    if (SHARED / "corpus" / "hefei_ggzy").is_dir():
        assert "match, Hefei texts (40)" in figures, figures
        fast_path = [row for row in rows if row.startswith("| match, Hefei texts: fast path")]
        assert len(fast_path) == 1 and "identical" in fast_path[0] and "DIFFER" not in fast_path[0], rows
    # Every row carries a measured figure, a target and a verdict; no stage failed.
    assert all(len(row.split(" | ")) == 7 for row in rows), rows
    assert "error" not in section.split("<details>")[0], section
    assert "| 0 failed" not in section and "failed |" not in section.split("<details>")[0]
