"""The names of every portal in ``spiders/registry.py``, readable without importing Scrapy.

Every command checks ``--sources`` and ``sources.enabled`` against these names before it starts; importing the
registry itself imports Scrapy and every spider (about two seconds), which commands that crawl nothing should not pay.
The registry refuses to load when this list and its ``PORTALS`` disagree.
"""

PORTAL_NAMES = frozenset(
    {
        "ccgp",
        "ggzy",
        "jsggzy",
        "scggzy",
        "szzfcg",
        "szggzy",
        "plap",
        "zycg",
        "chinabidding",
        "chinatelecom",
        "szu",
        "shu",
    }
)
