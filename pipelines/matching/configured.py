"""The reviewed data a run uses: the rules and the watch-list named by the environment, or the shipped ones."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pipelines.matching import parties, watchlist
from pipelines.matching.engine import Matcher
from pipelines.matching.rules import DEFAULT_RULES_PATH

# Another rules file (a candidate under review, a test's variant); TENDERWATCH_WATCHLIST does the same for the list.
RULES_ENV = "TENDERWATCH_RULES"


def load_matcher() -> Matcher:
    """The configured rules, compiled once per content: a night asks for them at several steps, and compiling costs
    more than a step's own work on a small night. A file changed under a long-lived process is compiled again."""
    path = Path(os.environ.get(RULES_ENV) or DEFAULT_RULES_PATH)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return Matcher.load(path)  # raises the loader's own error, naming the file
    return _compiled(text, str(path))


@lru_cache(maxsize=4)
def _compiled(text: str, source: str) -> Matcher:
    return Matcher.from_toml(text, source)


def check_reviewed_data() -> None:
    """Fail before any work when the rules, the watch-list or the party data cannot be read; each error names the
    file and where."""
    load_matcher()
    watchlist.read_watchlist()
    parties.read_parties()
