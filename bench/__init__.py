"""Benchmarks of the journey against bare Temporal: `python -m bench.run` writes RESULTS.md."""
