"""A small invented site in the ccgp.gov.cn layout, written by tests: column lists, detail pages, search pages.

Column list pages follow the demo site (``ul.c_list_bid``, the ``Pager({size, current})`` script); search result
pages follow STRUCTURE.md §1.4 (``ul.vT-srch-result-list-bid``, the span of time | 采购人 | 代理机构 | type | 省份 |
品目, ``var ohtmlurls``, ``Pager({size:N, …})``). Every notice, unit and person is invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

LIST_LABELS = {"gkzb": "公开招标", "zbgg": "中标公告", "cjgg": "成交公告", "jzxcs": "竞争性磋商"}


@dataclass(frozen=True)
class Notice:
    id: str
    published: str  # "2026-09-03 10:00"
    title: str
    column: str = "zygg"
    sub: str = "gkzb"
    buyer: str = "演示大学"
    region: str = "北京"

    @property
    def path(self) -> str:
        day = self.published[:10].replace("-", "")
        return f"cggg/{self.column}/{self.sub}/{day[:6]}/t{day}_{self.id}.htm"


def detail_page(notice: Notice) -> str:
    title = escape(notice.title)
    return f"""<!doctype html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<meta name="ArticleTitle" content="{title}" />
<meta name="PubDate" content="{notice.published}" />
<title>{title}_中国政府采购网</title></head>
<body><div class="vF_detail_header"><h2 class="tc">{title}</h2></div>
<div class="vF_detail_content">
<p>一、项目编号：TW-{notice.id}</p>
<p>二、项目名称：{title}</p>
<p>三、采购人信息</p><p>名称：{escape(notice.buyer)}</p>
<p>四、采购需求：详见采购文件。本公告为测试站点虚构内容。</p>
</div></body></html>
"""


def list_page(notices: list[Notice], page: int, pages: int) -> str:
    items = "\n".join(
        f"""<li><a href="/{n.path}" target="_blank" title="{escape(n.title)}">{escape(n.title)}</a>
    <em rel="bxlx">{LIST_LABELS.get(n.sub, "其他公告")}</em> 发布时间：<em>{n.published}</em> 地域：<em>{n.region}</em>
    采购人：<em>{escape(n.buyer)}</em></li>"""
        for n in notices
    )
    return f"""<!doctype html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8" /><title>公告_中国政府采购网</title>
</head><body><ul class="c_list_bid">
{items}
</ul>
<p class="pager"><script language="javascript">Pager({{size:{pages}, current:{page}, prefix:'index',suffix:'htm'}});
</script></p></body></html>
"""


def write_site(folder: Path, notices: list[Notice], page_size: int = 10) -> Path:
    """Column lists (newest first, paged) and detail pages of ``notices`` under ``folder``."""
    for notice in notices:
        path = folder / notice.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(detail_page(notice), encoding="utf-8")
    for column in ("zygg", "dfgg"):
        listed = sorted((n for n in notices if n.column == column), key=lambda n: n.published, reverse=True)
        pages = [listed[i : i + page_size] for i in range(0, len(listed), page_size)] or [[]]
        for number, page in enumerate(pages):
            name = "index.htm" if number == 0 else f"index_{number}.htm"
            path = folder / "cggg" / column / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(list_page(page, number, len(pages)), encoding="utf-8")
    return folder


@dataclass(frozen=True)
class SearchResult:
    url: str
    title_html: str  # the title as the portal shows it, keyword inside <font color="red">
    time: str  # "2026.09.23 12:30:10"
    buyer: str
    agency: str
    type_label: str
    province: str
    category: str
    summary: str = ""
    href: str | None = None  # the <a href>, when it differs from the real address in ohtmlurls


def search_page(results: list[SearchResult], pages: int, current: int, with_ohtmlurls: bool = True) -> str:
    """One bxsearch results page."""
    items = "\n".join(
        f"""<li>
<a href="{escape(r.href or r.url)}" style="line-height:18px" target="_blank">
{r.title_html}</a>
<p>{escape(r.summary)}</p>
<span>{r.time} | 采购人：{escape(r.buyer)} | 代理机构：{escape(r.agency)} <br/>
<strong style="font-weight:bold">{r.type_label}</strong> | {r.province} | <strong>{r.category}</strong></span>
</li>"""
        for r in results
    )
    ohtmlurls = f'<script>var ohtmlurls="{",".join(r.url for r in results)}";</script>' if with_ohtmlurls else ""
    pager = (
        f"<p class=\"pager\"><script>Pager({{size:{pages}, current:{current}, prefix:'', suffix:''}});</script></p>"
        if pages
        else ""
    )
    return f"""<!doctype html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<title>标讯库搜索_中国政府采购网</title></head>
<body><div class="vT-srch-result"><div class="vT-srch-result-list">
<ul class="vT-srch-result-list-bid">
{items}
</ul></div>{pager}</div>
{ohtmlurls}
</body></html>
"""
