"""What the privacy routes take and answer."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from db.accesses import Access
from db.consents import Consent
from db.erasure import ErasureRecord
from db.legal_holds import ErasureRequest, LegalHold
from domain.privacy import ErasureTrigger

Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    Field(description="why, for the record: no health data, no names"),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReasonBody(_Body):
    reason: Reason


class ErasureBody(_Body):
    """Erase now: with a reason, or carrying out a coordinator's request."""

    reason: Reason | None = None
    request_id: uuid.UUID | None = Field(
        default=None, description="the erasure request to carry out (its reason is used)"
    )

    @model_validator(mode="after")
    def _reason_or_request(self) -> "ErasureBody":
        if self.reason is None and self.request_id is None:
            raise ValueError("give the erasure's reason, or the request it carries out")
        return self


class ConsentView(BaseModel):
    consent_id: str
    purpose: str
    text_version: str
    text_language: str | None = Field(description="null for consents recorded before it was")
    granted_at: datetime
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    withdrawn_role: str | None

    @classmethod
    def of(cls, consent: Consent) -> "ConsentView":
        return cls(
            consent_id=consent.consent_id,
            purpose=consent.purpose,
            text_version=consent.text_version,
            text_language=consent.text_language,
            granted_at=consent.granted_at,
            withdrawn_at=consent.withdrawn_at,
            withdrawn_by=consent.withdrawn_by,
            withdrawn_role=consent.withdrawn_role,
        )


class ErasureView(BaseModel):
    """The tombstone of an erased journey."""

    journey_id: str
    request_id: str | None
    trigger: ErasureTrigger
    reason: str
    requested_by: str | None
    erased_by: str
    erased_role: str
    erased_at: datetime
    changed: dict[str, int] = Field(description="rows removed or overwritten, by table")

    @classmethod
    def of(cls, record: ErasureRecord) -> "ErasureView":
        return cls(**record.__dict__)


class ErasureRequestView(BaseModel):
    request_id: str
    journey_id: str
    reason: str
    requested_by: str
    requested_role: str
    requested_at: datetime
    executed_at: datetime | None
    executed_by: str | None

    @classmethod
    def of(cls, request: ErasureRequest) -> "ErasureRequestView":
        return cls(**request.__dict__)


class LegalHoldView(BaseModel):
    hold_id: str
    journey_id: str
    reason: str
    placed_by: str
    placed_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None
    lift_reason: str | None

    @classmethod
    def of(cls, hold: LegalHold) -> "LegalHoldView":
        return cls(**hold.__dict__)


class PrivacyRecord(BaseModel):
    """A journey's consents, legal holds, erasure requests and erasure."""

    journey_id: str
    consents: list[ConsentView]
    legal_holds: list[LegalHoldView]
    erasure_requests: list[ErasureRequestView]
    erasure: ErasureView | None


class AccessView(BaseModel):
    """One request or command that reached the journey's data."""

    seq: int
    at: datetime
    actor_id: str
    actor_role: str
    actor_name: str | None
    action: str
    status: int | None

    @classmethod
    def of(cls, access: Access) -> "AccessView":
        return cls(**access.__dict__)
