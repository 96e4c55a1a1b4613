"""Deterministic journey code: it decides; activities act."""
