"""Proof that the matcher's fast path changes nothing: every real text matched both ways, results compared.

    .venv/bin/python bench/compare_fast_path.py [--corpus hefei,ccgp,pages,labels]

``Matcher.match`` skips normalizing a text in which no rule pattern can occur (``pipelines/matching/anchors.py``);
``Matcher.match_full`` always normalizes and scans. For each corpus this prints how many texts the fast path
sent down the full path, the time of both, and exits non-zero at the first result that differs (every hit's rule,
tier, score, evidence, quantities, amounts: the whole result dict). The real corpora are third-party data read in
place from ../shared and are skipped with a message when absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from pipelines.matching.engine import Matcher, _as_text  # noqa: E402
from tests.corpora import ccgp_titles, hefei_notices, real_page_documents  # noqa: E402

Document = tuple[str, dict]


def documents(corpus: str) -> list[Document] | str:
    """(name, keyword arguments of ``match``) of a corpus, or why it is absent."""
    if corpus == "labels":
        lines = (ROOT / "tests" / "data" / "labels.jsonl").read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
        keys = ("title", "text", "items", "attachments", "published", "notice_type")
        renamed = [{**record, "published": record.get("date")} for record in records]
        return [
            (str(record.get("id")), {key: record[key] for key in keys if record.get(key) is not None})
            for record in renamed
        ]
    paths = {
        "hefei": SHARED / "corpus" / "hefei_ggzy",
        "ccgp": SHARED / "corpus" / "ccgp_trade_2022" / "trade.csv",
        "pages": SHARED / "fixtures" / "real",
    }
    path = paths[corpus]
    if not path.exists():
        return f"{path} is absent (third-party data, not in the repository)"
    if corpus == "hefei":
        return [(f"hefei #{i}", {"title": t, "text": x}) for i, (t, x) in enumerate(hefei_notices(path))]
    if corpus == "ccgp":
        return [(f"ccgp #{i}", {"title": title}) for i, title in enumerate(ccgp_titles(path))]
    return [(name, {"title": title, "text": text}) for name, title, text in real_page_documents(path)]


def compare(matcher: Matcher, corpus: list[Document]) -> dict:
    """Both paths over the corpus; raises AssertionError naming the first document whose results differ."""
    started = time.perf_counter()
    fast = [matcher.match(**kwargs) for _, kwargs in corpus]
    fast_s = time.perf_counter() - started
    started = time.perf_counter()
    full = [matcher.match_full(**kwargs) for _, kwargs in corpus]
    full_s = time.perf_counter() - started
    for (name, _), one, other in zip(corpus, fast, full, strict=True):
        assert one == other, f"{name}: the fast path gives {one} but the full path {other}"
    may_match = matcher.anchors.may_match if matcher.anchors is not None else (lambda _: True)
    scanned = sum(
        any(may_match(_as_text(kwargs.get(key, ""))) for key in ("title", "text", "items", "attachments"))
        for _, kwargs in corpus
    )
    return {
        "documents": len(corpus),
        "full_path": scanned,
        "hits": sum(len(result["hits"]) for result in full),
        "fast_s": fast_s,
        "full_s": full_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="labels,pages,ccgp,hefei", help="comma-separated: labels,pages,ccgp,hefei")
    args = parser.parse_args()
    matcher = Matcher.load()
    for corpus in args.corpus.split(","):
        found = documents(corpus)
        if isinstance(found, str):
            print(f"{corpus}: skipped: {found}")
            continue
        try:
            figures = compare(matcher, found)
        except AssertionError as error:
            raise SystemExit(f"{corpus}: DIFFERENT: {error}") from None
        print(
            f"{corpus}: {figures['documents']} documents identical ({figures['hits']} hits); "
            f"{figures['full_path']} took the full path; fast {figures['fast_s']:.2f} s, "
            f"full {figures['full_s']:.2f} s ({figures['full_s'] / max(figures['fast_s'], 1e-9):.1f}x)"
        )


if __name__ == "__main__":
    main()
