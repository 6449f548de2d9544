"""Nightly publishing end to end: real Prefect runs over the demo archive, real DuckDB files, crashes by process exit.

Each match goes out exactly once over nights, re-runs and a run killed mid-publish; an analyst's open session keeps
its snapshot while a new process sees the new one; delivery failures never fail the night.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import feedparser
import pytest

import cli
from pipelines.publishing import ledger as publish
from tests.conftest import ROOT
from tests.pipelines.publishing.test_outputs import Receiver, free_port

DEMO = ROOT / "demo"
EXPECTED = json.loads((DEMO / "expected.json").read_text(encoding="utf-8"))["notices"]
PURCHASES = {n["id"] for n in EXPECTED if n["expect_match"]}
EARLY = {n["id"] for n in EXPECTED if n["expect_match"] and n["published"] < "2026-11-19"}
COUNT_IN_NEW_PROCESS = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("SELECT count(*) FROM publications").fetchone()[0])
"""


def nightly(data: Path, *extra: str) -> int:
    return cli.main(["nightly", "--replay", str(DEMO), "--data-dir", str(data), *extra])


def csv_ids(data: Path, day: str) -> list[str]:
    text = (data / "published" / day / "matches.csv").read_text(encoding="utf-8-sig")
    return [row["notice_id"] for row in csv.DictReader(io.StringIO(text))]


def ledger(data: Path) -> list[tuple]:
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT notice_id, publish_date::VARCHAR, status FROM publications ORDER BY notice_id"
        ).fetchall()


def feed_ids(data: Path) -> list[str]:
    feed = feedparser.parse((data / "published" / "feed.atom").read_bytes())
    assert not feed.bozo
    return [entry.id.rsplit("/", 1)[1] for entry in feed.entries]


def settings_file(tmp_path: Path, webhook: str, smtp_port: int | None = None, attempts: int = 2) -> Path:
    email = (
        f'[delivery.email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp_port}\nrecipients = ["desk@example.org"]\n'
        if smtp_port
        else ""
    )
    path = tmp_path / "tenderwatch.toml"
    delivery = f"[delivery]\nattempts = {attempts}\nbackoff_seconds = 0\ntimeout_seconds = 5\n"
    # ccgp alone, as the demo and the local sites hold: the defaults enable more.
    sources = '[sources]\nenabled = ["ccgp"]\nnight_defaults = false\n'
    path.write_text(sources + delivery + f'[delivery.webhook]\nurl = "{webhook}"\n' + email, encoding="utf-8")
    return path


def test_two_nights_and_a_rerun_publish_each_match_once_while_an_analyst_reads(prefect_harness, tmp_path):
    data = tmp_path / "data"
    assert nightly(data, "--until", "2026-11-18", "--publish-date", "2026-11-24") == 0
    assert set(csv_ids(data, "2026-11-24")) == EARLY
    markdown, table = latest_artifacts("nightly-digest", "nightly-matches")
    assert markdown.type == "markdown" and "# tenderwatch digest, 2026-11-24" in markdown.data
    assert table.type == "table"
    assert "北辰理工大学" in [row["buyer"] for row in json.loads(table.data)]
    analyst = duckdb.connect(str(data / "tenders.duckdb"), read_only=True)
    try:
        # Night 2 with delivery pointing at a dead webhook and a dead mail server: the night still succeeds.
        dead = Receiver(failures=99)
        try:
            config = settings_file(tmp_path, dead.url, smtp_port=free_port())
            assert nightly(data, "--publish-date", "2026-11-25", "--config", str(config)) == 0
        finally:
            dead.close()
        assert analyst.execute("SELECT count(*) FROM publications").fetchone() == (len(EARLY),)
        fresh = subprocess.run(
            [sys.executable, "-c", COUNT_IN_NEW_PROCESS, str(data / "tenders.duckdb")],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert int(fresh.stdout) == len(PURCHASES)
    finally:
        analyst.close()
    assert nightly(data, "--publish-date", "2026-11-25") == 0  # the re-run of night 2
    assert set(csv_ids(data, "2026-11-25")) == PURCHASES - EARLY
    assert set(csv_ids(data, "2026-11-24")) == EARLY
    assert sorted(feed_ids(data)) == sorted(PURCHASES)
    assert {row[2] for row in ledger(data)} == {"published"}
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        deliveries = con.execute(
            "SELECT channel, status, attempts, matches FROM deliveries ORDER BY channel"
        ).fetchall()
    night_two = len(PURCHASES - EARLY)  # the matches night 2 publishes (the demo tenders after 2026-11-18)
    assert deliveries == [("email", "failed", 2, night_two), ("webhook", "failed", 2, night_two)]


def latest_artifacts(*keys: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=list(keys)))
        )
    by_key = {artifact.key: artifact for artifact in found}
    return [by_key[key] for key in keys]


def harness_env(**extra: str) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), **extra}


@pytest.mark.parametrize("fault", ["after-enter", "after-write-outputs"])
def test_a_night_killed_mid_publish_is_finished_by_the_next_one(prefect_harness, tmp_path, fault):
    data = tmp_path / "data"
    killed = subprocess.run(
        [sys.executable, "flows.py", "nightly", "--replay", str(DEMO), "--data-dir", str(data),
         "--publish-date", "2026-11-24"],
        cwd=ROOT, env=harness_env(**{publish.FAULT_ENV: fault}), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert killed.returncode == publish.FAULT_EXIT_CODE, killed.stderr[-2000:]
    assert not (data / "tenders.duckdb").exists()  # it died before the snapshot
    if fault == "after-write-outputs":
        assert set(csv_ids(data, "2026-11-24")) == PURCHASES  # written, never marked
    receiver = Receiver(failures=1)  # the first post fails, the retry succeeds
    try:
        config = settings_file(tmp_path, receiver.url)
        assert nightly(data, "--publish-date", "2026-11-25", "--config", str(config)) == 0
    finally:
        receiver.close()
    assert ledger(data) == [(notice_id, "2026-11-24", "published") for notice_id in sorted(PURCHASES)]
    assert set(csv_ids(data, "2026-11-24")) == PURCHASES
    assert csv_ids(data, "2026-11-25") == []
    assert sorted(feed_ids(data)) == sorted(PURCHASES)
    (body,) = receiver.bodies
    assert body["recovered_dates"] == ["2026-11-24"]
    assert sorted(match["notice_id"] for match in body["matches"]) == sorted(PURCHASES)
    assert receiver.statuses == [503, 204]
    assert nightly(data, "--publish-date", "2026-11-25") == 0
    assert len(ledger(data)) == len(PURCHASES)


# (fault, the killed run's exit code): the points after the ledger has marked the notices published, where only
# the delivery outbox keeps the night's message; and a full disk while the snapshot is written.
LATE_FAULTS = [
    ("after-mark-published", publish.FAULT_EXIT_CODE),
    ("snapshot-written", publish.FAULT_EXIT_CODE),  # killed with the temporary snapshot file on disk
    ("snapshot-disk-full", 1),  # ENOSPC: the flow fails, and removes its temporary file itself
    ("after-snapshot", publish.FAULT_EXIT_CODE),
]


def temporary_files(data: Path) -> list[str]:
    return sorted(str(p.relative_to(data)) for p in data.rglob(".*") if ".tmp" in p.name or ".staging-" in p.name)


@pytest.mark.parametrize(("fault", "code"), LATE_FAULTS, ids=[fault for fault, _ in LATE_FAULTS])
def test_a_night_killed_after_publishing_is_delivered_once_by_the_next(prefect_harness, tmp_path, fault, code):
    data = tmp_path / "data"
    receiver = Receiver(failures=0)
    try:
        config = settings_file(tmp_path, receiver.url)
        killed = subprocess.run(
            [sys.executable, "flows.py", "nightly", "--replay", str(DEMO), "--data-dir", str(data),
             "--publish-date", "2026-11-24", "--config", str(config)],
            cwd=ROOT, env=harness_env(**{publish.FAULT_ENV: fault}), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert killed.returncode == code, killed.stderr[-2000:]
        assert receiver.bodies == []  # the killed run sent nothing
        leftovers = temporary_files(data)
        assert (leftovers != []) == (fault == "snapshot-written"), leftovers

        assert nightly(data, "--publish-date", "2026-11-25", "--config", str(config)) == 0
        assert nightly(data, "--publish-date", "2026-11-25", "--config", str(config)) == 0
    finally:
        receiver.close()
    # 0 lost, 0 duplicated: every purchase published once, on the killed night's date; announced exactly once.
    assert ledger(data) == [(notice_id, "2026-11-24", "published") for notice_id in sorted(PURCHASES)]
    assert set(csv_ids(data, "2026-11-24")) == PURCHASES
    assert sorted(feed_ids(data)) == sorted(PURCHASES)
    (body,) = receiver.bodies
    assert sorted(match["notice_id"] for match in body["matches"]) == sorted(PURCHASES)
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        assert con.execute("SELECT channel, status FROM deliveries").fetchall() == [("webhook", "sent")]
        assert con.execute("SELECT status, count(*) FROM delivery_outbox GROUP BY ALL").fetchall() == [("sent", 1)]
    assert temporary_files(data) == []


# (fault, the night's exit code): a killed crawl child is a broken crawl, not a dead flow.
INGEST_FAULTS = [
    ("crawl-child", 1),
    ("after-record-crawls", publish.FAULT_EXIT_CODE),
    ("after-store", publish.FAULT_EXIT_CODE),
    ("after-match", publish.FAULT_EXIT_CODE),
]


def test_nights_killed_at_every_ingest_step_lose_and_double_nothing(prefect_harness, tmp_path):
    """Crawl child, after recording the crawls, after storing, after matching: each killed, one data folder."""
    data = tmp_path / "data"
    receiver = Receiver(failures=0)
    try:
        config = settings_file(tmp_path, receiver.url)
        for fault, code in INGEST_FAULTS:
            night = subprocess.run(
                [sys.executable, "flows.py", "nightly", "--replay", str(DEMO), "--data-dir", str(data),
                 "--publish-date", "2026-11-24", "--config", str(config)],
                cwd=ROOT, env=harness_env(**{publish.FAULT_ENV: fault}), capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert night.returncode == code, (fault, night.stdout[-1000:], night.stderr[-2000:])
            if fault == "crawl-child":
                assert "ccgp: broken: the crawl wrote no stats" in night.stdout
        # The night whose crawl died is announced as unhealthy, with nothing published; the killed flows send nothing.
        (unhealthy,) = receiver.bodies
        assert (unhealthy["new"], unhealthy["matches"], unhealthy["unhealthy"]) == (0, [], ["ccgp"])
        assert nightly(data, "--publish-date", "2026-11-25", "--config", str(config)) == 0
    finally:
        receiver.close()
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT notice_id) FROM notices").fetchall() == [(53, 53)]
    assert ledger(data) == [(notice_id, "2026-11-25", "published") for notice_id in sorted(PURCHASES)]
    (_, body) = receiver.bodies
    assert sorted(match["notice_id"] for match in body["matches"]) == sorted(PURCHASES)
    assert temporary_files(data) == []


def test_a_night_with_a_broken_source_is_delivered_naming_it(prefect_harness, tmp_path, local_site):
    site = local_site(tmp_path)
    maintenance = "<html><body><p>系统维护中</p></body></html>".encode()
    site.routes.append(lambda path: (200, {"Content-Type": "text/html; charset=utf-8"}, maintenance))
    data = tmp_path / "data"
    receiver = Receiver(failures=0)
    try:
        config = settings_file(tmp_path, receiver.url)  # send_empty stays off: nothing new would send nothing
        code = cli.main(["nightly", "--data-dir", str(data), "--base-url", f"ccgp={site.url}", "--config",
                         str(config), "--publish-date", "2026-11-25", "--setting", "DOWNLOAD_DELAY=0",
                         "--setting", "ROBOTSTXT_OBEY=False"])  # fmt: skip
    finally:
        receiver.close()
    assert code == 1
    (body,) = receiver.bodies
    assert (body["new"], body["matches"], body["unhealthy"]) == (0, [], ["ccgp"])
    ((source, verdict, reason),) = [(s["source"], s["verdict"], s["reason"]) for s in body["sources"]]
    assert (source, verdict) == ("ccgp", "broken")
    # Delivery runs after the snapshot (analysts never wait on it), so its record is in the working database.
    with duckdb.connect(str(data / "work" / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT verdict, reason FROM crawl_runs").fetchall() == [("broken", reason)]
        assert con.execute("SELECT channel, status, matches FROM deliveries").fetchall() == [("webhook", "sent", 0)]
    digest = (data / "published" / "2026-11-25" / "digest.md").read_text(encoding="utf-8")
    assert digest.index("**Unhealthy sources: ccgp.**") < digest.index("No matched notices were published")
