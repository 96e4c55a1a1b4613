"""What the privacy routes take and answer. Records whose every field is shown are answered
as db/ reads them (`LegalHold`, `ErasureRequest`, `ErasureRecord`, `Access`)."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from api.query import QueryParameters
from db.consents import Consent
from db.erasure import ErasureRecord
from db.legal_holds import ErasureRequest, LegalHold

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
        return cls.model_validate(consent, from_attributes=True)


class PrivacyRecord(BaseModel):
    """A journey's consents, legal holds, erasure requests and erasure."""

    journey_id: str
    consents: list[ConsentView]
    legal_holds: list[LegalHold]
    erasure_requests: list[ErasureRequest]
    erasure: ErasureRecord | None


class ExportQuery(QueryParameters):
    format: Literal["json", "fhir"] = "json"


class AccessesQuery(QueryParameters):
    limit: Annotated[int, Field(ge=1, le=10_000)] = 1000


class ErasureRequestsQuery(QueryParameters):
    limit: Annotated[int, Field(ge=1, le=1000)] = 200
