"""Reads of journeys shared by the JSON API and the staff console: one function per read,
authorized by the same table (domain/readers.py), so neither can show more than the other.

Each takes what it needs (pool, Temporal client, audit writer) from its caller and raises
`api.reads.errors.ReadRefused` for a read it refuses; the API answers it as problem+json
(api/problems.py), the console as a page.
"""
