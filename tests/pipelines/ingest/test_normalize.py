"""Normalizing notices: every real ccgp detail page value by value, the contract, and robustness.

Real pages are read in place from ../shared (tests skip when it is absent); the small pages written inline here
are the project's own, modelled on the real layouts.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy.http import HtmlResponse

from pipelines.ingest.normalize import (
    NOTICE_KEYS,
    PARSER_VERSION,
    _PageResponse,
    normalize,
    normalize_page,
    to_json,
)
from pipelines.national.page_text import clean_text, normalize_width
from pipelines.national.regions import locate
from spiders.registry import PORTALS
from tests.conftest import REAL, real_page
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

# The keys as the contract lists them, written out independently of NOTICE_KEYS.
CONTRACT_KEYS = [
    "source", "notice_id", "url", "title", "notice_type", "notice_type_zh", "notice_type_en",
    "procurement_method", "procurement_method_zh", "category", "category_path", "project_name", "project_code",
    "buyer", "buyer_address", "buyer_contact", "agency", "agency_address", "agency_contact", "suppliers",
    "budget_cny", "budget_raw", "ceiling_cny", "ceiling_raw", "award_cny", "award_raw", "tax_included",
    "region", "province", "city", "region_code", "region_en", "published_at", "deadline_at", "opening_at",
    "first_published_at", "corrected_at", "lots", "items", "attachments", "text", "content_hash",
    "parser_version", "parse_error",
]  # fmt: skip


def _supplier(name, address=None, credit_code=None, amount_cny=None, amount_raw=None, lot=None):
    return {
        "name": name,
        "address": address,
        "credit_code": credit_code,
        "amount_cny": Decimal(amount_cny) if amount_cny else None,
        "amount_raw": amount_raw,
        "lot": lot,
    }


def _item(name, lot=None, brand=None, model=None, quantity=None, unit=None, price=None, price_raw=None):
    return {
        "lot": lot,
        "name": name,
        "brand": brand,
        "model": model,
        "quantity": Decimal(quantity) if quantity else None,
        "unit": unit,
        "unit_price_cny": Decimal(price) if price else None,
        "unit_price_raw": price_raw,
    }


def _lot(number, name=None, budget=None, award=None, suppliers=(), status=None):
    return {
        "number": number,
        "name": name,
        "budget_cny": Decimal(budget) if budget else None,
        "award_cny": Decimal(award) if award else None,
        "suppliers": list(suppliers),
        "status": status,
    }


# Every value as the page shows it (checked by eye against each page).
EXPECTED: dict[str, dict] = {
    DYLY: {
        "source": "ccgp",
        "notice_id": "26871783",
        "title": "中国科学院金属研究所球差原位透射电镜采购项目单一来源采购公告",
        "notice_type": "single_source",
        "notice_type_zh": "单一来源采购公示",
        "notice_type_en": "Single-source procurement notice",
        "procurement_method": "direct",
        "procurement_method_zh": "单一来源",
        "category": "goods",
        "category_path": "货物/设备/仪器仪表/其他仪器仪表",
        "project_name": "中国科学院金属研究所球差原位透射电镜采购项目",
        "project_code": "OITC-G260610702",
        "buyer": "中国科学院金属研究所",
        "buyer_address": "沈阳市沈河区文化路72号",
        "buyer_contact": "佟老师,024-23971066",
        "agency": "东方国际招标有限责任公司",
        "agency_address": "北京市海淀区丹棱街1号互联网金融中心20层",
        "agency_contact": "余睿、王军、李雯、郭宇涵；010-68290563、010-68290508",
        "suppliers": [_supplier("捷欧路（北京）科贸有限公司")],  # 单一来源供应商
        "budget_cny": Decimal("33000000.00"),
        "budget_raw": "￥3300.000000万元（人民币）",
        "award_cny": None,
        "tax_included": None,
        "region": "沈阳市",
        "province": "辽宁省",
        "city": "沈阳市",
        "region_code": "210100",
        "region_en": "Shenyang, Liaoning",
        "published_at": "2026-07-03T23:06:00+08:00",
        "opening_at": "2026-07-09T09:30:00+08:00",
        "deadline_at": "2026-07-09T09:30:00+08:00",  # 响应文件递交时间：2026年7月9日09:30前
        "first_published_at": None,
        "lots": [_lot("1", name="球差原位透射电镜", budget="33000000.00")],
        "items": [_item("球差原位透射电镜", lot="1", quantity="1", unit="套")],
        "attachments": [],
        "parse_error": None,
    },
    TIANJIN_AWARD: {
        "notice_id": "27412423",
        # Trimmed page without the ccgp chrome: its <title> is the provincial notice title.
        "title": "天津市第五中心医院 天津市第五中心医院医疗设备更新项目-数字减影血管造影机采购项目 "
        "(项目编号:XCSD-2026-A-589)中标公告",
        "notice_type": "award",
        "category": "goods",
        "project_name": "天津市第五中心医院医疗设备更新项目-数字减影血管造影机采购项目",
        "project_code": "XCSD-2026-A-589",
        "buyer": "天津市第五中心医院",
        "buyer_address": "天津市滨海新区塘沽浙江路41号",
        "agency": "天津信诚盛德工程咨询有限公司",
        "suppliers": [
            _supplier(
                "天津市联大医用设备有限公司",
                address="天津市河北区望海楼街道新大路185号15号楼4层406-1室",
                credit_code="911201057275045684",
                amount_cny="13950000.00",
                amount_raw="1,395",
                lot="1",
            )
        ],
        "award_cny": Decimal("13950000.00"),
        "award_raw": "￥1395.000000 万元（人民币）",
        "budget_cny": None,
        "region": "滨海新区",
        "province": "天津市",
        "city": "天津市",
        "region_code": "120116",
        "region_en": "Binhai New Area, Tianjin",
        "published_at": "2026-09-28T23:50:00+08:00",
        "lots": [_lot("1", award="13950000.00", suppliers=["天津市联大医用设备有限公司"], status="awarded")],
        "items": [
            _item(
                "医用血管造影X射线机",
                lot="1",
                brand="联影",
                model="uAngio960",
                quantity="1",
                unit="台",
                price="13950000.00",
                price_raw="1395",
            )
        ],
        "attachments": [
            {
                "name": "8.27终稿-589天津市第五中心医院医疗设备更新项目-数字减影血管造影机采购项目.docx",
                "url": "http://www.ccgp-tianjin.gov.cn/portal/documentView.do?method=downEnId&id=SWZgNJf4huc*",
            }
        ],
        "parse_error": None,
    },
    TIANJIN_WORKS: {
        "notice_id": "27411167",
        "notice_type": "deal",
        "category": "works",
        "project_code": "0615-2641031970921",
        "buyer": "天津市第一中心医院",
        "agency": "天津国际招标有限公司",
        "suppliers": [
            _supplier(
                "天津华惠安信建设工程有限公司",
                address="天津市南开区鼓楼东街东4-3-301",
                credit_code="91120104725712267K",
                amount_cny="1080000.00",
                amount_raw="108",
                lot="1",
            )
        ],
        "award_cny": Decimal("1080000.00"),
        "award_raw": "￥108.000000 万元（人民币）",
        "region": "市辖区",  # city-level buyer; the province comes from the buyer's address
        "province": "天津市",
        "city": "天津市",
        "region_code": "120000",
        "region_en": "Tianjin",
        "published_at": "2026-09-28T18:51:00+08:00",
        "items": [_item("天津市第一中心医院复康院区B区一层CT室、DR室改造项目", lot="1")],
        "attachments": [
            {
                "name": "磋商文件.rar",
                "url": "http://www.ccgp-tianjin.gov.cn/portal/documentView.do?method=downEnId&id=YhSR1pq6GY0*",
            }
        ],
        "parse_error": None,
    },
    BEIJING_CORRECTION: {
        "title": "公改示范项目（第一批）-西城区骨健康特色诊疗中心项目（丰盛医院）06包更正公告",
        "notice_type": "correction",
        "notice_type_en": "Correction notice",
        "project_name": "公改示范项目（第一批）-西城区骨健康特色诊疗中心项目（丰盛医院）",
        "project_code": "11010226210200025327-XM001",
        "buyer": "北京市丰盛中医骨伤专科医院",
        "buyer_contact": "66012607",
        "agency": "中招国际招标有限公司",
        "published_at": "2026-09-24T15:32:00+08:00",
        # Summary: 2026年09月07日 / 2026年09月24日; the body adds the times on the same days.
        "first_published_at": "2026-09-07T16:33:00+08:00",
        "corrected_at": "2026-09-24T14:56:00+08:00",
        "region": "北京市",
        "province": "北京市",
        "region_code": "110000",
        "region_en": "Beijing",
        "suppliers": [],
        "lots": [],
        "budget_cny": None,
        "parse_error": None,
    },
    HEILONGJIANG_CORRECTION: {
        "notice_type": "correction",
        "project_name": "紧密型县域医共体五大共享中心改建及设备购置项目(透析设备)(二次)",
        "project_code": "[230225]CQXMGL[GK]20260003-1",
        "buyer": "甘南县人民医院",
        "buyer_address": "光明路与工农路交汇处",
        "buyer_contact": "0452-5623283",
        "agency": "黑龙江酬勤项目管理有限公司",
        "agency_contact": "18946244135",
        "published_at": "2026-09-28T15:35:00+08:00",
        "first_published_at": "2026-09-11T00:00:00+08:00",
        "corrected_at": "2026-09-28T00:00:00+08:00",
        "region": "甘南县",
        "parse_error": None,
    },
    PUMCH: {
        "title": "中国医学科学院北京协和医院检验科设备购置项目（2）第3包中标公告",
        "notice_type": "award",
        "category": "goods",
        "category_path": "货物/设备/医疗设备/临床检验设备",
        "project_name": "中国医学科学院北京协和医院检验科设备购置项目（2）",
        "project_code": "0701-264106070107",
        "buyer": "中国医学科学院北京协和医院",
        "buyer_address": "北京市东城区王府井帅府园1号",
        "agency": "中技国际招标有限公司",
        "agency_contact": "姚玮、孙薇 010-81168492",
        "suppliers": [
            _supplier(
                "北京若华医疗器械有限公司",
                address="北京市门头沟区石龙经济开发区永安路20号3号楼2层208、209室",
                amount_cny="1820000.00",
                amount_raw="182.0000000（万元）",
                lot="3",
            )
        ],
        "award_cny": Decimal("1820000.00"),
        "award_raw": "￥182.000000 万元（人民币）",
        # Two items in one table row, ';'-separated in every cell.
        "items": [
            _item("自动血液微生物培养系统", "3", "美国BD", "BD BACTEC FX", "2", None, "830000.00", "830000"),
            _item("全自动蛋白分析仪", "3", "西门子", "BN Ⅱ System", "1", None, "160000.00", "160000"),
        ],
        "lots": [_lot("3", award="1820000.00", suppliers=["北京若华医疗器械有限公司"], status="awarded")],
        "attachments": [
            # ccgp's bizDownload links: empty href, served by download.ccgp.gov.cn under the anchor's id.
            {
                "name": "检验科设备购置-第3包-发售稿.pdf",
                "url": "https://download.ccgp.gov.cn/oss/download?uuid=D01C92F58F3F1BB4F2FFEAE24CA1A2",
            },
            {
                "name": "107号标-中标公告.doc",
                "url": "https://download.ccgp.gov.cn/oss/download?uuid=214AE9E3B0FD9D0813339E045F1160",
            },
        ],
        "region": "北京市",
        "region_code": "110000",
        "published_at": "2026-09-29T09:22:00+08:00",
        "parse_error": None,
    },
    FAILED_BID: {
        "title": "市属医院2026年医用设备集中带量采购放射组第14包、第16包废标公告",
        "notice_type": "termination",
        "notice_type_zh": "终止公告",
        "project_code": "202601",
        "project_name": "市属医院2026年医用设备集中带量采购放射组",
        "buyer": "北京市医院管理中心(本级)",
        "agency": "中技国际招标有限公司",
        "lots": [_lot("14", status="unsuccessful"), _lot("16", status="unsuccessful")],
        "suppliers": [],
        "award_cny": None,
        "published_at": "2026-09-24T19:48:00+08:00",
        "parse_error": None,
    },
    GUANGDONG: {
        "title": "深圳市龙华科技实验高级中学空调采购中标（成交）结果公告",
        "notice_type": "award",
        "category": "goods",  # 品目 is just 空调机: the item table's brand/model columns tell
        "category_path": "空调机",
        "project_name": "深圳市龙华科技实验高级中学空调采购",
        "project_code": "LHACG2025000057",
        "buyer": "深圳市龙华科技实验高级中学",
        "agency": "深圳交易集团有限公司龙华分公司",
        "suppliers": [
            _supplier(
                "深圳市金龙空调电器有限公司",
                address="深圳市南山区桃源街道西丽留仙大道1201号创客小镇13栋3楼东",
                amount_cny="6687920.00",
                amount_raw="6687920.0元",
            )
        ],
        # The summary's ￥668.790000 万元 is the body's 6687920.0元 rounded to 0.01万: the exact figure wins.
        "award_cny": Decimal("6687920.00"),
        "items": [_item("3 匹冷暖变频壁挂式分体空调", None, "美的", "KFR-72GW/G1-1A", "281", "台", "5390.00", "5390")],
        "region": "龙华区",
        "province": "广东省",
        "city": "深圳市",
        "region_code": "440300",
        "region_en": "Shenzhen, Guangdong",
        "published_at": "2025-05-27T20:20:00+08:00",
        "parse_error": None,
    },
}

_NOTICES: dict[str, dict] = {}


def _notice(page: str) -> dict:
    if page not in _NOTICES:
        _NOTICES[page] = normalize_page(real_page(page), URLS[page], PORTALS)
    return _NOTICES[page]


@pytest.mark.parametrize(
    ("page", "key", "expected"),
    [(page, key, value) for page, values in EXPECTED.items() for key, value in values.items()],
)
def test_real_page_value(page, key, expected):
    assert _notice(page)[key] == expected


@pytest.mark.parametrize("page", list(URLS))
def test_real_page_contract(page):
    notice = _notice(page)
    assert list(notice) == CONTRACT_KEYS
    assert notice["url"] == URLS[page]
    assert notice["parser_version"] == PARSER_VERSION
    assert notice["content_hash"] == hashlib.sha256(notice["text"].encode("utf-8")).hexdigest()


@pytest.mark.parametrize("page", list(URLS))
def test_text_is_the_body_without_chrome(page):
    text = _notice(page)["text"]
    for chrome in ("政采法规", "当前位置", "公告概要", "myDate", "sbu_hc", "#noticeArea", "font-size"):
        assert chrome not in text
    assert "\n\n" not in text and "  " not in text
    assert all(line == line.strip() for line in text.split("\n"))


def test_text_reads_like_the_notice():
    lines = _notice(TIANJIN_AWARD)["text"].split("\n")
    assert "一、项目编号：XCSD-2026-A-589" in lines
    assert "类型 | 名称 | 品牌 | 规格型号 | 数量 | 单价(万元)" in lines
    assert "货物类 | 医用血管造影X射线机 | 联影 | uAngio960 | 1台 | 1395" in lines
    guangdong = _notice(GUANGDONG)["text"].split("\n")
    assert "五、中标（成交）信息" in guangdong  # display:block spans are lines
    assert "供应商名称：深圳市金龙空调电器有限公司" in guangdong


def test_to_json():
    data = json.loads(to_json(_notice(DYLY)))
    assert data["budget_cny"] == 33000000.0
    assert data["published_at"] == "2026-07-03T23:06:00+08:00"
    assert data["lots"][0]["budget_cny"] == 33000000.0
    assert "中国科学院金属研究所" in to_json(_notice(DYLY))  # not \\u-escaped


# --- the spider item path: list metadata fills what the page leaves open ----------------------------------------


def _item_for(page: str, listing: dict) -> dict:
    url = URLS[page]
    return {
        "source": "ccgp",
        "notice_id": url.rsplit("_", 1)[1].removesuffix(".htm"),
        "url": url,
        "listing": {"url": url, **listing},
        "fetched_at": "2026-09-29T01:00:00+00:00",
        "status": 200,
        "encoding": "utf-8",
        "html": real_page(page).decode("utf-8"),
    }


def test_spider_item_uses_the_list_region():
    listing = {"title": "甘南县人民医院…更正公告", "notice_type": "correction", "region": "黑龙江", "column": "gzgg"}
    notice = normalize(_item_for(HEILONGJIANG_CORRECTION, listing), PORTALS)
    assert notice["region"] == "甘南县"
    assert (notice["province"], notice["city"], notice["region_code"], notice["region_en"]) == (
        "黑龙江省",
        None,
        "230000",
        "Heilongjiang",
    )
    # The page's own title outranks the list's (abbreviated) one.
    assert notice["title"].startswith("甘南县人民医院紧密型县域医共体")


def test_list_title_outranks_a_trimmed_pages_head_title():
    listing = {"title": "天津市第五中心医院数字减影血管造影机采购项目中标公告", "notice_type": "award"}
    assert normalize(_item_for(TIANJIN_AWARD, listing), PORTALS)["title"] == listing["title"]


def test_spider_item_equals_the_cli_path():
    item = normalize(_item_for(DYLY, {"notice_type": "single_source", "region": "辽宁"}), PORTALS)
    page = _notice(DYLY)
    assert {k: item[k] for k in NOTICE_KEYS} == {k: page[k] for k in NOTICE_KEYS}


# --- pages the parser cannot read ---------------------------------------------------------------------------

LISTING = {
    "title": "某大学GPU服务器采购项目中标公告",
    "type_label": "中标公告",
    "notice_type": "award",
    "published": "2026-07-03 23:06",
    "region": "辽宁",
    "buyer": "某大学",
    "column": "zbgg",
    "level": "local",
}


def _raw(html) -> dict:
    return {
        "source": "ccgp",
        "notice_id": "27000001",
        "url": "https://www.ccgp.gov.cn/cggg/dfgg/zbgg/202607/t20260703_27000001.htm",
        "listing": dict(LISTING),
        "fetched_at": "2026-07-04T00:00:00+00:00",
        "status": 200,
        "encoding": "utf-8",
        "html": html,
    }


def _assert_kept_listing(notice: dict) -> None:
    assert list(notice) == CONTRACT_KEYS
    assert notice["source"] == "ccgp"
    assert notice["notice_id"] == "27000001"
    assert notice["url"] == "https://www.ccgp.gov.cn/cggg/dfgg/zbgg/202607/t20260703_27000001.htm"
    assert notice["parser_version"] == PARSER_VERSION


def test_block_page_is_a_recorded_error():
    block = "<html><head><title>频繁访问!中国政府采购网</title></head><body>您的访问过于频繁,请稍后再试。</body></html>"
    notice = normalize(_raw(block), PORTALS)
    _assert_kept_listing(notice)
    assert notice["parse_error"].startswith("UnreadablePage: ")
    assert notice["title"] == LISTING["title"]
    assert notice["text"] is None and notice["content_hash"] is None  # the block message is not notice text
    assert notice["notice_type"] == "award" and notice["published_at"] == "2026-07-03T23:06:00+08:00"
    assert (notice["province"], notice["region_code"]) == ("辽宁省", "210000")


@pytest.mark.parametrize(
    "raw",
    [{}, {"html": None}, {"html": 42, "listing": "not a dict"}, None, "text", {"url": 5, "source": ["ccgp"]}],
)
def test_nonsense_items_never_raise(raw):
    notice = normalize(raw, PORTALS)
    assert list(notice) == CONTRACT_KEYS
    assert notice["parse_error"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_random_text_never_raises(text):
    notice = normalize(_raw(text), PORTALS)
    _assert_kept_listing(notice)
    assert notice["parse_error"] is not None  # no ccgp body: cannot be read
    assert notice["title"] == LISTING["title"]


_TAGS = st.sampled_from(["p", "div", "table", "tr", "td", "span", "strong", "samp", "br", "script", "html", "body"])
_WORDS = st.sampled_from(
    ["采购人：", "名称：", "预算金额：", "30万元", "第1包", "中标金额(万元)", "供应商名称", "1,395", "；", "包号：2",
     "2026年07月03日 23:06", "至", "详见附件", "vF_detail_content", "￥", "壹佰元", "<", ">", "&amp;", " | "]
)  # fmt: skip


@st.composite
def _html_soup(draw) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 40))):
        if draw(st.booleans()):
            tag = draw(_TAGS)
            parts.append(draw(st.sampled_from([f"<{tag}>", f"</{tag}>", f"<{tag} class='vF_detail_content'>"])))
        else:
            parts.append(draw(_WORDS))
    return "".join(parts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_html_soup())
def test_random_html_never_raises(html):
    notice = normalize(_raw(html), PORTALS)
    _assert_kept_listing(notice)
    assert notice["title"]


@pytest.fixture(scope="module")
def real_pages() -> dict[str, bytes]:
    return {page: real_page(page) for page in URLS}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page=st.sampled_from(sorted(URLS)), fraction=st.floats(0, 1), as_bytes=st.booleans())
def test_truncated_real_pages_never_raise(real_pages, page, fraction, as_bytes):
    body = real_pages[page][: int(len(real_pages[page]) * fraction)]
    html = body if as_bytes else body.decode("utf-8", errors="ignore")
    notice = normalize(_raw(html), PORTALS)
    _assert_kept_listing(notice)
    assert notice["title"]
    if b"vF_detail_content" not in body:
        assert notice["parse_error"].startswith("UnreadablePage: ")


# --- normalize_page: bytes from disk, any encoding -----------------------------------------------------------

OWN_PAGE = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">
<meta name="ArticleTitle" content="某大学图形工作站采购项目公开招标公告">
<meta name="PubDate" content="2026-08-01 10:00">
</head><body><div class="vF_deail_currentloc"><a class="CurrChnlCls">首页</a><a class="CurrChnlCls">政采公告</a>
<a class="CurrChnlCls">地方公告</a><a class="CurrChnlCls">公开招标公告</a></div>
<div class="vF_detail_content"><p>项目编号：GK-2026-001</p><p>预算金额：120.5万元</p>
<p>投标截止时间：2026年08月20日 09点30分（北京时间）</p><p>1.采购人信息</p><p>名称：某大学</p>
<p>地址：安徽省合肥市蜀山区某路1号</p></div></body></html>"""


@pytest.mark.parametrize("declared", [True, False])
def test_gbk_page_decodes(declared):
    html = OWN_PAGE if declared else OWN_PAGE.replace("; charset=gbk", "")
    notice = normalize_page(
        html.encode("gbk"), "https://www.ccgp.gov.cn/cggg/dfgg/gkzb/202608/t20260801_28000001.htm", PORTALS
    )
    assert notice["parse_error"] is None
    assert notice["title"] == "某大学图形工作站采购项目公开招标公告"
    assert (notice["source"], notice["notice_id"]) == ("ccgp", "28000001")
    assert notice["notice_type"] == "open_tender"
    assert (notice["procurement_method"], notice["procurement_method_zh"]) == ("open", "公开招标")
    assert notice["project_code"] == "GK-2026-001"
    assert notice["budget_cny"] == Decimal("1205000.00")
    assert notice["deadline_at"] == "2026-08-20T09:30:00+08:00"
    assert notice["buyer"] == "某大学"
    assert (notice["province"], notice["city"], notice["region_code"]) == ("安徽省", "合肥市", "340100")


def test_unknown_portal_reads_the_whole_body():
    html = "<html><head><title>某学院算力服务采购成交公告</title></head><body><p>采购人：某学院</p></body></html>"
    notice = normalize_page(html.encode("utf-8"), "https://bidding.example.edu.cn/info/1024/5678.htm", PORTALS)
    assert (notice["source"], notice["notice_id"]) == ("bidding.example.edu.cn", "5678")
    assert notice["title"] == "某学院算力服务采购成交公告"
    assert notice["notice_type"] == "deal"
    assert notice["buyer"] == "某学院"
    assert notice["parse_error"] is None


# --- regions ---------------------------------------------------------------------------------------------------

REGIONS = [
    (("沈阳市",), ("辽宁省", "沈阳市", "210100", "Shenyang, Liaoning")),
    (("北京市东城区",), ("北京市", "北京市", "110101", "Dongcheng District, Beijing")),
    (("北京市",), ("北京市", "北京市", "110000", "Beijing")),
    (("天津市",), ("天津市", "天津市", "120000", "Tianjin")),
    (("滨海新区",), ("天津市", "天津市", "120116", "Binhai New Area, Tianjin")),
    (("河北区",), ("天津市", "天津市", "120105", "Hebei District, Tianjin")),  # not Hebei province
    (("辽宁",), ("辽宁省", None, "210000", "Liaoning")),
    (("吉林",), ("吉林省", None, "220000", "Jilin")),
    (("吉林市",), ("吉林省", "吉林市", "220200", "Jilin City, Jilin")),
    (("广西壮族自治区南宁市",), ("广西壮族自治区", "南宁市", "450100", "Nanning, Guangxi")),
    (("龙华区", "广东", "深圳市龙华区观湖街道"), ("广东省", "深圳市", "440300", "Shenzhen, Guangdong")),
    (("市辖区", None, "天津市南开区复康路24号"), ("天津市", "天津市", "120000", "Tianjin")),
    (("甘南县", "黑龙江", "光明路与工农路交汇处"), ("黑龙江省", None, "230000", "Heilongjiang")),
    (("朝阳区", "吉林"), ("吉林省", None, "220000", "Jilin")),  # a Beijing district name cannot move it
    ((None, None, "安徽省合肥市蜀山区史河路16号"), ("安徽省", "合肥市", "340100", "Hefei, Anhui")),
    (("", None, "中山路1号"), (None, None, None, None)),
]


@pytest.mark.parametrize(("given_", "expected"), REGIONS, ids=[str(r[0]) for r in REGIONS])
def test_locate(given_, expected):
    location = locate(*given_)
    assert (location.province, location.city, location.region_code, location.region_en) == expected


# --- clean text -------------------------------------------------------------------------------------------------


def test_width_folding_keeps_chinese_punctuation():
    assert normalize_width("ＡＢＣ１２３／　￥，：；（）！？。、") == "ABC123/ ¥，：；（）！？。、"
    assert normalize_width("BN Ⅱ System ①") == "BN Ⅱ System ①"  # no full NFKC


def test_clean_text_layout():
    html = """<div><script>var x = 1;</script><style>p{}</style><!-- note -->
      <p><strong>一、项目编号：</strong>GK-1</p><p>&nbsp;</p><span style="display: block">二、预算</span>金额
      <table><tr><td>名称</td><td>数量</td></tr><tr><td>A100;<br>H100</td><td>8</td></tr>
      <tr><td></td><td></td></tr><tr><td>合计</td><td></td></tr></table>
      <table><tr><td><div>外层</div><table><tr><td>内</td><td>层</td></tr><tr><td>1</td><td>2</td></tr></table></td></tr></table>
    </div>"""
    assert clean_text(html).split("\n") == [
        "一、项目编号：GK-1",
        "二、预算",
        "金额",
        "名称 | 数量",
        "A100; H100 | 8",
        "合计 | ",
        "外层",
        "内 | 层",
        "1 | 2",
    ]


@pytest.mark.parametrize("source", [None, "", b"", "<html></html>", "\x00\ud800"])
def test_clean_text_of_nothing(source):
    assert clean_text(source) == ""


def test_real_pages_folder_is_where_conftest_says():
    assert REAL.name == "real"


# Pages with forms and their fields (the elements lxml.html gives subclasses), comments, a <base>, a NUL and GBK.
PARSED_PAGES = [
    ("https://www.ccgp.gov.cn/cggg/t.htm", "<html><head><base href='/x/'></head><body><form action='a'><label>包"
     "</label><input value='1'><select><option>第1包</option></select><textarea>说明</textarea></form>"
     "<!-- c --><p>正文\x00</p></body></html>".encode()),
    ("https://www.ccgp.gov.cn/cggg/t.htm", '<meta charset="gbk"><p>采购人：某大学</p>'.encode("gbk")),
    ("https://example.org/n.html", b"   "),
]  # fmt: skip


@pytest.mark.parametrize(("url", "body"), PARSED_PAGES)
def test_the_page_tree_is_the_one_scrapy_parses(url, body):
    ours, scrapys = _PageResponse(url=url, body=body).selector, HtmlResponse(url=url, body=body).selector
    assert ours.get() == scrapys.get()
    assert [e.tag for e in ours.root.iter()] == [e.tag for e in scrapys.root.iter()]
    assert ours.root.getroottree().docinfo.URL == scrapys.root.getroottree().docinfo.URL
    assert ours.css("option::text").getall() == scrapys.css("option::text").getall()
