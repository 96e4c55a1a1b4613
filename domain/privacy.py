"""Consent, erasure, legal holds and retention: the names other systems build on, and what
crosses Temporal for them.

Only ids, counts and codes cross: the reasons people give for an erasure or a hold are free
text, kept in PostgreSQL (`erasure_requests`, `legal_holds`, `erasures`) and read there by id.
"""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Actor

CONSENT_PURPOSE_HEALTH_DATA = "health_data_processing"
"""The purpose the inquiry form asks consent for (GDPR Art. 9(2)(a))."""

RETENTION_SCHEDULE_ID = "journeys-retention"
"""The Temporal Schedule that erases closed journeys once their retention period is over."""
RETENTION_WORKFLOW_ID = "journeys-retention-sweep"
"""The sweep's workflow id; the schedule appends each run's time to it."""
ERASURE_WORKFLOW_PREFIX = "erasure-"


def erasure_workflow_id(journey_id: str) -> str:
    """The workflow id of one journey's erasure: `erasure-<journey_id>`."""
    return f"{ERASURE_WORKFLOW_PREFIX}{journey_id}"


class ErasureRefusal(StrEnum):
    """Why a journey is not erased: the `type` of the erasure activity's failure, which the
    API and the CLI word for the person who asked."""

    UNKNOWN_JOURNEY = "UnknownJourney"
    ALREADY_ERASED = "AlreadyErased"
    LEGAL_HOLD = "LegalHold"
    STILL_RUNNING = "JourneyStillRunning"
    NO_SUCH_REQUEST = "NoSuchErasureRequest"


class ErasureTrigger(StrEnum):
    """What set an erasure off: a person's decision, or the retention period's end."""

    REQUEST = "request"
    RETENTION = "retention"


class ErasureOrder(BaseModel):
    """Erase one closed journey as the open request `request_id` asks (its reason is there)."""

    model_config = ConfigDict(frozen=True)

    journey_id: str
    request_id: str
    actor: Actor


class ErasureOutcome(BaseModel):
    """What an erasure did: when, and how many rows of each table it removed or overwrote."""

    journey_id: str
    erased_at: datetime
    request_id: str | None = None
    trigger: ErasureTrigger = ErasureTrigger.REQUEST
    changed: dict[str, int] = Field(default_factory=dict)


class RetentionSweepInput(BaseModel):
    """The retention schedule's input: how long a closed journey's records are kept."""

    model_config = ConfigDict(frozen=True)

    retention_days: int = Field(ge=1)
    batch: int = Field(default=50, ge=1, le=1000)


class DueErasures(BaseModel):
    """Erase up to `limit` journeys closed before `closed_before` (the sweep's clock)."""

    model_config = ConfigDict(frozen=True)

    closed_before: datetime
    retention_days: int = Field(ge=1)
    limit: int = Field(ge=1, le=1000)


class ErasedBatch(BaseModel):
    """The journeys one call erased, and whether more are due."""

    erased: list[str] = Field(default_factory=list)
    more: bool = False


class RetentionSweepResult(BaseModel):
    """Every journey a sweep erased; empty when none was due."""

    erased: list[str] = Field(default_factory=list)
