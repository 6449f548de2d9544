"""The national body parser: real Hefei notice texts (read in place) and the markup templates of STRUCTURE.md §1.3.

The Hefei bundles carry a third party's normalized fields; they aggregate budgets across lots and notices and
invent award amounts for rate-priced contracts, so these tests check against the notice text, never those fields.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pipelines.national.amounts import SHANGHAI
from pipelines.national.body import parse_body
from pipelines.national.labels import category_code, method_code
from pipelines.national.wording import parse_text
from tests.conftest import shared_path

HEFEI = "corpus/hefei_ggzy"
SAMPLE_SIZE = 50


def _hefei_rows(project_id: str) -> list[dict]:
    path = shared_path(f"{HEFEI}/{project_id}.json")
    return json.loads(path.read_text(encoding="utf-8"))["raw_rows"]


def _tender_text(project_id: str) -> str:
    return _hefei_rows(project_id)[0]["procurement_content"]


def _award_text(project_id: str) -> str:
    """The 中标 notice text; the repo author's JSON holds raw control characters and is sometimes malformed."""
    raw = _hefei_rows(project_id)[0]["bid_content"]
    try:
        return json.loads(raw, strict=False)["data"][0]["content"]
    except (ValueError, KeyError, IndexError):
        found = re.search(r'"content": "(.*?)", "attachments"', raw, re.S)
        return found.group(1).replace("\\n", "\n") if found else ""


def _sample_texts() -> list[tuple[str, str]]:
    folder = shared_path(HEFEI)
    texts = []
    for path in sorted(Path(folder).glob("2023*.json")):
        if "__" in path.name:
            continue
        row = json.loads(path.read_text(encoding="utf-8"))["raw_rows"][0]
        if row.get("type") == "政府采购" and row.get("procurement_content"):
            texts.append((path.stem, row["procurement_content"]))
        if len(texts) == SAMPLE_SIZE:
            break
    return texts


# What a reader sees plainly written, found with the simplest possible pattern (independent of the parser).
_PLAIN_BUYER = re.compile(r"1\.采购人信息\s*\n\s*名\s*称\s*[：:]\s*(?P<name>[^\n]+)")
_PLAIN_BUDGET = re.compile(r"^预算金额[：:]\s*(?P<wan>\d+(?:\.\d+)?)\s*万元\s*$", re.M)


def test_hefei_sample_buyer_and_budget_where_plainly_stated():
    texts = _sample_texts()
    assert len(texts) == SAMPLE_SIZE
    buyers = budgets = 0
    for project_id, text in texts:
        fields = parse_text(text)
        plain_buyer = _PLAIN_BUYER.search(text)
        if plain_buyer:
            buyers += 1
            assert fields["buyer"] == plain_buyer["name"].strip(), project_id
        plain_budget = _PLAIN_BUDGET.search(text)
        if plain_budget:
            budgets += 1
            assert fields["budget"].value_cny == Decimal(plain_budget["wan"]) * 10000, project_id
        assert fields["project_code"] == project_id, project_id
    assert buyers >= 45 and budgets >= 20  # the sample really exercises both


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


# Checked by eye against the notice text.
HEFEI_TENDERS = {
    "2023BFAFN02464": {
        "buyer": "安徽大学",
        "buyer_address": "合肥市经济技术开发区九龙路111号",
        "agency": "安徽省政府采购中心",
        "procurement_method_zh": "竞争性磋商",
        "project_name": "安徽大学2023年图书馆知识产权资源管理平台建设项目",
        "budget": Decimal("300000.00"),
        "deadline_at": _at(2023, 11, 13, 10, 0),
        "opening_at": _at(2023, 11, 13, 10, 0),
    },
    "2023BFAFN02841": {
        "buyer": "安徽省公共气象服务中心（安徽省突发公共事件预警信息发布中心）",
        "budget": Decimal("2205000.00"),  # 第1包10万元，第2包210.5万元
        "lot_budgets": {"1": Decimal("100000.00"), "2": Decimal("2105000.00")},
        "ceiling_unknown": True,  # 最高限价：无
        "deadline_at": _at(2024, 1, 9, 10, 0),
    },
    "2023BFFHZ02540": {
        "buyer": "合肥市第二人民医院",
        "budget": Decimal("1470000.00"),  # 147 万元，其中第1包: 28 万元；… 第5包：40万
        "lot_budgets": {"1": Decimal("280000"), "3": Decimal("290000"), "5": Decimal("400000")},
        "deadline_at": _at(2023, 12, 1, 10, 0),
    },
    "2023BFFFZ02557": {
        "buyer": "合肥市科学技术局",
        "budget": Decimal("21720000.00"),  # five lots of 320万 and one of 572万
        "lot_budgets": {"6": Decimal("5720000")},
        "ceiling_unknown": True,  # 第1-5包：无；第6包：572万元
    },
}


@pytest.mark.parametrize("project_id", list(HEFEI_TENDERS))
def test_hefei_tender_notice(project_id):
    expected = dict(HEFEI_TENDERS[project_id])
    fields = parse_text(_tender_text(project_id))
    assert fields["project_code"] == project_id
    assert fields["budget"].value_cny == expected.pop("budget")
    lot_budgets = expected.pop("lot_budgets", {})
    assert {lot["number"]: lot["budget_cny"] for lot in fields["lots"] if lot["number"] in lot_budgets} == lot_budgets
    if expected.pop("ceiling_unknown", False):
        assert fields["ceiling"].value_cny is None and fields["ceiling"].unknown
    for key, value in expected.items():
        assert fields[key] == value, key


def test_hefei_award_notice():
    fields = parse_text(_award_text("2023ABBFN00202"))
    assert fields["project_code"] == "2023ABBFN00202"
    assert fields["buyer"] == "合肥市滨湖晨星幼儿园"
    assert fields["agency"] == "合肥包河公共资源交易有限公司"
    assert [s["name"] for s in fields["suppliers"]] == ["世纪金源物业服务集团有限公司"]
    supplier = fields["suppliers"][0]
    assert supplier["address"] == "昆明市世纪城公寓2号楼1A号"
    # 柒拾万柒仟叁佰肆拾贰元捌角壹分(￥707342.81元)
    assert supplier["amount_cny"] == Decimal("707342.81")
    assert fields["award"].value_cny == Decimal("707342.81")
    assert [item["name"] for item in fields["items"]] == ["2023年合肥市晨星幼教集团物业采购"]


def test_hefei_award_with_four_lots_priced_by_rate():
    fields = parse_text(_award_text("2023ABBFZ00209"))
    assert [(s["lot"], s["name"]) for s in fields["suppliers"]] == [
        ("1", "安徽寿丰建设有限公司"),
        ("2", "安徽铮州市政工程有限公司"),
        ("3", "安徽远志园林建设工程有限公司"),
        ("4", "中节能国祯环保科技股份有限公司"),
    ]
    assert [lot["number"] for lot in fields["lots"]] == ["1", "2", "3", "4"]


def test_hefei_award_priced_as_a_rate_has_no_cny_value():
    fields = parse_text(_award_text("2023ABBFN00217"))  # 中标费率：0.5%
    assert fields["award"].is_rate and fields["award"].value_cny is None
    assert fields["award"].raw == "0.5%"


def test_hefei_termination_notice():
    fields = parse_text(_award_text("2023ABBFN00220"))
    assert fields["project_code"] == "2023ABBFN00220"
    assert fields["project_name"] == "大圩镇2023年机关食堂市场化管理项目"
    assert fields["buyer"] == "合肥市包河区大圩镇人民政府"


# --- markup templates without a real sample in ../shared (written for these tests from STRUCTURE.md §1.3) ---

BOOKMARK_BODY = """
<div>
  <p>一、项目编号：<samp class="bookmark-item uuid-1 code-00004">LN-GK-2026-0107</samp></p>
  <p>二、项目名称：<samp class="bookmark-item uuid-2 code-00003">某医院服务器采购</samp></p>
  <p>三、中标（成交）信息</p>
  <table class="code-AM014zbcj001">
    <tr><td class="code-winningSupplierName">甲科技有限公司</td><td class="code-summaryPrice">1,234,500.00元</td></tr>
  </table>
</div>
"""


def test_bookmark_template():
    fields = parse_body(BOOKMARK_BODY)
    assert fields["project_code"] == "LN-GK-2026-0107"
    assert fields["project_name"] == "某医院服务器采购"
    assert [(s["name"], s["amount_cny"]) for s in fields["suppliers"]] == [("甲科技有限公司", Decimal("1234500.00"))]
    assert fields["award"].value_cny == Decimal("1234500.00")


PANELS_BODY = """
<div class="wrap-post">
  <h3 id="titlecandel">某单位设备采购成交结果公告</h3>
  <p>项目编号：CQ-2026-88</p>
  <div class="panel panel-danger"><p>包号：1</p><p>供应商名称：乙公司</p><p>供应商地址：重庆市渝北区某路1号</p>
    <p>成交金额：12.5万元</p></div>
  <div class="panel panel-danger"><p>包号：2</p><p>预算金额：30万元</p><p>本包流标。</p></div>
</div>
"""


def test_per_lot_panels():
    fields = parse_body(PANELS_BODY)
    assert fields["project_code"] == "CQ-2026-88"
    assert fields["suppliers"][0]["lot"] == "1"
    assert fields["suppliers"][0]["address"] == "重庆市渝北区某路1号"
    lots = {lot["number"]: lot for lot in fields["lots"]}
    assert lots["1"]["award_cny"] == Decimal("125000.00") and lots["1"]["suppliers"] == ["乙公司"]
    assert lots["2"]["budget_cny"] == Decimal("300000.00") and lots["2"]["status"] == "unsuccessful"
    assert fields["budget"].value_cny == Decimal("300000.00")  # the sum of the lots' budgets


def test_ranking_table_is_not_the_award():
    body = """
    <div class="line">第1包 ：</div>
    <table><tr><td>排序</td><td>供应商名称</td><td>评审报价（万元）</td></tr>
      <tr><td>1</td><td>甲公司</td><td>1,395</td></tr><tr><td>2</td><td>乙公司</td><td>1,398</td></tr></table>
    """
    fields = parse_body(body)
    assert fields["suppliers"] == [] and fields["award"] is None


def test_multi_value_cells_with_unequal_counts_stay_one_item():
    body = """
    <table><tr><td>名称</td><td>品牌</td><td>数量</td></tr>
      <tr><td>显卡;服务器</td><td>A;B;C</td><td>8;2</td></tr></table>
    """
    assert [item["name"] for item in parse_body(body)["items"]] == ["显卡;服务器"]


def test_key_value_table_rows():
    body = """<table><tr><td>项目编号</td><td>JS-2026-1</td><td>采购方式</td><td>公开招标</td></tr>
      <tr><td>预算金额（元）</td><td>930,000.00</td><td>采购人</td><td>某大学</td></tr></table>"""
    fields = parse_body(body)
    assert fields["project_code"] == "JS-2026-1"
    assert fields["procurement_method_zh"] == "公开招标"
    assert fields["budget"].value_cny == Decimal("930000.00")
    assert fields["buyer"] == "某大学"


def test_label_on_one_line_value_on_the_next():
    fields = parse_text("一、项目编号:\n2023ABBFN00202\n\n二、项目名称:\n某项目\n1.采购人信息\n名称：\n某幼儿园")
    assert fields["project_code"] == "2023ABBFN00202"
    assert fields["project_name"] == "某项目"
    assert fields["buyer"] == "某幼儿园"


@pytest.mark.parametrize(
    ("text", "code"),
    [("公开招标", "open"), ("邀请招标", "selective"), ("竞争性磋商", "limited"), ("询价", "limited"),
     ("竞争性谈判", "limited"), ("单一来源", "direct"), ("框架协议", None), (None, None)],
)  # fmt: skip
def test_method_code(text, code):
    assert method_code(text) == code


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("货物/设备/仪器仪表/其他仪器仪表", "goods"),
        ("服务/信息技术服务", "services"),
        ("工程类", "works"),
        ("空调机", None),
    ],
)
def test_category_code(path, code):
    assert category_code(path) == code


@pytest.mark.parametrize("body", [None, "", "<p></p>", "<script>var a = '采购人：甲';</script>", "\x00"])
def test_empty_bodies(body):
    fields = parse_body(body)
    assert fields["suppliers"] == [] and fields["buyer"] is None and fields["text"] == ""


# --- more MOF 2020 templates (texts invented for these tests) -----------------------------------------------


def test_single_source_publicity_names_the_proposed_supplier():
    text = """一、采购人、采购项目名称和内容
采购人：某研究所
项目编号：DY-2026-01
拟采购的货物或服务的预算金额：人民币壹佰贰拾万元整
三、拟定的唯一供应商名称、地址
名称：某科技有限公司
地址：北京市海淀区某路1号
七、联系方式
1.采购人信息
名称：某研究所
地址：北京市海淀区某街2号"""
    fields = parse_text(text)
    assert fields["buyer"] == "某研究所"
    assert fields["buyer_address"] == "北京市海淀区某街2号"
    assert fields["budget"].value_cny == Decimal("1200000.00")
    assert [(s["name"], s["address"]) for s in fields["suppliers"]] == [("某科技有限公司", "北京市海淀区某路1号")]


def test_contract_parties_and_amount():
    text = """五、合同主体
采购人（甲方）：某基地
地址：广州市某路3号
联系方式：梁老师 020-00000000
供应商（乙方）：某物业公司
地址：广州市某大道4号
六、合同主要信息
合同金额：326.400000万元"""
    fields = parse_text(text)
    assert (fields["buyer"], fields["buyer_address"]) == ("某基地", "广州市某路3号")
    assert fields["buyer_contact"] == "梁老师 020-00000000"
    assert [(s["name"], s["address"]) for s in fields["suppliers"]] == [("某物业公司", "广州市某大道4号")]
    assert fields["award"].value_cny == Decimal("3264000.00")


def test_intent_table_budget():
    body = """<p>现将某单位2027年1月至3月采购意向公开如下：</p>
    <table><tr><td>序号</td><td>采购项目名称</td><td>采购需求概况</td><td>预算金额（万元）</td><td>预计采购时间</td></tr>
      <tr><td>1</td><td>实验室改造项目</td><td>改造6间实验室</td><td>85</td><td>2027年1月</td></tr>
      <tr><td>2</td><td>GPU服务器采购项目</td><td>采购2台服务器</td><td>120.5</td><td>2027年3月</td></tr></table>"""
    fields = parse_body(body)
    assert fields["budget"].value_cny == Decimal("2055000.00")
    assert fields["items"] == []  # projects, not purchased items


@pytest.mark.parametrize(
    ("section", "deadline", "opening"),
    [
        (  # the bid deadline under its section heading, after the document sale period
            "<p><strong>三、获取招标文件</strong></p><p>时间：2026年10月29日至2026年11月04日</p>"
            "<p><strong>四、提交投标文件截止时间、开标时间和地点</strong></p>"
            "<p>截止时间：2026年11月18日 09点30分（北京时间）</p><p>地点：开标室</p>"
            "<p><strong>五、开标时间及地点</strong></p><p>时间：2026年11月18日 09点30分（北京时间）</p>",
            "2026-11-18T09:30:00+08:00",
            "2026-11-18T09:30:00+08:00",
        ),
        (  # only the document sale is given: its end is the last word on timing
            "<p><strong>三、获取招标文件</strong></p><p>时间：2026年10月29日至2026年11月04日</p>",
            "2026-11-04T00:00:00+08:00",
            None,
        ),
        (
            "<p>响应文件提交截止时间：2026年11月20日 14:00</p>",
            "2026-11-20T14:00:00+08:00",
            None,
        ),
    ],
)
def test_deadline_and_opening(section, deadline, opening):
    fields = parse_body(section)
    assert _iso(fields["deadline_at"]) == deadline
    assert _iso(fields["opening_at"]) == opening


def _iso(value):
    return value.isoformat() if value is not None else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # two columns: each line holds the buyer's value, then the agency's
            "十、联系方式\n采购人：某市第一中学 采购代理机构：某招标咨询有限公司\n"
            "采购人地址：某市东路1号 代理机构地址：某市西路2号\n电话：0100-1111111 电话：0100-2222222",
            {
                "buyer": "某市第一中学",
                "agency": "某招标咨询有限公司",
                "buyer_address": "某市东路1号",
                "agency_address": "某市西路2号",
                "buyer_contact": "0100-1111111",
                "agency_contact": "0100-2222222",
            },
        ),
        (  # one column, a value running into a generic label: cut there, nothing else read from it
            "1.采购人信息\n名称：某市第一中学 地址：某市东路1号\n联系方式：0100-1111111",
            {"buyer": "某市第一中学", "buyer_address": "某市东路1号", "buyer_contact": "0100-1111111", "agency": None},
        ),
    ],
)
def test_contact_blocks(text, expected):
    fields = parse_text(text)
    assert {key: fields[key] for key in expected} == expected
