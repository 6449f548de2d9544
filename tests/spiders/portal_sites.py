"""Each portal's answers served on 127.0.0.1 for real crawls: the real pages where they exist, ours elsewhere.

Each ``serve_*`` adds the portal's routes to a ``tests.conftest.LocalSite`` and returns the list it fills with what
the crawl asked for (forms, offsets, bodies), so a spider test can check its paging and a reprocess test can crawl
every portal alike. Real pages are read in place from ../shared (skips when absent).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from spiders.chinabidding import LIST_PATH as CB_LIST_PATH
from spiders.chinatelecom import LIST_PATH as CT_LIST_PATH
from spiders.epoint import SEARCH_PATH
from spiders.freecms import SPIDERS as FREECMS_SPIDERS
from spiders.freecms import is_detail_url as is_freecms_page
from spiders.szggzy import LIST_PATH as SZ_LIST_PATH
from tests.conftest import ROOT, LocalSite, real_page, shared_path
from tests.spiders.crawling import file_route, json_answer

FIXTURES = ROOT / "tests" / "fixtures"
GGZY_FIXTURES = FIXTURES / "ggzy"
SC_FIXTURES = FIXTURES / "scggzy"
SZZFCG_FIXTURES = FIXTURES / "szzfcg"
SZ_FIXTURES = FIXTURES / "szggzy"
FREECMS_FIXTURES = FIXTURES / "freecms"
FREECMS_EMPTY = '{"msg":"操作成功","code":"200","total":0,"data":[]}'.encode()
UNIVERSITY_FIXTURES = FIXTURES / "university"
CHINABIDDING_FIXTURES = FIXTURES / "chinabidding"
CHINATELECOM_FIXTURES = FIXTURES / "chinatelecom"
GGZY_REAL_PAGES = (1, 2, 3, 15, 30, 200, 239)


def ggzy_real_wrappers() -> list[dict]:
    """The stored getTradList exchanges (``{request, response}``), page by page."""
    folder = shared_path("fixtures/real/ggzy")
    return [
        json.loads((folder / f"tenderrag_ggzy_his_getTradList_hefei_page_{n:04d}.json").read_bytes())
        for n in GGZY_REAL_PAGES
    ]


def serve_ggzy(site: LocalSite, wrappers: list[dict]) -> list[dict]:
    """The n-th real page answers PAGENUMBER n; beyond them an empty page ends the listing. Returns the forms."""
    forms: list[dict] = []
    pages = [json.dumps(w["response"], ensure_ascii=False).encode("utf-8") for w in wrappers]

    def list_api(path: str, body: bytes):
        if path != "/his/information/pubTradingInfo/getTradList":
            return None
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        forms.append(form)
        number = int(form["PAGENUMBER"])
        if number <= len(pages):
            return json_answer(pages[number - 1])
        return json_answer(b'{"code":200,"message":"success","data":{"records":[],"total":14726,"pages":737}}')

    b_page = (GGZY_FIXTURES / "b_page.html").read_bytes()

    def content_pages(path: str):
        if path.startswith("/his/information/deal/html/b/"):
            return 200, {"Content-Type": "text/html; charset=utf-8"}, b_page
        return None

    site.post_routes.append(list_api)
    site.routes.append(content_pages)
    return forms


def serve_jsggzy(site: LocalSite) -> list[int]:
    """The real search answer for offset 0, an empty one after; the real detail page for every notice."""
    real_list = real_page("jsggzy/compass_jsggzy_list.json")
    detail = real_page("jsggzy/compass_jsggzy_detail.html")
    offsets: list[int] = []

    def search(path: str, body: bytes):
        if path != SEARCH_PATH:
            return None
        offsets.append(json.loads(body)["pn"])
        return json_answer(real_list if offsets[-1] == 0 else b'{"result":{"totalcount":117650,"records":[]}}')

    site.post_routes.append(search)
    site.routes.append(lambda path: (200, {"Content-Type": "text/html"}, detail) if path.startswith("/jyxx/") else None)
    return offsets


def serve_scggzy(site: LocalSite) -> list[int]:
    """Our recorded search answers by offset (``list_pn<offset>.json``) and detail page. Returns the offsets."""
    offsets: list[int] = []

    def search(path: str, body: bytes):
        if path != SEARCH_PATH:
            return None
        offsets.append(json.loads(body.decode("utf-8"))["pn"])
        return json_answer((SC_FIXTURES / f"list_pn{offsets[-1]}.json").read_bytes())

    detail = (SC_FIXTURES / "detail.html").read_bytes()
    site.post_routes.append(search)
    site.routes.append(lambda path: (200, {"Content-Type": "text/html"}, detail) if path.startswith("/jyxx/") else None)
    return offsets


def serve_szzfcg(site: LocalSite) -> list[dict]:
    """Our recorded search answer (one page) and detail page of the Shenzhen procurement centre. Returns the bodies."""
    bodies: list[dict] = []

    def search(path: str, body: bytes):
        if path != SEARCH_PATH:
            return None
        bodies.append(json.loads(body.decode("utf-8")))
        return json_answer((SZZFCG_FIXTURES / "list_pn0.json").read_bytes())

    detail = (SZZFCG_FIXTURES / "detail.html").read_bytes()
    site.post_routes.append(search)
    site.routes.append(lambda path: (200, {"Content-Type": "text/html"}, detail) if path.startswith("/gsgg/") else None)
    return bodies


def serve_szggzy(site: LocalSite) -> list[dict]:
    """Our recorded list answers by page and detail answers by contentId. Returns the list request bodies."""
    bodies: list[dict] = []

    def list_api(path: str, body: bytes):
        if path != SZ_LIST_PATH:
            return None
        bodies.append(json.loads(body))
        return json_answer((SZ_FIXTURES / f"page_{bodies[-1]['page']}.json").read_bytes())

    def detail_api(path: str):
        if not path.startswith("/cms/api/v1/trade/content/detail?"):
            return None
        content_id = parse_qs(urlsplit(path).query)["contentId"][0]
        return json_answer((SZ_FIXTURES / f"detail_{content_id}.json").read_bytes())

    site.post_routes.append(list_api)
    site.routes.append(detail_api)
    return bodies


def serve_freecms(site: LocalSite, name: str) -> list[dict[str, str]]:
    """Our recorded list answers of one FreeCMS site by keyword and page (``channel_p<N>.json`` without a keyword,
    ``search_<keyword>_p<N>.json``; an empty list for any other) and its notice pages: the recorded one where a file
    exists (``LocalSite`` serves the folder), ``notice.html`` for every other. Returns the list queries."""
    folder = FREECMS_FIXTURES / name
    list_path = next(s for s in FREECMS_SPIDERS if s.name == name).list_path
    queries: list[dict[str, str]] = []

    def list_api(path: str):
        parts = urlsplit(path)
        if parts.path != list_path:
            return None
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        queries.append(query)
        keyword, page = query["title"], query["currPage"]
        file = folder / (f"search_{keyword}_p{page}.json" if keyword else f"channel_p{page}.json")
        return json_answer(file.read_bytes() if file.is_file() else FREECMS_EMPTY)

    notice = (folder / "notice.html").read_bytes()

    def notice_pages(path: str):
        if not is_freecms_page(path) or (folder / path.lstrip("/")).is_file():
            return None
        return 200, {"Content-Type": "text/html; charset=utf-8"}, notice

    site.routes.extend([list_api, notice_pages])
    return queries


def serve_university(site: LocalSite, name: str) -> None:
    """Our recorded list and notice pages of one university site (query strings as ``@`` in file names)."""
    site.routes.append(file_route(UNIVERSITY_FIXTURES / name))


def serve_chinabidding(site: LocalSite) -> list[dict[str, str]]:
    """Our recorded list answers by type, keyword and page (``type<code>_<keyword>_p<N>.json``; ``empty.json`` for
    any other query); the notice pages are files under ``bidDetail/`` (``LocalSite`` serves the folder). Returns the
    list forms."""
    forms: list[dict[str, str]] = []

    def list_api(path: str, body: bytes):
        if path != CB_LIST_PATH:
            return None
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        forms.append(form)
        file = CHINABIDDING_FIXTURES / f"type{form['typeCode']}_{form['keyWord']}_p{form['pageNumber']}.json"
        return json_answer((file if file.is_file() else CHINABIDDING_FIXTURES / "empty.json").read_bytes())

    site.post_routes.append(list_api)
    return forms


def serve_chinatelecom(site: LocalSite) -> list[dict]:
    """Our recorded list answers by type code, keyword and page (``<type>_<keyword>_p<N>.json``; ``empty.json`` for
    any other query). There is nothing else to serve: the notices are the records. Returns the list bodies."""
    bodies: list[dict] = []

    def list_api(path: str, body: bytes):
        if path != CT_LIST_PATH:
            return None
        query = json.loads(body)
        bodies.append(query)
        file = CHINATELECOM_FIXTURES / f"{query['type']}_{query['title']}_p{query['pageNum']}.json"
        return json_answer((file if file.is_file() else CHINATELECOM_FIXTURES / "empty.json").read_bytes())

    site.post_routes.append(list_api)
    return bodies
