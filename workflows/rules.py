"""Refusals of human steps, worded for the person who tried them."""

from temporalio.exceptions import ApplicationError

from domain.actors import Role
from domain.errors import StepError
from domain.stages import Stage, WaitingOn

STEP_REFUSED = StepError.REFUSED
INVALID_STEP = StepError.INVALID
FORBIDDEN = StepError.FORBIDDEN


def refuse(message: str) -> ApplicationError:
    return ApplicationError(message, type=STEP_REFUSED)


def invalid(message: str) -> ApplicationError:
    return ApplicationError(message, type=INVALID_STEP)


def require_role(role: Role, allowed: frozenset[Role]) -> None:
    if role not in allowed:
        names = " or ".join(sorted(r.value.replace("_", " ") for r in allowed))
        raise ApplicationError(f"only a {names} can do this step", type=FORBIDDEN)


def require_stage(current: Stage, expected: Stage, step: str) -> None:
    if current.is_final:
        raise refuse(f"the journey has ended ({current.value}); {step} is no longer possible")
    if current is not expected:
        raise refuse(f"{step} belongs to stage {expected.value}; the journey is at {current.value}")


def require_waiting(current: WaitingOn, expected: WaitingOn, step: str) -> None:
    if current is not expected:
        raise refuse(f"{step} is not expected now: the journey waits on {current.value}")
