"""The emails a journey sends, named by kind; their text lives in templates, not here."""

from enum import StrEnum

from pydantic import BaseModel, Field


class NotificationKind(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    STAFF_NEW_INQUIRY = "staff_new_inquiry"


class Audience(StrEnum):
    PATIENT = "patient"
    STAFF = "staff"


class NotificationRequest(BaseModel):
    """Send one email of a journey.

    `step` names the journey step the email belongs to; (journey_id, step) is the idempotency
    key, so a retried or replayed activity never sends the same step twice.
    """

    journey_id: str
    step: str = Field(min_length=1, max_length=120)
    kind: NotificationKind
    audience: Audience = Audience.PATIENT


class NotificationResult(BaseModel):
    message_id: str
    already_sent: bool = False
