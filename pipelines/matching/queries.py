"""What to ask the portals for, and which list titles are worth a detail fetch.

Two uses of the same vocabulary:

- ``search_terms()``: keywords for portal searches (ccgp ``bxsearch``): the chip models and provider names of
  ``rules.toml`` plus a curated list of purchase words (算力, GPU服务器, 云服务, 大模型, tokens…);
- ``title_may_match(title)``: a cheap test on a list title, used to skip the detail page of notices that cannot be
  purchases of chips or remote compute (a canteen, a road repair). It errs on the side of fetching: a generic
  title ("实验室建设项目中标公告") still loses its notice, which is why the prefilter is a choice, not a default
  everywhere (``docs/decisions.md``).

Only the ``name`` of ``[[models]]`` and ``[[providers]]`` is read from the rules file, so its other tables and keys
may change freely; a missing or unreadable file leaves the curated lists.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from functools import lru_cache
from pathlib import Path

RULES_PATH = Path(__file__).with_name("rules.toml")

# Search keywords beyond the rules' model and provider names: how purchases of chips, rented compute and LLM
# tokens are titled and described. Each costs one search (and its pages) per crawl, so the list stays short.
CURATED_SEARCH_TERMS: tuple[str, ...] = (
    "算力", "智算", "GPU", "GPU服务器", "显卡", "加速卡", "计算卡", "训练卡", "推理卡", "英伟达", "NVIDIA",
    "A100", "H100", "H800", "A800", "H20", "4090",
    "云服务", "云服务器", "算力租赁", "海外云", "AWS", "亚马逊云", "Azure", "微软云", "谷歌云",
    "大模型", "tokens", "API调用", "OpenAI", "ChatGPT", "Claude",
)  # fmt: skip

# Title words that make a detail fetch worthwhile, beyond every search term: kinds of equipment and services that
# carry GPUs or remote compute, and the words of procurement plans that list many items under one title.
TITLE_WORDS: tuple[str, ...] = (
    "gpu", "显卡", "图形", "加速", "计算", "算力", "智算", "超算", "服务器", "工作站", "一体机", "集群", "机柜",
    "数据中心", "云服务", "云计算", "云资源", "云主机", "云端", "云平台", "云账号", "云科技",
    "模型", "智能", "人工智能", "ai", "深度学习", "机器学习", "训练", "推理", "芯片", "token",
    "api", "接口", "账号", "订阅", "英伟达", "nvidia", "信息化", "数字化", "实验室", "平台", "意向", "竞价",
    "compute", "cloud",
)  # fmt: skip

# Search keywords shorter than this are too ambiguous for a full-text search (L4 is a floor, a road class…).
MIN_SEARCH_TERM_LENGTH = 3

_SEPARATORS = re.compile(r"[\s\-_·•/]+")


def fold(text: str) -> str:
    """NFKC, case-folded, separator runs as one space: ``ＲＴＸ-4090`` → ``rtx 4090``."""
    return _SEPARATORS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _names(table: object) -> list[str]:
    """The ``name`` strings of an array of tables, ignoring anything else found there."""
    if not isinstance(table, list):
        return []
    return [entry["name"].strip() for entry in table if isinstance(entry, dict) and isinstance(entry.get("name"), str)]


@lru_cache(maxsize=4)
def rules_vocabulary(path: Path = RULES_PATH) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(chip model names, provider names) from the rules file; empty when it cannot be read."""
    try:
        rules = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return (), ()
    return tuple(_names(rules.get("models"))), tuple(_names(rules.get("providers")))


def search_terms(path: Path = RULES_PATH) -> list[str]:
    """Keywords for portal searches: curated terms, then the rules' models and providers; each once."""
    models, providers = rules_vocabulary(path)
    seen: set[str] = set()
    terms = []
    for term in (*CURATED_SEARCH_TERMS, *models, *providers):
        key = fold(term)
        if len(key) < MIN_SEARCH_TERM_LENGTH and term not in CURATED_SEARCH_TERMS:
            continue
        if key and key not in seen:
            seen.add(key)
            terms.append(term)
    return terms


def _term_pattern(term: str) -> str:
    """A folded term as a regex; short ASCII codes must not be part of a longer word (``ai`` in ``mail``)."""
    # A space in a term (``rtx 4090``) also matches the spelling without it (``rtx4090``).
    escaped = re.escape(term).replace(r"\ ", " ?")
    if not term.isascii():
        return escaped
    left = "(?<![a-z])" if term[0].isalpha() else "(?<![0-9])"
    if len(term) > 3:
        return left + escaped
    right = "(?![a-z])" if term[-1].isalpha() else "(?![0-9])"
    return left + escaped + right


@lru_cache(maxsize=4)
def _title_pattern(path: Path = RULES_PATH) -> re.Pattern[str]:
    models, providers = rules_vocabulary(path)
    terms = {fold(t) for t in (*TITLE_WORDS, *CURATED_SEARCH_TERMS, *models, *providers)} - {""}
    # Longest first, so the alternation reports the most specific word (only truthiness is used, but it helps
    # when debugging with ``.group()``).
    return re.compile("|".join(_term_pattern(t) for t in sorted(terms, key=lambda t: (-len(t), t))))


def title_may_match(title: str | None, path: Path = RULES_PATH) -> bool:
    """Whether a notice with this list title might be a purchase the matcher looks for (cheap, generous).

    An empty title passes: without a title nothing can be ruled out.
    """
    if not title or not title.strip():
        return True
    return _title_pattern(path).search(fold(title)) is not None
