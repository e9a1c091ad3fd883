"""Domain logic: token usage extraction and cost computation."""
