"""From crawls and archives to stored notices: WARC format, portal type, crawl verdicts, normalizing, reprocessing."""
