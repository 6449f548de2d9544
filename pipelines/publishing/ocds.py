"""Open Contracting Data Standard export: one release per notice, and one compiled record per process.

Mapping (DOMAIN.md §2): the notice type gives the release tag (``NoticeType.ocds_tag``: tender-type notices →
``tender``, 更正 → ``tenderAmendment``, 终止/废标 → ``tenderCancellation``, 中标/成交 → ``award``, 合同 → ``contract``);
采购人 → ``buyer``; 代理机构 → ``tender.procuringEntity``; budget (else ceiling) → ``tender.value`` in CNY; bid
deadline → ``tender.tenderPeriod.endDate``; items → ``items`` (``relatedLot`` from the lots extension); suppliers →
``awards[].suppliers``; lots → ``tender.lots`` / ``awards[].relatedLots``; the 采购方式 as written →
``procurementMethodDetails``. The release's ``ocid`` is the notice's process (``pipelines.storage.processes``).

A compiled release merges a process's releases oldest first with the OCDS merge rules (objects merge key by key,
arrays of objects with an ``id`` merge by id, other values are replaced by the newer release).

The writer streams: releases are produced process by process from one ordered query (without the clean text,
which OCDS does not carry), so memory holds one process at a time plus the query's Arrow batches.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from pipelines.national.notice_types import BY_CODE
from pipelines.storage.processes import normalize_buyer, ocid_for, termination_status

OCDS_VERSION = "1.1"
SHANGHAI = ZoneInfo("Asia/Shanghai")
LOTS_EXTENSION = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json"
)
PUBLISHER = {"name": "tenderwatch"}
_TENDER_STATUS = {
    "intent": "planned",
    "correction": "active",
    "award": "complete",
    "deal": "complete",
    "contract": "complete",
    "candidates": "complete",
}
_DOCUMENT_TYPES = {"award": "awardNotice", "contract": "contractNotice"}
_LOT_STATUS = {"awarded": "complete", "unsuccessful": "unsuccessful", "cancelled": "cancelled"}
_LOT_NUMBER = re.compile(r"[0-9A-Za-z]+|[一二三四五六七八九十]+")
_COLUMNS = (
    "source, notice_id, url, title, notice_type, procurement_method, procurement_method_zh, category, project_name, "
    "project_code, buyer, buyer_address, buyer_contact, agency, agency_address, agency_contact, suppliers, "
    "budget_cny, ceiling_cny, award_cny, tax_included, published_at, deadline_at, corrected_at, lots, items, "
    "attachments, fetched_at, first_seen_at, ocid"
)


# --- one notice → one release -----------------------------------------------------------------------------------


def release(notice: dict[str, Any]) -> dict[str, Any]:
    """The OCDS release for one notice row (as read from ``notices``)."""
    notice_type = BY_CODE.get(notice.get("notice_type") or "other", BY_CODE["other"])
    tag = notice_type.ocds_tag
    parties = _Parties()
    buyer = parties.add(notice.get("buyer"), "buyer", notice.get("buyer_address"), notice.get("buyer_contact"))
    agency = parties.add(
        notice.get("agency"), "procuringEntity", notice.get("agency_address"), notice.get("agency_contact")
    )
    document = _notice_document(notice, tag)
    released = {
        "ocid": notice.get("ocid") or ocid_for(f"notice\x1f{notice['source']}\x1f{notice['notice_id']}"),
        "id": f"{notice['source']}-{notice['notice_id']}",
        "date": _iso(notice.get("published_at") or notice.get("fetched_at") or notice.get("first_seen_at")),
        "tag": [tag],
        "initiationType": "tender",
        "language": "zh",
        "buyer": buyer,
        # The notice page documents the stage it announces: an award notice sits with the award, and so on.
        "tender": _tender(notice, notice_type.code, agency, None if tag in ("award", "contract") else document),
    }
    if tag in ("award", "contract"):
        awards = _awards(notice, parties, document if tag == "award" else None)
        released["awards"] = awards
        if tag == "contract":
            released["contracts"] = [_contract(notice, awards, document)]
    elif notice_type.code == "single_source":
        # The proposed sole supplier is named before the purchase: a tenderer, not yet an award.
        tenderers = [parties.add(s.get("name"), "tenderer", s.get("address")) for s in notice.get("suppliers") or []]
        released["tender"]["tenderers"] = [t for t in tenderers if t]
    released["parties"] = parties.all()
    return _prune(released)


def _tender(notice: dict, type_code: str, agency: dict | None, document: dict | None) -> dict[str, Any]:
    status = _TENDER_STATUS.get(type_code)
    if type_code == "termination":
        status = termination_status(notice.get("title"))
    elif status is None and BY_CODE[type_code].ocds_tag == "tender":
        status = "active"
    tender: dict[str, Any] = {
        "id": notice.get("project_code") or f"{notice['source']}-{notice['notice_id']}",
        "title": notice.get("project_name") or notice.get("title"),
        "status": status,
        "procuringEntity": agency,
        "value": _value(_first_known(notice.get("budget_cny"), notice.get("ceiling_cny"))),
        "tenderPeriod": {"endDate": _iso(notice.get("deadline_at"))},
        "procurementMethod": notice.get("procurement_method"),
        "procurementMethodDetails": notice.get("procurement_method_zh"),
        "mainProcurementCategory": notice.get("category")
        if notice.get("category") in ("goods", "services", "works")
        else None,
        "lots": [_lot(lot) for lot in notice.get("lots") or []],
        "documents": [document] if document else [],
    }
    if BY_CODE[type_code].ocds_tag in ("tender", "tenderAmendment", "tenderCancellation", "planning"):
        tender["items"] = _items(notice.get("items"), notice)
    if type_code == "correction":
        tender["amendments"] = [
            {
                "id": f"{notice['source']}-{notice['notice_id']}",
                "date": _iso(notice.get("corrected_at") or notice.get("published_at")),
                "description": notice.get("title"),
            }
        ]
    return tender


def _awards(notice: dict, parties: _Parties, document: dict | None) -> list[dict[str, Any]]:
    base = f"{notice['source']}-{notice['notice_id']}"
    suppliers = notice.get("suppliers") or []
    status = "pending" if notice.get("notice_type") == "candidates" else "active"
    lots = [lot for lot in notice.get("lots") or [] if lot.get("suppliers")]
    awards = []
    if len(lots) > 1:
        for lot in lots:
            lot_id = _lot_id(lot.get("number"))
            awards.append(
                {
                    "id": f"{base}-lot-{lot_id}",
                    "status": status,
                    "date": _iso(notice.get("published_at")),
                    "value": _value(lot.get("award_cny")),
                    "suppliers": [parties.add(name, "supplier") for name in lot["suppliers"]],
                    "relatedLots": [lot_id],
                    "items": [i for i in _items(notice.get("items"), notice) if i.get("relatedLot") == lot_id],
                }
            )
    else:
        lot_ids = [_lot_id(lot.get("number")) for lot in lots]
        awards.append(
            {
                "id": f"{base}-award",
                "status": status,
                "date": _iso(notice.get("published_at")),
                "value": _value(notice.get("award_cny")),
                "suppliers": [
                    parties.add(s.get("name"), "supplier", s.get("address"), identifier=s.get("credit_code"))
                    for s in suppliers
                ],
                "relatedLots": lot_ids,
                "items": _items(notice.get("items"), notice),
            }
        )
    if document:
        awards[0]["documents"] = [document]
    return awards


def _contract(notice: dict, awards: list[dict], document: dict) -> dict[str, Any]:
    return {
        "id": f"{notice['source']}-{notice['notice_id']}-contract",
        "awardID": awards[0]["id"],
        "title": notice.get("project_name") or notice.get("title"),
        "status": "active",
        "value": _value(notice.get("award_cny")),
        "items": _items(notice.get("items"), notice),
        "documents": [document],
    }


def _items(items: list[dict] | None, notice: dict) -> list[dict[str, Any]]:
    found = []
    for number, item in enumerate(items or [], start=1):
        unit = {"name": item.get("unit"), "value": _value(item.get("unit_price_cny"))}
        found.append(
            {
                "id": str(number),
                "description": " ".join(p for p in (item.get("name"), item.get("brand"), item.get("model")) if p),
                "quantity": item.get("quantity"),
                "unit": unit,
                "relatedLot": _lot_id(item.get("lot")) if item.get("lot") else None,
            }
        )
    return [_prune(item) for item in found]


def _lot(lot: dict) -> dict[str, Any]:
    return {
        "id": _lot_id(lot.get("number")),
        "title": lot.get("name"),
        "value": _value(lot.get("budget_cny")),
        "status": _LOT_STATUS.get(lot.get("status") or ""),
    }


def _lot_id(number: str | None) -> str:
    """``第1包`` and ``1`` are the same lot: its number (or letter) alone."""
    found = _LOT_NUMBER.search(number or "")
    return found.group(0) if found else (number or "1")


def _notice_document(notice: dict, tag: str) -> dict[str, Any]:
    return {
        "id": f"{notice['source']}-{notice['notice_id']}-notice",
        "documentType": _DOCUMENT_TYPES.get(tag, "tenderNotice"),
        "title": notice.get("title"),
        "url": notice.get("url"),
        "datePublished": _iso(notice.get("published_at")),
        "language": "zh",
        "format": "text/html",
    }


class _Parties:
    """Organizations of one release by id; one organization with several roles is one party."""

    def __init__(self):
        self._by_id: dict[str, dict[str, Any]] = {}

    def add(
        self, name: str | None, role: str, address: str | None = None, contact: str | None = None,
        identifier: str | None = None,
    ) -> dict[str, str] | None:  # fmt: skip
        if not name:
            return None
        party_id = "tw-org-" + hashlib.sha256(normalize_buyer(name).encode("utf-8")).hexdigest()[:12]
        party = self._by_id.setdefault(party_id, {"id": party_id, "name": name, "roles": []})
        if role not in party["roles"]:
            party["roles"].append(role)
        if address:
            party["address"] = {"streetAddress": address, "countryName": "China"}
        if contact:
            party["contactPoint"] = {"name": contact}
        if identifier:
            # 统一社会信用代码, the national registration number; the scheme code is the publisher's label.
            party["identifier"] = {"id": identifier, "legalName": name}
        return {"id": party_id, "name": name}

    def all(self) -> list[dict[str, Any]]:
        return list(self._by_id.values())


def _first_known(*amounts: Decimal | None) -> Decimal | None:
    return next((amount for amount in amounts if amount is not None), None)


def _value(amount: Decimal | float | None) -> dict[str, Any] | None:
    if amount is None:
        return None
    return {"amount": float(amount), "currency": "CNY"}


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(SHANGHAI).isoformat()


def _prune(value: Any) -> Any:
    """Drop None, empty objects and empty lists: OCDS omits what is not known."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [v for v in (_prune(v) for v in value) if v not in (None, {}, [])]
    return value


# --- compiling a process -----------------------------------------------------------------------------------------


def compile_releases(releases: list[dict[str, Any]]) -> dict[str, Any]:
    """The compiled release of one process: its releases merged oldest first."""
    ordered = sorted(releases, key=lambda r: (r.get("date") or "", r["id"]))
    compiled: dict[str, Any] = {}
    for item in ordered:
        _merge(compiled, {k: v for k, v in item.items() if k not in ("id", "date", "tag")})
    latest = ordered[-1]
    compiled["ocid"] = latest["ocid"]
    compiled["id"] = f"{latest['ocid']}-compiled-{latest['id']}"
    compiled["date"] = latest["date"]
    compiled["tag"] = ["compiled"]
    return compiled


def _merge(target: dict[str, Any], newer: dict[str, Any]) -> dict[str, Any]:
    for key, value in newer.items():
        if isinstance(value, dict):
            current = target.get(key)
            target[key] = _merge(dict(current) if isinstance(current, dict) else {}, value)
        elif isinstance(value, list) and value and all(isinstance(v, dict) and "id" in v for v in value):
            merged = {v["id"]: v for v in target.get(key) or [] if isinstance(v, dict) and "id" in v}
            for entry in value:
                merged[entry["id"]] = _merge(dict(merged.get(entry["id"], {})), entry)
            target[key] = list(merged.values())
        else:
            target[key] = value
    return target


# --- writing the package ------------------------------------------------------------------------------------------


@dataclass
class ExportSummary:
    releases: int
    records: int
    releases_path: Path
    records_path: Path


def records_path_for(out: Path) -> Path:
    """``out.json`` → ``out.records.json``: the record package written next to the release package."""
    return out.with_name(f"{out.name.removesuffix('.json')}.records.json")


def export(con: duckdb.DuckDBPyConnection, out: Path, since: date | None = None) -> ExportSummary:
    """Write the release package to ``out`` and the record package next to it; both appear whole or not at all.

    With ``since``, releases are the notices published on or after that day (Asia/Shanghai), and records are the
    processes those notices belong to, compiled from every notice of the process.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    records_out = records_path_for(out)
    stamp = datetime.now(UTC).astimezone(SHANGHAI).isoformat(timespec="seconds")
    header = {"version": OCDS_VERSION, "publishedDate": stamp, "publisher": PUBLISHER, "extensions": [LOTS_EXTENSION]}
    tmp_releases = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    tmp_records = records_out.with_name(f".{records_out.name}.{uuid.uuid4().hex}.tmp")
    counts = [0, 0]
    try:
        with (
            tmp_releases.open("w", encoding="utf-8") as releases_file,
            tmp_records.open("w", encoding="utf-8") as records_file,
        ):
            releases_sink = _JsonArrayWriter(releases_file, header, "releases")
            records_sink = _JsonArrayWriter(records_file, header, "records")
            for process in _processes(con, since):
                releases = [release(notice) for notice in process]
                for notice, item in zip(process, releases, strict=True):
                    if notice["in_window"]:
                        releases_sink.write(item)
                        counts[0] += 1
                records_sink.write(
                    {
                        "ocid": releases[0]["ocid"],
                        "releases": [
                            {"url": f"{out.name}#{r['id']}", "date": r["date"], "tag": r["tag"]}
                            for r, notice in zip(releases, process, strict=True)
                            if notice["in_window"]
                        ],
                        "compiledRelease": compile_releases(releases),
                    }
                )
                counts[1] += 1
            releases_sink.close()
            records_sink.close()
        os.replace(tmp_releases, out)
        os.replace(tmp_records, records_out)
    finally:
        for tmp in (tmp_releases, tmp_records):
            tmp.unlink(missing_ok=True)
    return ExportSummary(counts[0], counts[1], out, records_out)


def _processes(con: duckdb.DuckDBPyConnection, since: date | None) -> Iterator[list[dict[str, Any]]]:
    """Notices grouped by process (ocid; a notice without one is its own), each group oldest first."""
    start = datetime.combine(since, time.min, SHANGHAI) if since else None
    reader = con.sql(
        f"""
        WITH keyed AS (
            SELECT {_COLUMNS}, coalesce(ocid, source || chr(31) || notice_id) AS process_key,
                   ($start IS NULL OR published_at >= $start) AS in_window
            FROM notices
        )
        SELECT * FROM keyed
        WHERE process_key IN (SELECT process_key FROM keyed WHERE in_window)
        ORDER BY process_key, published_at NULLS LAST, source, notice_id
        """,
        params={"start": start},
    ).to_arrow_reader(2000)
    group: list[dict[str, Any]] = []
    for batch in reader:
        for row in batch.to_pylist():
            if group and group[0]["process_key"] != row["process_key"]:
                yield group
                group = []
            group.append(row)
    if group:
        yield group


class _JsonArrayWriter:
    """Writes ``{header…, "<key>": [item, item, …]}`` one item at a time."""

    def __init__(self, stream, header: dict[str, Any], key: str):
        self.stream = stream
        self.first = True
        opening = json.dumps(header, ensure_ascii=False)[:-1]
        stream.write(f'{opening}, "{key}": [\n')

    def write(self, item: dict[str, Any]) -> None:
        self.stream.write(("" if self.first else ",\n") + json.dumps(item, ensure_ascii=False))
        self.first = False

    def close(self) -> None:
        self.stream.write("\n]}\n")
