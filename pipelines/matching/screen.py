"""The attachment screen: is a notice worth downloading its attachments for?

A notice passes when the matcher finds anything in it at any tier (``weak`` included), or when its title, items
or body use compute vocabulary (``screen.toml``, reviewed data beside the rules). The screen is cheap on purpose:
it reads text the crawl has anyway, and most notices (furniture, works, services) fail it, so their attachments
are never requested. ``bench/bench_attachments.py`` measures the share that passes on real ccgp titles.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.matching.engine import Matcher
from pipelines.matching.folding import normalize_text
from pipelines.matching.rules import RulesError

DEFAULT_SCREEN_PATH = Path(__file__).with_name("screen.toml")
# Another screen file (a test's variant, a candidate under review).
SCREEN_ENV = "TENDERWATCH_SCREEN"


@dataclass(frozen=True)
class Screen:
    version: str
    vocabulary: re.Pattern[str]
    matcher: Matcher | None

    @classmethod
    def load(cls, path: str | Path | None = None, matcher: Matcher | None = None) -> Screen:
        """Read the screen file (default ``screen.toml``, or ``$TENDERWATCH_SCREEN``); RulesError if malformed."""
        screen_path = Path(path or os.environ.get(SCREEN_ENV) or DEFAULT_SCREEN_PATH)
        try:
            data = tomllib.loads(screen_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise RulesError(f"{screen_path}: cannot read the screen file: {error}") from None
        words = data.get("compute_vocabulary")
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words):
            raise RulesError(f"{screen_path}: compute_vocabulary must be a non-empty list of regexes")
        for word in words:
            if word != word.lower():
                raise RulesError(f"{screen_path}: write '{word}' in lower case (it matches normalized text)")
        try:
            vocabulary = re.compile("|".join(f"(?:{w})" for w in words))
        except re.error as error:
            raise RulesError(f"{screen_path}: compute_vocabulary: {error}") from None
        return cls(version=str(data.get("version", "")), vocabulary=vocabulary, matcher=matcher)

    def reason(self, title: str = "", body: str = "", items: Any = "") -> str | None:
        """Why the notice passes (``rule <id>`` or ``word <w>``), or None when its attachments are not wanted."""
        item_text = items if isinstance(items, str) else "\n".join(str(i) for i in items or [])
        for text in (title, item_text, body):
            found = self.vocabulary.search(normalize_text(text or ""))
            if found:
                return f"word {found.group(0)}"
        if self.matcher is not None:
            result = self.matcher.match(title or "", body or "", items=item_text)
            if result["hits"]:
                return f"rule {result['hits'][0]['rule_id']}"
        return None

    def passes(self, title: str = "", body: str = "", items: Any = "") -> bool:
        return self.reason(title, body, items) is not None
