"""Build the demo sample site from ``demo/notices.py``: ccgp.gov.cn-style pages, their WARC archive, ground truth.

    python demo/build_demo.py            # rewrites demo/site/, demo/ccgp-demo.warc.gz, demo/expected.json
    python demo/build_demo.py --out DIR  # the same into another folder (the tests build into a tmp dir)

The pages copy the LAYOUT of the real site (element classes and ids, the single-quoted summary table, the three
body templates of the provincial platforms, the list item and pager markup) so the unchanged ccgp spider and the
notice parsers work on them; every word of content is invented (see notices.py). The output is deterministic
(fixed fetch times, fixed WARC record ids) so rebuilding does not churn the committed archive.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import itertools
import json
import os
import re
import shutil
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script (`python demo/build_demo.py`): make the project importable
    sys.path.insert(0, str(ROOT))

from demo.files import pdf_bytes  # noqa: E402
from demo.notices import NOTICES, Notice  # noqa: E402
from pipelines.ingest.warc import WarcWriter  # noqa: E402
from pipelines.national.notice_types import BY_CODE, CCGP_COLUMNS, classify  # noqa: E402
from spiders.ccgp import download_url  # noqa: E402

DEMO_DIR = Path(__file__).resolve().parent
SITE_URL = "https://www.ccgp.gov.cn/"
WARC_NAME = "ccgp-demo.warc.gz"
EXPECTED_NAME = "expected.json"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# One fixed crawl, just after the newest notice: fetch times are part of the WARC bytes, so they must not move.
CRAWL_STARTED = datetime(2026, 11, 24, 23, 30, tzinfo=SHANGHAI)
PAGE_SIZE = 20  # items per column list page, as on the real site

COLUMNS = {"zygg": "中央公告", "dfgg": "地方公告"}
# ccgp sub-column → (label in the list item's <em rel="bxlx">, breadcrumb label of its detail pages).
SUB_COLUMNS = {
    "gkzb": ("公开招标", "公开招标"),
    "jzxcs": ("竞争性磋商", "竞争性磋商"),
    "xjgg": ("询价公告", "询价公告"),
    "dylygg": ("单一来源", "单一来源"),
    "zbgg": ("中标公告", "中标公告"),
    "cjgg": ("成交公告", "成交公告"),
    "gzgg": ("更正公告", "更正公告"),
    "fblbgg": ("终止公告", "终止公告"),
    "qtgg": ("其他公告", "其他公告"),
}
TEMPLATES = ("plain", "tianjin", "notice_area")
CATEGORIES = ("ai_chip", "cloud_compute", "llm_tokens")
TENDER_KINDS = ("open_tender", "competitive_consultation", "inquiry")
AWARD_KINDS = ("award", "deal")
FREE_KINDS = ("acceptance", "intent", "other")


# ============================================================================================ formats


def _when(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


def cn_date(value: str | date | datetime) -> str:
    """``2026年11月20日``"""
    day = _when(value) if isinstance(value, str) and " " in value else value
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def cn_minute(value: str) -> str:
    """``2026年11月20日 15:32`` (span#pubTime)."""
    moment = _when(value)
    return f"{cn_date(moment)} {moment:%H:%M}"


def cn_summary_time(value: str) -> str:
    """``2026年11月20日  15:32``: the summary table puts two spaces before the time."""
    moment = _when(value)
    return f"{cn_date(moment)}  {moment:%H:%M}"


def cn_deadline(value: str) -> str:
    """``2026年11月27日 09点30分（北京时间）`` as tender notices write deadlines."""
    moment = _when(value)
    return f"{cn_date(moment)} {moment:%H}点{moment:%M}分（北京时间）"


def wan(cny: int) -> Decimal:
    return Decimal(cny) / Decimal(10000)


def summary_budget(cny: int) -> str:
    """``￥1395.000000万元（人民币）``: budget rows have no space before 万元."""
    return f"￥{wan(cny):.6f}万元（人民币）"


def summary_award(cny: int) -> str:
    """``￥182.000000 万元（人民币）``: award rows have one."""
    return f"￥{wan(cny):.6f} 万元（人民币）"


_UPPER_DIGITS = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
_UPPER_UNITS = {"拾": 10, "佰": 100, "仟": 1000}


def parse_upper_rmb(text: str) -> int | None:
    """``人民币贰佰玖拾捌万元整`` → 2980000 (whole yuan only); None when the text is not such an amount."""
    found = re.fullmatch(r"人民币([零壹贰叁肆伍陆柒捌玖拾佰仟万亿]+)元整", text)
    if not found:
        return None
    total, section, digit = 0, 0, 0
    for char in found[1]:
        if char in _UPPER_DIGITS:
            digit = _UPPER_DIGITS[char]
        elif char in _UPPER_UNITS:
            section += (digit or 1) * _UPPER_UNITS[char]
            digit = 0
        else:  # 万 / 亿 close a section
            total += (section + digit) * (10_000 if char == "万" else 100_000_000)
            section, digit = 0, 0
    return total + section + digit


def parse_amount(text: str) -> int | None:
    """The CNY value of an amount as these pages print it, or None for placeholders (详见附件)."""
    upper = parse_upper_rmb(text)
    if upper is not None:
        return upper
    found = re.search(r"([\d,]+(?:\.\d+)?)\s*[（(]?\s*(万元|元)", text)
    if not found:
        return None
    value = Decimal(found[1].replace(",", ""))
    return int(value * 10000) if found[2] == "万元" else int(value)


def ncr(text: str) -> str:
    """Numeric character references, as the Tianjin platform writes some words (``&#20013;&#26631;``)."""
    return "".join(f"&#{ord(c)};" for c in text)


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def attr(text: str) -> str:
    return html.escape(text, quote=True)


def digest_id(*parts: object, length: int = 30) -> str:
    """A stable pseudo-random upper-case hex id (attachment ids), derived from the notice."""
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:length].upper()


# ============================================================================================ paths


def detail_path(notice: Notice) -> str:
    moment = _when(notice.published)
    return f"cggg/{notice.column}/{notice.sub}/{moment:%Y%m}/t{moment:%Y%m%d}_{notice.id}.htm"


def list_path(column: str, page: int, sub: str | None = None) -> str:
    name = "index.htm" if page == 0 else f"index_{page}.htm"
    return f"cggg/{column}/{sub}/{name}" if sub else f"cggg/{column}/{name}"


def newest_first(notices: Iterable[Notice]) -> list[Notice]:
    return sorted(notices, key=lambda n: (n.published, n.id), reverse=True)


# ============================================================================================ body model
# A notice body is a list of sections of blocks; each template renders the same sections its own way, just as
# each provincial platform renders the same national MOF format differently.


@dataclass(frozen=True)
class Field:
    label: str
    value: str
    key: str = ""  # the div#noticeArea template wraps the value in span#_notice_content_{key}


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Sub:
    """A numbered sub-heading inside a section (``1.采购人信息``)."""

    text: str


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Section:
    heading: str  # "" = unnumbered preamble
    blocks: tuple = ()
    inline: str = ""  # a value printed in the heading itself: 一、项目编号：XXX
    wrap_key: str = ""  # div#noticeArea wraps the blocks in div#_notice_content_{wrap_key}


Block = Field | Para | Sub | Table

_NUMERALS = "一二三四五六七八九十"


def numeral(index: int) -> str:
    if index <= 10:
        return _NUMERALS[index - 1]
    return "十" + _NUMERALS[index - 11]


def contact_section(notice: Notice, heading: str = "凡对本次公告内容提出询问，请按以下方式联系。") -> Section:
    blocks: list[Block] = [
        Sub("1.采购人信息"),
        Field("名称", notice.buyer.name, "noticePurchase-purchaserOrgName"),
        Field("地址", notice.buyer.address, "noticePurchase-purchaserOrgAddress"),
        Field("联系方式", notice.buyer.phone, "noticePurchase-purchaserLinkTel"),
    ]
    if notice.agency:
        blocks += [
            Sub("2.采购代理机构信息"),
            Field("名称", notice.agency.name, "noticeAgency-agencyName"),
            Field("地址", notice.agency.address, "noticeAgency-agentAddress"),
            Field("联系方式", notice.agency.phone, "noticeAgency-agentLinkTel"),
        ]
    blocks += [
        Sub(f"{3 if notice.agency else 2}.项目联系方式"),
        Field("项目联系人", notice.contact, "projectContact-managerName"),
        Field("电话", notice.contact_phone, "projectContact-managerLinkPhone"),
    ]
    return Section(heading, tuple(blocks))


def extra_section(notice: Notice, heading: str = "其他补充事宜") -> Section:
    paragraphs = notice.extra or ("无",)
    return Section(heading, tuple(Para(p) for p in paragraphs), wrap_key="otherSupplement-otherSupplement")


def items_table(notice: Notice) -> tuple[Block, ...]:
    return (Table(notice.item_header, notice.items),) if notice.items else ()


_TENDER_WORDS = {
    # kind: (method, document, response, event, display days)
    "open_tender": ("公开招标", "招标文件", "投标文件", "开标", 5),
    "competitive_consultation": ("竞争性磋商", "磋商文件", "响应文件", "磋商", 5),
    "inquiry": ("询价", "询价通知书", "响应文件", "询价", 3),
}


def document_period(notice: Notice) -> str:
    """When the tender documents can be had: from publication for a week, ending before the deadline."""
    start = _when(notice.published).date()
    end = min(start + timedelta(days=7), _when(notice.deadline).date() - timedelta(days=1))
    end = max(end, start)
    return f"{cn_date(start)}至{cn_date(end)}，每天上午08:30至11:30，下午13:30至17:00（北京时间，法定节假日除外）"


def tender_sections(notice: Notice) -> list[Section]:
    method, document, response, event, days = _TENDER_WORDS[notice.kind]
    where = notice.agency.address if notice.agency else notice.buyer.address
    preamble = Section(
        "",
        (
            Para("项目概况"),
            Para(
                f"{notice.project_name}的潜在供应商应在{where}获取{document}，"
                f"并于{cn_deadline(notice.deadline)}前提交{response}。"
            ),
        ),
    )
    basics: list[Block] = [
        Field("项目编号", notice.project_code, "noticeProject-projectCode"),
        Field("项目名称", notice.project_name, "noticeProject-projectName"),
        Field("采购方式", method, "noticeProject-purchaseMethod"),
        Field("预算金额", notice.budget_text or "详见采购文件", "noticeProject-budgetPrice"),
        Field("最高限价（如有）", notice.budget_text or "详见采购文件", "noticeProject-maxPrice"),
        Para("采购需求："),
        *(Para(p) for p in notice.overview),
        *items_table(notice),
        Field("合同履行期限", notice.period or "详见采购文件", "noticeProject-performancePeriod"),
        Para("本项目不接受联合体投标。"),
    ]
    qualification = notice.qualification[0] if notice.qualification else "无"
    return [
        preamble,
        Section("项目基本情况", tuple(basics)),
        Section(
            "申请人的资格要求",
            (
                Para("1.满足《中华人民共和国政府采购法》第二十二条规定；"),
                Para("2.落实政府采购政策需满足的资格要求：无；"),
                Para(f"3.本项目的特定资格要求：{qualification}"),
            ),
        ),
        Section(
            f"获取{document}",
            (
                Field("时间", document_period(notice)),
                Field("地点", where),
                Field("方式", "现场或电子邮件获取"),
                Field("售价", "￥0.0（元）"),
            ),
        ),
        Section(
            f"提交{response}截止时间、{event}时间和地点",
            (
                Field("截止时间", cn_deadline(notice.deadline), "noticeBid-bidEndTime"),
                Field("地点", notice.place, "noticeBid-bidAddress"),
            ),
        ),
        Section("公告期限", (Para(f"自本公告发布之日起{days}个工作日。"),)),
        extra_section(notice),
        contact_section(
            notice, f"对本次{'招标' if notice.kind == 'open_tender' else '采购'}提出询问，请按以下方式联系。"
        ),
    ]


def award_sections(notice: Notice) -> list[Section]:
    result: list[Block] = []
    for supplier in notice.suppliers:
        if supplier.lot:
            result.append(Sub(supplier.lot))
        result += [
            Field("供应商名称", supplier.name, "bidResult-supplierName"),
            Field("供应商地址", supplier.address, "bidResult-supplierAddress"),
            Field("中标（成交）金额", supplier.amount, "bidResult-bidAmount"),
        ]
    sections = [
        Section("项目编号", inline=notice.project_code),
        Section("项目名称", inline=notice.project_name),
        Section("中标（成交）信息", tuple(result)),
        Section("主要标的信息", (*(Para(p) for p in notice.overview), *items_table(notice))),
        Section("评审专家（单一来源采购人员）名单：", (Para(notice.experts or "无"),)),
        Section("代理服务收费标准及金额：", (Para(notice.agency_fee or "无"),)),
        Section("公告期限", (Para("自本公告发布之日起1个工作日。"),)),
        extra_section(notice, "其它补充事宜"),
        contact_section(notice),
    ]
    if notice.attachments:
        sections.append(Section("附件", tuple(Para(name) for name in notice.attachments)))
    return sections


def correction_sections(notice: Notice) -> list[Section]:
    correction: list[Block] = [Field("更正事项", notice.correction_subject)]
    if notice.reason:
        correction.append(Field("更正原因", notice.reason))
    correction += [Para("更正内容："), *(Para(line) for line in notice.corrections), Para("其他内容不变。")]
    correction.append(Field("更正日期", cn_date(notice.published), "noticeCorrect-releaseDate"))
    return [
        Section(
            "项目基本情况",
            (
                Field("原公告的采购项目编号", notice.project_code, "noticeProject-projectCode"),
                Field("原公告的采购项目名称", notice.project_name, "noticeProject-projectName"),
                Field("首次公告日期", cn_date(notice.first_published), "noticeCorrect-firstReleaseDate"),
            ),
        ),
        Section("更正信息", tuple(correction), wrap_key="noticeCorrectInformation-noticeCorrectInformation"),
        extra_section(notice),
        contact_section(notice),
    ]


def termination_sections(notice: Notice) -> list[Section]:
    return [
        Section(
            "项目基本情况",
            (
                Field("采购项目编号", notice.project_code, "noticeProject-projectCode"),
                Field("采购项目名称", notice.project_name, "noticeProject-projectName"),
            ),
        ),
        Section("项目终止的原因", (Para(notice.reason),), wrap_key="terminationReason-terminationReason"),
        extra_section(notice),
        contact_section(notice),
    ]


def single_source_sections(notice: Notice) -> list[Section]:
    start = _when(notice.published).date()
    supplier = notice.suppliers[0]
    sections = [
        Section(
            "采购人、采购项目名称和内容",
            (
                Field("采购人", notice.buyer.name),
                Field("项目名称", notice.project_name, "noticeProject-projectName"),
                Field("项目编号", notice.project_code, "noticeProject-projectCode"),
                Field("拟采购的货物或服务的预算金额", notice.budget_text, "noticeProject-budgetPrice"),
                Para("拟采购的货物或服务的说明："),
                *(Para(p) for p in notice.overview),
                *items_table(notice),
            ),
        ),
        Section("采用单一来源采购方式的原因及相关说明", (Para(notice.reason),)),
        Section(
            "拟定的唯一供应商名称、地址",
            (
                Field("名称", supplier.name, "singleSource-supplierName"),
                Field("地址", supplier.address, "singleSource-supplierAddress"),
            ),
        ),
    ]
    if notice.experts:
        sections.append(
            Section(
                "专业人员论证意见",
                (
                    Para(
                        f"{notice.experts}。经论证，本项目符合《中华人民共和国政府采购法》第三十一条第（二）项规定的情形。"
                    ),
                ),
            )
        )
    sections += [
        Section(
            "公示期限",
            (Para(f"{cn_date(start)}至{cn_date(start + timedelta(days=7))}（不少于5个工作日）"),),
        ),
        extra_section(notice),
        contact_section(notice, "联系方式"),
    ]
    return sections


def contract_sections(notice: Notice) -> list[Section]:
    supplier = notice.suppliers[0]
    return [
        Section("合同编号", inline=notice.contract_no),
        Section("合同名称", inline=f"{notice.project_name}合同"),
        Section("项目编号", inline=notice.project_code),
        Section("项目名称", inline=notice.project_name),
        Section(
            "合同主体",
            (
                Para(f"采购人（甲方）：{notice.buyer.name}"),
                Field("地址", notice.buyer.address),
                Field("联系方式", notice.buyer.phone),
                Para(f"供应商（乙方）：{supplier.name}"),
                Field("地址", supplier.address),
            ),
        ),
        Section(
            "合同主要信息",
            (
                *items_table(notice),
                Field("合同金额", supplier.amount),
                Field("履约期限、地点等简要信息", notice.period),
            ),
        ),
        Section("合同签订日期", inline=cn_date(notice.signed)),
        Section("合同公告日期", inline=cn_date(notice.published)),
        extra_section(notice),
        Section("附件", tuple(Para(name) for name in notice.attachments)),
    ]


def free_sections(notice: Notice) -> list[Section]:
    sections = []
    for index, (heading, paragraphs) in enumerate(notice.sections):
        blocks = tuple(Para(p) for p in paragraphs)
        if index == 0 and notice.items:
            blocks += items_table(notice)
        sections.append(Section(heading, blocks))
    if notice.kind == "intent":
        sections.append(Section("", tuple(Para(p) for p in notice.extra)))
        sections.append(Section("", (Para(f"联系人：{notice.contact}，联系电话：{notice.contact_phone}"),)))
    else:
        sections.append(extra_section(notice))
        sections.append(contact_section(notice))
    return sections


def body_sections(notice: Notice) -> list[Section]:
    if notice.kind in TENDER_KINDS:
        return tender_sections(notice)
    if notice.kind in AWARD_KINDS:
        return award_sections(notice)
    builders = {
        "correction": correction_sections,
        "termination": termination_sections,
        "single_source": single_source_sections,
        "contract": contract_sections,
    }
    if notice.kind in builders:
        return builders[notice.kind](notice)
    return free_sections(notice)


# ============================================================================================ body templates


def _numbered(sections: list[Section]) -> Iterator[tuple[str, Section]]:
    """Each section with its number prefix (``一、``), the preamble unnumbered."""
    counter = itertools.count(1)
    for section in sections:
        yield (f"{numeral(next(counter))}、" if section.heading else ""), section


def render_plain(notice: Notice) -> str:
    """Beijing / central platform: ``<p><strong>一、…</strong></p>`` sections of plain paragraphs."""
    out: list[str] = []
    for number, section in _numbered(body_sections(notice)):
        if section.inline:
            out.append(f"<p><strong>{number}{esc(section.heading)}：{esc(section.inline)}</strong></p>")
        elif section.heading:
            out.append(f"<p><strong>{number}{esc(section.heading)}</strong></p>")
        for block in section.blocks:
            out.append(_plain_block(block))
    return "        ".join(out)


def _plain_block(block: Block) -> str:
    if isinstance(block, Field):
        return f"<p>{esc(block.label)}：{esc(block.value)}</p>"
    if isinstance(block, Table):
        cell = "border-width: 1px; border-style: solid; padding: 2pt;"
        rows = [block.header, *block.rows]
        body = "".join(
            "<tr>" + "".join(f'<td style="{cell}">{esc(value)}</td>' for value in row) + "</tr>" for row in rows
        )
        return f'<table border="1" cellpadding="0" cellspacing="0"><tbody>{body}</tbody></table>'
    return f"<p>{esc(block.text)}</p>"


_NOTICE_AREA_STYLE = (
    "#noticeArea { font-size: 16px; line-height: 30px; text-align: justify; } "
    "#noticeArea h4 { margin-top: 8px; font-size: 16px; font-weight: normal; } "
    "#noticeArea h6 { font-size: 16px; font-weight: normal; } "
    "#noticeArea p { text-indent: 2em; } "
    "#noticeArea table { width: 100%; border-collapse: collapse; } "
    "#noticeArea table td, #noticeArea table th { border: 1px solid #444; padding: 4px 6px; text-align: center; } "
    "#noticeArea .innercontent { padding-left: 2em; } "
    "#noticeArea .alignright { text-align: right; }"
)


def render_notice_area(notice: Notice) -> str:
    """gpcms provincial platforms (Heilongjiang, Guangdong, Sichuan, Jiangxi): div#noticeArea with h4 sections and
    the field values in ``span#_notice_content_*`` elements."""
    out = [f'<div><div class="protect" id="noticeArea"> <style type="text/css"> {_NOTICE_AREA_STYLE} </style> ']
    out.append('<meta http-equiv="content-type" content="text/html;charset=utf-8"> ')
    for number, section in _numbered(body_sections(notice)):
        if section.inline:
            out.append(f"<h4><strong>{number}{esc(section.heading)}：{esc(section.inline)}</strong></h4> ")
        elif section.heading:
            out.append(f"<h4><strong>{number}{esc(section.heading)}</strong></h4> ")
        blocks = "".join(_notice_area_block(block) for block in section.blocks)
        if section.wrap_key:
            key = section.wrap_key
            blocks = (
                f'<div class="{key} _notice_content_{key} dynamic-form-editor" id="_notice_content_{key}"> '
                f"{blocks}</div> "
            )
        elif any(isinstance(block, Sub) for block in section.blocks):
            blocks = f'<div class="innercontent"> {blocks}</div> '
        out.append(blocks)
    signer = notice.agency.name if notice.agency else notice.buyer.name
    out.append(f'<p class="alignright" style="text-align: right;">{esc(signer)}</p> ')
    out.append(f'<p style="text-align:right;" name="releaseDateSpan">{cn_date(notice.published)}</p> ')
    out.append("</div></div>")
    return "".join(out)


def _notice_area_block(block: Block) -> str:
    if isinstance(block, Field):
        if block.key:
            key = block.key
            span = (
                f'<span class="u-content {key} _notice_content_{key} dynamic-form-editor" '
                f'id="_notice_content_{key}">{esc(block.value)}</span>'
            )
        else:
            span = f'<span class="u-content">{esc(block.value)}</span>'
        return f"<p>{esc(block.label)}：{span}</p> "
    if isinstance(block, Sub):
        return f"<h6>{esc(block.text)}</h6> "
    if isinstance(block, Table):
        head = "".join(f"<th>{esc(value)}</th>" for value in block.header)
        rows = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in block.rows)
        return f"<table><tbody><tr>{head}</tr>{rows}</tbody></table> "
    return f"<p>{esc(block.text)}</p> "


_TIANJIN_STYLE = (
    "table{font-size:14pt;} .tableHeader{background-color:#D6E4F0;} "
    "div.line{padding-left:20px;line-height:35px;} div.segement{font-weight:bold;font-size:medium;line-height:30px;}"
)
_BUNDLE_TABLE = (
    '<table id="projectBundleList" cellspacing="0" cellpadding="4" '
    'style="width:100%;border-collapse:collapse;" align="center" border="1" bordercolor="#AAAAAA">'
)


def render_tianjin(notice: Notice) -> str:
    """Tianjin platform: a whole HTML document embedded in the body, div.segement headings, div.line lines and
    ``table#projectBundleList`` tables (the id repeats, one per table). Only award/deal notices use it here."""
    if notice.kind not in AWARD_KINDS:
        raise ValueError(f"{notice.id}: the tianjin template is only written for award/deal notices")
    word = "中标" if notice.kind == "award" else "成交"
    segments: list[str] = []

    def segment(text: str) -> None:
        segments.append(f'<div class="segement">{text}</div>')

    def line(text: str) -> None:
        segments.append(f'<div class="line">{text}</div>')

    def table(header: Iterable[str], rows: Iterable[Iterable[str]], raw_header: bool = False) -> None:
        head = "".join(f"<td>{h if raw_header else esc(h)}</td>" for h in header)
        body = "".join('<tr align="center">' + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in rows)
        segments.append(f'{_BUNDLE_TABLE}<tr class="tableHeader" align="center">{head}</tr>{body}</table>')

    segment(f"一、项目编号：{esc(notice.project_code)}")
    segment(f"二、项目名称：{esc(notice.project_name)}")
    segment(f"三、{word}信息")
    line("第1包 ：")
    # The platform writes the amount header with character references for 中标/成交: parsers must decode them.
    table(
        ("供应商名称", "供应商地址", "统一社会信用代码", f"{ncr(word)}金额(万元)", "评审得分"),
        ((s.name, s.address, s.credit_code, s.amount_wan, s.score) for s in notice.suppliers),
        raw_header=True,
    )
    if notice.bidders:
        line("通过资格审查和符合性审查的供应商评审报价：")
        line("第1包 ：")
        table(
            ("排序", "供应商名称", "评审报价（万元）", "评审得分"),
            ((str(rank), name, price, score) for rank, (name, price, score) in enumerate(notice.bidders, 1)),
        )
    segment("四、主要标的信息")
    line("第1包 :")
    table(notice.item_header, notice.items)
    segment("五、评审专家名单：")
    line(esc(notice.experts))
    segment("六、代理服务收费标准及金额：")
    line(esc(notice.agency_fee))
    line(f"2.代理费用收费标准：按采购文件规定向{word}供应商收取代理服务费")
    segment("七、公告期限")
    line("自本公告发布之日起1个工作日。")
    segment("八、其他补充事宜")
    for paragraph in (*notice.overview, *notice.extra):
        line(esc(paragraph))
    segment("九、凡对本次公告内容提出询问，请按以下方式联系。")
    line("1.采购人信息")
    line(f"&nbsp;&nbsp;名称：{esc(notice.buyer.name)}")
    line(f"&nbsp;&nbsp;地址：{esc(notice.buyer.address)}")
    line(f"&nbsp;&nbsp;联系方式：{esc(notice.buyer.phone)}")
    agency = notice.agency or notice.buyer
    line("2.采购代理机构信息")
    line(f"&nbsp;&nbsp;名称：{esc(agency.name)}")
    line(f"&nbsp;&nbsp;地址：{esc(agency.address)}")
    line(f"&nbsp;&nbsp;联系方式：{esc(agency.phone)}")
    line("3.项目联系方式")
    line(f"&nbsp;&nbsp;项目联系人：{esc(notice.contact)}")
    line(f"&nbsp;&nbsp;电　话：{esc(notice.contact_phone)}")
    day = _when(notice.published)
    title = esc(notice.title)
    return (
        f'<html><head><title>{title}</title><style type="text/css">{_TIANJIN_STYLE}</style></head>'
        '<body xmlns=""><br /><br />'
        '<table style="width:280mm;" cellspacing="1" cellpadding="0" align="center" bgcolor="#cccccc" border="0">'
        '<tbody><tr><td valign="top" bgcolor="#ffffff"><div style="line-height:25px">'
        f'<p align="center"><font face="黑体" size="5"><B>{title}</B></font></p>'
        f'<p align="center"><font size="3">发布日期：{cn_date(day)}&nbsp;&nbsp;&nbsp;&nbsp;'
        f"发布来源：{esc(notice.buyer.name)}</font></p><hr/>"
        + "".join(segments)
        + f'<p align="right">{ncr(agency.name)}&nbsp;&nbsp;&nbsp;&nbsp;</p>'
        f'<p align="right">{day.year}年{day.month}月{day.day}日&nbsp;&nbsp;&nbsp;&nbsp;</p>'
        "</div></td></tr></tbody></table></body></html>"
    )


RENDERERS = {"plain": render_plain, "tianjin": render_tianjin, "notice_area": render_notice_area}


# ============================================================================================ page chrome

_DEMO_NOTE = "tenderwatch 演示站点：版式仿照中国政府采购网，所有公告、单位、人员与金额均为虚构"


def page_head(title: str, metas: Iterable[tuple[str, str]], body_id: str) -> str:
    meta_lines = "".join(f'<meta name="{name}" content="{attr(value)}" />\n' for name, value in metas)
    return (
        "<!doctype html>\n<html>\n<head>\n"
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />\n'
        '<meta name="SiteName" content="中国政府采购网" />\n'
        '<meta name="SiteDomain" content="www.ccgp.gov.cn" />\n'
        f"{meta_lines}"
        '<meta name="generator" content="tenderwatch demo/build_demo.py (invented data)" />\n'
        f"<title>{esc(title)}</title>\n"
        '<link href="/css/detail.css" rel="stylesheet" type="text/css" />\n'
        f'</head>\n<body id="{body_id}">\n'
        '<div class="v4incheadertop">\n'
        '    <div class="v4incheadertop_tel_block"><div class="v4incheadertop_tel">'
        f'<p class="cl">{_DEMO_NOTE}</p></div></div>\n'
        '    <div class="v4incheadertop_nav_block"><div class="v4incheadertop_nav">\n'
        '        <ul class="v4incheadertop_nav_ls">\n'
        '            <li id="ch_index"><a href="/">首页</a></li>\n'
        '            <li id="ch_zygg"><a href="/cggg/zygg/index.htm">中央公告</a></li>\n'
        '            <li id="ch_dfgg"><a href="/cggg/dfgg/index.htm">地方公告</a></li>\n'
        "        </ul>\n"
        "    </div></div>\n"
        '    <div class="clb"></div>\n'
        "</div>\n"
    )


PAGE_FOOT = (
    '<div class="footer mt13">\n'
    '    <div class="copyright_bl"><div class="vF_cp"><p>'
    "本页由 tenderwatch 项目生成，用于离线演示与测试，不是真实的政府采购信息。"
    "</p></div></div>\n"
    "</div>\n"
    "</body>\n</html>\n"
)


def breadcrumb(crumbs: list[tuple[str, str]], extra_class: str = "") -> str:
    """``div.vF_deail_currentloc`` (the site's own spelling) with ``a.CurrChnlCls`` crumbs."""
    links = "&nbsp;&raquo;&nbsp;".join(
        f'<a href="{href}" title="{attr(label)}" class="CurrChnlCls">{esc(label)}</a>' for label, href in crumbs
    )
    return f'    <div class="vF_deail_currentloc{extra_class}">\n        <p>当前位置：{links}</p>\n    </div>\n'


def summary_table(notice: Notice) -> str:
    """The 公告概要 table. Single-quoted attributes, as the raw server HTML has them (one double-quoted colspan
    included, as on the real pages)."""
    rows = [
        "<tr><td colspan='4'><b>公告信息：</b></td></tr>",
        "<tr><td class='title' width='128'>采购项目名称</td>"
        f"<td colspan='3' width='430'>{esc(notice.project_name)}</td></tr>",
        f"<tr><td class='title'>品目</td><td colspan='3'><p>{esc(notice.pinmu)}</p></td></tr>",
        f"<tr><td class='title'>采购单位</td><td colspan='3'>{esc(notice.buyer.name)}</td></tr>",
        f"<tr><td class='title'>行政区域</td><td width='168'>{esc(notice.district)}</td>"
        f"<td class='title' width='128'>公告时间</td><td width='168'>{cn_summary_time(notice.published)}</td></tr>",
    ]

    def row(label: str, value: str) -> None:
        rows.append(f"<tr><td class='title'>{label}</td><td colspan='3'>{esc(value)}</td></tr>")

    if notice.kind in TENDER_KINDS:
        row("开标时间", cn_summary_time(notice.deadline))
        row("开标地点", notice.place)
    if notice.kind in (*TENDER_KINDS, "single_source") and notice.budget_cny is not None:
        row("预算金额", summary_budget(notice.budget_cny))
    if notice.kind in AWARD_KINDS:
        row("评审专家名单", notice.experts)
        label = "总中标金额" if notice.kind == "award" else "总成交金额"
        row(label, notice.award_summary or summary_award(notice.award_cny))
    if notice.kind == "correction":
        rows.append(
            f"<tr><td class='title'>首次公告日期</td><td width='168'>{cn_date(notice.first_published)}</td>"
            f"<td class='title' width='128'>更正日期</td><td width='168'>{cn_date(notice.published)}</td></tr>"
        )
    rows.append('<tr><td colspan="4"><b>联系人及联系方式：</b></td></tr>')
    row("项目联系人", notice.contact)
    row("项目联系电话", notice.contact_phone)
    rows.append(
        f"<tr><td class='title' width='128'>采购单位</td><td width='430' colspan='3'>{esc(notice.buyer.name)}</td></tr>"
    )
    row("采购单位地址", notice.buyer.address)
    row("采购单位联系方式", notice.buyer.phone)
    if notice.agency:
        row("代理机构名称", notice.agency.name)
        row("代理机构地址", notice.agency.address)
        row("代理机构联系方式", notice.agency.phone)
    if notice.attachments:
        rows.append("<tr><td colspan='4'><b>附件：</b></td></tr>")
        for number, name in enumerate(notice.attachments, 1):
            rows.append(
                f"<tr><td class='title'>附件{number}</td><td colspan='3' width='430'>"
                f"<a class='bizDownload' href='' id='{digest_id(notice.id, name)}' title='点击下载'>{esc(name)}</a>"
                "</td></tr>"
            )
    return (
        "<div class='table'><h5>公告概要：</h5><table width='600' border='0' cellspacing='1' bgcolor='#bfbfbf' "
        "style='text-align:left;'>" + "".join(rows) + "</table></div>"
    )


def detail_page(notice: Notice) -> str:
    type_crumb = SUB_COLUMNS[notice.sub][1]
    crumbs = [
        ("首页", "../../../../"),
        ("政采公告", "../../../"),
        (COLUMNS[notice.column], "../../"),
        (type_crumb, "../"),
    ]
    return (
        page_head(
            notice.title,
            [("ArticleTitle", notice.title), ("PubDate", notice.published), ("ContentSource", "中国政府采购网")],
            "detail",
        )
        + '\n<div class="main">\n<div class="main_container">\n\n'
        + breadcrumb(crumbs, " mt10")
        + '    <div class="vF_deail_maincontent">\n\n<div class="vF_detail_main">\n'
        f'            <div class="vF_detail_header"><h2 class="tc">{esc(notice.title)}</h2>\n'
        f'            <p class="tc"><span id="pubTime">{cn_minute(notice.published)}</span> 来源：'
        '<span id="sourceName"></span> 【<span id="printBtn">打印</span>】</p></div>\n'
        "<!--contentTable-->\n" + summary_table(notice) + "\n<!--contentTable-->\n"
        '<div class="vF_detail_content_container">\n'
        '            <div class="vF_detail_content">\n'
        f"                {RENDERERS[notice.template](notice)}\n"
        "            </div>\n"
        "        </div><!--vF_detail_content_container-->\n"
        "        </div><!--vF_detail_main-->\n\n"
        "    </div><!--vF_deail_maincontent-->\n"
        '    <div class="vF_detail_relcontent mt13">\n'
        "    <h2><p>相关公告</p></h2>\n"
        '    <div class="vF_detail_relcontent_lst">\n        <ul class="c_list_tat">\n        </ul>\n    </div>\n'
        "</div><!--相关公告-->\n\n"
        "</div>\n</div>\n" + PAGE_FOOT
    )


def _display_width(text: str) -> int:
    return sum(1 if ord(char) < 128 else 2 for char in text)


def list_anchor_text(title: str) -> str:
    """Long titles are cut in the link text (the full title stays in ``title=``), as on the real list pages."""
    if _display_width(title) <= 88:
        return title
    kept = ""
    for char in title:
        if _display_width(kept + char) > 86:
            break
        kept += char
    return kept + "..."


def list_item(notice: Notice, href_prefix: str) -> str:
    moment = _when(notice.published)
    href = f"{href_prefix}{moment:%Y%m}/t{moment:%Y%m%d}_{notice.id}.htm"
    label = SUB_COLUMNS[notice.sub][0]
    # The real pages put the line break inside <em rel="bxlx"> before 其他公告 and after every other label.
    kind = f"\n{label}" if notice.sub == "qtgg" else f"{label}\n"
    return (
        f'<li>   <a href="{href}" target="_blank" title="{attr(notice.title)}">'
        f"{esc(list_anchor_text(notice.title))}</a>\n"
        f'    <em rel="bxlx">{kind}</em> 发布时间：<em>{notice.published}</em> 地域：<em>{esc(notice.region)}</em> '
        f"采购人：<em>{esc(notice.buyer.name)}</em>\n    </li>\n"
    )


# Written for this project: the pager on the real pages is a script that writes the page links; the spider reads
# only the Pager({size, current, …}) call, so this function just has to produce working links for a browser.
PAGER_SCRIPT = (
    "function Pager(o){var n=o.size||1,c=o.current||0,u=function(i){return o.prefix+(i==0?'':'_'+i)+'.'+o.suffix};"
    "if(n<2)return false;var h=[];h.push(c>0?'<a class=\"prev\" href=\"'+u(c-1)+'\">上一页</a>'"
    ":'<span class=\"prev\">上一页</span>');for(var i=0;i<n;i++){h.push(i==c?'<span class=\"current\">'+(i+1)+"
    "'</span>':'<a href=\"'+u(i)+'\">'+(i+1)+'</a>')}h.push(c+1<n?'<a class=\"next\" href=\"'+u(c+1)+'\">下一页</a>'"
    ":'<span class=\"next\">下一页</span>');document.write(h.join(''));}"
)


def list_page(column: str, sub: str | None, page: int, pages: int, notices: list[Notice]) -> str:
    column_name = COLUMNS[column]
    if sub:
        name = SUB_COLUMNS[sub][1]
        crumbs = [("首页", "../../../"), ("政采公告", "../../"), (column_name, "../"), (name, "./")]
        title, prefix = name, "./"
    else:
        crumbs = [("首页", "../../"), ("政采公告", "../"), (column_name, "./")]
        title, prefix = column_name, ""
    items = "".join(list_item(n, prefix or f"./{n.sub}/") for n in notices)
    return (
        page_head(
            f"{title}_中国政府采购网",
            [("ColumnName", title), ("ColumnDescription", title), ("ColumnKeywords", title), ("ColumnType", title)],
            "bid_lst",
        )
        + '\n<div class="main">\n<div class="main_container">\n\n'
        '<div class="main_left_block mt13">\n<div class="wz_block">\n'
        + breadcrumb(crumbs)
        + '\n    <div class="vF_detail_relcontent mt13">\n\n'
        f"    <h2><p>{esc(title)}</p></h2>\n"
        '    <div class="vF_detail_relcontent_lst">\n        <ul class="c_list_bid">\n\n'
        f"{items}\n"
        "        </ul>\n    </div>\n"
        '    <div class="pagigation">\n<p class="pager">\n'
        f'<script language="javascript">{PAGER_SCRIPT}</script>\n'
        '<script language="javascript">'
        f"Pager({{size:{pages}, current:{page}, prefix:'index',suffix:'htm'}});</script>"
        "</p></div>\n"
        "</div>\n\n</div>\n</div>\n</div>\n</div>\n" + PAGE_FOOT
    )


def list_pages(column: str, sub: str | None, notices: list[Notice]) -> Iterator[tuple[str, str]]:
    """(path, html) of every page of one column or sub-column, newest first, 20 items per page."""
    ordered = newest_first(notices)
    pages = max(1, -(-len(ordered) // PAGE_SIZE))
    for page in range(pages):
        chunk = ordered[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        yield list_path(column, page, sub), list_page(column, sub, page, pages, chunk)


# ============================================================================================ checks


def validate(notices: Iterable[Notice]) -> None:
    """Refuse inconsistent data: the ground truth must agree with the pages built from it."""
    problems: list[str] = []
    seen: set[int] = set()
    for n in notices:
        where = f"notice {n.id}"
        if not (10_000_000 <= n.id <= 99_999_999 and str(n.id).startswith("9")):
            problems.append(f"{where}: ids are 8-digit numbers starting with 9")
        if n.id in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(n.id)
        if n.column not in COLUMNS or n.sub not in SUB_COLUMNS or n.template not in TEMPLATES:
            problems.append(f"{where}: unknown column {n.column}/{n.sub} or template {n.template}")
        if n.kind not in BY_CODE:
            problems.append(f"{where}: unknown notice type {n.kind}")
        # The spider types a notice by its column, and by its title in 其他公告: both must give n.kind.
        found = classify(n.title, SUB_COLUMNS[n.sub][0]).code if n.sub == "qtgg" else CCGP_COLUMNS.get(n.sub)
        if found != n.kind:
            problems.append(f"{where}: a reader would type it {found}, the data says {n.kind}")
        if n.category not in (None, *CATEGORIES) or any(c not in CATEGORIES for c in n.also):
            problems.append(f"{where}: unknown category")
        if n.trap and n.category:
            problems.append(f"{where}: a trap expects no match")
        if n.budget_text is not None and parse_amount(n.budget_text) != n.budget_cny:
            problems.append(f"{where}: budget text {n.budget_text!r} is not {n.budget_cny}")
        if n.kind in AWARD_KINDS or n.kind == "contract":
            amounts = [parse_amount(s.amount) for s in n.suppliers]
            total = None if None in amounts else sum(amounts)
            if total != n.award_cny:
                problems.append(f"{where}: supplier amounts {amounts} do not add up to {n.award_cny}")
            if n.template == "tianjin":
                wan_total = sum(Decimal(s.amount_wan) for s in n.suppliers) * 10000
                if wan_total != n.award_cny:
                    problems.append(f"{where}: 万元 amounts do not add up to {n.award_cny}")
        if n.kind in TENDER_KINDS and not n.deadline:
            problems.append(f"{where}: a tender needs a deadline")
        if n.kind == "correction" and not n.first_published:
            problems.append(f"{where}: a correction needs its first publication date")
        if n.kind in ("single_source", "contract", *AWARD_KINDS) and not n.suppliers:
            problems.append(f"{where}: this notice type names its supplier")
        if n.template == "tianjin" and n.kind not in AWARD_KINDS:
            problems.append(f"{where}: the tianjin template is only written for award/deal notices")
        if any(marker in n.title for marker in ("频繁访问", "验证码")):
            problems.append(f"{where}: block-page words would make the spider treat the page as a block")
    if problems:
        raise ValueError("demo notices are inconsistent:\n  " + "\n  ".join(problems))


# ============================================================================================ ground truth


def visible_text(page: str) -> str:
    """Text of a page with tags dropped and entities decoded, for checking evidence strings."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def expected_record(notice: Notice, page: str) -> dict:
    path = detail_path(notice)
    text = visible_text(page)
    attached = "\n".join(line for _, pages in notice.attachment_texts for line in pages)
    missing = [e for e in notice.evidence if e not in text and e not in attached]
    if missing:
        raise ValueError(f"notice {notice.id}: evidence not on the page: {missing}")
    return {
        "id": str(notice.id),
        "url": SITE_URL + path,
        "path": path,
        "column": notice.column,
        "level": "central" if notice.column == "zygg" else "local",
        "sub_column": notice.sub,
        "list_label": SUB_COLUMNS[notice.sub][0],
        "notice_type": notice.kind,
        "notice_type_zh": BY_CODE[notice.kind].zh,
        "title": notice.title,
        "published": _when(notice.published).isoformat(),
        "region": notice.region,
        "district": notice.district,
        "project_code": notice.project_code or None,
        "project_name": notice.project_name,
        "buyer": notice.buyer.name,
        "agency": notice.agency.name if notice.agency else None,
        "budget_cny": notice.budget_cny,
        "budget_raw": notice.budget_text,
        "award_cny": notice.award_cny,
        "suppliers": [s.name for s in notice.suppliers],
        "template": notice.template,
        "expect_match": notice.category,
        "also_match": list(notice.also),
        "trap": notice.trap is not None,
        "trap_reason": notice.trap,
        "evidence": list(notice.evidence),
        "evidence_only_in_attachments": bool(notice.evidence) and not any(e in text for e in notice.evidence),
    }


def processes(notices: list[Notice]) -> list[dict]:
    """Procurement processes that span several notices (same 项目编号), oldest notice first."""
    by_code: dict[str, list[Notice]] = {}
    for n in notices:
        if n.project_code:
            by_code.setdefault(n.project_code, []).append(n)
    result = []
    for code, group in sorted(by_code.items()):
        if len(group) < 2:
            continue
        group.sort(key=lambda n: (n.published, n.id))
        categories = sorted({n.category for n in group if n.category})
        suppliers = sorted({s.name for n in group for s in n.suppliers})
        result.append(
            {
                "project_code": code,
                "buyer": group[0].buyer.name,
                "notice_ids": [str(n.id) for n in group],
                "notice_types": [n.kind for n in group],
                "expect_match": categories[0] if categories else None,
                "suppliers": suppliers,
            }
        )
    return result


def counts(notices: list[Notice]) -> dict:
    by_type: dict[str, int] = {}
    by_category: dict[str, int] = {}
    for n in notices:
        by_type[n.kind] = by_type.get(n.kind, 0) + 1
        key = n.category or ("trap" if n.trap else "negative")
        by_category[key] = by_category.get(key, 0) + 1
    return {
        "notices": len(notices),
        "by_column": {c: sum(n.column == c for n in notices) for c in COLUMNS},
        "by_type": dict(sorted(by_type.items())),
        "by_category": dict(sorted(by_category.items())),
        "by_template": {t: sum(n.template == t for n in notices) for t in TEMPLATES},
    }


# ============================================================================================ build


@dataclass
class BuildResult:
    site_dir: Path
    warc_path: Path
    expected_path: Path
    pages: dict[str, bytes] = field(default_factory=dict)  # path under the site → body, in crawl order


def render_site(notices: tuple[Notice, ...] = NOTICES) -> tuple[dict[str, bytes], dict]:
    """Every page (path → UTF-8 bytes, in crawl order: list pages, then notices oldest first) and the ground truth."""
    validate(notices)
    pages: dict[str, bytes] = {}
    for column in COLUMNS:
        in_column = [n for n in notices if n.column == column]
        for path, page in list_pages(column, None, in_column):
            pages[path] = page.encode("utf-8")
    for column in COLUMNS:
        for sub in SUB_COLUMNS:
            in_sub = [n for n in notices if n.column == column and n.sub == sub]
            if in_sub:
                for path, page in list_pages(column, sub, in_sub):
                    pages[path] = page.encode("utf-8")
    records = []
    for notice in sorted(notices, key=lambda n: (n.published, n.id)):
        page = detail_page(notice)
        pages[detail_path(notice)] = page.encode("utf-8")
        records.append(expected_record(notice, page))
    ordered = list(notices)
    expected = {
        "about": "Ground truth of the tenderwatch demo site (invented notices in the ccgp.gov.cn layout). "
        "Generated by demo/build_demo.py from demo/notices.py; do not edit by hand.",
        "site": SITE_URL,
        "start_urls": [SITE_URL + list_path(column, 0) for column in COLUMNS],
        "list_pages": [SITE_URL + path for path in pages if path.rsplit("/", 1)[-1].startswith("index")],
        "page_size": PAGE_SIZE,
        "crawl_window": {
            "from_date": min(n.published for n in ordered)[:10],
            "until_date": max(n.published for n in ordered)[:10],
        },
        "counts": counts(ordered),
        "processes": processes(ordered),
        "notices": records,
    }
    return pages, expected


def attachment_files(notices: tuple[Notice, ...] = NOTICES) -> dict[str, bytes]:
    """The files the archive holds (download URL → PDF bytes): those whose text a notice gives, from the address
    ccgp serves ``bizDownload`` links at (``spiders.ccgp.download_url``)."""
    files: dict[str, bytes] = {}
    for notice in sorted(notices, key=lambda n: (n.published, n.id)):
        for name, pages in notice.attachment_texts:
            url = download_url(SITE_URL + detail_path(notice), digest_id(notice.id, name))
            files[url] = pdf_bytes(list(pages))
    return files


def write_warc(path: Path, pages: dict[str, bytes], files: dict[str, bytes] | None = None) -> None:
    """One request/response pair per page, then per attachment file, at fixed fetch times three seconds apart."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # WarcWriter appends: start from an empty file
    answers = [(SITE_URL + site_path, site_path, "text/html; charset=utf-8", body) for site_path, body in pages.items()]
    answers += [(url, url, "application/octet-stream", body) for url, body in (files or {}).items()]
    with WarcWriter(tmp) as writer:
        for index, (url, record_id, content_type, body) in enumerate(answers):
            writer.write_response(
                url,
                status=200,
                headers=[("Content-Type", content_type)],
                body=body,
                method="GET",
                record_id=record_id,
                request_body=b"",
                fetched_at=CRAWL_STARTED + timedelta(seconds=3 * index),
            )
    os.replace(tmp, path)


def build(out_dir: Path = DEMO_DIR) -> BuildResult:
    out_dir = Path(out_dir)
    pages, expected = render_site()
    site_dir = out_dir / "site"
    # Rebuilt from scratch so a notice removed from the data does not leave a stale page behind.
    if site_dir.exists():
        shutil.rmtree(site_dir)
    for site_path, body in pages.items():
        target = site_dir / site_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
    warc_path = out_dir / WARC_NAME
    write_warc(warc_path, pages, attachment_files())
    expected_path = out_dir / EXPECTED_NAME
    expected_path.write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return BuildResult(site_dir, warc_path, expected_path, pages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEMO_DIR, help="output folder (default: demo/)")
    args = parser.parse_args(argv)
    result = build(args.out)
    summary = counts(list(NOTICES))
    print(
        f"{len(result.pages)} pages ({summary['notices']} notices) → {result.site_dir}\n"
        f"WARC → {result.warc_path}\nground truth → {result.expected_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
