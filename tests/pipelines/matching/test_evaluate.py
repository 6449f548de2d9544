"""Evaluation: the arithmetic, the report, and the labelled set (≥ 0.95 precision and recall per category)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from pipelines.matching.engine import Matcher
from pipelines.matching.evaluate import evaluate, format_report, load_cases, main
from pipelines.matching.rules import CATEGORIES
from tests.conftest import ROOT

LABELS = ROOT / "tests" / "data" / "labels.jsonl"

# Every false-positive family of DOMAIN.md §5, as tagged in the labelled set's "family" key.
TRAP_FAMILIES = (
    "furniture_h800",
    "steel_h200",
    "timber_h20",
    "rtx_a1000",
    "allwinner_a100",
    "cisco_ucs_b200",
    "gb_standard",
    "optiplex_5090",
    "bolt_l40",
    "aws_welding",
    "gcp_clinical",
    "oracle_db",
    "security_token",
    "government_cloud",
    "m365_21vianet",
    "amd_desktop_cpu",
    "compute_voucher",
    "acceptance_report",
    "yunda_qct",
    "domestic_chips",
)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.load()


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return load_cases(LABELS)


def test_labelled_set_meets_the_bar(matcher: Matcher, cases: list[dict], capsys: pytest.CaptureFixture[str]) -> None:
    report = evaluate(cases, matcher)
    with capsys.disabled():
        print("\n" + format_report(report))
    for category in CATEGORIES:
        row = report["categories"][category]
        assert row["precision"] >= 0.95, (category, row)
        assert row["recall"] >= 0.95, (category, row)


def test_labelled_set_shape(cases: list[dict]) -> None:
    assert len(cases) >= 150
    ids = [case["id"] for case in cases]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    for case in cases:
        expected = case["expected"]
        assert expected["match"] == bool(expected["categories"]), case["id"]
        assert set(expected["categories"]) <= set(CATEGORIES), case["id"]
        assert case["title"] or case["text"], case["id"]
    positives = Counter(category for case in cases for category in case["expected"]["categories"])
    for category in CATEGORIES:
        assert positives[category] >= 25, (category, positives)
    families = Counter(case.get("family") for case in cases)
    missing = [family for family in TRAP_FAMILIES if families[family] < 2]
    assert missing == [], "every trap family needs at least two cases"
    assert families["negative"] >= 15


def test_counts_and_misclassified_ids(matcher: Matcher) -> None:
    cases = [
        {
            "id": "tp",
            "title": "",
            "text": "NVIDIA A100 80GB GPU卡 2块",
            "expected": {"match": True, "categories": ["ai_chip"]},
        },
        {"id": "fn", "title": "", "text": "办公桌", "expected": {"match": True, "categories": ["cloud_compute"]}},
        {"id": "fp", "title": "", "text": "采购OpenAI API调用服务", "expected": {"match": False, "categories": []}},
        {"id": "tn", "title": "", "text": "采购打印机", "expected": {"match": False, "categories": []}},
    ]
    report = evaluate(cases, matcher)
    assert report["cases"] == 4
    chip, cloud, llm = (report["categories"][c] for c in ("ai_chip", "cloud_compute", "llm_tokens"))
    assert (chip["tp"], chip["fp"], chip["fn"], chip["tn"]) == (1, 0, 0, 3)
    assert (cloud["tp"], cloud["fn"], cloud["false_negatives"]) == (0, 1, ["fn"])
    assert (llm["fp"], llm["false_positives"], llm["precision"]) == (1, ["fp"], 0.0)
    assert cloud["recall"] == 0.0 and chip["precision"] == chip["recall"] == chip["f1"] == 1.0
    assert (report["overall"]["tp"], report["overall"]["fp"], report["overall"]["fn"]) == (1, 1, 1)
    assert [case["id"] for case in report["misclassified"]] == ["fn", "fp"]
    table = format_report(report)
    for word in ("ai_chip", "cloud_compute", "llm_tokens", "any match", "misclassified", "fn:", "fp:"):
        assert word in table


def test_no_predictions_is_not_a_division_by_zero(matcher: Matcher) -> None:
    report = evaluate(
        [{"id": "x", "title": "打印机", "text": "", "expected": {"match": False, "categories": []}}], matcher
    )
    assert report["categories"]["ai_chip"]["precision"] == 1.0
    assert report["misclassified"] == []


def test_load_cases_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(
        '{"id": "a", "title": "", "text": "", "expected": {"match": false, "categories": []}}\n\n{oops\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"cases\.jsonl:3"):
        load_cases(path)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cases.jsonl"
    case = {
        "id": "a",
        "title": "",
        "text": "NVIDIA A100 80GB GPU卡",
        "expected": {"match": True, "categories": ["ai_chip"]},
    }
    path.write_text(json.dumps(case, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main([str(path)]) == 0
    assert "ai_chip" in capsys.readouterr().out
    missed = dict(case, expected={"match": True, "categories": ["llm_tokens"]})
    path.write_text(json.dumps(missed, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main([str(path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["categories"]["llm_tokens"]["fn"] == 1
