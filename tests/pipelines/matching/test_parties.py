"""The listed-party data: its loader, name normalization, campus/department/trap relations, military buyers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.ingest.normalize import empty_notice
from pipelines.matching.parties import PARTIES_PATH, Identifier, load_parties, normalize_name, read_parties


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


# --- notice_parties kept up to the notices, night by night ---------------------------------------------------------


def _notice(notice_id: str, buyer: str | None, suppliers: tuple[str, ...] = ()) -> dict:
    row = empty_notice()
    row.update(source="ccgp", notice_id=notice_id, title=f"notice {notice_id}", notice_type="award", buyer=buyer,
               published_at="2026-09-01T09:00:00+08:00",
               suppliers=[{"name": name, "amount_cny": None} for name in suppliers])  # fmt: skip
    return row


def _with_a_new_party(path: Path) -> Path:
    """parties.toml plus one invented party (a test's variant of the data, as TENDERWATCH_PARTIES allows)."""
    text = PARTIES_PATH.read_text(encoding="utf-8") + (
        '\n[[parties]]\nid = "test_lab"\nname_en = "Test Computing Lab"\nnames_zh = ["滨江计算实验室"]\n'
        'aliases_zh = []\nlist = "entity_list"\nadded = 2026-01-02\ncitation = "invented for a test"\n'
        'licence_policy = "presumption of denial"\nsource = "test"\nchecked = "secondary"\n'
    )
    path.write_text(text, encoding="utf-8")
    return path


# Each night: notices stored (upserted), notices deleted, and whether the party data gains a party.
PARTY_NIGHTS = [
    ("first", [_notice("1", "哈尔滨工业大学（深圳）"), _notice("2", "滨江大学", ("曙光信息产业股份有限公司",)),
               _notice("3", "中国人民解放军93212部队"), _notice("4", "滨江计算实验室")], [], False),
    ("nothing", [], [], False),
    ("buyer changed", [_notice("1", "滨江大学")], [], False),
    ("supplier added", [_notice("2", "滨江大学", ("曙光信息产业股份有限公司", "国防科技大学"))], [], False),
    ("notice deleted", [], ["3"], False),
    ("new notice", [_notice("5", "四川大学华西医院")], [], False),
    ("party data changed", [], [], True),
]  # fmt: skip


@pytest.fixture(scope="module")
def party_nights(tmp_path_factory) -> list[tuple[str, int, list[tuple], list[tuple]]]:
    """(night, notices identified, notice_parties after the night, the same identified from scratch)."""
    from pipelines.storage import store

    folder = tmp_path_factory.mktemp("party-nights")
    changed_file = _with_a_new_party(folder / "parties-plus.toml")
    columns = "source, notice_id, role, name, party_id, relation, list_name, listed, military"
    results = []
    with store.session(folder / "w.duckdb") as con:
        path = None
        for night, stored, deleted, data_changed in PARTY_NIGHTS:
            path = changed_file if data_changed else path
            if stored:
                store.upsert_notices(con, store.notices_to_arrow(stored, night, datetime.now(UTC)))
            for notice_id in deleted:
                con.execute("DELETE FROM notices WHERE notice_id = ?", [notice_id])
            keys = "SELECT notice_id, names_hash, identified_with FROM party_keys"
            before = set(con.execute(keys).fetchall())
            load_parties(con, path)
            identified = len(set(con.execute(keys).fetchall()) - before)
            nightly = con.execute(f"SELECT {columns} FROM notice_parties ORDER BY ALL").fetchall()
            con.execute("DELETE FROM party_keys")  # from scratch: every notice identified again
            load_parties(con, path)
            scratch = con.execute(f"SELECT {columns} FROM notice_parties ORDER BY ALL").fetchall()
            results.append((night, identified, nightly, scratch))
    return results


@pytest.mark.parametrize(
    ("night", "flagged"),
    [
        ("first", {("1", "hit"), ("2", "sugon"), ("3", None)}),
        ("nothing", {("1", "hit"), ("2", "sugon"), ("3", None)}),
        ("buyer changed", {("2", "sugon"), ("3", None)}),
        ("supplier added", {("2", "sugon"), ("2", "nudt"), ("3", None)}),
        ("notice deleted", {("2", "sugon"), ("2", "nudt")}),
        ("new notice", {("2", "sugon"), ("2", "nudt"), ("5", "sichuan_university")}),
        ("party data changed", {("2", "sugon"), ("2", "nudt"), ("4", "test_lab"), ("5", "sichuan_university")}),
    ],
)
def test_each_night_equals_identifying_every_notice(party_nights, night, flagged):
    _, _, nightly, scratch = next(entry for entry in party_nights if entry[0] == night)
    assert nightly == scratch
    assert {(row[1], row[4]) for row in nightly} == flagged


def test_a_night_identifies_only_new_and_changed_notices(party_nights):
    # Counted from party_keys: the notices whose names or party data were (re)recorded that night.
    identified = {night: count for night, count, _, _ in party_nights}
    assert identified == {"first": 4, "nothing": 0, "buyer changed": 1, "supplier added": 1, "notice deleted": 0,
                          "new notice": 1, "party data changed": 4}  # fmt: skip
