"""The one-way rule (docs/decisions.md): spiders may use pipelines, never the reverse; wings import only downwards.

The walk reads every import statement, function-local ones included, so a late import cannot hide a back-edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

# A module may import its own wing and wings of a lower rank; the flows and the CLI sit on top of everything.
RANKS = {
    "pipelines.model": 0,
    "pipelines.config": 0,
    "pipelines.national": 1,
    "pipelines.storage": 2,
    "pipelines.matching": 3,
    "pipelines.ingest": 3,
    "pipelines.publishing": 4,
    "spiders": 5,
    # Running unattended (the run lock, logs, retention): may use every wing, and no wing or spider needs it.
    "pipelines.operations": 5,
    "flows": 6,
    "cli": 7,
}
FIRST_PARTY = ("pipelines", "spiders", "flows", "cli")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path) -> set[str]:
    """The first-party modules ``path`` imports, wherever the statement stands."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # The ``if __name__ == "__main__":`` block runs only when the file is the program (``python flows.py`` hands over
    # to cli.py there), never on import, so it can make no import circle.
    tree.body = [node for node in tree.body if not _is_main_block(node)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from pipelines.storage import store`` imports the module pipelines.storage.store.
            candidates = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [c if _is_module(c, root) else node.module for c in candidates]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] in FIRST_PARTY)
    return found


def _is_main_block(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in ("__name__ == '__main__'", '__name__ == "__main__"')


def _is_module(dotted: str, root: Path) -> bool:
    path = root.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def import_graph(root: Path) -> dict[str, set[str]]:
    files = [root / "flows.py", root / "cli.py", *sorted((root / "pipelines").rglob("*.py"))]
    files += sorted((root / "spiders").rglob("*.py"))
    return {module_name(path, root): imports_of(path, root) for path in files if path.is_file()}


def wing(module: str) -> str | None:
    return next((name for name in sorted(RANKS, key=len, reverse=True) if (module + ".").startswith(name + ".")), None)


def back_edges(graph: dict[str, set[str]]) -> list[str]:
    """Imports that go up (or sideways into another wing of the same rank), as ``importer → imported``."""
    edges = []
    for module, imported in sorted(graph.items()):
        for target in sorted(imported):
            mine, theirs = wing(module), wing(target)
            if mine is None or theirs is None or mine == theirs:
                continue
            if RANKS[theirs] >= RANKS[mine]:
                edges.append(f"{module} → {target}")
    return edges


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_pipelines_module_imports_a_spider_and_wings_import_only_downwards():
    graph = import_graph(ROOT)
    assert "pipelines.ingest.normalize" in graph and "spiders.registry" in graph
    assert back_edges(graph) == []


def test_the_warc_format_needs_no_scrapy():
    # Reprocess and the archive tools read WARC files without a crawler; only the middlewares need Scrapy.
    assert not {name for name in third_party_imports(ROOT / "pipelines" / "ingest" / "warc.py") if name == "scrapy"}


def third_party_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found - set(FIRST_PARTY)


def test_no_import_circles():
    assert cycles(import_graph(ROOT)) == []


@pytest.mark.parametrize(
    ("files", "edges", "circles"),
    [
        pytest.param(
            {"pipelines/storage/a.py": "from spiders import b\n", "spiders/b.py": ""},
            ["pipelines.storage.a → spiders.b"], [], id="pipelines-importing-a-spider",
        ),
        pytest.param(
            {"pipelines/national/a.py": "def f():\n    from pipelines.matching import b\n",
             "pipelines/matching/b.py": ""},
            ["pipelines.national.a → pipelines.matching.b"], [], id="late-import-upwards",
        ),
        pytest.param(
            {"pipelines/matching/a.py": "from pipelines.ingest.b import x\n", "pipelines/ingest/b.py": "x = 1\n"},
            ["pipelines.matching.a → pipelines.ingest.b"], [], id="sideways-between-wings",
        ),
        pytest.param(
            {"pipelines/storage/a.py": "from pipelines.storage import b\n",
             "pipelines/storage/b.py": "import pipelines.storage.a\n"},
            [], [["pipelines.storage.a", "pipelines.storage.b"]], id="circle-inside-a-wing",
        ),
        pytest.param(
            {"spiders/a.py": "from pipelines.national import b\n", "pipelines/national/b.py": ""},
            [], [], id="spider-using-pipelines-is-fine",
        ),
        pytest.param(
            {"flows.py": "import os\nif __name__ == '__main__':\n    import cli\n", "cli.py": "import flows\n"},
            [], [], id="the-entry-point-hand-over-is-no-import",
        ),
    ],
)  # fmt: skip
def test_the_walk_finds_back_edges_and_circles(tmp_path, files, edges, circles):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    graph = import_graph(tmp_path)
    assert back_edges(graph) == edges
    assert cycles(graph) == circles
