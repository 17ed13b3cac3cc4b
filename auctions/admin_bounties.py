"""Admin for bounties (placeholder, filled in by the next commit)."""
