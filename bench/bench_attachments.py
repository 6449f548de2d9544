"""Attachments: extraction throughput against the bare library, and the share of real notices the screen passes.

    .venv/bin/python bench/bench_attachments.py [--pages 300]

Measures, in the same run:

- ``pipelines.ingest.attachments.extract`` (format sniffing, caps, hashing, page joining) on generated files: a
  PDF of ``--pages`` pages of specification text, a DOCX of as many paragraphs, an XLSX of as many rows and a ZIP of
  the three, in pages/s (PDF) and MB/s, against the bare text extraction of the same library on the same bytes
  (pypdfium2 page by page, python-docx paragraphs, openpyxl read-only rows): the ratio is our overhead;
- the share of real ccgp titles (``../shared/corpus/ccgp_trade_2022/*.csv``, deduplicated by ``ref``) that pass the
  attachment screen (``pipelines.matching.screen``: any matcher hit, or compute vocabulary), i.e. the notices whose
  attachments a night would download. The corpus holds titles only, so the share on title, items and body together
  is somewhat higher; skipped when ``../shared`` is absent.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_prefilter import CORPUS, corpus_titles  # noqa: E402
from pipelines.ingest.attachments import extract  # noqa: E402
from pipelines.matching.engine import Matcher  # noqa: E402
from pipelines.matching.screen import Screen  # noqa: E402
from tests.attachment_files import docx_bytes, pdf_bytes, xlsx_bytes, zip_bytes  # noqa: E402

SPEC_LINES = [
    "Item {n}: GPU server, 2U rack, 2 x CPU >= 32 cores, 16 x 64GB DDR5 RDIMM, 2 x 3.84TB NVMe SSD",
    "Accelerator: 8 x PCIe or SXM cards, memory >= 80GB HBM per card, interconnect >= 400 GB/s",
    "Network: 2 x 200Gb/s InfiniBand HDR, 2 x 25GbE; power supply 4 x 3000W redundant",
    "Warranty: 3 years on site, next business day; delivery within 30 days after the contract",
] * 12


def bare_pdf(body: bytes) -> int:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(body)
    chars = 0
    for number in range(len(document)):
        page = document[number]
        textpage = page.get_textpage()
        chars += len(textpage.get_text_bounded())
        textpage.close()
        page.close()
    document.close()
    return chars


def bare_docx(body: bytes) -> int:
    import docx

    return sum(len(p.text) for p in docx.Document(io.BytesIO(body)).paragraphs)


def bare_xlsx(body: bytes) -> int:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    chars = sum(len(str(v)) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for v in row)
    workbook.close()
    return chars


def best_of(function, body: bytes, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function(body)
        times.append(time.perf_counter() - started)
    return min(times)


def throughput(pages: int) -> None:
    spec = "\n".join(line.format(n=i) for i, line in enumerate(SPEC_LINES))
    pdf = pdf_bytes([spec] * pages)
    docx = docx_bytes([line.format(n=i) for i in range(pages) for line in SPEC_LINES[:4]])
    xlsx = xlsx_bytes([[i, "GPU服务器", "8卡", "80GB HBM", 2, 1_200_000] for i in range(pages * 10)])
    archive = zip_bytes({"需求.pdf": pdf, "参数.docx": docx, "清单.xlsx": xlsx})
    print(f"{'file':<10} {'MB':>6} {'ours s':>8} {'bare s':>8} {'ratio':>6} {'MB/s':>7} {'pages/s':>8}")
    for label, body, bare, counted in (
        ("pdf", pdf, bare_pdf, pages),
        ("docx", docx, bare_docx, None),
        ("xlsx", xlsx, bare_xlsx, None),
        ("zip", archive, lambda b: (bare_pdf(pdf), bare_docx(docx), bare_xlsx(xlsx)), pages),
    ):
        ours = best_of(lambda b, label=label: extract(f"x.{label}", b), body)
        baseline = best_of(bare, body)
        megabytes = len(body) / 1e6
        rate = f"{counted / ours:8.0f}" if counted else f"{'-':>8}"
        print(f"{label:<10} {megabytes:6.2f} {ours:8.3f} {baseline:8.3f} {ours / baseline:6.2f} "
              f"{megabytes / ours:7.1f} {rate}")  # fmt: skip


def screen_share() -> None:
    if not CORPUS.exists():
        print(f"screen share skipped: no corpus at {CORPUS} (../shared is absent)")
        return
    titles = corpus_titles()
    screen = Screen.load(matcher=Matcher.load())
    started = time.perf_counter()
    reasons = [screen.reason(title) for title in titles]
    elapsed = time.perf_counter() - started
    passed = [r for r in reasons if r]
    by_words = sum(r.startswith("word") for r in passed)
    print(f"\nscreen on {len(titles)} real ccgp titles: {len(passed)} pass ({100 * len(passed) / len(titles):.2f} %; "
          f"{by_words} by vocabulary, {len(passed) - by_words} by a matcher hit only), "
          f"{1e6 * elapsed / len(titles):.0f} µs per title")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=300, help="pages of the generated PDF (and scale of the rest)")
    args = parser.parse_args()
    throughput(args.pages)
    screen_share()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
