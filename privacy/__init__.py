"""Privacy the law asks for: consent withdrawal, erasure and legal holds, retention, the
patient's own copy of their data, and who saw it. Used by the API and the `journeys` command
alike; the erasure itself runs in the worker (activities/privacy.py)."""
