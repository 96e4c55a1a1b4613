"""Calls to the outside systems, traced and counted: the specialists' calendar, the clinic's
system and the SMTP relay.

Each client is wrapped in its protocol's shape by the worker, so the integrations know
nothing of tracing or metrics, and a client a test hands in is observed the same way. Each
call is a span (`calendar busy`, `clinic reserve_visit`, `smtp send`) carrying ids only, and
the calendar's and the clinic's are counted by outcome with their duration.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, tzinfo
from email.message import EmailMessage
from typing import ClassVar, Generic, TypeVar

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from domain.metrics import (
    CALENDAR_CALLS,
    CLINIC_CALLS,
    OUTSIDE_CALL_SECONDS,
    CallOutcome,
    OutsideSystemName,
)
from integrations.calendar import CalendarClient, CalendarUnavailable, ConsultEvent
from integrations.clinic import (
    ClinicGateway,
    ClinicRejected,
    ClinicUnavailable,
    VisitRequest,
    VisitReservation,
)
from integrations.mail import MailSender
from observability.activity_metrics import count, observe_seconds

TRACER = "journeys.outside_calls"

Classify = Callable[[BaseException], CallOutcome]
Client = TypeVar("Client")


def _calendar_outcome(err: BaseException) -> CallOutcome:
    return CallOutcome.UNAVAILABLE if isinstance(err, CalendarUnavailable) else CallOutcome.FAILED


def _clinic_outcome(err: BaseException) -> CallOutcome:
    if isinstance(err, ClinicRejected):
        return CallOutcome.REFUSED
    if isinstance(err, ClinicUnavailable):
        return CallOutcome.UNAVAILABLE
    return CallOutcome.FAILED


@contextmanager
def outside_call(
    system: OutsideSystemName,
    operation: str,
    *,
    counter: str | None = None,
    classify: Classify = lambda err: CallOutcome.FAILED,
    attributes: dict[str, str] | None = None,
) -> Iterator[None]:
    """One call to an outside system: a client span, and (with `counter`) its outcome and
    duration. A failure's status names its type only: its message may quote the reply."""
    tracer = trace.get_tracer(TRACER)
    with tracer.start_as_current_span(
        f"{system.value} {operation}",
        kind=SpanKind.CLIENT,
        attributes={"journeys.system": system.value, **(attributes or {})},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        started = time.monotonic()
        outcome: CallOutcome | None = CallOutcome.OK
        try:
            yield
        except Exception as err:
            outcome = classify(err)
            span.set_status(Status(StatusCode.ERROR, type(err).__name__))
            span.set_attribute("journeys.outcome", outcome.value)
            raise
        except BaseException:
            # Cancelled (the activity was), which says nothing of the outside system.
            outcome = None
            raise
        finally:
            if counter is not None and outcome is not None:
                labels = {"operation": operation, "outcome": outcome.value}
                count(counter, f"Calls to the {system.value}, by operation and outcome", labels)
                observe_seconds(
                    OUTSIDE_CALL_SECONDS,
                    "How long calls to outside systems take",
                    time.monotonic() - started,
                    {"system": system.value, "operation": operation},
                )


class _Observed(Generic[Client]):
    """A client whose every call to its outside system is traced, naming the id it is for
    (`key`), and counted by outcome (`classify`)."""

    system: ClassVar[OutsideSystemName]
    counter: ClassVar[str]
    key: ClassVar[str]

    @staticmethod
    def classify(err: BaseException) -> CallOutcome:
        return CallOutcome.FAILED

    def __init__(self, inner: Client) -> None:
        self._inner = inner

    def _call(self, operation: str, key: str) -> AbstractContextManager[None]:
        return outside_call(
            self.system,
            operation,
            counter=self.counter,
            classify=self.classify,
            attributes={self.key: key},
        )


class ObservedCalendar(_Observed[CalendarClient]):
    """A `CalendarClient` whose every call is traced and counted."""

    system = OutsideSystemName.CALENDAR
    counter = CALENDAR_CALLS
    key = "journeys.calendar_id"
    classify = staticmethod(_calendar_outcome)

    async def ensure_calendar(self, calendar_id: str, name: str) -> None:
        with self._call("ensure_calendar", calendar_id):
            await self._inner.ensure_calendar(calendar_id, name)

    async def busy(
        self, calendar_id: str, start: datetime, end: datetime, *, tz: tzinfo = UTC
    ) -> list[tuple[datetime, datetime]]:
        with self._call("busy", calendar_id):
            return await self._inner.busy(calendar_id, start, end, tz=tz)

    async def put_event(self, calendar_id: str, event: ConsultEvent) -> None:
        with self._call("put_event", calendar_id):
            await self._inner.put_event(calendar_id, event)

    async def delete_event(self, calendar_id: str, uid: str) -> bool:
        with self._call("delete_event", calendar_id):
            return await self._inner.delete_event(calendar_id, uid)


class ObservedClinic(_Observed[ClinicGateway]):
    """A `ClinicGateway` whose every call is traced and counted."""

    system = OutsideSystemName.CLINIC
    counter = CLINIC_CALLS
    key = "journeys.journey_id"
    classify = staticmethod(_clinic_outcome)

    async def reserve_visit(self, request: VisitRequest) -> VisitReservation:
        with self._call("reserve_visit", request.journey_id):
            return await self._inner.reserve_visit(request)

    async def change_visit(self, request: VisitRequest) -> VisitReservation:
        with self._call("change_visit", request.journey_id):
            return await self._inner.change_visit(request)

    async def cancel_visit(self, journey_id: str, visit_key: str = "") -> None:
        with self._call("cancel_visit", journey_id):
            await self._inner.cancel_visit(journey_id, visit_key)


class TracedMailSender:
    """A `MailSender` whose every message is a span, named by its Message-ID (the journey's
    id and step); emails are counted by the activity, which knows their kind."""

    def __init__(self, inner: MailSender) -> None:
        self._inner = inner

    async def send(self, message: EmailMessage) -> None:
        with outside_call(
            OutsideSystemName.SMTP,
            "send",
            attributes={"messaging.message.id": str(message.get("Message-ID", ""))},
        ):
            await self._inner.send(message)
