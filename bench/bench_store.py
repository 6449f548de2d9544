"""Benchmark: loading notices into DuckDB through Arrow in one upsert, against row-by-row executemany.

    .venv/bin/python bench/bench_store.py [--notices N]

Both load the same synthetic notices (the real schema, with suppliers and items) into fresh database files in the
same run; the baseline loads a smaller slice (it is slow) and is reported per notice. Prints notices/second for each
and the ratio, plus peak memory of the Arrow load (tracemalloc).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.storage import store  # noqa: E402


def synthetic_notices(count: int) -> list[dict]:
    published = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        {
            "source": "ccgp",
            "notice_id": str(90_000_000 + number),
            "url": f"https://www.ccgp.gov.cn/cggg/dfgg/zbgg/202611/t20261101_{90_000_000 + number}.htm",
            "title": f"某大学第{number}号设备采购项目中标公告",
            "notice_type": "award",
            "buyer": f"某大学{number % 300}",
            "budget_cny": f"{(number % 997) * 1000 + 0.5:.2f}",
            "suppliers": [{"name": f"某科技有限公司{number % 50}", "amount_cny": "120000.00", "lot": "1"}],
            "items": [{"name": "服务器", "brand": "某品牌", "model": "X1", "quantity": "2", "unit": "台"}],
            "published_at": (published + timedelta(minutes=number)).isoformat(),
            "fetched_at": published.isoformat(),
            "text": "一、项目编号：X\n二、项目名称：设备采购\n" * 20,
        }
        for number in range(count)
    ]


def load_arrow(db: Path, notices: list[dict]) -> float:
    start = time.perf_counter()
    with store.session(db) as con:
        store.upsert_notices(con, store.notices_to_arrow(notices, "bench", datetime.now(UTC)))
    return time.perf_counter() - start


def load_executemany(db: Path, notices: list[dict]) -> float:
    """The obvious approach: one parameterised INSERT … ON CONFLICT per notice."""
    table = store.notices_to_arrow(notices, "bench", datetime.now(UTC))
    rows = [tuple(row.values()) for row in table.to_pylist()]
    columns = ", ".join(table.column_names)
    marks = ", ".join("?" for _ in table.column_names)
    start = time.perf_counter()
    with store.session(db) as con:
        con.executemany(
            f"INSERT INTO notices ({columns}) VALUES ({marks}) ON CONFLICT (source, notice_id) DO NOTHING", rows
        )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=20_000, help="notices for the Arrow load")
    parser.add_argument("--baseline-notices", type=int, default=500, help="notices for the executemany baseline")
    args = parser.parse_args()
    notices = synthetic_notices(args.notices)
    with tempfile.TemporaryDirectory() as folder:
        arrow_s = load_arrow(Path(folder) / "arrow.duckdb", notices)
        rerun_s = load_arrow(Path(folder) / "arrow.duckdb", notices)
        baseline_s = load_executemany(Path(folder) / "rows.duckdb", notices[: args.baseline_notices])
        # Memory is traced in a separate load: tracing slows Python down and would skew the timings.
        tracemalloc.start()
        load_arrow(Path(folder) / "traced.duckdb", notices)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    arrow_rate = args.notices / arrow_s
    baseline_rate = args.baseline_notices / baseline_s
    print(f"arrow upsert:   {arrow_rate:>10,.0f} notices/s ({args.notices:,} in {arrow_s:.2f} s)")
    print(f"  re-run (all updates): {args.notices / rerun_s:,.0f} notices/s")
    print(f"  peak Python memory while converting and loading: {peak / 2**20:.0f} MiB")
    print(f"executemany:    {baseline_rate:>10,.0f} notices/s ({args.baseline_notices:,} in {baseline_s:.2f} s)")
    print(f"ratio: Arrow upsert is {arrow_rate / baseline_rate:,.0f}× the executemany baseline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
