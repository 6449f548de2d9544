"""The fast path of matching: can a raw text match any rule at all, decided without normalizing it.

Most notices are about furniture, works or services: no rule pattern occurs in their normalized text, so they yield
no hit whatever their context, and normalizing them (with the map back to the original, ``folding.normalize``) is
wasted. This module reads the rule patterns once and keeps, for each, a set of *anchors*: literal strings of which
every match contains at least one (``gpu ?服务器`` → ``gpu服务器``, ``gpu 服务器``; ``{mem80}`` → ``80g``, ``80 g``).
Each anchor is then rewritten for the RAW text: a letter also matches its upper-case and full-width forms, a digit
its full-width form, and a separator run may sit wherever normalization would drop or collapse one (between two
characters that are not both ASCII letters or digits, and where the anchor has a space). All raw anchors make one
trie-shaped regex; searching it over a field's raw text is a necessary condition for a rule pattern to occur in the
field's normalized text, because every character of the normalized text comes, in order, from a raw character
that the anchor's class accepts, with only separators dropped in between. Two steps of normalization break that:

- NFKC (``①`` → ``1``, ``㎡`` → ``m2``, ``×`` → ``*``): the few such characters are folded in place first, exactly
  as normalization folds them (most texts have none, and those that have some have few);
- Chinese numerals before a counting word become digits (``八卡`` → ``8卡``): the regex also matches such a
  numeral, so the text takes the full path.

A pattern for which no anchor can be derived (one that can match an unbounded variety of strings) makes every text
take the full path. Only rule patterns count, not modifiers: a modifier alone yields no hit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pipelines.matching.folding import _fold_char

# The characters normalization treats as separators (folding._SPECIAL's "sep" group).
_SEPARATOR_CLASS = r"\s\-_\u00ad\u2010-\u2015\u2212\ufe58\ufe63\uff0d\uff3f"
_SEPARATOR = re.compile(f"[{_SEPARATOR_CLASS}]")
# Characters left alone by normalization apart from full-width forms (folding._SPECIAL's complement of "odd").
_PLAIN_CLASS = r"\x00-\x7f\u4e00-\u9fff\u3001\u3002\u3008-\u3011\u2018\u2019\u201c\u201d\u00b7\uff01-\uff5e"
# Characters normalization folds through NFKC and case-folding (folding._SPECIAL's "odd" group).
_FOLDED = re.compile(f"[^{_PLAIN_CLASS}{_SEPARATOR_CLASS}]")
# Chinese numerals that normalization turns into digits (folding._SPECIAL's "num" group); a lone 一, 〇 or 零 is a
# word (一卡通), left as it is.
_NUMERAL_BEFORE_COUNTER = (
    r"(?:[零〇一二两三四五六七八九十百千]{2,}|[二两三四五六七八九十百千])(?=\s*(?:[张块台卡片颗套]|个?节点))"
)
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
# An anchor set larger than this is not worth expanding: a shorter anchor elsewhere in the pattern serves.
_MAX_STRINGS = 64


def anchor_strings(pattern: str) -> list[str] | None:
    """Literal strings of which every match of ``pattern`` contains one (in normalized text), or None.

    Reads the parsed regex (the standard library's parser). Zero-width assertions are ignored (dropping them only
    widens what can match); a construct it cannot bound contributes nothing, and a pattern with no bounded part at
    all gives None.
    """
    from re import _parser as parser

    try:
        parsed = parser.parse(pattern)
    except re.error:
        return None
    required = _required(list(parsed.data))
    if not required:
        return None
    anchors = sorted({anchor.strip(" -") for anchor in required})
    return None if "" in anchors else anchors


def _exact(items: Sequence[Any]) -> set[str] | None:
    """Every string the sequence can match, when that is a small finite set."""
    strings = {""}
    for op, argument in items:
        options = _exact_item(op, argument)
        if options is None:
            return None
        strings = {prefix + option for prefix in strings for option in options}
        if len(strings) > _MAX_STRINGS:
            return None
    return strings


def _exact_item(op: Any, argument: Any) -> set[str] | None:
    from re import _constants as constants

    if op in (constants.AT, constants.ASSERT, constants.ASSERT_NOT):
        return {""}
    if op is constants.LITERAL:
        return {chr(argument)}
    if op is constants.IN:
        characters: set[str] = set()
        for kind, value in argument:
            if kind is constants.LITERAL:
                characters.add(chr(value))
            elif kind is constants.RANGE and value[1] - value[0] < 8:
                characters.update(chr(code) for code in range(value[0], value[1] + 1))
            else:
                return None
        return characters
    if op is constants.SUBPATTERN:
        if argument[1] & constants.SRE_FLAG_IGNORECASE:
            return None
        return _exact(list(argument[3].data))
    if op is constants.BRANCH:
        strings: set[str] = set()
        for branch in argument[1]:
            options = _exact(list(branch.data))
            if options is None:
                return None
            strings |= options
        return strings if len(strings) <= _MAX_STRINGS else None
    if op in (constants.MAX_REPEAT, constants.MIN_REPEAT):
        minimum, maximum, body = argument
        if maximum > 2:
            return None
        once = _exact(list(body.data))
        if once is None:
            return None
        strings = {""} if minimum == 0 else set()
        power = {""}
        for count in range(1, maximum + 1):
            power = {prefix + option for prefix in power for option in once}
            if count >= minimum:
                strings |= power
        return strings if len(strings) <= _MAX_STRINGS else None
    return None


def _required(items: Sequence[Any]) -> set[str] | None:
    """Non-empty strings of which every match of the sequence contains one; None when none can be told."""
    from re import _constants as constants

    candidates: list[set[str]] = []
    run: set[str] = set()

    def close_run() -> None:
        if run and "" not in run:
            candidates.append(set(run))
        run.clear()

    for op, argument in items:
        options = _exact_item(op, argument)
        if options is not None:
            grown = {prefix + option for prefix in run or {""} for option in options}
            if len(grown) > _MAX_STRINGS:
                # Too many spellings: what the run has so far is one candidate, and a new run starts here.
                close_run()
                grown = set(options)
            run.clear()
            run.update(grown)
            continue
        close_run()
        inner: set[str] | None = None
        if op is constants.SUBPATTERN and not argument[1] & constants.SRE_FLAG_IGNORECASE:
            inner = _required(list(argument[3].data))
        elif op is constants.BRANCH:
            union: set[str] = set()
            for branch in argument[1]:
                found = _required(list(branch.data))
                if found is None:
                    union = set()
                    break
                union |= found
            inner = union or None
        elif op in (constants.MAX_REPEAT, constants.MIN_REPEAT, constants.POSSESSIVE_REPEAT) and argument[0] >= 1:
            inner = _required(list(argument[2].data))
        if inner:
            candidates.append(inner)
    close_run()
    # The most selective: the longest shortest anchor, then the longest on average.
    return max(candidates, key=_selectivity, default=None)


def _selectivity(strings: set[str]) -> tuple[int, float]:
    return min(map(len, strings)), sum(map(len, strings)) / len(strings)


def _raw_class(character: str) -> str:
    """The raw characters normalization turns into ``character`` without NFKC (case and full width)."""
    forms = {character}
    if character.isascii():
        forms |= {character.upper(), character.lower()}
    forms |= {chr(ord(form) + 0xFEE0) for form in list(forms) if 0x21 <= ord(form) <= 0x7E}
    if character == "*":
        forms |= set("×✕✖⨯∗╳")
    return "[" + "".join(re.escape(form) for form in sorted(forms)) + "]"


class RawAnchors:
    """The anchors of every rule pattern as one regex over raw text: a text it finds nothing in cannot yield a hit."""

    def __init__(self, patterns: Iterable[str], compile_alternation: Callable[[list[str]], re.Pattern[str]]) -> None:
        """``compile_alternation`` compiles a list of regexes into one that finds any of them (the rules' prefilter
        compiler, which dispatches on the first character)."""
        self._compile_alternation = compile_alternation
        anchors: set[str] = set()
        self.bounded = True
        for pattern in patterns:
            found = anchor_strings(pattern)
            if found is None:
                # This pattern cannot be bounded: every text has to take the full path.
                self.bounded = False
                break
            anchors.update(found)
        self.anchors: tuple[str, ...] = tuple(sorted(anchors)) if self.bounded else ()
        self._regex: re.Pattern[str] | None = None

    @property
    def regex(self) -> re.Pattern[str] | None:
        """The raw-text regex, compiled when first needed (about 0.2 s: a matcher loaded for one text skips it)."""
        if self._regex is None and self.bounded:
            self._regex = self._compile_alternation([_raw_trie(self.anchors), _NUMERAL_BEFORE_COUNTER])
        return self._regex

    def may_match(self, text: str) -> bool:
        """False only when no rule pattern can occur in the normalized ``text``."""
        regex = self.regex
        if regex is None:
            return True
        if _FOLDED.search(text):
            # The few characters NFKC changes (①, ㎡, ×…) are folded as normalization folds them, in place.
            text = _FOLDED.sub(_fold_match, text)
        return regex.search(text) is not None


def _raw_trie(anchors: Iterable[str]) -> str:
    """One raw regex for all anchors, as a trie: anchors sharing a beginning share its test, so each position the
    search stops at costs a few character tests, not one per anchor. A space of an anchor becomes an optional
    separator run (``gpu服务器`` and ``gpu 服务器`` share one branch); an anchor that another one begins with
    makes the longer one redundant."""
    root: dict[str, list[Any]] = {}  # character → [separator run allowed before it, children, an anchor ends here]
    for anchor in anchors:
        pieces = anchor.split(" ")
        squeezed = "".join(pieces)
        spaced = set()
        position = 0
        for piece in pieces[:-1]:
            position += len(piece)
            spaced.add(position)
        node = root
        for index, character in enumerate(squeezed):
            previous = squeezed[index - 1] if index else ""
            gap = bool(previous) and (index in spaced or not (previous in _ASCII_ALNUM and character in _ASCII_ALNUM))
            entry = node.setdefault(character, [False, {}, False])
            entry[0] = entry[0] or gap
            if index == len(squeezed) - 1:
                entry[2] = True
            node = entry[1]
    return _trie_branches(root)


def _trie_branches(node: dict[str, list[Any]]) -> str:
    branches = []
    for character, (gap, children, ends) in sorted(node.items()):
        branch = (f"[{_SEPARATOR_CLASS}]*" if gap else "") + (
            f"[{_SEPARATOR_CLASS}]+" if character == "-" else _raw_class(character)
        )
        if not ends:
            branch += _trie_branches(children)
        branches.append(branch)
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def _fold_match(match: re.Match[str]) -> str:
    return _fold_char(match.group())
