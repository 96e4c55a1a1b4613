"""Refusals of human steps: a coded `Refusal` in the details of an `ApplicationError` whose
message is the refusal's English and whose type says how it reads over HTTP."""

from temporalio.exceptions import ApplicationError

from domain.actors import Role
from domain.errors import StepError
from domain.refusals import Refusal, RefusalCode
from domain.stages import Stage, WaitingOn
from domain.step_declarations import StepName

STEP_REFUSED = StepError.REFUSED
INVALID_STEP = StepError.INVALID
FORBIDDEN = StepError.FORBIDDEN


def refuse(code: RefusalCode, **params: object) -> ApplicationError:
    """The error a validator raises to refuse a step for `code`, naming `params`."""
    refusal = Refusal.of(code, **params)
    return ApplicationError(refusal.english, refusal, type=refusal.kind)


def require_role(role: Role, allowed: frozenset[Role]) -> None:
    if role not in allowed:
        raise refuse(RefusalCode.ROLE_NOT_ALLOWED, roles=tuple(sorted(allowed)))


def require_stage(current: Stage, expected: Stage, step: StepName) -> None:
    if current.is_final:
        raise refuse(RefusalCode.JOURNEY_ENDED, stage=current, step=step)
    if current is not expected:
        raise refuse(RefusalCode.WRONG_STAGE, step=step, expected_stage=expected, stage=current)


def require_waiting(current: WaitingOn, expected: WaitingOn, step: StepName) -> None:
    if current is not expected:
        raise refuse(RefusalCode.NOT_EXPECTED_NOW, step=step, waiting_on=current)
