"""Notice types of the MOF 2020 national format (and the bidding-law variants), with English labels.

Every portal maps its own type words (ccgp breadcrumb, ggzy ``informationTypeText``, a title suffix) onto these
codes, so analysts filter on one stable vocabulary whatever the source.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NoticeType:
    code: str
    zh: str
    en: str
    # OCDS release tag for a notice of this type (DOMAIN.md §2).
    ocds_tag: str
    # Whether a notice of this type names the supplier(s) that won: such notices reveal the intermediary.
    names_supplier: bool = False


NOTICE_TYPES: tuple[NoticeType, ...] = (
    NoticeType("intent", "采购意向公开", "Procurement intention", "planning"),
    NoticeType("prequalification", "资格预审公告", "Prequalification notice", "tender"),
    NoticeType("open_tender", "公开招标公告", "Open tender notice", "tender"),
    NoticeType("invited_tender", "邀请招标公告", "Invited tender notice", "tender"),
    NoticeType("competitive_negotiation", "竞争性谈判公告", "Competitive negotiation notice", "tender"),
    NoticeType("competitive_consultation", "竞争性磋商公告", "Competitive consultation notice", "tender"),
    NoticeType("inquiry", "询价公告", "Request for quotation notice", "tender"),
    NoticeType("single_source", "单一来源采购公示", "Single-source procurement notice", "tender", True),
    NoticeType("candidates", "中标候选人公示", "Shortlisted bidders notice", "award", True),
    NoticeType("award", "中标公告", "Award notice", "award", True),
    NoticeType("deal", "成交公告", "Deal (award) notice", "award", True),
    NoticeType("correction", "更正公告", "Correction notice", "tenderAmendment"),
    NoticeType("termination", "终止公告", "Termination / failed-bid notice", "tenderCancellation"),
    NoticeType("contract", "合同公告", "Contract notice", "contract", True),
    NoticeType("acceptance", "验收结果公告", "Acceptance (delivery check) notice", "implementation"),
    NoticeType("complaint", "投诉处理结果公告", "Complaint decision notice", "tenderUpdate"),
    NoticeType("supervision", "监督检查处理结果公告", "Supervision decision notice", "tenderUpdate"),
    NoticeType("agency_assessment", "集中采购机构考核结果公告", "Procurement agency assessment notice", "planning"),
    NoticeType("other", "其他公告", "Other notice", "tender"),
)

BY_CODE: dict[str, NoticeType] = {t.code: t for t in NOTICE_TYPES}

# Words seen in breadcrumbs, list labels and titles, most specific first: the first that occurs wins.
_TYPE_WORDS: tuple[tuple[str, str], ...] = (
    ("采购意向", "intent"),
    ("资格预审", "prequalification"),
    ("中标候选人", "candidates"),
    ("评标结果", "candidates"),
    ("单一来源", "single_source"),
    ("更正", "correction"),
    ("变更", "correction"),
    ("澄清", "correction"),
    ("终止", "termination"),
    ("废标", "termination"),
    ("流标", "termination"),
    ("失败", "termination"),
    ("合同", "contract"),
    ("验收", "acceptance"),
    ("投诉", "complaint"),
    ("监督检查", "supervision"),
    ("考核结果", "agency_assessment"),
    ("中标", "award"),
    ("成交", "deal"),
    ("结果公告", "award"),
    ("竞争性谈判", "competitive_negotiation"),
    ("竞争性磋商", "competitive_consultation"),
    ("询价", "inquiry"),
    ("邀请招标", "invited_tender"),
    ("公开招标", "open_tender"),
    ("招标公告", "open_tender"),
    ("采购公告", "open_tender"),
)

# ccgp.gov.cn column codes (the path segment after /cggg/zygg/ or /cggg/dfgg/).
CCGP_COLUMNS: dict[str, str] = {
    "gkzb": "open_tender",
    "yqzbgg": "invited_tender",
    "jzxtpgg": "competitive_negotiation",
    "jzxcs": "competitive_consultation",
    "xjgg": "inquiry",
    "dylygg": "single_source",
    "zbgg": "award",
    "cjgg": "deal",
    "gzgg": "correction",
    "fblbgg": "termination",
    "zzgg": "termination",
    "htgg": "contract",
    "zgysgg": "prequalification",
    "qtgg": "other",
}


def classify(*labels: str | None) -> NoticeType:
    """The notice type for the first label (breadcrumb, list label, title…) that names one; ``other`` if none."""
    for label in labels:
        if not label:
            continue
        for word, code in _TYPE_WORDS:
            if word in label:
                return BY_CODE[code]
    return BY_CODE["other"]
