"""Reprocessing rebuilds notices (and everything derived) from the WARC archive, offline, with the current parser."""

from __future__ import annotations

import io
import ipaddress
import json
import shutil
import socket
from contextlib import contextmanager, redirect_stdout
from datetime import UTC, datetime

import duckdb
import pytest

import cli
from pipelines.ingest.normalize import PARSER_VERSION, empty_notice
from pipelines.ingest.warc import WarcWriter
from pipelines.storage import store
from tests.conftest import ROOT

DEMO = ROOT / "demo"
EXPECTED = json.loads((DEMO / "expected.json").read_text(encoding="utf-8"))["notices"]
HDSJ_TENDER = next(n for n in EXPECTED if n["id"] == "90000001")
STALE = "0.9.0"


@contextmanager
def offline():
    """Refuse every connection that leaves this machine (Prefect's local API server stays reachable)."""
    real_connect = socket.socket.connect

    def guarded(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
                raise OSError(f"network used during reprocess: {address}")
        return real_connect(sock, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", guarded)
        yield


def run_reprocess(data) -> tuple[int, str]:
    out = io.StringIO()
    with offline(), redirect_stdout(out):
        code = cli.main(["reprocess", "--data-dir", str(data)])
    return code, out.getvalue()


def stale_copy(expected: dict) -> dict:
    """What an older parser might have stored for a demo notice: other title and text, old version."""
    row = empty_notice()
    row.update(
        source="ccgp", notice_id=expected["id"], url=expected["url"], title="旧标题", text="旧正文",
        content_hash="old", parser_version=STALE,
    )  # fmt: skip
    return row


@pytest.fixture(scope="module")
def reprocessed(prefect_harness, tmp_path_factory):
    """A data directory holding the demo archive, a stale notice, an archive-less notice; then `reprocess`."""
    data = tmp_path_factory.mktemp("reprocess-data")
    (data / "archive").mkdir()
    shutil.copy(DEMO / "ccgp-demo.warc.gz", data / "archive")
    orphan = empty_notice()
    orphan.update(source="ccgp", notice_id="123", title="不在档案中的公告", parser_version=STALE)
    seen_long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    with store.session(data / "work" / "warehouse.duckdb") as con:
        store.upsert_notices(con, store.notices_to_arrow([stale_copy(HDSJ_TENDER), orphan], "old", seen_long_ago))
    code, out = run_reprocess(data)
    return data, code, out


def test_reprocess_rebuilds_every_archived_notice_with_the_current_parser(reprocessed):
    reprocessed, code, out = reprocessed
    assert code == 0
    assert f"reprocessed {len(EXPECTED)} notice(s) from 77 archived response(s) with parser {PARSER_VERSION}" in out
    assert f"{len(EXPECTED) - 1} new, 1 updated, parse errors: 0, skipped: none" in out
    with duckdb.connect(str(reprocessed / "tenders.duckdb"), read_only=True) as con:
        rows = {
            row[0]: row[1:]
            for row in con.execute(
                "SELECT notice_id, title, notice_type, project_code, buyer, parser_version, url, run_id, ocid "
                "FROM notices WHERE source = 'ccgp'"
            ).fetchall()
        }
        for expected in EXPECTED:
            title, notice_type, code, buyer, version, url, run_id, ocid = rows[expected["id"]]
            assert (title, notice_type, code, buyer, url) == (
                expected["title"], expected["notice_type"], expected["project_code"], expected["buyer"],
                expected["url"],
            )  # fmt: skip
            assert version == PARSER_VERSION
            assert run_id.startswith("reprocess-")
            assert ocid is not None
        # The notice the archive does not hold is kept as it was.
        assert rows["123"][0] == "不在档案中的公告"
        assert rows["123"][4] == STALE


def test_reprocess_keeps_first_seen_and_rematches_and_resegments_the_changed_notice(reprocessed):
    reprocessed, _, _ = reprocessed
    with duckdb.connect(str(reprocessed / "tenders.duckdb"), read_only=True) as con:
        first_seen, content_hash, matched_hash = con.execute(
            "SELECT n.first_seen_at, n.content_hash, r.content_hash FROM notices n "
            "JOIN match_results r USING (source, notice_id) WHERE notice_id = ?",
            [HDSJ_TENDER["id"]],
        ).fetchall()[0]
        assert first_seen == datetime(2026, 1, 1, tzinfo=UTC)
        assert content_hash not in (None, "old")
        assert matched_hash == content_hash
        tier = con.execute("SELECT tier FROM matched_notices WHERE notice_id = ?", [HDSJ_TENDER["id"]]).fetchall()
        assert tier == [("strong",)]
        title_segment = con.execute(
            "SELECT s.text FROM notice_segments n JOIN segments s USING (segment_hash) "
            "WHERE n.notice_id = ? AND n.field = 'title'",
            [HDSJ_TENDER["id"]],
        ).fetchall()
        assert title_segment == [(HDSJ_TENDER["title"],)]


def test_a_block_page_archived_later_never_replaces_a_good_notice(tmp_path, prefect_harness):
    (tmp_path / "archive").mkdir()
    shutil.copy(DEMO / "ccgp-demo.warc.gz", tmp_path / "archive")
    assert run_reprocess(tmp_path)[0] == 0
    url = HDSJ_TENDER["url"]
    block = "<html><head><title>频繁访问!</title></head><body>您的访问过于频繁</body></html>".encode()
    with WarcWriter(tmp_path / "archive" / "ccgp-zz-later.warc.gz") as writer:
        writer.write_response(url, body=block, headers=[("Content-Type", "text/html; charset=utf-8")])
    code, out = run_reprocess(tmp_path)
    assert code == 0
    assert "skipped: block page: 1" in out
    with duckdb.connect(str(tmp_path / "tenders.duckdb"), read_only=True) as con:
        title = con.execute("SELECT title, parse_error FROM notices WHERE notice_id = ?", [HDSJ_TENDER["id"]])
        assert title.fetchall() == [(HDSJ_TENDER["title"], None)]
        assert con.execute("SELECT count(*) FROM notices").fetchall() == [(len(EXPECTED),)]


def test_reprocess_without_an_archive_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["reprocess", "--data-dir", str(tmp_path)]) == 2
    assert f"no WARC archive at {tmp_path / 'archive'}" in capsys.readouterr().err


def test_a_torn_later_copy_never_overwrites_a_stored_notice(tmp_path, prefect_harness, capsys):
    (tmp_path / "archive").mkdir()
    shutil.copy(DEMO / "ccgp-demo.warc.gz", tmp_path / "archive")
    assert run_reprocess(tmp_path)[0] == 0
    with duckdb.connect(str(tmp_path / "tenders.duckdb"), read_only=True) as con:
        before = con.execute("SELECT text FROM notices WHERE notice_id = ?", [HDSJ_TENDER["id"]]).fetchone()[0]
    # A later crawl re-fetched the notice, and the process died while writing the record.
    later = tmp_path / "archive" / "ccgp-zz-later.warc.gz"
    page = (DEMO / "site" / HDSJ_TENDER["url"].split("://", 1)[1].split("/", 1)[1]).read_bytes()
    with WarcWriter(later) as writer:
        writer.write_response(HDSJ_TENDER["url"], body=page, headers=[("Content-Type", "text/html; charset=utf-8")])
    later.write_bytes(later.read_bytes()[: later.stat().st_size // 2])
    capsys.readouterr()

    code, out = run_reprocess(tmp_path)

    assert code == 1
    err = capsys.readouterr().err
    assert f"skipped damaged archive data: {later} at offset 0: record cut short" in err
    assert err.isascii()
    with duckdb.connect(str(tmp_path / "tenders.duckdb"), read_only=True) as con:
        after = con.execute("SELECT text FROM notices WHERE notice_id = ?", [HDSJ_TENDER["id"]]).fetchone()[0]
        assert con.execute("SELECT count(*) FROM notices").fetchall() == [(len(EXPECTED),)]
    assert after == before and len(after) > 300
