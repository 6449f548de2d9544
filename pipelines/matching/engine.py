"""Find purchases of export-controlled AI chips and of remote access to them in procurement notices.

The rules live in ``rules.toml`` (reviewed data, see the header of that file). Matching a notice:

1. each field (title, body, items, attachments) is normalized once (``pipelines.matching.folding``);
2. ONE compiled alternation of every rule and modifier pattern (the *prefilter*) scans the normalized field and
   yields the positions where some pattern starts; only there are the individual rules tried, anchored;
3. a candidate becomes a hit when its context occurs within the rule's window and no veto does in its clause;
   the checks look only at that window; a title mention whose body mentions were all vetoed is dropped too (the
   body says what the title only names);
4. hits get extractions (model, quantity, memory, provider, tokens, amount, evidence quoted from the ORIGINAL
   text), a score adjusted by notice type, restriction date and notice-level modifiers, and a tier.

Public API (wired into the CLI; keep stable): ``Matcher.load``, ``Matcher.rules_version``, ``Matcher.match``,
``match_jsonl`` and ``RulesError``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import cn2an

from pipelines.matching.folding import NormalizedText, normalize
from pipelines.national.notice_types import BY_CODE

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.toml")

# Bump when the engine (not the rules file) changes what a notice yields, e.g. how quantities are read.
ENGINE_VERSION = "2"

CATEGORIES: tuple[str, ...] = ("ai_chip", "cloud_compute", "llm_tokens")
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
    }
)
_MODIFIER_KEYS = frozenset({"id", "patterns", "fields", "categories", "factor", "reason"})
_MODEL_KEYS = frozenset({"name", "vendor", "pattern", "restriction", "restricted_since"})
_PROVIDER_KEYS = frozenset({"name", "kind", "pattern"})
_TOP_KEYS = frozenset(
    {
        "version",
        "defaults",
        "scoring",
        "notice_type_factors",
        "restriction_classes",
        "models",
        "providers",
        "vocab",
        "rules",
        "modifiers",
    }
)
_RULE_ID = re.compile(r"^[a-z0-9_]+(?:\.[a-z0-9_]+)*$")
_VOCAB_REFERENCE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
# The left-boundary fragment: a lookbehind the prefilter can drop (the anchored rule re-checks it).
_PREFILTER_DROPPED_VOCAB = "lb"
_MAX_HITS = 50
# Finds the positions of a normalized field where some pattern may start.
CandidateFinder = Callable[[str], Iterable[int]]


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


@dataclass(frozen=True, slots=True)
class Modifier:
    """A notice-level signal that the notice is not a purchase (policy, acceptance report…)."""

    id: str
    regex: re.Pattern[str]
    fields: frozenset[str]
    categories: frozenset[str]
    factor: float
    reason: str


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


class _Loader:
    """Parses and validates a rules file into compiled objects; every error is a RulesError with a line."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
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
            pattern = self.expand(raw, line=line, what=what)
            try:
                compiled = re.compile(pattern)
            except re.error as error:
                raise self.fail(line, f"{what}: bad regex in '{key}' {raw!r}: {error}") from None
            if compiled.fullmatch(""):
                raise self.fail(line, f"{what}: pattern {raw!r} in '{key}' matches the empty string")
            expanded.append(pattern)
        return re.compile("|".join(f"(?:{pattern})" for pattern in expanded))

    def _check_lower_case(self, raw: str, line: int, what: str) -> None:
        # Escapes (\d, \S…) and group names may be upper case; literal letters never can: the text is lower-cased.
        bare = re.sub(r"\\.|\(\?P<[^>]*>|\(\?P=[^)]*\)", "", raw)
        if re.search(r"[A-Z]", bare):
            raise self.fail(line, f"{what}: pattern {raw!r} has upper-case letters; rules match lower-cased text")
        if re.search(r"[\uff01-\uff5e\u3000]", bare):
            raise self.fail(line, f"{what}: pattern {raw!r} has full-width characters; rules match half-width text")

    # ── sections ──

    def load(self) -> Matcher:
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
        models = self._load_models(classes)
        restricted = [m for m in self._raw_models if m["restriction"] != "compliant"]
        self.vocab["models_restricted"] = "|".join(f"(?:{m['pattern']})" for m in restricted)
        providers = self._load_providers()
        rules = self._load_rules(models)
        modifiers = self._load_modifiers()
        prefilter = self._build_prefilter()
        # The engine's own version is hashed in too: an extraction fix re-matches history like a rules change.
        digest = hashlib.sha256(f"{ENGINE_VERSION}\n{self.text}".encode()).hexdigest()[:8]
        return Matcher(
            rules_version=f"{version.strip()}+{digest}",
            rules=tuple(rules),
            modifiers=tuple(modifiers),
            models=tuple(models),
            providers=tuple(providers),
            scoring=scoring,
            notice_type_factors=notice_type_factors,
            prefilter=prefilter,
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
        if "models_restricted" in vocab:
            raise self.fail(
                self.where.line_of("vocab", None, "models_restricted"),
                "[vocab]: 'models_restricted' is built from [[models]] and cannot be defined",
            )
        if _PREFILTER_DROPPED_VOCAB not in vocab:
            raise self.fail(self._top_key_line("vocab"), f"[vocab]: fragment '{_PREFILTER_DROPPED_VOCAB}' is required")
        # The stand-in for models_restricted (built once [[models]] is read) keeps these checks independent of it.
        self.vocab = {**vocab, "models_restricted": "(?!)"}
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
                    regex=self.compile(patterns, table="rules", index=index, key="patterns", what=what),
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
                )
            )
            self._prefilter_patterns.extend(patterns)
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
            factor = self._require("modifiers", index, entry, "factor", float, what)
            if not 0 <= factor <= 1:
                raise self.fail(self.where.line_of("modifiers", index, "factor"), f"{what}: factor must be in [0, 1]")
            modifiers.append(
                Modifier(
                    id=modifier_id,
                    regex=self.compile(patterns, table="modifiers", index=index, key="patterns", what=what),
                    fields=frozenset(fields),
                    categories=frozenset(categories),
                    factor=factor,
                    reason=self._require("modifiers", index, entry, "reason", str, what),
                )
            )
            self._prefilter_patterns.extend(patterns)
        return modifiers

    def _build_prefilter(self) -> re.Pattern[str]:
        parts = [
            self.expand(pattern, line=1, what="prefilter", for_prefilter=True) for pattern in self._prefilter_patterns
        ]
        return _compile_prefilter(parts)


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


def _compile_prefilter(patterns: Sequence[str]) -> re.Pattern[str]:
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


# ────────────────────────────────────────── extraction ──────────────────────────────────────────

_CARDS_MULTIPLIER_BEFORE = re.compile(r"(?<![0-9.a-z])([0-9]{1,3}) ?(?:\*|x) ?[a-z\u4e00-\u9fff ]{0,14}$")
_CARDS_COUNT_BEFORE = re.compile(r"(?<![0-9.])([0-9]{1,4}) ?(?:块|张|片|颗|pcs|个)[^0-9,;:。，；、]{0,16}$")
_CARDS_MULTIPLIER_AFTER = re.compile(
    r"^[^,;。，；、*]{0,16}?(?:\*|(?<![a-z])(?<!pcie )x) ?([0-9]{1,3})"
    r"(?![0-9.]| ?(?:mm|cm|m(?![a-z])|gb?|tb|t(?![a-z])))"
)
_CARDS_COUNT_AFTER = re.compile(r"^[^,;。，；、]{0,20}?(?<![0-9.])([0-9]{1,4}) ?(?:块|张|片|颗|pcs)")
_QUANTITY_FIELD_AFTER = re.compile(r"数量[:]?([0-9]{1,4}) ?(块|张|片|颗|个|台|套)?")
_CARDS_PER_SERVER = re.compile(r"(?<![0-9])([0-9]{1,2}) ?卡(?!通|片|号|座)")
_SERVERS = re.compile(r"(?<![0-9.])([0-9]{1,4}) ?(?:台|个节点|节点)(?!账|式|灯|班|风)")
_PER_SERVER = re.compile(r"每台|单台|每节点|单节点|每个节点|/台|每套|单机")
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
_AMOUNT_LABELLED = re.compile(r"\((万元|元)\)[:]?([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?")


def _nearest(matches: Iterable[re.Match[str]], start: int, end: int) -> re.Match[str] | None:
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


def _quantity(text: str, start: int, end: int) -> tuple[int | None, str | None]:
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
    server_match = _nearest(server_counts, start, end)
    if servers is None and server_match:
        servers = int(server_match.group(1))
    per_server_match = _nearest(_CARDS_PER_SERVER.finditer(text, max(start - 30, 0), end + 30), start, end)
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


def _card_hours(text: str, start: int, end: int, window: int) -> int | None:
    found = _nearest(_CARD_HOURS.finditer(text, max(start - window, 0), end + window), start, end)
    if not found:
        return None
    value = float(found.group(1)) * (10**4 if found.group(2) else 1)
    return int(value)


def _memory(text: str, start: int, end: int) -> str | None:
    found = _MEMORY_AFTER.search(text[end : end + 24]) or _MEMORY_LABELLED.search(text, max(start - 30, 0), end + 40)
    if found and int(found.group(1)) in _PLAUSIBLE_MEMORY:
        return f"{int(found.group(1))}GB"
    return None


def _number(digits: str) -> float | None:
    try:
        return float(digits)
    except ValueError:
        try:
            return float(cn2an.cn2an(digits, "smart"))
        except (ValueError, KeyError, TypeError):
            return None


def _tokens(text: str, start: int, end: int, window: int) -> int | None:
    """Token quantity near an LLM hit: "4000万tokens" → 40000000, "1亿tokens" → 100000000."""
    low, high = max(start - window, 0), min(end + window, len(text))
    candidates = [*_TOKENS_NUMBER_FIRST.finditer(text, low, high), *_TOKENS_LABEL_FIRST.finditer(text, low, high)]
    found = _nearest(candidates, start, end)
    if not found:
        return None
    value = _number(found.group(1))
    if value is None:
        return None
    value *= _TOKEN_UNITS.get(found.group(2) or "", 1)
    return int(value) if value >= 1 else None


def _amount(text: str, start: int, end: int) -> float | None:
    """A CNY amount near the hit (unit price, budget or award amount)."""
    low, high = max(start - 80, 0), min(end + 80, len(text))
    candidates = []
    for regex in (_AMOUNT, _AMOUNT_SYMBOL):
        for found in regex.finditer(text, low, high):
            candidates.append((found, found.group(1), found.group(2), found.group(3)))
    for found in _AMOUNT_LABELLED.finditer(text, low, high):
        candidates.append((found, found.group(2), found.group(3), found.group(1)))
    best = _nearest((candidate[0] for candidate in candidates), start, end)
    if best is None:
        return None
    _, integer, decimals, unit = next(c for c in candidates if c[0] is best)
    value = float(integer.replace(",", "") + (f".{decimals}" if decimals else ""))
    value *= 10_000 if unit == "万元" else 1
    return round(value, 2) if value > 0 else None


# ────────────────────────────────────────── matching ──────────────────────────────────────────


_CLAUSE_ENDS = "。;\n"
_VETOED = object()


def _clause(text: str, start: int, end: int, window: int) -> tuple[int, int]:
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


@dataclass(slots=True)
class _Hit:
    rule: Rule
    field: str
    normalized: NormalizedText
    start: int
    end: int
    base_score: float
    notes: list[str]
    model: ChipModel | None
    provider: str | None


@dataclass(slots=True)
class _Scan:
    """What scanning the fields of one notice found."""

    hits: list[_Hit] = dataclasses.field(default_factory=list)
    modifiers: dict[str, Modifier] = dataclasses.field(default_factory=dict)
    # Rules with a vetoed / an accepted mention outside the title.
    vetoed_in_detail: set[str] = dataclasses.field(default_factory=set)
    hit_in_detail: set[str] = dataclasses.field(default_factory=set)


class Matcher:
    """The compiled rule set. Build with ``Matcher.load()``; ``match`` is thread-safe (no shared state)."""

    def __init__(
        self,
        *,
        rules_version: str,
        rules: tuple[Rule, ...],
        modifiers: tuple[Modifier, ...],
        models: tuple[ChipModel, ...],
        providers: tuple[Provider, ...],
        scoring: Scoring,
        notice_type_factors: dict[str, float],
        prefilter: re.Pattern[str],
        source: str,
    ) -> None:
        self.rules_version = rules_version
        self.rules = rules
        self.modifiers = modifiers
        self.models = models
        self.providers = providers
        self.scoring = scoring
        self.notice_type_factors = notice_type_factors
        self.prefilter = prefilter
        self.source = source

    @classmethod
    def load(cls, path: str | Path | None = None) -> Matcher:
        """Load and compile a rules file (default: ``rules.toml`` next to this module); RulesError if malformed."""
        rules_path = Path(path) if path is not None else DEFAULT_RULES_PATH
        try:
            text = rules_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise RulesError(f"{rules_path}: cannot read rules file: {error}") from None
        return _Loader(text, str(rules_path)).load()

    @classmethod
    def from_toml(cls, text: str, source: str = "<rules>") -> Matcher:
        """Compile rules given as TOML text (``source`` names it in error messages)."""
        return _Loader(text, source).load()

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(rule.id for rule in self.rules)

    # ── public matching ──

    def match(
        self,
        title: str = "",
        text: str = "",
        *,
        items: Any = "",
        attachments: Any = "",
        published: date | str | None = None,
        notice_type: str | None = None,
    ) -> dict[str, Any]:
        """Match one notice; returns a JSON-serialisable dict ``{"tier", "score", "categories", "hits"}``.

        ``published`` (a date, or an ISO date string) decides ``after_restriction``; ``notice_type`` is a code of
        ``pipelines.national.notice_types`` (award-like notices weigh more, acceptance reports less).
        """
        return self._match(title, text, items, attachments, published, notice_type, self._candidate_starts)

    def _match(
        self,
        title: Any,
        text: Any,
        items: Any,
        attachments: Any,
        published: date | str | None,
        notice_type: str | None,
        candidate_starts: CandidateFinder,
    ) -> dict[str, Any]:
        """``match`` with a choice of candidate finder (the benchmark passes the naive one)."""
        published_date = _as_date(published)
        if notice_type is not None and notice_type not in BY_CODE:
            raise ValueError(f"unknown notice_type {notice_type!r} (see pipelines/national/notice_types.py)")
        scan = self._scan_notice(title, text, items, attachments, candidate_starts)
        return self._result(scan, published_date, notice_type)

    # ── scanning ──

    def _candidate_starts(self, text: str) -> Iterator[int]:
        """Every position where some pattern may start: one alternation, re-searched from the next character so
        overlapping patterns (``hgx h100`` and ``h100``) are all seen."""
        search = self.prefilter.search
        position = 0
        while found := search(text, position):
            yield found.start()
            position = found.start() + 1

    def _naive_candidate_starts(self, text: str) -> list[int]:
        """Baseline for the benchmark and the tests: every rule's own regex scanned over the whole text."""
        starts = set()
        for rule in self.rules:
            starts.update(found.start() for found in rule.regex.finditer(text))
        for modifier in self.modifiers:
            starts.update(found.start() for found in modifier.regex.finditer(text))
        return sorted(starts)

    def _scan_notice(
        self, title: Any, text: Any, items: Any, attachments: Any, candidate_starts: CandidateFinder
    ) -> _Scan:
        scan = _Scan()
        for field, value in (("title", title), ("items", items), ("body", text), ("attachment", attachments)):
            content = _as_text(value)
            if content:
                self._scan_field(field, normalize(content), scan, candidate_starts)
        # The title only names what the body describes: when every body mention of a rule was vetoed (an LLM
        # behind the cloud account, Office 365 behind "微软云"), the title mention is not a hit either.
        overruled = scan.vetoed_in_detail - scan.hit_in_detail
        if overruled:
            scan.hits = [hit for hit in scan.hits if not (hit.field == "title" and hit.rule.id in overruled)]
        return scan

    def _scan_field(
        self, field: str, normalized: NormalizedText, scan: _Scan, candidate_starts: CandidateFinder
    ) -> None:
        text = normalized.text
        covered_until: dict[str, int] = {}
        is_detail = field != "title"
        for start in candidate_starts(text):
            for rule in self.rules:
                if covered_until.get(rule.id, -1) > start:
                    continue
                found = rule.regex.match(text, start)
                if found is None or found.end() == start:
                    continue
                covered_until[rule.id] = found.end()
                hit = self._check(rule, field, normalized, start, found.end())
                if hit is _VETOED:
                    if is_detail:
                        scan.vetoed_in_detail.add(rule.id)
                elif hit is not None:
                    scan.hits.append(hit)
                    if is_detail:
                        scan.hit_in_detail.add(rule.id)
            for modifier in self.modifiers:
                if field in modifier.fields and modifier.id not in scan.modifiers and modifier.regex.match(text, start):
                    scan.modifiers[modifier.id] = modifier

    def _check(self, rule: Rule, field: str, normalized: NormalizedText, start: int, end: int) -> _Hit | object | None:
        """Context and vetoes in the window around one candidate: a hit, ``_VETOED``, or None (no context)."""
        text = normalized.text
        length = len(text)
        low, high = max(start - rule.window, 0), min(end + rule.window, length)
        clause_low, clause_high = _clause(text, start, end, rule.window)
        context_low, context_high = (clause_low, clause_high) if rule.context_in_clause else (low, high)
        for context in rule.context:
            if not context.search(text, context_low, context_high):
                return None
        # Vetoes look only within the clause: "包1: 8块A800。包2: AWS云服务" is two purchases, not one rental.
        if rule.veto is not None:
            clause_low, clause_high = _clause(text, start, end, rule.veto_window)
            if rule.veto.search(text, clause_low, clause_high):
                return _VETOED
        if rule.veto_before is not None:
            clause_low, _ = _clause(text, start, end, rule.veto_before_window)
            if rule.veto_before.search(text, clause_low, start):
                return _VETOED
        score = rule.weight
        notes: list[str] = []
        if rule.boost is not None and rule.boost.search(text, low, high):
            score += rule.boost_weight
            notes.append(f"+{rule.boost_weight:g} corroborating words")
        if rule.dampen is not None and rule.dampen.search(text, low, high):
            score *= rule.dampen_factor
            notes.append(f"×{rule.dampen_factor:g} dampening words near")
        return _Hit(
            rule=rule,
            field=field,
            normalized=normalized,
            start=start,
            end=end,
            base_score=min(score, 1.0),
            notes=notes,
            model=rule.model or self._model_near(text, start, end, clause_low, clause_high),
            provider=rule.provider
            or (None if rule.category == "ai_chip" else self._provider_near(text, start, end, rule.window)),
        )

    def _model_near(self, text: str, start: int, end: int, low: int, high: int) -> ChipModel | None:
        for model in self.models:
            if model.regex.search(text, start, end):
                return model
        nearby = [(found, model) for model in self.models for found in model.regex.finditer(text, low, high)]
        best = _nearest((found for found, _ in nearby), start, end)
        return next(model for found, model in nearby if found is best) if best else None

    def _provider_near(self, text: str, start: int, end: int, window: int) -> str | None:
        """Who sells the access: the nearest cloud in the clause (OpenAI on Azure is bought from Azure), else the
        model maker named in the hit, else the nearest one."""
        low, high = _clause(text, start, end, window)
        nearby = [
            (found, provider) for provider in self.providers for found in provider.regex.finditer(text, low, high)
        ]
        clouds = [(found, provider) for found, provider in nearby if provider.kind == "cloud"]
        inside = [(found, provider) for found, provider in nearby if found.start() < end and found.end() > start]
        for candidates in (clouds, inside, nearby):
            best = _nearest((found for found, _ in candidates), start, end)
            if best is not None:
                return next(provider.name for found, provider in candidates if found is best)
        return None

    # ── scoring and output ──

    def _result(self, scan: _Scan, published: date | None, notice_type: str | None) -> dict[str, Any]:
        hits, modifiers_found = scan.hits, scan.modifiers
        rules_per_category: dict[str, set[str]] = {}
        for hit in hits:
            rules_per_category.setdefault(hit.rule.category, set()).add(hit.rule.id)
        type_factor = self.notice_type_factors.get(notice_type, 1.0) if notice_type else 1.0
        output: dict[tuple[str, str], tuple[tuple[float, int, int, int, int], dict[str, Any]]] = {}
        for hit in hits:
            entry = self._hit_output(hit, rules_per_category, modifiers_found, published, notice_type, type_factor)
            if entry["tier"] == "none":
                continue
            key = (hit.rule.id, entry["model"] or entry["text"].lower())
            extracted = sum(entry[k] is not None for k in ("quantity", "memory", "provider", "tokens", "amount"))
            # Best first; ties go to the earlier field, position and rule, so the order is reproducible.
            rank = (-entry["score"], -extracted, FIELDS.index(hit.field), hit.start, self.rules.index(hit.rule))
            if key not in output or rank < output[key][0]:
                output[key] = (rank, entry)
        ordered = sorted(output.values(), key=lambda item: item[0])
        entries = [entry for _, entry in ordered][:_MAX_HITS]
        score = max((entry["score"] for entry in entries), default=0.0)
        categories = sorted({e["category"] for e in entries if e["tier"] in ("strong", "review")})
        return {"tier": self.scoring.tier(score), "score": score, "categories": categories, "hits": entries}

    def _hit_output(
        self,
        hit: _Hit,
        rules_per_category: dict[str, set[str]],
        modifiers_found: dict[str, Modifier],
        published: date | None,
        notice_type: str | None,
        type_factor: float,
    ) -> dict[str, Any]:
        rule, scoring = hit.rule, self.scoring
        notes = list(hit.notes)
        score = hit.base_score
        others = len(rules_per_category.get(rule.category, ())) - 1
        if others > 0:
            bonus = min(others * scoring.corroboration_bonus, scoring.corroboration_cap)
            score = min(score + bonus, 1.0)
            notes.append(f"+{bonus:g} other {rule.category} rules in the notice")
        restricted_since = hit.model.restricted_since if hit.model else None
        after_restriction = None
        if restricted_since is not None and published is not None:
            after_restriction = published >= restricted_since
            if not after_restriction:
                score *= scoring.before_restriction_factor
                notes.append(f"×{scoring.before_restriction_factor:g} notice predates the restriction")
        # Several signs that this is not a purchase say the same thing once: the strongest penalty applies.
        penalties = [(type_factor, f"{notice_type} notice")] if type_factor < 1 else []
        penalties += [(m.factor, m.id) for m in modifiers_found.values() if rule.category in m.categories]
        if penalties:
            factor, cause = min(penalties)
            score *= factor
            notes.append(f"×{factor:g} {cause}")
        elif type_factor > 1:
            score *= type_factor
            notes.append(f"×{type_factor:g} {notice_type} notice names the supplier")
        score = round(min(score, 1.0), 3)
        text = hit.normalized.text
        quantity, unit = None, None
        if rule.category == "cloud_compute":
            hours = _card_hours(text, hit.start, hit.end, rule.window)
            if hours is not None:
                quantity, unit = hours, "card_hour"
        if quantity is None and rule.category != "llm_tokens" and hit.model is not None:
            quantity, unit = _quantity(text, hit.start, hit.end)
        reason = rule.reason + (f" [{'; '.join(notes)}]" if notes else "")
        return {
            "rule_id": rule.id,
            "category": rule.category,
            "tier": scoring.tier(score),
            "score": score,
            "text": hit.normalized.original_text(hit.start, hit.end),
            "evidence": hit.normalized.snippet(hit.start, hit.end, 40),
            "field": hit.field,
            "model": hit.model.name if hit.model else None,
            "quantity": quantity,
            "unit": unit,
            "memory": _memory(text, hit.start, hit.end) if hit.model else None,
            "provider": hit.provider,
            "tokens": _tokens(text, hit.start, hit.end, rule.window) if rule.category == "llm_tokens" else None,
            "amount": _amount(text, hit.start, hit.end),
            "restricted_since": restricted_since.isoformat() if restricted_since else None,
            "after_restriction": after_restriction,
            "reason": reason,
        }


# ────────────────────────────────────────── helpers and JSONL ──────────────────────────────────────────


def _as_date(value: date | str | None) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        found = re.match(r"\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", value)
        if found:
            return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    raise ValueError(f"published must be a date or an ISO date string, got {value!r}")


def _as_text(value: Any) -> str:
    """Items and attachments may come as text, a list of strings, or a list of item dicts."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_as_text(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return "\n".join(_as_text(item) for item in value)
    return str(value)


def match_jsonl(lines: Iterable[str], matcher: Matcher) -> Iterator[str]:
    """Match JSON lines ``{"id", "title", "text", optional "date", "notice_type", "items", "attachments"}``.

    Yields one JSON line per non-blank input line: ``{"id": ..., **result}``, or ``{"id": ..., "error": "..."}``
    when the line is malformed (bad JSON, not an object, wrong field types, unknown notice type, bad date).
    """
    for line in lines:
        if not line.strip():
            continue
        notice_id = None
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("a line must be a JSON object")
            notice_id = record.get("id")
            for key in ("title", "text"):
                if not isinstance(record.get(key, ""), str | type(None)):
                    raise ValueError(f"'{key}' must be a string")
            result = matcher.match(
                record.get("title") or "",
                record.get("text") or "",
                items=record.get("items") or "",
                attachments=record.get("attachments") or "",
                published=record.get("date"),
                notice_type=record.get("notice_type"),
            )
        except (ValueError, TypeError) as error:
            yield json.dumps(
                {"id": notice_id if _is_scalar(notice_id) else None, "error": str(error)}, ensure_ascii=False
            )
            continue
        yield json.dumps({"id": notice_id, **result}, ensure_ascii=False)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float) and not isinstance(value, bool)
