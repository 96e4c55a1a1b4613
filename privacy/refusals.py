"""How a privacy step is refused, for the API (problem+json) and the CLI (a message) alike."""

from enum import StrEnum


class RefusalKind(StrEnum):
    NOT_FOUND = "not_found"
    """No such journey, request or consent (404)."""
    CONFLICT = "conflict"
    """Not now, with the reason: erased already, held, withdrawn already (409)."""
    NOT_ANSWERING = "not_answering"
    """The journey or the erasure has not finished in time; it goes on (504)."""


class PrivacyRefused(Exception):
    """A privacy step refused, having changed nothing; `detail` is worded for the person."""

    def __init__(self, kind: RefusalKind, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
