"""The baseline's pydantic models, passed through the workflow sandbox like `domain/` is.

They live apart from `bench/baseline.py` for the same reason the journey's models live in
`domain/`: a module the sandbox re-imports for every workflow run would rebuild these classes
per run, and the comparison would then measure that rather than Temporal.
"""

from pydantic import BaseModel, Field


class TrivialInput(BaseModel):
    """The input of the intake baseline: one id, about what a journey's start carries."""

    request_id: str


class NoopInput(BaseModel):
    run_id: str
    n: int


class NoopOutput(BaseModel):
    n: int


class BaselineStep(BaseModel):
    """What a person sends: who, and which step; like the journey's steps, ids only."""

    actor_id: str
    role: str
    n: int


class BaselineStatus(BaseModel):
    received: int
    consumed: int
    position: int = Field(default=0, description="the op the run is at")


class BaselinePlan(BaseModel):
    """The shape of one journey, as ops (see `bench.baseline`), for the parent and its child."""

    ops: list[str]
    child_ops: list[str] = Field(default_factory=list)


class BaselineChildInput(BaseModel):
    ops: list[str]
    received: int = 0


class BaselineResult(BaseModel):
    activities: int
    updates: int
