"""Procurement processes: the notices of one purchase (tender → corrections → award → contract) share one ``ocid``.

Notices are linked by their normalized project code (项目编号). Portals write the same code in many shapes
(``[230109]HDSJ[GK]20260041``, full-width brackets, spaces, lower case, a lot suffix such as ``-包1`` or ``第2包``),
so the code is reduced to its letters, digits and Han characters, upper-cased, with explicit lot words removed. A
bare numeric suffix (``ABC-2026-01-1``) is ambiguous — ``ZFCG-2026-1`` and ``ZFCG-2026-2`` are often two projects —
so it is folded into the base code only when that base code is itself known for the same buyer.

Codes are not unique across buyers (agencies reuse their numbering for many buyers, small portals restart it), so a
process is a code *and* a buyer. Buyer names of one code that contain one another (``某大学`` and ``某大学（本级）``)
count as one buyer. A notice without a buyer joins the code's only buyer on the same portal, or stays with its portal.
A notice without a project code is a process of its own.

The ocid is ``ocds-tw0001-`` plus a hash of that key, so it does not change when more notices arrive. A code seen
tonight can join notices stored months ago, so each night recomputes every process a changed notice touches, old
and new: the notices whose normalized code or base is one of the changed notices' codes or bases, closed over the
codes and bases of the notices found (``process_keys`` keeps each notice's code and base as last computed). Nothing
outside that set can change, since a notice's ocid reads only notices sharing its code or base. The result is
written with one set-based ``UPDATE`` of the rows whose ocid changed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections import defaultdict
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from pipelines.storage.transactions import transaction

# The OCDS prefix this publisher uses (ocds- + a registered-looking prefix); registering one is the operator's step.
OCID_PREFIX = "ocds-tw0001-"
# Words in a termination notice's title that mean nobody could be awarded (OCDS status unsuccessful, not cancelled).
UNSUCCESSFUL_WORDS = ("废标", "流标", "失败")

_LOT_ID = r"[0-9A-Z一二三四五六七八九十]+"
_LOT_WORD = r"(?:包|标段|标包|分包|子包)"
# An explicit lot at the end of a code: 包1, 第2包, -标段3, (1包), [包A].
_LOT_SUFFIX = re.compile(rf"[-_/(\[]*(?:第?{_LOT_ID}{_LOT_WORD}|{_LOT_WORD}{_LOT_ID})[)\]]*$")
# A bare number after a dash at the end: possibly a lot, possibly part of the project's own numbering.
_NUMERIC_SUFFIX = re.compile(r"-\d{1,2}$")
_NOT_CODE = re.compile(r"[^0-9A-Z\u4e00-\u9fff]")
_NOT_NAME = re.compile(r"[\s()\[\]（）【】〔〕\-_·.,，。]")


@dataclass(frozen=True)
class ProjectCode:
    code: str
    # The code without a trailing ``-N``, when it had one: used only if that base is known for the buyer.
    base: str | None = None


def normalize_code(raw: str | None) -> ProjectCode | None:
    """``[230109]HDSJ[GK]20260041`` → ``230109HDSJGK20260041``; ``ABC-01（包1）`` → ``ABC01``; placeholders → None."""
    if not raw:
        return None
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw)).upper()
    text = _LOT_SUFFIX.sub("", text)
    base = _NUMERIC_SUFFIX.sub("", text) if _NUMERIC_SUFFIX.search(text) else None
    code = _NOT_CODE.sub("", text)
    # A code needs at least one digit or letter: "无", "/" or "详见公告" are not codes.
    if not re.search(r"[0-9A-Z]", code):
        return None
    base_code = _NOT_CODE.sub("", base) if base else None
    return ProjectCode(code, base_code if base_code and base_code != code else None)


def normalize_buyer(raw: str | None) -> str:
    return _NOT_NAME.sub("", unicodedata.normalize("NFKC", raw or "")).upper()


def ocid_for(key: str) -> str:
    return OCID_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def assign(rows: list[dict]) -> dict[tuple[str, str], str]:
    """(source, notice_id) → ocid for every row ({source, notice_id, project_code, buyer})."""
    parsed = []
    known: set[tuple[str, str]] = set()
    for row in rows:
        code = normalize_code(row.get("project_code"))
        buyer = normalize_buyer(row.get("buyer"))
        parsed.append((row, code, buyer))
        if code and buyer:
            known.add((code.code, buyer))

    # Fold a numeric suffix into its base when the same buyer has a notice under the base code.
    resolved = []
    for row, code, buyer in parsed:
        value = code.code if code else None
        if code and code.base and (code.base, buyer) in known:
            value = code.base
        resolved.append((row, value, buyer))

    buyers_of_code: dict[str, set[str]] = defaultdict(set)
    buyers_on_portal: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row, code, buyer in resolved:
        if code and buyer:
            buyers_of_code[code].add(buyer)
            buyers_on_portal[(row["source"], code)].add(buyer)
    canonical = {code: _merge_contained(names) for code, names in buyers_of_code.items()}

    ocids = {}
    for row, code, buyer in resolved:
        if code is None:
            key = f"notice\x1f{row['source']}\x1f{row['notice_id']}"
        elif buyer:
            key = f"code\x1f{code}\x1f{canonical[code][buyer]}"
        else:
            on_portal = {canonical[code][b] for b in buyers_on_portal.get((row["source"], code), ())}
            if len(on_portal) == 1:
                key = f"code\x1f{code}\x1f{on_portal.pop()}"
            else:
                key = f"code\x1f{code}\x1f\x1f{row['source']}"
        ocids[(row["source"], row["notice_id"])] = ocid_for(key)
    return ocids


def _merge_contained(names: set[str]) -> dict[str, str]:
    """Each buyer name → the shortest name of the set it contains (variants of one buyer become one)."""
    merged: dict[str, str] = {}
    for name in sorted(names, key=lambda name: (len(name), name)):
        container = next((shorter for shorter in merged if shorter != name and shorter in name), None)
        merged[name] = merged[container] if container else name
    return merged


@dataclass
class ProcessSummary:
    notices: int = 0
    processes: int = 0
    changed: int = 0


def assign_ocids(con: duckdb.DuckDBPyConnection) -> ProcessSummary:
    """Recompute the ocids of the processes that changed notices touch, and write the changed ones in one statement.

    The first run (an empty ``process_keys``) computes every notice; a night with no new or changed notice reads
    only the comparison of ``notices`` with ``process_keys`` (in SQL).
    """
    changed = con.sql(
        """
        SELECT n.source, n.notice_id, n.project_code, n.buyer, k.code AS old_code, k.base AS old_base
        FROM notices n LEFT JOIN process_keys k USING (source, notice_id)
        WHERE k.notice_id IS NULL OR n.ocid IS NULL
           OR k.project_code IS DISTINCT FROM n.project_code OR k.buyer IS DISTINCT FROM n.buyer
        """
    ).to_arrow_table()
    gone = con.sql(
        "SELECT k.source, k.notice_id, k.code, k.base FROM process_keys k ANTI JOIN notices n USING (source, notice_id)"
    ).to_arrow_table()
    written = 0
    if changed.num_rows or gone.num_rows:
        written = _relink(con, changed, gone)
    notices, processes = con.execute("SELECT count(*), count(DISTINCT ocid) FROM notices").fetchall()[0]
    return ProcessSummary(notices=notices, processes=processes, changed=written)


def _relink(con: duckdb.DuckDBPyConnection, changed: pa.Table, gone: pa.Table) -> int:
    codes: set[str] = set()
    keys = {"source": [], "notice_id": [], "project_code": [], "buyer": [], "code": [], "base": []}
    for row in changed.to_pylist():
        code = normalize_code(row["project_code"])
        for value in (code.code if code else None, code.base if code else None, row["old_code"], row["old_base"]):
            if value:
                codes.add(value)
        for name in ("source", "notice_id", "project_code", "buyer"):
            keys[name].append(row[name])
        keys["code"].append(code.code if code else None)
        keys["base"].append(code.base if code else None)
    codes |= {value for name in ("code", "base") for value in gone.column(name).to_pylist() if value}
    batch, gone_name = f"keys_{uuid.uuid4().hex}", f"gone_{uuid.uuid4().hex}"
    con.register(batch, pa.table(keys))
    con.register(gone_name, gone)
    try:
        with transaction(con):
            con.execute(f"DELETE FROM process_keys k USING {gone_name} g WHERE k.source = g.source "
                        f"AND k.notice_id = g.notice_id")  # fmt: skip
            con.execute(f"INSERT OR REPLACE INTO process_keys SELECT * FROM {batch}")
            group = _closure(con, codes)
            # The changed notices without a code are processes of their own: only they are computed again.
            rows = con.sql(
                f"""
                SELECT n.source, n.notice_id, n.project_code, n.buyer FROM notices n
                JOIN process_keys k USING (source, notice_id)
                WHERE k.code IN (SELECT code FROM {group}) OR k.base IN (SELECT code FROM {group})
                UNION ALL
                SELECT b.source, b.notice_id, b.project_code, b.buyer FROM {batch} b WHERE b.code IS NULL
                """
            ).to_arrow_table()
            con.unregister(group)
            written = _write(con, assign(rows.to_pylist()))
    finally:
        con.unregister(batch)
        con.unregister(gone_name)
    return written


def _closure(con: duckdb.DuckDBPyConnection, codes: set[str]) -> str:
    """Codes and bases of every notice whose code or base is in ``codes``, until no new one comes; registered as a
    one-column relation (``code``) whose name is returned (joined, not passed as a list: the first night has them all).
    """
    group, new = set(), set(codes)
    name = f"codes_{uuid.uuid4().hex}"
    while new:
        group |= new
        con.register(name, pa.table({"code": sorted(new)}))
        found = con.execute(
            f"SELECT code, base FROM process_keys WHERE code IN (SELECT code FROM {name}) "
            f"OR base IN (SELECT code FROM {name})"
        ).fetchall()
        con.unregister(name)
        new = {value for row in found for value in row if value} - group
    con.register(name, pa.table({"code": pa.array(sorted(group), pa.string())}))
    return name


def _write(con: duckdb.DuckDBPyConnection, ocids: dict[tuple[str, str], str]) -> int:
    if not ocids:
        return 0
    batch = pa.table(
        {
            "source": [key[0] for key in ocids],
            "notice_id": [key[1] for key in ocids],
            "ocid": list(ocids.values()),
        }
    )
    name = f"ocids_{uuid.uuid4().hex}"
    con.register(name, batch)
    try:
        return con.execute(
            f"""
            UPDATE notices SET ocid = b.ocid FROM {name} b
            WHERE notices.source = b.source AND notices.notice_id = b.notice_id
              AND notices.ocid IS DISTINCT FROM b.ocid
            """
        ).fetchall()[0][0]
    finally:
        con.unregister(name)


def termination_status(title: str | None) -> str:
    """OCDS tender status of a termination notice: ``unsuccessful`` for failed bids (废标/流标), else ``cancelled``.

    The same words decide the ``status`` of the ``procurement_processes`` view (pipelines/storage/store.py).
    """
    return "unsuccessful" if any(word in (title or "") for word in UNSUCCESSFUL_WORDS) else "cancelled"
