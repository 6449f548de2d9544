"""The reviewed data a run uses: the rules and the watch-list named by the environment, or the shipped ones."""

from __future__ import annotations

import os

from pipelines.matching import parties, watchlist
from pipelines.matching.engine import Matcher

# Another rules file (a candidate under review, a test's variant); TENDERWATCH_WATCHLIST does the same for the list.
RULES_ENV = "TENDERWATCH_RULES"


def load_matcher() -> Matcher:
    return Matcher.load(os.environ.get(RULES_ENV) or None)


def check_reviewed_data() -> None:
    """Fail before any work when the rules, the watch-list or the party data cannot be read; each error names the
    file and where."""
    load_matcher()
    watchlist.read_watchlist()
    parties.read_parties()
