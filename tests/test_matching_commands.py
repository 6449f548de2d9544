"""The matcher's command-line contract (match-text, evaluate, review) and re-matching after a rules change."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys

import duckdb
import pytest

import cli
from tests.conftest import ROOT

RULES = ROOT / "pipelines" / "matching" / "rules.toml"


def run_command(*argv: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "flows.py", *argv], cwd=ROOT, input=stdin, capture_output=True, text=True, env=env
    )


def test_match_text_finds_sixteen_a800_cards():
    done = run_command("match-text", "--title", "GPU服务器采购", stdin="采购GPU服务器2台，每台配置8块NVIDIA A800 80GB")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["tier"] == "strong"
    assert result["categories"] == ["ai_chip"]
    chip = next(hit for hit in result["hits"] if hit["model"] == "A800")
    assert (chip["category"], chip["quantity"], chip["unit"]) == ("ai_chip", 16, "card")
    for key in ("rule_id", "tier", "text", "evidence", "field", "provider", "tokens", "restricted_since"):
        assert key in chip
    assert chip["after_restriction"] is None  # no --date given


def test_match_text_ignores_a_desk_800mm_tall():
    result = json.loads(run_command("match-text", stdin="办公桌 规格W1200×D600×H800mm").stdout)
    assert (result["tier"], result["categories"], result["hits"]) == ("none", [], [])


def test_match_text_dates_the_export_control():
    done = run_command("match-text", "--date", "2024-03-01", stdin="采购GPU服务器2台，每台配置8块NVIDIA A800 80GB")
    chip = next(hit for hit in json.loads(done.stdout)["hits"] if hit["model"] == "A800")
    assert (chip["restricted_since"], chip["after_restriction"]) == ("2023-10-17", True)


def test_match_text_jsonl_answers_every_line_even_a_broken_one(tmp_path):
    lines = tmp_path / "notices.jsonl"
    lines.write_text(
        json.dumps(
            {"id": "a", "title": "", "text": "亚马逊云科技（AWS）海外账号，GPU实例p4d.24xlarge"}, ensure_ascii=False
        )
        + "\n{not json\n"
        + json.dumps({"id": "c", "title": "食堂服务", "text": "餐饮"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    done = run_command("match-text", "--jsonl", str(lines))
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a.get("id") for a in answers] == ["a", None, "c"]
    assert answers[0]["categories"] == ["cloud_compute"]
    assert "error" in answers[1]
    assert answers[2]["tier"] == "none"


def test_evaluate_prints_precision_and_recall_per_category():
    done = run_command("evaluate", "tests/data/labels.jsonl")
    assert done.returncode == 0, done.stderr
    print(done.stdout)  # the report shows in CI's log
    for category in ("ai_chip", "cloud_compute", "llm_tokens"):
        row = next(line for line in done.stdout.splitlines() if line.strip().startswith(category))
        precision, recall = (float(x) for x in re.findall(r"\d\.\d{3}", row)[:2])
        assert precision >= 0.95 and recall >= 0.95, row


def test_a_malformed_rules_file_fails_loudly_at_load(tmp_path):
    broken = tmp_path / "rules.toml"
    broken.write_text('version = "x"\n[[rules]]\nid = "a"\ncategory = "gpu"\n', encoding="utf-8")
    done = run_command("match-text", stdin="A800", env={**os.environ, "TENDERWATCH_RULES": str(broken)})
    assert done.returncode == 2
    assert str(broken) in done.stderr and "Traceback" not in done.stderr


def rules_without(category: str) -> str:
    """The rules file minus every [[rules]] table of one category, with another version."""
    blocks = re.split(r"(?m)^(?=\[)", RULES.read_text(encoding="utf-8"))
    kept = [b for b in blocks if not (b.startswith("[[rules]]") and f'category = "{category}"' in b)]
    assert len(kept) < len(blocks)
    return re.sub(r'(?m)^version = "([^"]+)"', r'version = "\1-without"', "".join(kept), count=1)


def test_rematch_after_a_rules_change_publishes_what_newly_matches(
    prefect_harness, tmp_path, monkeypatch, capsys, caplog
):
    """Also: the [memory] caps reach the passes (here from the environment, too small for them: each pass says so and
    is done again without its cap, and the results are the same)."""
    reduced = tmp_path / "reduced.toml"
    reduced.write_text(rules_without("llm_tokens"), encoding="utf-8")
    monkeypatch.setenv("TENDERWATCH_RULES", str(reduced))
    monkeypatch.setenv("TENDERWATCH_MEMORY_LOAD", "16KB")
    data = tmp_path / "data"
    with caplog.at_level(logging.WARNING, logger="pipelines"):
        assert cli.main(["nightly", "--replay", str(ROOT / "demo"), "--data-dir", str(data)]) == 0
    assert capped_passes(caplog) == ["the load"]
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        before = {r[0] for r in con.execute("SELECT notice_id FROM publications").fetchall()}
        assert con.execute("SELECT count(*) FROM notices").fetchall() == [(53,)]
    monkeypatch.delenv("TENDERWATCH_RULES")
    monkeypatch.delenv("TENDERWATCH_MEMORY_LOAD")
    monkeypatch.setenv("TENDERWATCH_MEMORY_MATCH", "16KB")
    monkeypatch.setenv("TENDERWATCH_MEMORY_SNAPSHOT", "16KB")
    capsys.readouterr()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pipelines"):
        assert cli.main(["rematch", "--data-dir", str(data)]) == 0
    assert capped_passes(caplog) == ["matching", "the snapshot patch", "the Parquet export"]
    out = capsys.readouterr().out
    found = re.search(r"re-matched (\d+) notice\(s\) .*: (\d+) newly match, (\d+) newly published", out)
    assert found, out
    assert int(found[1]) == 53  # the whole history, because the rules version changed
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        after = dict(con.execute("SELECT notice_id, categories FROM publications").fetchall())
        versions = con.execute("SELECT DISTINCT rules_version FROM match_results").fetchall()
    newly = set(after) - before
    assert newly and all("llm_tokens" in after[n] for n in newly)
    assert int(found[3]) == len(newly)
    assert len(versions) == 1 and not versions[0][0].startswith(reduced.read_text().split('"')[1])


def capped_passes(caplog) -> list[str]:
    """The passes that said they ran out of DuckDB memory under a 16KB cap, in order."""
    said = [record.getMessage() for record in caplog.records]
    return [message.split(" ran out of DuckDB memory under 16KB")[0] for message in said if "under 16KB" in message]


def test_review_command_records_a_verdict(prefect_harness, tmp_path):
    data = tmp_path / "data"
    assert cli.main(["nightly", "--replay", str(ROOT / "demo"), "--data-dir", str(data), "--until", "2026-11-17"]) == 0
    listing = run_command("review", "--data-dir", str(data))
    first = listing.stdout.splitlines()[0].split("\t")[0]
    done = run_command("review", first, "--verdict", "false_positive", "--note", "test", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    with duckdb.connect(str(data / "work" / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT verdict, note FROM match_reviews").fetchall() == [("false_positive", "test")]
    refused = run_command("review", "ccgp:nope", "--verdict", "confirmed", "--data-dir", str(data))
    assert refused.returncode == 2 and "no notice ccgp:nope" in refused.stderr
    scored = run_command("evaluate", "--reviews", "--data-dir", str(data))
    assert "1 case(s) from analysts' reviews" in scored.stdout


@pytest.mark.parametrize("argv", [["review", "ccgp:1"], ["evaluate"]])
def test_incomplete_commands_say_what_is_missing(tmp_path, argv):
    (tmp_path / "work").mkdir()
    done = run_command(*argv, "--data-dir", str(tmp_path))
    assert done.returncode == 2 and done.stderr.startswith("error:")
