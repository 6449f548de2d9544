"""Attachments end to end: a night over a local ccgp-layout site whose evidence sits only in attached files.

One live night, one replay of its archive and a second live night serve every assert (one shared crawl each):
the screened notices' files are fetched and archived, read into ``attachments``, matched with evidence naming the
file and page; the replay gives the same result; the second night fetches no file again. Hostile files (a zip
bomb, a PDF claiming 10,000 pages, an encrypted PDF, a corrupt DOCX, a 200 MB body, a file named ``../../x.pdf``)
are each recorded with a reason, and the night completes.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import duckdb
import pytest

import cli
from pipelines.ingest.warc import WarcIndex
from tests.attachment_files import corrupt_docx, docx_bytes, pdf_bytes, xlsx_bytes, zip_bomb, zip_bytes
from tests.ccgp_site import Notice, write_site
from tests.conftest import LocalSite

FAST = [arg for s in ("DOWNLOAD_DELAY=0", "AUTOTHROTTLE_ENABLED=False", "RETRY_TIMES=0", "ROBOTSTXT_OBEY=False")
        for arg in ("--setting", s)]  # fmt: skip
WINDOW = ["--from", "2026-11-01", "--until", "2026-11-30"]
HUGE = 200 * 1024 * 1024

A800_PDF = pdf_bytes(["Technical requirements: see the table below", "GPU server: 8 x NVIDIA A800 80GB SXM"])
FILES: dict[str, tuple[str, bytes]] = {
    "a1": ("采购需求.pdf", A800_PDF),
    "a2": ("技术参数.docx", docx_bytes(["技术参数", "GPU卡：NVIDIA A800 80GB，8块"])),
    "a3": ("采购清单.xlsx", xlsx_bytes([["名称", "型号", "数量"], ["GPU服务器", "NVIDIA H800 80GB 8卡", 2]])),
    "a4": ("招标文件.zip", zip_bytes({"需求/采购需求.pdf": A800_PDF, "清单.xlsx": xlsx_bytes([["H800 8卡", 1]])})),
    "h1": ("压缩包.zip", b""),  # the zip bomb, built once per module
    "h2": ("全文.pdf", pdf_bytes(["x"], claimed_pages=10_000)),
    "h3": ("加密.pdf", pdf_bytes(["A800"], encrypted=True)),
    "h4": ("损坏.docx", corrupt_docx()),
    "h5": ("巨大.pdf", b""),  # 200 MB, streamed
    "h6": ("../../x.pdf", pdf_bytes(["nothing here"])),
    "t1": ("家具参数.pdf", A800_PDF),  # attached to a furniture notice: screened out, never fetched
}
NOTICES = {
    "90100001": ("某大学GPU服务器采购项目公开招标公告", ["a1"]),
    "90100002": ("智算平台建设项目公开招标公告", ["a2"]),
    "90100003": ("某研究院算力设备采购项目公开招标公告", ["a3"]),
    "90100004": ("人工智能实验室设备采购项目公开招标公告", ["a4"]),
    "90100005": ("GPU集群扩容项目公开招标公告", ["h1", "h2", "h3", "h4", "h5", "h6"]),
    "90100006": ("办公家具采购项目公开招标公告", ["t1"]),
}
ID = "3F2A5C7E9B1D4F6A8C0E2B4D6F8A0C"


def file_id(key: str) -> str:
    return f"{ID}{key}"


def detail_page(notice: Notice, files: list[str]) -> str:
    title = escape(notice.title)
    rows = "".join(
        f"<tr><td class='title'>附件{n}</td><td colspan='3'><a class='bizDownload' href='' id='{file_id(key)}'>"
        f"{escape(FILES[key][0])}</a></td></tr>"
        for n, key in enumerate(files, start=1)
    )
    return f"""<!doctype html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<meta name="ArticleTitle" content="{title}" /><meta name="PubDate" content="{notice.published}" />
<title>{title}_中国政府采购网</title></head>
<body><div class="vF_detail_header"><h2 class="tc">{title}</h2></div>
<div class="table"><table><tr><td class='title'>采购单位</td><td colspan='3'>演示大学</td></tr>{rows}</table></div>
<div class="vF_detail_content"><p>一、项目编号：TW-{notice.id}</p><p>二、项目名称：{title}</p>
<p>三、采购需求：详见附件。本公告为测试站点虚构内容。</p></div></body></html>
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attachment-site")
    notices = [
        Notice(nid, f"2026-11-{10 + i:02d} 10:00", title, column="dfgg" if i % 2 else "zygg")
        for i, (nid, (title, _)) in enumerate(NOTICES.items())
    ]
    write_site(folder, notices)
    for notice in notices:
        (folder / notice.path).write_text(detail_page(notice, NOTICES[notice.id][1]), encoding="utf-8")
    bodies = {file_id(key): body for key, (_, body) in FILES.items()}
    bodies[file_id("h1")] = zip_bomb()

    def download(path: str):
        if not path.startswith("/oss/download?uuid="):
            return None
        uuid = path.split("=", 1)[1]
        if uuid == file_id("h5"):
            chunks = (b"%PDF-1.4\n" + b"0" * (1024 * 1024 - 9) for _ in range(HUGE // (1024 * 1024)))
            return 200, {"Content-Type": "application/octet-stream", "Content-Length": str(HUGE)}, chunks
        if uuid not in bodies:
            return 404, {}, b"not found"
        return 200, {"Content-Type": "application/octet-stream"}, bodies[uuid]

    with LocalSite(folder) as served:
        served.routes.append(download)
        yield served


@pytest.fixture(scope="module")
def nights(prefect_harness, site, tmp_path_factory):
    """Live night, second live night over the same data, and a replay of the first night's archive."""
    data = tmp_path_factory.mktemp("attachment-data")
    first = cli.main(["nightly", "--data-dir", str(data), "--base-url", f"ccgp={site.url}", *WINDOW, *FAST])
    first_downloads = [p for p in site.requests if p.startswith("/oss/download")]
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        first_rows = sorted(con.sql("SELECT notice_id, name, status, text FROM attachments").fetchall())
    site.requests.clear()
    second = cli.main(["nightly", "--data-dir", str(data), "--base-url", f"ccgp={site.url}", *WINDOW, *FAST])
    second_downloads = [p for p in site.requests if p.startswith("/oss/download")]
    replayed = tmp_path_factory.mktemp("attachment-replay")
    replay = cli.main(
        ["nightly", "--data-dir", str(replayed), "--replay", str(data / "archive"), "--base-url", f"ccgp={site.url}"]
    )
    return {"data": data, "replayed": replayed, "codes": (first, second, replay), "first_rows": first_rows,
            "first_downloads": first_downloads, "second_downloads": second_downloads}  # fmt: skip


def rows(data: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(data / "tenders.duckdb"), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_every_night_completes(nights):
    assert nights["codes"] == (0, 0, 0)


def test_only_screened_notices_files_are_fetched_and_the_huge_one_is_cut_off(nights, site):
    fetched = sorted(p.split("=", 1)[1].removeprefix(ID) for p in nights["first_downloads"])
    # Every file of the five compute notices; the furniture notice's file never.
    assert fetched == sorted(k for k in FILES if k != "t1")
    stats = rows(nights["data"], "SELECT stats FROM crawl_runs WHERE replay IS NULL ORDER BY started_at LIMIT 1")[0][0]
    assert '"tenderwatch/attachments_screened_out": 1' in stats
    assert '"tenderwatch/attachments_too_large": 1' in stats


def test_the_archive_holds_the_files(nights, site):
    index = WarcIndex(nights["data"] / "archive")
    archived = index.get("GET", f"{site.url}/oss/download?uuid={file_id('a1')}")
    assert archived is not None and archived.body == A800_PDF
    assert index.get("GET", f"{site.url}/oss/download?uuid={file_id('h5')}") is None


def test_files_are_read_and_hostile_ones_recorded_with_a_reason(nights):
    found = rows(
        nights["data"],
        "SELECT notice_id, name, media_type, status, pages, reason IS NOT NULL, text IS NOT NULL FROM attachments "
        "ORDER BY notice_id, name",
    )
    assert found == [
        ("90100001", "采购需求.pdf", "pdf", "ok", 2, False, True),
        ("90100002", "技术参数.docx", "docx", "ok", None, False, True),
        ("90100003", "采购清单.xlsx", "xlsx", "ok", 1, False, True),
        ("90100004", "招标文件.zip", "zip", "unpacked", None, False, False),
        ("90100004", "招标文件.zip/清单.xlsx", "xlsx", "ok", 1, False, True),
        ("90100004", "招标文件.zip/需求/采购需求.pdf", "pdf", "ok", 2, False, True),
        ("90100005", "../../x.pdf", "pdf", "ok", 1, False, True),
        ("90100005", "全文.pdf", "pdf", "too_many_pages", None, True, False),
        ("90100005", "加密.pdf", "pdf", "encrypted", None, True, False),
        ("90100005", "压缩包.zip", "zip", "zip_bomb", None, True, False),
        ("90100005", "巨大.pdf", "unknown", "too_large", None, True, False),
        ("90100005", "损坏.docx", "docx", "corrupt", None, True, False),
    ]
    assert not (nights["data"].parent.parent / "x.pdf").exists() and not Path("../../x.pdf").exists()


def test_the_chip_named_only_in_a_file_is_matched_with_file_and_page(nights):
    hits = rows(
        nights["data"],
        "SELECT notice_id, rule_id, tier, evidence FROM matches WHERE field = 'attachment' AND tier = 'strong' "
        "ORDER BY notice_id, rule_id",
    )
    by_notice = {notice: (rule, evidence) for notice, rule, _, evidence in hits}
    assert by_notice["90100001"][0] == "chip.a800"
    assert by_notice["90100001"][1].startswith("《采购需求.pdf》 p. 2: ")
    assert by_notice["90100002"][1].startswith("《技术参数.docx》: ")
    assert by_notice["90100003"][0] == "chip.h800"
    assert by_notice["90100003"][1].startswith("《采购清单.xlsx》 sheet 1: ")
    assert by_notice["90100004"][1].startswith("《招标文件.zip/")
    tiers = dict(rows(nights["data"], "SELECT notice_id, tier FROM match_results"))
    assert [tiers[n] for n in ("90100001", "90100002", "90100003", "90100004")] == ["strong"] * 4
    assert tiers["90100006"] in ("none", "weak")


def test_the_replay_gives_the_same_result(nights):
    assert rows(nights["replayed"], "SELECT notice_id, name, status, text FROM attachments ORDER BY ALL") == [
        row for row in nights["first_rows"] if row[2] != "too_large"
    ]
    sql = "SELECT notice_id, rule_id, tier, evidence FROM matches ORDER BY ALL"
    assert rows(nights["replayed"], sql) == rows(nights["data"], sql)


def test_a_second_night_fetches_no_file_again(nights):
    assert nights["second_downloads"] == []
    assert rows(nights["data"], "SELECT count(*) FROM attachments")[0][0] == len(nights["first_rows"])
