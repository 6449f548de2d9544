"""The text writer's shortcuts give what the slower forms they replace gave (issue 14, parse once)."""

from __future__ import annotations

import re

import lxml.etree
import lxml.html
import pytest

from pipelines.national.page_text import (
    clean_line,
    clean_lines,
    clean_text,
    holds_table,
    normalize_width,
    row_cells,
    table_rows,
)

# Width variants, every kind of space run, invisible characters, blank and space-only lines, a lone \r.
TEXTS = [
    "",
    "\n\n",
    "项目编号：ＺＣ２０２６－０１\n\n  采购人：\u3000某大学\u00a0 \n",
    "a\tb\r\nc\fd\ve  \n\u200b\n\ufeff预算金额：１，２００万元",
    "第１包\u2003：\u2002服务器 | ８ | 台 |  | \n中标金额（元）：￥１２３",
    "\r\n \u3000 \r\n\u00ad",
    "单行",
]


@pytest.mark.parametrize("text", TEXTS)
def test_clean_lines_is_clean_line_of_each_line(text):
    expected = [line for line in (clean_line(raw) for raw in text.split("\n")) if line]
    assert clean_lines(text) == expected


_HOLDS_TABLE = lxml.etree.XPath("boolean(.//table)")
# (fragment, how many of its elements hold a table below them)
FRAGMENTS = [
    ("<table><tr><td>a</td><td><table><tr><td>b</td></tr></table></td></tr></table>", 5),  # html body table tr td
    # html body table tr td div: the parser closes the <p> before the inner table
    ("<table><tr><td><div><p><table><tr><td>deep</td></tr></table></p></div></td></tr></table>", 6),
    ("<table><tr><td>plain</td><td><!-- a comment --><span>x</span></td></tr></table>", 2),  # html, body
    ("<div><span>no table</span></div>", 0),
]


@pytest.mark.parametrize(("html", "holders"), FRAGMENTS)
def test_holds_table_answers_as_the_xpath(html, holders):
    root = lxml.html.fromstring(html).getroottree().getroot()
    elements = list(root.iter(lxml.etree.Element))  # the readers ask it of cells, never of comments
    assert [holds_table(e) for e in elements] == [_HOLDS_TABLE(e) for e in elements]
    assert sum(holds_table(e) for e in elements) == holders


def test_row_cells_take_upper_case_cells_and_skip_comments():
    row = lxml.etree.Element("tr")
    row.append(lxml.etree.Comment("note"))
    for tag in ("td", "TH", "Td", "span"):
        lxml.etree.SubElement(row, tag).text = tag
    assert [cell.text for cell in row_cells(row)] == ["td", "TH", "Td"]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<div><P>一</P><SPAN>二</SPAN><BR/>三<SCRIPT>x</SCRIPT></div>", "一\n二\n三"),
        ("<div><p>甲<span style='display: block'>乙</span>丙</p><script>x</script>丁</div>", "甲\n乙\n丙\n丁"),
        (
            "<div>包<!-- c -->号<b>：</b>1<TABLE><tr><TD>名称</TD><td>数量</td></tr></TABLE></div>",
            "包号：1\n名称 | 数量",
        ),
    ],
)
def test_clean_text_reads_tags_in_any_case(html, expected):
    # The HTML parser gives lower-case tags; a tree built otherwise (here by the XML parser) keeps its case.
    assert clean_text(lxml.etree.fromstring(html)) == expected


# Every white space str.isspace() knows, width variants, invisible characters, next to each other and at the ends.
_WHITE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
LINES = [
    "",
    " ",
    _WHITE,
    f"{_WHITE}采购人{_WHITE}某大学{_WHITE}",
    "ＡＢＣ\u3000１２３\t\t  x",
    "\x1c项目\x1d编号\x85：\u2028ZC-1\u2029",
    "\u200b\u00ad零宽\ufeff",
    "a \u2000 b \u2001 c \u1680 d",
    "plain line, no runs",
    "多个   空格\n\r\n换行\f\v",
]


@pytest.mark.parametrize("text", LINES)
def test_clean_line_is_the_width_fold_then_the_space_runs(text):
    # The definition (module docstring): width variants folded, runs of ASCII white space as one space, stripped.
    assert clean_line(text) == _reference_clean(text)
    # The text writer's lines, on what a tree can hold (XML has no \v, \f nor the other C0 controls).
    in_tree = re.sub("[\x0b\x0c\x1c-\x1f]", "", text)
    root = lxml.etree.Element("div")
    root.text = in_tree
    assert clean_text(root) == _reference_clean(in_tree)


def _reference_clean(text: str) -> str:
    return re.sub(r"[ \t\r\n\f\v]+", " ", normalize_width(text)).strip()


_OWN_ROWS = lxml.etree.XPath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")
TABLES = [
    "<table><thead><tr><td>h</td></tr></thead><tr><td>1</td></tr><tbody><tr><td>2</td></tr></tbody>"
    "<tfoot><tr><td>f</td></tr></tfoot><tr><td>3</td></tr></table>",
    "<table><tbody><tr><td><table><tr><td>inner</td></tr></table></td></tr><!-- c --><tr/></tbody></table>",
    "<table><caption>c</caption><TR><td>upper</td></TR><TBODY><tr><td>x</td></tr></TBODY><tr><td>y</td></tr></table>",
]


@pytest.mark.parametrize("html", TABLES)
def test_table_rows_are_the_xpath_rows(html):
    tables = list(lxml.etree.fromstring(html).iter("table"))
    for table in tables:
        assert table_rows(table) == _OWN_ROWS(table)
    assert [len(table_rows(t)) for t in tables] in ([5], [2, 1], [1])
