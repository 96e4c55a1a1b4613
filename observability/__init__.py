"""Operating the worker and the API: metrics, traces, JSON logs and readiness checks.

Each process's entry point (`journeys worker`, `journeys api`) configures these once; nothing
here is built at import time. No metric label, span attribute or log field carries what a
person wrote: ids, stages and coded kinds only.
"""
