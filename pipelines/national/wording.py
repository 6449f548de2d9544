"""The label/value text parser: ``parse_text`` reads a notice's fields from its text in the national wording.

It works on any notice written that way (label：value lines, numbered sections), also plain-text notices from other
portals. One pass over the lines keeps a ``_Reader``'s context: which party, lot, time or item list a bare label
such as 名称 or 截止时间 belongs to; lots, per-lot budgets and the award are completed at the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pipelines.national.amounts import Amount, parse_amount, parse_date_range, parse_datetime
from pipelines.national.labels import (
    AGENCY_ADDRESS_LABELS,
    AGENCY_CONTACT_LABELS,
    AGENCY_LABELS,
    AWARD_PREFIXES,
    AWARD_RATE_LABELS,
    BUDGET_PREFIXES,
    BUYER_ADDRESS_LABELS,
    BUYER_CONTACT_LABELS,
    BUYER_LABELS,
    CEILING_PREFIXES,
    CLAUSE_END,
    CODE_IN_TEXT,
    CORRECTED_LABELS,
    CREDIT_CODE_LABELS,
    ENUMERATOR,
    FIRST_PUBLISHED_LABELS,
    ITEM_NAME_LABELS,
    LABEL_LINE,
    LOT_AMOUNT,
    LOT_HEADING,
    LOT_MENTION,
    LOT_STATUS_WORDS,
    METHOD_IN_TEXT,
    METHOD_LABELS,
    METHOD_WORDS,
    NEXT_LABEL,
    OPENING_LABELS,
    PAIR_LABELS,
    PLACEHOLDER_VALUE,
    PROJECT_CODE_LABELS,
    PROJECT_NAME_LABELS,
    SUPPLIER_ADDRESS_LABELS,
    SUPPLIER_LABELS,
    TOP_HEADING,
    apply_title_lot,
    canonical_label,
    clean_code,
    empty_fields,
    label_without_unit,
    logical_lines,
    lot_entry,
    lot_number_of,
    lot_numbers_of,
    merge_lots,
    new_item,
    new_supplier,
    parse_quantity,
    party_name,
    suppliers_total,
    total_amount,
)
from pipelines.national.page_text import clean_lines


@dataclass
class _Reader:
    """State of one pass over a notice's lines: which party, lot and time a bare label refers to."""

    fields: dict[str, Any] = field(default_factory=lambda: empty_fields())
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
        fields["budget"] = total_amount(list(reader.lot_budgets.values()))
    if fields["project_code"] is None:
        found = CODE_IN_TEXT.search(fields["text"]) or CODE_IN_TEXT.search(title or "")
        if found:
            fields["project_code"] = clean_code(found["code"])
    if fields["procurement_method_zh"] is None:
        found = METHOD_IN_TEXT.search(fields["text"])
        if found:
            fields["procurement_method_zh"] = found["method"]
    # The end of the document sale is the last word on timing when no bid deadline is written.
    reader.set("deadline_at", reader.documents_end)
    return fields


def _read_line(reader: _Reader, line: str) -> None:
    if TOP_HEADING.match(line):
        _close_item(reader)
        reader.in_items = False
        reader.supplier = None
    # Every LOT_HEADING names 包 or 标段; every status word is one of LOT_STATUS_WORDS: most lines name neither.
    lot = LOT_HEADING.match(ENUMERATOR.sub("", line)) if "包" in line or "段" in line else None
    if lot:
        reader.lot = lot_number_of(lot["n1"] or lot["n2"])
        reader.supplier = None
        return
    _note_lot_status(reader, line)
    if " | " in line:
        _read_table_line(reader, line)
        return
    if reader.columns and _read_column_pairs(reader, line):
        return
    found = LABEL_LINE.match(line)
    segments = _split_known_pairs(line) if found else None  # a line without a label holds no pairs to cut
    if segments is not None and len(segments) > 1:
        parties = []
        for segment in segments:
            _read_label_line(reader, segment, LABEL_LINE.match(segment))
            parties.append(reader.party)
        if len(parties) != 2:
            reader.columns = ()
        elif set(parties) == {"buyer", "agency"}:
            reader.columns = tuple(parties)
        return
    reader.columns = ()
    _read_label_line(reader, line, found)


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
    label = canonical_label(found["label"])
    for party, value in zip(reader.columns, (found["left"], found["right"]), strict=True):
        reader.party = party
        _read_pair(reader, label, value, value)
    return True


def _split_known_pairs(line: str) -> list[str]:
    """A label line (LABEL_LINE matches it) holding several ``label：value`` pairs whose labels are known, cut into
    one pair each."""
    cuts = [
        m.start()
        for m in _INLINE_LABEL.finditer(line)
        if _is_known_label(label := canonical_label(m["label"])) or label in _PARTY_FIELD_LABELS
    ]
    if not cuts:
        return [line]
    bounds = [0, *cuts, len(line)]
    return [line[start:end].strip() for start, end in zip(bounds, bounds[1:], strict=False)]


def _read_label_line(reader: _Reader, line: str, found: re.Match[str] | None) -> None:
    """One ``label：value`` (``found`` is LABEL_LINE's match of it) or a heading."""
    if not found:
        if len(line) <= _MAX_HEADING:
            _read_heading(reader, canonical_label(line))
        return
    label = canonical_label(found["label"])
    # The line is clean (clean_lines, or a stripped part of a clean line) and the value runs from the first
    # non-space after the colon to its end: clean_line would give it back as it is.
    full_value = found["value"]
    value = NEXT_LABEL.split(full_value)[0].strip()
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
        label = canonical_label(label)
        if not value or not _is_known_label(label) or _is_known_label(canonical_label(value)):
            continue
        if _needs_figure(label) and not _DIGIT.search(value):
            continue  # a header row (中标金额(万元) | 评审得分), not a key and its value
        _read_pair(reader, label, value, value)


_DIGIT = re.compile(r"\d")


def _needs_figure(label: str) -> bool:
    bare = label_without_unit(label)
    return bare.startswith(AWARD_PREFIXES + CEILING_PREFIXES + BUDGET_PREFIXES) or _is_deadline_label(bare)


@lru_cache(maxsize=8192)
def _is_known_label(label: str) -> bool:
    bare = label_without_unit(label)
    return (
        any(bare in labels for labels in PAIR_LABELS)
        or bare.startswith(AWARD_PREFIXES + CEILING_PREFIXES + BUDGET_PREFIXES)
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
    bare = label_without_unit(label)
    if reader.in_items and _read_item_pair(reader, label, bare, value):
        return
    if bare in PROJECT_CODE_LABELS:
        reader.set("project_code", clean_code(value))
    elif bare in PROJECT_NAME_LABELS:
        reader.set("project_name", value)
    elif bare in METHOD_LABELS:
        found = METHOD_WORDS.search(value)
        reader.set("procurement_method_zh", found.group(0) if found else value)
    elif bare in BUYER_LABELS:
        reader.party = "buyer"
        reader.set("buyer", party_name(value))
    elif bare in BUYER_ADDRESS_LABELS:
        reader.set("buyer_address", value)
    elif bare in BUYER_CONTACT_LABELS:
        reader.set("buyer_contact", value)
    elif bare in AGENCY_LABELS:
        reader.party = "agency"
        reader.set("agency", party_name(value))
    elif bare in AGENCY_ADDRESS_LABELS:
        reader.set("agency_address", value)
    elif bare in AGENCY_CONTACT_LABELS:
        reader.set("agency_contact", value)
    elif bare in SUPPLIER_LABELS:
        _start_supplier(reader, value)
        reader.party = "supplier"  # a bare 地址 right after it is the supplier's (合同公告 乙方)
    elif bare in SUPPLIER_ADDRESS_LABELS and reader.supplier is not None:
        reader.supplier["address"] = reader.supplier["address"] or value
    elif bare in CREDIT_CODE_LABELS and reader.supplier is not None:
        reader.supplier["credit_code"] = reader.supplier["credit_code"] or value
    elif bare.startswith(AWARD_PREFIXES) or bare in AWARD_RATE_LABELS:
        _read_award(reader, full_value, label)
    elif bare.startswith(CEILING_PREFIXES):
        _read_lot_amounts(reader, full_value, label, "ceiling")
    elif (bare.startswith(BUDGET_PREFIXES) or bare.endswith("预算金额")) and "代理" not in bare:
        _read_lot_amounts(reader, full_value, label, "budget")
    elif bare in FIRST_PUBLISHED_LABELS:
        reader.set("first_published_at", parse_datetime(value))
    elif bare in CORRECTED_LABELS:
        reader.set("corrected_at", parse_datetime(value))
    elif _is_deadline_label(bare):
        reader.set("deadline_at", parse_datetime(value))
        if "开标" in bare or "开启" in bare:
            reader.set("opening_at", parse_datetime(value))
    elif bare in OPENING_LABELS:
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
        reader.set("buyer", party_name(value))
    elif reader.party == "agency":
        reader.set("agency", party_name(value))
    elif reader.party == "supplier":
        _start_supplier(reader, value)


def _read_party_field(reader: _Reader, which: str, value: str) -> None:
    if reader.party in ("buyer", "agency"):
        reader.set(f"{reader.party}_{which}", value)
    elif reader.party == "supplier" and reader.supplier is not None and which == "address":
        reader.supplier["address"] = reader.supplier["address"] or value


def _start_supplier(reader: _Reader, value: str) -> None:
    name = party_name(value)
    if not name:
        return
    reader.supplier = new_supplier(name, lot=reader.lot)
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
    for found in LOT_AMOUNT.finditer(value):
        amount = parse_amount(found["amount"], unit_hint=label)
        for number in lot_numbers_of(found["numbers"]):
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
        reader.set(key, total_amount(list(per_lot.values()), raw=value))


def _read_item_pair(reader: _Reader, label: str, bare: str, value: str) -> bool:
    if bare in ITEM_NAME_LABELS:
        _close_item(reader)
        reader.item = new_item(name=value, lot=reader.lot)
        return True
    if reader.item is None:
        return False
    if "品牌" in bare:
        reader.item["brand"] = value
    elif "型号" in bare or bare == "规格":
        reader.item["model"] = value
    elif "数量" in bare:
        reader.item["quantity"], reader.item["unit"] = parse_quantity(value, reader.item["unit"])
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
    if reader.item is not None and reader.item["name"] and not PLACEHOLDER_VALUE.match(reader.item["name"]):
        reader.fields["items"].append(reader.item)
    reader.item = None


_STATUS_WORD = re.compile("|".join(word for word, _ in LOT_STATUS_WORDS))


def _note_lot_status(reader: _Reader, line: str) -> None:
    """``第14包：…不足3家，本包废标。`` or a title ``第14包、第16包废标公告``: the lots a clause fails or ends."""
    if not _STATUS_WORD.search(line):
        return
    for clause in CLAUSE_END.split(line):
        status = next((status for word, status in LOT_STATUS_WORDS if word in clause), None)
        if status is None:
            continue
        for found in LOT_MENTION.finditer(clause):
            for number in lot_numbers_of(found["numbers"]):
                reader.lot_statuses.setdefault(number, status)
        if reader.lot is not None and ("本包" in clause or "该包" in clause or "本标段" in clause):
            reader.lot_statuses.setdefault(reader.lot, status)


def _finish_lots(reader: _Reader, title: str | None) -> None:
    fields = reader.fields
    apply_title_lot(fields, title)
    lots: dict[str, dict[str, Any]] = {}
    for number, amount in reader.lot_budgets.items():
        lot_entry(lots, number)["budget_cny"] = amount.value_cny if amount else None
    for supplier in fields["suppliers"]:
        if supplier["lot"]:
            lot = lot_entry(lots, supplier["lot"])
            lot["suppliers"].append(supplier["name"])
            if supplier["amount_cny"] is not None:
                lot["award_cny"] = (lot["award_cny"] or Decimal(0)) + supplier["amount_cny"]
    for number, status in reader.lot_statuses.items():
        lot_entry(lots, number)["status"] = status
    fields["lots"] = merge_lots(fields["lots"], list(lots.values()))


def _finish_award(reader: _Reader) -> None:
    fields = reader.fields
    if fields["award"] is not None:
        return
    if sum(s["amount_cny"] is not None for s in fields["suppliers"]) > 1:
        fields["award"] = suppliers_total(fields["suppliers"])
    elif reader.award_amounts:
        fields["award"] = next((a for a in reader.award_amounts if a.value_cny is not None), reader.award_amounts[0])
