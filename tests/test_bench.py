"""CI's smoke run of the 10k benchmark: every stage runs end to end and its table has every figure of issue 14.

No timing is asserted (CI machines are noisy). The parser and the matcher see 16 pages and 40 texts: their figures
do not depend on the number of stored notices."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb

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


def test_seed_gives_each_copy_its_templates_hits_segments_and_parties(tmp_path):
    """At 1M the bench skips the rematch; stage `seed` copies the templates' derived rows instead. Two batches of the
    48 templates: the second batch must carry exactly the first's rows, and the views must find them."""
    from bench.generate import FIRST_ID, NOTICES

    corpus, work = tmp_path / "corpus", tmp_path / "work"
    work.mkdir()
    size = 2 * len(NOTICES)
    generate = [sys.executable, str(ROOT / "bench" / "generate.py"), "--size", str(size), "--pages", "1"]
    subprocess.run([*generate, "--out", str(corpus)], check=True, capture_output=True, timeout=300)
    for stage in ("store", "seed"):
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "stages.py"), stage, str(corpus), str(work)],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
    seeded = json.loads(done.stdout.strip().splitlines()[-1])
    con = duckdb.connect(str(work / "warehouse.duckdb"), read_only=True)
    per_batch = con.execute(
        f"""
        SELECT (CAST(notice_id AS BIGINT) - {FIRST_ID}) // {len(NOTICES)} AS batch, table_name, count(*)
        FROM (SELECT 'matches' AS table_name, notice_id FROM matches
              UNION ALL SELECT 'notice_segments', notice_id FROM notice_segments
              UNION ALL SELECT 'notice_parties', notice_id FROM notice_parties)
        GROUP BY ALL ORDER BY table_name, batch
        """
    ).fetchall()
    untitled = con.execute("SELECT count(*) FROM matched_notices WHERE title_en IS NULL").fetchone()[0]
    flagged = con.execute("SELECT count(*) FROM listed_party_purchases").fetchone()[0]
    con.close()
    counts = {(table, batch): count for batch, table, count in per_batch}
    for table in ("matches", "notice_segments", "notice_parties"):
        assert counts[(table, 0)] == counts[(table, 1)] > 0, (table, counts)
    assert seeded["hits"] == 2 * counts[("matches", 0)]
    assert seeded["segment_links"] == 2 * counts[("notice_segments", 0)]
    assert seeded["notice_parties"] == 2 * counts[("notice_parties", 0)]
    assert untitled == 0  # every title has a (machine) translation, so the title join is measured in full
    assert flagged == 2 * counts[("notice_parties", 0)]  # the demo's listed campus and military unit, per batch
