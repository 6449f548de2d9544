"""Amounts and dates as real notices write them (DOMAIN.md §3, the real ccgp pages, the Hefei corpus)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from pipelines.national.amounts import SHANGHAI, Amount, parse_amount, parse_date_range, parse_datetime, unit_of

# (written amount, column header or label it sat under, expected CNY, note on where it was seen)
AMOUNTS = [
    ("￥3300.000000万元（人民币）", None, "33000000.00", "ccgp summary 预算金额, single-source page"),
    ("￥1395.000000 万元（人民币）", None, "13950000.00", "ccgp summary 总中标金额, Tianjin award"),
    ("￥108.000000 万元（人民币）", None, "1080000.00", "ccgp summary 总成交金额, Tianjin works deal"),
    ("￥182.000000 万元（人民币）", None, "1820000.00", "ccgp summary 总中标金额, PUMCH award"),
    ("￥668.790000 万元（人民币）", None, "6687900.00", "ccgp summary 总中标金额, Guangdong award"),
    ("预算金额：3300.000000 万元（人民币）", None, "33000000.00", "single-source body"),
    ("预算金额：73.0800000 万元（人民币）", None, "730800.00", "DOMAIN.md §3, 7 decimals"),
    ("182.0000000（万元）", None, "1820000.00", "PUMCH body: unit in brackets after the figure"),
    ("中标（成交）金额：182.0000000（万元）", None, "1820000.00", "PUMCH body with its label"),
    ("1,395", "中标金额(万元)", "13950000.00", "Tianjin bundle table: unit in the column header"),
    ("1395", "单价(万元)", "13950000.00", "Tianjin item table unit price"),
    ("108", "成交金额(万元)", "1080000.00", "Tianjin works deal table"),
    ("830000", "货物单价(元)", "830000.00", "PUMCH item table"),
    ("160000", "货物单价(元)", "160000.00", "PUMCH item table, second item"),
    ("5390", "单价（元/台）", "5390.00", "Guangdong item table, per-unit header"),
    ("6687920.0元", None, "6687920.00", "Guangdong 中标（成交）金额"),
    ("3300万元", None, "33000000.00", "single-source content table 采购预算"),
    ("预算金额(元):930,000.00", None, "930000.00", "DOMAIN.md §3: unit in label, thousands separator"),
    ("2610000.00 元", None, "2610000.00", "DOMAIN.md §3"),
    ("中标（成交）金额：258000元", None, "258000.00", "DOMAIN.md §3"),
    ("代理费用收费金额(元)：89062.50", None, "89062.50", "Tianjin agency fee"),
    ("1.921600 万元（人民币）", None, "19216.00", "PUMCH agency fee"),
    ("30万元", None, "300000.00", "Hefei 预算金额"),
    ("47.25万元", None, "472500.00", "Hefei 预算金额"),
    ("184.822291万元", None, "1848222.91", "Hefei 最高限价, 6 decimals"),
    ("147 万元，其中第1包: 28 万元；第2包: 35 万元", None, "1470000.00", "Hefei: total before the lots"),
    ("第3包：29万", None, "290000.00", "Hefei: 万 without 元; 第3 is not money"),
    ("人民币壹佰贰拾万元整", None, "1200000.00", "DOMAIN.md §3 大写"),
    ("贰拾伍万捌仟元整", None, "258000.00", "大写 without 人民币"),
    ("柒拾万柒仟叁佰肆拾贰元捌角壹分(￥707342.81元)", None, "707342.81", "Hefei award: 大写 with figure"),
    ("柒拾万柒仟叁佰肆拾贰元捌角壹分", None, "707342.81", "the same 大写 alone, 角 and 分"),
    ("人民币玖拾玖万捌仟元整（¥998000.00）", None, "998000.00", "Hefei award, half-width ¥"),
    ("清单报价：6531928元，费率报价：80%", None, "6531928.00", "Hefei 中标其他类型: amount beside a rate"),
    ("1.39元/吨", None, "1.39", "Hefei 中标单价 (a unit price)"),
]

# (written, flags expected) for values that are not a CNY amount.
NOT_AMOUNTS = [
    ("0.5%", {"is_rate": True}, "Hefei 中标费率"),
    ("下浮率：5%", {"is_rate": True}, "DOMAIN.md §3 下浮率"),
    ("费率报价：80%", {"is_rate": True}, "Hefei"),
    ("详见附件", {"unknown": True}, "DOMAIN.md §3 placeholder"),
    ("详见公告正文", {"unknown": True}, "DOMAIN.md §3 placeholder"),
    ("0.0 万元", {"unknown": True}, "DOMAIN.md §3: zero means not filled in"),
    ("****", {"unknown": True}, "aggregator masking"),
    ("12**.00万元", {"unknown": True}, "aggregator masking inside the figure"),
    ("无", {"unknown": True}, "Hefei 最高限价：无"),
]


@pytest.mark.parametrize(("raw", "hint", "expected", "seen"), AMOUNTS, ids=[a[0] for a in AMOUNTS])
def test_amount_in_cny(raw, hint, expected, seen):
    amount = parse_amount(raw, unit_hint=hint)
    assert amount is not None, seen
    assert amount.value_cny == Decimal(expected), seen
    assert amount.raw == raw.strip()
    assert not amount.is_rate and not amount.unknown


@pytest.mark.parametrize(("raw", "flags", "seen"), NOT_AMOUNTS, ids=[a[0] for a in NOT_AMOUNTS])
def test_rates_and_placeholders_have_no_value(raw, flags, seen):
    amount = parse_amount(raw)
    assert amount is not None, seen
    assert amount.value_cny is None, seen
    assert amount.is_rate == flags.get("is_rate", False)
    assert amount.unknown == flags.get("unknown", False)


def test_amounts_keep_exact_decimals():
    # 万元 with 6-7 decimals must be multiplied exactly, never through float.
    assert parse_amount("￥0.000100万元").value_cny == Decimal("1.00")
    assert parse_amount("12345678.123456万元").value_cny == Decimal("123456781234.56")
    assert parse_amount("0.125元").value_cny == Decimal("0.125")


@pytest.mark.parametrize(
    ("raw", "flag"),
    [
        ("258000元（含税）", True),
        ("258000元(不含税)", False),
        ("258000元", None),
        ("182.0000000（万元）含增值税", True),
    ],
)
def test_tax_flag(raw, flag):
    assert parse_amount(raw).tax_included is flag


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_nothing_written_is_none(raw):
    assert parse_amount(raw) is None


def test_amount_is_a_frozen_record():
    amount = parse_amount("30万元")
    assert amount == Amount(Decimal("300000.00"), "30万元", None, False, False)


@pytest.mark.parametrize(
    ("label", "unit"), [("中标金额(万元)", "万元"), ("货物单价(元)", "元"), ("单价（元/台）", "元"), ("数量", None)]
)
def test_unit_of_label(label, unit):
    assert unit_of(label) == unit


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


# (written, expected, where it was seen)
DATES = [
    ("2026年07月03日 23:06", _at(2026, 7, 3, 23, 6), "ccgp span#pubTime"),
    ("2026年07月03日  23:06", _at(2026, 7, 3, 23, 6), "ccgp summary 公告时间 (two spaces)"),
    ("2026-07-03 23:06", _at(2026, 7, 3, 23, 6), "ccgp meta PubDate"),
    ("2026年07月09日  09:30", _at(2026, 7, 9, 9, 30), "ccgp summary 开标时间"),
    ("2023年07月14日 13点00分（北京时间）", _at(2023, 7, 14, 13, 0), "DOMAIN.md §3"),
    ("2024-09-02 10:00:00", _at(2024, 9, 2, 10, 0), "DOMAIN.md §3"),
    ("2026-07-03", _at(2026, 7, 3), "ccgp list date"),
    ("2026.09.23 12:30:10", _at(2026, 9, 23, 12, 30, 10), "ccgp search result list"),
    ("2026年7月9日09:30前", _at(2026, 7, 9, 9, 30), "single-source 响应文件递交时间"),
    ("2026年7月9日09:30（北京时间）", _at(2026, 7, 9, 9, 30), "single-source 协商时间"),
    ("2023年11月13日10点00分", _at(2023, 11, 13, 10, 0), "Hefei 开启时间"),
    ("2026年09月07日", _at(2026, 9, 7), "ccgp summary 首次公告日期"),
    ("2026-09-07 16:33　　　　地址：http://www.ccgp-beijing.gov.cn/", _at(2026, 9, 7, 16, 33), "Beijing 首次公告日期"),
    ("2026-09-24 14:56　", _at(2026, 9, 24, 14, 56), "Beijing 更正日期"),
    (" 2026年9月29日", _at(2026, 9, 29), "PUMCH 定标日期"),
    ("2026年9月28日", _at(2026, 9, 28), "Tianjin signature date"),
]


@pytest.mark.parametrize(("raw", "expected", "seen"), DATES, ids=[d[0] for d in DATES])
def test_datetime_in_shanghai_time(raw, expected, seen):
    parsed = parse_datetime(raw)
    assert parsed == expected, seen
    assert parsed.utcoffset().total_seconds() == 8 * 3600


@pytest.mark.parametrize("raw", ["自本公告发布之日起1个工作日。", "2026年13月01日", "", None, "第3包：87.43分。"])
def test_no_date(raw):
    assert parse_datetime(raw) is None


RANGES = [
    ("2023年11月02日09:00至2023年11月13日10:00", _at(2023, 11, 2, 9, 0), _at(2023, 11, 13, 10, 0)),
    ("从2026年7月3日起至2026年7月8 日止，每天(节假日除外)上午9:00时至11:30时", _at(2026, 7, 3), _at(2026, 7, 8)),
    ("2025年05月27日至2025年05月30日", _at(2025, 5, 27), _at(2025, 5, 30)),
    ("2026年7月3日至7月8日", _at(2026, 7, 3), _at(2026, 7, 8)),
    ("2026年07月09日 09:30至11:30", _at(2026, 7, 9, 9, 30), _at(2026, 7, 9, 11, 30)),
]


@pytest.mark.parametrize(("raw", "start", "end"), RANGES, ids=[r[0] for r in RANGES])
def test_date_range(raw, start, end):
    assert parse_date_range(raw) == (start, end)


def test_date_range_without_dates():
    assert parse_date_range("详见公告") is None
    assert parse_date_range(None) is None
