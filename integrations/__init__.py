"""Clients for outside systems, each behind a small protocol so tests can hand in another."""
