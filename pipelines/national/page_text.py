"""Clean, translation-ready text from a notice body.

Decisions (the text feeds translation, the matcher and analysts' SQL, so it must be stable and readable):

* **Width.** Full-width ASCII variants (``ＡＢＣ１２３``, ``／``, ``＊``), the ideographic space, no-break spaces and
  the full-width currency signs are folded to their half-width forms (NFKC restricted to these width variants).
  Full NFKC is *not* applied to everything: it would turn ``Ⅱ`` into ``II`` in model names, ``①`` into ``1``
  (gluing list numbers onto part numbers) and ``m²`` into ``m2``.
* **Chinese punctuation stays full-width**: ``，：；（）！？`` are what a Chinese sentence is written with, they mark
  clause boundaries for segmenters and translation engines, and keeping ``，`` apart from the ASCII ``,`` leaves
  digit grouping (``1,395``) unambiguous. ``。、《》“”【】`` are not width variants and are kept as they are.
* **Layout.** Each block element (paragraph, div, heading, list item, a ``display:block`` span, a ``<br>``) is a
  line; whitespace inside a line collapses to one space; empty lines are dropped. A data-table row becomes one
  line of its cells joined by `` | `` (empty cells kept so columns stay aligned with the header row); a layout
  table (a row with a single cell, or cells holding other tables) is read as ordinary blocks.
* **Dropped.** Scripts, styles, ``<head>``/``<title>``, forms, embedded objects, images and comments.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import lxml.etree
import lxml.html

# Chinese clause punctuation kept in its full-width form (see module docstring).
KEPT_FULL_WIDTH = "，：；（）！？"


def _width_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0xFF01, 0xFF5F):
        char = chr(code)
        if char not in KEPT_FULL_WIDTH:
            table[code] = unicodedata.normalize("NFKC", char)
    for code in range(0xFFE0, 0xFFE7):  # ￠￡￢￣￤￥￦
        table[code] = unicodedata.normalize("NFKC", chr(code))
    for space in "\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000":
        table[ord(space)] = " "
    for invisible in "\u200b\u200c\u200d\u2060\ufeff\u00ad":
        table[ord(invisible)] = ""
    return table


_WIDTH = _width_table()
# Any character _WIDTH changes: most lines hold none, and a search is ten times cheaper than a translate.
_WIDE = re.compile("[" + re.escape("".join(map(chr, sorted(_WIDTH)))) + "]")
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
# White space str.split() cuts at that neither _SPACES nor the width fold (which makes the others a space) handles.
_ODD_SPACES = "\x1c\x1d\x1e\x1f\x85\u1680\u2000\u2001\u2028\u2029"
# A line without any of these only holds _SPACES' white space: " ".join(line.split()) cleans it as the width fold,
# _SPACES.sub and strip() would, without a regex pass over the line (the dearest step of the text writer).
_NOT_PLAIN = re.compile("[" + re.escape("".join(map(chr, sorted(_WIDTH))) + _ODD_SPACES) + "]")
# Characters lxml refuses (NUL, other C0 controls) and lone surrogates (undecodable input).
_UNPARSEABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
_BLOCK_STYLE = re.compile(r"display\s*:\s*block", re.IGNORECASE)

_SKIPPED_TAGS = frozenset(
    {
        "script", "style", "head", "title", "meta", "link", "noscript", "template", "iframe", "object",
        "embed", "svg", "canvas", "img", "input", "button", "select", "textarea", "option", "map", "area",
        "audio", "video", "base",
    }
)  # fmt: skip
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "address", "blockquote",
        "center", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "form",
        "fieldset", "legend", "figure", "figcaption", "caption", "hr", "html", "body", "details", "summary",
    }
)  # fmt: skip
_CELL_TAGS = frozenset({"td", "th"})
# Leaves whose text the writer does not give as it is.
_NOT_PLAIN_LEAVES = _SKIPPED_TAGS | {"br", "table"}
# Elements that start and end a line of their own.
_LINE_TAGS = _BLOCK_TAGS | _CELL_TAGS | {"tr"}
# What the writer does with an element, by its tag; other tags are inline. The parser gives tags in lower case, so
# a tag is lowered (as the writer always reads tags) only when it is not found as it is.
_INLINE, _LINE, _TABLE, _BREAK, _SKIP = range(5)
_TAG_KINDS = {  # later entries win, as the writer tests them: skipped, br, table, then line tags
    **dict.fromkeys(("span", "a", "strong", "b", "font", "em", "i", "u", "label", "sup", "sub", "small"), _INLINE),
    **dict.fromkeys(_LINE_TAGS, _LINE),
    "table": _TABLE,
    "br": _BREAK,
    **dict.fromkeys(_SKIPPED_TAGS, _SKIP),
}


def normalize_width(text: str) -> str:
    """Fold full-width variants to half-width, keeping the Chinese clause punctuation (module docstring)."""
    return text.translate(_WIDTH) if _WIDE.search(text) else text


def collapse_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def clean_line(text: str | None) -> str:
    """One line of text: width-normalized, whitespace collapsed, stripped."""
    if not text:
        return ""
    if _NOT_PLAIN.search(text):  # normalize_width and collapse_spaces, inlined: this runs for every line and value
        return _SPACES.sub(" ", text.translate(_WIDTH) if _WIDE.search(text) else text).strip()
    return " ".join(text.split())


def clean_lines(text: str) -> list[str]:
    """``clean_line`` of each line of the text, the non-empty ones. The width fold and the space runs are done once
    on the whole text (neither touches a line break), so only the strip is per line."""
    if _WIDE.search(text):
        text = text.translate(_WIDTH)
    stripped = (line.strip() for line in _SPACES_IN_LINE.sub(" ", text).split("\n"))
    return [line for line in stripped if line]


# clean_line's space runs without the line break, which the text keeps between its lines.
_SPACES_IN_LINE = re.compile(r"[ \t\r\f\v]+")


def parse_fragment(html: str | bytes) -> lxml.html.HtmlElement | None:
    """An lxml tree for an HTML fragment or document; None when there is nothing to parse."""
    if isinstance(html, bytes):
        html = _decode(html)
    html = _UNPARSEABLE.sub("", html)
    if not html.strip():
        return None
    try:
        return lxml.html.fromstring(html, parser=_PARSER)
    except (lxml.etree.ParserError, ValueError):
        return None


_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def as_element(source: Any) -> Any:
    """An lxml element for HTML text, bytes, a parsel Selector/SelectorList or an lxml element."""
    if source is None:
        return None
    if isinstance(source, str | bytes):
        return parse_fragment(source)
    if hasattr(source, "root"):  # parsel Selector: an element, or a text node selected with ::text
        return parse_fragment(source.root) if isinstance(source.root, str) else source.root
    if isinstance(source, list | tuple) or hasattr(source, "getall"):
        items = list(source)
        return as_element(items[0]) if items else None
    if isinstance(source, lxml.etree._Element):
        return source
    return None


class TreeTexts:
    """What the readers of one tree ask for more than once, computed once: each table's rows of cells, whether a
    table holds another one, each element's one-line text. Valid while the tree is not changed; one per body."""

    def __init__(self) -> None:
        self._rows: dict[Any, list[list[Any]]] = {}
        self._nested: dict[Any, bool] = {}
        self._texts: dict[Any, str] = {}

    def rows(self, table: Any) -> list[list[Any]]:
        """The cells of each of the table's own rows (an empty list for a row without cells)."""
        rows = self._rows.get(table)
        if rows is None:
            rows = self._rows[table] = [row_cells(row) for row in table_rows(table)]
        return rows

    def holds_table(self, table: Any) -> bool:
        """Whether a cell of the table's own rows holds another table."""
        nested = self._nested.get(table)
        if nested is None:
            nested = self._nested[table] = any(holds_table(cell) for cells in self.rows(table) for cell in cells)
        return nested

    def cell_text(self, element: Any) -> str:
        text = self._texts.get(element)
        if text is None:
            text = self._texts[element] = _one_line(element, self)
        return text


def holds_table(element: Any) -> bool:
    """Whether a table is inside the element (XPath ``boolean(.//table)``, without the cost of an XPath call)."""
    return next(element.iterdescendants("table"), None) is not None


def clean_text(html_or_element: Any, texts: TreeTexts | None = None) -> str:
    """The readable text of an HTML body (string, bytes, Selector or lxml element); see the module docstring.

    ``texts`` shares cell texts and table rows with the other readers of the same tree."""
    element = as_element(html_or_element)
    if element is None:
        return ""
    writer = _TextWriter(texts or TreeTexts())
    writer.walk(element, include_tail=False)
    return "\n".join(writer.finish())


def cell_text(element: Any, texts: TreeTexts | None = None) -> str:
    """All text of one element on one line (a table cell, a summary value)."""
    element = as_element(element)
    if element is None:
        return ""
    return texts.cell_text(element) if texts is not None else _one_line(element, TreeTexts())


def _one_line(element: Any, texts: TreeTexts) -> str:
    tag = element.tag
    if isinstance(tag, str) and len(element) == 0 and tag.lower() not in _NOT_PLAIN_LEAVES:
        return clean_line(element.text)  # a leaf (most cells): what the writer would make of its text
    writer = _TextWriter(texts)
    writer.walk(element, include_tail=False)
    return collapse_spaces(" ".join(writer.finish()))


class _TextWriter:
    """Walks an lxml tree, collecting inline text into lines and breaking lines at block boundaries."""

    def __init__(self, texts: TreeTexts) -> None:
        self.lines: list[str] = []
        self._pieces: list[str] = []
        self._texts = texts

    def finish(self) -> list[str]:
        self.line_break()
        return self.lines

    def line_break(self) -> None:
        if self._pieces:
            line = "".join(self._pieces)
            self._pieces.clear()  # the same list: walk holds it
            if _NOT_PLAIN.search(line):  # clean_line, inlined: this runs once per line
                line = _SPACES.sub(" ", line.translate(_WIDTH) if _WIDE.search(line) else line).strip()
            else:
                line = " ".join(line.split())
            if line:
                self.lines.append(line)

    def add(self, text: str | None) -> None:
        if text:
            self._pieces.append(text)

    def walk(self, element: Any, include_tail: bool = True) -> None:
        pieces = self._pieces
        tag = element.tag
        if isinstance(tag, str):  # else a comment or processing instruction: only its tail is text
            kind = _TAG_KINDS.get(tag)
            if kind is None:
                kind = _TAG_KINDS.get(tag.lower(), _INLINE)
            if kind == _SKIP:
                pass
            elif kind == _BREAK:
                self.line_break()
            elif kind == _TABLE:
                self.line_break()
                self._table(element)
                self.line_break()
            else:
                block = kind == _LINE or _is_styled_block(element)
                if block:
                    self.line_break()
                text = element.text
                if text:
                    pieces.append(text)
                for child in element:
                    self.walk(child)
                if block:
                    self.line_break()
        if include_tail:
            tail = element.tail
            if tail:
                pieces.append(tail)

    def _table(self, table: Any) -> None:
        nested = self._texts.holds_table(table)  # else no row's cells need asking
        for cells in self._texts.rows(table):
            if not cells:
                continue
            if len(cells) == 1 or (nested and any(holds_table(cell) for cell in cells)):
                for cell in cells:  # layout table: its cells are ordinary blocks
                    self.walk(cell, include_tail=False)
                    self.line_break()
                continue
            texts = [self._texts.cell_text(cell) for cell in cells]
            if any(texts):
                self.line_break()
                self.lines.append(" | ".join(texts))


_ROW_GROUPS = frozenset({"thead", "tbody", "tfoot"})


def table_rows(table: Any) -> list[Any]:
    """The rows of this table, not of tables nested inside it: XPath ``./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr``
    (document order, tags as written), by walking the children instead of an XPath call per table."""
    rows = []
    for child in table:
        tag = child.tag
        if tag == "tr":
            rows.append(child)
        elif tag in _ROW_GROUPS:
            rows.extend(row for row in child if row.tag == "tr")
    return rows


def row_cells(row: Any) -> list[Any]:
    # A tag as the parser gives it (lower case) is found without lowering it; a comment's tag is not a string.
    return [
        cell for cell in row if (tag := cell.tag) in _CELL_TAGS or (isinstance(tag, str) and tag.lower() in _CELL_TAGS)
    ]


def _is_styled_block(element: Any) -> bool:
    style = element.get("style")
    return bool(style) and _BLOCK_STYLE.search(style) is not None
