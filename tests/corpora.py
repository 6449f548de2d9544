"""Readers for the third-party corpora in ``../shared/corpus``, shared by the tests and the benchmarks.

They take the folder to read, so each caller decides what a missing corpus means (a test skips, a benchmark says so).
"""

from __future__ import annotations

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
