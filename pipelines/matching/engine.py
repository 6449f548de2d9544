"""Find purchases of export-controlled AI chips and of remote access to them in procurement notices.

The rules live in ``rules.toml`` (reviewed data, see the header of that file), compiled by
``pipelines.matching.rules``. Matching a notice:

1. each field (title, body, items, attachments) is normalized once (``pipelines.matching.folding``);
2. ONE compiled alternation of every rule and modifier pattern (the *prefilter*) scans the normalized field and
   yields the positions where some pattern starts; only there are the individual rules tried, anchored;
3. a candidate becomes a hit when its context occurs within the rule's window and no veto does in its clause;
   the checks look only at that window; a title mention whose body mentions were all vetoed is dropped too (the
   body says what the title only names);
4. hits get extractions (model, quantity, memory, provider, tokens, amount, evidence quoted from the ORIGINAL
   text; ``pipelines.matching.extraction``), a score adjusted by notice type, restriction date and notice-level
   modifiers, and a tier.

Public API (wired into the CLI; keep stable): ``Matcher.load``, ``Matcher.rules_version``, ``Matcher.match``,
``match_jsonl``, and ``RulesError`` (``pipelines.matching.rules``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pipelines.matching.anchors import RawAnchors
from pipelines.matching.extraction import (
    amount_near,
    card_hours_near,
    clause_around,
    memory_near,
    nearest_match,
    quantity_near,
    tokens_near,
)
from pipelines.matching.folding import NormalizedText, normalize
from pipelines.matching.rules import (
    DEFAULT_RULES_PATH,
    FIELDS,
    ChipModel,
    DomesticPlatform,
    Modifier,
    Provider,
    Rule,
    RulesError,
    RulesLoader,
    Scoring,
    compile_prefilter,
)
from pipelines.national.notice_types import BY_CODE

# Below this many characters one notice is scanned faster by each rule's regex than by compiling the prefilter
# (measured on the Hefei texts: 0.1 s to compile; the rules scan 7,000 characters in 0.04 s, the prefilter in 0.005).
ONE_NOTICE_NAIVE_CHARACTERS = 10_000

# Bump when the engine (not the rules file) changes what a notice yields, e.g. how quantities are read.
ENGINE_VERSION = "4"

_MAX_HITS = 50
# Finds the positions of a normalized field where some pattern may start.
CandidateFinder = Callable[[str], Iterable[int]]


# ────────────────────────────────────────── matching ──────────────────────────────────────────


_VETOED = object()


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
        domestic_platforms: tuple[DomesticPlatform, ...],
        scoring: Scoring,
        notice_type_factors: dict[str, float],
        prefilter_parts: tuple[str, ...],
        source: str,
        anchors: RawAnchors | None = None,
    ) -> None:
        self.rules_version = rules_version
        self.rules = rules
        self.rules_by_id = {rule.id: rule for rule in rules}
        self.modifiers = modifiers
        self.models = models
        self.providers = providers
        self.domestic_platforms = domestic_platforms
        self.scoring = scoring
        self.notice_type_factors = notice_type_factors
        self._prefilter_parts = prefilter_parts
        self.source = source
        self.anchors = anchors

    @classmethod
    def load(cls, path: str | Path | None = None) -> Matcher:
        """Load and compile a rules file (default: ``rules.toml`` next to this module); RulesError if malformed."""
        rules_path = Path(path) if path is not None else DEFAULT_RULES_PATH
        try:
            text = rules_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise RulesError(f"{rules_path}: cannot read rules file: {error}") from None
        return cls.from_toml(text, str(rules_path))

    @classmethod
    def from_toml(cls, text: str, source: str = "<rules>") -> Matcher:
        """Compile rules given as TOML text (``source`` names it in error messages)."""
        compiled = RulesLoader(text, source).load()
        # The engine's own version is hashed in too: an extraction fix re-matches history like a rules change.
        digest = hashlib.sha256(f"{ENGINE_VERSION}\n{text}".encode()).hexdigest()[:8]
        return Matcher(rules_version=f"{compiled.pop('version')}+{digest}", **compiled)

    @functools.cached_property
    def prefilter(self) -> re.Pattern[str]:
        """One regex finding every place a rule or modifier pattern may start, compiled when first needed: it is a
        third of loading the rules (0.1 s), more than a command matching one short text spends scanning it."""
        return compile_prefilter(self._prefilter_parts)

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

    def match_full(
        self,
        title: str = "",
        text: str = "",
        *,
        items: Any = "",
        attachments: Any = "",
        published: date | str | None = None,
        notice_type: str | None = None,
    ) -> dict[str, Any]:
        """``match`` without the fast path: every field normalized and scanned. The reference the fast path must
        equal (tests, ``bench/``)."""
        return self._match(
            title, text, items, attachments, published, notice_type, self._candidate_starts, fast_path=False
        )

    def match_once(
        self, title: str = "", text: str = "", *, published: date | str | None = None, notice_type: str | None = None
    ) -> dict[str, Any]:
        """``match_full`` for a process that matches this one notice (``flows.py match-text``). A short text is
        scanned with each rule's own regex rather than the prefilter, whose compiling would cost more than the scan
        (the two find the same hits: tests/pipelines/matching/test_matcher.py)."""
        short = len(title) + len(text) < ONE_NOTICE_NAIVE_CHARACTERS and "prefilter" not in self.__dict__
        finder = self._naive_candidate_starts if short else self._candidate_starts
        return self._match(title, text, "", "", published, notice_type, finder, fast_path=False)

    def _match(
        self,
        title: Any,
        text: Any,
        items: Any,
        attachments: Any,
        published: date | str | None,
        notice_type: str | None,
        candidate_starts: CandidateFinder,
        *,
        fast_path: bool = True,
    ) -> dict[str, Any]:
        """``match`` with a choice of candidate finder (the benchmark passes the naive one)."""
        published_date = _as_date(published)
        if notice_type is not None and notice_type not in BY_CODE:
            raise ValueError(f"unknown notice_type {notice_type!r} (see pipelines/national/notice_types.py)")
        if fast_path and self.anchors is not None and not self._may_match(title, text, items, attachments):
            # No rule pattern can occur in any field: no hit, whatever the modifiers say. Same result as a full
            # scan that found nothing, without normalizing a character.
            return self._result(_Scan(), published_date, notice_type)
        scan = self._scan_notice(title, text, items, attachments, candidate_starts)
        return self._result(scan, published_date, notice_type)

    # ── scanning ──

    def _may_match(self, *fields: Any) -> bool:
        """The fast path's test (``pipelines.matching.anchors``): False when no field's normalized text can hold
        a rule pattern."""
        may_match = self.anchors.may_match
        return any(may_match(_as_text(value)) for value in fields)

    def _candidate_starts(self, text: str) -> Iterator[int]:
        """Every position where some pattern may start: one alternation, re-searched from the next character so
        overlapping patterns (``hgx h100`` and ``h100``) are all seen."""
        search = self.prefilter.search
        position = 0
        while found := search(text, position):
            yield found.start()
            position = found.start() + 1

    def _naive_candidate_starts(self, text: str) -> list[int]:
        """Every rule's and modifier's own regex scanned over the whole text: one short text's finder
        (``match_once``), and the baseline of the benchmark and the tests."""
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
        clause_low, clause_high = clause_around(text, start, end, rule.window)
        context_low, context_high = (clause_low, clause_high) if rule.context_in_clause else (low, high)
        for context in rule.context:
            if not context.search(text, context_low, context_high):
                return None
        # Vetoes look only within the clause: "包1: 8块A800。包2: AWS云服务" is two purchases, not one rental.
        if rule.veto is not None:
            clause_low, clause_high = clause_around(text, start, end, rule.veto_window)
            if rule.veto.search(text, clause_low, clause_high):
                return _VETOED
        if rule.veto_before is not None:
            clause_low, _ = clause_around(text, start, end, rule.veto_before_window)
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
        best = nearest_match((found for found, _ in nearby), start, end)
        return next(model for found, model in nearby if found is best) if best else None

    def _provider_near(self, text: str, start: int, end: int, window: int) -> str | None:
        """Who sells the access: the nearest cloud in the clause (OpenAI on Azure is bought from Azure), else the
        model maker named in the hit, else the nearest one."""
        low, high = clause_around(text, start, end, window)
        nearby = [
            (found, provider) for provider in self.providers for found in provider.regex.finditer(text, low, high)
        ]
        clouds = [(found, provider) for found, provider in nearby if provider.kind == "cloud"]
        inside = [(found, provider) for found, provider in nearby if found.start() < end and found.end() > start]
        for candidates in (clouds, inside, nearby):
            best = nearest_match((found for found, _ in candidates), start, end)
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
        rules_hit: dict[str, list[tuple[str, int, int]]] = {}
        for hit in hits:
            rules_hit.setdefault(hit.rule.id, []).append((hit.field, hit.start, hit.end))
        output: dict[tuple[str, str], tuple[tuple[float, int, int, int, int], dict[str, Any]]] = {}
        for hit in hits:
            entry = self._hit_output(
                hit, rules_per_category, rules_hit, modifiers_found, published, notice_type, type_factor
            )
            if entry["tier"] == "none":
                continue
            key = (hit.rule.id, entry["model"] or entry["text"].lower())
            extracted = sum(entry[k] is not None for k in ("quantity", "memory", "provider", "tokens", "amount"))
            # Best first; ties go to the earlier field, position and rule, so the order is reproducible.
            rank = (-entry["score"], -extracted, FIELDS.index(hit.field), hit.start, self.rules.index(hit.rule))
            if key not in output or rank < output[key][0]:
                output[key] = (rank, entry)
        ordered = sorted(output.values(), key=lambda item: item[0])
        entries = [entry for _, entry in ordered]
        # A server model or spec signature stands in for a chip's name: where the notice names one of the chips it
        # infers, the class hit would count the same cards twice in the analysts' per-model figures.
        named = {e["model"] for e in entries if e["model"] and not self.rules_by_id[e["rule_id"]].infers}
        entries = [
            e
            for e in entries
            if not (infers := self.rules_by_id[e["rule_id"]].infers) or not named & {m.name for m in infers}
        ]
        # Unnamed AI compute is a label for notices that name nothing: once a chip, cloud or model is named at
        # review or above, the notice is that purchase and the label would only repeat it.
        yielding = {rule.id for rule in self.rules if rule.yields_to_named}
        if any(e["tier"] in ("strong", "review") and e["rule_id"] not in yielding for e in entries):
            entries = [e for e in entries if e["rule_id"] not in yielding]
        entries = entries[:_MAX_HITS]
        score = max((entry["score"] for entry in entries), default=0.0)
        categories = sorted({e["category"] for e in entries if e["tier"] in ("strong", "review")})
        return {"tier": self.scoring.tier(score), "score": score, "categories": categories, "hits": entries}

    def _hit_output(
        self,
        hit: _Hit,
        rules_per_category: dict[str, set[str]],
        rules_hit: dict[str, list[tuple[str, int, int]]],
        modifiers_found: dict[str, Modifier],
        published: date | None,
        notice_type: str | None,
        type_factor: float,
    ) -> dict[str, Any]:
        rule, scoring = hit.rule, self.scoring
        notes = list(hit.notes)
        score = hit.base_score
        corroborators = self._corroborators(hit, rules_hit)
        if corroborators and rule.corroborated_weight is not None and rule.corroborated_weight > score:
            score = rule.corroborated_weight
            notes.append(f"corroborated by {', '.join(corroborators)}")
        others = len(rules_per_category.get(rule.category, ())) - 1
        if others > 0:
            bonus = min(others * scoring.corroboration_bonus, scoring.corroboration_cap)
            score = min(score + bonus, 1.0)
            notes.append(f"+{bonus:g} other {rule.category} rules in the notice")
        restricted_since = rule.inferred_since if rule.infers else hit.model.restricted_since if hit.model else None
        after_restriction = None
        if restricted_since is not None and published is not None:
            after_restriction = published >= restricted_since
            if not after_restriction:
                score *= scoring.before_restriction_factor
                notes.append(f"×{scoring.before_restriction_factor:g} notice predates the restriction")
        # Several signs that this is not a purchase say the same thing once: the strongest penalty applies.
        penalties = [(type_factor, f"{notice_type} notice")] if type_factor < 1 else []
        penalties += [(m.factor, m.id) for m in modifiers_found.values() if m.applies_to(rule)]
        if penalties:
            factor, cause = min(penalties)
            score *= factor
            notes.append(f"×{factor:g} {cause}")
        elif type_factor > 1:
            score *= type_factor
            notes.append(f"×{type_factor:g} {notice_type} notice names the supplier")
        if rule.max_tier is not None and not corroborators:
            ceiling = self._ceiling(rule.max_tier)
            if score > ceiling:
                score = ceiling
                notes.append(f"capped at {rule.max_tier}: not corroborated")
        score = round(min(score, 1.0), 3)
        text = hit.normalized.text
        quantity, unit = None, None
        if rule.category == "cloud_compute":
            hours = card_hours_near(text, hit.start, hit.end, rule.window)
            if hours is not None:
                quantity, unit = hours, "card_hour"
        if quantity is None and rule.category != "llm_tokens" and hit.model is not None:
            quantity, unit = quantity_near(text, hit.start, hit.end)
        reason = rule.reason + (f" [{'; '.join(notes)}]" if notes else "")
        return {
            "rule_id": rule.id,
            "category": rule.category,
            "tier": scoring.tier(score),
            "score": score,
            "text": hit.normalized.original_text(hit.start, hit.end),
            "evidence": hit.normalized.snippet(hit.start, hit.end, 40),
            "field": hit.field,
            "model": rule.inferred_class or (hit.model.name if hit.model else None),
            "quantity": quantity,
            "unit": unit,
            "memory": memory_near(text, hit.start, hit.end) if hit.model or rule.infers else None,
            "provider": hit.provider,
            "tokens": tokens_near(text, hit.start, hit.end, rule.window) if rule.category == "llm_tokens" else None,
            "amount": amount_near(text, hit.start, hit.end),
            "restricted_since": restricted_since.isoformat() if restricted_since else None,
            "after_restriction": after_restriction,
            "licence": hit.model.licence_statement(published) if hit.model else None,
            "licence_listed": hit.model.licence_statement(published, listed=True) if hit.model else None,
            "reason": reason,
        }

    def _corroborators(self, hit: _Hit, rules_hit: dict[str, list[tuple[str, int, int]]]) -> list[str]:
        """Rules of ``corroborated_by`` that hit the notice somewhere else: in another field, or farther than either
        rule's window. Two readings of one spec line ("NF5488A5, 80GB HBM2e") are one piece of evidence."""
        rule = hit.rule
        if not rule.corroborated_by:
            return []
        windows = {other.id: other.window for other in self.rules}
        found = []
        for other, places in rules_hit.items():
            if other == rule.id or not other.startswith(rule.corroborated_by):
                continue
            gap = max(rule.window, windows[other])
            low, high = hit.start - gap, hit.end + gap
            if any(field != hit.field or end < low or start > high for field, start, end in places):
                found.append(other)
        return sorted(found)

    def _ceiling(self, max_tier: str) -> float:
        """The highest score still in ``max_tier`` (just under the next tier's threshold)."""
        above = {"review": self.scoring.strong, "weak": self.scoring.review, "none": self.scoring.weak}
        return round(above[max_tier] - 0.001, 3) if max_tier in above else 1.0


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
