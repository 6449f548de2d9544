"""What a hit says besides its rule: cards, servers, card hours, memory, tokens and amounts near it, and its clause.

Each function reads the normalized text around one hit ``[start, end)`` and returns None when nothing plausible
is written there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_CARDS_MULTIPLIER_BEFORE = re.compile(r"(?<![0-9.a-z])([0-9]{1,3}) ?(?:\*|x) ?[a-z\u4e00-\u9fff ]{0,14}$")
_CARDS_COUNT_BEFORE = re.compile(r"(?<![0-9.])([0-9]{1,4}) ?(?:块|张|片|颗|pcs|个)[^0-9,;:。，；、]{0,16}$")
_CARDS_MULTIPLIER_AFTER = re.compile(
    r"^[^,;。，；、*]{0,16}?(?:\*|(?<![a-z])(?<!pcie )x) ?([0-9]{1,3})"
    r"(?![0-9.]| ?(?:mm|cm|m(?![a-z])|gb?|tb|t(?![a-z])))"
)
_CARDS_COUNT_AFTER = re.compile(r"^[^,;。，；、]{0,20}?(?<![0-9.])([0-9]{1,4}) ?(?:块|张|片|颗|pcs)")
_QUANTITY_FIELD_AFTER = re.compile(r"数量[:]?([0-9]{1,4}) ?(块|张|片|颗|个|台|套)?")
_CARDS_PER_SERVER = re.compile(r"(?<![0-9])([0-9]{1,2}) ?卡(?!通|片|号|座)")
# English specifications (attachments) count machines as units or nodes and say "each unit: 8 x …".
_SERVERS = re.compile(
    r"(?<![0-9.])([0-9]{1,4}) ?(?:台|个节点|节点|(?:units?|nodes?|servers?)(?![a-z]))(?!账|式|灯|班|风)"
)
_PER_SERVER = re.compile(r"每台|单台|每节点|单节点|每个节点|/台|每套|单机|(?:each|per) (?:unit|node|server)(?![a-z])")
# "服务器2台，每台配置8块A800": the cards of each machine, in the clause right after the machine count, and only when
# a GPU or accelerator is what is counted, right after the count (每台配置2颗CPU, 每台8块SSD are not cards).
_CARDS_EACH_MACHINE = re.compile(
    r"[,(]?(?:每台|单台|每节点|单节点|每个节点|单机)均?[^,;。，；、0-9]{0,6}?"
    r"(?<![0-9.])([0-9]{1,2}) ?(?:块|张|片|颗|个|卡)"
    r" ?(?:nvidia|英伟达|tesla)? ?(?:gpu|显卡|加速卡|计算卡|geforce|rtx|[ahlb][0-9]{2,3}(?![0-9]))"
)
_CARD_HOURS = re.compile(r"(?<![0-9.])([0-9]+(?:\.[0-9]+)?) ?(万)? ?(?:卡时|gpu ?时|卡·?小时)")
_MEMORY_AFTER = re.compile(r"^[^,;。，；、]{0,12}?(?<![0-9.])([0-9]{2,3}) ?g(?:b)?(?![a-z0-9])")
_MEMORY_LABELLED = re.compile(r"显存(?:容量)?[:]?(?:≥|>=)?([0-9]{2,3}) ?g(?:b)?(?![a-z0-9])")
_PLAUSIBLE_MEMORY = range(8, 300)
_TOKENS_NUMBER_FIRST = re.compile(
    r"(?<![0-9./每])([0-9]+(?:\.[0-9]+)?|[一二两三四五六七八九十][零一二两三四五六七八九十百千万亿]*)"
    r" ?(亿|千万|百万|万|千|(?<![a-z])[kmb])? ?个? ?tokens?(?![a-z])"
)
_TOKENS_LABEL_FIRST = re.compile(
    r"tokens?(?:数量|总量|额度|用量|调用量|资源包)?[^0-9一二两三四五六七八九十,;。，；]{0,6}"
    r"([0-9]+(?:\.[0-9]+)?) ?(亿|千万|百万|万|千|(?<![a-z])[kmb])?"
)
_TOKEN_UNITS = {"亿": 10**8, "千万": 10**7, "百万": 10**6, "万": 10**4, "千": 10**3, "k": 10**3, "m": 10**6, "b": 10**9}
_AMOUNT = re.compile(r"(?<![0-9.,])([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))? ?(万元|元)(?!/)")
_AMOUNT_SYMBOL = re.compile(r"(?:[¥￥]|人民币) ?([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))? ?(万元|元)?(?!/)")
# A labelled amount ("中标金额(万元):186"), but not a table's header cell followed by the first row's number
# ("单价(元)1|计算加速卡|…", once normalization has joined the lines): a number that ends at a cell mark is a cell.
_AMOUNT_LABELLED = re.compile(r"\((万元|元)\)[:]?([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?(?![0-9.,]| ?\|)")


def nearest_match(matches: Iterable[re.Match[str]], start: int, end: int) -> re.Match[str] | None:
    best, best_distance = None, None
    for match in matches:
        distance = (
            0
            if match.start() < end and match.end() > start
            else min(abs(match.start() - end), abs(start - match.end()))
        )
        if best_distance is None or distance < best_distance:
            best, best_distance = match, distance
    return best


def quantity_near(text: str, start: int, end: int) -> tuple[int | None, str | None]:
    """Cards or servers near a chip hit, e.g. "服务器2台，每台配置8块A800" → (16, "card")."""
    before = text[max(start - 24, 0) : start]
    after = text[end : end + 30]
    cards = None
    cards_per_machine = False
    for regex, source in (
        (_CARDS_MULTIPLIER_BEFORE, before),
        (_CARDS_COUNT_BEFORE, before),
        (_CARDS_MULTIPLIER_AFTER, after),
        (_CARDS_COUNT_AFTER, after),
    ):
        if found := regex.search(source):
            cards = int(found.group(1))
            cards_per_machine = regex in (_CARDS_MULTIPLIER_BEFORE, _CARDS_MULTIPLIER_AFTER)
            break
    # An item-table row "GPU服务器 | NF5488A5（8×A800） | 8台": the ×8 configures each machine of the row.
    machines = _machines_later_in_row(text, end) if cards_per_machine else None
    if machines:
        return cards * machines, "card"
    servers = None
    field_quantity = _QUANTITY_FIELD_AFTER.search(text, end, end + 60)
    if cards is None and field_quantity:
        if field_quantity.group(2) in ("台", "套"):
            servers = int(field_quantity.group(1))
        else:
            cards = int(field_quantity.group(1))
    server_window_start = max(start - 50, 0)
    server_counts = list(_SERVERS.finditer(text, server_window_start, min(end + 30, len(text))))
    server_match = nearest_match(server_counts, start, end)
    if servers is None and server_match:
        servers = int(server_match.group(1))
    if cards is None and server_match and (each := _CARDS_EACH_MACHINE.match(text, server_match.end())):
        return int(each.group(1)) * int(server_match.group(1)), "card"
    per_server_match = nearest_match(_CARDS_PER_SERVER.finditer(text, max(start - 30, 0), end + 30), start, end)
    per_server_cards = int(per_server_match.group(1)) if per_server_match else None
    said_per_server = bool(_PER_SERVER.search(text, server_window_start, end + 10))
    if cards and servers and (said_per_server or per_server_cards == cards):
        return cards * servers, "card"
    if cards:
        return cards, "card"
    if per_server_cards and servers:
        return per_server_cards * servers, "card"
    if per_server_cards:
        return per_server_cards, "card"
    if servers:
        return servers, "server"
    return None, None


_MACHINE_CELL = re.compile(r"([0-9]{1,4}) ?(?:台|套)")


def _machines_later_in_row(text: str, end: int) -> int | None:
    """The machine count of an item-table row (cells joined by "|"), from a cell after the hit's own cell."""
    row_start = text.rfind("\n", 0, end) + 1
    row_end = text.find("\n", end)
    row_end = len(text) if row_end < 0 else row_end
    if "|" not in text[row_start:row_end]:
        return None
    for cell in text[end:row_end].split("|")[1:]:
        if found := _MACHINE_CELL.fullmatch(cell.strip()):
            return int(found.group(1))
    return None


def card_hours_near(text: str, start: int, end: int, window: int) -> int | None:
    found = nearest_match(_CARD_HOURS.finditer(text, max(start - window, 0), end + window), start, end)
    if not found:
        return None
    value = float(found.group(1)) * (10**4 if found.group(2) else 1)
    return int(value)


def memory_near(text: str, start: int, end: int) -> str | None:
    found = _MEMORY_AFTER.search(text[end : end + 24]) or _MEMORY_LABELLED.search(text, max(start - 30, 0), end + 40)
    if found and int(found.group(1)) in _PLAUSIBLE_MEMORY:
        return f"{int(found.group(1))}GB"
    return None


def _number(digits: str) -> float | None:
    try:
        return float(digits)
    except ValueError:
        try:
            import cn2an  # imported when a Chinese numeral is met: it compiles its patterns on import (~0.4 s)

            return float(cn2an.cn2an(digits, "smart"))
        except (ValueError, KeyError, TypeError):
            return None


def tokens_near(text: str, start: int, end: int, window: int) -> int | None:
    """Token quantity near an LLM hit: "4000万tokens" → 40000000, "1亿tokens" → 100000000."""
    low, high = max(start - window, 0), min(end + window, len(text))
    candidates = [*_TOKENS_NUMBER_FIRST.finditer(text, low, high), *_TOKENS_LABEL_FIRST.finditer(text, low, high)]
    found = nearest_match(candidates, start, end)
    if not found:
        return None
    value = _number(found.group(1))
    if value is None:
        return None
    value *= _TOKEN_UNITS.get(found.group(2) or "", 1)
    return int(value) if value >= 1 else None


def amount_near(text: str, start: int, end: int) -> float | None:
    """A CNY amount near the hit (unit price, budget or award amount)."""
    low, high = max(start - 80, 0), min(end + 80, len(text))
    candidates = []
    for regex in (_AMOUNT, _AMOUNT_SYMBOL):
        for found in regex.finditer(text, low, high):
            candidates.append((found, found.group(1), found.group(2), found.group(3)))
    for found in _AMOUNT_LABELLED.finditer(text, low, high):
        candidates.append((found, found.group(2), found.group(3), found.group(1)))
    best = nearest_match((candidate[0] for candidate in candidates), start, end)
    if best is None:
        return None
    _, integer, decimals, unit = next(c for c in candidates if c[0] is best)
    value = float(integer.replace(",", "") + (f".{decimals}" if decimals else ""))
    value *= 10_000 if unit == "万元" else 1
    return round(value, 2) if value > 0 else None


_CLAUSE_ENDS = "。;\n"


def clause_around(text: str, start: int, end: int, window: int) -> tuple[int, int]:
    """The window of ``window`` characters around ``[start, end)``, cut at sentence and list-item ends."""
    low, high = max(start - window, 0), min(end + window, len(text))
    for mark in _CLAUSE_ENDS:
        found = text.rfind(mark, low, start)
        if found >= 0:
            low = max(low, found + 1)
        found = text.find(mark, end, high)
        if found >= 0:
            high = min(high, found)
    return low, high
