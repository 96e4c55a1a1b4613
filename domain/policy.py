"""Deadlines of a journey, in one model passed at start so a running journey keeps its own."""

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field


class JourneyPolicy(BaseModel):
    """Every deadline of the journey, with DESIGN.md's defaults.

    The policy travels in the workflow input, so it is recorded in the history and a journey
    keeps the policy it started with even after the defaults change.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    review_sla: timedelta = Field(default=timedelta(hours=48), gt=timedelta(0))
    review_escalation_every: timedelta = Field(default=timedelta(hours=24), gt=timedelta(0))
