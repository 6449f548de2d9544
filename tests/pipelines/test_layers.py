"""One-way layers: nothing under pipelines/ imports spiders/, and the WARC format needs no Scrapy."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

PIPELINES = sorted((ROOT / "pipelines").rglob("*.py"))


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", PIPELINES, ids=[str(p.relative_to(ROOT)) for p in PIPELINES])
def test_pipelines_never_import_spiders(path):
    # Imports inside functions count too: a late import is still a dependency.
    assert not {m for m in imported_modules(path) if m == "spiders" or m.startswith("spiders.")}


def test_the_warc_format_needs_no_scrapy():
    modules = imported_modules(ROOT / "pipelines" / "ingest" / "warc.py")
    assert not {m for m in modules if m.split(".")[0] == "scrapy"}
