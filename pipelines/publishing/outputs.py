"""The night's outputs besides Markdown and CSV: a self-contained HTML page, JSON, and the cumulative Atom feed.

Every string that came from a portal is untrusted. HTML escapes it (and the page's Content-Security-Policy forbids
scripts and remote loads, should an escape ever be missed); the feed is built with an XML serializer, which escapes;
links are only ever http(s).
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pipelines.model import HEALTHY_VERDICTS

CATEGORY_LABELS = {
    "ai_chip": "AI chips and servers",
    "cloud_compute": "Remote compute (cloud GPUs, leasing)",
    "llm_tokens": "LLM API and tokens",
    "ai_compute_unspecified": "Unnamed AI compute (to follow up)",
}
# Notices that buy GPU/AI compute without naming a chip, cloud or model (pipelines/matching/rules.toml): a lead, not
# a restricted purchase, so the digest lists them apart, after the matches.
UNNAMED_COMPUTE = "ai_compute_unspecified"
CATEGORY_COLOURS = {"ai_chip": "#1f77b4", "cloud_compute": "#ff7f0e", "llm_tokens": "#2ca02c"}
OTHER_COLOUR = "#7f7f7f"
TIERS = ("strong", "review")
SHANGHAI = ZoneInfo("Asia/Shanghai")

# XML 1.0 forbids most control characters; a stray one in a scraped page would make the whole feed unreadable.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def esc(value: object) -> str:
    """Text for HTML element content or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def http_url(url: object) -> str | None:
    """The URL when it is http(s), else None: no javascript:, data: or relative links from scraped pages."""
    if not isinstance(url, str) or not re.match(r"https?://[^\s/]", url, re.IGNORECASE):
        return None
    return url.replace(" ", "%20")


def joined(values) -> str:
    """A list as one comma-separated string, empty values left out."""
    return ", ".join(str(v) for v in values or [] if v)


def _money(value) -> str:
    return f"{value:,.2f} CNY" if value is not None else ""


def _shanghai_time(value: datetime | None) -> str:
    # Portal time; "CST" would be ambiguous (US Central), so the offset is spelled out.
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M (UTC+8)") if value else ""


def night_sources(sources: list[dict] | None) -> list[dict]:
    """The night's source health (source, verdict, reason), the unhealthy ones first, each marked ``healthy``."""
    marked = [{**source, "healthy": source.get("verdict") in HEALTHY_VERDICTS} for source in sources or []]
    return sorted(marked, key=lambda source: source["healthy"])


def unhealthy_sources(sources: list[dict] | None) -> list[dict]:
    return [source for source in night_sources(sources) if not source["healthy"]]


def health_line(sources: list[dict] | None) -> str:
    """One line for a subject or a feed: the unhealthy sources and why, or that every source was healthy."""
    bad = unhealthy_sources(sources)
    if bad:
        return "UNHEALTHY SOURCES: " + "; ".join(f"{s['source']} {s['verdict']} ({s['reason']})" for s in bad)
    return "all sources healthy: " + ", ".join(f"{s['source']} {s['verdict']}" for s in night_sources(sources))


def split_unnamed(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """(matches, unnamed AI compute): a notice whose only category is unnamed compute goes to the second list."""
    unnamed = [row for row in rows if set(row.get("categories") or []) == {UNNAMED_COMPUTE}]
    return [row for row in rows if row not in unnamed], unnamed


# A budget is what the buyer may spend, an award what it agreed to pay: the digest never calls either "Amount".
_AMOUNT_LABELS = {"award": "Award", "budget": "Budget"}


TIER_LEGEND = (
    "strong = published automatically (a restricted model or foreign compute named with purchase context); "
    "review = published, worth a check; weak hits are kept in the database, not published. "
    "Marked first: a restricted chip bought by a US-listed or military buyer, then purchases from a listed "
    "supplier or a known intermediary."
)


def flag_line(row: dict) -> str:
    """The mark of a priority match: who is listed or military, in English (empty for the rest)."""
    flags = []
    if row.get("buyer_list"):
        relation = row.get("buyer_relation") or ""
        flags.append(
            f"LISTED BUYER: {row.get('buyer_party_en')} ({row['buyer_list']}"
            + (f"; {relation}" if relation and relation != "itself" else "")
            + ")"
        )
    elif row.get("buyer_party_en") and row.get("buyer_relation"):
        flags.append(f"Buyer carries a listed name: {row['buyer_party_en']} ({row['buyer_relation']})")
    if row.get("buyer_military"):
        flags.append("MILITARY BUYER (by its name)")
    if row.get("suppliers_listed"):
        flags.append("LISTED SUPPLIER: " + ", ".join(row["suppliers_listed"]))
    if row.get("watched_suppliers"):
        flags.append("KNOWN INTERMEDIARY: " + ", ".join(row["watched_suppliers"]))
    if row.get("priority") == 1:
        flags.insert(0, "PRIORITY: restricted chip, listed or military buyer")
    if row.get("withdrawn"):
        flags.insert(0, f"WITHDRAWN: no longer matched under the current rules (now {row.get('current_tier')})")
    return " | ".join(flags)


def merged_evidence(snippets: list[str] | None) -> list[str]:
    """One snippet per place: a snippet inside another is dropped, two that overlap are joined into one.

    The matcher cuts each snippet where no number, model name or ASCII word is split, so a join is cut there too.
    """
    kept: list[str] = []
    for snippet in snippets or []:
        flat = " ".join(str(snippet).split())
        if not flat:
            continue
        kept.append(flat)
        merged = True
        while merged:  # a join can make a snippet meet another one kept before
            merged = False
            for i in range(len(kept)):
                for j in range(i + 1, len(kept)):
                    joined = _joined(kept[i], kept[j])
                    if joined is not None:
                        kept[i] = joined
                        del kept[j]
                        merged = True
                        break
                if merged:
                    break
    return kept


# Two snippets are one place when one ends with at least this much of the other's start: a shared model name
# ("A800服务器") is not enough; the matcher's windows (40 characters each side) share far more.
_MIN_OVERLAP = 12


def _joined(one: str, other: str) -> str | None:
    """``one`` and ``other`` as one snippet when one holds the other or they overlap enough, else None."""
    if other in one:
        return one
    if one in other:
        return other
    for first, second in ((one, other), (other, one)):
        for size in range(min(len(first), len(second)) - 1, _MIN_OVERLAP - 1, -1):
            if first.endswith(second[:size]):
                return first + second[size:]
    return None


def with_english(chinese: str | None, english: str | None) -> str:
    if not chinese:
        return ""
    return f"{english} ({chinese})" if english and english != chinese else chinese


def match_facts(row: dict) -> list[tuple[str, str]]:
    """Label and value of every fact shown for a match, in reading order, empty ones left out (all output formats)."""
    suppliers = row.get("suppliers") or []
    english = row.get("suppliers_en") or [None] * len(suppliers)
    facts = [
        ("Buyer", with_english(row.get("buyer"), row.get("buyer_en"))),
        ("Supplier(s)", "; ".join(with_english(s, e) for s, e in zip(suppliers, english, strict=False) if s)),
        ("Licence", row.get("licence_statement") or ""),
        ("Why", row.get("reason") or ""),
        ("Same process", joined(row.get("same_process"))),
        ("Known intermediary", joined(row.get("watched_suppliers"))),
        (_AMOUNT_LABELS.get(row.get("amount_kind"), "Amount"), _money(row.get("amount_cny"))),
        ("Model(s)", joined(row.get("models"))),
        ("Quantity", joined(row.get("quantities"))),
        ("Provider(s)", joined(row.get("providers"))),
        ("Tokens", f"{row['tokens']:,}" if row.get("tokens") else ""),
        ("Notice type", row.get("notice_type_en") or ""),
        ("Published", _shanghai_time(row.get("published_at"))),
        ("Categories", joined(row.get("categories"))),
    ]
    return [(label, value) for label, value in facts if value]


# --- HTML --------------------------------------------------------------------------------------------------------

_STYLE = """
body{font:15px/1.45 system-ui,"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:2rem auto;
max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem}
table.counts{border-collapse:collapse}table.counts td,table.counts th{border:1px solid #ccc;padding:.2rem .6rem;
text-align:right}table.counts th:first-child,table.counts td:first-child{text-align:left}
article{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
article h3{margin:.2rem 0;font-size:1.1rem}.tier{font-size:.8rem;padding:.1rem .4rem;border-radius:4px;
background:#eee;margin-right:.4rem}.tier-strong{background:#fdd}.title-en{color:#444;margin:.2rem 0}
dl{display:grid;grid-template-columns:9rem 1fr;gap:.1rem .8rem;margin:.4rem 0}dt{color:#666}dd{margin:0}
blockquote{margin:.4rem 0;padding:.3rem .8rem;border-left:3px solid #ccc;background:#fafafa}
svg text{font:11px system-ui,sans-serif;fill:#333}
.unhealthy{background:#fdd;border:1px solid #c00;border-radius:6px;padding:.4rem .8rem}li.unhealthy{margin:.2rem 0}
.flag{background:#fdd;border-left:4px solid #c00;padding:.2rem .6rem;font-weight:600}
.title-zh{color:#444;margin:.2rem 0}
"""
# Defence in depth: even an unescaped tag could not run a script or fetch anything.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render_html(
    publish_date: date,
    rows: list[dict],
    new: int,
    chart: dict[date, dict[str, int]],
    title: str = "tenderwatch",
    sources: list[dict] | None = None,
) -> str:
    heading = f"{title} digest, {publish_date.isoformat()}"
    rows, unnamed = split_unnamed(rows)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(heading)}</title><style>{_STYLE}</style></head><body>",
        f"<header><h1>{esc(heading)}</h1>",
        f"<p>{len(rows)} matched notice(s) for this date, {new} new in the latest run"
        f"{f'; {len(unnamed)} unnamed AI-compute notice(s) to follow up' if unnamed else ''}.</p></header>",
        *_sources_section(sources),
        '<section id="summary"><h2>Summary</h2>',
        _counts_table(rows),
        "</section>",
        '<section id="timeline"><h2>Matches over time</h2>',
        "<p>Published matches per week of the notice's publication date, by category.</p>",
        chart_svg(chart),
        "</section>",
        '<section id="matches"><h2>Matches</h2>',
        f'<p class="legend">Tiers: {esc(TIER_LEGEND)}</p>',
    ]
    if not rows:
        parts.append("<p>No matched notices were published for this date.</p>")
    parts += [_match_article(row) for row in rows]
    parts.append("</section>")
    parts += _unnamed_section(unnamed)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _unnamed_section(rows: list[dict]) -> list[str]:
    """One line per notice that buys AI compute without naming it: where to look next, not a finding."""
    if not rows:
        return []
    parts = [
        '<section id="unnamed-compute"><h2>Unnamed AI compute (to follow up)</h2>',
        "<p>These notices buy GPU or AI compute without naming a chip, a cloud or a model. They are not restricted "
        "purchases: follow them to the award notice and the attachments.</p><ul>",
    ]
    for row in rows:
        facts = "; ".join(f"{label}: {value}" for label, value in match_facts(row) if label in ("Buyer", "Published"))
        link = http_url(row.get("url"))
        anchor = f' <a href="{esc(link)}" rel="noopener noreferrer nofollow">link</a>' if link else ""
        headline = f'<span lang="en">{esc(row.get("headline_en"))}</span>: ' if row.get("headline_en") else ""
        english = f' <span lang="en">({esc(row["title_en"])})</span>' if row.get("title_en") else ""
        parts.append(f'<li>{headline}<span lang="zh">{esc(row.get("title"))}</span>{english} {esc(facts)}{anchor}</li>')
    parts.append("</ul></section>")
    return parts


def _sources_section(sources: list[dict] | None) -> list[str]:
    """The night's source health, unhealthy sources first and flagged: an empty night must not look like a quiet one."""
    if not sources:
        return []
    parts = ['<section id="sources"><h2>Sources</h2>']
    bad = unhealthy_sources(sources)
    if bad:
        names = ", ".join(s["source"] for s in bad)
        parts.append(f'<p class="unhealthy"><strong>Unhealthy sources: {esc(names)}.</strong> Notices they '
                     "published tonight are missing from this digest until a crawl succeeds.</p>")  # fmt: skip
    parts.append("<ul>")
    for source in night_sources(sources):
        mark = "" if source["healthy"] else ' class="unhealthy"'
        parts.append(f"<li{mark}><strong>{esc(source['source'])}</strong>: {esc(source['verdict'])}: "
                     f"{esc(source.get('reason'))}</li>")  # fmt: skip
    parts.append("</ul></section>")
    return parts


def _counts_table(rows: list[dict]) -> str:
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        for category in row.get("categories") or []:
            per_tier = counts.setdefault(category, {})
            per_tier[row["tier"]] = per_tier.get(row["tier"], 0) + 1
    header = "".join(f"<th>{esc(tier)}</th>" for tier in TIERS)
    lines = [f'<table class="counts"><thead><tr><th>category</th>{header}<th>total</th></tr></thead><tbody>']
    for category in sorted(counts):
        cells = "".join(f"<td>{counts[category].get(tier, 0)}</td>" for tier in TIERS)
        label = CATEGORY_LABELS.get(category, category)
        total = sum(counts[category].values())
        lines.append(f'<tr><td title="{esc(category)}">{esc(label)}</td>{cells}<td>{total}</td></tr>')
    tier_totals = "".join(f"<td>{sum(1 for r in rows if r['tier'] == tier)}</td>" for tier in TIERS)
    lines.append(f"<tr><th>notices</th>{tier_totals}<td>{len(rows)}</td></tr></tbody></table>")
    return "\n".join(lines)


def _match_article(row: dict) -> str:
    anchor = re.sub(r"[^A-Za-z0-9_-]", "-", f"m-{row['source']}-{row['notice_id']}")
    tier = row.get("tier") or ""
    lines = [
        f'<article class="match" id="{esc(anchor)}">',
        f'<h3><span class="tier tier-{esc(tier)}">{esc(tier)}</span>'
        f'<span lang="en">{esc(row.get("headline_en") or row.get("title"))}</span></h3>',
        f'<p class="title-zh" lang="zh">{esc(row.get("title"))}</p>',
    ]
    flag = flag_line(row)
    if flag:
        lines.append(f'<p class="flag">{esc(flag)}</p>')
    if row.get("title_en"):
        lines.append(f'<p class="title-en" lang="en">{esc(row["title_en"])}</p>')
    lines.append("<dl>")
    lines += [f"<dt>{esc(label)}</dt><dd>{esc(value)}</dd>" for label, value in match_facts(row)]
    lines.append("</dl>")
    for snippet in merged_evidence(row.get("evidence"))[:3]:
        lines.append(f'<blockquote lang="zh">{esc(snippet)}</blockquote>')
    link = http_url(row.get("url"))
    if link:
        lines.append(f'<p><a href="{esc(link)}" rel="noopener noreferrer nofollow">{esc(link)}</a></p>')
    lines.append("</article>")
    return "\n".join(lines)


def chart_svg(series: dict[date, dict[str, int]], width: int = 720, height: int = 240) -> str:
    """Grouped bars: one group per week, one bar per category; inline SVG, no script."""
    categories = sorted({c for counts in series.values() for c in counts} | set(CATEGORY_COLOURS))
    weeks = sorted(series)
    top = max([count for counts in series.values() for count in counts.values()] + [1])
    left, right, above, below = 32, 10, 10, 44
    plot_w, plot_h = width - left - right, height - above - below
    group_w = plot_w / max(len(weeks), 1)
    bar_w = max(group_w * 0.8 / len(categories), 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Matches per week by category">'
    ]
    for value in sorted({0, (top + 1) // 2, top}):
        y = above + plot_h - plot_h * value / top
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    for index, week in enumerate(weeks):
        x0 = left + index * group_w + group_w * 0.1
        for position, category in enumerate(categories):
            count = series[week].get(category, 0)
            if not count:
                continue
            bar_h = plot_h * count / top
            colour = CATEGORY_COLOURS.get(category, OTHER_COLOUR)
            out.append(
                f'<rect class="bar" data-category="{esc(category)}" data-week="{week.isoformat()}" '
                f'x="{x0 + position * bar_w:.1f}" y="{above + plot_h - bar_h:.1f}" width="{bar_w:.1f}" '
                f'height="{bar_h:.1f}" fill="{colour}"><title>week of {week.isoformat()}: {esc(category)} '
                f"{count}</title></rect>"
            )
        if len(weeks) <= 16 or index % 2 == 0:
            label_x = left + (index + 0.5) * group_w
            out.append(f'<text x="{label_x:.1f}" y="{above + plot_h + 14}" text-anchor="middle">{week:%m-%d}</text>')
    legend_x = left
    for category in categories:
        colour = CATEGORY_COLOURS.get(category, OTHER_COLOUR)
        out.append(f'<rect x="{legend_x}" y="{height - 16}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{legend_x + 14}" y="{height - 7}">{esc(category)}</text>')
        legend_x += 24 + 7 * len(category)
    out.append("</svg>")
    return "\n".join(out)


# --- JSON --------------------------------------------------------------------------------------------------------

JSON_FIELDS = (
    "source", "notice_id", "publish_date", "tier", "categories", "title", "title_en", "notice_type_en",
    "published_at", "buyer", "suppliers", "watched_suppliers", "amount_cny", "amount_kind", "models", "quantities",
    "providers", "tokens", "evidence", "url", "headline_en", "buyer_en", "suppliers_en", "licence_statement", "reason",
    "priority", "buyer_party_en", "buyer_list", "buyer_relation", "buyer_military", "suppliers_listed", "same_process",
    "withdrawn",
)  # fmt: skip


def json_ready(row: dict) -> dict:
    """A ledger row as JSON values: money as a decimal string (no float rounding), times as ISO 8601."""
    out = {}
    for name in JSON_FIELDS:
        value = row.get(name)
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, datetime | date):
            value = value.isoformat()
        out[name] = value
    out["url"] = http_url(out["url"])
    return out


SOURCE_FIELDS = ("source", "verdict", "reason", "finished_at")


def digest_payload(publish_date: date, rows: list[dict], new: int, sources: list[dict] | None = None) -> dict:
    """The JSON of a night: its matches, and the health of every source it crawled (unhealthy first)."""
    ordered = night_sources(sources)
    return {
        "date": publish_date.isoformat(),
        "new": new,
        "total": len(rows),
        "unhealthy": [source["source"] for source in ordered if not source["healthy"]],
        "sources": [{name: source.get(name) for name in SOURCE_FIELDS} for source in ordered],
        "matches": [json_ready(row) for row in rows],
    }


def render_json(publish_date: date, rows: list[dict], new: int, sources: list[dict] | None = None) -> bytes:
    payload = digest_payload(publish_date, rows, new, sources)
    return (json.dumps(payload, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


# --- Atom --------------------------------------------------------------------------------------------------------

ATOM = "http://www.w3.org/2005/Atom"


def entry_id(source: str, notice_id: str, authority: str, tag_date: str) -> str:
    """A tag: URI (RFC 4151) that stays the same for a notice however often the feed is rebuilt."""
    return f"tag:{authority},{tag_date}:notice/{quote(source, safe='')}/{quote(notice_id, safe='')}"


def _xml_text(value: object) -> str:
    return _XML_ILLEGAL.sub("", "" if value is None else str(value))


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry_html(row: dict) -> str:
    flag = f"<p><strong>{esc(flag_line(row))}</strong></p>" if flag_line(row) else ""
    facts = flag + "".join(f"<li>{esc(label)}: {esc(value)}</li>" for label, value in match_facts(row))
    evidence = "".join(
        f"<blockquote>{esc(snippet)}</blockquote>" for snippet in merged_evidence(row.get("evidence"))[:2]
    )
    title_en = f"<p>{esc(row['title_en'])}</p>" if row.get("title_en") else ""
    title_zh = f'<p lang="zh">{esc(row.get("title"))}</p>' if row.get("title") else ""
    return f"{title_zh}{title_en}<ul>{facts}</ul>{evidence}"


def render_atom(
    rows: list[dict],
    title: str,
    authority: str,
    tag_date: str,
    night: date | None = None,
    sources: list[dict] | None = None,
) -> bytes:
    """The cumulative feed; ``rows`` come from the ledger, newest first. Content is deterministic per ledger.

    The latest night's source health is the feed's subtitle; when a source was unhealthy that night the feed also
    carries an entry saying so (first), since feed readers show entries, not subtitles.
    """
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    fallback = datetime(2000, 1, 1, tzinfo=UTC)
    updated = max((row["entered_at"] for row in rows if row.get("entered_at")), default=fallback)
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"tag:{authority},{tag_date}:feed"
    ET.SubElement(feed, f"{{{ATOM}}}title").text = _xml_text(title)
    alert = _health_entry(night, sources, authority, tag_date) if night and sources else None
    if night and sources:
        ET.SubElement(feed, f"{{{ATOM}}}subtitle").text = _xml_text(f"{night.isoformat()}: {health_line(sources)}")
    if alert is not None:
        updated = max(updated, _night_moment(night, sources))
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _rfc3339(updated)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "tenderwatch"
    ET.SubElement(feed, f"{{{ATOM}}}generator").text = "tenderwatch"
    if alert is not None:
        feed.append(alert)
    for row in rows:
        feed.append(_atom_entry(row, authority, tag_date, fallback))
    body = ET.tostring(feed, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n").encode("utf-8")


def _night_moment(night: date, sources: list[dict]) -> datetime:
    """When the night's crawls ended (its date at midnight UTC when they did not say): a time fixed per night."""
    finished = [datetime.fromisoformat(s["finished_at"]) for s in sources if s.get("finished_at")]
    return max(finished) if finished else datetime(night.year, night.month, night.day, tzinfo=UTC)


def _health_entry(night: date, sources: list[dict], authority: str, tag_date: str) -> ET.Element | None:
    """An entry for a night with an unhealthy source (one id per night), or None when every source was healthy."""
    bad = unhealthy_sources(sources)
    if not bad:
        return None
    entry = ET.Element(f"{{{ATOM}}}entry")
    ET.SubElement(entry, f"{{{ATOM}}}id").text = f"tag:{authority},{tag_date}:health/{night.isoformat()}"
    names = ", ".join(f"{s['source']} {s['verdict']}" for s in bad)
    ET.SubElement(entry, f"{{{ATOM}}}title").text = _xml_text(f"[unhealthy] {night.isoformat()}: {names}")
    ET.SubElement(entry, f"{{{ATOM}}}updated").text = _rfc3339(_night_moment(night, sources))
    ET.SubElement(entry, f"{{{ATOM}}}category", term="source-health")
    items = "".join(
        f"<li>{esc(s['source'])}: {esc(s['verdict'])}: {esc(s.get('reason'))}</li>" for s in night_sources(sources)
    )
    content = ET.SubElement(entry, f"{{{ATOM}}}content", type="html")
    content.text = _xml_text(f"<ul>{items}</ul>")
    return entry


def feed_heading(row: dict) -> str:
    """An entry's title as feed readers list it: the English headline, the Chinese title beside it."""
    chinese = " ".join(str(row.get("title") or "").split())
    english = row.get("headline_en") or row.get("title_en")
    if english and chinese:
        return f"{english} ({chinese})"
    return english or chinese or f"{row['source']} notice {row['notice_id']}"


def _atom_entry(row: dict, authority: str, tag_date: str, fallback: datetime) -> ET.Element:
    entry = ET.Element(f"{{{ATOM}}}entry")
    ET.SubElement(entry, f"{{{ATOM}}}id").text = entry_id(row["source"], row["notice_id"], authority, tag_date)
    heading = feed_heading(row)
    mark = "[withdrawn] " if row.get("withdrawn") else ""
    ET.SubElement(entry, f"{{{ATOM}}}title").text = _xml_text(f"{mark}[{row.get('tier')}] {heading}")
    ET.SubElement(entry, f"{{{ATOM}}}updated").text = _rfc3339(row.get("entered_at") or fallback)
    if row.get("published_at"):
        ET.SubElement(entry, f"{{{ATOM}}}published").text = _rfc3339(row["published_at"])
    link = http_url(row.get("url"))
    if link:
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=_xml_text(link))
    for category in row.get("categories") or []:
        ET.SubElement(entry, f"{{{ATOM}}}category", term=_xml_text(category))
    content = ET.SubElement(entry, f"{{{ATOM}}}content", type="html")
    content.text = _xml_text(_entry_html(row))
    return entry
