"""The fast path (``pipelines/matching/anchors.py``): a text skipped without normalizing gets exactly the result of
the full path, and a text that can hit is never skipped."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.matching.anchors import RawAnchors, anchor_strings
from pipelines.matching.engine import ONE_NOTICE_NAIVE_CHARACTERS, Matcher, _as_text
from pipelines.matching.folding import normalize_text
from pipelines.matching.rules import compile_prefilter
from tests.conftest import ROOT, shared_path
from tests.corpora import ccgp_titles, hefei_notices, real_page_documents


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.load()


def _full_path_needed(matcher: Matcher, *texts: str) -> bool:
    return any(matcher.anchors.may_match(text) for text in texts)


# (what it checks, title, text, extra match arguments, takes the full path?, rule ids expected among the hits)
CASES = [
    ("furniture: skipped, no hit", "某中学课桌椅采购项目", "采购课桌椅200套，预算12万元。", {}, False, set()),
    ("H800mm desk height: full path, trap holds", "办公桌采购", "办公桌尺寸1600×800×H800mm，共20张。", {}, True, set()),
    (
        "full-width chip and count",
        "ＧＰＵ服务器采购",
        "采购ＧＰＵ服务器２台，每台配置８块ＮＶＩＤＩＡ Ａ８００ ８０ＧＢ。",
        {},
        True,
        {"chip.a800"},
    ),
    ("model split by a line break", "算力设备", "配置NVIDIA H\n100 GPU卡8块", {}, True, None),
    ("model split by spaces and a hyphen", "采购", "RTX - 4090 显卡 4 张", {}, True, {"chip.rtx4090"}),
    ("no-break space inside a model", "采购", "GeForce\u00a0RTX\u00a04090显卡4张", {}, True, {"chip.rtx4090"}),
    ("ideographic space between Chinese", "采购", "人工智能\u3000服 务 器1台，配置A100", {}, True, {"chip.a100"}),
    ("Chinese numerals before a counter", "采购", "八卡A800服务器两台", {}, True, {"chip.a800"}),
    ("circled and superscript digits fold", "机房改造", "面积120㎡，①空调②UPS③机柜", {}, False, set()),
    ("circled digits rebuild a model", "采购", "A①00 GPU 8块", {}, True, {"chip.a100"}),
    ("UKey token trap", "CA数字证书采购", "采购UKey 200个，含token认证服务", {}, True, set()),
    ("domestic platform negative evidence", "采购", "昇腾910B服务器，显存80GB HBM2e", {}, True, None),
    ("class hit yields to the named chip", "采购", "NF5488A5服务器（8×A800 80GB）2台", {}, True, {"chip.a800"}),
    (
        "unnamed AI compute alone",
        "智算中心建设",
        "采购GPU服务器4台，用于深度学习训练",
        {},
        True,
        {"compute.gpu_server"},
    ),
    (
        "cloud rental",
        "算力租赁服务",
        "租用A100云服务器，按卡时计费，1000卡时",
        {},
        True,
        {"cloud.restricted_gpu_remote"},
    ),
    ("LLM tokens", "大模型调用服务", "调用ChatGPT API，采购1亿tokens", {}, True, {"llm.token_volume"}),
    (
        "the hit is only in an attachment",
        "服务器采购",
        "详见附件。",
        {"attachments": ["附件1 技术参数：GPU服务器2台，每台8块H800"]},
        True,
        {"chip.h800"},
    ),
    (
        "the hit is only in the items",
        "设备采购",
        "详见采购清单。",
        {"items": [{"name": "计算加速卡", "model": "A800 80GB", "quantity": "8块"}]},
        True,
        {"chip.a800"},
    ),
    (
        "acceptance notice lowers a title hit",
        "A100服务器验收报告",
        "项目已通过验收。",
        {"notice_type": "acceptance"},
        True,
        None,
    ),
    ("Chinese numerals rebuild a model code", "采购", "H二十台，配置GPU", {}, True, None),
    ("a superscript minus folds into a separator character", "机房", "温度18\u207b25℃，湿度40%", {}, False, set()),
    ("a space inside a model code is not the model", "采购", "型号A 100，数量8", {}, False, set()),
    ("empty notice", "", "", {}, False, set()),
]


@pytest.mark.parametrize(
    ("title", "text", "extra", "full_path", "rules"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_fast_path_equals_full_path(
    matcher: Matcher, title: str, text: str, extra: dict, full_path: bool, rules: set[str] | None
) -> None:
    fields = [title, text, _as_text(extra.get("items")), _as_text(extra.get("attachments"))]
    assert _full_path_needed(matcher, *fields) is full_path
    fast = matcher.match(title, text, **extra)
    assert fast == matcher.match_full(title, text, **extra)
    if rules is not None:
        assert {hit["rule_id"] for hit in fast["hits"]} >= rules
        if not rules:
            assert not any(hit["tier"] in ("strong", "review") for hit in fast["hits"])


def test_every_rule_pattern_has_anchors(matcher: Matcher) -> None:
    """Without anchors for one pattern every text would take the full path: the fast path would be off."""
    assert matcher.anchors is not None and matcher.anchors.regex is not None
    assert {"a100", "h800", "gpu服务器", "80g", "token"} <= set(matcher.anchors.anchors)
    for anchor in matcher.anchors.anchors:
        # Each anchor is found in raw text however it is typed: upper case, full width, spaced out where allowed.
        assert matcher.anchors.may_match(f"前文{anchor}后文"), anchor
        assert matcher.anchors.may_match(anchor.upper()), anchor
        full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in anchor.upper())
        assert matcher.anchors.may_match(full_width), anchor
        spread = "".join(c if c.isascii() else f" {c}\n" for c in anchor)
        assert matcher.anchors.may_match(spread), anchor


# Characters that normalization treats specially, and pieces of anchors, so random texts come close to hitting.
_PIECES = [
    *"aAＡhHｈ1１０0８8gGbB4９ 　\n\t-－_—·×＊①²㎡ⅠＩ一二两八十百台卡块张",
    *["a100", "H800", "80G", "GPU", "服务器", "算力", "租赁", "token", "RTX", "4090", "云", "mm", "训练", "推理"],
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
def test_a_skipped_text_holds_no_rule_pattern(matcher: Matcher, text: str) -> None:
    if not matcher.anchors.may_match(text):
        normalized = normalize_text(text)
        assert not any(rule.regex.search(normalized) for rule in matcher.rules), normalized
    assert matcher.match(text, text) == matcher.match_full(text, text)


def test_labelled_set_is_identical(matcher: Matcher) -> None:
    cases = [json.loads(line) for line in (ROOT / "tests" / "data" / "labels.jsonl").read_text().splitlines() if line]
    assert len(cases) > 300
    for case in cases:
        arguments = dict(
            items=case.get("items") or "",
            attachments=case.get("attachments") or "",
            published=case.get("date"),
            notice_type=case.get("notice_type"),
        )
        assert matcher.match(case["title"], case["text"], **arguments) == matcher.match_full(
            case["title"], case["text"], **arguments
        ), case["id"]


def test_one_notice_is_matched_without_compiling_the_prefilter_and_as_match_full() -> None:
    """``match-text`` matches one notice: a short one by each rule's regex, leaving the prefilter uncompiled; the
    result is match_full's all the same, and a long text compiles the prefilter as it is then the cheaper scan."""
    cases = [json.loads(line) for line in (ROOT / "tests" / "data" / "labels.jsonl").read_text().splitlines() if line]
    once, full = Matcher.load(), Matcher.load()
    hits = 0
    for case in cases:
        arguments = dict(published=case.get("date"), notice_type=case.get("notice_type"))
        found = once.match_once(case["title"], case["text"], **arguments)
        assert found == full.match_full(case["title"], case["text"], **arguments), case["id"]
        hits += bool(found["hits"])
    assert hits > 100
    assert "prefilter" not in once.__dict__
    long_text = "采购 NVIDIA H100 GPU 服务器 2 台。" + "办公桌 H800mm。" * (ONE_NOTICE_NAIVE_CHARACTERS // 10)
    assert once.match_once("服务器采购", long_text) == full.match_full("服务器采购", long_text)
    assert "prefilter" in once.__dict__


def test_real_texts_are_identical(matcher: Matcher) -> None:
    """A sample of the real corpora (all of them: bench/compare_fast_path.py): real pages, a quarter of the ccgp
    titles, a tenth of the Hefei notices."""
    documents = [(title, text) for _, title, text in real_page_documents(shared_path("fixtures/real"))]
    documents += [(title, "") for title in ccgp_titles(shared_path("corpus/ccgp_trade_2022/trade.csv"))[::4]]
    documents += hefei_notices(shared_path("corpus/hefei_ggzy"))[::10]
    assert len(documents) > 4000
    for title, text in documents:
        assert matcher.match(title, text) == matcher.match_full(title, text), title


@pytest.mark.parametrize(
    ("pattern", "anchors"),
    [
        ("a100(?![0-9])", ["a100"]),
        ("(?<![a-z])gpu ?(?:服务器|节点)", ["gpu 服务器", "gpu 节点", "gpu服务器", "gpu节点"]),
        ("(?<![0-9.])80 ?g(?:b)?(?![a-z])", ["80 g", "80 gb", "80g", "80gb"]),
        ("智算中心[^。;]{0,12}(?:设备|服务器)", ["智算中心"]),
        ("[0-9]{1,2}卡服务器", ["卡服务器"]),
        ("[^。]{3,}", None),  # nothing bounds it
        ("(?:x|[^。]+)", None),  # one alternative is unbounded
    ],
)
def test_anchor_strings(pattern: str, anchors: list[str] | None) -> None:
    assert anchor_strings(pattern) == anchors


def test_an_unbounded_pattern_turns_the_fast_path_off() -> None:
    bounded = RawAnchors(["a100(?![0-9])", "gpu ?服务器"], compile_prefilter)
    assert bounded.may_match("课桌椅采购") is False
    assert bounded.may_match("ＧＰＵ\u3000服务器") is True
    unbounded = RawAnchors(["a100(?![0-9])", "[^。]{3,}"], compile_prefilter)
    assert unbounded.regex is None and unbounded.may_match("课桌椅采购") is True
