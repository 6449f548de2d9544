"""ccgp detail-page chrome (``spiders.ccgp.parse_detail_page``) on the real pages, read in place."""

from __future__ import annotations

import re

import lxml.html
import pytest
from scrapy.http import HtmlResponse

from spiders import ccgp
from spiders.ccgp import parse_detail_page
from tests.conftest import real_page
from tests.spiders.ccgp_real_pages import (
    BEIJING_CORRECTION,
    DYLY,
    FAILED_BID,
    GUANGDONG,
    HEILONGJIANG_CORRECTION,
    PUMCH,
    TIANJIN_AWARD,
    TIANJIN_WORKS,
    URLS,
)

EXPECTED = {
    DYLY: {
        "title": "中国科学院金属研究所球差原位透射电镜采购项目单一来源采购公告",
        "published": "2026-07-03 23:06",
        "crumbs": ["首页", "政采公告", "中央公告", "其他公告"],
        "level": "central",
        "type_label": "其他公告",
    },
    GUANGDONG: {
        "title": "深圳市龙华科技实验高级中学空调采购中标（成交）结果公告",
        "published": "2025-05-27 20:20",
        "crumbs": ["首页", "政采公告", "地方公告", "中标公告"],
        "level": "local",
        "type_label": "中标公告",
    },
    TIANJIN_AWARD: {
        "title": None,  # trimmed by its author: no meta, no h2
        "page_title": "天津市第五中心医院 天津市第五中心医院医疗设备更新项目-数字减影血管造影机采购项目 "
        "(项目编号:XCSD-2026-A-589)中标公告",
        "published": "2026年09月28日 23:50",  # only the summary's 公告时间 survived the trimming
        "crumbs": [],
        "level": "local",  # from the URL
        "type_label": None,
    },
    TIANJIN_WORKS: {"title": None, "published": "2026年09月28日 18:51", "crumbs": [], "level": "local"},
    BEIJING_CORRECTION: {
        "title": "公改示范项目（第一批）-西城区骨健康特色诊疗中心项目（丰盛医院）06包更正公告",
        "published": "2026-09-24 15:32",
        "level": "local",
        "type_label": "更正公告",
    },
    HEILONGJIANG_CORRECTION: {"published": "2026-09-28 15:35", "level": "local", "type_label": "更正公告"},
    PUMCH: {
        "title": "中国医学科学院北京协和医院检验科设备购置项目（2）第3包中标公告",
        "published": "2026-09-29 09:22",
        "level": "central",
        "type_label": "中标公告",
    },
    FAILED_BID: {
        "title": "市属医院2026年医用设备集中带量采购放射组第14包、第16包废标公告",
        "published": "2026-09-24 19:48",
        "level": "local",
        "type_label": "终止公告",
    },
}

SUMMARY = {
    DYLY: {
        "采购项目名称": "中国科学院金属研究所球差原位透射电镜采购项目",
        "品目": "货物/设备/仪器仪表/其他仪器仪表",
        "采购单位": "中国科学院金属研究所",
        "行政区域": "沈阳市",
        "公告时间": "2026年07月03日 23:06",
        "开标时间": "2026年07月09日 09:30",
        "预算金额": "￥3300.000000万元（人民币）",
        "采购单位地址": "沈阳市沈河区文化路72号",
        "代理机构名称": "东方国际招标有限责任公司",
    },
    GUANGDONG: {"品目": "空调机", "行政区域": "龙华区", "总中标金额": "￥668.790000 万元（人民币）"},
    TIANJIN_AWARD: {"行政区域": "滨海新区", "总中标金额": "￥1395.000000 万元（人民币）"},
    TIANJIN_WORKS: {"行政区域": "市辖区", "总成交金额": "￥108.000000 万元（人民币）"},
    BEIJING_CORRECTION: {"首次公告日期": "2026年09月07日", "更正日期": "2026年09月24日", "行政区域": "北京市"},
    HEILONGJIANG_CORRECTION: {"首次公告日期": "2026年09月11日", "更正日期": "2026年09月28日", "行政区域": "甘南县"},
    PUMCH: {"品目": "货物/设备/医疗设备/临床检验设备", "总中标金额": "￥182.000000 万元（人民币）"},
    FAILED_BID: {"采购单位": "北京市医院管理中心(本级)", "行政区域": "北京市"},
}


def _page(relative: str) -> dict:
    return parse_detail_page(HtmlResponse(url=URLS[relative], body=real_page(relative)))


def _cases(table: dict[str, dict]) -> list[tuple[str, str, object]]:
    return [(page, key, value) for page, values in table.items() for key, value in values.items()]


@pytest.mark.parametrize(("page", "key", "expected"), _cases(EXPECTED))
def test_chrome_field(page, key, expected):
    assert _page(page)[key] == expected


@pytest.mark.parametrize(("page", "label", "expected"), _cases(SUMMARY))
def test_summary_value(page, label, expected):
    assert _page(page)["summary"][label] == expected


@pytest.mark.parametrize("page", list(URLS))
def test_every_page_has_its_body(page):
    body = _page(page)["body_html"]
    assert body is not None and body.startswith('<div class="vF_detail_content">')


@pytest.mark.parametrize("page", list(URLS))
def test_unserialized_body_is_the_same_element(page):
    # The normalizer's reader leaves body_html out and reads the element: the one body_html is written from.
    response = HtmlResponse(url=URLS[page], body=real_page(page))
    read = parse_detail_page(response, serialize_body=False)
    assert read["body_html"] is None
    assert lxml.html.tostring(read["body"], encoding="unicode", with_tail=False) == _page(page)["body_html"]
    assert {k: v for k, v in read.items() if k not in ("body", "body_html")} == {
        k: v for k, v in _page(page).items() if k not in ("body", "body_html")
    }


def test_repeated_label_keeps_the_first_value():
    # 采购单位 appears twice in every summary table: in 公告信息 and again under 联系人及联系方式.
    summary = _page(DYLY)["summary"]
    assert summary["采购单位"] == "中国科学院金属研究所"
    assert "采购单位地址" in summary and "采购单位联系方式" in summary


def test_attachment_rows_keep_name_and_id():
    assert _page(PUMCH)["attachments"] == [
        {
            "name": "检验科设备购置-第3包-发售稿.pdf",
            "id": "D01C92F58F3F1BB4F2FFEAE24CA1A2",
            "url": "https://download.ccgp.gov.cn/oss/download?uuid=D01C92F58F3F1BB4F2FFEAE24CA1A2",
        },
        {
            "name": "107号标-中标公告.doc",
            "id": "214AE9E3B0FD9D0813339E045F1160",
            "url": "https://download.ccgp.gov.cn/oss/download?uuid=214AE9E3B0FD9D0813339E045F1160",
        },
    ]
    assert "附件1" not in _page(PUMCH)["summary"]


def test_browser_saved_copy_is_read_like_the_raw_html():
    # The Selenium copy has double quotes, an inserted <tbody>, a hidden summary and the /_bot_sbu/ scripts.
    page = _page(GUANGDONG)
    assert page["summary"]["采购单位"] == "深圳市龙华科技实验高级中学"
    assert page["summary"]["代理机构名称"] == "深圳交易集团有限公司龙华分公司"
    assert "_bot_sbu" not in page["body_html"]


def test_first_non_empty_value_of_a_repeated_label():
    html = (
        "<div class='table'><table><tr><td class='title'>采购单位</td><td colspan='3'> </td></tr>"
        "<tr><td class='title'>采购单位：</td><td colspan='3'>某大学</td></tr>"
        "<tr><td class='title'>采购单位</td><td colspan='3'>另一单位</td></tr></table></div>"
    )
    response = HtmlResponse(url=URLS[DYLY], body=html.encode("utf-8"))
    assert parse_detail_page(response)["summary"] == {"采购单位": "某大学"}


@pytest.mark.parametrize("body", [b"", b"<html></html>", "频繁访问".encode(), b"\xff\xfe garbage \x00"])
def test_pages_without_chrome_give_empty_parts(body):
    page = parse_detail_page(HtmlResponse(url="https://www.ccgp.gov.cn/cggg/dfgg/t.htm", body=body))
    assert page["title"] is None and page["body_html"] is None
    assert page["summary"] == {} and page["attachments"] == [] and page["crumbs"] == []


# Containers nested in each other, class lists with tabs and newlines, names that only contain a class name.
CHROME_PAGES = [
    "<div class='vF_deail_currentloc'><a class='CurrChnlCls'>首页</a><div class='vF_detail_currentloc'>"
    "<a class='x CurrChnlCls'>地方公告</a></div><a class='CurrChnlCls'>其他</a></div>",
    "<div class='tablex'><td class='title'>假</td></div><div class=' table\tbig\n'><table><tr><td class='title'>"
    "采购单位</td><td>甲</td></tr></table><div class='table'><table><tr><td class='title big'>地址</td><td>乙</td>"
    "</tr></table></div></div>",
    "<div class='vF_detail_contentx'>no</div><div class='a vF_detail_content'>正文<div class='vF_detail_content'>"
    "内</div></div><div class='vF_detail_currentloc'><span><a class='CurrChnlCls' title='t'></a></span></div>",
]


def _chrome_response(page: str) -> HtmlResponse:
    if page in URLS:
        return HtmlResponse(url=URLS[page], body=real_page(page))
    return HtmlResponse(url=URLS[DYLY], body=page.encode("utf-8"), encoding="utf-8")


@pytest.mark.parametrize("page", CHROME_PAGES + list(URLS))
def test_one_scan_finds_what_the_css_selectors_find(page):
    # Every page must find something, or the comparison proves nothing.
    selector = _chrome_response(page).selector
    chrome = ccgp._Chrome(selector.root)
    crumbs = selector.css("div.vF_deail_currentloc a.CurrChnlCls, div.vF_detail_currentloc a.CurrChnlCls")
    assert ccgp._found_in(chrome.crumbs, ccgp._CRUMB_LINKS_IN) == [s.root for s in crumbs]
    labels = selector.css("div.table td.title")
    assert ccgp._found_in(chrome.summaries, ccgp._SUMMARY_LABELS_IN) == [s.root for s in labels]
    assert chrome.bodies == [s.root for s in selector.css("div.vF_detail_content")]
    assert crumbs or labels or chrome.bodies


@pytest.mark.parametrize(
    "value",
    [None, "", " \u3000 ", "".join(chr(c) for c in range(0x3100) if chr(c).isspace()) + "公告 \u00a0概要\u2028", "x"],
)
def test_detail_text_collapses_every_white_space(value):
    expected = re.sub(r"[\s\u00a0\u3000]+", " ", value or "").strip() or None
    assert ccgp._detail_text(value) == expected
