"""From crawls and archives to stored notices: the WARC format, crawl verdicts, normalizing and reprocessing."""
