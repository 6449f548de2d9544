"""Scrapy settings for every tenderwatch spider. Each non-default value says why it differs."""

BOT_NAME = "tenderwatch"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# Say who we are: portal operators can tell a research crawler from an attack and reach us.
USER_AGENT = "tenderwatch/0.1 (research crawler of public procurement notices; polite, incremental)"

# Government portals rate-limit hard (ccgp serves a 200-status 频繁访问 page): one request at a time per site,
# a few seconds apart (jittered by the default RANDOMIZE_DOWNLOAD_DELAY), slowed further by AutoThrottle.
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 3
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 3
AUTOTHROTTLE_MAX_DELAY = 60
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Public-interest crawling still honours what a portal asks of robots.
ROBOTSTXT_OBEY = True

# An unreachable portal should be reported within a minute, not after Scrapy's 180 s default per attempt.
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 2

# Scrapy's 1 GiB per answer lets one broken or hostile page fill memory and disk (a 300 KB gzip bomb became 2.8 GB
# of RSS). Real portal answers stay well under 1 MiB (ccgp list pages ~60 KB, notices 30-300 KB, API answers
# < 1 MiB), so these leave ample room. Scrapy applies the limit to the decompressed body too.
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
# A page this large is unusual enough to be logged.
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024

# Chinese text must stay readable in the item feeds the flow reads back.
FEED_EXPORT_ENCODING = "utf-8"

# No interactive console on a server that runs unattended.
TELNETCONSOLE_ENABLED = False

DOWNLOADER_MIDDLEWARES = {
    # Beside Scrapy's OffsiteMiddleware (50), which ignores ports: refuses an allowed host on another port.
    "spiders.hosts.PortCheckMiddleware": 51,
    # Responses travel from high to low numbers: above RedirectMiddleware (600), so a 301/302 is archived before it
    # is followed (replay then follows it too), and above HttpCompressionMiddleware (590): bodies as sent.
    "spiders.archive.ArchiveMiddleware": 650,
    # Last before the downloader, so every other middleware still sees the request and the replayed response.
    "spiders.archive.ReplayMiddleware": 960,
}

SPIDER_MIDDLEWARES = {
    # Closest to the spider (after Depth 900 on output), so it sees every request as the spider made it and gives it
    # the errback that accounts for failed list pages and missed notices; it also adds the pending retries.
    "spiders.completeness.CompletenessMiddleware": 950,
    # Just outside it: sees the raw notices the detail callbacks yield and adds the requests for their attachments
    # (which therefore skip the completeness accounting of pages: a missing file is recorded, not retried).
    "spiders.attachments.AttachmentMiddleware": 940,
}

EXTENSIONS = {
    # Dumps the crawl's stats to a JSON file at close: the flow judges a crawl by its stats, not its exit code.
    "spiders.stats.StatsDump": 500,
}

ADDONS = {
    "spiders.archive.ReplayAddon": 100,
}

# Where the flow wants the archive and the stats; unset when a developer runs `scrapy crawl` by hand.
TENDERWATCH_ARCHIVE_DIR = None
TENDERWATCH_REPLAY = None
TENDERWATCH_STATS_FILE = None
TENDERWATCH_RUN_ID = None
# JSONL of listed notices whose detail page could not be fetched (spiders.completeness); the flow reads it.
TENDERWATCH_MISSES_FILE = None
# Size limits per kind of page (spiders.completeness sets each request's download_maxsize): a list page or API
# answer is smaller than a notice, which may embed tables or images.
TENDERWATCH_LIST_MAXSIZE = 8 * 1024 * 1024
TENDERWATCH_DETAIL_MAXSIZE = 16 * 1024 * 1024
# List pages one crawl may read: a night reads a few dozen, a long ccgp column backfill a few thousand; a pager
# claiming 100,000 pages must not be followed for hours. Reaching it makes the crawl broken (its window unread).
TENDERWATCH_MAX_LIST_PAGES = 5000
# Requests one crawl may make, list and detail pages together; 0: no budget. The nightly flow sets each verified
# source's night budget (spiders/registry.py, README "Sources"); a by-hand crawl or a backfill has none.
TENDERWATCH_MAX_REQUESTS = 0
# Attachments of screened notices (spiders.attachments): fetched unless turned off; one file may be this large (a
# 招标文件 PDF is 0.2-20 MB; Scrapy aborts a larger download as soon as it passes the size); one crawl (a source's
# night) fetches at most this many files and bytes, the rest wait for a later night.
TENDERWATCH_ATTACHMENTS = True
TENDERWATCH_ATTACHMENT_MAXSIZE = 64 * 1024 * 1024
TENDERWATCH_ATTACHMENTS_MAX_FILES = 300
TENDERWATCH_ATTACHMENTS_MAX_BYTES = 1024 * 1024 * 1024
# JSON list of attachment URLs already stored (written by the flow), and the JSONL of files not archived and why.
TENDERWATCH_ATTACHMENTS_KNOWN = None
TENDERWATCH_ATTACHMENTS_FILE = None
