"""OCDS export of the demo: valid against the OCDS 1.1 schemas in ../shared/ocds, tags and key fields right."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

import cli
from pipelines.ingest.reprocess import reprocess_archive
from pipelines.publishing import ocds
from pipelines.storage import snapshot, store
from pipelines.storage.processes import assign_ocids
from spiders.registry import PORTALS
from tests.conftest import ROOT, shared_path

DEMO = ROOT / "demo"
EXPECTED = json.loads((DEMO / "expected.json").read_text(encoding="utf-8"))
BY_ID = {n["id"]: n for n in EXPECTED["notices"]}
HDSJ = next(p for p in EXPECTED["processes"] if p["project_code"] == "[230109]HDSJ[GK]20260041")


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    """A data directory whose working database and snapshot hold the demo, rebuilt from its WARC."""
    data = tmp_path_factory.mktemp("ocds-data")
    (data / "archive").mkdir()
    shutil.copy(DEMO / "ccgp-demo.warc.gz", data / "archive")
    work = data / "work" / "warehouse.duckdb"
    with store.session(work) as con:
        reprocess_archive(con, data / "archive", "test", PORTALS)
        assign_ocids(con)
    snapshot.publish_snapshot(work, data / "tenders.duckdb")
    return data


@pytest.fixture(scope="module")
def exported(demo_data):
    out = demo_data / "out" / "ocds.json"
    with store.session(demo_data / "work" / "warehouse.duckdb") as con:
        summary = ocds.export(con, out)
    package = json.loads(out.read_text(encoding="utf-8"))
    records = json.loads(summary.records_path.read_text(encoding="utf-8"))
    return summary, package, records


@pytest.fixture(scope="module")
def validators():
    """Validators for the package and for one release, resolving the package's $ref to the local release schema."""
    folder = shared_path("ocds")
    schemas = {
        name: json.loads((folder / name).read_text(encoding="utf-8"))
        for name in ("release-package-schema.json", "release-schema.json")
    }
    registry = Registry().with_resources(
        (schema["id"], Resource.from_contents(schema, default_specification=DRAFT4)) for schema in schemas.values()
    )
    package = Draft4Validator(schemas["release-package-schema.json"], registry=registry, format_checker=FormatChecker())
    release = Draft4Validator(schemas["release-schema.json"], registry=registry, format_checker=FormatChecker())
    return package, release


def releases_by_notice(package) -> dict[str, dict]:
    return {r["id"].removeprefix("ccgp-"): r for r in package["releases"]}


def test_the_demo_export_is_a_valid_release_package(exported, validators):
    summary, package, _ = exported
    package_validator, _ = validators
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in package_validator.iter_errors(package)]
    assert errors == []
    assert summary.releases == len(package["releases"]) == len(EXPECTED["notices"])
    assert package["version"] == "1.1"
    assert ocds.LOTS_EXTENSION in package["extensions"]


def test_every_compiled_record_is_a_valid_release(exported, validators):
    _, _, records = exported
    _, release_validator = validators
    errors = [
        f"{record['ocid']} {list(e.absolute_path)}: {e.message}"
        for record in records["records"]
        for e in release_validator.iter_errors(record["compiledRelease"])
    ]
    assert errors == []
    linked = sum(len(p["notice_ids"]) for p in EXPECTED["processes"])
    assert len(records["records"]) == len(EXPECTED["notices"]) - linked + len(EXPECTED["processes"])


TAGS = {
    "open_tender": "tender",
    "inquiry": "tender",
    "competitive_consultation": "tender",
    "single_source": "tender",
    "other": "tender",
    "correction": "tenderAmendment",
    "termination": "tenderCancellation",
    "award": "award",
    "deal": "award",
    "contract": "contract",
    "intent": "planning",
    "acceptance": "implementation",
}


@pytest.mark.parametrize("expected", EXPECTED["notices"], ids=lambda n: f"{n['id']}-{n['notice_type']}")
def test_each_notice_is_one_release_with_the_tag_of_its_type(exported, expected):
    _, package, _ = exported
    released = releases_by_notice(package)[expected["id"]]
    assert released["tag"] == [TAGS[expected["notice_type"]]]
    assert released["buyer"]["name"] == expected["buyer"]
    assert released["date"] == expected["published"]
    if expected["budget_cny"] is not None:
        assert released["tender"]["value"] == {"amount": expected["budget_cny"], "currency": "CNY"}
    if TAGS[expected["notice_type"]] in ("award", "contract"):
        names = [s["name"] for award in released["awards"] for s in award.get("suppliers", [])]
        assert names == expected["suppliers"]


def test_the_demo_process_compiles_tender_amendment_and_award(exported):
    _, package, records = exported
    by_notice = releases_by_notice(package)
    tender, correction, award = (by_notice[i] for i in HDSJ["notice_ids"])
    assert tender["ocid"] == correction["ocid"] == award["ocid"]
    assert tender["tender"]["procurementMethod"] == "open"
    assert tender["tender"]["procurementMethodDetails"] == "公开招标"
    assert tender["tender"]["procuringEntity"]["name"] == BY_ID[HDSJ["notice_ids"][0]]["agency"]
    assert tender["tender"]["id"] == HDSJ["project_code"]
    assert correction["tender"]["amendments"][0]["id"] == "ccgp-" + HDSJ["notice_ids"][1]
    assert award["awards"][0]["value"] == {"amount": 13865000.0, "currency": "CNY"}
    (record,) = [r for r in records["records"] if r["ocid"] == tender["ocid"]]
    assert [r["tag"] for r in record["releases"]] == [["tender"], ["tenderAmendment"], ["award"]]
    compiled = record["compiledRelease"]
    assert compiled["tag"] == ["compiled"]
    assert compiled["tender"]["value"]["amount"] == 13950000.0
    assert [s["name"] for s in compiled["awards"][0]["suppliers"]] == HDSJ["suppliers"]
    roles = {p["name"]: p["roles"] for p in compiled["parties"]}
    assert roles[HDSJ["buyer"]] == ["buyer"]
    assert roles[HDSJ["suppliers"][0]] == ["supplier"]


def test_lots_become_one_award_each(exported):
    _, package, _ = exported
    released = releases_by_notice(package)["90000801"]
    assert [(a["relatedLots"], [s["name"] for s in a["suppliers"]]) for a in released["awards"]] == [
        (["1"], ["北京安盾网络科技有限公司"]),
        (["2"], ["北京恒御信息安全技术有限公司"]),
    ]
    assert [lot["id"] for lot in released["tender"]["lots"]] == ["1", "2"]


@pytest.mark.parametrize(("notice_id", "status"), [("90000902", "unsuccessful"), ("90000405", "cancelled")])
def test_termination_status(exported, notice_id, status):
    _, package, _ = exported
    assert releases_by_notice(package)[notice_id]["tender"]["status"] == status


def test_export_command_since_a_date_reads_the_snapshot(demo_data, capsys):
    out = demo_data / "since" / "package.json"
    code = cli.main(["export-ocds", str(out), "--since", "2026-11-24", "--data-dir", str(demo_data)])
    assert code == 0
    package = json.loads(out.read_text(encoding="utf-8"))
    expected = {n["id"] for n in EXPECTED["notices"] if date.fromisoformat(n["published"][:10]) >= date(2026, 11, 24)}
    assert set(releases_by_notice(package)) == expected
    records = json.loads(ocds.records_path_for(out).read_text(encoding="utf-8"))
    hdsj = next(r for r in records["records"] if r["compiledRelease"]["tender"].get("id") == HDSJ["project_code"])
    # The record names the releases in the window but compiles the whole process (the October tender's budget).
    assert [r["tag"] for r in hdsj["releases"]] == [["award"]]
    assert hdsj["compiledRelease"]["tender"]["value"]["amount"] == 13950000.0
    assert f"wrote {len(expected)} release(s)" in capsys.readouterr().out


def test_export_without_a_snapshot_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["export-ocds", str(tmp_path / "x.json"), "--data-dir", str(tmp_path)]) == 2
    assert "no analysts' database" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
