"""The matcher engine: normalization, extraction, scoring, the public API, and zero strong hits on real pages."""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.matching.engine import Matcher, match_jsonl
from pipelines.matching.folding import normalize, snippet_bounds
from pipelines.national.notice_types import NOTICE_TYPES
from tests.conftest import ROOT, shared_path
from tests.corpora import hefei_notices, real_page_documents

LABELS = ROOT / "tests" / "data" / "labels.jsonl"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.load()


def _hits(result: dict, rule_prefix: str = "") -> list[dict]:
    return [hit for hit in result["hits"] if hit["rule_id"].startswith(rule_prefix)]


# ───────────────────────── the two cases named in the issue ─────────────────────────


def test_servers_times_cards_is_sixteen_a800(matcher: Matcher) -> None:
    result = matcher.match("采购GPU服务器2台，每台配置8块NVIDIA A800 80GB")
    assert result["tier"] == "strong"
    assert result["categories"] == ["ai_chip"]
    best = result["hits"][0]
    assert (best["category"], best["model"], best["quantity"], best["unit"]) == ("ai_chip", "A800", 16, "card")
    assert best["memory"] == "80GB"
    assert best["text"] == "A800"
    assert best["restricted_since"] == "2023-10-17"
    assert best["after_restriction"] is None


def test_furniture_height_is_no_hit(matcher: Matcher) -> None:
    result = matcher.match("办公桌 规格W1200×D600×H800mm")
    assert result == {"tier": "none", "score": 0.0, "categories": [], "hits": []}


# ───────────────────────── normalization ─────────────────────────


@pytest.mark.parametrize("written", ["RTX-4090", "RTX 4090", "RTX4090", "ＲＴＸ４０９０", "rtx\u30004090", "RTX–4090"])
def test_rtx_4090_spellings_are_one_pattern(matcher: Matcher, written: str) -> None:
    result = matcher.match(f"显卡：{written} 24G 涡轮版")
    chip = _hits(result, "chip.rtx4090")
    assert chip and chip[0]["model"] == "RTX 4090"
    assert chip[0]["text"] == written  # quoted from the original text


@pytest.mark.parametrize(
    ("written", "quantity"),
    [
        ("8 * A800", 8),
        ("8*A800", 8),
        ("8×A800", 8),
        ("8x A800", 8),
        ("A800×8", 8),
        ("A800*8", 8),
        ("A800 80GB*8", 8),
        ("八卡A800", 8),
        ("8卡A800", 8),
        ("8 卡 A800", 8),
        ("八块A800", 8),
        ("A800 GPU卡8块", 8),
    ],
)
def test_card_count_spellings(matcher: Matcher, written: str, quantity: int) -> None:
    result = matcher.match("GPU服务器采购", f"GPU服务器1台，配置{written}，显存80GB")
    chip = _hits(result, "chip.a800")
    assert chip, result
    assert (chip[0]["quantity"], chip[0]["unit"]) == (quantity, "card")


# English specifications (attachments): "4 units / Each unit: 8 x H800" is 32 cards; without "each" a count of
# units or nodes multiplies nothing.
@pytest.mark.parametrize(
    ("body", "quantity"),
    [
        ("Item 1: GPU server, 4 units\nEach unit: 8 x NVIDIA H800 80GB SXM5, 2 x 400Gb/s NICs", 32),
        ("Part 2. Training servers: 2 nodes\nEach node: 8 x NVIDIA A800 80GB SXM4, NVLink", 16),
        ("GPU server, 1 unit: 8 x NVIDIA H800 80GB SXM5", 8),
        ("Storage: 4 units. GPU server: 8 x NVIDIA H800 80GB SXM5", 8),
    ],
)
def test_english_specifications_count_cards_per_unit(matcher: Matcher, body: str, quantity: int) -> None:
    chip = _hits(matcher.match("GPU server", body), "chip.")
    assert chip, body
    assert (chip[0]["quantity"], chip[0]["unit"]) == (quantity, "card")


# A server hit reads the cards of each machine in the clause after its count; what else a machine holds is no card.
@pytest.mark.parametrize(
    ("body", "quantity"),
    [
        ("本项目采购GPU服务器2台，每台配置8块NVIDIA A800 80GB，用于教学。", (16, "card")),
        ("采购推理服务器4台，每台8卡H20，用于推理", (32, "card")),
        ("采购GPU服务器3台（每台配置4张英伟达A800加速卡）", (12, "card")),
        # traps: CPUs, disks, and disks before the chip are counted per machine, not cards
        ("采购GPU服务器2台，每台配置2颗CPU、8块SSD，配备NVIDIA A800", (2, "server")),
        ("采购GPU服务器2台，每台配置16块硬盘，A800显卡", (2, "server")),
        ("采购GPU服务器2台，每台配置8块SSD硬盘及A800加速卡", (2, "server")),
        ("采购GPU服务器2台，每台配置2颗不低于32核的处理器，A800", (2, "server")),
    ],
)
def test_server_hits_count_the_cards_of_each_machine(matcher: Matcher, body: str, quantity: tuple) -> None:
    server = [hit for hit in _hits(matcher.match("GPU服务器采购项目", body), "server.") if hit["quantity"]]
    assert server, body
    assert (server[0]["quantity"], server[0]["unit"]) == quantity


@pytest.mark.parametrize(
    ("row", "quantity"),
    [
        ("GPU训练服务器 | 浪潮 | NF5488A5（8×NVIDIA A800 80GB SXM4） | 8台 | 1480000", 64),  # ×8 per machine
        ("GPU服务器 | 8*A800 | 1台", 8),
        ("计算加速卡 | 英伟达（NVIDIA） | A800 80GB PCIe | 4块 | 96500", 4),  # the cards themselves
        ("GPU服务器 | A800*8 | 2套 | 3000000", 16),
    ],
)
def test_item_table_rows_count_every_card(matcher: Matcher, row: str, quantity: int) -> None:
    chip = _hits(matcher.match("服务器采购", "", items=row), "chip.a800")
    assert chip, row
    assert (chip[0]["quantity"], chip[0]["unit"]) == (quantity, "card")


@pytest.mark.parametrize(
    ("original", "normalized"),
    [
        ("RTX-4090", "rtx 4090"),
        ("ＮＶＩＤＩＡ　Ａ１００", "nvidia a100"),
        ("8 * A800", "8*a800"),
        ("A800×8", "a800*8"),
        ("八卡", "8卡"),
        ("两台", "2台"),
        ("校园一卡通", "校园一卡通"),
        ("W1200×D600×H800mm", "w1200*d600*h800mm"),
        ("GB 200-2003", "gb 200-2003"),
        ("A100-SXM4-80GB", "a100 sxm4-80gb"),
        ("采购 GPU 服务器", "采购gpu服务器"),
        ("4000万 Tokens", "4000万tokens"),
    ],
)
def test_normalized_forms(original: str, normalized: str) -> None:
    assert normalize(original).text == normalized


def test_offsets_quote_the_original() -> None:
    original = "采购ＮＶＩＤＩＡ　Ａ１００ 两台，每台８块"
    normalized = normalize(original)
    start = normalized.text.index("a100")
    assert normalized.original_text(start, start + 4) == "Ａ１００"
    two = normalized.text.index("2台")
    assert normalized.original_text(two, two + 1) == "两"
    assert normalized.original_text(0, len(normalized.text)) == original


# (text, the hit, radius, the quote): a snippet never starts or ends inside a number, a model or an ASCII word; a
# short cut word is completed, a long one (a URL) left out; Chinese text is cut anywhere.
@pytest.mark.parametrize(
    ("text", "hit", "radius", "quote"),
    [
        # the radius would start inside "A800" ("00 80GB…"), or end inside "2260000" ("…| 22600")
        ("配置8×NVIDIA A800 80GB | 1台", "1台", 10, "A800 80GB | 1台"),
        ("配置8×NVIDIA A800 80GB | 1台 | 2260000元", "1台", 8, "80GB | 1台 | 2260000"),
        # just after "8×": the multiplier stays with its model
        ("服务器 8×A800，8台", "8台", 5, "8×A800，8台"),
        # inside an amount with separators ("1,3"), and inside an English word ("U server")
        ("预算金额：1,395.00万元，采购GPU服务器", "预算", 6, "预算金额：1,395.00"),
        ("Item 1: GPU server, 4 units", "4 units", 12, "GPU server, 4 units"),
        # full-width digits and letters are words too
        ("单价１２３４５元 Ａ８００ 八卡", "元", 3, "１２３４５元 Ａ８００"),
        # a long word is left out rather than quoted whole
        ("see https://example.org/aaaaaaaaaaaaaaaaaaaaaaaaa then A100 cards", "A100", 12, "then A100 cards"),
        # Chinese is cut where the radius falls; a hit at the edge of the text is kept whole
        ("采购计算加速卡A100两块", "A100", 2, "速卡A100两块"),
        ("A100", "A100", 40, "A100"),
        # a hit inside a longer word is quoted with the whole word
        ("xxA100yy", "A100", 0, "xxA100yy"),
    ],
)
def test_evidence_snippets_cut_at_word_and_number_boundaries(text: str, hit: str, radius: int, quote: str) -> None:
    start = text.index(hit)
    low, high = snippet_bounds(text, start, start + len(hit), radius)
    assert text[low:high].strip() == quote
    normalized = normalize(text)
    folded = normalize(hit).text
    position = normalized.text.index(folded)
    assert normalized.snippet(position, position + len(folded), radius) == quote  # through the text's map


_ALPHABET = st.sampled_from(
    [
        *"aAzZ09８Ａ ×*-_\n\t　，。；（）:",
        "八",
        "两",
        "一",
        "卡",
        "台",
        "块",
        "服务器",
        "①",
        "㎡",
        "…",
        "ß",
        "İ",
        "GPU",
        "A100",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_offset_map_is_monotonic_and_faithful(text: str) -> None:
    normalized = normalize(text)
    spans = [normalized.original_span(index, index + 1) for index in range(len(normalized.text))]
    assert all(0 <= start < end <= len(text) for start, end in spans)
    assert [start for start, _ in spans] == sorted(start for start, _ in spans)
    assert [end for _, end in spans] == sorted(end for _, end in spans)
    for character, (start, end) in zip(normalized.text, spans, strict=True):
        source = text[start:end]
        if character.isascii() and character.isalnum():
            # A letter or digit comes from the same character (folded) or from a Chinese numeral before a counter.
            folded = unicodedata.normalize("NFKC", source).casefold()
            assert character in folded or set(source) <= set("零〇一二两三四五六七八九十百千"), (character, source)


# ───────────────────────── export-control dates ─────────────────────────


@pytest.mark.parametrize(
    ("body", "published", "model", "since", "after"),
    [
        ("NVIDIA A100 80GB GPU卡 2块", date(2022, 9, 1), "A100", "2022-10-07", False),
        ("NVIDIA A100 80GB GPU卡 2块", date(2023, 9, 1), "A100", "2022-10-07", True),
        ("NVIDIA A800 80GB GPU卡 2块", date(2023, 9, 1), "A800", "2023-10-17", False),
        ("英伟达H20 96G GPU卡 8张", date(2024, 8, 1), "H20", "2025-04-15", False),
        ("英伟达H20 96G GPU卡 8张", date(2025, 6, 1), "H20", "2025-04-15", True),
        ("RTX 4090 24GB 显卡 2块", datetime(2024, 1, 5, 10, 30), "RTX 4090", "2023-10-17", True),
        ("RTX 4090D 24GB 显卡 2块", date(2024, 1, 5), "RTX 4090D", None, None),
        ("AMD Instinct MI308X 加速卡", "2025-07-01", "MI308", "2025-04-15", True),
        ("NVIDIA A100 80GB GPU卡 2块", None, "A100", "2022-10-07", None),
    ],
)
def test_restriction_dates(matcher: Matcher, body: str, published, model: str, since, after) -> None:
    hit = matcher.match("", body, published=published)["hits"][0]
    assert (hit["model"], hit["restricted_since"], hit["after_restriction"]) == (model, since, after)


def test_purchase_before_restriction_is_review_not_strong(matcher: Matcher) -> None:
    before = matcher.match("", "NVIDIA A100 80GB GPU卡 2块", published=date(2021, 5, 1))
    after = matcher.match("", "NVIDIA A100 80GB GPU卡 2块", published=date(2024, 5, 1))
    assert (before["tier"], after["tier"]) == ("review", "strong")


def test_compliant_variant_is_weak(matcher: Matcher) -> None:
    result = matcher.match("", "GeForce RTX 4090D 24GB 显卡 4块", published=date(2024, 5, 1))
    assert result["tier"] == "weak" and result["categories"] == []


# ───────────────────────── extraction ─────────────────────────


@pytest.mark.parametrize(
    ("body", "tokens"),
    [
        ("采购Azure OpenAI服务4000万tokens", 40_000_000),
        ("采购OpenAI API调用服务1亿tokens", 100_000_000),
        ("GPT-4大语言模型接口服务，总量四千万tokens", 40_000_000),
        ("OpenAI GPT-4o模型API，500M tokens", 500_000_000),
        ("Gemini API服务，预计2000万 Tokens", 20_000_000),
        ("OpenAI API tokens总量：3000万", 30_000_000),
        ("大模型API服务，0.5亿tokens", 50_000_000),
    ],
)
def test_token_quantities(matcher: Matcher, body: str, tokens: int) -> None:
    result = matcher.match("", body)
    assert "llm_tokens" in result["categories"]
    assert {hit["tokens"] for hit in _hits(result, "llm.")} == {tokens}


@pytest.mark.parametrize(
    ("body", "provider"),
    [
        ("采购亚马逊云科技云服务账号，含A100 GPU云服务器", "AWS"),
        ("采购Azure ND96asr_v4实例（8×A100）", "Azure"),
        ("采购Google Cloud a2-highgpu-8g实例资源", "Google Cloud"),
        ("采购Oracle Cloud Infrastructure（OCI）BM.GPU.H100.8裸金属实例", "Oracle Cloud"),
        ("采购p5.48xlarge实例使用时长500小时", "AWS"),
        ("采购Azure OpenAI服务2000万tokens", "Azure"),
        ("采购Claude API调用额度", "Anthropic"),
    ],
)
def test_providers(matcher: Matcher, body: str, provider: str) -> None:
    result = matcher.match("", body)
    assert result["tier"] == "strong"
    assert result["hits"][0]["provider"] == provider


def test_card_hours_and_amount(matcher: Matcher) -> None:
    result = matcher.match("", "采购A100 GPU算力租赁服务，总量2万卡时，预算金额：24.5万元")
    hit = _hits(result, "cloud.restricted_gpu_remote")[0]
    assert (hit["quantity"], hit["unit"], hit["model"]) == (20000, "card_hour", "A100")
    assert hit["amount"] == 245000.0


@pytest.mark.parametrize(
    ("body", "amount"),
    [
        ("成交金额：199804元，服务内容：AWS云服务账号及GPU云服务器资源", 199804.0),
        ("预算金额：19.98万元。采购亚马逊云科技（AWS）GPU云服务账号", 199800.0),
        ("中标金额：￥1,350,000.00 标的：NVIDIA DGX A100 640GB 1台", 1350000.0),
        ("中标金额(万元):186 标的：8*H800 80GB GPU服务器1台", 1860000.0),
    ],
)
def test_amount_near_hit(matcher: Matcher, body: str, amount: float) -> None:
    assert matcher.match("", body)["hits"][0]["amount"] == amount


@pytest.mark.parametrize(
    "body",
    [
        # The demo's 90000804: the header's "(元)" and the first row's number are not "1 元".
        "四、主要标的信息\n序号 | 名称 | 品牌 | 规格型号 | 数量 | 单价（元）\n1 | 计算加速卡 | 英伟达（NVIDIA） | "
        "A100 80GB PCIe | 4块 | 96500\n2 | 服务器 | 联想 | ThinkSystem SR670 V2 | 1台 | 68000",
        "数量 | 金额(万元)\n2 | GPU服务器 | 8*A800 | 2台",
    ],
)
def test_a_table_row_number_is_not_an_amount(matcher: Matcher, body: str) -> None:
    hit = matcher.match("", body)["hits"][0]
    assert hit["model"] in ("A100", "A800")
    assert hit["amount"] not in (1.0, 2.0, 10_000.0, 20_000.0)


def test_servers_without_card_count(matcher: Matcher) -> None:
    hit = matcher.match("", "采购A800 GPU服务器4台，用于大模型训练")["hits"][0]
    assert (hit["model"], hit["quantity"], hit["unit"]) == ("A800", 4, "server")


def test_eight_card_servers(matcher: Matcher) -> None:
    hit = matcher.match("", "技嘉8卡GPU服务器2台，GPU型号：英伟达H800，单卡显存80GB")["hits"][0]
    assert (hit["model"], hit["quantity"], hit["unit"]) == ("H800", 16, "card")


def test_evidence_and_field(matcher: Matcher) -> None:
    chip_line = "采购ＮＶＩＤＩＡ　Ａ１００ 80GB GPU卡２块。"
    body = "一、项目概况\n" + "本项目为学院实验室建设。" * 10 + chip_line + "其他说明。" * 10
    result = matcher.match(
        "实验室设备采购", body, items="名称：服务器；规格：无GPU", attachments="附件：H100 80GB GPU卡1块"
    )
    body_hit = next(hit for hit in result["hits"] if hit["model"] == "A100")
    assert body_hit["field"] == "body"
    assert body_hit["text"] == "Ａ１００"
    assert "ＮＶＩＤＩＡ　Ａ１００" in body_hit["evidence"]
    assert body_hit["evidence"] in body
    assert len(body_hit["evidence"]) <= len("Ａ１００") + 80
    attachment_hit = next(hit for hit in result["hits"] if hit["model"] == "H100")
    assert attachment_hit["field"] == "attachment"


def test_items_as_structured_rows(matcher: Matcher) -> None:
    rows = [{"名称": "GPU模组", "品牌": "NVIDIA", "规格型号": "H800 80GB SXM5", "数量": "8", "单位": "块"}]
    hit = matcher.match("计算设备采购中标结果公告", "", items=rows, notice_type="award")["hits"][0]
    assert (hit["field"], hit["model"], hit["quantity"], hit["unit"]) == ("items", "H800", 8, "card")


# ───────────────────────── scoring, notice types, categories ─────────────────────────


def test_award_outweighs_tender_and_acceptance_is_not_a_purchase(matcher: Matcher) -> None:
    body = "GPU服务器1台，配置4块NVIDIA A100 40GB"
    tender = matcher.match("", body, notice_type="open_tender")
    award = matcher.match("", body, notice_type="award")
    acceptance = matcher.match("", body, notice_type="acceptance")
    assert award["score"] > tender["score"]
    assert tender["tier"] == award["tier"] == "strong"
    assert acceptance["tier"] == "weak" and acceptance["categories"] == []


@pytest.mark.parametrize("notice_type", [t.code for t in NOTICE_TYPES])
def test_every_notice_type_is_accepted(matcher: Matcher, notice_type: str) -> None:
    result = matcher.match("", "NVIDIA A100 80GB GPU卡 2块", notice_type=notice_type)
    assert result["tier"] in ("strong", "review", "weak")


def test_unknown_notice_type_is_an_error(matcher: Matcher) -> None:
    with pytest.raises(ValueError, match="notice_type"):
        matcher.match("", "A100", notice_type="zbgg")


def test_compute_voucher_policy_is_not_a_purchase(matcher: Matcher) -> None:
    title = "关于开展2024年度算力券申报工作的通知"
    result = matcher.match(title, "对租用英伟达A100、H800 GPU云服务器的企业发放算力券补贴")
    assert result["hits"] and result["tier"] == "weak"


def test_cloud_rental_is_not_a_chip_purchase(matcher: Matcher) -> None:
    result = matcher.match("", "采购亚马逊云科技（AWS）云服务账号，提供搭载NVIDIA A100及H100 GPU的云服务器资源")
    assert result["categories"] == ["cloud_compute"]
    assert not _hits(result, "chip.")


def test_separate_lots_keep_their_categories(matcher: Matcher) -> None:
    body = "包1：GPU服务器1台，配置8块A800 80GB。\n包2：亚马逊云科技（AWS）云服务，含GPU实例资源。"
    assert matcher.match("", body)["categories"] == ["ai_chip", "cloud_compute"]


def test_llm_behind_a_cloud_account_is_llm_tokens(matcher: Matcher) -> None:
    result = matcher.match("海外AWS账号采购项目", "采购海外AWS账号，用于调用Claude 3大模型，预算金额：60万元")
    assert result["categories"] == ["llm_tokens"]
    assert result["hits"][0]["amount"] == 600000.0


def test_domestic_tokens_are_context_only(matcher: Matcher) -> None:
    foreign = matcher.match("", "采购GPT-4o模型API服务，5000万tokens")
    domestic = matcher.match("", "采购DeepSeek大模型API服务，5000万tokens")
    unnamed = matcher.match("", "采购大模型API服务，5000万tokens")
    assert (foreign["tier"], unnamed["tier"], domestic["tier"]) == ("strong", "review", "weak")


def test_result_is_json_serialisable_and_stable(matcher: Matcher) -> None:
    result = matcher.match(
        "GPU服务器采购",
        "8*A800 80G GPU服务器；AWS GPU云服务器；Azure OpenAI 1000万tokens",
        published=date(2024, 3, 1),
        notice_type="award",
    )
    assert json.loads(json.dumps(result, ensure_ascii=False)) == result
    assert set(result) == {"tier", "score", "categories", "hits"}
    assert result["categories"] == sorted(result["categories"])
    keys = {
        "rule_id",
        "category",
        "tier",
        "score",
        "text",
        "evidence",
        "field",
        "model",
        "quantity",
        "unit",
        "memory",
        "provider",
        "tokens",
        "restricted_since",
        "after_restriction",
        "licence",
        "licence_listed",
        "reason",
        "amount",
    }
    for hit in result["hits"]:
        assert set(hit) == keys
        assert hit["tier"] in ("strong", "review", "weak")
    assert result["score"] == max(hit["score"] for hit in result["hits"])


def test_rules_version(matcher: Matcher) -> None:
    assert re.fullmatch(r"\d{4}\.\d+\.\d+\+[0-9a-f]{8}", matcher.rules_version)
    assert Matcher.load().rules_version == matcher.rules_version


# ───────────────────────── the one-pass prefilter finds what every rule finds ─────────────────────────


def _scan_summary(matcher: Matcher, case: dict, strategy) -> list[tuple]:
    scan = matcher._scan_notice(
        case.get("title", ""), case.get("text", ""), case.get("items", ""), case.get("attachments", ""), strategy
    )
    return sorted((hit.rule.id, hit.field, hit.start, hit.end) for hit in scan.hits)


def test_prefilter_agrees_with_every_rule_scanned_alone(matcher: Matcher) -> None:
    cases = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for case in cases:
        assert _scan_summary(matcher, case, matcher._candidate_starts) == _scan_summary(
            matcher, case, matcher._naive_candidate_starts
        ), case["id"]


_WORDS = st.sampled_from(
    [
        "A100",
        "8*",
        "H800",
        "mm",
        "GPU",
        "服务器",
        "AWS",
        "云",
        "账号",
        "tokens",
        "4000万",
        "GPT-4",
        "4090",
        "RTX",
        "D",
        " ",
        "，",
        "。",
        "x",
        "算力租赁",
        "卡时",
        "L40",
        "S",
        "GB200",
        "NVL72",
        "DGX",
        "不低于",
        "英伟达",
        "8卡",
        "Azure",
        "OpenAI",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_WORDS, max_size=25).map("".join))
def test_prefilter_agrees_on_generated_text(text: str) -> None:
    matcher = _MATCHER
    case = {"text": text}
    assert _scan_summary(matcher, case, matcher._candidate_starts) == _scan_summary(
        matcher, case, matcher._naive_candidate_starts
    )


_MATCHER = Matcher.load()


# ───────────────────────── JSON lines ─────────────────────────


def test_match_jsonl(matcher: Matcher) -> None:
    lines = [
        json.dumps(
            {"id": "n1", "title": "GPU服务器采购", "text": "8*A800 80G", "date": "2024-03-01", "notice_type": "award"},
            ensure_ascii=False,
        ),
        "",
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"id": "n4", "title": "x", "text": "y", "date": "someday"}),
        json.dumps({"id": "n5", "title": "x", "text": "y", "notice_type": "zbgg"}),
        json.dumps({"id": "n6", "title": 5, "text": "y"}),
        json.dumps(
            {"id": "n7", "title": "办公桌", "text": "W1200×D600×H800mm", "items": [{"名称": "办公桌"}]},
            ensure_ascii=False,
        ),
    ]
    outputs = [json.loads(line) for line in match_jsonl(lines, matcher)]
    assert [output["id"] for output in outputs] == ["n1", None, None, "n4", "n5", "n6", "n7"]
    assert outputs[0]["tier"] == "strong" and outputs[0]["hits"][0]["after_restriction"] is True
    for output in outputs[1:6]:
        assert output["error"]
    assert outputs[6]["tier"] == "none" and "error" not in outputs[6]


# ───────────────────────── real pages and corpora: no strong hit ─────────────────────────


def _real_documents() -> list[tuple[str, str, str]]:
    return real_page_documents(shared_path("fixtures/real"))


def _inferred_leads(result: dict) -> list[str]:
    """Evidence of server-model and spec-signature hits at review or above (none is expected on the real corpora)."""
    return [
        hit["evidence"]
        for hit in result["hits"]
        if hit["rule_id"].startswith(("sig.", "server_model.")) and hit["tier"] in ("strong", "review")
    ]


def test_real_pages_have_no_strong_hit(matcher: Matcher) -> None:
    documents = _real_documents()
    assert len(documents) > 140
    strong = [
        (name, [h["evidence"] for h in result["hits"]])
        for name, title, text in documents
        if (result := matcher.match(title, text))["tier"] == "strong"
    ]
    assert strong == []


def test_ccgp_corpus_titles_have_no_strong_hit(matcher: Matcher, capsys: pytest.CaptureFixture[str]) -> None:
    path = shared_path("corpus/ccgp_trade_2022/trade.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        titles = [row["object"] for row in csv.DictReader(handle, delimiter="\t") if row.get("object")]
    assert len(titles) > 15000
    tiers: dict[str, int] = {}
    strong, review, inferred = [], [], []
    for title in titles:
        result = matcher.match(title)
        tiers[result["tier"]] = tiers.get(result["tier"], 0) + 1
        if result["tier"] == "strong":
            strong.append(title)
        elif result["tier"] == "review":
            review.append(title)
        inferred += _inferred_leads(result)
    with capsys.disabled():
        print(f"\nccgp_trade_2022: {len(titles)} titles, tiers {tiers}, review rate {len(review) / len(titles):.4%}")
        for title in review[:20]:
            print(f"  review: {title}")
    assert strong == []
    assert inferred == []


def test_hefei_corpus_notices_have_no_strong_hit(matcher: Matcher, capsys: pytest.CaptureFixture[str]) -> None:
    notices = hefei_notices(shared_path("corpus/hefei_ggzy"))
    assert len(notices) > 1000
    results = [matcher.match(title, text) for title, text in notices]
    strong = [notices[i][0] for i, result in enumerate(results) if result["tier"] == "strong"]
    assert [lead for result in results for lead in _inferred_leads(result)] == []
    review = sum(result["tier"] == "review" for result in results)
    with capsys.disabled():
        print(f"\nhefei_ggzy: {len(notices)} notices, review rate {review / len(notices):.4%}")
    assert strong == []
