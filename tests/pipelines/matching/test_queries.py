"""Search keywords and the title prefilter (pipelines/matching/queries.py)."""

from __future__ import annotations

import json

import pytest

from pipelines.matching.queries import CURATED_SEARCH_TERMS, fold, rules_vocabulary, search_terms, title_may_match
from tests.conftest import ROOT


def test_search_terms_join_the_curated_list_and_the_rules_names_once():
    terms = search_terms()
    assert terms[: len(CURATED_SEARCH_TERMS)] == list(CURATED_SEARCH_TERMS)
    models, providers = rules_vocabulary()
    assert {"A100", "H800", "RTX 4090", "L40S", "MI300"} <= set(models)
    assert {"AWS", "Azure", "OpenAI"} <= set(providers)
    assert {"L40S", "GB200", "RTX 5090", "Google Cloud", "Anthropic"} <= set(terms)
    assert "L4" not in terms  # too short and ambiguous for a full-text search
    assert len({fold(t) for t in terms}) == len(terms)


@pytest.mark.parametrize(
    ("rules", "models", "providers"),
    [
        ('[[models]]\nname = "A100"\npattern = "x"\n[[providers]]\nname = "AWS"\n', ("A100",), ("AWS",)),
        ('version = "1"\nmodels = "not a table"\n', (), ()),  # unexpected shape: ignored
        ("this is [ not toml", (), ()),  # unreadable: the curated list alone
    ],
)
def test_only_the_names_are_read_from_the_rules_file(tmp_path, rules, models, providers):
    path = tmp_path / "rules.toml"
    path.write_text(rules, encoding="utf-8")
    assert rules_vocabulary(path) == (models, providers)
    assert search_terms(path)[: len(CURATED_SEARCH_TERMS)] == list(CURATED_SEARCH_TERMS)


@pytest.mark.parametrize(
    ("title", "passes"),
    [
        ("某大学ＧＰＵ服务器采购项目公开招标公告", True),  # full-width letters
        ("某研究所英伟达A800计算卡采购", True),
        ("RTX-4090显卡采购询价", True),
        ("亚马逊云科技云服务账号采购项目", True),
        ("Procurement of cloud GPU resources", True),
        ("大模型token资源包采购询价公告", True),
        ("某单位2024年3月政府采购意向", True),
        ("", True),  # nothing to rule out with
        ("职工食堂餐饮服务采购项目公开招标公告", False),
        ("道路照明设施维修改造项目中标公告", False),
        ("云南省某县农村公路养护工程招标公告", False),  # 云 of 云南 is not cloud
        ("某医院mail系统维护服务", False),  # ai inside mail
        ("办公家具采购项目成交公告", False),
    ],
)
def test_title_prefilter(title, passes):
    assert title_may_match(title) is passes


def test_prefilter_keeps_almost_every_labelled_purchase():
    """The labelled positives whose title alone says nothing (two of them) are what the prefilter costs."""
    cases = [json.loads(line) for line in (ROOT / "tests/data/labels.jsonl").read_text(encoding="utf-8").splitlines()]
    positives = [case["title"] for case in cases if case["expected"]["match"]]
    missed = sorted(title for title in positives if not title_may_match(title))
    assert len(positives) >= 150
    assert len(missed) <= 3, missed
