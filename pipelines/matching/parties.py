"""Listed parties: who a notice's buyer or supplier is on US export-control lists, and military buyers by name.

``parties.toml`` is reviewed data (each entry cited; see its header). ``identify`` names the listed party a
buyer or supplier name refers to, after normalization, and how: the party itself, a campus or a department of it,
or something that only carries its name (an affiliated school, a company), which is shown but not flagged.
Military buyers are a class decided by name patterns, apart from the lists. ``load_parties`` rewrites
``listed_parties`` and brings ``notice_parties`` (the tables the analysts' views read) up to the notices: only the
notices whose names changed, unless the party data did.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from pipelines.storage.transactions import transaction

PARTIES_PATH = Path(__file__).with_name("parties.toml")
PARTIES_ENV = "TENDERWATCH_PARTIES"
LISTS = {"entity_list": "Entity List", "meu_list": "Military End-User List", "unverified_list": "Unverified List"}
_FIELDS = ("id", "name_en", "names_zh", "aliases_zh", "list", "added", "citation", "licence_policy", "source",
           "checked")  # fmt: skip
_TEXT_FIELDS = ("id", "name_en", "list", "citation", "licence_policy", "source", "checked")
# Raise when the identification below changes what it says of a name: every notice is then identified again (as
# when parties.toml changes), not only the new and changed ones.
IDENTIFY_VERSION = 1

# Company-form suffixes say nothing about who the party is; longest first.
_COMPANY_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "股份公司", "公司")
_LEADING_MILITARY = "中国人民解放军"
# What follows a party's name when the unit is part of it: campus in brackets, a school, a hospital, a lab…
_CAMPUS = re.compile(r"^\(([^()]{1,12})\)")
_PART_OF = re.compile(
    r"^[\u4e00-\u9fff0-9a-z]{0,16}?(?:学院|学部|研究院|研究所|研究中心|中心|实验室|医院|附属医院|系|部|处|馆|校区|分校|研究生院)$"
)
# Not the party although it carries its name: schools run by a university, separate companies.
_CARRIES_NAME = re.compile(
    r"(?:附属中学|附属小学|附属幼儿园|附中|附小|实验学校|中学|小学|幼儿园|公司|集团|基金会|出版社)$"
)


@dataclass(frozen=True)
class Party:
    id: str
    name_en: str
    names_zh: tuple[str, ...]
    aliases_zh: tuple[str, ...]
    list: str
    added: date | None
    citation: str
    licence_policy: str
    source: str
    checked: str
    # Institutions that carry the party's name but are separate (independent colleges): never the party.
    distinct_zh: tuple[str, ...] = ()


@dataclass(frozen=True)
class PartyData:
    parties: tuple[Party, ...]
    military_patterns: tuple[re.Pattern[str], ...]
    military_why: str
    # A digest of the file's text: notice_parties rows identified with other data are identified again.
    version: str = ""


@dataclass(frozen=True)
class Identified:
    """What a notice's party name is: a listed party (``party``, with ``relation``) and/or military by name."""

    party: Party | None
    relation: (
        str | None
    )  # "itself", "campus (深圳)", "part of it (华西医院)", "carries its name (附属中学): not listed"
    listed: bool  # the listed party itself or a part of it, not something that only carries its name
    military: bool


def configured_path() -> Path:
    return Path(os.environ.get(PARTIES_ENV) or PARTIES_PATH)


def normalize_name(name: str) -> str:
    """Half-width, no spaces, round brackets, no company-form suffix, no leading 中国人民解放军."""
    text = unicodedata.normalize("NFKC", name or "").strip().lower()
    text = re.sub(r"\s+", "", text).replace("[", "(").replace("]", ")").replace("【", "(").replace("】", ")")
    text = re.sub(r"\(股份\)", "", text)
    for form in _COMPANY_FORMS:
        if text.endswith(form) and len(text) > len(form) + 1:
            text = text[: -len(form)]
            break
    if text.startswith(_LEADING_MILITARY) and len(text) > len(_LEADING_MILITARY) + 1:
        text = text[len(_LEADING_MILITARY) :]
    return text


def _is_company(name: str) -> bool:
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))
    return text.endswith(_COMPANY_FORMS)


def read_parties(path: Path | None = None) -> PartyData:
    """The party data; a malformed file raises ValueError naming the file, the entry and the reason in one line."""
    path = path or configured_path()
    try:
        text = path.read_text(encoding="utf-8")
        document = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read the listed-party file {path}: {' '.join(str(error).split())}") from None
    unknown = set(document) - {"parties", "military"}
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}; expected [military] and [[parties]]")
    military = document.get("military", {})
    patterns = military.get("patterns") if isinstance(military, dict) else None
    if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) for p in patterns):
        raise ValueError(f"{path}: [military] needs 'patterns', a list of regexes")
    try:
        compiled = tuple(re.compile(p) for p in patterns)
    except re.error as error:
        raise ValueError(f"{path}: [military] pattern {error.pattern!r}: {error}") from None
    parties: list[Party] = []
    seen_names: dict[str, str] = {}
    for number, entry in enumerate(document.get("parties", []), start=1):
        label = entry.get("id") if isinstance(entry, dict) and isinstance(entry.get("id"), str) else f"#{number}"
        where = f"{path}: party {label}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: must be a [[parties]] table")
        extra = set(entry) - set(_FIELDS) - {"distinct_zh"}
        missing = [name for name in _FIELDS if name not in entry]
        if extra or missing:
            raise ValueError(f"{where}: unknown keys {sorted(extra)}, missing keys {missing}; expected {list(_FIELDS)}")
        for name in _TEXT_FIELDS:
            if not isinstance(entry[name], str) or not entry[name].strip():
                raise ValueError(f"{where}: {name} must be a non-empty string")
        if entry["list"] not in LISTS:
            raise ValueError(f"{where}: list {entry['list']!r} is not one of {sorted(LISTS)}")
        if entry["checked"] not in ("primary", "secondary"):
            raise ValueError(f"{where}: checked must be primary or secondary")
        added = entry["added"]
        if not (isinstance(added, date) or added == "unknown"):
            raise ValueError(f'{where}: added must be a date (YYYY-MM-DD) or "unknown"')
        names = []
        for key in ("names_zh", "aliases_zh"):
            value = entry[key]
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise ValueError(f"{where}: {key} must be a list of non-empty strings")
            names.append(tuple(v.strip() for v in value))
        if not names[0]:
            raise ValueError(f"{where}: names_zh must name the party at least once")
        for name in (*names[0], *names[1]):
            key = normalize_name(name)
            if len(key) < 2:
                raise ValueError(f"{where}: name {name!r} is too short to name one party")
            if seen_names.get(key, entry["id"]) != entry["id"]:
                raise ValueError(f"{where}: name {name!r} is already party {seen_names[key]}")
            seen_names[key] = entry["id"]
        parties.append(
            Party(
                entry["id"],
                entry["name_en"].strip(),
                names[0],
                names[1],
                entry["list"],
                added if isinstance(added, date) else None,
                entry["citation"],
                entry["licence_policy"],
                entry["source"],
                entry["checked"],
                _distinct(entry, where),
            )  # fmt: skip
        )
    version = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return PartyData(tuple(parties), compiled, str(military.get("why", "")), version)


def _distinct(entry: dict, where: str) -> tuple[str, ...]:
    value = entry.get("distinct_zh", [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{where}: distinct_zh must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


class Identifier:
    """Names → listed party and military flag; one instance per run (it caches by name)."""

    def __init__(self, data: PartyData) -> None:
        self.data = data
        # Longest names first: 中国电子科技集团公司第五十四研究所 before a shorter name it contains.
        self._names = sorted(
            ((normalize_name(n), p) for p in data.parties for n in (*p.names_zh, *p.aliases_zh)),
            key=lambda item: -len(item[0]),
        )
        self._distinct = {normalize_name(n): p for p in data.parties for n in p.distinct_zh}
        self._cache: dict[str, Identified] = {}

    def military(self, name: str) -> bool:
        text = unicodedata.normalize("NFKC", name or "")
        return any(pattern.search(text) for pattern in self.data.military_patterns)

    def identify(self, name: str | None) -> Identified:
        if not name or not name.strip():
            return Identified(None, None, False, False)
        if name not in self._cache:
            self._cache[name] = self._identify(name)
        return self._cache[name]

    def _identify(self, name: str) -> Identified:
        military = self.military(name)
        key = normalize_name(name)
        if key in self._distinct:
            party = self._distinct[key]
            return Identified(party, "a separate institution carrying its name: not the listed party", False, military)
        for party_key, party in self._names:
            if key == party_key:
                return Identified(party, "itself", True, military)
            if not key.startswith(party_key):
                continue
            if _is_company(name):
                return Identified(party, "a company carrying its name: not the listed party", False, military)
            rest = key[len(party_key) :]
            if (campus := _CAMPUS.match(rest)) and rest == campus.group(0):
                return Identified(party, f"campus ({campus.group(1)})", True, military)
            if _CARRIES_NAME.search(rest):
                return Identified(party, f"carries its name ({rest}): not the listed party", False, military)
            if _PART_OF.match(rest):
                return Identified(party, f"part of it ({rest})", True, military)
        return Identified(None, None, False, military)


_NOTICE_PARTY_COLUMNS = [
    ("source", "string"), ("notice_id", "string"), ("role", "string"), ("name", "string"),
    ("party_id", "string"), ("party_name_en", "string"), ("list_name", "string"),
    ("relation", "string"), ("listed", "bool"), ("military", "bool"),
]  # fmt: skip
# What a notice's parties are identified from: its buyer and its suppliers' names.
_NAMES = "[s.name FOR s IN coalesce(n.suppliers, []) IF s.name IS NOT NULL]"
_NAMES_HASH = f"hash(n.buyer, {_NAMES})"


def load_parties(con: duckdb.DuckDBPyConnection, path: Path | None = None) -> PartyData:
    """Replace ``listed_parties`` with the file and bring ``notice_parties`` up to the notices.

    ``party_keys`` keeps a hash of each notice's names and the party data they were identified with, so a night
    identifies only the new notices and those whose buyer or suppliers changed (the comparison is one pass in SQL),
    and drops the rows of deleted notices; when the file or the identification changes, every notice again.
    """
    # pyarrow here, not at the top: match-text loads this module and never writes parties.
    import pyarrow as pa

    data = read_parties(path)
    version = f"{IDENTIFY_VERSION}:{data.version}"
    changed = con.sql(
        f"""
        SELECT n.source, n.notice_id, n.buyer, {_NAMES} AS suppliers, {_NAMES_HASH} AS names_hash
        FROM notices n LEFT JOIN party_keys k USING (source, notice_id)
        WHERE k.notice_id IS NULL OR k.names_hash <> {_NAMES_HASH} OR k.identified_with <> $version
        """,
        params={"version": version},
    ).to_arrow_table()
    gone = con.sql(
        "SELECT k.source, k.notice_id FROM party_keys k ANTI JOIN notices n USING (source, notice_id)"
    ).to_arrow_table()
    identifier = Identifier(data)
    found = []
    for row in changed.select(["source", "notice_id", "buyer", "suppliers"]).to_pylist():
        for role, name in [("buyer", row["buyer"]), *(("supplier", s) for s in row["suppliers"])]:
            who = identifier.identify(name)
            if who.party is None and not who.military:
                continue
            party = who.party
            found.append({
                "source": row["source"], "notice_id": row["notice_id"], "role": role, "name": name,
                "party_id": party.id if party else None, "party_name_en": party.name_en if party else None,
                "list_name": LISTS[party.list] if party and who.listed else None, "relation": who.relation,
                "listed": who.listed, "military": who.military,
            })  # fmt: skip
    names = {
        "changed": changed.select(["source", "notice_id", "names_hash"]),
        "gone": gone,
        "found": pa.Table.from_pylist(found, schema=pa.schema(_NOTICE_PARTY_COLUMNS)),
    }
    for name, table in names.items():
        con.register(f"parties_{name}", table)
    try:
        with transaction(con):
            con.execute("DELETE FROM listed_parties")
            con.executemany(
                "INSERT INTO listed_parties VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        p.id,
                        p.name_en,
                        list(p.names_zh),
                        list(p.aliases_zh),
                        LISTS[p.list],
                        p.added,
                        p.citation,
                        p.licence_policy,
                        p.source,
                        p.checked,
                    )
                    for p in data.parties
                ],  # fmt: skip
            )
            if changed.num_rows or gone.num_rows:
                for keys in ("parties_changed", "parties_gone"):
                    con.execute(f"DELETE FROM notice_parties p USING {keys} k "
                                "WHERE p.source = k.source AND p.notice_id = k.notice_id")  # fmt: skip
                con.execute("INSERT OR IGNORE INTO notice_parties SELECT * FROM parties_found")
                con.execute("DELETE FROM party_keys p USING parties_gone k "
                            "WHERE p.source = k.source AND p.notice_id = k.notice_id")  # fmt: skip
                con.execute(
                    "INSERT OR REPLACE INTO party_keys SELECT source, notice_id, names_hash, ? FROM parties_changed",
                    [version],
                )
    finally:
        for name in names:
            con.unregister(f"parties_{name}")
    return data
