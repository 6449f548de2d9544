"""English names beside the Chinese: party data first, then the reviewed table, then rules, pinyin for the rest."""

from __future__ import annotations

import pytest

from pipelines.publishing.english import english_name

# (name as a notice writes it, English shown beside it)
NAMES = [
    ("清华大学", "Tsinghua University"),  # the reviewed institutions table
    ("哈尔滨工业大学（深圳）", "Harbin Institute of Technology, Shenzhen"),  # listed-party data, a campus
    ("中国人民解放军93212部队", "PLA 93212 Unit"),  # a military unit, its number kept
    ("中国科学院智能计算与系统研究所", "Chinese Academy of Sciences Intelligent Computing and Systems Institute"),
    ("国家电子设计工具创新中心", "National Electronics Design Tools Innovation Centre"),
    ("黑龙江省寒地大数据研究院", "Heilongjiang Handi Big Data Research Institute"),  # pinyin only for 寒地
    ("天津辰宇智能科技有限公司", "Tianjin Chenyu Intelligent Technology Co., Ltd."),
    (None, None),
]


@pytest.mark.parametrize(("name", "english"), NAMES, ids=[str(name) for name, _ in NAMES])
def test_names_are_rendered_in_english(name, english):
    assert english_name(name) == english
