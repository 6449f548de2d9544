"""Running unattended: one night at a time per data directory, crawl children that die with their run, logs."""
