"""One benchmark stage, run in its own process so its peak memory is its own: prints one JSON line.

    .venv/bin/python bench/stages.py STAGE CORPUS_DIR WORK_DIR

``bench/run.py`` calls this; each stage times our code and, where there is one, a baseline on the same input in the
same process. Timings are wall seconds, best of ``--repeat`` where a stage is cheap enough to repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
# The code measured: this checkout, or another commit's (``run.py --before``); bench/ itself always comes from here.
CODE = Path(os.environ.get("TENDERWATCH_BENCH_CODE") or ROOT)
sys.path[:0] = [str(CODE), str(ROOT)] if CODE != ROOT else [str(ROOT)]


def best(function: Callable[[], object], repeat: int = 1) -> float:
    fastest = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest


def best_wall_cpu(function: Callable[[], object], repeat: int = 1) -> tuple[float, float]:
    """(wall, CPU) seconds, the least of each over ``repeat`` runs. On a shared machine the CPU time of a
    single-threaded stage moves less with the other users' load than its wall time."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        function()
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return wall, cpu


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- parse ---------------------------------------------------------------------------------------------------------


def stage_parse(corpus: Path, work: Path, repeat: int) -> dict:
    import lxml.html

    from bench.generate import read_warc
    from pipelines.ingest.normalize import normalize_page
    from spiders.registry import PORTALS

    pages = read_warc(corpus / "pages.warc.gz")

    def bare() -> None:
        for _, body in pages:
            lxml.html.fromstring(body).text_content()

    def ours() -> None:
        for url, body in pages:
            normalize_page(body, url, PORTALS)

    (bare_s, bare_cpu_s), (ours_s, ours_cpu_s) = best_wall_cpu(bare, repeat), best_wall_cpu(ours, repeat)
    result = {
        "pages": len(pages),
        "bare_s": bare_s,
        "ours_s": ours_s,
        "bare_cpu_s": bare_cpu_s,
        "ours_cpu_s": ours_cpu_s,
    }
    real = _real_ccgp_pages()
    if real:
        # About as many real pages as generated ones (the real ones are only 8), at least each once.
        real = real * max(1, len(pages) // len(real))

        def bare_real() -> None:
            for _, body in real:
                lxml.html.fromstring(body).text_content()

        def ours_real() -> None:
            for url, body in real:
                normalize_page(body, url, PORTALS)

        (real_bare_s, real_bare_cpu_s), (real_s, real_cpu_s) = (
            best_wall_cpu(bare_real, repeat),
            best_wall_cpu(ours_real, repeat),
        )
        result |= {"real_pages": len(real), "real_bare_s": real_bare_s, "real_s": real_s,
                   "real_bare_cpu_s": real_bare_cpu_s, "real_cpu_s": real_cpu_s}  # fmt: skip
    return result


def _real_ccgp_pages() -> list[tuple[str, bytes]]:
    """The real ccgp detail pages in ../shared (third-party data, read in place), with the URL the tests use."""
    from tests.spiders.ccgp_real_pages import URLS

    folder = SHARED / "fixtures" / "real"
    return [(url, (folder / name).read_bytes()) for name, url in URLS.items() if (folder / name).is_file()]


# --- store ---------------------------------------------------------------------------------------------------------


def store_file(con, rows: Path) -> tuple[int, int]:
    """(inserted, updated) of storing a JSONL batch file as the nightly flow does, with the code measured."""
    from pipelines.storage import store

    if not hasattr(store, "load_jsonl"):  # the code from before DuckDB read the files itself (``--before``)
        table = store.notices_to_arrow(list(store.read_jsonl(rows)), "bench", datetime.now(UTC))
        return store.upsert_notices(con, table)
    loaded = store.load_jsonl(con, [rows], "bench", datetime.now(UTC))
    return loaded.inserted, loaded.updated


def stage_store(corpus: Path, work: Path, repeat: int) -> dict:
    import duckdb

    from pipelines.storage import store

    rows = corpus / "notices.jsonl"
    db = work / "warehouse.duckdb"
    for leftover in (db, db.with_name(db.name + ".wal")):
        leftover.unlink(missing_ok=True)

    def load() -> tuple[int, int]:
        with store.session(db) as con:
            return store_file(con, rows)

    # The schema is set up first, as a night finds it: creating 20 tables and views with their comments is a one-off
    # that took 2-4 s here, most of a 10k insert, and the read_json baseline creates none.
    store.connect(db).close()
    started = time.perf_counter()
    inserted, _ = load()
    insert_s = time.perf_counter() - started
    insert_peak = peak_mib()
    started = time.perf_counter()
    _, updated = load()
    rerun_s = time.perf_counter() - started
    # Peak memory only grows: this is the larger of the two loads', before the baseline below adds its own.
    loads_peak = peak_mib()

    def read_json() -> None:
        con = duckdb.connect(str(work / "baseline.duckdb"))
        con.execute(
            "CREATE OR REPLACE TABLE notices AS SELECT * FROM read_json(?, format = 'newline_delimited')", [str(rows)]
        )
        con.close()

    baseline_s = best(read_json, 1)
    (work / "baseline.duckdb").unlink(missing_ok=True)
    return {"rows": inserted, "updated": updated, "insert_s": insert_s, "rerun_s": rerun_s, "read_json_s": baseline_s,
            "insert_peak_mib": insert_peak, "loads_peak_mib": loads_peak,
            "file_mib": rows.stat().st_size / 2**20}  # fmt: skip


# --- match (the Hefei corpus) ----------------------------------------------------------------------------------------


def stage_match(corpus: Path, work: Path, repeat: int, limit: int = 0) -> dict:
    from pipelines.matching.engine import Matcher
    from pipelines.matching.folding import normalize
    from tests.corpora import hefei_notices

    folder = SHARED / "corpus" / "hefei_ggzy"
    if not folder.is_dir():
        return {"skipped": f"{folder} is absent (third-party data, not in the repository)"}
    notices = hefei_notices(folder)
    notices = notices[:limit] if limit else notices
    matcher = Matcher.load()
    results: dict[str, list] = {}

    def match() -> None:
        results["fast"] = [matcher.match(title, text) for title, text in notices]

    def match_full() -> None:
        # The full path (every text normalized and scanned): the baseline of the fast path, in the same process.
        results["full"] = [matcher.match_full(title, text) for title, text in notices]

    def normalize_only() -> None:
        for title, text in notices:
            normalize(title)
            normalize(text)

    # Rule patterns compile on first use: warm both paths outside the timing, or a small run times the compiler.
    for title, text in notices[:8]:
        matcher.match(title, text)
        if hasattr(matcher, "match_full"):
            matcher.match_full(title, text)
    figures = {"notices": len(notices), "match_s": best(match, repeat)}
    if hasattr(matcher, "match_full"):  # a "before" checkout has only the full path
        figures["full_s"] = best(match_full, repeat)
        figures["identical"] = results["fast"] == results["full"]
        figures["full_path_notices"] = sum(
            matcher.anchors.may_match(title) or matcher.anchors.may_match(text) for title, text in notices
        )
    figures["normalize_s"] = best(normalize_only, repeat)
    return figures


# --- rematch, snapshot, queries over the stored rows -----------------------------------------------------------------


def stage_link(corpus: Path, work: Path, repeat: int) -> dict:
    """Procurement processes (ocids): the first linking, a night with no change, and a night whose 1% of notices
    got another buyer (each one's process and the ones sharing its code computed again)."""
    from pipelines.storage import processes, store

    def night(con) -> tuple[float, float, int]:
        cpu, started = cpu_s(), time.perf_counter()
        summary = processes.assign_ocids(con)
        return time.perf_counter() - started, cpu_s() - cpu, summary.changed

    with store.session(work / "warehouse.duckdb") as con:
        first_s, first_cpu, linked = night(con)
        noop_s, noop_cpu, _ = night(con)
        con.execute("UPDATE notices SET buyer = buyer || '（本级）' WHERE hash(notice_id) % 100 = 7")
        change_s, change_cpu, changed = night(con)
    return {"first_s": first_s, "first_cpu_s": first_cpu, "linked": linked, "noop_s": noop_s, "noop_cpu_s": noop_cpu,
            "change_s": change_s, "change_cpu_s": change_cpu, "changed": changed}  # fmt: skip


class _Enough(Exception):
    """Raised by the counting matcher after ``limit`` notices: the rematch stops there."""


def stage_rematch(corpus: Path, work: Path, repeat: int, limit: int = 0) -> dict:
    """Every stored notice matched again (as after a rules change). With ``limit``, it stops after that many
    notices: peak memory of a rematch that streams is reached within the first batches, and one that reads all
    pending notices first has already paid for them, so the memory figure for a large history needs no full run."""
    from pipelines.matching.engine import Matcher
    from pipelines.matching.pending import match_pending
    from pipelines.storage import store

    matcher = Matcher.load()
    calls = 0
    original = matcher.match

    def counted(*args, **kwargs):
        nonlocal calls
        calls += 1
        if limit and calls > limit:
            raise _Enough
        return original(*args, **kwargs)

    matcher.match = counted
    db = work / "warehouse.duckdb"
    with store.session(db) as con:
        con.execute("DELETE FROM matches")
        con.execute("DELETE FROM match_results")
        cpu, started = cpu_s(), time.perf_counter()
        try:
            summary = match_pending(con, matcher)
            matched, hits = summary.matched, summary.hits
        except _Enough:
            matched, hits = limit, None
        seconds, cpu = time.perf_counter() - started, cpu_s() - cpu
        stored = con.execute("SELECT count(*) FROM notices").fetchall()[0][0]
    return {"notices": matched, "stored": stored, "hits": hits, "rematch_s": seconds, "rematch_cpu_s": cpu,
            "limit": limit}  # fmt: skip


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# A night that changes 1% of the notices: half of them corrected (new text, new content hash, matched again), half
# new (copies under new ids).
ONE_PERCENT_NIGHT = (
    "UPDATE notices SET text = text || ' 更正', content_hash = md5(coalesce(content_hash, '')), "
    "last_seen_at = now() WHERE hash(notice_id) % 200 = 0",
    "UPDATE match_results SET matched_at = now() WHERE hash(notice_id) % 200 = 0",
    # Copies of generated notices only (ids without a dash), and never an id already there: run again on databases
    # kept with --work, the stage does not fail on a copy it made before (its night then only corrects notices).
    "INSERT INTO notices SELECT * REPLACE (notice_id || '-new' AS notice_id) FROM notices "
    "WHERE hash(notice_id) % 200 = 1 AND notice_id NOT LIKE '%-%' "
    "AND notice_id || '-new' NOT IN (SELECT notice_id FROM notices)",
)


# What a night writes for each new notice besides the notice, and the bench's latest-month night copies with it.
LATE_NIGHT_ROWS = ("notice_segments", "notice_parties", "process_keys", "party_keys", "match_results", "matches")


def stage_seed(corpus: Path, work: Path, repeat: int) -> dict:
    """Matches and processes for the stored copies without matching every one (at 1M a rematch takes hours here).

    The copies differ from their demo template only in ids, dates, codes and titles, so the 48 templates are matched
    once in a scratch database and each copy gets its template's hits and result (with its own content hash, so
    nothing is left pending); processes are linked by the real ``assign_ocids``. The analysts' queries then read a
    database shaped like a matched one.

    The views also read each notice's segments, title translation and flagged parties, so the copies get their
    template's as well: segments and glossary translations as the night makes them, a machine translation of every
    title segment (what ``translate --engine libretranslate`` leaves; invented text, the join is what is measured),
    the parties found by the real ``load_parties`` and the real watch-list.
    """
    from bench.generate import FIRST_ID, NOTICES
    from pipelines.matching import parties, watchlist
    from pipelines.matching.engine import Matcher
    from pipelines.matching.pending import match_pending
    from pipelines.publishing import translate
    from pipelines.storage import processes, schema, store

    templates = work / "templates.jsonl"
    with (corpus / "notices.jsonl").open(encoding="utf-8") as rows, templates.open("w", encoding="utf-8") as out:
        for _ in range(len(NOTICES)):
            out.write(rows.readline())
    scratch = work / "templates.duckdb"
    scratch.unlink(missing_ok=True)
    started = time.perf_counter()
    with store.session(scratch) as con:
        store_file(con, templates)
        match_pending(con, Matcher.load())
        translate.segment_pending(con)
        translate.load_glossary(con)
        translate.translate_pending(con, translate.make_engine("glossary", con, "en"), "en")
        con.execute(
            "INSERT OR IGNORE INTO translations SELECT segment_hash, 'en', 'libretranslate', 'EN: ' || text, now() "
            "FROM segments WHERE segment_hash IN (SELECT segment_hash FROM notice_segments WHERE field = 'title')"
        )
        parties.load_parties(con)
    template_of = f"CAST({FIRST_ID} + (CAST(n.notice_id AS BIGINT) - {FIRST_ID}) % {len(NOTICES)} AS VARCHAR)"
    with store.session(work / "warehouse.duckdb") as con:
        con.execute(f"ATTACH {schema.quote(str(scratch))} AS templates (READ_ONLY)")
        for table in ("matches", "match_results", "notice_segments", "notice_parties"):
            con.execute(f"DELETE FROM {table}")
        for table in ("segments", "translations", "glossary", "listed_parties"):
            con.execute(f"INSERT OR IGNORE INTO {table} SELECT * FROM templates.{table}")
        for table in ("notice_segments", "notice_parties"):
            con.execute(
                f"INSERT INTO {table} BY NAME SELECT t.* REPLACE (n.notice_id AS notice_id) FROM notices n "
                f"JOIN templates.{table} t ON t.source = n.source AND t.notice_id = {template_of}"
            )
        watchlist.load_watchlist(con)
        con.execute(
            "INSERT INTO matches BY NAME SELECT m.* REPLACE (n.notice_id AS notice_id) FROM notices n "
            f"JOIN templates.matches m ON m.source = n.source AND m.notice_id = {template_of}"
        )
        con.execute(
            "INSERT INTO match_results BY NAME SELECT r.* REPLACE (n.notice_id AS notice_id, "
            "n.content_hash AS content_hash) FROM notices n "
            f"JOIN templates.match_results r ON r.source = n.source AND r.notice_id = {template_of}"
        )
        con.execute("DETACH templates")
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        processes.assign_ocids(con)
        ocids_s = time.perf_counter() - started
        hits = store.scalar(con, "SELECT count(*) FROM matches")
        segment_links = store.scalar(con, "SELECT count(*) FROM notice_segments")
        flagged = store.scalar(con, "SELECT count(*) FROM notice_parties")
    for leftover in (templates, scratch):
        leftover.unlink(missing_ok=True)
    return {"hits": hits, "segment_links": segment_links, "notice_parties": flagged, "seed_s": seeded,
            "assign_ocids_s": ocids_s}  # fmt: skip


def stage_snapshot(corpus: Path, work: Path, repeat: int) -> dict:
    """The first snapshot (nothing to patch), a night with no change, a night changing 1% of the notices, and the
    whole copy of that night: what every night cost before the snapshot was patched."""
    import inspect

    import duckdb

    from pipelines.storage import snapshot, store

    db = work / "warehouse.duckdb"
    target = work / "tenders.duckdb"
    parquet = work / "parquet"
    # main's code has no incremental snapshot: every night of it is a whole copy.
    patches = "incremental" in inspect.signature(snapshot.publish_snapshot).parameters

    def night() -> tuple[float, float]:
        cpu, started = cpu_s(), time.perf_counter()
        snapshot.publish_snapshot(db, target, parquet)
        return time.perf_counter() - started, cpu_s() - cpu

    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT count(*) FROM notices").fetchall()[0][0]
    con.close()
    first_s, first_cpu = night()
    noop_s, noop_cpu = night()
    with store.session(db) as con:
        for statement in ONE_PERCENT_NIGHT:
            con.execute(statement)
    change_s, change_cpu = night()
    parts = _parquet_parts(target) if patches else {}
    # A night as they come: 1% new notices, all published in the latest month (the one partition they touch), each
    # with the rows the night's later passes write for it (segment links, flagged parties, keys, match verdicts).
    with store.session(db) as con:
        con.execute(
            "CREATE TEMP TABLE late AS SELECT source, notice_id FROM notices "
            "WHERE hash(notice_id) % 100 = 3 AND notice_id NOT LIKE '%-%' "
            "AND notice_id || '-late' NOT IN (SELECT notice_id FROM notices)"
        )
        con.execute(
            "INSERT INTO notices SELECT * REPLACE (notice_id || '-late' AS notice_id, "
            "(SELECT max(published_date) FROM notices) AS published_date) "
            "FROM notices SEMI JOIN late USING (source, notice_id)"
        )
        present = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        for table in sorted(set(LATE_NIGHT_ROWS) & present):
            con.execute(
                f"INSERT INTO {table} SELECT * REPLACE (notice_id || '-late' AS notice_id) FROM {table} "
                "SEMI JOIN late USING (source, notice_id)"
            )
    latest_s, latest_cpu = night()
    cpu, started = cpu_s(), time.perf_counter()
    whole = work / "whole"
    if patches:
        snapshot.publish_snapshot(db, whole / "tenders.duckdb", whole / "parquet", incremental=False)
    else:
        snapshot.publish_snapshot(db, whole / "tenders.duckdb", whole / "parquet")
    whole_s, whole_cpu = time.perf_counter() - started, cpu_s() - cpu
    shutil.rmtree(whole, ignore_errors=True)

    def copy_file() -> None:
        shutil.copyfile(db, work / "copy.duckdb")

    copy_s = best(copy_file, 1)
    (work / "copy.duckdb").unlink(missing_ok=True)
    return {
        "notices": rows, "snapshot_s": first_s, "first_cpu_s": first_cpu, "noop_s": noop_s, "noop_cpu_s": noop_cpu,
        "change_s": change_s, "change_cpu_s": change_cpu, "whole_s": whole_s, "whole_cpu_s": whole_cpu,
        "file_copy_s": copy_s, "db_mib": db.stat().st_size / 2**20, "snapshot_mib": target.stat().st_size / 2**20,
        "parquet_parts_cpu_s": parts, "latest_s": latest_s, "latest_cpu_s": latest_cpu,
    }  # fmt: skip


def _parquet_parts(snapshot_path: Path) -> dict[str, float]:
    """CPU seconds of each Parquet file a night changing notices and matches writes again (those tables and every
    view), one by one from the snapshot: where the night's cost goes. DuckDB's threads count in the CPU time.

    With the export's own threads and memory cap where the code has them, so the figures are the night's and the
    stage's peak memory is not this diagnostic's."""
    import duckdb

    from pipelines.storage import snapshot

    con = duckdb.connect(str(snapshot_path), read_only=True)
    if hasattr(snapshot, "EXPORT_THREADS"):
        con.execute(f"SET threads = {snapshot.EXPORT_THREADS}")
    if getattr(snapshot, "SNAPSHOT_MEMORY_LIMIT", None):
        con.execute(f"SET memory_limit = '{snapshot.SNAPSHOT_MEMORY_LIMIT}'")
    views = [row[0] for row in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal AND database_name = current_database()"
    ).fetchall()]  # fmt: skip
    parts = {}
    with tempfile.TemporaryDirectory(prefix="tw-parts-") as scratch:
        for name in ["notices", "matches", "match_results", *sorted(views)]:
            cpu = cpu_s()
            target = Path(scratch) / f"{name}.parquet"
            con.execute(f"COPY (SELECT * FROM \"{name}\") TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
            parts[name] = round(cpu_s() - cpu, 3)
    con.close()
    return parts


def readme_queries() -> list[tuple[str, str]]:
    """(title, SQL) of every analyst query in README.md."""
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r"\*\*(\d+)\. ([^*]+)\*\*.*?```sql\n(.*?)```", text, re.S):
        found.append((f"{match.group(1)}. {match.group(2).strip()}", match.group(3)))
    return found


def stage_queries(corpus: Path, work: Path, repeat: int) -> dict:
    import duckdb

    # The snapshot when the snapshot stage ran, else the working database it would copy (same tables and views).
    db = work / "tenders.duckdb" if (work / "tenders.duckdb").is_file() else work / "warehouse.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    count_s = best(lambda: con.sql("SELECT count(*) FROM notices").fetchall(), repeat)
    # CPU seconds of all DuckDB threads as well: on a shared machine they move less with the others' load.
    timings, cpu = {}, {}
    for title, sql in readme_queries():
        try:
            timings[title], cpu[title] = best_wall_cpu(lambda sql=sql: con.sql(sql).fetchall(), repeat)
        except duckdb.Error as error:
            timings[title] = f"error: {type(error).__name__}: {str(error).splitlines()[0][:120]}"
    con.close()
    return {"count_s": count_s, "queries": timings, "queries_cpu_s": cpu, "db": db.name}


def stage_night(corpus: Path, work: Path, repeat: int) -> dict:
    """The passes a night runs after the store, over what is stored: each once as a first night does it, then as a
    night with nothing new does it (its cost should not grow with the archive). CPU seconds."""
    from pipelines.matching import parties, watchlist
    from pipelines.publishing import translate
    from pipelines.storage import processes, store

    passes = {
        "link": processes.assign_ocids,
        "segment": translate.segment_pending,
        "translate": lambda con: translate.translate_pending(con, translate.make_engine("glossary", con, "en"), "en"),
        "watchlist": watchlist.load_watchlist,
        "parties": parties.load_parties,
    }
    figures: dict[str, float] = {}
    with store.session(work / "warehouse.duckdb") as con:
        translate.load_glossary(con)
        figures["notices"] = con.execute("SELECT count(*) FROM notices").fetchall()[0][0]
        for night in ("first", "noop"):
            for name, run in passes.items():
                cpu = cpu_s()
                run(con)
                figures[f"{name}_{night}_cpu_s"] = round(cpu_s() - cpu, 3)
    return figures


STAGES = {
    "parse": stage_parse,
    "store": stage_store,
    "link": stage_link,
    "match": stage_match,
    "rematch": stage_rematch,
    "seed": stage_seed,
    "night": stage_night,
    "snapshot": stage_snapshot,
    "queries": stage_queries,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="match: the first N Hefei notices; rematch: N notices")
    args = parser.parse_args(argv)
    stage = STAGES[args.stage]
    extra = {"limit": args.limit} if args.stage in ("match", "rematch") else {}
    result = stage(args.corpus, args.work, args.repeat, **extra)
    result["peak_mib"] = peak_mib()
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
