"""The attachment screen: which notices' files are worth downloading (the vocabulary is data: screen.toml)."""

from __future__ import annotations

import pytest

from pipelines.matching.engine import Matcher
from pipelines.matching.rules import RulesError
from pipelines.matching.screen import Screen


@pytest.fixture(scope="module")
def screen() -> Screen:
    return Screen.load(matcher=Matcher.load())


@pytest.mark.parametrize(
    ("title", "body", "items", "reason"),
    [
        ("某大学GPU服务器采购项目", "", "", "word gpu"),
        ("智算中心建设项目", "", "", "word 智算"),
        ("实验室设备采购", "采购推理服务器2台", "", "word 推理服务器"),
        ("实验室设备采购", "", "ＧＰＵ加速卡 4块", "word gpu"),  # full-width letters are folded first
        ("某单位大模型服务采购", "", "", "word 大模型"),
        # No vocabulary word: the matcher's hit decides.
        ("某研究所设备采购", "采购服务器，配置8块A800", "", "rule chip.a800"),
        ("办公家具采购项目", "办公桌椅一批", "", None),
        ("道路照明设施维修改造", "", "LED路灯 200套", None),
    ],
)
def test_screen(screen, title, body, items, reason):
    assert screen.reason(title, body, items) == reason
    assert screen.passes(title, body, items) is (reason is not None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("compute_vocabulary = []", "non-empty list"),
        ('compute_vocabulary = ["GPU"]', "lower case"),
        ('compute_vocabulary = ["(gpu"]', "compute_vocabulary"),
        ("compute_vocabulary = [", "cannot read"),
    ],
)
def test_a_malformed_screen_file_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "screen.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError, match=message):
        Screen.load(path)
