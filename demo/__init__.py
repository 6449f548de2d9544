"""The demo sample site: invented ccgp.gov.cn-style notices, the pages built from them and their WARC archive."""
