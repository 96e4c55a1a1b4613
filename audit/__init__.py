"""Audit tooling: history replay, and the tamper-evident audit log with its verification."""
