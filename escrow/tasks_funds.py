"""Deposit indexing and withdrawal tasks (placeholder until this area lands)."""
