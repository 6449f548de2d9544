"""The reviewed matching rules: ``rules.toml`` parsed, checked and compiled into rule objects and the prefilter.

Every problem with the file is a ``RulesError`` that names the file and the line. ``pipelines.matching.engine``
builds its ``Matcher`` from what ``RulesLoader.load`` returns, and hashes its own ``ENGINE_VERSION`` into the rules
version there, so this module never needs the engine.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pipelines.matching.anchors import RawAnchors
from pipelines.national.notice_types import BY_CODE

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.toml")

CATEGORIES: tuple[str, ...] = ("ai_chip", "cloud_compute", "llm_tokens", "ai_compute_unspecified")
# Notices that buy AI compute without naming a chip, a cloud or a model: followed by analysts, never auto-published as
# a restricted purchase (the digest shows them in their own section).
UNSPECIFIED_CATEGORY = "ai_compute_unspecified"
TIERS: tuple[str, ...] = ("strong", "review", "weak", "none")
# Field names as stored in the `matches` table, in the order hits are reported.
FIELDS: tuple[str, ...] = ("title", "items", "body", "attachment")

_RULE_KEYS = frozenset(
    {
        "id",
        "category",
        "patterns",
        "model",
        "provider",
        "context",
        "context_scope",
        "window",
        "veto",
        "veto_window",
        "veto_before",
        "veto_before_window",
        "dampen",
        "dampen_factor",
        "boost",
        "boost_weight",
        "weight",
        "reason",
        "infers",
        "max_tier",
        "corroborated_by",
        "corroborated_weight",
        "yields_to_named",
        "source",
        "source_says",
    }
)
_MODIFIER_KEYS = frozenset({"id", "patterns", "fields", "categories", "rules", "factor", "reason"})
_DOMESTIC_PLATFORM_KEYS = frozenset({"name", "vendor", "pattern", "source", "source_says"})
_MODEL_KEYS = frozenset({"name", "vendor", "pattern", "restriction", "restricted_since"})
_PROVIDER_KEYS = frozenset({"name", "kind", "pattern"})
_LICENCE_KEYS = frozenset({"applies_to", "from", "policy", "listed", "source", "checked"})
_TOP_KEYS = frozenset(
    {
        "version",
        "defaults",
        "scoring",
        "notice_type_factors",
        "restriction_classes",
        "licence_changes",
        "models",
        "providers",
        "vocab",
        "rules",
        "modifiers",
        "domestic_platforms",
    }
)
_RULE_ID = re.compile(r"^[a-z0-9_]+(?:\.[a-z0-9_]+)*$")
_VOCAB_REFERENCE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
# The left-boundary fragment: a lookbehind the prefilter can drop (the anchored rule re-checks it).
_PREFILTER_DROPPED_VOCAB = "lb"


class RulesError(ValueError):
    """The rules file is malformed; the message names the file, the line and the reason."""


# ────────────────────────────────────────── rule objects ──────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class ChipModel:
    """A chip model with its export-control status."""

    name: str
    vendor: str
    restriction: str
    restricted_since: date | None
    regex: re.Pattern[str]
    # The licence policy over time, oldest first ([[licence_changes]] that apply to the model or its class).
    licence_changes: tuple[LicenceChange, ...] = ()

    def licence_statement(self, on: date | None, listed: bool = False) -> str | None:
        """What applied to buying this model in China on date ``on``: for any buyer, or a listed/military one."""
        if on is None or self.restricted_since is None:
            return None
        if on < self.restricted_since:
            return f"not restricted yet on this date (licence required from {self.restricted_since.isoformat()})"
        current = None
        for change in self.licence_changes:
            if change.since <= on:
                current = change
        if current is None:
            return f"licence required since {self.restricted_since.isoformat()}"
        return current.listed if listed else current.policy


@dataclass(frozen=True, slots=True)
class LicenceChange:
    """From ``since`` on, the licence policy for the models it applies to (rules.toml [[licence_changes]])."""

    since: date
    policy: str
    listed: str
    source: str
    checked: str


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    # "cloud" sells the access (AWS, Azure…); "model" makes the model (OpenAI, Anthropic).
    kind: str
    regex: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Rule:
    """One reviewed rule (see the header of rules.toml for the meaning of each field)."""

    id: str
    category: str
    regex: re.Pattern[str]
    weight: float
    reason: str
    window: int
    # Every entry must occur in the window (each entry is usually an alternation of synonyms).
    context: tuple[re.Pattern[str], ...]
    # "clause": the context must be in the hit's clause (when it decides what the hit is, e.g. rented vs bought).
    context_in_clause: bool
    veto: re.Pattern[str] | None
    veto_window: int
    veto_before: re.Pattern[str] | None
    veto_before_window: int
    dampen: re.Pattern[str] | None
    dampen_factor: float
    boost: re.Pattern[str] | None
    boost_weight: float
    model: ChipModel | None
    provider: str | None
    line: int
    # A chip recognised from its signature (server model, memory, interconnect) rather than its name: the models the
    # evidence points to, reported as one class ("A800/H800-class"); None for rules that name what they find.
    infers: tuple[ChipModel, ...] = ()
    # The best tier the hit can reach on its own; lifted when a rule id starting with one of corroborated_by also
    # hit the notice (another signature, an eight-GPU server model), which then scores corroborated_weight.
    max_tier: str | None = None
    corroborated_by: tuple[str, ...] = ()
    corroborated_weight: float | None = None
    # The hit is dropped when the notice has a review-or-better hit of another category (it names what it buys).
    yields_to_named: bool = False
    source: str | None = None

    @property
    def inferred_class(self) -> str | None:
        return "/".join(model.name for model in self.infers) + "-class" if self.infers else None

    @property
    def inferred_since(self) -> date | None:
        """The latest restriction date of the class: before it, some member of the class was still lawful."""
        dates = [model.restricted_since for model in self.infers if model.restricted_since]
        return max(dates) if dates else None


@dataclass(frozen=True, slots=True)
class DomesticPlatform:
    """A Chinese accelerator platform (negative evidence: its GPU words are not a restricted chip)."""

    name: str
    vendor: str
    regex: re.Pattern[str]
    source: str


@dataclass(frozen=True, slots=True)
class Modifier:
    """A notice-level signal that the notice is not a purchase (policy, acceptance report…)."""

    id: str
    regex: re.Pattern[str]
    fields: frozenset[str]
    categories: frozenset[str]
    factor: float
    reason: str
    # Rule id prefixes the modifier is limited to (empty: every rule of its categories).
    rules: tuple[str, ...] = ()

    def applies_to(self, rule: Rule) -> bool:
        return rule.category in self.categories and (
            not self.rules or any(rule.id.startswith(prefix) for prefix in self.rules)
        )


@dataclass(frozen=True, slots=True)
class Scoring:
    strong: float
    review: float
    weak: float
    corroboration_bonus: float
    corroboration_cap: float
    before_restriction_factor: float

    def tier(self, score: float) -> str:
        if score >= self.strong:
            return "strong"
        if score >= self.review:
            return "review"
        if score >= self.weak:
            return "weak"
        return "none"


# ────────────────────────────────────────── loading ──────────────────────────────────────────


class _SourceLines:
    """Finds where things are in the TOML text, so semantic errors can name a line."""

    _ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.]+)\s*\]\]")
    _TABLE_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.]+)\s*\]")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.array_headers: dict[str, list[int]] = {}
        self.table_headers: dict[str, int] = {}
        self.header_lines: list[int] = []
        for number, line in enumerate(self.lines, start=1):
            if match := self._ARRAY_HEADER.match(line):
                self.array_headers.setdefault(match.group(1), []).append(number)
                self.header_lines.append(number)
            elif match := self._TABLE_HEADER.match(line):
                self.table_headers[match.group(1)] = number
                self.header_lines.append(number)

    def block(self, table: str, index: int | None) -> tuple[int, int]:
        """First and last line of the ``index``-th ``[[table]]`` (or of ``[table]`` when index is None)."""
        if index is None:
            start = self.table_headers.get(table, 1)
        else:
            headers = self.array_headers.get(table, [])
            start = headers[index] if index < len(headers) else 1
        following = [n for n in self.header_lines if n > start]
        return start, (following[0] - 1 if following else len(self.lines))

    def line_of(self, table: str, index: int | None, key: str | None = None, value: str | None = None) -> int:
        start, end = self.block(table, index)
        if value:
            for number in range(start, end + 1):
                if value in self.lines[number - 1]:
                    return number
        if key:
            key_line = re.compile(rf"^\s*{re.escape(key)}\s*=")
            for number in range(start, end + 1):
                if key_line.match(self.lines[number - 1]):
                    return number
        return start


# A back-reference by number (\1) or a conditional on a group number ((?(1)…)), not escaped by a backslash.
_NUMBERED_REFERENCE = re.compile(r"(?<!\\)(?:\\\\)*(?:\\[1-9]|\(\?\(\d)")


class RulesLoader:
    """Parses and validates a rules file into compiled objects; every error is a RulesError with a line."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.where = _SourceLines(text)
        try:
            self.data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise RulesError(self._syntax_message(error)) from None

    def _syntax_message(self, error: tomllib.TOMLDecodeError) -> str:
        message = str(error)
        found = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if found:
            line, column = int(found.group(1)), int(found.group(2))
        else:  # "(at end of document)"
            line = max(len(self.where.lines), 1)
            column = len(self.where.lines[-1]) + 1 if self.where.lines else 1
        return f"{self.source}:{line}:{column}: TOML syntax error: {message}"

    def fail(self, line: int, reason: str) -> RulesError:
        return RulesError(f"{self.source}:{line}: {reason}")

    # ── small typed getters ──

    def _require(self, table: str, index: int | None, entry: dict[str, Any], key: str, kind: type, what: str) -> Any:
        if key not in entry:
            raise self.fail(self.where.line_of(table, index), f"{what}: missing field '{key}'")
        value = entry[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise self.fail(
                self.where.line_of(table, index, key), f"{what}: '{key}' must be {kind.__name__}, got {value!r}"
            )
        return value

    def _optional(
        self, table: str, index: int | None, entry: dict[str, Any], key: str, kind: type, default: Any, what: str
    ) -> Any:
        if key not in entry:
            return default
        return self._require(table, index, entry, key, kind, what)

    def _string_list(self, table: str, index: int | None, entry: dict[str, Any], key: str, what: str) -> list[str]:
        value = entry.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise self.fail(
                self.where.line_of(table, index, key), f"{what}: '{key}' must be a list of non-empty strings"
            )
        return value

    def _check_unknown_keys(
        self, table: str, index: int | None, entry: dict[str, Any], allowed: frozenset[str], what: str
    ) -> None:
        for key in entry:
            if key not in allowed:
                raise self.fail(
                    self.where.line_of(table, index, key), f"{what}: unknown field '{key}' (allowed: {sorted(allowed)})"
                )

    # ── regexes ──

    def expand(self, pattern: str, *, line: int, what: str, for_prefilter: bool = False) -> str:
        """Replace ``{name}`` by the vocab fragment (recursively), as a non-capturing group."""

        def substitute(text: str, stack: tuple[str, ...]) -> str:
            def replace(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in stack:
                    raise self.fail(line, f"{what}: vocab fragment '{name}' refers to itself ({' → '.join(stack)})")
                if name not in self.vocab:
                    raise self.fail(line, f"{what}: unknown vocab fragment '{{{name}}}'")
                if for_prefilter and name == _PREFILTER_DROPPED_VOCAB:
                    return ""
                return "(?:" + substitute(self.vocab[name], (*stack, name)) + ")"

            return _VOCAB_REFERENCE.sub(replace, text)

        return substitute(pattern, ())

    def compile(
        self, patterns: Sequence[str], *, table: str, index: int | None, key: str, what: str
    ) -> re.Pattern[str]:
        expanded = []
        for raw in patterns:
            line = self.where.line_of(table, index, key, raw)
            self._check_lower_case(raw, line, what)
            self._check_group_numbers(raw, line, what)
            expanded.append((raw, line, self.expand(raw, line=line, what=what)))
        # The alternation is compiled once; each pattern alone only when it fails, to name the culprit (compiling
        # the ~500 patterns twice was half of a command's start-up). A pattern that does not compile alone makes
        # the alternation fail too, and the alternation matches "" exactly when one of its patterns does.
        try:
            combined = re.compile("|".join(f"(?:{pattern})" for _, _, pattern in expanded))
        except re.error as error:
            combined, combined_error = None, error
        if combined is None or combined.fullmatch(""):
            for raw, line, pattern in expanded:
                try:
                    alone = re.compile(pattern)
                except re.error as error:
                    raise self.fail(line, f"{what}: bad regex in '{key}' {raw!r}: {error}") from None
                if alone.fullmatch(""):
                    raise self.fail(line, f"{what}: pattern {raw!r} in '{key}' matches the empty string")
        if combined is None:  # each compiles alone, not together (a group name used twice)
            raise self.fail(
                expanded[0][1], f"{what}: the patterns of '{key}' do not compile together: {combined_error}"
            )
        return combined

    def _check_group_numbers(self, raw: str, line: int, what: str) -> None:
        # An entry's patterns are joined into one regex (and every rule's into the prefilter), so group 1 of a
        # pattern is another group there: a reference by number would silently point at someone else's group.
        if _NUMBERED_REFERENCE.search(raw):
            raise self.fail(
                line, f"{what}: pattern {raw!r} refers to a group by number; patterns are joined into one regex, "
                "where the number would name another pattern's group: use a named group, (?P<name>…) and (?P=name)",
            )  # fmt: skip

    def _check_lower_case(self, raw: str, line: int, what: str) -> None:
        # Escapes (\d, \S…) and group names may be upper case; literal letters never can: the text is lower-cased.
        bare = re.sub(r"\\.|\(\?P<[^>]*>|\(\?P=[^)]*\)", "", raw)
        if re.search(r"[A-Z]", bare):
            raise self.fail(line, f"{what}: pattern {raw!r} has upper-case letters; rules match lower-cased text")
        if re.search(r"[\uff01-\uff5e\u3000]", bare):
            raise self.fail(line, f"{what}: pattern {raw!r} has full-width characters; rules match half-width text")

    # ── sections ──

    def load(self) -> dict[str, Any]:
        """The compiled rules as ``Matcher`` keyword arguments, with the file's own ``version`` in place of
        ``rules_version`` (the engine adds its version to it)."""
        data = self.data
        for key in data:
            if key not in _TOP_KEYS:
                raise self.fail(
                    self._top_key_line(key), f"unknown top-level key '{key}' (allowed: {sorted(_TOP_KEYS)})"
                )
        version = data.get("version")
        if not isinstance(version, str) or not version.strip():
            raise self.fail(self._top_key_line("version"), "top-level 'version' must be a non-empty string")

        self.vocab = self._load_vocab()
        defaults = data.get("defaults", {})
        self.default_window = self._optional("defaults", None, defaults, "window", int, 40, "[defaults]")
        self.default_veto_before = self._optional(
            "defaults", None, defaults, "veto_before_window", int, 15, "[defaults]"
        )
        self.default_dampen = self._optional("defaults", None, defaults, "dampen_factor", float, 0.5, "[defaults]")
        self.default_boost = self._optional("defaults", None, defaults, "boost_weight", float, 0.2, "[defaults]")
        scoring = self._load_scoring()
        notice_type_factors = self._load_notice_type_factors()
        classes = data.get("restriction_classes", {})
        if not isinstance(classes, dict) or not classes:
            raise self.fail(self.where.line_of("restriction_classes", None), "[restriction_classes] must be a table")
        models = self._with_licence_changes(self._load_models(classes), classes)
        restricted = [m for m in self._raw_models if m["restriction"] != "compliant"]
        self.vocab["models_restricted"] = "|".join(f"(?:{m['pattern']})" for m in restricted)
        domestic_platforms = self._load_domestic_platforms()
        providers = self._load_providers()
        rules = self._load_rules(models)
        self._check_corroboration(rules)
        modifiers = self._load_modifiers()
        # Only rule patterns: a modifier alone yields no hit, so a text where no rule pattern can occur yields none.
        anchors = RawAnchors(
            (self.expand(pattern, line=1, what="anchors", for_prefilter=True) for pattern in self._rule_patterns),
            compile_prefilter,
        )
        return dict(
            version=version.strip(),
            rules=tuple(rules),
            modifiers=tuple(modifiers),
            models=tuple(models),
            providers=tuple(providers),
            domestic_platforms=tuple(domestic_platforms),
            scoring=scoring,
            notice_type_factors=notice_type_factors,
            prefilter_parts=self._prefilter_parts(),
            anchors=anchors,
            source=self.source,
        )

    def _top_key_line(self, key: str) -> int:
        key_line = re.compile(rf"^\s*{re.escape(key)}\s*=|^\s*\[\[?\s*{re.escape(key)}\s*\]")
        for number, line in enumerate(self.where.lines, start=1):
            if key_line.match(line):
                return number
        return 1

    def _load_vocab(self) -> dict[str, str]:
        vocab = self.data.get("vocab", {})
        if not isinstance(vocab, dict):
            raise self.fail(self._top_key_line("vocab"), "[vocab] must be a table of regex fragments")
        for name, fragment in vocab.items():
            line = self.where.line_of("vocab", None, name)
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                raise self.fail(line, f"[vocab]: fragment name '{name}' must be lower-case letters, digits, '_'")
            if not isinstance(fragment, str) or not fragment:
                raise self.fail(line, f"[vocab]: fragment '{name}' must be a non-empty string")
        for built, table in (("models_restricted", "[[models]]"), ("domestic_platform", "[[domestic_platforms]]")):
            if built in vocab:
                raise self.fail(
                    self.where.line_of("vocab", None, built),
                    f"[vocab]: '{built}' is built from {table} and cannot be defined",
                )
        if _PREFILTER_DROPPED_VOCAB not in vocab:
            raise self.fail(self._top_key_line("vocab"), f"[vocab]: fragment '{_PREFILTER_DROPPED_VOCAB}' is required")
        # The stand-in for models_restricted (built once [[models]] is read) keeps these checks independent of it.
        self.vocab = {**vocab, "models_restricted": "(?!)", "domestic_platform": "(?!)"}
        for name, fragment in vocab.items():
            line = self.where.line_of("vocab", None, name)
            self._check_lower_case(fragment, line, f"[vocab] {name}")
            try:
                re.compile(self.expand(fragment, line=line, what=f"[vocab] {name}"))
            except re.error as error:
                raise self.fail(line, f"[vocab]: bad regex in fragment '{name}': {error}") from None
        return self.vocab

    def _load_scoring(self) -> Scoring:
        scoring = self.data.get("scoring", {})
        what = "[scoring]"
        values = {
            key: self._optional("scoring", None, scoring, key, float, default, what)
            for key, default in (
                ("strong", 0.75),
                ("review", 0.45),
                ("weak", 0.15),
                ("corroboration_bonus", 0.05),
                ("corroboration_cap", 0.1),
                ("before_restriction_factor", 0.6),
            )
        }
        if not 0 < values["weak"] < values["review"] < values["strong"] <= 1:
            raise self.fail(self.where.line_of("scoring", None), f"{what}: need 0 < weak < review < strong <= 1")
        return Scoring(**values)

    def _load_notice_type_factors(self) -> dict[str, float]:
        table = self.data.get("notice_type_factors", {})
        factors = {}
        for code, factor in table.items():
            line = self.where.line_of("notice_type_factors", None, code)
            if code not in BY_CODE:
                raise self.fail(line, f"[notice_type_factors]: unknown notice type '{code}' (see notice_types.py)")
            if isinstance(factor, bool) or not isinstance(factor, int | float) or not 0 <= factor <= 2:
                raise self.fail(line, f"[notice_type_factors]: factor for '{code}' must be a number in [0, 2]")
            factors[code] = float(factor)
        return factors

    def _load_models(self, classes: dict[str, Any]) -> list[ChipModel]:
        models: list[ChipModel] = []
        self._raw_models: list[dict[str, Any]] = []
        self.models_by_name: dict[str, ChipModel] = {}
        for index, entry in enumerate(self.data.get("models", [])):
            what = f"model #{index + 1}"
            self._check_unknown_keys("models", index, entry, _MODEL_KEYS, what)
            name = self._require("models", index, entry, "name", str, what)
            what = f"model '{name}'"
            if name in self.models_by_name:
                raise self.fail(self.where.line_of("models", index, "name"), f"{what}: duplicate model name")
            vendor = self._optional("models", index, entry, "vendor", str, "", what)
            pattern = self._require("models", index, entry, "pattern", str, what)
            restriction = self._require("models", index, entry, "restriction", str, what)
            if restriction not in classes:
                raise self.fail(
                    self.where.line_of("models", index, "restriction"),
                    f"{what}: unknown restriction class '{restriction}' (see [restriction_classes])",
                )
            since = entry.get("restricted_since")
            if isinstance(since, str):
                try:
                    since = date.fromisoformat(since)
                except ValueError:
                    since = "bad"
            if since is None and restriction != "compliant" or since is not None and not isinstance(since, date):
                raise self.fail(
                    self.where.line_of("models", index, "restricted_since"),
                    f"{what}: 'restricted_since' must be a date (YYYY-MM-DD) for a restricted model",
                )
            regex = self.compile([pattern], table="models", index=index, key="pattern", what=what)
            model = ChipModel(name, vendor, restriction, since, regex)
            models.append(model)
            self.models_by_name[name] = model
            self._raw_models.append({"pattern": pattern, "restriction": restriction})
        if not models:
            raise self.fail(1, "no [[models]] defined")
        return models

    def _citation(self, table: str, index: int, entry: dict[str, Any], what: str) -> str:
        """``source`` (an http(s) address) and ``source_says`` (what it states), both required, as one string."""
        source = self._require(table, index, entry, "source", str, what)
        if not re.match(r"https?://\S+$", source):
            raise self.fail(
                self.where.line_of(table, index, "source"),
                f"{what}: 'source' must be an http(s) address, got {source!r}",
            )
        says = self._require(table, index, entry, "source_says", str, what)
        if not says.strip():
            raise self.fail(self.where.line_of(table, index, "source_says"), f"{what}: 'source_says' is empty")
        return f"{source} ({says.strip()})"

    def _load_domestic_platforms(self) -> list[DomesticPlatform]:
        platforms = []
        entries = self.data.get("domestic_platforms", [])
        if not isinstance(entries, list):
            raise self.fail(
                self._top_key_line("domestic_platforms"), "[[domestic_platforms]] must be an array of tables"
            )
        for index, entry in enumerate(entries):
            what = f"domestic platform #{index + 1}"
            self._check_unknown_keys("domestic_platforms", index, entry, _DOMESTIC_PLATFORM_KEYS, what)
            name = self._require("domestic_platforms", index, entry, "name", str, what)
            what = f"domestic platform '{name}'"
            vendor = self._require("domestic_platforms", index, entry, "vendor", str, what)
            pattern = self._require("domestic_platforms", index, entry, "pattern", str, what)
            regex = self.compile([pattern], table="domestic_platforms", index=index, key="pattern", what=what)
            source = self._citation("domestic_platforms", index, entry, what)
            platforms.append(DomesticPlatform(name, vendor, regex, source))
        self.vocab["domestic_platform"] = "|".join(f"(?:{p.regex.pattern})" for p in platforms) or "(?!)"
        return platforms

    def _check_corroboration(self, rules: list[Rule]) -> None:
        """Every ``corroborated_by`` prefix must name at least one other rule (a typo would silently never lift)."""
        for index, compiled in enumerate(rules):
            for prefix in compiled.corroborated_by:
                if not any(other.id.startswith(prefix) and other.id != compiled.id for other in rules):
                    raise self.fail(
                        self.where.line_of("rules", index, "corroborated_by"),
                        f"rule '{compiled.id}': corroborated_by '{prefix}' matches no other rule id",
                    )

    def _signature_fields(self, index: int, entry: dict[str, Any], what: str, weight: float) -> dict[str, Any]:
        """The keys of a rule that recognises a chip from its signature instead of its name (see rules.toml)."""
        fields: dict[str, Any] = {}
        names = self._string_list("rules", index, entry, "infers", what)
        infers = []
        for name in names:
            model = self.models_by_name.get(name)
            if model is None:
                raise self.fail(
                    self.where.line_of("rules", index, "infers"),
                    f"{what}: infers unknown model '{name}' (see [[models]])",
                )
            infers.append(model)
        fields["infers"] = tuple(infers)
        if infers or "source" in entry or "source_says" in entry:
            fields["source"] = self._citation("rules", index, entry, what)
            if not infers:
                raise self.fail(
                    self.where.line_of("rules", index), f"{what}: a cited signature needs 'infers' (the model class)"
                )
        max_tier = self._optional("rules", index, entry, "max_tier", str, None, what)
        if max_tier is not None and max_tier not in TIERS:
            raise self.fail(
                self.where.line_of("rules", index, "max_tier"),
                f"{what}: max_tier must be one of {', '.join(TIERS)}, got {max_tier!r}",
            )
        if infers and max_tier in (None, "strong"):
            raise self.fail(
                self.where.line_of("rules", index),
                f'{what}: a rule that infers a chip must cap its tier (max_tier = "review" or lower)',
            )
        fields["max_tier"] = max_tier
        fields["corroborated_by"] = tuple(self._string_list("rules", index, entry, "corroborated_by", what))
        fields["corroborated_weight"] = self._optional("rules", index, entry, "corroborated_weight", float, None, what)
        if fields["corroborated_weight"] is not None:
            if not fields["corroborated_by"]:
                raise self.fail(
                    self.where.line_of("rules", index, "corroborated_weight"),
                    f"{what}: corroborated_weight needs corroborated_by",
                )
            if not weight <= fields["corroborated_weight"] <= 1:
                raise self.fail(
                    self.where.line_of("rules", index, "corroborated_weight"),
                    f"{what}: corroborated_weight must be in [weight, 1]",
                )
        fields["yields_to_named"] = self._optional("rules", index, entry, "yields_to_named", bool, False, what)
        return fields

    def _with_licence_changes(self, models: list[ChipModel], classes: dict[str, Any]) -> list[ChipModel]:
        changes: dict[str, list[LicenceChange]] = {model.name: [] for model in models}
        for index, entry in enumerate(self.data.get("licence_changes", [])):
            what = f"licence change #{index + 1}"
            self._check_unknown_keys("licence_changes", index, entry, _LICENCE_KEYS, what)
            applies_to = entry.get("applies_to")
            line = self.where.line_of("licence_changes", index, "applies_to")
            if not isinstance(applies_to, list) or not applies_to or not all(isinstance(a, str) for a in applies_to):
                raise self.fail(line, f"{what}: 'applies_to' must be a list of restriction classes or model names")
            unknown = [a for a in applies_to if a not in classes and a not in changes]
            if unknown:
                raise self.fail(line, f"{what}: 'applies_to' names unknown classes or models {unknown}")
            since = entry.get("from")
            if not isinstance(since, date) or isinstance(since, datetime):
                raise self.fail(
                    self.where.line_of("licence_changes", index, "from"), f"{what}: 'from' must be a date (YYYY-MM-DD)"
                )
            texts = [self._require("licence_changes", index, entry, key, str, what) for key in ("policy", "listed")]
            source = self._require("licence_changes", index, entry, "source", str, what)
            checked = self._require("licence_changes", index, entry, "checked", str, what)
            if checked not in ("primary", "secondary"):
                raise self.fail(
                    self.where.line_of("licence_changes", index, "checked"),
                    f"{what}: 'checked' must be primary or secondary",
                )
            change = LicenceChange(since, texts[0], texts[1], source, checked)
            for model in models:
                if model.name in applies_to or model.restriction in applies_to:
                    changes[model.name].append(change)
        timed = [
            dataclasses.replace(model, licence_changes=tuple(sorted(changes[model.name], key=lambda c: c.since)))
            for model in models
        ]
        self.models_by_name = {model.name: model for model in timed}
        return timed

    def _load_providers(self) -> list[Provider]:
        providers = []
        for index, entry in enumerate(self.data.get("providers", [])):
            what = f"provider #{index + 1}"
            self._check_unknown_keys("providers", index, entry, _PROVIDER_KEYS, what)
            name = self._require("providers", index, entry, "name", str, what)
            kind = self._require("providers", index, entry, "kind", str, what)
            if kind not in ("cloud", "model"):
                raise self.fail(
                    self.where.line_of("providers", index, "kind"),
                    f"provider '{name}': kind must be 'cloud' or 'model', got {kind!r}",
                )
            pattern = self._require("providers", index, entry, "pattern", str, what)
            regex = self.compile([pattern], table="providers", index=index, key="pattern", what=f"provider '{name}'")
            providers.append(Provider(name, kind, regex))
        return providers

    def _load_rules(self, models: list[ChipModel]) -> list[Rule]:
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        self._prefilter_patterns: list[str] = []
        self._group_lines: dict[str, int] = {}  # a named group of the rules' and modifiers' patterns → its line
        self._rule_patterns: list[str] = []
        entries = self.data.get("rules", [])
        if not isinstance(entries, list) or not entries:
            raise self.fail(self._top_key_line("rules"), "no [[rules]] defined")
        for index, entry in enumerate(entries):
            header_line = self.where.line_of("rules", index)
            what = f"rule #{index + 1} ([[rules]] at line {header_line})"
            if "id" not in entry:
                raise self.fail(header_line, f"{what}: missing field 'id'")
            self._check_unknown_keys("rules", index, entry, _RULE_KEYS, what)
            rule_id = self._require("rules", index, entry, "id", str, what)
            what = f"rule '{rule_id}'"
            if not _RULE_ID.match(rule_id):
                raise self.fail(
                    self.where.line_of("rules", index, "id"), f"{what}: id must be lower-case words separated by dots"
                )
            if rule_id in seen:
                raise self.fail(
                    self.where.line_of("rules", index, "id"), f"{what}: duplicate id (first at line {seen[rule_id]})"
                )
            seen[rule_id] = header_line
            category = self._require("rules", index, entry, "category", str, what)
            if category not in CATEGORIES:
                raise self.fail(
                    self.where.line_of("rules", index, "category"),
                    f"{what}: unknown category '{category}' (allowed: {', '.join(CATEGORIES)})",
                )
            weight = self._require("rules", index, entry, "weight", float, what)
            if not 0 < weight <= 1:
                raise self.fail(self.where.line_of("rules", index, "weight"), f"{what}: weight must be in (0, 1]")
            reason = self._require("rules", index, entry, "reason", str, what)
            model = None
            if "model" in entry:
                model_name = self._require("rules", index, entry, "model", str, what)
                model = self.models_by_name.get(model_name)
                if model is None:
                    raise self.fail(
                        self.where.line_of("rules", index, "model"),
                        f"{what}: unknown model '{model_name}' (see [[models]])",
                    )
            patterns = self._string_list("rules", index, entry, "patterns", what)
            if not patterns:
                if model is None:
                    raise self.fail(header_line, f"{what}: missing field 'patterns' (or 'model')")
                patterns = [self._raw_models[models.index(model)]["pattern"]]
            provider = self._optional("rules", index, entry, "provider", str, None, what)
            window = self._positive_int(index, entry, "window", self.default_window, what)

            def optional_regex(
                key: str, what: str = what, index: int = index, entry: dict[str, Any] = entry
            ) -> re.Pattern[str] | None:
                values = self._string_list("rules", index, entry, key, what)
                return self.compile(values, table="rules", index=index, key=key, what=what) if values else None

            rules.append(
                Rule(
                    id=rule_id,
                    category=category,
                    regex=self._prefiltered(patterns, table="rules", index=index, what=what),
                    weight=weight,
                    reason=reason,
                    window=window,
                    context=self._context(index, entry, what),
                    context_in_clause=self._context_scope(index, entry, what) == "clause",
                    veto=optional_regex("veto"),
                    veto_window=self._positive_int(index, entry, "veto_window", window, what),
                    veto_before=optional_regex("veto_before"),
                    veto_before_window=self._positive_int(
                        index, entry, "veto_before_window", self.default_veto_before, what
                    ),
                    dampen=optional_regex("dampen"),
                    dampen_factor=self._factor(index, entry, "dampen_factor", self.default_dampen, what),
                    boost=optional_regex("boost"),
                    boost_weight=self._factor(index, entry, "boost_weight", self.default_boost, what),
                    model=model,
                    provider=provider,
                    line=header_line,
                    **self._signature_fields(index, entry, what, weight),
                )
            )
            self._prefilter_patterns.extend(patterns)
            self._rule_patterns.extend(patterns)
        self._rule_ids = [rule.id for rule in rules]
        return rules

    def _context(self, index: int, entry: dict[str, Any], what: str) -> tuple[re.Pattern[str], ...]:
        patterns = self._string_list("rules", index, entry, "context", what)
        return tuple(
            self.compile([pattern], table="rules", index=index, key="context", what=what) for pattern in patterns
        )

    def _context_scope(self, index: int, entry: dict[str, Any], what: str) -> str:
        scope = self._optional("rules", index, entry, "context_scope", str, "window", what)
        if scope not in ("window", "clause"):
            raise self.fail(
                self.where.line_of("rules", index, "context_scope"),
                f"{what}: context_scope must be 'window' or 'clause', got {scope!r}",
            )
        return scope

    def _positive_int(self, index: int, entry: dict[str, Any], key: str, default: int, what: str) -> int:
        value = self._optional("rules", index, entry, key, int, default, what)
        if value <= 0:
            raise self.fail(self.where.line_of("rules", index, key), f"{what}: '{key}' must be positive")
        return value

    def _factor(self, index: int, entry: dict[str, Any], key: str, default: float, what: str) -> float:
        value = self._optional("rules", index, entry, key, float, default, what)
        if not 0 <= value <= 1:
            raise self.fail(self.where.line_of("rules", index, key), f"{what}: '{key}' must be in [0, 1]")
        return value

    def _load_modifiers(self) -> list[Modifier]:
        modifiers = []
        for index, entry in enumerate(self.data.get("modifiers", [])):
            header_line = self.where.line_of("modifiers", index)
            what = f"modifier #{index + 1} ([[modifiers]] at line {header_line})"
            if "id" not in entry:
                raise self.fail(header_line, f"{what}: missing field 'id'")
            self._check_unknown_keys("modifiers", index, entry, _MODIFIER_KEYS, what)
            modifier_id = self._require("modifiers", index, entry, "id", str, what)
            what = f"modifier '{modifier_id}'"
            patterns = self._string_list("modifiers", index, entry, "patterns", what)
            if not patterns:
                raise self.fail(header_line, f"{what}: missing field 'patterns'")
            fields = self._string_list("modifiers", index, entry, "fields", what) or list(FIELDS)
            for field in fields:
                if field not in FIELDS:
                    raise self.fail(
                        self.where.line_of("modifiers", index, "fields"),
                        f"{what}: unknown field '{field}' (allowed: {', '.join(FIELDS)})",
                    )
            categories = self._string_list("modifiers", index, entry, "categories", what) or list(CATEGORIES)
            for category in categories:
                if category not in CATEGORIES:
                    raise self.fail(
                        self.where.line_of("modifiers", index, "categories"), f"{what}: unknown category '{category}'"
                    )
            rule_prefixes = tuple(self._string_list("modifiers", index, entry, "rules", what))
            for prefix in rule_prefixes:
                if not any(rule_id.startswith(prefix) for rule_id in self._rule_ids):
                    raise self.fail(
                        self.where.line_of("modifiers", index, "rules"), f"{what}: rules '{prefix}' matches no rule id"
                    )
            factor = self._require("modifiers", index, entry, "factor", float, what)
            if not 0 <= factor <= 1:
                raise self.fail(self.where.line_of("modifiers", index, "factor"), f"{what}: factor must be in [0, 1]")
            modifiers.append(
                Modifier(
                    id=modifier_id,
                    regex=self._prefiltered(patterns, table="modifiers", index=index, what=what),
                    fields=frozenset(fields),
                    categories=frozenset(categories),
                    factor=factor,
                    reason=self._require("modifiers", index, entry, "reason", str, what),
                    rules=rule_prefixes,
                )
            )
            self._prefilter_patterns.extend(patterns)
        return modifiers

    def _prefiltered(self, patterns: list[str], *, table: str, index: int, what: str) -> re.Pattern[str]:
        """A rule's or a modifier's ``patterns`` compiled. They join every other one in the prefilter, a single
        regex, so a group name may be used by one entry only: two entries each valid alone would otherwise make the
        rules fail to compile as a whole, with no line named."""
        regex = self.compile(patterns, table=table, index=index, key="patterns", what=what)
        for name in regex.groupindex:
            written = next((pattern for pattern in patterns if f"<{name}>" in pattern), None)  # else in a vocab
            line = self.where.line_of(table, index, "patterns", written)
            first = self._group_lines.setdefault(name, line)
            if first != line:
                raise self.fail(
                    line, f"{what}: group name {name!r} is already used at line {first}; the prefilter joins every "
                    "rule and modifier pattern into one regex, so a group name is used by one entry only",
                )  # fmt: skip
        return regex

    def _prefilter_parts(self) -> tuple[str, ...]:
        return tuple(
            self.expand(pattern, line=1, what="prefilter", for_prefilter=True) for pattern in self._prefilter_patterns
        )


def _first_character_ranges(pattern: str) -> list[tuple[int, int]] | None:
    """Code-point ranges holding every character a match of ``pattern`` can start with (None if unbounded).

    Reads the parsed regex (the standard library's parser); any construct it cannot bound gives None, and the
    caller falls back to the plain alternation, which is correct, only slower.
    """
    try:
        from re import _constants as constants
        from re import _parser as parser

        ranges: list[tuple[int, int]] = []

        def first(items: Any) -> bool:
            """Add the first characters of a sequence to ``ranges``; True when the sequence can match empty."""
            for op, argument in items:
                if op in (constants.AT, constants.ASSERT, constants.ASSERT_NOT):
                    continue
                if op is constants.LITERAL:
                    ranges.append((argument, argument))
                    return False
                if op is constants.IN:
                    for kind, value in argument:
                        if kind is constants.LITERAL:
                            ranges.append((value, value))
                        elif kind is constants.RANGE:
                            ranges.append(value)
                        elif kind is constants.CATEGORY and value is constants.CATEGORY_DIGIT:
                            ranges.append((ord("0"), ord("9")))
                        else:
                            raise LookupError(kind)
                    return False
                if op is constants.SUBPATTERN:
                    if argument[1] & constants.SRE_FLAG_IGNORECASE:
                        raise LookupError("case-insensitive group")
                    if not first(argument[3].data):
                        return False
                elif op is constants.BRANCH:
                    if not any([first(branch.data) for branch in argument[1]]):
                        return False
                elif op in (constants.MAX_REPEAT, constants.MIN_REPEAT):
                    minimum, _, body = argument
                    if not first(body.data) and minimum > 0:
                        return False
                else:
                    raise LookupError(op)
            return True

        if first(parser.parse(pattern).data):
            return None  # the pattern can match the empty string: no class bounds it
    except (ImportError, AttributeError, LookupError, re.error):
        return None
    return ranges


def _character_class(intervals: Iterable[tuple[int, int]]) -> str:
    parts = []
    for low, high in intervals:
        parts.append(re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}")
    return "[" + "".join(parts) + "]"


def compile_prefilter(patterns: Sequence[str]) -> re.Pattern[str]:
    """One regex finding every position where one of ``patterns`` matches.

    The regex engine skips ahead in C only when a pattern starts with a character class, and tries every
    alternative at every position it stops at. So the prefilter first consumes one possible first character,
    then dispatches on that character to the few patterns that can start with it, and checks them from there.
    """
    alternation = "|".join(f"(?:{pattern})" for pattern in patterns)
    first_ranges = [_first_character_ranges(pattern) for pattern in patterns]
    if any(ranges is None for ranges in first_ranges):
        return re.compile(alternation)
    # Cut the code points into intervals on which the set of patterns that can start there is constant.
    cuts = sorted(
        {low for ranges in first_ranges for low, _ in ranges}
        | {high + 1 for ranges in first_ranges for _, high in ranges}
    )
    by_patterns: dict[tuple[int, ...], list[tuple[int, int]]] = {}
    for low, next_low in zip(cuts, cuts[1:], strict=False):
        starting = tuple(
            index
            for index, ranges in enumerate(first_ranges)
            if any(r_low <= low <= r_high for r_low, r_high in ranges)
        )
        if starting:
            by_patterns.setdefault(starting, []).append((low, next_low - 1))
    branches = []
    for starting, intervals in by_patterns.items():
        alternatives = "|".join(f"(?:{patterns[index]})" for index in starting)
        branches.append(f"{_character_class(intervals)}(?<=(?=(?:{alternatives})).)")
    every_first = sorted(interval for intervals in by_patterns.values() for interval in intervals)
    return re.compile(f"{_character_class(every_first)}(?<=(?=(?:{'|'.join(branches)})).)")
