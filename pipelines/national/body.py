"""The national (MOF 2020) notice body: fields every portal's notices share, whatever markup carries them.

``parse_body`` reads a body element of any of the templates seen on ccgp (STRUCTURE.md §1.3):

1. plain ``<p><strong>一、…</strong></p>`` sections;
2. an embedded whole HTML document with ``div.segement``/``div.line`` and ``table#projectBundleList`` (Tianjin);
3. ``div#noticeArea`` with ``_notice_content_*`` ids (Heilongjiang);
4. ``samp.bookmark-item`` code cells and ``td.code-*`` table cells (Liaoning, Guizhou);
5. per-lot panels with ``包号：N`` lines (Chongqing).

Structured markup is read first (tables by their header row, ids, bookmark codes); the clean text then goes
through ``parse_text`` (``pipelines.national.wording``), the label/value reader that works on any notice written in
the national wording (also plain-text notices from other portals), and fills what the markup did not give.

Both return a ``dict`` with the keys of ``EMPTY_FIELDS`` (``pipelines.national.labels``). Amounts are
``pipelines.national.amounts.Amount`` (the caller splits them into ``*_cny``/``*_raw``); times are aware datetimes.
Lot numbers are strings (``"3"``, ``"A"``; Chinese numerals become digits). A lot's ``status`` is ``unsuccessful``
(废标/流标/失败), ``cancelled`` (终止) or None here; ``pipelines.ingest.normalize`` marks lots with suppliers on award,
deal and contract notices ``awarded``.
Bidder ranking tables (排序, 评审报价, 投标供应商) are not awards and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import lxml.etree

from pipelines.national.amounts import Amount, parse_amount
from pipelines.national.labels import (
    DOWNLOAD_HREF,
    ENUMERATOR,
    FILE_NAME,
    ITEM_NAME_LABELS,
    LABEL_NOISE,
    LOT_HEADING,
    MULTI_VALUE,
    PLACEHOLDER_VALUE,
    apply_title_lot,
    category_code,
    clean_code,
    empty_fields,
    lot_entry,
    lot_number_of,
    merge_lots,
    new_item,
    new_supplier,
    parse_quantity,
    party_name,
    suppliers_total,
    total_amount,
    unit_from_price_header,
)
from pipelines.national.page_text import TreeTexts, as_element, clean_line, clean_text
from pipelines.national.wording import parse_text

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
# ``descendant::`` rather than ``.//`` (every node, then each one's children): the same elements in the same order.
_NOTICE_AREA_ELEMENTS = lxml.etree.XPath("descendant::*[@id][starts-with(@id, '_notice_content_')]")
_LINKS = lxml.etree.XPath(".//a")


def parse_body(body: Any, *, title: str | None = None) -> dict[str, Any]:
    """Fields from a notice body (HTML string, Selector or lxml element) in any of the module's templates."""
    root = as_element(body)
    if root is None:
        return empty_fields()
    # One tree, each cell's text and each table's rows computed once for all the readers below.
    texts = TreeTexts()
    structured = empty_fields()
    _read_notice_area(root, structured, texts)
    _read_bookmarks(root, structured, texts)
    tables = _TableReader(texts)
    tables.read(root)
    structured["suppliers"] = tables.suppliers
    structured["items"] = tables.items
    structured["lots"] = tables.lots()
    structured["category"] = tables.category
    structured["attachments"] = _attachments(root, texts)
    from_text = parse_text(clean_text(root, texts), title=title)  # its "text" is the body's clean text
    merged = merge_fields(structured, from_text)
    merged["suppliers"] = merge_suppliers(tables.suppliers, from_text["suppliers"])
    merged["items"] = tables.items or from_text["items"]
    apply_title_lot(merged, title)
    if merged["budget"] is None and tables.row_budgets:
        merged["budget"] = total_amount(list(tables.row_budgets.values()))
    merged["lots"] = merge_lots(structured["lots"], from_text["lots"])
    merged["award"] = merged["award"] or suppliers_total(merged["suppliers"])
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


def _read_notice_area(root: Any, fields: dict[str, Any], texts: TreeTexts) -> None:
    for element in _NOTICE_AREA_ELEMENTS(root):
        name = element.get("id").removeprefix("_notice_content_").split("-")[-1]
        key = _NOTICE_AREA_FIELDS.get(name)
        value = texts.cell_text(element)
        if key and value and fields[key] is None:
            fields[key] = value


def _read_bookmarks(root: Any, fields: dict[str, Any], texts: TreeTexts) -> None:
    if next(root.iter("samp"), None) is None:
        return  # no bookmark template: one walk by tag instead of an XPath per code
    for elements, key in _BOOKMARK_FIELDS.items():
        for element in elements(root):
            value = texts.cell_text(element)
            if value and fields[key] is None:
                fields[key] = clean_code(value) if key == "project_code" else value


def _attachments(root: Any, texts: TreeTexts) -> list[dict[str, str | None]]:
    found: list[dict[str, str | None]] = []
    seen: set[tuple[str, str | None]] = set()
    for link in _LINKS(root):
        name = texts.cell_text(link)
        href = (link.get("href") or "").strip() or None
        if href and href.lower().startswith(("javascript:", "#", "mailto:")):
            href = None
        if not name or not (FILE_NAME.search(name) or (href and DOWNLOAD_HREF.search(href))):
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

    def __init__(self, texts: TreeTexts) -> None:
        self._texts = texts
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
        for kind, value in _walk(root, self._texts):
            if kind == "text":
                found = LOT_HEADING.match(ENUMERATOR.sub("", clean_line(value)))
                if found:
                    self._lot = lot_number_of(found["n1"] or found["n2"])
            else:
                self._table(value)

    def _table(self, table: Any) -> None:
        rows = [cells for cells in self._texts.rows(table) if cells]
        header_index = next((i for i, cells in enumerate(rows) if self._header_roles(cells)), None)
        if header_index is None:
            self._bookmark_rows(rows)
            return
        columns = self._header_roles(rows[header_index])
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
        values = self._row_values(columns, cells)
        name = party_name(values.get("supplier", ""))
        if not name:
            return
        lot = lot_number_of(values["lot"]) if values.get("lot") else self._lot
        supplier = new_supplier(name, lot=lot)
        supplier["address"] = values.get("address") or None
        supplier["credit_code"] = values.get("credit_code") or None
        if values.get("award"):
            amount = parse_amount(values["award"], unit_hint=_header(columns, "award"))
            if amount is not None:
                supplier["amount_cny"], supplier["amount_raw"] = amount.value_cny, amount.raw
        self.suppliers.append(supplier)
        if lot:
            entry = lot_entry(self._lots, lot)
            entry["suppliers"].append(name)
            if supplier["amount_cny"] is not None:
                entry["award_cny"] = (entry["award_cny"] or Decimal(0)) + supplier["amount_cny"]

    def _item_rows(self, columns: list[_Column], cells: list[Any], with_items: bool = True) -> None:
        values = self._row_values(columns, cells)
        if not values.get("name") or PLACEHOLDER_VALUE.match(values["name"]):
            return
        lot = lot_number_of(values["lot"]) if values.get("lot") else self._lot
        budget = parse_amount(values.get("budget"), unit_hint=_header(columns, "budget"))
        if budget is not None:
            self.row_budgets.setdefault((lot, values["name"]), budget)
            if lot:
                entry = lot_entry(self._lots, lot)
                entry["name"] = entry["name"] or values["name"]
                if entry["budget_cny"] is None:
                    entry["budget_cny"] = budget.value_cny
        if not with_items:
            return
        self.category = self.category or category_code(values.get("type")) or _category_from_roles(columns)
        for parts in _split_multi_values(values):
            item = new_item(name=parts["name"], lot=lot)
            item["brand"] = parts.get("brand") or None
            item["model"] = parts.get("model") or None
            if parts.get("quantity"):
                item["quantity"], item["unit"] = parse_quantity(parts["quantity"], parts.get("unit") or None)
            item["unit"] = item["unit"] or parts.get("unit") or unit_from_price_header(_header(columns, "unit_price"))
            if parts.get("unit_price"):
                price = parse_amount(parts["unit_price"], unit_hint=_header(columns, "unit_price"))
                if price is not None:
                    item["unit_price_cny"], item["unit_price_raw"] = price.value_cny, price.raw
            if item not in self.items:  # the same table is often printed twice (采购内容 and 补充事宜)
                self.items.append(item)

    def _header_roles(self, cells: list[Any]) -> list[_Column]:
        if any(cell.get("class", "").startswith("code-") for cell in cells):
            return []  # bookmark-template data cells, not a header
        headers = [self._texts.cell_text(cell) for cell in cells]
        columns = [_Column(_column_role(header, cell), header) for header, cell in zip(headers, cells, strict=True)]
        roles = {c.role for c in columns}
        if ("supplier" in roles and "award" in roles) or ("name" in roles and roles & _ITEM_DETAIL_ROLES):
            return columns
        if "ranking" in roles and "supplier" in roles:
            return columns
        return []

    def _row_values(self, columns: list[_Column], cells: list[Any]) -> dict[str, str]:
        values: dict[str, str] = {}
        for column, cell in zip(columns, cells, strict=False):
            text = self._texts.cell_text(cell)
            if column.role not in values and text:
                values[column.role] = text
        return values


# Every table and every text naming 包 or 标段 (as every LOT_HEADING does), in document order: the few places the
# table reader's walk can stop at, found by libxml2 instead of visiting every element in Python.
_WALK_STOPS = lxml.etree.XPath(".//table | .//text()[contains(., '包') or contains(., '段')]")
_WALK_SKIPPED = frozenset({"script", "style", "title", "head"})


def _walk(root: Any, texts: TreeTexts) -> Iterator[tuple[str, Any]]:
    """Text runs that may open a lot and data tables, in document order, as a walk from ``root`` meets them: it
    goes through layout tables and other elements, not into data tables nor script/style/title/head; a comment
    or a skipped element still has its tail read."""
    opened: dict[Any, bool] = {}

    def is_open(element: Any) -> bool:
        """Whether the walk goes into ``element``'s children (it reaches the element and does not stop there)."""
        unknown = []  # the element and its ancestors up to the first one decided (no recursion: trees can be deep)
        while element is not None and element not in opened:
            unknown.append(element)
            element = None if element is root else element.getparent()
        reached = opened.get(element, False) if element is not None else False
        for element in reversed(unknown):
            tag = element.tag.lower() if isinstance(element.tag, str) else None
            reached = opened[element] = bool(
                (reached or element is root)
                and tag is not None
                and tag not in _WALK_SKIPPED
                and not (tag == "table" and _is_data_table(element, texts))
            )
        return reached

    tag = root.tag.lower() if isinstance(root.tag, str) else None
    if tag == "table" and _is_data_table(root, texts):
        yield "table", root
    elif is_open(root):
        for stop in _WALK_STOPS(root):
            if isinstance(stop, str):
                owner = stop.getparent()
                # A tail is met once the walk is inside its element's parent, a text once inside its element.
                inside = owner.getparent() if stop.is_tail else owner
                if inside is not None and is_open(inside) and stop.strip():
                    yield "text", str(stop)
            elif is_open(stop.getparent()) and _is_data_table(stop, texts):
                yield "table", stop
    if root.tail and _may_open_lot(root.tail):
        yield "text", root.tail


def _may_open_lot(text: str) -> bool:
    """Every LOT_HEADING names 包 or 标段: other runs (almost all) need no cleaning and matching."""
    return ("包" in text or "段" in text) and bool(text.strip())


def _is_data_table(table: Any, texts: TreeTexts) -> bool:
    rows = texts.rows(table)
    if texts.holds_table(table):
        return False
    cells = [cell for row in rows for cell in row]
    # One row is a layout box, unless it is a bookmark-template row marked by its cells' classes.
    return len(rows) >= 2 or any((cell.get("class") or "").startswith("code-") for cell in cells)


_ITEM_DETAIL_ROLES = frozenset({"brand", "model", "quantity", "unit_price", "scope", "budget", "type"})


def _column_role(header: str, cell: Any) -> str:
    classes = cell.get("class") or ""
    if "code-winningSupplierName" in classes:
        return "supplier"
    if "code-summaryPrice" in classes:
        return "award"
    text = LABEL_NOISE.sub("", header).replace("（", "(").replace("）", ")")
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
    if text in ITEM_NAME_LABELS or text in (
        "标的名称", "品目名称", "采购标的", "货物/服务名称", "货物(服务)名称", "采购项目名称", "项目名称"
    ):  # fmt: skip
        return "name"
    return "other"


def _header(columns: list[_Column], role: str) -> str | None:
    return next((c.header for c in columns if c.role == role), None)


def _split_multi_values(values: dict[str, str]) -> list[dict[str, str]]:
    """One row whose cells hold ``a;b`` lists → one dict per item; the row as is when counts disagree."""
    split = {role: [p for p in MULTI_VALUE.split(text) if p] for role, text in values.items()}
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
