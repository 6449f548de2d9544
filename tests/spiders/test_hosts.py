"""Hosts are checked with their ports: a real crawl against two local servers on the same host, 127.0.0.1."""

from __future__ import annotations

from tests.ccgp_site import Notice, write_site
from tests.spiders.crawling import crawl

NOTICES = [
    Notice("8100001", "2026-11-20 10:00", "本站办公设备采购公告"),
    Notice("8100002", "2026-11-20 09:00", "重定向到另一端口的公告"),
    Notice("8100003", "2026-11-20 08:00", "链接到另一端口的公告"),
]


def test_a_redirect_or_a_link_to_the_same_host_on_another_port_is_not_followed(tmp_path, local_site):
    portal = write_site(tmp_path / "portal", NOTICES)
    foreign = local_site(write_site(tmp_path / "foreign", NOTICES))
    site = local_site(portal)
    redirected, linked = NOTICES[1], NOTICES[2]
    # One detail page redirects to the other port; the list links straight to it for another.
    site.routes.append(
        lambda path: (
            (302, {"Location": f"{foreign.url}/{redirected.path}"}, b"") if path == f"/{redirected.path}" else None
        )
    )
    zygg = portal / "cggg" / "zygg" / "index.htm"
    zygg.write_text(
        zygg.read_text(encoding="utf-8").replace(f'href="/{linked.path}"', f'href="{foreign.url}/{linked.path}"'),
        encoding="utf-8",
    )

    items, stats = crawl(tmp_path, "ccgp", "ports", "-a", f"base_url={site.url}", "-a", "from_date=2026-11-19",
                         "-s", f"TENDERWATCH_MISSES_FILE={tmp_path / 'misses.jsonl'}")  # fmt: skip

    assert [item["notice_id"] for item in items] == ["8100001"]
    assert foreign.requests == []
    assert stats["tenderwatch/other_port_refused"] == 2
    # Neither is lost silently: both are listed notices not fetched, with the reason.
    assert stats["tenderwatch/notices_missed"] == 2
    port = foreign.url.rsplit(":", 1)[1]
    assert f"127.0.0.1 on port {port}, not the portal's" in stats["tenderwatch/notice_missed_reason"]
