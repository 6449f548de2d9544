"""The listed-party data: its loader, name normalization, campus/department/trap relations, military buyers."""

from __future__ import annotations

import pytest

from pipelines.matching.parties import PARTIES_PATH, Identifier, normalize_name, read_parties


@pytest.fixture(scope="module")
def identifier() -> Identifier:
    return Identifier(read_parties())


@pytest.mark.parametrize(
    ("name", "party", "relation", "listed"),
    [
        ("哈尔滨工业大学", "hit", "itself", True),
        ("哈尔滨工业大学（深圳）", "hit", "campus (深圳)", True),  # full-width brackets
        ("哈尔滨工业大学 (威海)", "hit", "campus (威海)", True),
        ("四川大学华西医院", "sichuan_university", "part of it (华西医院)", True),
        ("哈尔滨工业大学计算学部", "hit", "part of it (计算学部)", True),
        ("中国人民解放军国防科技大学", "nudt", "itself", True),
        ("曙光信息产业股份有限公司", "sugon", "itself", True),
        ("ＮＵＤＴ国防科技大学", None, None, False),  # a name the data does not hold is not guessed
        # Traps: they carry a listed party's name and are not it; shown as related, never flagged.
        ("哈尔滨工业大学附属中学", "hit", "carries its name (附属中学): not the listed party", False),
        ("哈尔滨工业大学资产经营有限公司", "hit", "a company carrying its name: not the listed party", False),
        ("四川大学锦城学院", "sichuan_university", "a separate institution carrying its name: not the listed party",
         False),
        ("西安电子科技大学", None, None, False),  # contains 电子科技大学 (UESTC) but is another university
        ("浪潮电子信息产业股份有限公司", None, None, False),  # the server maker: not the listed Inspur Group
    ],
)  # fmt: skip
def test_names_are_matched_after_normalization(identifier, name, party, relation, listed):
    who = identifier.identify(name)
    assert (who.party.id if who.party else None, who.relation, who.listed) == (party, relation, listed)


@pytest.mark.parametrize(
    ("name", "military"),
    [
        ("中国人民解放军93212部队", True),
        ("93212部队", True),
        ("空军军医大学", True),
        ("中国人民解放军空军军医大学第一附属医院", True),
        ("国防科技大学", True),
        ("武警山东省总队医院", True),
        ("哈尔滨工业大学", False),
        ("军队采购网", False),
        ("深圳市93212号仓库", False),
    ],
)
def test_military_buyers_are_recognised_by_name(identifier, name, military):
    assert identifier.identify(name).military is military


def test_normalization_drops_width_spaces_brackets_and_company_forms():
    assert normalize_name("曙光信息产业（股份）有限公司") == "曙光信息产业"
    assert normalize_name("  浪潮集团 有限公司 ") == "浪潮集团"
    assert normalize_name("哈尔滨工业大学【深圳】") == "哈尔滨工业大学(深圳)"


def test_every_entry_is_cited_and_says_how_it_was_checked():
    data = read_parties()
    assert len(data.parties) >= 15
    for party in data.parties:
        assert party.source and party.checked in ("primary", "secondary"), party.id
        assert party.citation == "unknown" or party.citation.split()[1:2] == ["FR"], party.id


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (('list = "entity_list"\nadded = 2020-06-05', 'list = "entity_lst"\nadded = 2020-06-05'),
         "party hit: list 'entity_lst' is not one of"),
        (('added = 2020-06-05', 'added = 2020-13-05'), "cannot read the listed-party file"),
        (('names_zh = ["哈尔滨工业大学"]', 'names_zh = ["四川大学"]'),
         "party sichuan_university: name '四川大学' is already party hit"),
        (('id = "hit"\nname_en = "Harbin Institute of Technology"\n', 'id = "hit"\n'),
         "party hit: unknown keys [], missing keys ['name_en']"),
    ],
)  # fmt: skip
def test_a_malformed_file_is_one_line_naming_the_entry(tmp_path, damage, message):
    text = PARTIES_PATH.read_text(encoding="utf-8")
    assert damage[0] in text
    broken = tmp_path / "parties.toml"
    broken.write_text(text.replace(damage[0], damage[1], 1), encoding="utf-8")
    with pytest.raises(ValueError) as error:
        read_parties(broken)
    assert message in str(error.value)
    assert "\n" not in str(error.value)
