"""Every rule in pipelines/matching/rules.toml has a positive and a trap; malformed rules files fail loudly with a line.

Adding a rule (or a modifier) without a row in POSITIVES and in TRAPS makes ``test_every_rule_has_cases`` fail.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from pipelines.matching.engine import Matcher
from pipelines.matching.rules import CATEGORIES, DEFAULT_RULES_PATH, RulesError


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.load()


# (rule id, title, body): the rule must be among the hits.
POSITIVES: list[tuple[str, str, str]] = [
    ("chip.a100", "GPU加速卡采购", "NVIDIA A100 80GB PCIe GPU加速卡 2块"),
    ("chip.a800", "服务器采购", "GPU服务器1台，8*A800 80G"),
    ("chip.h100", "计算卡采购", "H100 80GB SXM5 GPU 8块"),
    ("chip.h800", "训练平台", "英伟达H800训练卡16块"),
    ("chip.h200", "HGX平台", "HGX H200 141GB 8-GPU 服务器1台"),
    ("chip.h20", "推理服务器", "每台配置8张英伟达H20 96G GPU卡"),
    ("chip.grace_hopper", "超级芯片服务器", "NVIDIA GH200 Grace Hopper 超级芯片服务器 2台"),
    ("chip.blackwell", "DGX系统", "NVIDIA DGX B200，8颗B200 GPU"),
    ("chip.grace_blackwell", "整机柜", "GB200 NVL72 液冷整机柜1套"),
    ("chip.l40s", "推理服务器", "配置4块NVIDIA L40S 48GB GPU"),
    ("chip.l40", "GPU卡", "英伟达L40 48G GPU卡 ×2"),
    ("chip.l4", "推理卡", "NVIDIA L4 24GB 推理卡 4张"),
    ("chip.rtx4090", "工作站", "显卡：RTX4090 24G 涡轮版×2"),
    ("chip.rtx5090", "显卡", "GeForce RTX 5090 32GB 显卡10块"),
    ("chip.rtx_d_variant", "显卡", "GeForce RTX 4090D 24GB 显卡"),
    ("chip.amd_instinct", "加速卡", "AMD Instinct MI300X 192GB 加速卡 8块"),
    ("platform.hgx_dgx", "服务器", "NVIDIA DGX A100 640GB 1台"),
    ("platform.eight_gpu_server", "服务器", "戴尔 PowerEdge XE9680 1台"),
    ("hint.interconnect", "服务器", "GPU服务器，支持NVLink全互联"),
    ("vendor.nvidia_gpu", "显卡", "英伟达GPU加速卡 4块"),
    ("server.ai_generic", "服务器", "采购GPU服务器2台"),
    ("cloud.aws", "云服务", "采购亚马逊云科技（AWS）云服务账号，含GPU实例"),
    ("cloud.azure", "云服务", "采购微软Azure云服务GPU虚拟机"),
    ("cloud.google", "云服务", "采购Google Cloud GPU实例资源"),
    ("cloud.oracle", "云服务", "采购Oracle Cloud GPU裸金属实例"),
    ("cloud.gpu_instance", "云资源", "p4d.24xlarge实例2000小时"),
    ("cloud.restricted_gpu_remote", "算力", "A100 GPU云服务器按卡时计费"),
    ("cloud.overseas_account", "账号", "采购海外云服务器账号（含GPU实例）"),
    ("cloud.compute_leasing", "算力", "采购算力租赁服务10000卡时"),
    ("cloud.gpu_cloud_generic", "云", "采购GPU云服务器4台"),
    ("llm.azure_openai", "大模型", "采购Azure OpenAI服务4000万tokens"),
    ("llm.foreign_model", "大模型", "采购OpenAI API调用服务"),
    ("llm.token_volume", "大模型", "大模型API服务，总量5000万tokens"),
    ("llm.token_pricing", "大模型", "大模型调用单价不高于0.05元/千tokens"),
    ("llm.api_service", "大模型", "采购大模型API服务"),
    # Chips recognised without their names (the hit reads the inferred class).
    ("server_model.dell_xe8545", "服务器采购", "品牌：戴尔；型号：PowerEdge XE8545；数量：1台"),
    ("server_model.inspur_nf5488a5", "服务器采购", "浪潮 NF5488A5 服务器 2台，含GPU模组"),
    ("server_model.gigabyte_g593", "服务器采购", "技嘉 G593-SD0 服务器1台"),
    ("sig.hbm2e_80g", "GPU服务器", "单卡显存≥80GB HBM2e"),
    ("sig.a800_nvlink400", "GPU服务器", "单卡显存≥80GB HBM2e；卡间互联带宽≥400GB/s"),
    ("sig.a100_nvlink600", "GPU服务器", "GPU显存80GB HBM2e，NVLink 600GB/s"),
    ("sig.a100_bandwidth", "GPU卡", "单卡显存带宽≥2,039GB/s"),
    ("sig.a100_40g_bandwidth", "GPU卡", "显存40GB HBM2，显存带宽1555GB/s"),
    ("sig.hbm3_80g", "GPU服务器", "每卡显存：80GB HBM3"),
    ("sig.h800_nvlink400", "GPU服务器", "GPU：８０ＧＢ ＨＢＭ３；NVLink ４００ＧＢ／ｓ"),
    ("sig.h100_nvlink900", "GPU服务器", "显存80GB HBM3，GPU间互联NVLink 900GB/s"),
    ("sig.hopper_bandwidth", "GPU服务器", "显存带宽：3.35TB/s"),
    ("sig.h20_memory", "推理服务器", "单卡显存96GB HBM3"),
    ("sig.h20_fp16", "推理卡", "FP16算力≥148 TFLOPS"),
    ("sig.h200_memory", "GPU服务器", "单卡显存141GB HBM3e"),
    # Unnamed AI compute.
    ("compute.gpu_server", "GPU服务器采购项目", "采购GPU服务器2台，用于深度学习训练"),
    ("compute.accelerator_card", "加速卡采购", "采购深度学习GPU加速卡4块"),
    ("compute.intelligent_computing", "智算中心建设", "智算中心算力设备采购，含交换机"),
    ("compute.gpu_rental", "算力服务", "采购算力租赁服务，不少于20000卡时"),
]

# (rule id, title, body): realistic text that looks like the rule's target; the rule must NOT be among the hits.
TRAPS: list[tuple[str, str, str]] = [
    ("chip.a100", "平板电脑采购", "平板电脑200台，处理器：全志A100 四核，GPU：PowerVR GE8300"),
    ("chip.a100", "工作站采购", "显卡：NVIDIA RTX A1000 8GB"),
    ("chip.a100", "国产加速卡", "单卡FP16算力不低于英伟达A100 PCIe 80GB"),
    ("chip.a100", "云服务", "采购AWS云服务器（A100 GPU实例）"),
    ("chip.a800", "生化分析仪", "A800型全自动生化分析仪1台"),
    ("chip.a800", "维保", "对现有8台A800 GPU服务器提供一年原厂维保服务"),
    ("chip.h100", "密集柜", "密集柜 L1000×D560×H2300mm，底座高H100mm"),
    ("chip.h800", "办公桌", "办公桌 规格W1200×D600×H800mm"),
    ("chip.h200", "型钢", "H型钢H200×200×8×12 Q235B 45吨，用于GPU服务器机房钢平台"),
    ("chip.h20", "模板", "H20木梁（木工字梁）3000米"),
    ("chip.grace_hopper", "型号", "GH200型手持终端 10台"),
    ("chip.blackwell", "刀片", "思科UCS B200 M5刀片服务器16台，含GPU扩展卡"),
    ("chip.grace_blackwell", "变压器", "能效符合GB 20052-2020，UPS为GPU服务器供电"),
    ("chip.grace_blackwell", "水泥", "水泥满足GB 200-2017，检测GPU指标"),
    ("chip.l40s", "国产", "推理卡性能对标英伟达L40S"),
    ("chip.l40", "螺栓", "不锈钢螺栓M8×L40 2000套，用于GPU机柜"),
    ("chip.l4", "自动驾驶", "改装L4级自动驾驶测试车，配备GPU计算平台"),
    ("chip.rtx4090", "结算", "结算金额：4090元"),
    ("chip.rtx4090", "合规版", "显卡：GeForce RTX 4090D 24GB"),
    ("chip.rtx5090", "台式机", "戴尔 OptiPlex 5090 台式计算机，独立显卡"),
    ("chip.rtx_d_variant", "显卡", "显卡：GeForce RTX 4090 24GB"),
    ("chip.amd_instinct", "注射泵", "MI-300型微量注射泵20台，含显示屏"),
    ("chip.amd_instinct", "台式机", "AMD 锐龙7 7700处理器，集成Radeon显卡"),
    ("platform.hgx_dgx", "维保", "DGX-1服务器（V100）维保一年"),
    ("platform.eight_gpu_server", "云", "租用XE9680 GPU云服务器3个月"),
    ("hint.interconnect", "国产", "互联带宽不低于NVLink"),
    ("vendor.nvidia_gpu", "办公电脑", "NVIDIA GPU独立显卡 GTX 1650 4GB，30台"),
    ("server.ai_generic", "租赁", "GPU服务器租赁服务3个月"),
    ("cloud.aws", "焊接检测", "焊缝检测依据AWS D1.1《钢结构焊接规范》"),
    ("cloud.aws", "气象站", "AWS自动气象站10套，含云端数据平台"),
    ("cloud.aws", "大模型", "采购海外AWS账号，用于调用Claude 3大模型"),
    ("cloud.azure", "办公软件", "续订微软云Office 365 E3订阅300个"),
    ("cloud.google", "临床试验", "GCP（药物临床试验质量管理规范）培训及云端考核"),
    ("cloud.oracle", "数据库", "Oracle数据库许可，支持OCI部署的计算资源授权"),
    ("cloud.gpu_instance", "国产", "性能不低于p4d.24xlarge实例"),
    ("cloud.restricted_gpu_remote", "账号", "开户行账号：3400 1234 H100 5678"),
    ("cloud.restricted_gpu_remote", "分包", "包1：GPU服务器1台，8块A800 80GB。包2：AWS云服务器资源"),
    ("cloud.overseas_account", "外贸", "海外云服务器（用于外贸网站托管）"),
    ("cloud.compute_leasing", "国产", "不接受算力租赁方式"),
    ("cloud.gpu_cloud_generic", "国产", "不得使用GPU云服务器"),
    ("llm.azure_openai", "培训", "Azure OpenAI应用开发培训班"),
    ("llm.foreign_model", "禁用", "严禁使用境外大模型（如ChatGPT、Claude等）"),
    ("llm.foreign_model", "试剂", "谷丙转氨酶（ALT/GPT）测定试剂盒200盒"),
    ("llm.foreign_model", "相机", "采购天文望远镜用Gemini相机1台"),
    ("llm.token_volume", "令牌", "采购OTP动态令牌300个token及USB Key 500个，对接大模型门户"),
    ("llm.token_volume", "鉴权", "大模型门户接口鉴权：access token有效期2小时，刷新token 1个"),
    ("llm.token_pricing", "笔记本", "笔记本电脑支持TPM 2.0安全芯片，预装大模型助手"),
    ("llm.api_service", "一体机", "大模型服务一体机，本地部署"),
    # Server models: a PCIe server that takes any card, and hardware already owned.
    ("server_model.dell_xe8545", "维保", "对现有PowerEdge XE8545服务器提供维保服务"),
    ("server_model.inspur_nf5488a5", "服务器", "浪潮NF5468M6 GPU服务器（PCIe，可配8张A40或A30）"),
    ("server_model.gigabyte_g593", "国产", "配置要求不低于G593-SD0"),
    # Signatures: domestic accelerators carry HBM too; storage, workstations, desks and keys look alike.
    ("sig.hbm2e_80g", "国产加速卡", "昇腾910B加速卡8块，单卡显存64GB HBM2e"),
    ("sig.hbm2e_80g", "思元", "寒武纪思元加速卡，单卡显存80GB HBM2e"),
    ("sig.a800_nvlink400", "存储服务器", "存储服务器，8卡网卡，单盘80GB缓存，网络带宽400GB/s"),
    ("sig.a100_nvlink600", "服务器", "内存80GB DDR4，固态硬盘读取600GB/s"),
    ("sig.a100_bandwidth", "存储", "存储系统聚合带宽2039GB/s，硬盘80块"),
    ("sig.a100_40g_bandwidth", "网络", "交换机背板带宽1555Gb/s"),
    ("sig.hbm3_80g", "昇腾", "Atlas 800T A2训练服务器，单卡显存80GB HBM3"),
    ("sig.h800_nvlink400", "办公桌", "办公桌W1200×D600×H800mm，80GB U盘，NVLink 400GB/s展示屏"),
    ("sig.h100_nvlink900", "工作站", "图形工作站，显卡RTX A6000 48GB，内存80GB，带宽900GB/s"),
    ("sig.hopper_bandwidth", "存储", "分布式存储读写带宽3.35TB/s"),
    ("sig.h20_memory", "令牌", "UKey动态令牌96G存储，HBM3兼容读卡器"),
    ("sig.h20_memory", "国产推理卡", "昆仑芯P800推理卡，显存96GB HBM3"),
    ("sig.hbm2e_80g", "国产", "海光DCU加速卡，单卡显存80GB HBM2e"),
    ("sig.h20_fp16", "国产", "国产加速卡FP16算力不低于148TFLOPS，须为昆仑芯产品"),
    ("sig.h200_memory", "硬盘", "机械硬盘141GB SAS，RAID卡"),
    # Unnamed AI compute: the room around the servers, graphics work, domestic or named parts, vouchers.
    ("compute.gpu_server", "机房", "GPU服务器机柜及配电改造，含机房空调"),
    ("compute.gpu_server", "国产", "采购GPU服务器2台，须搭载昇腾910B"),
    ("compute.accelerator_card", "图形工作站", "图形工作站10台，GPU卡：用于三维渲染和CAD绘图"),
    ("compute.accelerator_card", "校园卡", "校园一卡通及门禁卡、训练场地预约系统"),
    ("compute.intelligent_computing", "土建", "不得将智算中心算力设备用于挖矿"),
    ("compute.gpu_rental", "政务云", "租用政务云GPU云服务器2台"),
]

# (modifier id, title, body, applies): the modifier must (or must not) adjust the hits of this notice.
MODIFIER_CASES: list[tuple[str, str, str, bool]] = [
    ("mod.compute_voucher", "算力券申报", "对租用英伟达A100 GPU云服务器的企业发放算力券", True),
    ("mod.compute_voucher", "算力服务采购", "采购A100 GPU云服务器租用服务，按卡时计费", False),
    ("mod.policy_document", "关于印发人工智能算力扶持政策的通知", "支持企业采购H100 GPU服务器", True),
    ("mod.policy_document", "H100 GPU服务器采购公告", "支持企业采购H100 GPU服务器", False),
    ("mod.acceptance_report", "GPU服务器采购项目验收结果公告", "验收内容：8块A100 GPU", True),
    ("mod.acceptance_report", "GPU服务器采购公告", "8块A100 GPU；验收标准：按国家标准验收", False),
    ("mod.acceptance_text", "项目公告", "GPU服务器（8块A100 GPU）已通过验收", True),
    ("mod.acceptance_text", "项目公告", "GPU服务器（8块A100 GPU），经验收合格后支付货款", False),
    ("mod.maintenance_title", "GPU服务器维保服务采购", "服务对象：8块A100 GPU服务器", True),
    ("mod.maintenance_title", "GPU服务器采购及维保服务", "8块A100 GPU服务器", False),
    ("mod.project_report", "重点研发计划课题结题报告公示", "课题使用8块A100 GPU完成训练", True),
    ("mod.project_report", "重点研发计划课题设备采购", "采购8块A100 GPU", False),
    ("mod.compute_named", "GPU服务器采购项目", "GPU服务器1台，配置8块NVIDIA L20 48GB GPU", True),
    ("mod.compute_named", "GPU服务器采购项目", "GPU服务器1台，8卡，用于大模型训练", False),
    ("mod.domestic_platform", "训练服务器采购", "训练服务器1台；加速卡：Atlas 300T；单卡显存80GB HBM2e", True),
    ("mod.domestic_platform", "训练服务器采购", "训练服务器1台；单卡显存80GB HBM2e", False),
]


def _rule_ids(result: dict) -> set[str]:
    return {hit["rule_id"] for hit in result["hits"]}


def _rules_file() -> dict:
    return tomllib.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))


def test_every_rule_has_cases() -> None:
    data = _rules_file()
    rule_ids = {rule["id"] for rule in data["rules"]}
    modifier_ids = {modifier["id"] for modifier in data.get("modifiers", [])}
    assert rule_ids - {case[0] for case in POSITIVES} == set(), "rules without a positive case"
    assert rule_ids - {case[0] for case in TRAPS} == set(), "rules without a trap case"
    applies = {case[0] for case in MODIFIER_CASES if case[3]}
    spared = {case[0] for case in MODIFIER_CASES if not case[3]}
    assert modifier_ids - applies == set(), "modifiers without a case where they apply"
    assert modifier_ids - spared == set(), "modifiers without a look-alike case where they must not apply"
    unknown = {case[0] for case in POSITIVES + TRAPS} - rule_ids
    assert unknown == set(), "cases for rules that no longer exist"


@pytest.mark.parametrize(("rule_id", "title", "text"), POSITIVES, ids=[case[0] for case in POSITIVES])
def test_rule_positive(matcher: Matcher, rule_id: str, title: str, text: str) -> None:
    result = matcher.match(title, text)
    assert rule_id in _rule_ids(result), result


@pytest.mark.parametrize(("rule_id", "title", "text"), TRAPS, ids=[f"{case[0]}:{case[2][:12]}" for case in TRAPS])
def test_rule_trap(matcher: Matcher, rule_id: str, title: str, text: str) -> None:
    result = matcher.match(title, text)
    assert rule_id not in _rule_ids(result), result


@pytest.mark.parametrize(
    ("modifier_id", "title", "text", "applies"), MODIFIER_CASES, ids=[f"{c[0]}:{c[3]}" for c in MODIFIER_CASES]
)
def test_modifier(matcher: Matcher, modifier_id: str, title: str, text: str, applies: bool) -> None:
    result = matcher.match(title, text)
    assert result["hits"], "the case needs a hit for the modifier to act on"
    adjusted = any(modifier_id in hit["reason"] for hit in result["hits"])
    assert adjusted is applies, result
    if applies:
        assert result["tier"] not in ("strong", "review")


def test_rules_file_has_version_and_every_category(matcher: Matcher) -> None:
    data = _rules_file()
    assert isinstance(data["version"], str) and data["version"]
    assert re.fullmatch(re.escape(data["version"]) + r"\+[0-9a-f]{8}", matcher.rules_version)
    assert {rule["category"] for rule in data["rules"]} == set(CATEGORIES)


def test_restricted_models_carry_class_and_date() -> None:
    data = _rules_file()
    classes = data["restriction_classes"]
    for model in data["models"]:
        assert model["restriction"] in classes
        if model["restriction"] != "compliant":
            assert model["restricted_since"] is not None, model["name"]
    since = {model["name"]: model.get("restricted_since") for model in data["models"]}
    assert str(since["A100"]) == str(since["H100"]) == "2022-10-07"
    assert str(since["A800"]) == str(since["H800"]) == str(since["L40S"]) == str(since["RTX 4090"]) == "2023-10-17"
    assert str(since["H20"]) == "2025-04-15"
    assert since["RTX 4090D"] is None and since["RTX 5090D"] is None


# ───────────────────────── malformed rules files ─────────────────────────

_GOOD_RULE = """
[[rules]]
id = "test.extra"
category = "ai_chip"
patterns = ['extra ?chip']
weight = 0.5
reason = "test rule"
"""


_GOOD_SIGNATURE = """
[[rules]]
id = "sig.test_extra"
category = "ai_chip"
patterns = ['extra ?chip']
infers = ["A800"]
max_tier = "review"
source = "https://example.org/spec"
source_says = "the extra chip is an A800"
weight = 0.9
reason = "test signature"
"""


def _base_text() -> str:
    return DEFAULT_RULES_PATH.read_text(encoding="utf-8")


def _line_of(text: str, marker: str, occurrence: int = -1) -> int:
    """1-based line of the last (or given) line containing ``marker``."""
    numbers = [number for number, line in enumerate(text.splitlines(), start=1) if marker in line]
    return numbers[occurrence]


def _load_text(tmp_path: Path, text: str) -> Matcher:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return Matcher.load(path)


def test_extra_rule_loads(tmp_path: Path) -> None:
    matcher = _load_text(tmp_path, _base_text() + _GOOD_RULE)
    assert "test.extra" in matcher.rule_ids
    assert matcher.match("", "an extra chip here")["hits"][0]["rule_id"] == "test.extra"


MALFORMED: list[tuple[str, str, str, str]] = [
    # (name, appended text, marker whose line the error must name, words the message must contain)
    ("syntax error", '\n[[rules]]\nid = "test.syntax"\nweight = = 0.5\n', "weight = = 0.5", "TOML syntax error"),
    ("bad regex", _GOOD_RULE.replace("'extra ?chip'", "'(unclosed'"), "'(unclosed'", "bad regex"),
    ("unknown category", _GOOD_RULE.replace('"ai_chip"', '"quantum"'), 'category = "quantum"', "unknown category"),
    ("missing id", _GOOD_RULE.replace('id = "test.extra"\n', ""), "[[rules]]", "missing field 'id'"),
    ("missing weight", _GOOD_RULE.replace("weight = 0.5\n", ""), "[[rules]]", "missing field 'weight'"),
    ("unknown field", _GOOD_RULE.replace("weight = 0.5", "weight = 0.5\ncontxt = ['gpu']"), "contxt", "unknown field"),
    ("upper case", _GOOD_RULE.replace("'extra ?chip'", "'EXTRA'"), "'EXTRA'", "upper-case"),
    ("unknown vocab", _GOOD_RULE.replace("'extra ?chip'", "'{no_such_words}'"), "{no_such_words}", "unknown vocab"),
    ("empty match", _GOOD_RULE.replace("'extra ?chip'", "'x?'"), "'x?'", "empty string"),
    # The alternation of a rule's patterns is compiled once; the culprit is still named when it is not the first.
    ("bad regex second", _GOOD_RULE.replace("'extra ?chip'", "'extra ?chip', 'chip[x'"), "'chip[x'", "bad regex"),
    ("empty match second", _GOOD_RULE.replace("'extra ?chip'", "'extra ?chip', 'y*'"), "'y*'", "empty string"),
    (
        "apart but not together",
        _GOOD_RULE.replace("'extra ?chip'", "'(?P<n>extra)', '(?P<n>chip)'"),
        "(?P<n>extra)",
        "do not compile together",
    ),
    # Two entries each valid alone, one group name: the prefilter (one regex of every pattern) could not compile.
    (
        "group name in two rules",
        _GOOD_RULE.replace("'extra ?chip'", "'(?P<n>extra)'")
        + _GOOD_RULE.replace("test.extra", "test.other").replace("'extra ?chip'", "'(?P<n>chip)'"),
        "(?P<n>chip)",
        "group name 'n' is already used at line",
    ),
    # Joined with other patterns, group 1 would be another pattern's group.
    ("group number", _GOOD_RULE.replace("'extra ?chip'", "'x', '(e)xtra \\1'"), "(e)xtra", "group by number"),
    ("duplicate id", _GOOD_RULE.replace("test.extra", "chip.a100"), 'id = "chip.a100"', "duplicate id"),
    ("weight range", _GOOD_RULE.replace("weight = 0.5", "weight = 1.5"), "weight = 1.5", "weight must be"),
    (
        "unknown model",
        _GOOD_RULE.replace("weight = 0.5", 'weight = 0.5\nmodel = "Z9"'),
        'model = "Z9"',
        "unknown model",
    ),
    # Signatures (chips recognised without their names) and their citations.
    ("infers unknown", _GOOD_SIGNATURE.replace('["A800"]', '["Z9"]'), 'infers = ["Z9"]', "infers unknown model 'Z9'"),
    ("uncited", re.sub(r"source.*\n", "", _GOOD_SIGNATURE), "[[rules]]", "missing field 'source'"),
    ("not a url", _GOOD_SIGNATURE.replace('"https://example.org/spec"', '"datasheet"'), '"datasheet"', "http(s)"),
    ("uncapped", _GOOD_SIGNATURE.replace('max_tier = "review"\n', ""), "[[rules]]", "must cap its tier"),
    ("bad max_tier", _GOOD_SIGNATURE.replace('"review"', '"top"'), 'max_tier = "top"', "max_tier must be one of"),
    (
        "corroboration typo",
        _GOOD_SIGNATURE + 'corroborated_by = ["nosuch."]\n',
        'corroborated_by = ["nosuch."]',
        "matches no other rule id",
    ),
    (
        "domestic platform uncited",
        '\n[[domestic_platforms]]\nname = "X"\nvendor = "Y"\npattern = \'xchip\'\n',
        "[[domestic_platforms]]",
        "domestic platform 'X': missing field 'source'",
    ),
    (
        "modifier rules typo",
        '\n[[modifiers]]\nid = "mod.test"\nrules = ["nosuch."]\npatterns = [\'xx\']\nfactor = 0.5\nreason = "r"\n',
        'rules = ["nosuch."]',
        "matches no rule id",
    ),
]


@pytest.mark.parametrize(("name", "appended", "marker", "words"), MALFORMED, ids=[case[0] for case in MALFORMED])
def test_malformed_rules_fail_with_line(tmp_path: Path, name: str, appended: str, marker: str, words: str) -> None:
    text = _base_text() + appended
    expected_line = _line_of(text, marker)
    with pytest.raises(RulesError) as caught:
        _load_text(tmp_path, text)
    message = str(caught.value)
    assert words in message
    assert f"rules.toml:{expected_line}:" in message, message


def test_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    text = 'version = "1"\n[defaults]\nwindow = [1,\n'
    with pytest.raises(RulesError, match=r"rules\.toml:\d+:\d+: TOML syntax error"):
        _load_text(tmp_path, text)


def test_bad_model_date_fails(tmp_path: Path) -> None:
    text = _base_text().replace("restricted_since = 2025-04-15", 'restricted_since = "April 2025"', 1)
    line = _line_of(text, 'restricted_since = "April 2025"')
    with pytest.raises(RulesError, match=rf"rules\.toml:{line}: .*restricted_since"):
        _load_text(tmp_path, text)


def test_missing_version_fails(tmp_path: Path) -> None:
    text = re.sub(r"^version = .*$", "", _base_text(), count=1, flags=re.MULTILINE)
    with pytest.raises(RulesError, match="version"):
        _load_text(tmp_path, text)


def test_unreadable_file_fails(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        Matcher.load(tmp_path / "absent.toml")


def test_signature_is_capped_at_review_and_reports_the_class(tmp_path: Path) -> None:
    matcher = _load_text(tmp_path, _base_text() + _GOOD_SIGNATURE)
    result = matcher.match("", "an extra chip here", notice_type="award", published="2024-06-01")
    hit = result["hits"][0]
    assert (hit["rule_id"], hit["tier"], hit["model"]) == ("sig.test_extra", "review", "A800-class")
    assert hit["score"] == 0.749 and "capped at review" in hit["reason"]
    assert hit["restricted_since"] == "2023-10-17" and hit["after_restriction"] is True


CORROBORATION: list[tuple[str, str, str, str]] = [
    # (title, body, rule id, tier): a server model and a memory signature far apart corroborate each other;
    # the same two readings of one spec line do not; a domestic platform in the notice sinks both.
    ("浪潮NF5488A5服务器采购项目", "技术要求：GPU单卡显存80GB HBM2e，8卡。", "sig.hbm2e_80g", "strong"),
    ("浪潮NF5488A5服务器采购项目", "技术要求：GPU单卡显存80GB HBM2e，8卡。", "server_model.inspur_nf5488a5", "strong"),
    ("服务器采购项目", "NF5488A5，单卡80GB HBM2e", "sig.hbm2e_80g", "review"),
    ("服务器采购项目", "NF5488A5，单卡80GB HBM2e", "server_model.inspur_nf5488a5", "review"),
    ("昇腾服务器采购项目", "技术要求：GPU单卡显存80GB HBM2e，8卡。", "sig.hbm2e_80g", "weak"),
]


@pytest.mark.parametrize(("title", "text", "rule_id", "tier"), CORROBORATION)
def test_corroboration_lifts_the_cap(matcher: Matcher, title: str, text: str, rule_id: str, tier: str) -> None:
    hits = {hit["rule_id"]: hit for hit in matcher.match(title, text)["hits"]}
    assert rule_id in hits and hits[rule_id]["tier"] == tier, hits


def test_unnamed_compute_yields_to_a_named_chip(matcher: Matcher) -> None:
    unnamed = matcher.match("GPU服务器采购项目", "采购GPU服务器2台，用于深度学习训练")
    assert unnamed["categories"] == ["ai_compute_unspecified"] and unnamed["tier"] == "review"
    named = matcher.match("GPU服务器采购项目", "采购GPU服务器2台，每台8块NVIDIA A800 80GB")
    assert named["categories"] == ["ai_chip"]
    assert not any(hit["category"] == "ai_compute_unspecified" for hit in named["hits"])


# ───────────────────────── licence policy over time ─────────────────────────


@pytest.mark.parametrize(
    ("published", "for_anyone", "for_listed"),
    [
        # The same 8×H200 server purchase, before and after the Jan 2026 case-by-case policy.
        ("2024-06-12", "licence required since 17 Oct 2023", "presumption of denial for Entity-List"),
        ("2026-03-02", "licensable case by case since 15 Jan 2026", "excluded from the Jan 2026 case-by-case"),
        ("2023-05-01", "not restricted yet on this date (licence required from 2023-10-17)", "not restricted yet"),
    ],
)
def test_the_same_h200_purchase_gets_the_statement_of_its_date(published, for_anyone, for_listed):
    matcher = Matcher.load()
    result = matcher.match("GPU服务器采购", "采购GPU服务器1台，配置8块NVIDIA H200 141GB", published=published)
    hit = next(hit for hit in result["hits"] if hit["model"] == "H200")
    assert for_anyone in hit["licence"]
    assert for_listed in hit["licence_listed"]


@pytest.mark.parametrize(
    ("published", "statement"),
    [
        ("2025-05-20", "licence required since Apr 2025"),
        ("2025-09-01", "licensable since Aug 2025"),
        ("2025-03-01", "not restricted yet"),
    ],
)
def test_h20_became_licensable_in_august_2025(published, statement):
    result = Matcher.load().match("推理服务器采购", "推理服务器2台，每台8块NVIDIA H20 96GB", published=published)
    hit = next(hit for hit in result["hits"] if hit["model"] == "H20")
    assert hit["licence"].startswith(statement)


def test_a_licence_change_for_an_unknown_model_names_the_entry():
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    broken = text.replace('applies_to = ["H200", "MI325"]', 'applies_to = ["H2OO"]')
    with pytest.raises(RulesError, match=r"licence change #5: 'applies_to' names unknown classes or models \['H2OO'\]"):
        Matcher.from_toml(broken, "rules.toml")


@pytest.mark.parametrize(
    ("title", "text", "models"),
    [
        # The chip's own name makes its class hits redundant: the analysts' per-model figures count the cards once.
        ("推理服务器采购", "推理服务器1台：4×NVIDIA H20 96GB HBM3", ["H20"]),
        ("GPU训练服务器采购", "浪潮 NF5488A5（8×NVIDIA A800 80GB SXM4）8台", ["A800"]),
        # Without the name, the class stands in for it.
        ("GPU训练服务器采购", "浪潮 NF5488A5 8台，GPU单卡显存80GB", ["A100/A800-class"]),
    ],
)
def test_a_named_chip_replaces_the_class_its_model_or_signature_infers(matcher, title, text, models):
    hits = matcher.match(title, text, published="2026-03-01")["hits"]
    assert sorted({hit["model"] for hit in hits if hit["model"]}) == models, hits
