"""Money and time as Chinese procurement notices write them.

Amounts: ``parse_amount`` turns one written amount into CNY as a ``Decimal`` and keeps the raw string beside it.
It understands ``万元``/``亿元`` units (after the number, in brackets after it, in the label, or in a column header
passed as ``unit_hint``), thousands separators, ``￥``/``¥``/``人民币``, upper-case numerals (大写) with 角/分, tax
flags, rates (``下浮率``, ``费率``, ``%``: flagged, no value) and placeholders (``详见附件``, ``0.0万元``,
masked ``****``: flagged unknown, no value). ``0`` is treated as unknown, never as a price of zero: portals
print ``0.0 万元`` when the amount was not filled in.

Dates: ``parse_datetime`` reads the first date (with its time when given) in a string as Asia/Shanghai time;
``parse_date_range`` reads ``A至B`` ranges, carrying the year (and date) of A into a B that omits them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import cn2an

SHANGHAI = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Amount:
    value_cny: Decimal | None
    raw: str
    tax_included: bool | None = None
    is_rate: bool = False
    unknown: bool = False


_MULTIPLIERS = {
    "元": Decimal(1),
    "万元": Decimal(10_000),
    "万": Decimal(10_000),
    "亿元": Decimal(10**8),
    "亿": Decimal(10**8),
}

# A figure: optional currency mark, digits (grouped or not), optional unit right after it or in brackets after it.
_FIGURE = re.compile(
    r"(?P<currency>[¥￥]|RMB|CNY|人民币)?\s*"
    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<after>\s*[(（]?\s*(?P<unit>亿元|万元|元|亿|万)?)"
)
# What follows a number that is not money: 第1包, 1个, 2023年, 80%, 1台 …
_NOT_MONEY_AFTER = re.compile(
    r"\s*(?:包|标段|标包|个|号|年|月|日|天|%|‰|分|台|套|件|项|家|次|人|期|批|条|层|楼|室|米|吨)"
)
_LABEL_UNIT = re.compile(r"[(（]\s*(?P<unit>亿元|万元|元)\s*(?:/[^)）]*)?[)）]|单位\s*[：:]\s*(?P<unit2>亿元|万元|元)")
_HINT_UNIT = re.compile(r"亿元|万元|元")
_MASKED = re.compile(r"\d\s*[*＊]|[*＊]\s*\d|[*＊]{3,}")
_RATE = re.compile(r"%|％|‰|百分之|下浮率|折扣率|费率|优惠率|下浮|折扣|利率")
_PLACEHOLDER = re.compile(r"详见|见附件|见公告|另行|待定|不详|暂无|^\s*无\s*$|^\s*[-—/]+\s*$|面议")
_NOT_TAXED = re.compile(r"不含税|未含税|税前")
_TAXED = re.compile(r"含税|含增值税|税后")
# Upper-case (大写) and ordinary Chinese numerals followed by 元/圆 (or ending in 整, 角, 分).
_CHINESE_AMOUNT = re.compile(
    r"(?P<integer>[零〇壹贰叁肆伍陆柒捌玖拾佰仟萬万亿億两一二三四五六七八九十百千]+)\s*(?P<yuan>[元圆])"
    r"(?:\s*(?P<jiao>[零壹贰叁肆伍陆柒捌玖一二三四五六七八九])角)?"
    r"(?:\s*(?P<fen>[零壹贰叁肆伍陆柒捌玖一二三四五六七八九])分)?"
)
_CHINESE_DIGITS = {
    "零": 0, "〇": 0, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9,
    "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "两": 2,
}  # fmt: skip
_CHINESE_FOLD = str.maketrans({"萬": "万", "億": "亿"})


def parse_amount(raw: str | None, unit_hint: str | None = None) -> Amount | None:
    """One written amount → ``Amount``; None when ``raw`` is empty.

    ``unit_hint`` is the column header or label the value sat under (``单价(万元)``); it decides the unit of a bare
    number. A bare number with no unit anywhere is taken as 元.
    """
    if raw is None:
        return None
    original = raw.strip()
    if not original:
        return None
    text = unicodedata.normalize("NFKC", original)
    tax = _tax_flag(text)
    if _MASKED.search(text):
        return Amount(None, original, tax, unknown=True)
    value = _figure_value(text, unit_hint)
    if value is None:
        value = _chinese_value(text)
    if value is None:
        if _RATE.search(text):
            return Amount(None, original, tax, is_rate=True)
        return Amount(None, original, tax, unknown=True)
    if value == 0:
        return Amount(None, original, tax, unknown=True)
    return Amount(_to_cents(value), original, tax)


def unit_of(label: str | None) -> str | None:
    """The money unit a label or column header names: ``中标金额(万元)`` → ``万元``."""
    if not label:
        return None
    found = _HINT_UNIT.search(unicodedata.normalize("NFKC", label))
    return found.group(0) if found else None


def _figure_value(text: str, unit_hint: str | None) -> Decimal | None:
    bare: list[re.Match[str]] = []
    for found in _FIGURE.finditer(text):
        start = found.start("number")
        if start > 0 and text[start - 1] == "第":
            continue
        if not found["unit"] and _NOT_MONEY_AFTER.match(text, found.end("number")):
            continue
        if found["unit"] or found["currency"]:
            unit = found["unit"] or _label_unit(text, found.start()) or unit_of(unit_hint) or "元"
            return _decimal(found["number"], unit)
        bare.append(found)
    if bare and not _PLACEHOLDER.search(text):
        found = bare[0]
        unit = _label_unit(text, found.start()) or unit_of(unit_hint) or "元"
        return _decimal(found["number"], unit)
    return None


def _label_unit(text: str, before: int) -> str | None:
    for found in _LABEL_UNIT.finditer(text, 0, before):
        return found["unit"] or found["unit2"]
    return None


def _decimal(number: str, unit: str) -> Decimal | None:
    try:
        return Decimal(number.replace(",", "")) * _MULTIPLIERS[unit]
    except InvalidOperation:
        return None


def _chinese_value(text: str) -> Decimal | None:
    found = _CHINESE_AMOUNT.search(text.translate(_CHINESE_FOLD))
    if not found:
        return None
    try:
        integer = Decimal(int(cn2an.cn2an(found["integer"], "smart")))
    except (ValueError, KeyError, TypeError):
        return None
    jiao = _CHINESE_DIGITS.get(found["jiao"] or "零", 0)
    fen = _CHINESE_DIGITS.get(found["fen"] or "零", 0)
    return integer + Decimal(jiao) / 10 + Decimal(fen) / 100


def _tax_flag(text: str) -> bool | None:
    if _NOT_TAXED.search(text):
        return False
    if _TAXED.search(text):
        return True
    return None


def _to_cents(value: Decimal) -> Decimal:
    # Keep the written precision when it is finer than a cent (a unit price of 0.125 元), else show cents.
    cents = value.quantize(CENT)
    return cents if cents == value else value


# --- dates -----------------------------------------------------------------------------------------------

_DATE = re.compile(
    r"(?P<year>(?:19|20)\d{2})\s*(?:年|[-/.])\s*(?P<month>\d{1,2})\s*(?:月|[-/.])\s*(?P<day>\d{1,2})(?!\d)\s*日?"
    r"(?:\s*(?P<noon>上午|下午|晚上|凌晨)?\s*(?P<hour>\d{1,2})\s*(?:[:：]|点|时)\s*(?P<minute>\d{1,2})?\s*分?"
    r"(?:\s*[:：]\s*(?P<second>\d{1,2})\s*秒?)?)?"
)
_MONTH_DAY = re.compile(
    r"(?<!\d)(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日"
    r"(?:\s*(?P<noon>上午|下午|晚上|凌晨)?\s*(?P<hour>\d{1,2})\s*(?:[:：]|点|时)\s*(?P<minute>\d{1,2})?)?"
)
_TIME_ONLY = re.compile(r"(?P<noon>上午|下午|晚上|凌晨)?\s*(?P<hour>\d{1,2})\s*(?:[:：]|点|时)\s*(?P<minute>\d{1,2})?")
_RANGE_SPLIT = re.compile(r"至|到|～|~|—|－－")


def parse_datetime(raw: str | None) -> datetime | None:
    """The first date in ``raw`` (with its time when written) as an aware Asia/Shanghai datetime."""
    if not raw:
        return None
    text = unicodedata.normalize("NFKC", raw)
    for found in _DATE.finditer(text):
        parsed = _build(found["year"], found["month"], found["day"], found)
        if parsed is not None:
            return parsed
    return None


def parse_date_range(raw: str | None) -> tuple[datetime | None, datetime | None] | None:
    """``2023年11月02日09:00至2023年11月13日10:00`` → (start, end); None when no date is written.

    The end may omit the year (``7月8日``) or the whole date (``09:00至11:30``): both are taken from the start.
    """
    if not raw:
        return None
    text = unicodedata.normalize("NFKC", raw)
    parts = _RANGE_SPLIT.split(text, maxsplit=1)
    start = parse_datetime(parts[0])
    if len(parts) == 1:
        return (start, None) if start else None
    end = parse_datetime(parts[1])
    if end is None and start is not None:
        end = _end_from_start(parts[1], start)
    if start is None and end is None:
        return None
    return start, end


def _end_from_start(text: str, start: datetime) -> datetime | None:
    found = _MONTH_DAY.search(text)
    if found:
        return _build(str(start.year), found["month"], found["day"], found)
    found = _TIME_ONLY.match(text.strip())
    if found:
        return _build(str(start.year), str(start.month), str(start.day), found)
    return None


def _build(year: str, month: str, day: str, time: re.Match[str]) -> datetime | None:
    groups = time.groupdict()
    hour = int(groups["hour"]) if groups.get("hour") else 0
    minute = int(groups["minute"]) if groups.get("minute") else 0
    second = int(groups["second"]) if groups.get("second") else 0
    if groups.get("noon") in ("下午", "晚上") and hour < 12:
        hour += 12
    extra_day = hour == 24 and minute == 0 and second == 0  # 24:00 is the end of that day
    if extra_day:
        hour = 0
    try:
        value = datetime(int(year), int(month), int(day), hour, minute, second, tzinfo=SHANGHAI)
    except ValueError:
        return None
    return value + timedelta(days=1) if extra_day else value
