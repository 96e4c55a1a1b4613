"""Failures that Temporal records carry codes and ids, never what an outside system said.

Temporal stores an activity's failure, its whole cause chain and the pending activity's last
failure. An SMTP reply, a FHIR OperationOutcome or a database error can echo a patient's
address or name, so every activity failure passes through `PhiSafeFailures`: the worker's
log gets the text (redacted), and the failure gets a type and a message made of codes.
"""

import logging
import re
from typing import Any, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from domain.errors import ActivityFailure

log = logging.getLogger("journeys.activities")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# Phone numbers and other long runs of digits, with the separators people write in them.
_DIGITS = re.compile(r"\+?\d[\d ()./-]{6,}\d")


T = TypeVar("T")


def final(failure: ActivityFailure, message: str) -> ApplicationError:
    """A failure that retrying cannot fix: it opens an incident at once."""
    return ApplicationError(message, type=failure, non_retryable=True)


def found(record: T | None, failure: ActivityFailure, message: str) -> T:
    """The record an activity read, or a final failure when it is not there: a record the
    step stored first cannot appear by retrying."""
    if record is None:
        raise final(failure, message)
    return record


def redact(text: str) -> str:
    """`text` without email addresses and phone-like numbers, for a log line.

    Reply codes (`550 5.1.1`) stay: they are what an operator reads first.
    """

    def number(match: re.Match[str]) -> str:
        digits = sum(ch.isdigit() for ch in match.group())
        return "<number>" if digits >= 7 else match.group()

    return _DIGITS.sub(number, _EMAIL.sub("<address>", text))


class PhiSafeFailures(Interceptor):
    """Registers `_SafeActivity` on every activity of the worker."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _SafeActivity(next)


class _SafeActivity(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except ApplicationError as err:
            # Our own failures are worded with codes and ids already; what caused them (an
            # outside library's exception) stays out of the recorded chain.
            if err.__cause__ is None and err.__suppress_context__:
                raise
            raise _without_cause(err) from None
        except Exception as err:
            if activity.is_cancelled():
                raise
            info = activity.info()
            log.warning(
                "activity %s of %s failed (attempt %s): %s: %s",
                info.activity_type,
                info.workflow_id,
                info.attempt,
                type(err).__name__,
                redact(str(err)),
            )
            raise ApplicationError(
                f"{type(err).__name__} in {info.activity_type}",
                type=ActivityFailure.UNEXPECTED,
            ) from None


def _without_cause(err: ApplicationError) -> ApplicationError:
    return ApplicationError(
        err.message,
        *err.details,
        type=err.type,
        non_retryable=err.non_retryable,
        next_retry_delay=err.next_retry_delay,
        category=err.category,
    )
