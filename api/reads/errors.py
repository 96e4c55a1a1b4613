"""Why a read is refused. api/problems.py maps these to HTTP, so nothing here imports it."""

import uuid
from collections.abc import Set as AbstractSet

from api.tokens import Principal
from domain.actors import Role


class ReadRefused(Exception):
    """A read refused; `reason` is a code the console words and the audit log keeps."""

    status = 400
    title = "Bad request"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class ReadForbidden(ReadRefused):
    status = 403
    title = "Forbidden"


class JourneyNotFound(ReadRefused):
    status = 404
    title = "Not found"

    def __init__(self) -> None:
        super().__init__("no_journey", "no such journey")


class JourneyErased(ReadRefused):
    """The journey's personal data was erased (GDPR Art. 17); its ids and stages remain."""

    status = 410
    title = "Gone"

    def __init__(self, erased_on: str) -> None:
        super().__init__("erased", f"the patient's data was erased on {erased_on}")


class DocumentNotFound(ReadRefused):
    status = 404
    title = "Not found"

    def __init__(self) -> None:
        super().__init__("no_document", "no such document in this journey")


def allow(principal: Principal, journey_id: str | None, roles: AbstractSet[Role]) -> None:
    """Refuse a role outside `roles`, and a patient's link to another journey."""
    if principal.actor.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise ReadForbidden("role", f"this read is for: {allowed}")
    if principal.is_patient and principal.journey_id != journey_id:
        raise ReadForbidden("another_journey", "this link belongs to another journey")


def journey_key(journey_id: str) -> str:
    """The journey id in its canonical form; anything that is not a UUID names no journey."""
    try:
        return str(uuid.UUID(journey_id))
    except ValueError:
        raise JourneyNotFound() from None
