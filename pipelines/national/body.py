"""The national (MOF 2020) notice body: fields every portal's notices share, whatever markup carries them.

``parse_body`` reads a body element of any of the templates seen on ccgp (STRUCTURE.md §1.3):

1. plain ``<p><strong>一、…</strong></p>`` sections;
2. an embedded whole HTML document with ``div.segement``/``div.line`` and ``table#projectBundleList`` (Tianjin);
3. ``div#noticeArea`` with ``_notice_content_*`` ids (Heilongjiang);
4. ``samp.bookmark-item`` code cells and ``td.code-*`` table cells (Liaoning, Guizhou);
5. per-lot panels with ``包号：N`` lines (Chongqing).

Structured markup is read first (tables by their header row, ids, bookmark codes); the clean text then goes
through ``parse_text``, the label/value reader that works on any notice written in the national wording (also
plain-text notices from other portals), and fills what the markup did not give.

Both return a ``dict`` with the keys of ``EMPTY_FIELDS`` (``pipelines.national.labels``). Amounts are
``pipelines.national.amounts.Amount`` (the caller splits them into ``*_cny``/``*_raw``); times are aware datetimes.
Lot numbers are strings (``"3"``, ``"A"``; Chinese numerals become digits). A lot's ``status`` is ``unsuccessful``
(废标/流标/失败), ``cancelled`` (终止) or None here; ``pipelines.ingest.normalize`` marks lots with suppliers on award,
deal and contract notices ``awarded``.
Bidder ranking tables (排序, 评审报价, 投标供应商) are not awards and are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import lxml.etree

from pipelines.national.amounts import Amount, parse_amount, parse_date_range, parse_datetime
from pipelines.national.labels import (
    _AGENCY_ADDRESS_LABELS,
    _AGENCY_CONTACT_LABELS,
    _AGENCY_LABELS,
    _AWARD_PREFIXES,
    _AWARD_RATE_LABELS,
    _BUDGET_PREFIXES,
    _BUYER_ADDRESS_LABELS,
    _BUYER_CONTACT_LABELS,
    _BUYER_LABELS,
    _CEILING_PREFIXES,
    _CLAUSE_END,
    _CODE_IN_TEXT,
    _CORRECTED_LABELS,
    _CREDIT_CODE_LABELS,
    _DOWNLOAD_HREF,
    _ENUMERATOR,
    _FILE_NAME,
    _FIRST_PUBLISHED_LABELS,
    _ITEM_NAME_LABELS,
    _LABEL_LINE,
    _LABEL_NOISE,
    _LOT_AMOUNT,
    _LOT_HEADING,
    _LOT_MENTION,
    _LOT_STATUS_WORDS,
    _METHOD_IN_TEXT,
    _METHOD_LABELS,
    _METHOD_WORDS,
    _MULTI_VALUE,
    _NEXT_LABEL,
    _OPENING_LABELS,
    _PAIR_LABELS,
    _PLACEHOLDER_VALUE,
    _PROJECT_CODE_LABELS,
    _PROJECT_NAME_LABELS,
    _SUPPLIER_ADDRESS_LABELS,
    _SUPPLIER_LABELS,
    _TOP_HEADING,
    _apply_title_lot,
    _canonical_label,
    _clean_code,
    _empty,
    _item,
    _label_without_unit,
    _lot,
    _lot_number,
    _lot_numbers,
    _name,
    _quantity,
    _supplier,
    _suppliers_total,
    _total,
    _unit_from_price_header,
    category_code,
    clean_lines,
    logical_lines,
    merge_lots,
)
from pipelines.national.page_text import as_element, cell_text, clean_line, clean_text, row_cells, table_rows

# --- the text parser -------------------------------------------------------------------------------------


@dataclass
class _Reader:
    """State of one pass over a notice's lines: which party, lot and time a bare label refers to."""

    fields: dict[str, Any] = field(default_factory=lambda: _empty())
    party: str | None = None  # buyer | agency | project | supplier
    time_context: str | None = None  # deadline | opening | documents
    in_items: bool = False
    lot: str | None = None
    supplier: dict[str, Any] | None = None
    item: dict[str, Any] | None = None
    documents_end: datetime | None = None
    award_amounts: list[Amount] = field(default_factory=list)
    lot_budgets: dict[str, Amount | None] = field(default_factory=dict)
    lot_statuses: dict[str, str] = field(default_factory=dict)
    # Parties of a two-column contact block (招标人：X 招标代理机构：Y), left to right, while it lasts.
    columns: tuple[str, ...] = ()

    def set(self, key: str, value: Any) -> None:
        if self.fields.get(key) in (None, "", []) and value not in (None, ""):
            self.fields[key] = value


def parse_text(text: str | None, *, title: str | None = None) -> dict[str, Any]:
    """Fields from the plain text of a notice in the national wording (label：value lines, numbered sections)."""
    reader = _Reader()
    lines = clean_lines(text or "")
    for line in logical_lines(lines):
        _read_line(reader, line)
    _close_item(reader)
    fields = reader.fields
    fields["text"] = "\n".join(lines)
    if title:
        _note_lot_status(reader, title)
    _finish_lots(reader, title)
    _finish_award(reader)
    if fields["budget"] is None and reader.lot_budgets:
        fields["budget"] = _total(list(reader.lot_budgets.values()))
    if fields["project_code"] is None:
        found = _CODE_IN_TEXT.search(fields["text"]) or _CODE_IN_TEXT.search(title or "")
        if found:
            fields["project_code"] = _clean_code(found["code"])
    if fields["procurement_method_zh"] is None:
        found = _METHOD_IN_TEXT.search(fields["text"])
        if found:
            fields["procurement_method_zh"] = found["method"]
    # The end of the document sale is the last word on timing when no bid deadline is written.
    reader.set("deadline_at", reader.documents_end)
    return fields


def _read_line(reader: _Reader, line: str) -> None:
    if _TOP_HEADING.match(line):
        _close_item(reader)
        reader.in_items = False
        reader.supplier = None
    lot = _LOT_HEADING.match(_ENUMERATOR.sub("", line))
    if lot:
        reader.lot = _lot_number(lot["n1"] or lot["n2"])
        reader.supplier = None
        return
    _note_lot_status(reader, line)
    if " | " in line:
        _read_table_line(reader, line)
        return
    if reader.columns and _read_column_pairs(reader, line):
        return
    segments = _split_known_pairs(line)
    if len(segments) > 1:
        parties = []
        for segment in segments:
            _read_label_line(reader, segment)
            parties.append(reader.party)
        if len(parties) != 2:
            reader.columns = ()
        elif set(parties) == {"buyer", "agency"}:
            reader.columns = tuple(parties)
        return
    reader.columns = ()
    _read_label_line(reader, line)


# Labels of a field of whichever party the block is about (名称：X 地址：Y under 采购人信息).
_PARTY_FIELD_LABELS = frozenset({"名称", "单位名称", "地址", "详细地址", "单位地址", "联系方式", "联系电话", "电话"})
# A later label on the same line, as two-column contact blocks print them: 招标人：X 招标代理机构：Y.
_INLINE_LABEL = re.compile(r"\s+(?=(?P<label>[^\s：:|]{2,14})\s*[：:])")


# Two pairs under one generic label, one per column: 电话：X 电话：Y / 联系人：A 联系人：B.
_COLUMN_PAIR = re.compile(r"^(?P<label>[^：:\s]{1,8})\s*[：:]\s*(?P<left>\S+)\s+(?P=label)\s*[：:]\s*(?P<right>\S.*)$")


def _read_column_pairs(reader: _Reader, line: str) -> bool:
    """In a two-column block a repeated generic label holds the left party's value, then the right one's."""
    found = _COLUMN_PAIR.match(line)
    if not found:
        return False
    label = _canonical_label(found["label"])
    for party, value in zip(reader.columns, (found["left"], found["right"]), strict=True):
        reader.party = party
        _read_pair(reader, label, value, value)
    return True


def _split_known_pairs(line: str) -> list[str]:
    """A line holding several ``label：value`` pairs whose labels are known, cut into one pair each."""
    cuts = [
        m.start()
        for m in _INLINE_LABEL.finditer(line)
        if _is_known_label(label := _canonical_label(m["label"])) or label in _PARTY_FIELD_LABELS
    ]
    if not cuts or not _LABEL_LINE.match(line):
        return [line]
    bounds = [0, *cuts, len(line)]
    return [line[start:end].strip() for start, end in zip(bounds, bounds[1:], strict=False)]


def _read_label_line(reader: _Reader, line: str) -> None:
    found = _LABEL_LINE.match(line)
    if not found:
        if len(line) <= _MAX_HEADING:
            _read_heading(reader, _canonical_label(line))
        return
    label = _canonical_label(found["label"])
    full_value = clean_line(found["value"])
    value = _NEXT_LABEL.split(full_value)[0].strip()
    if not value:
        _read_heading(reader, label)
        return
    _read_pair(reader, label, value, full_value)


def _read_table_line(reader: _Reader, line: str) -> None:
    """A key-value table printed as ``项目编号 | X | 预算金额 | Y``: read the pairs whose key is a known label."""
    cells = line.split(" | ")
    if len(cells) % 2 or len(cells) > 6:
        return
    for label, value in zip(cells[::2], cells[1::2], strict=True):
        label = _canonical_label(label)
        if not value or not _is_known_label(label) or _is_known_label(_canonical_label(value)):
            continue
        if _needs_figure(label) and not _DIGIT.search(value):
            continue  # a header row (中标金额(万元) | 评审得分), not a key and its value
        _read_pair(reader, label, value, value)


_DIGIT = re.compile(r"\d")


def _needs_figure(label: str) -> bool:
    bare = _label_without_unit(label)
    return bare.startswith(_AWARD_PREFIXES + _CEILING_PREFIXES + _BUDGET_PREFIXES) or _is_deadline_label(bare)


def _is_known_label(label: str) -> bool:
    bare = _label_without_unit(label)
    return (
        any(bare in labels for labels in _PAIR_LABELS)
        or bare.startswith(_AWARD_PREFIXES + _CEILING_PREFIXES + _BUDGET_PREFIXES)
        or _is_deadline_label(bare)
    )


# Headings are short; a longer line without a label is prose and must not move the reader's context.
_MAX_HEADING = 30


def _read_heading(reader: _Reader, heading: str) -> None:
    reader.party = None
    reader.time_context = None
    if "主要标的" in heading or heading in ("标的信息", "采购标的"):
        reader.in_items = True
        return
    if "代理机构" in heading and ("信息" in heading or "联系" in heading):
        reader.party = "agency"
    elif ("采购人" in heading or "采购单位" in heading or "招标人" in heading) and (
        "信息" in heading or "联系" in heading
    ):
        reader.party = "buyer"
    elif "项目联系" in heading:
        reader.party = "project"
    elif "供应商" in heading and any(w in heading for w in ("拟定", "信息", "名称")) and "投标" not in heading:
        reader.party = "supplier"  # 拟定的唯一供应商名称、地址 (single source), 中标供应商信息
    if ("递交" in heading or "提交" in heading or "截止" in heading) and (
        "响应" in heading or "投标" in heading or "文件" in heading
    ):
        reader.time_context = "deadline"
    elif "开标" in heading or "开启" in heading:
        reader.time_context = "opening"
    elif "获取" in heading or "发售" in heading or "领取" in heading:
        reader.time_context = "documents"


def _read_pair(reader: _Reader, label: str, value: str, full_value: str) -> None:
    bare = _label_without_unit(label)
    if reader.in_items and _read_item_pair(reader, label, bare, value):
        return
    if bare in _PROJECT_CODE_LABELS:
        reader.set("project_code", _clean_code(value))
    elif bare in _PROJECT_NAME_LABELS:
        reader.set("project_name", value)
    elif bare in _METHOD_LABELS:
        found = _METHOD_WORDS.search(value)
        reader.set("procurement_method_zh", found.group(0) if found else value)
    elif bare in _BUYER_LABELS:
        reader.party = "buyer"
        reader.set("buyer", _name(value))
    elif bare in _BUYER_ADDRESS_LABELS:
        reader.set("buyer_address", value)
    elif bare in _BUYER_CONTACT_LABELS:
        reader.set("buyer_contact", value)
    elif bare in _AGENCY_LABELS:
        reader.party = "agency"
        reader.set("agency", _name(value))
    elif bare in _AGENCY_ADDRESS_LABELS:
        reader.set("agency_address", value)
    elif bare in _AGENCY_CONTACT_LABELS:
        reader.set("agency_contact", value)
    elif bare in _SUPPLIER_LABELS:
        _start_supplier(reader, value)
        reader.party = "supplier"  # a bare 地址 right after it is the supplier's (合同公告 乙方)
    elif bare in _SUPPLIER_ADDRESS_LABELS and reader.supplier is not None:
        reader.supplier["address"] = reader.supplier["address"] or value
    elif bare in _CREDIT_CODE_LABELS and reader.supplier is not None:
        reader.supplier["credit_code"] = reader.supplier["credit_code"] or value
    elif bare.startswith(_AWARD_PREFIXES) or bare in _AWARD_RATE_LABELS:
        _read_award(reader, full_value, label)
    elif bare.startswith(_CEILING_PREFIXES):
        _read_lot_amounts(reader, full_value, label, "ceiling")
    elif (bare.startswith(_BUDGET_PREFIXES) or bare.endswith("预算金额")) and "代理" not in bare:
        _read_lot_amounts(reader, full_value, label, "budget")
    elif bare in _FIRST_PUBLISHED_LABELS:
        reader.set("first_published_at", parse_datetime(value))
    elif bare in _CORRECTED_LABELS:
        reader.set("corrected_at", parse_datetime(value))
    elif _is_deadline_label(bare):
        reader.set("deadline_at", parse_datetime(value))
        if "开标" in bare or "开启" in bare:
            reader.set("opening_at", parse_datetime(value))
    elif bare in _OPENING_LABELS:
        reader.set("opening_at", parse_datetime(value))
    elif bare in ("时间", "日期", "截止时间", "截止日期") or bare.endswith("文件时间"):
        # A bare 截止时间 takes its meaning from the section heading (提交投标文件截止时间、开标时间和地点).
        _read_time(reader, bare, value)
    elif bare in ("名称", "单位名称"):
        _read_party_name(reader, value)
    elif bare in ("地址", "详细地址", "单位地址"):
        _read_party_field(reader, "address", value)
    elif bare in ("联系方式", "联系方法", "联系电话", "电话"):
        _read_party_field(reader, "contact", value)


def _read_time(reader: _Reader, label: str, value: str) -> None:
    context = reader.time_context
    if label.endswith("文件时间") and ("获取" in label or "发售" in label):
        context = "documents"
    if context == "deadline":
        reader.set("deadline_at", parse_datetime(value))
    elif context == "opening":
        reader.set("opening_at", parse_datetime(value))
    elif context == "documents":
        period = parse_date_range(value)
        if period and period[1] and reader.documents_end is None:
            reader.documents_end = period[1]


def _is_deadline_label(label: str) -> bool:
    if "截止" not in label or any(word in label for word in ("获取", "发售", "质疑", "报名", "领取")):
        return False
    return any(word in label for word in ("投标", "响应", "递交", "提交", "报价", "申请", "磋商", "谈判"))


def _read_party_name(reader: _Reader, value: str) -> None:
    if reader.party == "buyer":
        reader.set("buyer", _name(value))
    elif reader.party == "agency":
        reader.set("agency", _name(value))
    elif reader.party == "supplier":
        _start_supplier(reader, value)


def _read_party_field(reader: _Reader, which: str, value: str) -> None:
    if reader.party in ("buyer", "agency"):
        reader.set(f"{reader.party}_{which}", value)
    elif reader.party == "supplier" and reader.supplier is not None and which == "address":
        reader.supplier["address"] = reader.supplier["address"] or value


def _start_supplier(reader: _Reader, value: str) -> None:
    name = _name(value)
    if not name:
        return
    reader.supplier = _supplier(name, lot=reader.lot)
    reader.fields["suppliers"].append(reader.supplier)


def _read_award(reader: _Reader, value: str, label: str) -> None:
    amount = parse_amount(value, unit_hint=label)
    if amount is None:
        return
    reader.award_amounts.append(amount)
    if reader.supplier is not None and reader.supplier["amount_raw"] is None:
        reader.supplier["amount_cny"] = amount.value_cny
        reader.supplier["amount_raw"] = amount.raw


def _read_lot_amounts(reader: _Reader, value: str, label: str, key: str) -> None:
    """``预算金额：147万元，其中第1包: 28万元；第2包: 35万元`` → a total plus one amount per lot."""
    per_lot: dict[str, Amount | None] = {}
    for found in _LOT_AMOUNT.finditer(value):
        amount = parse_amount(found["amount"], unit_hint=label)
        for number in _lot_numbers(found["numbers"]):
            per_lot[number] = amount
    if not per_lot:
        total = parse_amount(value, unit_hint=label)
        if reader.lot is not None and key == "budget":
            # Per-lot panels (包号：N … 预算金额：X): the notice budget is their sum, made at the end.
            if total is not None:
                reader.lot_budgets.setdefault(reader.lot, total)
            return
        reader.set(key, total)
        return
    if key == "budget":
        for number, amount in per_lot.items():
            reader.lot_budgets.setdefault(number, amount)
    head = value.split("第", 1)[0]
    stated = parse_amount(head, unit_hint=label) if head.strip(" ，,：:") else None
    if stated is not None and stated.value_cny is not None:
        reader.set(key, Amount(stated.value_cny, value, stated.tax_included))
    else:
        reader.set(key, _total(list(per_lot.values()), raw=value))


def _read_item_pair(reader: _Reader, label: str, bare: str, value: str) -> bool:
    if bare in _ITEM_NAME_LABELS:
        _close_item(reader)
        reader.item = _item(name=value, lot=reader.lot)
        return True
    if reader.item is None:
        return False
    if "品牌" in bare:
        reader.item["brand"] = value
    elif "型号" in bare or bare == "规格":
        reader.item["model"] = value
    elif "数量" in bare:
        reader.item["quantity"], reader.item["unit"] = _quantity(value, reader.item["unit"])
    elif "单价" in bare:
        price = parse_amount(value, unit_hint=label)
        if price is not None:
            reader.item["unit_price_cny"], reader.item["unit_price_raw"] = price.value_cny, price.raw
    elif bare in ("单位", "计量单位"):
        reader.item["unit"] = value
    else:
        return bare.startswith(("服务", "施工", "工期", "项目经理"))
    return True


def _close_item(reader: _Reader) -> None:
    if reader.item is not None and reader.item["name"] and not _PLACEHOLDER_VALUE.match(reader.item["name"]):
        reader.fields["items"].append(reader.item)
    reader.item = None


def _note_lot_status(reader: _Reader, line: str) -> None:
    """``第14包：…不足3家，本包废标。`` or a title ``第14包、第16包废标公告``: the lots a clause fails or ends."""
    for clause in _CLAUSE_END.split(line):
        status = next((status for word, status in _LOT_STATUS_WORDS if word in clause), None)
        if status is None:
            continue
        for found in _LOT_MENTION.finditer(clause):
            for number in _lot_numbers(found["numbers"]):
                reader.lot_statuses.setdefault(number, status)
        if reader.lot is not None and ("本包" in clause or "该包" in clause or "本标段" in clause):
            reader.lot_statuses.setdefault(reader.lot, status)


def _finish_lots(reader: _Reader, title: str | None) -> None:
    fields = reader.fields
    _apply_title_lot(fields, title)
    lots: dict[str, dict[str, Any]] = {}
    for number, amount in reader.lot_budgets.items():
        _lot(lots, number)["budget_cny"] = amount.value_cny if amount else None
    for supplier in fields["suppliers"]:
        if supplier["lot"]:
            lot = _lot(lots, supplier["lot"])
            lot["suppliers"].append(supplier["name"])
            if supplier["amount_cny"] is not None:
                lot["award_cny"] = (lot["award_cny"] or Decimal(0)) + supplier["amount_cny"]
    for number, status in reader.lot_statuses.items():
        _lot(lots, number)["status"] = status
    fields["lots"] = merge_lots(fields["lots"], list(lots.values()))


def _finish_award(reader: _Reader) -> None:
    fields = reader.fields
    if fields["award"] is not None:
        return
    if sum(s["amount_cny"] is not None for s in fields["suppliers"]) > 1:
        fields["award"] = _suppliers_total(fields["suppliers"])
    elif reader.award_amounts:
        fields["award"] = next((a for a in reader.award_amounts if a.value_cny is not None), reader.award_amounts[0])


# --- structured markup -----------------------------------------------------------------------------------

# _notice_content_<group>-<field> ids of the provincial e-procurement template (Heilongjiang) → our fields.
_NOTICE_AREA_FIELDS = {
    "purchaserOrgName": "buyer",
    "purchaserOrgAddress": "buyer_address",
    "purchaserLinkTel": "buyer_contact",
    "agencyName": "agency",
    "agentAddress": "agency_address",
    "agentLinkTel": "agency_contact",
}
# samp.bookmark-item code cells (Liaoning/Guizhou template) → our fields.
_BOOKMARK_FIELDS = {
    lxml.etree.XPath(f".//samp[contains(concat(' ', normalize-space(@class), ' '), ' {code} ')]"): key
    for code, key in (("code-00004", "project_code"), ("code-00003", "project_name"))
}
_NOTICE_AREA_ELEMENTS = lxml.etree.XPath(".//*[starts-with(@id, '_notice_content_')]")
_LINKS = lxml.etree.XPath(".//a")


def parse_body(body: Any, *, title: str | None = None) -> dict[str, Any]:
    """Fields from a notice body (HTML string, Selector or lxml element) in any of the module's templates."""
    root = as_element(body)
    if root is None:
        return _empty()
    structured = _empty()
    _read_notice_area(root, structured)
    _read_bookmarks(root, structured)
    tables = _TableReader()
    tables.read(root)
    structured["suppliers"] = tables.suppliers
    structured["items"] = tables.items
    structured["lots"] = tables.lots()
    structured["category"] = tables.category
    structured["attachments"] = _attachments(root)
    from_text = parse_text(clean_text(root), title=title)  # its "text" is the body's clean text
    merged = merge_fields(structured, from_text)
    merged["suppliers"] = merge_suppliers(tables.suppliers, from_text["suppliers"])
    merged["items"] = tables.items or from_text["items"]
    _apply_title_lot(merged, title)
    if merged["budget"] is None and tables.row_budgets:
        merged["budget"] = _total(list(tables.row_budgets.values()))
    merged["lots"] = merge_lots(structured["lots"], from_text["lots"])
    merged["award"] = merged["award"] or _suppliers_total(merged["suppliers"])
    return merged


def merge_fields(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Scalar fields from ``first`` where it has them, else from ``second``; lists are left to the caller."""
    merged = dict(first)
    for key, value in second.items():
        if merged.get(key) in (None, "", []):
            merged[key] = value
    return merged


def merge_suppliers(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged = [dict(s) for s in first]
    by_name = {s["name"]: s for s in merged}
    for supplier in second:
        known = by_name.get(supplier["name"])
        if known is None:
            merged.append(dict(supplier))
            by_name[supplier["name"]] = merged[-1]
            continue
        for key, value in supplier.items():
            if known.get(key) is None:
                known[key] = value
    return merged


def _read_notice_area(root: Any, fields: dict[str, Any]) -> None:
    for element in _NOTICE_AREA_ELEMENTS(root):
        name = element.get("id").removeprefix("_notice_content_").split("-")[-1]
        key = _NOTICE_AREA_FIELDS.get(name)
        value = cell_text(element)
        if key and value and fields[key] is None:
            fields[key] = value


def _read_bookmarks(root: Any, fields: dict[str, Any]) -> None:
    for elements, key in _BOOKMARK_FIELDS.items():
        for element in elements(root):
            value = cell_text(element)
            if value and fields[key] is None:
                fields[key] = _clean_code(value) if key == "project_code" else value


def _attachments(root: Any) -> list[dict[str, str | None]]:
    found: list[dict[str, str | None]] = []
    seen: set[tuple[str, str | None]] = set()
    for link in _LINKS(root):
        name = cell_text(link)
        href = (link.get("href") or "").strip() or None
        if href and href.lower().startswith(("javascript:", "#", "mailto:")):
            href = None
        if not name or not (_FILE_NAME.search(name) or (href and _DOWNLOAD_HREF.search(href))):
            continue
        if (name, href) not in seen:
            seen.add((name, href))
            found.append({"name": name, "url": href})
    return found


@dataclass
class _Column:
    role: str
    header: str


class _TableReader:
    """Reads the data tables of a body in document order, remembering the lot heading (第1包) above each."""

    def __init__(self) -> None:
        self.suppliers: list[dict[str, Any]] = []
        self.items: list[dict[str, Any]] = []
        self.category: str | None = None
        # (lot, name) → budget of one row of a table with a budget column (采购意向 rows, 采购内容 tables).
        self.row_budgets: dict[tuple[str | None, str], Amount] = {}
        self._lots: dict[str, dict[str, Any]] = {}
        self._lot: str | None = None

    def lots(self) -> list[dict[str, Any]]:
        return merge_lots([], list(self._lots.values()))

    def read(self, root: Any) -> None:
        for kind, value in _walk(root):
            if kind == "text":
                found = _LOT_HEADING.match(_ENUMERATOR.sub("", clean_line(value)))
                if found:
                    self._lot = _lot_number(found["n1"] or found["n2"])
            else:
                self._table(value)

    def _table(self, table: Any) -> None:
        rows = [row_cells(row) for row in table_rows(table)]
        rows = [cells for cells in rows if cells]
        header_index = next((i for i, cells in enumerate(rows) if _header_roles(cells)), None)
        if header_index is None:
            self._bookmark_rows(rows)
            return
        columns = _header_roles(rows[header_index])
        roles = {c.role for c in columns}
        body = rows[header_index + 1 :]
        if "ranking" in roles:
            return  # every bidder's price, not the award
        if "supplier" in roles and "award" in roles:
            for cells in body:
                self._supplier_row(columns, cells)
        elif "name" in roles and roles & _ITEM_DETAIL_ROLES:
            # A table of projects and their budgets (采购意向) names no purchased item.
            with_items = bool(roles & (_ITEM_DETAIL_ROLES - {"budget"}))
            for cells in body:
                self._item_rows(columns, cells, with_items)

    def _bookmark_rows(self, rows: list[list[Any]]) -> None:
        """Bookmark-template tables mark their data cells (``td.code-winningSupplierName``), not the header."""
        for cells in rows:
            columns = [_Column(_column_role("", cell), "") for cell in cells]
            if any(c.role == "supplier" for c in columns):
                self._supplier_row(columns, cells)

    def _supplier_row(self, columns: list[_Column], cells: list[Any]) -> None:
        values = _row_values(columns, cells)
        name = _name(values.get("supplier", ""))
        if not name:
            return
        lot = _lot_number(values["lot"]) if values.get("lot") else self._lot
        supplier = _supplier(name, lot=lot)
        supplier["address"] = values.get("address") or None
        supplier["credit_code"] = values.get("credit_code") or None
        if values.get("award"):
            amount = parse_amount(values["award"], unit_hint=_header(columns, "award"))
            if amount is not None:
                supplier["amount_cny"], supplier["amount_raw"] = amount.value_cny, amount.raw
        self.suppliers.append(supplier)
        if lot:
            entry = _lot(self._lots, lot)
            entry["suppliers"].append(name)
            if supplier["amount_cny"] is not None:
                entry["award_cny"] = (entry["award_cny"] or Decimal(0)) + supplier["amount_cny"]

    def _item_rows(self, columns: list[_Column], cells: list[Any], with_items: bool = True) -> None:
        values = _row_values(columns, cells)
        if not values.get("name") or _PLACEHOLDER_VALUE.match(values["name"]):
            return
        lot = _lot_number(values["lot"]) if values.get("lot") else self._lot
        budget = parse_amount(values.get("budget"), unit_hint=_header(columns, "budget"))
        if budget is not None:
            self.row_budgets.setdefault((lot, values["name"]), budget)
            if lot:
                entry = _lot(self._lots, lot)
                entry["name"] = entry["name"] or values["name"]
                if entry["budget_cny"] is None:
                    entry["budget_cny"] = budget.value_cny
        if not with_items:
            return
        self.category = self.category or category_code(values.get("type")) or _category_from_roles(columns)
        for parts in _split_multi_values(values):
            item = _item(name=parts["name"], lot=lot)
            item["brand"] = parts.get("brand") or None
            item["model"] = parts.get("model") or None
            if parts.get("quantity"):
                item["quantity"], item["unit"] = _quantity(parts["quantity"], parts.get("unit") or None)
            item["unit"] = item["unit"] or parts.get("unit") or _unit_from_price_header(_header(columns, "unit_price"))
            if parts.get("unit_price"):
                price = parse_amount(parts["unit_price"], unit_hint=_header(columns, "unit_price"))
                if price is not None:
                    item["unit_price_cny"], item["unit_price_raw"] = price.value_cny, price.raw
            if item not in self.items:  # the same table is often printed twice (采购内容 and 补充事宜)
                self.items.append(item)


def _walk(root: Any) -> Iterator[tuple[str, Any]]:
    """Text runs and data tables in document order; layout tables are walked through, not yielded."""
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        element, tail_only = stack.pop()
        if tail_only:
            if element.tail and element.tail.strip():
                yield "text", element.tail
            continue
        tag = element.tag.lower() if isinstance(element.tag, str) else None
        if tag in ("script", "style", "title", "head"):
            stack.append((element, True))
            continue
        if tag == "table" and _is_data_table(element):
            yield "table", element
            stack.append((element, True))
            continue
        if tag and element.text and element.text.strip():
            yield "text", element.text
        stack.append((element, True))
        stack.extend((child, False) for child in reversed(list(element)) if child is not None)


def _is_data_table(table: Any) -> bool:
    rows = table_rows(table)
    cells = [cell for row in rows for cell in row_cells(row)]
    if any(cell.find(".//table") is not None for cell in cells):
        return False
    # One row is a layout box, unless it is a bookmark-template row marked by its cells' classes.
    return len(rows) >= 2 or any((cell.get("class") or "").startswith("code-") for cell in cells)


def _header_roles(cells: list[Any]) -> list[_Column]:
    columns = [_Column(_column_role(cell_text(cell), cell), cell_text(cell)) for cell in cells]
    roles = {c.role for c in columns}
    if any(cell.get("class", "").startswith("code-") for cell in cells):
        return []  # bookmark-template data cells, not a header
    if ("supplier" in roles and "award" in roles) or ("name" in roles and roles & _ITEM_DETAIL_ROLES):
        return columns
    if "ranking" in roles and "supplier" in roles:
        return columns
    return []


_ITEM_DETAIL_ROLES = frozenset({"brand", "model", "quantity", "unit_price", "scope", "budget", "type"})


def _column_role(header: str, cell: Any) -> str:
    classes = cell.get("class") or ""
    if "code-winningSupplierName" in classes:
        return "supplier"
    if "code-summaryPrice" in classes:
        return "award"
    text = _LABEL_NOISE.sub("", header).replace("（", "(").replace("）", ")")
    if not text or len(text) > 20:
        return "other"
    if text in ("包号", "包组", "标段", "包", "分包", "标包", "包件号", "采购包", "包段"):
        return "lot"
    if text in ("排序", "排名", "名次") or "评审报价" in text or "投标报价" in text or text.startswith("投标供应商"):
        return "ranking"
    if text in ("序号",):
        return "index"
    if "信用代码" in text:
        return "credit_code"
    if "供应商" in text or text in ("中标人", "中标单位", "成交单位", "中标人名称"):
        return "address" if "地址" in text else "supplier"
    if ("中标" in text or "成交" in text) and ("金额" in text or "价" in text):
        return "award"
    if "地址" in text:
        return "address"
    if text in ("类型", "标的类型", "品目类型"):
        return "type"
    if "品牌" in text:
        return "brand"
    if "型号" in text or text in ("规格", "规格参数"):
        return "model"
    if "数量" in text:
        return "quantity"
    if text in ("单位", "计量单位"):
        return "unit"
    if "单价" in text:
        return "unit_price"
    if "预算" in text or "最高限价" in text:
        return "budget"
    if text.startswith(("服务范围", "服务要求", "服务时间", "服务标准", "施工范围", "施工工期")):
        return "scope"
    if text in _ITEM_NAME_LABELS or text in (
        "标的名称", "品目名称", "采购标的", "货物/服务名称", "货物(服务)名称", "采购项目名称", "项目名称"
    ):  # fmt: skip
        return "name"
    return "other"


def _row_values(columns: list[_Column], cells: list[Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for column, cell in zip(columns, cells, strict=False):
        text = cell_text(cell)
        if column.role not in values and text:
            values[column.role] = text
    return values


def _header(columns: list[_Column], role: str) -> str | None:
    return next((c.header for c in columns if c.role == role), None)


def _split_multi_values(values: dict[str, str]) -> list[dict[str, str]]:
    """One row whose cells hold ``a;b`` lists → one dict per item; the row as is when counts disagree."""
    split = {role: [p for p in _MULTI_VALUE.split(text) if p] for role, text in values.items()}
    count = len(split.get("name", [])) or 1
    if count == 1 or any(len(parts) not in (1, count) for parts in split.values()):
        return [values]
    return [
        {role: parts[i] if len(parts) == count else parts[0] for role, parts in split.items()} for i in range(count)
    ]


def _category_from_roles(columns: list[_Column]) -> str | None:
    headers = "".join(c.header for c in columns)
    if "施工" in headers:
        return "works"
    if "服务范围" in headers or "服务要求" in headers:
        return "services"
    if "品牌" in headers or "型号" in headers:
        return "goods"
    return None
