"""Known intermediaries: a reviewed watch-list of suppliers that resold restricted compute before.

``watchlist.toml`` names each company by a distinctive part of its Chinese name. ``load_watchlist`` replaces the
``supplier_watchlist`` table with it every night, and the view ``watched_supplier_notices`` (in ``store``) shows every
notice that names a watched company as its supplier, with the matcher's verdict on that notice: what a known
intermediary sells is worth a look even when no rule fired. The list never creates a match by itself.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.storage.transactions import transaction

WATCHLIST_PATH = Path(__file__).with_name("watchlist.toml")
# Another watch-list file (a candidate under review, a test's variant), as TENDERWATCH_RULES is for the rules.
WATCHLIST_ENV = "TENDERWATCH_WATCHLIST"
# A shorter fragment would match unrelated companies (运达 is also in 浙江运达风电).
MIN_NAME_CHARS = 3


@dataclass(frozen=True)
class WatchedSupplier:
    name_zh: str
    name_en: str
    why: str


def configured_path() -> Path:
    return Path(os.environ.get(WATCHLIST_ENV) or WATCHLIST_PATH)


def read_watchlist(path: Path | None = None) -> list[WatchedSupplier]:
    """The watch-list's entries; a malformed file raises ValueError naming the file, the entry and the reason."""
    path = path or configured_path()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read the watch-list {path}: {error}") from None
    unknown = set(document) - {"suppliers"}
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}; expected [[suppliers]] entries")
    entries = document.get("suppliers", [])
    if not isinstance(entries, list):
        raise ValueError(f"{path}: 'suppliers' must be a list of [[suppliers]] tables")
    fields = ("name_zh", "name_en", "why")
    watched: list[WatchedSupplier] = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: supplier {number}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: must be a [[suppliers]] table")
        extra = set(entry) - set(fields)
        if extra:
            raise ValueError(f"{where}: unknown keys {sorted(extra)}; expected {list(fields)}")
        for name in fields:
            value = entry.get(name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{where}: {name} must be a non-empty string")
        name_zh = entry["name_zh"].strip()
        if len(name_zh) < MIN_NAME_CHARS:
            raise ValueError(f"{where}: name_zh {name_zh!r} is too short to name one company")
        if any(name_zh == known.name_zh for known in watched):
            raise ValueError(f"{where}: {name_zh!r} is listed twice")
        watched.append(WatchedSupplier(name_zh, entry["name_en"].strip(), entry["why"].strip()))
    return watched


def load_watchlist(con: duckdb.DuckDBPyConnection, path: Path | None = None) -> int:
    """Replace ``supplier_watchlist`` with the watch-list file, in one transaction; returns the number of entries."""
    watched = read_watchlist(path)
    with transaction(con):
        con.execute("DELETE FROM supplier_watchlist")
        if watched:
            con.executemany(
                "INSERT INTO supplier_watchlist VALUES (?, ?, ?)", [(w.name_zh, w.name_en, w.why) for w in watched]
            )
    return len(watched)
