"""Text normalization for matching, with a map back to the original text.

Rules in ``rules.toml`` are written against the *normalized* form of a notice, so one pattern covers the many ways
the same thing is typed in real notices:

- NFKC per character: full-width letters, digits and punctuation become ASCII (``Ａ１００`` → ``a100``, ``（`` → ``(``);
- case-folding (``RTX`` → ``rtx``);
- multiplication signs ``×`` ``✕`` ``✖`` ``⨯`` ``∗`` ``＊`` become ``*`` (``A800×8`` → ``a800*8``);
- separator runs (spaces, tabs, newlines, hyphens, underscores, dashes) become one space between two ASCII letters
  or digits (``RTX-4090`` / ``RTX 4090`` → ``rtx 4090``; a pattern writes ``rtx ?4090``), except that a hyphen
  between two digits stays a hyphen (``GB 200-2003`` keeps the standard's year apart from its number); next to
  anything else (Chinese, punctuation) they are dropped (``8 卡`` → ``8卡``, ``8 * A800`` → ``8*a800``);
- Chinese numerals directly before a counting word become digits (``八卡`` → ``8卡``, ``两台`` → ``2台``), except a
  lone ``一`` (``一卡通``, ``统一台账`` are words, not counts).

Every character of the normalized text keeps the position of the original character it came from, so a hit found
in the normalized text is quoted from the original text (``NormalizedText.original_span``).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

# Full-width ASCII (U+FF01..FF5E) maps one to one onto ASCII under NFKC; translating it up front keeps the common
# case (Chinese text with full-width punctuation) on the fast, length-preserving path.
_FULLWIDTH_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_MULTIPLICATION_SIGNS = {"×": "*", "✕": "*", "✖": "*", "⨯": "*", "∗": "*", "╳": "*"}

_SPECIAL = re.compile(
    # Separators: whitespace (incl. U+3000, NBSP), hyphens and dashes of every width, underscores.
    r"(?P<sep>[\s\-_\u00ad\u2010-\u2015\u2212\ufe58\ufe63\uff0d\uff3f]+)"
    # Chinese numerals right before a counting word (optionally across spaces).
    r"|(?P<num>[零〇一二两三四五六七八九十百千]+)(?=\s*(?:[张块台卡片颗套]|个?节点))"
    # Anything outside ASCII, CJK ideographs and the CJK punctuation NFKC leaves alone may change under NFKC.
    r"|(?P<odd>[^\x00-\x7f\u4e00-\u9fff\u3001\u3002\u3008-\u3011\u2018\u2019\u201c\u201d\u00b7])"
)
_HYPHENS = frozenset("-\u00ad\u2010\u2011\u2012\u2013\u2212\ufe63\uff0d")
_SINGLE_CHARACTER_WORDS = frozenset("一〇零")


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """NFKC + case-fold one character, with multiplication signs unified to ``*``."""
    if char in _MULTIPLICATION_SIGNS:
        return _MULTIPLICATION_SIGNS[char]
    folded = unicodedata.normalize("NFKC", char).casefold()
    return "".join(_MULTIPLICATION_SIGNS.get(c, c) for c in folded)


_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _chinese_count(numeral: str) -> str | None:
    if numeral in _SINGLE_CHARACTER_WORDS:
        return None
    try:
        import cn2an  # imported when a Chinese numeral is met: it compiles its patterns on import (~0.4 s)

        value = cn2an.cn2an(numeral, "smart")
    except (ValueError, KeyError, TypeError):
        return None
    return str(int(value))


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """Normalized text plus the segments that map it back onto the original.

    A segment is either *linear* (normalized characters correspond one to one to original characters) or a
    replacement (its normalized characters all come from one original run, e.g. ``两`` → ``2`` or ``…`` → ``...``).
    """

    original: str
    text: str
    _norm_starts: tuple[int, ...]
    _orig_starts: tuple[int, ...]
    _orig_ends: tuple[int, ...]
    _linear: tuple[bool, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that the normalized span ``[start, end)`` came from."""
        if not self.text or end <= start:
            position = self._original_position(min(start, max(len(self.text) - 1, 0)), at_end=False)
            return position, position
        return self._original_position(start, at_end=False), self._original_position(end - 1, at_end=True)

    def _original_position(self, index: int, *, at_end: bool) -> int:
        if not self._norm_starts:
            return 0
        segment = max(bisect_right(self._norm_starts, index) - 1, 0)
        if self._linear[segment]:
            position = self._orig_starts[segment] + (index - self._norm_starts[segment])
            return position + 1 if at_end else position
        return self._orig_ends[segment] if at_end else self._orig_starts[segment]

    def original_text(self, start: int, end: int) -> str:
        """The original text behind the normalized span ``[start, end)``."""
        original_start, original_end = self.original_span(start, end)
        return self.original[original_start:original_end]

    def snippet(self, start: int, end: int, radius: int = 40) -> str:
        """The original text around the normalized span ``[start, end)``, about ``radius`` characters each side, cut
        where no number, model name or ASCII word is split (``snippet_bounds``)."""
        original_start, original_end = self.original_span(start, end)
        low, high = snippet_bounds(self.original, original_start, original_end, radius)
        return self.original[low:high].strip()


# Characters of a number, a model name or an ASCII word (full-width forms included), and the marks that join two
# such runs into one when they sit between them: 1,395.00 / 8×A800 / SXM5-80G / 2026-11-24 / 10:30.
_WORD_CHARS = frozenset(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    + "".join(chr(c) for c in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)))
)
_WORD_JOINERS = frozenset(".,:/-_+×*＊．，：／－")
# A word longer than this is cut rather than quoted whole (a URL, a hash): the snippet stays short.
_LONGEST_COMPLETED = 16


def _splits_word(text: str, cut: int) -> bool:
    """Whether cutting ``text`` before position ``cut`` splits a number, a model name or an ASCII word."""
    if cut <= 0 or cut >= len(text):
        return False
    before, after = text[cut - 1], text[cut]
    if before in _WORD_CHARS and after in _WORD_CHARS:
        return True
    if before in _WORD_JOINERS and after in _WORD_CHARS:
        return cut >= 2 and text[cut - 2] in _WORD_CHARS
    if after in _WORD_JOINERS and before in _WORD_CHARS:
        return cut + 1 < len(text) and text[cut + 1] in _WORD_CHARS
    return False


def snippet_bounds(text: str, start: int, end: int, radius: int) -> tuple[int, int]:
    """``[low, high)`` of a quote of ``text[start:end]`` with about ``radius`` characters each side, never cutting a
    number, a model name or an ASCII word: a cut word is completed when it is short, else left out."""
    low, high = max(start - radius, 0), min(end + radius, len(text))
    if _splits_word(text, low):
        completed = low
        while completed > 0 and low - completed < _LONGEST_COMPLETED and _splits_word(text, completed):
            completed -= 1
        if _splits_word(text, completed):  # too long to complete: leave the piece out
            while low < start and _splits_word(text, low):
                low += 1
        else:
            low = completed
    if _splits_word(text, high):
        completed = high
        while completed < len(text) and completed - high < _LONGEST_COMPLETED and _splits_word(text, completed):
            completed += 1
        if _splits_word(text, completed):
            while high > end and _splits_word(text, high):
                high -= 1
        else:
            high = completed
    return low, high


class _Builder:
    """Accumulates normalized pieces and the segments mapping them back to the original."""

    __slots__ = ("pieces", "length", "norm_starts", "orig_starts", "orig_ends", "linear", "last_char")

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.length = 0
        self.norm_starts: list[int] = []
        self.orig_starts: list[int] = []
        self.orig_ends: list[int] = []
        self.linear: list[bool] = []
        self.last_char = ""

    def add(self, piece: str, orig_start: int, orig_end: int, *, linear: bool) -> None:
        if not piece:
            return
        if linear and self.linear and self.linear[-1] and self.orig_ends[-1] == orig_start:
            # Extend the previous linear segment instead of starting a new one: keeps the map small.
            self.orig_ends[-1] = orig_end
        else:
            self.norm_starts.append(self.length)
            self.orig_starts.append(orig_start)
            self.orig_ends.append(orig_end)
            self.linear.append(linear)
        self.pieces.append(piece)
        self.length += len(piece)
        self.last_char = piece[-1]


def normalize(text: str) -> NormalizedText:
    """Normalize ``text`` for matching (see the module docstring) and keep the map back to ``text``."""
    source = text.translate(_FULLWIDTH_TO_ASCII)
    out = _Builder()
    position = 0
    for match in _SPECIAL.finditer(source):
        start, end = match.span()
        if start > position:
            out.add(source[position:start].lower(), position, start, linear=True)
        kind = match.lastgroup
        if kind == "sep":
            following = source[end] if end < len(source) else ""
            following = following.lower() if following.isascii() else _fold_char(following)[:1]
            if out.last_char in _ASCII_ALNUM and following in _ASCII_ALNUM:
                both_digits = out.last_char.isdigit() and following.isdigit()
                glue = "-" if both_digits and any(c in _HYPHENS for c in match.group()) else " "
                out.add(glue, start, end, linear=False)
        elif kind == "num":
            digits = _chinese_count(match.group())
            if digits is None:
                out.add(match.group(), start, end, linear=True)
            else:
                out.add(digits, start, end, linear=False)
        else:
            folded = _fold_char(match.group())
            out.add(folded, start, end, linear=len(folded) == 1)
        position = end
    if position < len(source):
        out.add(source[position:].lower(), position, len(source), linear=True)
    return NormalizedText(
        original=text,
        text="".join(out.pieces),
        _norm_starts=tuple(out.norm_starts),
        _orig_starts=tuple(out.orig_starts),
        _orig_ends=tuple(out.orig_ends),
        _linear=tuple(out.linear),
    )


def normalize_text(text: str) -> str:
    """Only the normalized string (for writing and checking rule patterns)."""
    return normalize(text).text
