"""Translation-ready text: segments stored once per text, a glossary, and pluggable translation engines.

- ``segment_pending`` splits each new or changed notice's title and clean text into segments (lines, then
  sentences) and stores each distinct segment once in ``segments`` (keyed by its SHA-256), with the notice's order
  in ``notice_segments``. Boilerplate shared by thousands of notices is one segment, translated once.
- ``load_glossary`` fills ``glossary`` from ``glossary.toml`` plus the notice-type and region tables the
  normalizer already holds (one source for each English name).
- ``translate_pending`` fills ``translations`` for one target language and engine with the segments it has not
  translated yet, batch by batch; every finished batch is written before the next is asked for, so a failing
  engine loses nothing and the next run carries on where this one stopped.

Engines: ``glossary`` (exact domain wording for short segments the glossary fully covers) and ``libretranslate``
(any server speaking the LibreTranslate API, configured by URL).
"""

from __future__ import annotations

import json
import re
import time
import tomllib
import unicodedata
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from hashlib import sha256
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

from pipelines.storage.store import rowid_windows
from pipelines.storage.transactions import transaction

GLOSSARY_PATH = Path(__file__).with_name("glossary.toml")
GLOSSARY_KINDS = ("method", "category", "unit", "term")
SEGMENT_BATCH = 2000
# Notices per read of a segmentation over history (see the rematch's windows).
SEGMENT_WINDOW_ROWS = 20_000
# Sentence ends inside a line; the mark stays with its sentence.
_SENTENCE_END = re.compile(r"(?<=[。！？!?])")
_HAN = re.compile(r"[\u3400-\u9fff]")


class TranslationError(Exception):
    """The engine could not translate a batch (after its retries)."""


# --- segments ---------------------------------------------------------------------------------------------------


def split_segments(text: str | None) -> list[str]:
    """Clean text → translation units: each line, split after sentence-ending marks; blank pieces dropped."""
    segments = []
    for line in (text or "").splitlines():
        for piece in _SENTENCE_END.split(line):
            piece = piece.strip()
            if piece:
                segments.append(piece)
    return segments


def segment_hash(text: str) -> str:
    return sha256(text.encode("utf-8")).hexdigest()


@dataclass
class SegmentSummary:
    notices: int = 0
    links: int = 0
    new_segments: int = 0


def segment_pending(
    con: duckdb.DuckDBPyConnection, batch_size: int = SEGMENT_BATCH, window_rows: int = SEGMENT_WINDOW_ROWS
) -> SegmentSummary:
    """Segment every notice whose title or text changed since it was last segmented.

    More than a window's worth of pending notices (a first segmentation, or one after a parser change) are read a
    window of rows at a time (``store.rowid_windows``), each window's pending notices with their texts: read at once,
    all of history's texts were in memory (2.6 GB at 1M notices). A second pass takes what a window missed (as in
    the rematch).
    """
    summary = SegmentSummary()
    # A night's few: one query, at most a window's worth of texts.
    pending = con.sql(f"{_pending_segments(None)} LIMIT {window_rows + 1}").to_arrow_table()
    if pending.num_rows <= window_rows:
        _segment(con, pending, batch_size, summary)
        return summary
    for _ in range(2):
        for rowids in rowid_windows(con, window_rows):
            _segment(con, con.sql(_pending_segments(rowids)).to_arrow_table(), batch_size, summary)
        if not con.execute(f"SELECT count(*) FROM ({_pending_segments(None)})").fetchall()[0][0]:
            break
    return summary


def _pending_segments(rowids: str | None) -> str:
    """The notices of the rows ``rowids`` (all when None) not segmented from their current title and text."""
    window = f"AND rowid {rowids}" if rowids else ""
    return f"""
        WITH keyed AS (
            SELECT source, notice_id, title, text,
                   sha256(coalesce(title, '') || chr(10) || coalesce(text, '')) AS segmented_from
            FROM notices WHERE (title IS NOT NULL OR text IS NOT NULL) {window}
        )
        SELECT k.* FROM keyed k
        LEFT JOIN notice_segments s ON s.source = k.source AND s.notice_id = k.notice_id AND s.position = 0
        WHERE s.segmented_from IS DISTINCT FROM k.segmented_from
        ORDER BY k.source, k.notice_id
        """


def _segment(con: duckdb.DuckDBPyConnection, pending: pa.Table, batch_size: int, summary: SegmentSummary) -> None:
    now = datetime.now(UTC)
    for batch in pending.to_batches(batch_size):
        links, texts = [], {}
        for row in batch.to_pylist():
            pieces = [("title", row["title"])] if row["title"] else []
            pieces += [("text", segment) for segment in split_segments(row["text"])]
            for position, (field_name, text) in enumerate(pieces):
                digest = segment_hash(text)
                texts[digest] = text
                links.append(
                    {
                        "source": row["source"],
                        "notice_id": row["notice_id"],
                        "position": position,
                        "field": field_name,
                        "segment_hash": digest,
                        "segmented_from": row["segmented_from"],
                    }
                )
        keys = pa.table({"source": batch.column("source"), "notice_id": batch.column("notice_id")})
        segments = pa.table(
            {
                "segment_hash": list(texts),
                "text": list(texts.values()),
                "chars": pa.array([len(t) for t in texts.values()], pa.int32()),
                "first_seen_at": pa.array([now] * len(texts), pa.timestamp("us", tz="UTC")),
            }
        )
        link_table = pa.Table.from_pylist(links, schema=_LINK_SCHEMA)
        before = con.execute("SELECT count(*) FROM segments").fetchall()[0][0]
        _replace_links(con, keys, link_table, segments)
        summary.new_segments += con.execute("SELECT count(*) FROM segments").fetchall()[0][0] - before
        summary.notices += batch.num_rows
        summary.links += len(links)


_LINK_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("notice_id", pa.string()),
        ("position", pa.int32()),
        ("field", pa.string()),
        ("segment_hash", pa.string()),
        ("segmented_from", pa.string()),
    ]
)


def _replace_links(con: duckdb.DuckDBPyConnection, keys: pa.Table, links: pa.Table, segments: pa.Table) -> None:
    names = {label: f"{label}_{uuid.uuid4().hex}" for label in ("keys", "links", "segments")}
    con.register(names["keys"], keys)
    con.register(names["links"], links)
    con.register(names["segments"], segments)
    try:
        with transaction(con):
            con.execute(
                "DELETE FROM notice_segments WHERE (source, notice_id) IN "
                f"(SELECT source, notice_id FROM {names['keys']})"
            )
            con.execute(f"INSERT INTO notice_segments SELECT * FROM {names['links']}")
            # Keys are distinct within the batch (a dict), so ON CONFLICT sees each at most once.
            con.execute(
                f"INSERT INTO segments (segment_hash, text, chars, first_seen_at) "
                f"SELECT segment_hash, text, chars, first_seen_at FROM {names['segments']} ON CONFLICT DO NOTHING"
            )
    finally:
        for name in names.values():
            con.unregister(name)


# --- glossary ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    zh: str
    kind: str
    en: str


def glossary_terms(path: Path = GLOSSARY_PATH) -> list[Term]:
    """Every glossary entry: the TOML file's sections plus notice types and regions from their code tables."""
    from pipelines.national.notice_types import NOTICE_TYPES
    from pipelines.national.regions import CITIES, DISTRICTS, PROVINCES

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read the glossary {path}: {error}") from None
    unknown = set(data) - set(GLOSSARY_KINDS)
    if unknown:
        raise ValueError(f"glossary {path}: unknown sections {sorted(unknown)}; expected {list(GLOSSARY_KINDS)}")
    terms = [Term(zh, kind, en) for kind in GLOSSARY_KINDS for zh, en in data.get(kind, {}).items()]
    terms += [Term(t.zh, "notice_type", t.en) for t in NOTICE_TYPES]
    for province in PROVINCES:
        terms += [Term(province.name, "region", province.en), Term(province.short, "region", province.en)]
    terms += [Term(place.name, "region", place.en) for place in (*CITIES, *DISTRICTS)]
    unique: dict[tuple[str, str], Term] = {}
    for term in terms:
        unique.setdefault((term.zh, term.kind), term)
    return list(unique.values())


def load_glossary(con: duckdb.DuckDBPyConnection, path: Path = GLOSSARY_PATH) -> int:
    """Replace the ``glossary`` table with the current glossary; returns the number of terms."""
    terms = glossary_terms(path)
    table = pa.table(
        {"term_zh": [t.zh for t in terms], "kind": [t.kind for t in terms], "term_en": [t.en for t in terms]}
    )
    name = f"glossary_{uuid.uuid4().hex}"
    con.register(name, table)
    try:
        with transaction(con):
            con.execute("DELETE FROM glossary")
            con.execute(f"INSERT INTO glossary SELECT term_zh, kind, term_en FROM {name}")
    finally:
        con.unregister(name)
    return len(terms)


# --- engines ----------------------------------------------------------------------------------------------------


class Engine(Protocol):
    name: str
    batch_size: int
    # Set by an engine whose answer depends only on the text and this version (the glossary): a segment it declined
    # is not offered to it again until the version changes. None: declines are retried every run (a server).
    version: str | None

    def translate(self, texts: Sequence[str], target: str) -> list[str | None]:
        """One translation per text, or None where this engine declines (the segment stays pending)."""
        ...


# Chinese marks → their English form with the space English puts after them (NFKC keeps 。 and 、 as they are).
_CJK_MARKS = str.maketrans({"：": ": ", "，": ", ", "；": "; ", "。": ". ", "、": ", ", "！": "! ", "？": "? "})
# Marks that attach to the word before them, and those that attach to the word after.
_CLOSING = tuple(",.:;)!?%]")
_OPENING = tuple("([")
# What a glossary cannot list but a rule can write exactly: dates and times the Chinese way, and list markers.
_DATE = re.compile(r"(?<!\d)(\d{4})年(\d{1,2})月(\d{1,2})日")
_CLOCK = re.compile(r"(?<!\d)(\d{1,2})[点时](\d{2})分")
_NUMERALS = dict(zip("一二三四五六七八九十", range(1, 11), strict=True))
_LIST_MARK = re.compile(r"^([一二三四五六七八九十]), ")  # 一、 once the marks are in their English form
_PAREN_MARK = re.compile(r"^\(([一二三四五六七八九十])\)")


def _is_date(found: re.Match[str]) -> bool:
    try:
        date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return False
    return True


def _written_out(text: str) -> str:
    """Dates, clock times and list markers in their English form: 2026年12月8日 09点30分 → 2026-12-08 09:30."""
    text = _DATE.sub(lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}" if _is_date(m) else m[0], text)
    text = _CLOCK.sub(lambda m: f"{int(m[1]):02d}:{m[2]}" if int(m[1]) < 24 and int(m[2]) < 60 else m[0], text)
    text = _LIST_MARK.sub(lambda m: f"{_NUMERALS[m[1]]}. ", text)
    return _PAREN_MARK.sub(lambda m: f"({_NUMERALS[m[1]]}) ", text)


class GlossaryEngine:
    """Translates a short segment word for word when every Han character in it is a glossary term.

    Longest terms win (``中标供应商`` before ``供应商``). Digits, Latin text and punctuation pass through
    (width-normalized); dates, clock times and list markers written the Chinese way are written out first
    (``2026年12月8日 09点30分`` → ``2026-12-08 09:30``, ``一、`` → ``1.``). A segment with any other Han character
    outside the glossary is declined, so this engine never produces half-translated text; such segments are left
    to a machine-translation engine.
    """

    name = "glossary"
    batch_size = 5000
    max_chars = 60
    # Raise when translate_one changes what it declines or writes: declined segments are then offered again.
    RULES_VERSION = 1

    def __init__(self, terms: Sequence[Term], target: str = "en"):
        if target != "en":
            raise ValueError(f"the glossary has English terms only, not {target!r}")
        self.terms: dict[str, str] = {}
        # Specific kinds first: a term's general-purpose wording wins over a unit reading of the same characters.
        for kind in ("term", "notice_type", "method", "category", "region", "unit"):
            for term in terms:
                if term.kind == kind:
                    self.terms.setdefault(unicodedata.normalize("NFKC", term.zh), term.en)
        self.longest = max((len(zh) for zh in self.terms), default=0)
        terms_digest = sha256(json.dumps(sorted(self.terms.items()), ensure_ascii=False).encode()).hexdigest()
        self.version = f"{self.RULES_VERSION}:{self.max_chars}:{terms_digest[:16]}"

    def translate(self, texts: Sequence[str], target: str) -> list[str | None]:
        return [self.translate_one(text) for text in texts]

    def translate_one(self, text: str) -> str | None:
        text = _written_out(unicodedata.normalize("NFKC", text.translate(_CJK_MARKS)))
        text = re.sub(r"\s+", " ", text).strip()
        if not text or len(text) > self.max_chars or not _HAN.search(text):
            return None
        words: list[str] = []
        plain = ""
        index = 0
        while index < len(text):
            found = self._term_at(text, index)
            if found:
                if plain.strip():
                    words.append(plain.strip())
                plain = ""
                words.append(self.terms[found])
                index += len(found)
            elif _HAN.match(text[index]):
                return None
            else:
                plain += text[index]
                index += 1
        if plain.strip():
            words.append(plain.strip())
        return _join(words)

    def _term_at(self, text: str, index: int) -> str | None:
        for length in range(min(self.longest, len(text) - index), 0, -1):
            candidate = text[index : index + length]
            if candidate in self.terms:
                return candidate
        return None


def _join(words: list[str]) -> str:
    out = ""
    for word in words:
        if out and not word.startswith(_CLOSING) and not out.endswith(_OPENING):
            out += " "
        out += word
    return out[:1].upper() + out[1:]


@dataclass
class LibreTranslateEngine:
    """Any server speaking the LibreTranslate API: ``POST {url}/translate`` with ``{q, source, target, format}``.

    ``q`` is a list (one request per batch); the answer's ``translatedText`` is the list of translations in the
    same order. Network errors, 429 and 5xx answers are retried with growing pauses; other answers fail at once
    with the server's own error message.
    """

    url: str
    api_key: str | None = None
    source_lang: str = "zh"
    batch_size: int = 25
    retries: int = 3
    backoff_s: float = 1.0
    timeout_s: float = 60.0
    name: str = field(default="libretranslate", init=False)
    version: str | None = field(default=None, init=False)  # a server's answers may change: declines are retried

    def __post_init__(self):
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"expected the LibreTranslate server as http(s)://host[:port], got {self.url!r}")
        self.endpoint = self.url.rstrip("/") + "/translate"

    def translate(self, texts: Sequence[str], target: str) -> list[str | None]:
        payload = {"q": list(texts), "source": self.source_lang, "target": target, "format": "text"}
        if self.api_key:
            payload["api_key"] = self.api_key
        answer = self._post(json.dumps(payload, ensure_ascii=False).encode("utf-8"))
        translated = answer.get("translatedText") if isinstance(answer, dict) else None
        if isinstance(translated, str) and len(texts) == 1:
            translated = [translated]
        if not isinstance(translated, list) or len(translated) != len(texts):
            raise TranslationError(
                f"{self.endpoint} answered {len(translated) if isinstance(translated, list) else 'no'} "
                f"translations for {len(texts)} texts"
            )
        return [t if isinstance(t, str) and t.strip() else None for t in translated]

    def _post(self, body: bytes) -> dict:
        last_error = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            request = urllib.request.Request(
                self.endpoint, data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as error:
                last_error = f"HTTP {error.code}: {_server_message(error)}"
                if error.code != 429 and error.code < 500:
                    break
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                last_error = str(getattr(error, "reason", error))
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                last_error = f"not a JSON answer ({error})"
        raise TranslationError(f"{self.endpoint}: {last_error}")


def _server_message(error: urllib.error.HTTPError) -> str:
    try:
        body = error.read().decode("utf-8", errors="replace")
        return str(json.loads(body).get("error") or body)[:200]
    except (ValueError, AttributeError):
        return error.reason if isinstance(error.reason, str) else "error"


# --- filling translations ----------------------------------------------------------------------------------------


@dataclass
class TranslateSummary:
    engine: str
    target_lang: str
    considered: int = 0
    translated: int = 0
    declined: int = 0
    remaining: int = 0
    error: str | None = None


def translate_pending(
    con: duckdb.DuckDBPyConnection, engine: Engine, target: str, limit: int | None = None
) -> TranslateSummary:
    """Translate segments not yet translated into ``target`` by ``engine``; titles first, then the rest.

    ``limit`` caps the number of segments sent to the engine. Each batch is written as soon as it is translated;
    on an engine failure the run stops, keeps what was done and reports the error.
    """
    pending = con.sql(
        """
        SELECT s.segment_hash, s.text
        FROM segments s
        WHERE NOT EXISTS (SELECT 1 FROM translations t WHERE t.segment_hash = s.segment_hash
                            AND t.target_lang = $lang AND t.engine = $engine)
          AND NOT EXISTS (SELECT 1 FROM translation_declines d WHERE d.segment_hash = s.segment_hash
                            AND d.target_lang = $lang AND d.engine = $engine AND d.engine_version = $version)
        ORDER BY EXISTS (SELECT 1 FROM notice_segments n WHERE n.segment_hash = s.segment_hash
                           AND n.field = 'title') DESC,
                 s.segment_hash
        """,
        params={"lang": target, "engine": engine.name, "version": engine.version},
    ).to_arrow_table()
    summary = TranslateSummary(engine=engine.name, target_lang=target)
    rows = pending.to_pylist()
    if limit is not None:
        rows = rows[:limit]
    for start in range(0, len(rows), engine.batch_size):
        batch = rows[start : start + engine.batch_size]
        try:
            results = engine.translate([row["text"] for row in batch], target)
        except TranslationError as error:
            summary.error = str(error)
            break
        summary.considered += len(batch)
        done = [(row["segment_hash"], text) for row, text in zip(batch, results, strict=True) if text]
        summary.translated += len(done)
        summary.declined += len(batch) - len(done)
        _store_translations(con, done, target, engine.name)
        if engine.version is not None:
            declined = [row["segment_hash"] for row, text in zip(batch, results, strict=True) if not text]
            _store_declines(con, declined, target, engine.name, engine.version)
    # Left for the next run: what this engine will be offered again (a versioned engine's declines are not).
    offered_again = summary.considered if engine.version is not None else summary.translated
    summary.remaining = len(pending) - offered_again
    return summary


def _store_declines(con: duckdb.DuckDBPyConnection, hashes: list[str], target: str, engine: str, version: str) -> None:
    if not hashes:
        return
    table = pa.table({"segment_hash": sorted(set(hashes))})
    name = f"declines_{uuid.uuid4().hex}"
    con.register(name, table)
    try:
        con.execute(
            "INSERT OR REPLACE INTO translation_declines SELECT segment_hash, $target, $engine, $version, now() "
            f"FROM {name}",
            {"target": target, "engine": engine, "version": version},
        )
    finally:
        con.unregister(name)


def _store_translations(con: duckdb.DuckDBPyConnection, done: list[tuple[str, str]], target: str, engine: str) -> None:
    if not done:
        return
    now = datetime.now(UTC)
    table = pa.table(
        {
            "segment_hash": [digest for digest, _ in done],
            "target_lang": [target] * len(done),
            "engine": [engine] * len(done),
            "text": [text for _, text in done],
            "translated_at": pa.array([now] * len(done), pa.timestamp("us", tz="UTC")),
        }
    )
    name = f"translations_{uuid.uuid4().hex}"
    con.register(name, table)
    try:
        con.execute(
            f"INSERT INTO translations (segment_hash, target_lang, engine, text, translated_at) "
            f"SELECT DISTINCT ON (segment_hash) segment_hash, target_lang, engine, text, translated_at FROM {name} "
            f"ON CONFLICT DO NOTHING"
        )
    finally:
        con.unregister(name)


def make_engine(name: str, con: duckdb.DuckDBPyConnection, target: str, url: str | None = None, **options) -> Engine:
    """The engine called ``name``: ``glossary`` (reads the glossary table) or ``libretranslate`` (needs ``url``)."""
    if name == "glossary":
        terms = [Term(*row) for row in con.execute("SELECT term_zh, kind, term_en FROM glossary").fetchall()]
        return GlossaryEngine(terms, target)
    if name == "libretranslate":
        if not url:
            raise ValueError("the libretranslate engine needs --url http(s)://host[:port] of a LibreTranslate server")
        return LibreTranslateEngine(url, **options)
    raise ValueError(f"unknown engine {name!r}: expected glossary or libretranslate")
