"""Precision and recall of the matcher on a labelled set.

A case is one JSON object: ``{"id", "title", "text", optional "items", "attachments", "notice_type", "date",
"expected": {"match": bool, "categories": [...]}}`` (other keys, e.g. ``family``, are ignored). A case is
predicted positive for a category when the result tier is ``strong`` or ``review`` and the category is in
``result["categories"]``.

Command line: ``python -m pipelines.matching.evaluate [labels.jsonl] [--rules rules.toml]`` prints the report
and exits 1 when a category falls below ``--min`` (default 0.95) precision or recall.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipelines.matching.engine import Matcher
from pipelines.matching.rules import CATEGORIES

DEFAULT_LABELS = Path(__file__).resolve().parent.parent / "tests" / "data" / "labels.jsonl"
_POSITIVE_TIERS = frozenset({"strong", "review"})


def load_cases(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL labelled set (blank lines skipped); ValueError naming the line when one is malformed."""
    cases = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                case = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not JSON: {error}") from None
            if not isinstance(case, dict) or "id" not in case or not isinstance(case.get("expected"), dict):
                raise ValueError(f"{path}:{number}: a case needs 'id' and an 'expected' object")
            cases.append(case)
    return cases


def _ratio(numerator: int, denominator: int) -> float:
    # No predictions (or no positives) means nothing went wrong on that side: 1.0, not a division by zero.
    return numerator / denominator if denominator else 1.0


def _scores(tp: int, fp: int, fn: int, tn: int) -> dict[str, Any]:
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def evaluate(cases: Iterable[dict[str, Any]], matcher: Matcher) -> dict[str, Any]:
    """Per-category precision, recall, F1 and tp/fp/fn/tn, the same for "any match", and the misclassified ids.

    Returns ``{"rules_version", "cases", "categories": {category: {... "false_positives": [ids],
    "false_negatives": [ids]}}, "overall": {...}, "misclassified": [{"id", "expected", "predicted", "tier",
    "score"}]}``.
    """
    counts = {category: {"tp": 0, "fp": 0, "fn": 0, "tn": 0} for category in CATEGORIES}
    wrong_ids: dict[str, dict[str, list[str]]] = {
        category: {"false_positives": [], "false_negatives": []} for category in CATEGORIES
    }
    overall = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    misclassified = []
    total = 0
    for case in cases:
        total += 1
        expected = case["expected"]
        expected_categories = set(expected.get("categories") or [])
        expected_match = bool(expected.get("match", bool(expected_categories)))
        result = matcher.match(
            case.get("title") or "",
            case.get("text") or "",
            items=case.get("items") or "",
            attachments=case.get("attachments") or "",
            published=case.get("date"),
            notice_type=case.get("notice_type"),
        )
        predicted = set(result["categories"]) if result["tier"] in _POSITIVE_TIERS else set()
        for category in CATEGORIES:
            is_expected, is_predicted = category in expected_categories, category in predicted
            key = {(True, True): "tp", (False, True): "fp", (True, False): "fn", (False, False): "tn"}[
                (is_expected, is_predicted)
            ]
            counts[category][key] += 1
            if key == "fp":
                wrong_ids[category]["false_positives"].append(case["id"])
            elif key == "fn":
                wrong_ids[category]["false_negatives"].append(case["id"])
        predicted_match = bool(predicted)
        overall_key = {(True, True): "tp", (False, True): "fp", (True, False): "fn", (False, False): "tn"}[
            (expected_match, predicted_match)
        ]
        overall[overall_key] += 1
        if predicted != expected_categories or predicted_match != expected_match:
            misclassified.append(
                {
                    "id": case["id"],
                    "expected": sorted(expected_categories),
                    "predicted": sorted(predicted),
                    "tier": result["tier"],
                    "score": result["score"],
                }
            )
    return {
        "rules_version": matcher.rules_version,
        "cases": total,
        "categories": {category: {**_scores(**counts[category]), **wrong_ids[category]} for category in CATEGORIES},
        "overall": _scores(**overall),
        "misclassified": misclassified,
    }


def format_report(report: dict[str, Any]) -> str:
    """A readable table of an ``evaluate`` report, with the misclassified cases listed under it."""
    header = f"{'category':<24}{'precision':>10}{'recall':>8}{'f1':>8}{'tp':>6}{'fp':>6}{'fn':>6}{'tn':>6}"
    lines = [f"rules {report['rules_version']} on {report['cases']} labelled cases", header, "-" * len(header)]
    rows = [*report["categories"].items(), ("any match", report["overall"])]
    for name, row in rows:
        lines.append(
            f"{name:<24}{row['precision']:>10.3f}{row['recall']:>8.3f}{row['f1']:>8.3f}"
            f"{row['tp']:>6}{row['fp']:>6}{row['fn']:>6}{row['tn']:>6}"
        )
    if report["misclassified"]:
        lines.append("")
        lines.append("misclassified:")
        for case in report["misclassified"]:
            lines.append(
                f"  {case['id']}: expected {case['expected'] or '-'}, got {case['predicted'] or '-'}"
                f" (tier {case['tier']}, score {case['score']})"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: print the report for a labelled set; exit 1 below the minimum precision/recall."""
    parser = argparse.ArgumentParser(prog="python -m pipelines.matching.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("labels", nargs="?", default=str(DEFAULT_LABELS), help="labelled set (JSONL)")
    parser.add_argument("--rules", default=None, help="rules file (default: pipelines/matching/rules.toml)")
    parser.add_argument("--min", type=float, default=0.95, help="minimum precision and recall per category")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    arguments = parser.parse_args(argv)
    report = evaluate(load_cases(arguments.labels), Matcher.load(arguments.rules))
    print(json.dumps(report, ensure_ascii=False, indent=2) if arguments.json else format_report(report))
    below = [
        name
        for name, row in report["categories"].items()
        if row["precision"] < arguments.min or row["recall"] < arguments.min
    ]
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
