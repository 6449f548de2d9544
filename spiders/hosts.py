"""Hosts are checked with their ports: Scrapy's ``allowed_domains`` ignores ports, so ``127.0.0.1:8001`` would pass
for a crawl of ``127.0.0.1:8000``, and ``www.ccgp.gov.cn:8080`` for the portal itself.

``PortCheckMiddleware`` (a downloader middleware) refuses any request to an allowed host on a port the spider was not
given: the default ports of http and https for the portal's own domains, exactly the ``base_url`` port for a mirror
or test server. Redirects pass through it too, since Scrapy schedules each hop as a new request. A refused request
reaches the spider's errback (``spiders.completeness``), so a list page or notice lost that way is accounted for.
"""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.utils.httpobj import urlparse_cached

DEFAULT_PORTS = {"http": 80, "https": 443}


def port_of(scheme: str, port: int | None) -> int | None:
    return port if port is not None else DEFAULT_PORTS.get(scheme)


class OtherPortRequest(IgnoreRequest):
    """A request to an allowed host on a port that is not the portal's."""


class PortCheckMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        ports: dict[str, set[int]] = getattr(self.crawler.spider, "allowed_ports", {})
        parts = urlparse_cached(request)
        host = (parts.hostname or "").lower()
        try:
            port = port_of(parts.scheme, parts.port)
        except ValueError:
            port = None
        domain = next((d for d in ports if host == d or host.endswith(f".{d}")), None)
        if domain is None or port in ports[domain]:
            return None
        stats = self.crawler.stats
        stats.inc_value("tenderwatch/other_port_refused")
        if not stats.get_value("tenderwatch/other_port_url"):
            stats.set_value("tenderwatch/other_port_url", request.url)
        allowed = ", ".join(map(str, sorted(ports[domain])))
        raise OtherPortRequest(f"{host} on port {port}, not the portal's ({allowed})")
