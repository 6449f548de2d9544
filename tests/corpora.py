"""Readers for the third-party corpora in ``../shared/corpus``, shared by the tests and the benchmarks.

They take the folder to read, so each caller decides what a missing corpus means (a test skips, a benchmark says so).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path


def hefei_notices(folder: Path) -> list[tuple[str, str]]:
    """(title, text) of every notice in the Hefei bundles; a content field that is not JSON is notice text."""
    notices = []
    for path in sorted(folder.glob("20*.json")):
        if "attachment" in path.name:
            continue
        bundle = json.loads(path.read_text(encoding="utf-8"))
        for row in bundle.get("raw_rows", []):
            for key in ("procurement_content", "bid_content"):
                content = row.get(key)
                if not content:
                    continue
                try:
                    records = json.loads(content, strict=False).get("data", [])
                except (json.JSONDecodeError, AttributeError):
                    records = [{"title": row.get("procurement_title") or "", "content": content}]
                notices.extend((record.get("title") or "", record.get("content") or "") for record in records)
    return notices


def ccgp_titles(path: Path) -> list[str]:
    """Every title of the ccgp.gov.cn list corpus (``trade.csv``, tab-separated)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [row["object"] for row in csv.DictReader(handle, delimiter="\t") if row.get("object")]


def real_page_documents(root: Path) -> list[tuple[str, str, str]]:
    """(name, title, text) for every real page under ``root``: HTML as text, JSON list responses record by record."""
    from bs4 import BeautifulSoup  # only the real pages need it

    documents = []
    for path in sorted(root.rglob("*.html")):
        soup = BeautifulSoup(path.read_bytes(), "lxml")
        title = soup.title.get_text(strip=True) if soup.title else ""
        documents.append((str(path.relative_to(root)), title, soup.get_text("\n")))
    for path in sorted(root.rglob("*.json")):
        if path.name == "provenance.json":
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        records = (data.get("response", {}).get("data", {}) or {}).get("records") or data.get("result", {}).get(
            "records", []
        )
        assert records, path
        for record in records:
            documents.append(
                (f"{path.name}:{record.get('id')}", record.get("title") or "", record.get("content") or "")
            )
    return documents
