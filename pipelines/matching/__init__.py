"""Finding AI-chip, cloud-compute and LLM-token purchases: rules, text folding, the engine, reviews, watch-list."""
