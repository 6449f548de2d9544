"""The national notice vocabulary: its fields, method and category codes, the labels notices write them under,
and the line, lot and value helpers that both body parsers (``wording`` and ``body``) share.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import cn2an

from pipelines.national.amounts import Amount
from pipelines.national.page_text import clean_line

EMPTY_FIELDS: dict[str, Any] = {
    "project_code": None,
    "project_name": None,
    "procurement_method_zh": None,
    "category": None,
    "buyer": None,
    "buyer_address": None,
    "buyer_contact": None,
    "agency": None,
    "agency_address": None,
    "agency_contact": None,
    "suppliers": [],
    "budget": None,
    "ceiling": None,
    "award": None,
    "lots": [],
    "items": [],
    "deadline_at": None,
    "opening_at": None,
    "first_published_at": None,
    "corrected_at": None,
    "attachments": [],
    "text": "",
}

# 采购方式 words → OCDS procurementMethod (DOMAIN.md §2).
METHODS: dict[str, str] = {
    "公开招标": "open",
    "邀请招标": "selective",
    "竞争性谈判": "limited",
    "竞争性磋商": "limited",
    "询价": "limited",
    "单一来源": "direct",
}
METHOD_WORDS = re.compile("|".join(METHODS))
# Wording that states the method in running text (not a project name that merely contains the word).
METHOD_IN_TEXT = re.compile(
    r"(?:采用|采取|以|通过|进行|按照?)(?P<method>公开招标|邀请招标|竞争性谈判|竞争性磋商|询价|单一来源)"
)

CATEGORIES: dict[str, str] = {"货物": "goods", "服务": "services", "工程": "works"}


def method_code(method_zh: str | None) -> str | None:
    """``竞争性磋商`` → ``limited``; None for anything else (框架协议, 其他…)."""
    found = METHOD_WORDS.search(method_zh or "")
    return METHODS[found.group(0)] if found else None


def category_code(text: str | None) -> str | None:
    """``货物/设备/仪器仪表`` or ``货物类`` → ``goods``."""
    text = (text or "").strip()
    for word, code in CATEGORIES.items():
        if text.startswith(word):
            return code
    return None


# --- lines, labels and values ----------------------------------------------------------------------------

LABEL_LINE = re.compile(r"^(?P<label>[^：:]{1,40}?)\s*[：:]\s*(?P<value>.*)$")
_DANGLING_LABEL = re.compile(r"^[^：:]{1,30}[：:]$")
# Enumerators in front of labels and headings: 一、 1. （1） 2、 (三) …
ENUMERATOR = re.compile(r"^(?:[（(]?\s*(?:[一二三四五六七八九十]+|\d{1,2})\s*[)）、.．]\s*)+")
TOP_HEADING = re.compile(r"^[一二三四五六七八九十]+\s*[、.．]")
LABEL_NOISE = re.compile(r"[\s　]+")
# Where a value runs into the next label on the same line (名称：X 地址：Y).
NEXT_LABEL = re.compile(
    r"\s+(?=(?:邮编|邮政编码|电话|联系电话|传真|联系人|联系方式|地址|详细地址|名称|电子邮箱)\s*[：:])"
)
_LOT_ID = r"[0-9A-Za-z一二三四五六七八九十]+"
_LOT_WORD = r"(?:包|标段|标包|分包)"
_LOT_IDS = rf"{_LOT_ID}(?:\s*[-~至、,，和及]\s*{_LOT_ID})*"
# A line that only opens a lot: 第1包： / 包号：2 / 标段 三
LOT_HEADING = re.compile(
    rf"^(?:第\s*(?P<n1>{_LOT_ID})\s*{_LOT_WORD}|(?:包号|包组|标段|分包号|采购包)\s*[：:]?\s*(?P<n2>{_LOT_ID}))"
    r"\s*[：:]?\s*$"
)
LOT_MENTION = re.compile(rf"第\s*(?P<numbers>{_LOT_IDS})\s*{_LOT_WORD}")
# Lot status words, most specific first; a clause naming a lot and one of these gives that lot its status.
LOT_STATUS_WORDS = (
    ("废标", "unsuccessful"),
    ("流标", "unsuccessful"),
    ("失败", "unsuccessful"),
    ("终止", "cancelled"),
)
CLAUSE_END = re.compile(r"[。；;\n]")
# 第1包90万元 / 第1-5包：无 / 第2包: 35 万元 inside one budget or ceiling value.
LOT_AMOUNT = re.compile(
    rf"第\s*(?P<numbers>{_LOT_IDS})\s*{_LOT_WORD}"
    r"(?:\s*(?:预算金额|最高限价|金额))?\s*[：:]?\s*(?P<amount>[^，,；;。第]*)"
)
CODE_IN_TEXT = re.compile(r"(?:项目编号|采购项目编号|招标编号)\s*[：:]\s*(?P<code>[^\s，,；;。（)）]+)")
_CODE_CUT = re.compile(r"\s|（|，|；|,|;|。|\((?=[\u4e00-\u9fff])")
FILE_NAME = re.compile(r"\.(?:pdf|docx?|xlsx?|zip|rar|7z|wps|ofd|txt|jpe?g|png|tif|dwg|et)\s*$", re.IGNORECASE)
DOWNLOAD_HREF = re.compile(r"download|documentView|attach|filedown|fileid", re.IGNORECASE)
_QUANTITY = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[^\d\s.;；,，]{0,4})")
_PRICE_PER = re.compile(r"元\s*/\s*(?P<unit>[^\s)）]{1,3})")
MULTI_VALUE = re.compile(r"\s*[;；]\s*")
PLACEHOLDER_VALUE = re.compile(r"^(?:详见|见附件|见公告|/|无|-+)")

PROJECT_CODE_LABELS = frozenset(
    {"项目编号", "采购项目编号", "原公告的采购项目编号", "招标编号", "招标项目编号", "采购编号"}
)
PROJECT_NAME_LABELS = frozenset({"项目名称", "采购项目名称", "原公告的采购项目名称", "招标项目名称"})
METHOD_LABELS = frozenset({"采购方式", "招标方式"})
BUYER_LABELS = frozenset(
    {"采购人", "采购单位", "采购人名称", "采购单位名称", "招标人", "招标人名称", "采购人单位", "采购人(甲方)", "甲方"}
)
BUYER_ADDRESS_LABELS = frozenset({"采购人地址", "采购单位地址", "招标人地址"})
BUYER_CONTACT_LABELS = frozenset({"采购人联系方式", "采购单位联系方式", "采购人联系电话", "采购单位联系电话"})
AGENCY_LABELS = frozenset({"采购代理机构", "代理机构", "采购代理机构名称", "代理机构名称", "招标代理机构", "招标代理"})
AGENCY_ADDRESS_LABELS = frozenset({"代理机构地址", "采购代理机构地址", "招标代理机构地址"})
AGENCY_CONTACT_LABELS = frozenset(
    {"代理机构联系方式", "采购代理机构联系方式", "代理机构联系人", "招标代理机构联系方式"}
)
SUPPLIER_LABELS = frozenset(
    {
        "供应商名称", "中标供应商名称", "成交供应商名称", "中标供应商", "成交供应商", "中标人", "中标人名称",
        "中标单位", "成交单位", "中标(成交)供应商", "中标(成交)供应商名称", "单一来源供应商", "拟定供应商",
        "拟定供应商名称", "拟定的唯一供应商名称", "拟定的供应商名称", "供应商(乙方)", "乙方", "中标供应商(乙方)",
    }
)  # fmt: skip
SUPPLIER_ADDRESS_LABELS = frozenset({"供应商地址", "中标供应商地址", "成交供应商地址", "中标人地址", "拟定供应商地址"})
CREDIT_CODE_LABELS = frozenset({"统一社会信用代码", "社会信用代码", "信用代码"})
BUDGET_PREFIXES = ("预算金额", "采购预算", "项目预算", "预算总额", "预算")
CEILING_PREFIXES = ("最高限价", "最高投标限价", "招标控制价", "采购控制价", "控制价", "拦标价")
AWARD_PREFIXES = (
    "中标(成交)金额", "中标金额", "成交金额", "总中标金额", "总成交金额", "中标(成交)价格", "中标价格", "成交价格",
    "中标价", "成交价", "合同金额", "合同总金额",
)  # fmt: skip
# An award written as a rate (监理 fees, 下浮率): kept as a rate-flagged amount with no CNY value.
AWARD_RATE_LABELS = frozenset(
    {"中标费率", "成交费率", "中标下浮率", "成交下浮率", "中标折扣率", "成交折扣率", "下浮率"}
)
FIRST_PUBLISHED_LABELS = frozenset({"首次公告日期", "首次公告时间", "原公告发布时间", "原公告发布日期"})
CORRECTED_LABELS = frozenset({"更正日期", "更正时间"})
OPENING_LABELS = frozenset({"开标时间", "开启时间", "开标日期", "响应文件开启时间"})
ITEM_NAME_LABELS = frozenset({"名称", "货物名称", "标的名称", "产品名称", "设备名称", "服务名称"})
# Labels that may head a key-value table cell (项目编号 | X): specific enough never to be a column header's value.
PAIR_LABELS = (
    PROJECT_CODE_LABELS, PROJECT_NAME_LABELS, METHOD_LABELS, BUYER_LABELS, BUYER_ADDRESS_LABELS,
    BUYER_CONTACT_LABELS, AGENCY_LABELS, AGENCY_ADDRESS_LABELS, AGENCY_CONTACT_LABELS,
    FIRST_PUBLISHED_LABELS, CORRECTED_LABELS, OPENING_LABELS,
)  # fmt: skip


# Labels repeat across lines and notices (项目编号, 采购人…): computed once each, within a bound (text is untrusted).
@lru_cache(maxsize=8192)
def canonical_label(label: str) -> str:
    label = ENUMERATOR.sub("", clean_line(label))
    return LABEL_NOISE.sub("", label).replace("（", "(").replace("）", ")")


_LABEL_UNIT_SUFFIX = re.compile(r"\((?:人民币)?(?:亿元|万元|元)[^)]*\)$")
_LOT_LIST_SEPARATOR = re.compile(r"\s*[、,，和及]\s*")
_LOT_RANGE_SEPARATOR = re.compile(r"\s*[-~至]\s*")


@lru_cache(maxsize=8192)
def label_without_unit(label: str) -> str:
    """``预算金额(万元)`` → ``预算金额`` (the unit is read separately as the amount's unit hint)."""
    return _LABEL_UNIT_SUFFIX.sub("", label)


def logical_lines(lines: list[str]) -> list[str]:
    """Lines with a dangling ``label：`` joined to the value written on the next line (``项目编号:\\n2023ABB…``)."""
    joined: list[str] = []
    for line in lines:
        previous = joined[-1] if joined else ""
        if (
            previous.endswith(("：", ":"))  # what every dangling label ends with: most lines are not one
            and _DANGLING_LABEL.match(previous)
            and not LABEL_LINE.match(line)
            and not TOP_HEADING.match(line)
            and not LOT_HEADING.match(line)
            and " | " not in line
        ):
            joined[-1] = previous + line
        else:
            joined.append(line)
    return joined


# --- what both parsers fill ------------------------------------------------------------------------------
# The text parser and parse_body both start from, total and merge these fields: here, below both.


def empty_fields() -> dict[str, Any]:
    return {key: (list(value) if isinstance(value, list) else value) for key, value in EMPTY_FIELDS.items()}


def total_amount(amounts: list[Amount | None], raw: str | None = None) -> Amount | None:
    """The sum of per-lot amounts; unknown when any lot's amount is."""
    if not amounts:
        return None
    raw = raw or "; ".join(a.raw for a in amounts if a)
    values = [a.value_cny if a else None for a in amounts]
    if any(v is None for v in values):
        return Amount(None, raw, unknown=True)
    return Amount(sum(values, Decimal(0)), raw)


def suppliers_total(suppliers: list[dict[str, Any]]) -> Amount | None:
    """The award as the sum of the suppliers' amounts (one per lot), when any is given."""
    priced = [s for s in suppliers if s["amount_cny"] is not None]
    if not priced:
        return None
    return Amount(sum((s["amount_cny"] for s in priced), Decimal(0)), "; ".join(s["amount_raw"] for s in priced))


def apply_title_lot(fields: dict[str, Any], title: str | None) -> None:
    """A notice titled 第3包中标公告 speaks of that lot even where its body does not repeat it."""
    title_lots = _lots_in(title)
    if len(title_lots) != 1:
        return
    for entry in [*fields["suppliers"], *fields["items"]]:
        entry["lot"] = entry["lot"] or title_lots[0]


def merge_lots(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lots: dict[str, dict[str, Any]] = {}
    for lot in [*first, *second]:
        known = lots.get(lot["number"])
        if known is None:
            lots[lot["number"]] = {**lot, "suppliers": list(lot["suppliers"])}
            continue
        for key in ("name", "budget_cny", "award_cny", "status"):
            if known[key] is None:
                known[key] = lot[key]
        known["suppliers"] += [name for name in lot["suppliers"] if name not in known["suppliers"]]
    return sorted(lots.values(), key=lambda lot: _lot_sort_key(lot["number"]))


# --- small helpers ---------------------------------------------------------------------------------------


def new_supplier(name: str, lot: str | None = None) -> dict[str, Any]:
    return {"name": name, "address": None, "credit_code": None, "amount_cny": None, "amount_raw": None, "lot": lot}


def new_item(name: str, lot: str | None = None) -> dict[str, Any]:
    return {
        "lot": lot,
        "name": name,
        "brand": None,
        "model": None,
        "quantity": None,
        "unit": None,
        "unit_price_cny": None,
        "unit_price_raw": None,
    }


def lot_entry(lots: dict[str, dict[str, Any]], number: str) -> dict[str, Any]:
    if number not in lots:
        lots[number] = {
            "number": number,
            "name": None,
            "budget_cny": None,
            "award_cny": None,
            "suppliers": [],
            "status": None,
        }
    return lots[number]


def party_name(value: str) -> str | None:
    value = value.strip(" ，,。；;")
    if not value or PLACEHOLDER_VALUE.match(value):
        return None
    return value


def clean_code(value: str) -> str | None:
    code = _CODE_CUT.split(value.strip(), maxsplit=1)[0].strip(" ：:，,。;；")
    return code or None


def parse_quantity(value: str, unit: str | None) -> tuple[Decimal | None, str | None]:
    found = _QUANTITY.search(value)
    if not found:
        return None, unit
    try:
        number = Decimal(found["number"])
    except InvalidOperation:
        return None, unit
    return number, (found["unit"] or unit or None)


def unit_from_price_header(header: str | None) -> str | None:
    found = _PRICE_PER.search(header or "")
    return found["unit"] if found else None


def lot_number_of(text: str | None) -> str | None:
    text = (text or "").strip()
    if not text:
        return None
    if text.isdigit():
        return str(int(text))
    try:
        return str(cn2an.cn2an(text, "smart"))
    except (ValueError, KeyError, TypeError):
        return text


def lot_numbers_of(text: str) -> list[str]:
    """``1-5`` → 1…5; ``1、3`` → 1, 3; ``三`` → 3."""
    numbers: list[str] = []
    for part in _LOT_LIST_SEPARATOR.split(text.strip()):
        bounds = _LOT_RANGE_SEPARATOR.split(part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit() and int(bounds[1]) - int(bounds[0]) < 100:
            numbers += [str(n) for n in range(int(bounds[0]), int(bounds[1]) + 1)]
        elif part:
            number = lot_number_of(part)
            if number:
                numbers.append(number)
    return numbers


def _lots_in(title: str | None) -> list[str]:
    numbers: list[str] = []
    for found in LOT_MENTION.finditer(title or ""):
        numbers += [n for n in lot_numbers_of(found["numbers"]) if n not in numbers]
    return numbers


def _lot_sort_key(number: str) -> tuple[int, str]:
    return (int(number), "") if number.isdigit() else (10**9, number)
