"""The night's HTML, JSON and Atom outputs, and delivery by webhook and e-mail, on real files and local servers."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import threading
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import feedparser
import pytest

from pipelines import config
from pipelines.matching import parties
from pipelines.publishing import delivery, english, outputs
from pipelines.publishing import ledger as publish
from pipelines.publishing.outputs import merged_evidence
from pipelines.storage import schema, snapshot, store
from tests.conftest import ROOT
from tests.pipelines.publishing.test_ledger import NIGHT_1, NIGHT_2, matched

HOSTILE_TITLE = "<script>document.body.setAttribute('data-pwned','1')</script><img src=x onerror=alert(1)>"
HOSTILE_BUYER = '=HYPERLINK("http://evil","x")'
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def con(tmp_path):
    connection = store.connect(tmp_path / "warehouse.duckdb")
    yield connection
    connection.close()


def night(con, tmp_path, night_date: date, run_id: str, options: config.Outputs | None = None) -> publish.Digest:
    return publish.publish(con, tmp_path / "published", run_id, night_date, datetime.now(UTC), options)


def read(tmp_path: Path, night_date: date, name: str) -> str:
    return (tmp_path / "published" / night_date.isoformat() / name).read_text(encoding="utf-8-sig")


def test_every_output_is_written_per_date_plus_the_cumulative_feed(con, tmp_path):
    matched(con, "1")
    digest = night(con, tmp_path, NIGHT_1, "r1")
    names = sorted(p.relative_to(tmp_path / "published").as_posix() for p in digest.paths)
    assert names == [
        "2026-11-24/digest.html",
        "2026-11-24/digest.md",
        "2026-11-24/matches.csv",
        "2026-11-24/matches.json",
        "feed.atom",
    ]
    leftovers = [p.name for p in (tmp_path / "published").rglob("*.tmp")]
    assert leftovers == []


def test_hostile_text_is_escaped_in_html_and_neutralised_in_csv(con, tmp_path):
    matched(con, "1", title=HOSTILE_TITLE, buyer=HOSTILE_BUYER, url="javascript:alert(1)")
    night(con, tmp_path, NIGHT_1, "r1")
    page = read(tmp_path, NIGHT_1, "digest.html")
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "&lt;script&gt;document.body.setAttribute(&#x27;data-pwned&#x27;,&#x27;1&#x27;)&lt;/script&gt;" in page
    assert "javascript:" not in page  # the link is dropped, not rewritten into something clickable
    assert "Content-Security-Policy" in page
    assert not any(marker in page for marker in ('src="http', 'href="//', "<link", "@import"))
    rows = list(csv.DictReader(io.StringIO(read(tmp_path, NIGHT_1, "matches.csv"))))
    assert rows[0]["buyer"] == "'" + HOSTILE_BUYER
    document = json.loads(read(tmp_path, NIGHT_1, "matches.json"))
    assert document["matches"][0]["title"] == HOSTILE_TITLE
    assert document["matches"][0]["url"] is None


def test_json_carries_the_facts_with_exact_amounts(con, tmp_path):
    matched(con, "1", buyer="深圳大学", award_cny="199804.00", suppliers=[{"name": "成都运达科技"}])
    night(con, tmp_path, NIGHT_1, "r1")
    document = json.loads(read(tmp_path, NIGHT_1, "matches.json"))
    assert (document["date"], document["new"], document["total"]) == ("2026-11-24", 1, 1)
    (match,) = document["matches"]
    assert match["buyer"] == "深圳大学"
    assert match["suppliers"] == ["成都运达科技"]
    assert match["amount_cny"] == "199804.00"
    assert match["models"] == ["A800"]
    assert match["quantities"] == ["16 card"]
    assert match["published_at"] == "2026-11-20T15:32:00+08:00"


def test_the_digest_says_whether_an_amount_is_a_budget_or_an_award(con, tmp_path):
    matched(con, "1", award_cny="13865000.00", budget_cny="13950000.00")
    matched(con, "2", budget_cny="13950000.00")
    matched(con, "3")
    night(con, tmp_path, NIGHT_1, "r1")
    markdown = read(tmp_path, NIGHT_1, "digest.md")
    assert "**Award:** 13,865,000.00 CNY" in markdown
    assert "**Budget:** 13,950,000.00 CNY" in markdown
    assert "**Amount:**" not in markdown
    page = read(tmp_path, NIGHT_1, "digest.html")
    assert "<dt>Award</dt>" in page and "<dt>Budget</dt>" in page
    kinds = {m["notice_id"]: m["amount_kind"] for m in json.loads(read(tmp_path, NIGHT_1, "matches.json"))["matches"]}
    assert kinds == {"1": "award", "2": "budget", "3": None}
    rows = list(csv.DictReader(io.StringIO(read(tmp_path, NIGHT_1, "matches.csv"))))
    assert [(r["notice_id"], r["amount_kind"]) for r in rows] == [("1", "award"), ("2", "budget"), ("3", "")]


def test_html_has_summary_counts_chart_and_one_section_per_match(con, tmp_path):
    matched(con, "1")
    matched(con, "2", tier="review")
    night(con, tmp_path, NIGHT_1, "r1")
    page = read(tmp_path, NIGHT_1, "digest.html")
    assert page.count('<article class="match"') == 2
    assert '<tr><td title="ai_chip">AI chips and servers</td><td>1</td><td>1</td><td>2</td></tr>' in page
    # Both notices were published on 2026-11-20, a Friday: one bar for the week of Monday 2026-11-16.
    assert page.count('<rect class="bar"') == 1
    assert 'data-category="ai_chip" data-week="2026-11-16"' in page
    assert "week of 2026-11-16: ai_chip 2" in page
    assert 'class="title-en"' not in page  # no translations yet: no English title line


def test_an_english_title_is_shown_once_a_translation_relation_exists(con, tmp_path):
    matched(con, "1")
    # The title's segment and its English translation, as the translate stage stores them.
    con.execute(
        "INSERT INTO notice_segments (source, notice_id, position, field, segment_hash, segmented_from) "
        "VALUES ('ccgp', '1', 0, 'title', 'h1', 'title')"
    )
    con.execute(
        "INSERT INTO translations (segment_hash, target_lang, engine, text, translated_at) "
        "VALUES ('h1', 'en', 'test', 'Procurement of GPU <servers>', now())"
    )
    night(con, tmp_path, NIGHT_1, "r1")
    page = read(tmp_path, NIGHT_1, "digest.html")
    assert '<p class="title-en" lang="en">Procurement of GPU &lt;servers&gt;</p>' in page
    assert json.loads(read(tmp_path, NIGHT_1, "matches.json"))["matches"][0]["title_en"] == (
        "Procurement of GPU <servers>"
    )


@pytest.mark.parametrize(
    ("title", "expected_title"),
    [
        # The English headline from the facts, the Chinese title beside it.
        (HOSTILE_TITLE, f"[strong] Notice: 16 × A800 ({HOSTILE_TITLE})"),
        ("GPU服务器\x00\x07采购 & <b>", "[strong] Notice: 16 × A800 (GPU服务器采购 & <b>)"),  # control characters
        ("]]><evil/>", "[strong] Notice: 16 × A800 (]]><evil/>)"),
    ],
)
def test_the_feed_is_valid_atom_whatever_the_titles(con, tmp_path, title, expected_title):
    matched(con, "1", title=title)
    night(con, tmp_path, NIGHT_1, "r1")
    feed = feedparser.parse((tmp_path / "published" / "feed.atom").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    (entry,) = feed.entries
    assert entry.title == expected_title
    assert entry.id == "tag:tenderwatch,2026:notice/ccgp/1"
    assert entry.link == "https://www.ccgp.gov.cn/cggg/zygg/zbgg/202611/t20261120_1.htm"
    assert [tag.term for tag in entry.tags] == ["ai_chip"]


def test_the_feed_is_cumulative_with_stable_ids_and_times(con, tmp_path):
    matched(con, "1")
    night(con, tmp_path, NIGHT_1, "r1")
    first = feedparser.parse((tmp_path / "published" / "feed.atom").read_bytes())
    matched(con, "2/3")  # an id with a slash stays one path segment of the tag URI
    night(con, tmp_path, NIGHT_2, "r2")
    night(con, tmp_path, NIGHT_2, "r3")  # a re-run rewrites the feed without changing any entry
    second = feedparser.parse((tmp_path / "published" / "feed.atom").read_bytes())
    assert not second.bozo
    assert [e.id for e in second.entries] == ["tag:tenderwatch,2026:notice/ccgp/2%2F3", first.entries[0].id]
    assert second.entries[1].updated == first.entries[0].updated
    assert second.feed.updated == second.entries[0].updated


def test_feed_size_and_tag_authority_come_from_the_settings(con, tmp_path):
    for notice_id in ("1", "2", "3"):
        matched(con, notice_id)
    options = config.Outputs(feed_entries=2, tag_authority="example.org", tag_date="2026-01")
    night(con, tmp_path, NIGHT_1, "r1", options)
    feed = feedparser.parse((tmp_path / "published" / "feed.atom").read_bytes())
    assert len(feed.entries) == 2
    assert all(e.id.startswith("tag:example.org,2026-01:notice/ccgp/") for e in feed.entries)


# --- a real browser ----------------------------------------------------------------------------------------------


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("no headless Chromium on this machine (.ci/run installs Debian's chromium package)")


def browse(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}", "--window-size=1100,1400",
        *extra, page.as_uri(),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def test_a_real_browser_shows_the_hostile_title_as_text_and_runs_no_script(con, tmp_path):
    matched(con, "1", title=HOSTILE_TITLE, buyer=HOSTILE_BUYER)
    matched(con, "2", title="深圳大学AWS云服务器采购", buyer="深圳大学")
    night(con, tmp_path, NIGHT_1, "r1")
    page = tmp_path / "published" / NIGHT_1.isoformat() / "digest.html"
    dom = browse(page, tmp_path / "profile", "--dump-dom").stdout
    assert "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]  # the script never ran
    assert "&lt;script&gt;document.body.setAttribute" in dom  # it is text in the page
    assert '<img src="x"' not in dom
    assert dom.count('<article class="match"') == 2
    assert "深圳大学" in dom
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "digest.png"
    shot.unlink(missing_ok=True)
    browse(page, tmp_path / "profile", f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- delivery ----------------------------------------------------------------------------------------------------


class Receiver:
    """A local HTTP endpoint that answers the first ``failures`` posts with 503, then 204."""

    def __init__(self, failures: int):
        self.failures = failures
        self.bodies: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 503 if len(receiver.statuses) < receiver.failures else 204
                receiver.statuses.append(status)
                if status == 204:
                    receiver.bodies.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/SECRET-TOKEN"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory():
    started: list[Receiver] = []

    def start(failures: int) -> Receiver:
        started.append(Receiver(failures))
        return started[-1]

    yield start
    for receiver in started:
        receiver.close()


@pytest.fixture
def smtp_sink():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    class Collect(Sink):
        def __init__(self):
            self.messages: list[bytes] = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
            self.messages.append(envelope.original_content)
            return "250 OK"

    handler = Collect()
    # aiosmtpd's readiness check connects to the configured port, so it needs a real one rather than 0.
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def free_port() -> int:
    """A port nothing listens on (the probe socket is closed again)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def message_for(con, tmp_path) -> delivery.Message:
    matched(con, "1", title="深圳大学AWS云服务器采购", buyer="深圳大学")
    return publish.delivery_message(night(con, tmp_path, NIGHT_1, "r1"))


@pytest.mark.parametrize(
    ("failures", "status", "attempts", "posts"),
    [(0, "sent", 1, 1), (2, "sent", 3, 1), (5, "failed", 3, 0)],
)
def test_webhook_delivery_retries_then_reports(con, tmp_path, receiver_factory, failures, status, attempts, posts):
    receiver = receiver_factory(failures)
    message = message_for(con, tmp_path)
    pauses: list[float] = []
    settings = config.Delivery(attempts=3, backoff_seconds=0.5, webhook=config.Webhook(url=receiver.url))
    (outcome,) = delivery.deliver(message, settings, sleep=pauses.append)
    assert (outcome.status, outcome.attempts) == (status, attempts)
    assert pauses == [0.5, 1.0][: attempts - 1]
    assert len(receiver.bodies) == posts
    if posts:
        body = receiver.bodies[0]
        assert (body["date"], body["new"], body["total"]) == ("2026-11-24", 1, 1)
        assert body["matches"][0]["buyer"] == "深圳大学"
    else:
        assert "503" in outcome.error
    assert "SECRET-TOKEN" not in outcome.target
    delivery.record(con, "r1", message, [outcome])
    row = con.execute("SELECT channel, status, attempts, matches, target FROM deliveries").fetchone()
    assert row == ("webhook", status, attempts, 1, outcome.target)


def test_email_delivery_through_a_local_smtp_server(con, tmp_path, smtp_sink):
    handler, port = smtp_sink
    message = message_for(con, tmp_path)
    email = config.Email(smtp_host="127.0.0.1", smtp_port=port, recipients=("analyst@example.org",))
    (outcome,) = delivery.deliver(message, config.Delivery(email=email), sleep=lambda _: None)
    assert (outcome.channel, outcome.status, outcome.attempts) == ("email", "sent", 1)
    (raw,) = handler.messages
    from email import message_from_bytes, policy

    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["Subject"] == "tenderwatch 2026-11-24: 1 new matched notice(s)"
    assert mail["To"] == "analyst@example.org"
    assert "深圳大学" in mail.get_body(("plain",)).get_content()
    assert "深圳大学AWS云服务器采购" in mail.get_body(("html",)).get_content()


def test_a_dead_smtp_server_and_a_failing_webhook_are_reported_not_raised(con, tmp_path, receiver_factory):
    receiver = receiver_factory(failures=99)
    message = message_for(con, tmp_path)
    settings = config.Delivery(
        attempts=2,
        backoff_seconds=0,
        timeout_seconds=5,
        webhook=config.Webhook(url=receiver.url),
        email=config.Email(smtp_host="127.0.0.1", smtp_port=free_port(), recipients=("a@example.org",)),
    )
    outcomes = delivery.deliver(message, settings, sleep=lambda _: None)
    assert [(o.channel, o.status, o.attempts) for o in outcomes] == [("webhook", "failed", 2), ("email", "failed", 2)]
    assert "ConnectionRefusedError" in outcomes[1].error
    delivery.record(con, "r1", message, outcomes)
    assert con.execute("SELECT count(*) FROM deliveries WHERE status = 'failed'").fetchone() == (2,)


def test_the_delivery_message_round_trips_through_its_file(con, tmp_path):
    message = message_for(con, tmp_path)
    assert delivery.Message.from_json(message.to_json()) == message


def test_deliveries_are_documented_in_the_snapshot(con, tmp_path):
    con.close()
    published = snapshot.publish_snapshot(tmp_path / "warehouse.duckdb", tmp_path / "tenders.duckdb")
    with duckdb.connect(str(published), read_only=True) as reader:
        comments = reader.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'deliveries'"
        ).fetchall()
    assert {name for name, _ in comments} == set(schema.DELIVERY_COMMENTS)
    assert all(comment for _, comment in comments)


# --- the night's source health ----------------------------------------------------------------------------------

HOSTILE_REASON = '<script>alert(1)</script> =HYPERLINK("http://evil","x")'
NIGHT_SOURCES = [
    {"source": "ccgp", "verdict": "ok", "reason": "48 notices from 51 responses",
     "finished_at": "2026-11-24T18:40:00+00:00"},
    {"source": "ggzy", "verdict": "broken", "reason": HOSTILE_REASON, "finished_at": "2026-11-24T18:41:00+00:00"},
]  # fmt: skip

# output → what it must say, in this order (the unhealthy source and its reason before everything else). Markdown and
# HTML must leave no live tag of the reason; JSON carries the text as scraped (its readers escape, as for titles).
HEALTH_IN_OUTPUTS = {
    "digest.md": [
        "**Unhealthy sources: ggzy.**",
        "## Sources",
        '- **ggzy**: broken: \\<script\\>alert\\(1\\)\\</script\\> =HYPERLINK\\("http://evil","x"\\)',
        "- **ccgp**: ok: 48 notices from 51 responses",
        "## [strong]",
    ],
    "digest.html": [
        '<p class="unhealthy"><strong>Unhealthy sources: ggzy.</strong>',
        '<li class="unhealthy"><strong>ggzy</strong>: broken: &lt;script&gt;alert(1)&lt;/script&gt; '
        "=HYPERLINK(&quot;http://evil&quot;,&quot;x&quot;)</li>",
        "<li><strong>ccgp</strong>: ok: 48 notices from 51 responses</li>",
        '<section id="summary">',
        '<article class="match"',
    ],
    "matches.json": ['"unhealthy": [\n  "ggzy"\n ]', '"source": "ggzy"', '"source": "ccgp"', '"matches": ['],
}


@pytest.mark.parametrize("name", HEALTH_IN_OUTPUTS)
def test_every_output_of_a_night_names_its_unhealthy_sources_first(con, tmp_path, name):
    matched(con, "1")
    publish.publish(con, tmp_path / "published", "r1", NIGHT_1, datetime.now(UTC), sources=NIGHT_SOURCES)
    text = read(tmp_path, NIGHT_1, name)
    positions = [text.find(expected) for expected in HEALTH_IN_OUTPUTS[name]]
    assert -1 not in positions, [e for e, p in zip(HEALTH_IN_OUTPUTS[name], positions, strict=True) if p < 0]
    assert positions == sorted(positions)
    if name != "matches.json":
        assert "<script>" not in text.replace("\\<script\\>", "")


def test_the_feed_and_the_delivery_carry_the_nights_health(con, tmp_path):
    matched(con, "1")
    digest = publish.publish(con, tmp_path / "published", "r1", NIGHT_1, datetime.now(UTC), sources=NIGHT_SOURCES)
    feed = feedparser.parse((tmp_path / "published" / "feed.atom").read_bytes())
    assert not feed.bozo
    assert feed.feed.subtitle == f"2026-11-24: UNHEALTHY SOURCES: ggzy broken ({HOSTILE_REASON})"
    alert = feed.entries[0]
    assert (alert.id, alert.title) == ("tag:tenderwatch,2026:health/2026-11-24", "[unhealthy] 2026-11-24: ggzy broken")
    assert alert.updated == "2026-11-24T18:41:00Z"
    assert "&lt;script&gt;" in alert.content[0].value and "<script>" not in alert.content[0].value
    assert [entry.id.rsplit("/", 1)[1] for entry in feed.entries[1:]] == ["1"]

    message = publish.delivery_message(digest)
    assert message.subject == "tenderwatch 2026-11-24: UNHEALTHY ggzy broken; 1 new matched notice(s)"
    assert message.payload["unhealthy"] == ["ggzy"]
    assert [(s["source"], s["verdict"], s["reason"]) for s in message.payload["sources"]] == [
        ("ggzy", "broken", HOSTILE_REASON),
        ("ccgp", "ok", "48 notices from 51 responses"),
    ]
    assert message.text.index("**Unhealthy sources: ggzy.**") < message.text.index("## [strong]")
    assert "&lt;script&gt;alert(1)" in message.html and "<script>" not in message.html
    csv_text = read(tmp_path, NIGHT_1, "matches.csv")
    assert "ggzy" not in csv_text and "HYPERLINK" not in csv_text  # the CSV stays one row per match


def test_a_rematch_keeps_the_health_the_night_recorded(con, tmp_path):
    matched(con, "1")
    publish.publish(con, tmp_path / "published", "r1", NIGHT_1, datetime.now(UTC), sources=NIGHT_SOURCES)
    matched(con, "2")
    digest = publish.publish(con, tmp_path / "published", "rematch-1", NIGHT_1, datetime.now(UTC))
    assert digest.new == 1
    assert [s["source"] for s in digest.sources] == ["ggzy", "ccgp"]
    assert json.loads(read(tmp_path, NIGHT_1, "matches.json"))["unhealthy"] == ["ggzy"]


def _digest_row(notice_id: str, title: str, categories: list[str]) -> dict:
    return {
        "source": "ccgp",
        "notice_id": notice_id,
        "tier": "review",
        "title": title,
        "categories": categories,
        "buyer": "某大学",
        "url": f"https://www.ccgp.gov.cn/{notice_id}.htm",
        "evidence": ["单卡显存80GB HBM2e"],
    }


def test_unnamed_ai_compute_gets_its_own_section_apart_from_the_matches():
    rows = [
        _digest_row("1", "GPU服务器采购（A800-class）", ["ai_chip"]),
        _digest_row("2", HOSTILE_TITLE, ["ai_compute_unspecified"]),
    ]
    rows[1] |= {"notice_type": "open_tender", "amount_cny": 1_200_000, "amount_kind": "budget", "buyer_en": "A Univ"}
    rows[1]["headline_en"] = english.headline(rows[1])
    assert rows[1]["headline_en"] == "Tender: AI compute, chip not named, budget CNY 1.2 M"
    page = outputs.render_html(NIGHT_1, rows, 2, {})
    matches, unnamed = page.split('<section id="unnamed-compute">')
    assert matches.count('<article class="match"') == 1 and "A800-class" in matches
    assert "1 matched notice(s)" in matches and "1 unnamed AI-compute notice(s) to follow up" in matches
    assert "&lt;script&gt;" in unnamed and "<script>" not in page and HOSTILE_TITLE not in page
    assert 'href="https://www.ccgp.gov.cn/2.htm"' in unnamed
    assert (
        '<li><span lang="en">Tender: AI compute, chip not named, budget CNY 1.2 M</span>: <span lang="zh">' in unnamed
    )
    text = publish.render_markdown(NIGHT_1, rows, 2)
    named, follow_up = text.split("## Unnamed AI compute (to follow up)")
    assert "## [review] GPU服务器采购" in named and "script" not in named
    assert "\\<script\\>" in follow_up and "<https://www.ccgp.gov.cn/2.htm>" in follow_up
    assert "- Tender: AI compute, chip not named, budget CNY 1.2 M: \\<script\\>" in follow_up
    assert "(A Univ \\(某大学\\))" in follow_up


def test_listed_and_military_buyers_come_first_marked_with_english_headlines(con, tmp_path):
    matched(con, "1", buyer="北辰理工大学")  # an ordinary buyer, newest
    matched(con, "2", buyer="哈尔滨工业大学（深圳）", award_cny="1395000.00", notice_type="award")
    matched(con, "3", buyer="中国人民解放军93212部队")
    matched(con, "4", buyer="哈尔滨工业大学附属中学")  # carries a listed name, is not the listed party
    con.execute(
        "UPDATE matches SET after_restriction = true, restricted_since = DATE '2023-10-17', "
        "licence_policy = 'licence required since 17 Oct 2023', "
        "licence_policy_listed = 'licence required; presumption of denial for Entity-List and military end users'"
    )
    con.execute("UPDATE notices SET published_at = published_at + INTERVAL 1 HOUR WHERE notice_id = '1'")
    parties.load_parties(con)
    night(con, tmp_path, NIGHT_1, "r1")
    document = json.loads(read(tmp_path, NIGHT_1, "matches.json"))
    order = [m["notice_id"] for m in document["matches"]]
    assert order[:2] == ["2", "3"] and sorted(order[2:]) == ["1", "4"]
    first = document["matches"][0]
    assert first["headline_en"] == "Award: 16 × A800 (restricted since Oct 2023), CNY 1.4 M"
    assert first["buyer_en"] == "Harbin Institute of Technology, Shenzhen"
    assert first["licence_statement"].endswith("presumption of denial for Entity-List and military end users")
    markdown = read(tmp_path, NIGHT_1, "digest.md")
    assert "**PRIORITY: restricted chip, listed or military buyer \\| LISTED BUYER: Harbin Institute of " in markdown
    assert "MILITARY BUYER" in markdown
    assert "- **Title (Chinese):** " in markdown and "Tiers: strong = published automatically" in markdown
    by_id = {m["notice_id"]: m for m in document["matches"]}
    assert by_id["4"]["buyer_list"] is None and by_id["4"]["priority"] == 3
    assert "not the listed party" in by_id["4"]["buyer_relation"]
    assert by_id["1"]["licence_statement"] == "licence required since 17 Oct 2023"
    page = read(tmp_path, NIGHT_1, "digest.html")
    assert page.index("哈尔滨工业大学（深圳）") < page.index("北辰理工大学")
    assert '<p class="flag">' in page
    feed = feedparser.parse((tmp_path / "published" / "feed.atom").read_bytes())
    titles = {entry.id.rsplit("/", 1)[-1]: entry.title for entry in feed.entries}
    assert titles["2"] == f"[strong] Award: 16 × A800 (restricted since Oct 2023), CNY 1.4 M ({first['title']})"
    summary = next(e.summary for e in feed.entries if e.id.endswith("/2"))
    assert "PRIORITY: restricted chip, listed or military buyer" in summary and first["title"] in summary


@pytest.mark.parametrize(
    ("snippets", "merged"),
    [
        (["采购GPU服务器2台，每台配置8块A800", "每台配置8块A800"], ["采购GPU服务器2台，每台配置8块A800"]),
        (["8块A800", "服务器2台，每台配置8块A800 80GB"], ["服务器2台，每台配置8块A800 80GB"]),
        (["AWS账号", "Azure OpenAI 4000万tokens"], ["AWS账号", "Azure OpenAI 4000万tokens"]),
        (["  ", "a\nb"], ["a b"]),
        # two windows over one item row overlap: joined into one snippet, nothing of either lost
        (
            [
                "GPU服务器 | 超聚变 | G8600 V7（8×NVIDIA H800 80GB SXM5） | 1台",
                "G8600 V7（8×NVIDIA H800 80GB SXM5） | 1台 | 2260000",
            ],
            ["GPU服务器 | 超聚变 | G8600 V7（8×NVIDIA H800 80GB SXM5） | 1台 | 2260000"],
        ),
        # the later window first (scores order the snippets, not places)
        (
            ["每台配置8块NVIDIA A800 80GB，用于教学", "采购GPU服务器2台，每台配置8块NVIDIA A800"],
            ["采购GPU服务器2台，每台配置8块NVIDIA A800 80GB，用于教学"],
        ),
        # sharing a model name is not sharing a place
        (["采购A800服务器", "A800服务器维保"], ["采购A800服务器", "A800服务器维保"]),
        # a third snippet that bridges two kept ones joins all three
        (
            ["AAAAAAAAAAAAAAAAB", "CDDDDDDDDDDDDDDDD", "AAAAAAAAAAAAAABxxxxxxxxxxxxxxCDDDDDDDDDDD"],
            ["AAAAAAAAAAAAAAAABxxxxxxxxxxxxxxCDDDDDDDDDDDDDDDD"],
        ),
    ],
)
def test_evidence_is_one_snippet_per_place(snippets, merged):
    assert merged_evidence(snippets) == merged


def test_a_match_withdrawn_by_a_later_rules_change_is_marked_in_the_feed(con, tmp_path):
    matched(con, "1")
    matched(con, "2")
    night(con, tmp_path, NIGHT_1, "r1")
    con.execute("UPDATE match_results SET tier = 'weak' WHERE notice_id = '1'")  # a rules change re-matched it
    night(con, tmp_path, NIGHT_2, "r2")
    feed = feedparser.parse((tmp_path / "published" / "feed.atom").read_bytes())
    titles = {entry.id.rsplit("/", 1)[-1]: entry.title for entry in feed.entries}
    assert titles["1"].startswith("[withdrawn] [strong] ")
    assert not titles["2"].startswith("[withdrawn]")
    entry = next(e for e in feed.entries if e.id.endswith("/1"))
    assert "WITHDRAWN: no longer matched under the current rules (now weak)" in entry.summary
