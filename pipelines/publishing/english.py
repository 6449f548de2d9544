"""English for analysts without a translation server: names of buyers and suppliers, and a headline per match.

A name is rendered, in order of trust: the listed-party data (``pipelines/matching/parties.toml``), the reviewed
institution table (``institutions.toml``), then by rule — place names (``pipelines/national/regions.py``),
institution and company suffixes and common words, and pinyin (pypinyin) for what remains. The headline is built
from the extracted facts (notice type, quantities, models and their restriction, the amount and what it is), never
from the Chinese title, so it needs no machine translation.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from pypinyin import lazy_pinyin

from pipelines.matching.parties import Identifier, read_parties
from pipelines.national.regions import CITIES, PROVINCES

INSTITUTIONS_PATH = Path(__file__).with_name("institutions.toml")

# Longest first where one contains another. Words, not sentences: these render a name's parts.
_WORDS = {
    "股份有限公司": "Co., Ltd.", "有限责任公司": "Co., Ltd.", "有限公司": "Co., Ltd.", "集团": "Group",
    "研究院": "Research Institute", "研究所": "Institute", "研究中心": "Research Centre", "实验室": "Laboratory",
    "大学": "University", "学院": "College", "医院": "Hospital", "中心": "Centre", "学校": "School",
    "中学": "Middle School", "小学": "Primary School",
    "科技": "Technology", "技术": "Technology", "信息": "Information", "数字": "Digital", "智能": "Intelligent",
    "人工智能": "Artificial Intelligence", "计算": "Computing", "数据": "Data", "网络": "Network",
    "农业": "Agricultural",
    "工业": "Industrial", "电子": "Electronics", "软件": "Software", "通信": "Communications", "科学": "Science",
    "师范": "Normal", "理工": "Science and Technology", "医科": "Medical", "交通": "Jiaotong", "航空": "Aviation",
    "航天": "Astronautics", "财经": "Finance and Economics", "附属": "Affiliated", "第一": "First", "第二": "Second",
    "人民": "People's", "国家": "National", "中国": "China", "省": "Province", "市": "City", "区": "District",
    "县": "County", "局": "Bureau", "委员会": "Commission", "管理": "Management", "服务": "Services",
    "发展": "Development", "贸易": "Trading", "产业": "Industry", "设备": "Equipment", "系统": "Systems",
    "联合": "United", "创新": "Innovation", "实业": "Industrial", "部队": "Unit", "军医": "Military Medical",
    "解放军": "PLA", "中国人民解放军": "PLA", "空军": "Air Force", "海军": "Navy", "陆军": "Army",
    # A CAS institute's name starts with the academy's: word by word it read "China Science Yuan".
    "中国科学院": "Chinese Academy of Sciences", "与": "and", "设计": "Design", "工具": "Tools", "大数据": "Big Data",
}  # fmt: skip
_HAN = re.compile(r"[\u4e00-\u9fff]")


@cache
def _places() -> dict[str, str]:
    places = {p.name: p.en for p in PROVINCES} | {p.short: p.en for p in PROVINCES}
    places |= {c.name: c.en for c in CITIES} | {c.name.removesuffix("市"): c.en for c in CITIES}
    return places


@cache
def _institutions() -> dict[str, str]:
    document = tomllib.loads(INSTITUTIONS_PATH.read_text(encoding="utf-8"))
    return {_fold(k): v for k, v in document.get("institutions", {}).items()}


@cache
def _identifier() -> Identifier:
    return Identifier(read_parties())


def _fold(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def english_name(name: str | None) -> str | None:
    """The name in English: listed-party data, reviewed table, else rendered by rule (places, words, pinyin)."""
    if not name or not name.strip():
        return None
    who = _identifier().identify(name)
    if who.party is not None and who.relation == "itself":
        return who.party.name_en
    folded = _fold(name)
    if folded in _institutions():
        return _institutions()[folded]
    if not _HAN.search(folded):
        return folded
    if who.party is not None and who.listed:
        # A campus or department: the party's English name, then the rest rendered.
        rest = who.relation.split("(", 1)[-1].rstrip(")") if "(" in who.relation else ""
        return f"{who.party.name_en}, {render(rest)}" if rest else who.party.name_en
    return render(folded)


def render(text: str) -> str:
    """A rule-based English rendering: longest known place or word at each position, pinyin for the unknown runs."""
    places, words = _places(), _WORDS
    vocabulary = {**{k: v for k, v in places.items() if len(k) >= 2}, **words}
    longest = max(len(k) for k in vocabulary)
    parts: list[str] = []
    unknown = ""
    position = 0
    while position < len(text):
        for size in range(min(longest, len(text) - position), 0, -1):
            piece = text[position : position + size]
            if piece in vocabulary:
                break
        else:
            piece = ""
        if piece:
            if unknown:
                parts.append(_pinyin(unknown))
                unknown = ""
            parts.append(vocabulary[piece])
            position += len(piece)
        else:
            unknown += text[position]
            position += 1
    if unknown:
        parts.append(_pinyin(unknown))
    rendered = " ".join(p for p in parts if p)
    rendered = re.sub(r"\s+\(", " (", rendered.replace("(", " (").replace(")", ") "))
    return re.sub(r"\s+", " ", rendered).replace(" ,", ",").strip()


def _pinyin(run: str) -> str:
    if not _HAN.search(run):
        return run
    return "".join(lazy_pinyin(run)).capitalize()


# --- the headline ---------------------------------------------------------------------------------------------

_KIND = {
    "award": "Award", "deal": "Award", "contract": "Contract", "single_source": "Single-source notice",
    "open_tender": "Tender", "competitive_negotiation": "Tender", "competitive_consultation": "Tender",
    "inquiry": "Tender", "invited_tender": "Tender", "intent": "Purchase intent", "correction": "Correction",
    "termination": "Cancelled",
}  # fmt: skip
_WHAT = {
    "ai_chip": "AI accelerators", "cloud_compute": "remote GPU compute", "llm_tokens": "LLM tokens",
    "ai_compute_unspecified": "AI compute, chip not named",
}  # fmt: skip


def _short_money(value: Decimal | float | None) -> str | None:
    if value is None:
        return None
    amount = float(value)
    if amount >= 1_000_000:
        return f"CNY {amount / 1_000_000:.3g} M"
    if amount >= 1_000:
        return f"CNY {amount / 1_000:.3g} k"
    return f"CNY {amount:,.0f}"


def headline(row: dict) -> str:
    """E.g. "Award: 8 GPU servers with 64 × A800 (restricted since Oct 2023), CNY 13.9 M"."""
    kind = _KIND.get(row.get("notice_type") or "", row.get("notice_type_en") or "Notice")
    quantities = {}
    for quantity in row.get("quantities") or []:
        number, _, unit = str(quantity).partition(" ")
        quantities[unit] = max(quantities.get(unit, 0), int(number))
    models = row.get("models") or []
    since: date | None = row.get("restricted_since")
    model_text = "/".join(models)
    if model_text and since:
        model_text += f" (restricted since {since.strftime('%b %Y')})"
    categories = row.get("categories") or []
    if "ai_chip" in categories and models:
        cards, servers = quantities.get("card"), quantities.get("server")
        what = f"{cards} × {model_text}" if cards else model_text
        if servers:
            what = f"{servers} GPU server{'s' if servers > 1 else ''} with {what}"
    elif "cloud_compute" in categories:
        providers = "/".join(row.get("providers") or [])
        hours = quantities.get("card_hour")
        what = "remote GPU compute" + (f" ({hours:,} card-hours)" if hours else "")
        what += f" on {providers}" if providers else ""
        what += f" with {model_text}" if model_text else ""
    elif "llm_tokens" in categories:
        tokens = row.get("tokens")
        providers = "/".join(row.get("providers") or [])
        what = (f"{tokens:,} LLM tokens" if tokens else "LLM tokens") + (f" from {providers}" if providers else "")
    else:
        what = ", ".join(_WHAT.get(c, c) for c in categories) or "AI compute"
    money = _short_money(row.get("amount_cny"))
    amount_kind = {"budget": "budget ", "award": ""}.get(row.get("amount_kind") or "", "")
    return f"{kind}: {what}" + (f", {amount_kind}{money}" if money else "")
