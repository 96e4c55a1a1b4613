"""The worklist: which journeys a person sees first, how the list is filtered, and its rows.

Served from the journeys' projection in PostgreSQL (never from Temporal), by the staff console
(`/staff/`) and the JSON API (`GET /api/v1/journeys`) alike.
"""

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Actor, Role
from domain.claims import Claim, ClaimKind, claim_kind_for
from domain.incidents import IncidentKind
from domain.stages import Stage, WaitingOn


class IncidentPresence(StrEnum):
    """The incident filter's values besides a kind: any open incident, or none."""

    ANY = "any"
    NONE = "none"


IncidentFilter = IncidentPresence | IncidentKind


class WorklistFilter(BaseModel):
    """What a list is narrowed to; None leaves a field out."""

    model_config = ConfigDict(frozen=True)

    stage: Stage | None = None
    waiting_on: WaitingOn | None = None
    overdue: bool | None = None
    case_manager: str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2, upper case")
    incident: IncidentFilter | None = None
    reassign: bool | None = Field(
        default=None,
        description="journeys not ended whose case manager or specialist no longer holds that "
        "role (deactivated in the staff directory): they wait for a coordinator to reassign them",
    )


class Priority(BaseModel):
    """The journeys that come first for one person: those still open that wait on them or on
    their role. `waiting_on` and `assigned` must both hold; an open incident and a journey whose
    case manager or specialist left (coordinators) count on their own. Work of the kind their
    role claims (`claims`: the review a reviewer waits for, a coordinator's incident) that
    someone else holds a live claim on is that person's, not theirs: it does not count."""

    model_config = ConfigDict(frozen=True)

    waiting_on: WaitingOn | None = None
    assigned: Literal["specialist", "case_manager"] | None = None
    staff_id: str | None = None
    open_incidents: bool = False
    # Journeys whose case manager or specialist left, to be reassigned (coordinators).
    reassign: bool = False
    claims: ClaimKind | None = None


def priority_for(actor: Actor) -> Priority | None:
    """Whose journeys come first for `actor`; None (auditors) puts none first."""
    role = actor.role
    claims = claim_kind_for(role)
    if role in (Role.REVIEWER, Role.MEDICAL_LEAD):
        # The medical lead is the reviewers' escalation: the same queue, first.
        return Priority(waiting_on=WaitingOn.REVIEWER, staff_id=actor.id, claims=claims)
    if role is Role.SPECIALIST:
        return Priority(waiting_on=WaitingOn.SPECIALIST, assigned="specialist", staff_id=actor.id)
    if role is Role.CASE_MANAGER:
        return Priority(assigned="case_manager", staff_id=actor.id)
    if role is Role.COORDINATOR:
        return Priority(
            waiting_on=WaitingOn.COORDINATOR,
            open_incidents=True,
            reassign=True,
            staff_id=actor.id,
            claims=claims,
        )
    return None


class WorklistItem(BaseModel):
    """One journey of a list, as PostgreSQL projects it."""

    journey_id: str
    reference: str = Field(description="the journey id's first 8 characters, as emails say")
    stage: Stage
    waiting_on: WaitingOn
    next_deadline: datetime | None
    overdue: bool
    waiting_on_you: bool = Field(
        description="waits on the caller or their role; these come first, overdue first"
    )
    case_manager_id: str | None
    case_manager_name: str | None = None
    country: str
    incident: IncidentKind | None = Field(
        default=None, description="the open incident's kind, if the journey has one"
    )
    patient_name: str | None = Field(default=None, description="absent for auditors")
    left: list[Literal["case_manager", "specialist"]] = Field(
        default_factory=list,
        description="who of the journey's people no longer holds their role (deactivated in "
        "the staff directory): a coordinator reassigns the journey",
    )
    created_at: datetime
    claims: list[Claim] = Field(
        default_factory=list,
        description="who holds a live claim on the case's review or on its open incident",
    )


class WorklistPage(BaseModel):
    """A page of journeys: the caller's first, overdue first, then by deadline, newest first."""

    items: list[WorklistItem]
    total: int
    limit: int
    offset: int
    waiting_on_you: int = Field(description="how many of `total` wait on the caller or role")
    stages: dict[Stage, int] = Field(
        default_factory=dict,
        description="journeys per stage under every filter but `stage`",
    )
