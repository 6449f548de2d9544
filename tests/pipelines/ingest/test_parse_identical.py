"""Parse-speed work must not change what is stored: every field of every row of our own pages, as recorded.

tests/data/normalized_own_pages.jsonl holds the rows of the 48 demo notices and of our portal fixtures in
tests/fixtures, recorded with ``bench/parse_identical.py record … --own``. A change meant to change rows records it
again (and says why); any other difference is a regression.
"""

from __future__ import annotations

import json

from bench.parse_identical import OWN_GENERATED, OWN_ROWS, differences, fixture_pages


def test_own_pages_normalize_to_the_recorded_rows():
    seen, found = differences(OWN_ROWS, OWN_GENERATED, own=True)
    assert found == []
    assert seen == OWN_GENERATED + len(list(fixture_pages()))


def test_the_record_covers_every_portal_reader_and_says_something():
    rows = [json.loads(line)["row"] for line in OWN_ROWS.read_text(encoding="utf-8").splitlines()]
    read = [row for row in rows if not row["parse_error"]]
    assert {row["source"] for row in read} >= {"ccgp", "ggzy", "scggzy", "szzfcg", "szggzy", "plap", "zycg",
                                               "chinabidding", "shu", "szu"}  # fmt: skip
    # Not a record of empty rows: the demo pages carry their amounts, parties and items.
    demo = [row for row in read if row["source"] == "ccgp"]
    assert len(demo) == OWN_GENERATED
    assert sum(row["budget_cny"] is not None or row["award_cny"] is not None for row in demo) >= 40
    assert sum(bool(row["items"]) for row in demo) >= 10
    assert all(row["text"] and row["buyer"] for row in demo)


def test_a_changed_field_is_reported(tmp_path):
    lines = OWN_ROWS.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[-1])
    entry["row"]["buyer"] = "某某不存在的采购人"
    changed = tmp_path / "rows.jsonl"
    changed.write_text("\n".join([*lines[:-1], json.dumps(entry, ensure_ascii=False)]) + "\n", encoding="utf-8")
    seen, found = differences(changed, OWN_GENERATED, own=True)
    assert found == [
        f"{entry['key']} [buyer]: expected '某某不存在的采购人' got {json.loads(lines[-1])['row']['buyer']!r}"
    ]
