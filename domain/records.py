"""Inputs and results of the records activities."""

from datetime import datetime

from pydantic import BaseModel

from domain.stages import Stage, WaitingOn


class RecordInquiry(BaseModel):
    journey_id: str
    inquiry_id: str


class InquiryFacts(BaseModel):
    """Coded, non-identifying facts the workflow needs to route the journey."""

    country: str
    language: str


class StageChange(BaseModel):
    """A stage change to project into Postgres for lists and reports."""

    journey_id: str
    seq: int
    stage: Stage
    waiting_on: WaitingOn
    deadline: datetime | None = None
    changed_at: datetime
    actor_id: str = "system"
    actor_role: str = "system"
