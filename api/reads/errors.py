"""Why a read is refused. api/problems.py maps these to HTTP, so nothing here imports it."""

import uuid


class ReadRefused(Exception):
    """A read refused; `reason` is a code the console words and the audit log keeps."""

    status = 400
    title = "Bad request"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Forbidden(ReadRefused):
    """Not this person's to read or to do (api/authorization.py decides)."""

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


def journey_key(journey_id: str) -> str:
    """The journey id in its canonical form; anything that is not a UUID names no journey."""
    try:
        return str(uuid.UUID(journey_id))
    except ValueError:
        raise JourneyNotFound() from None
