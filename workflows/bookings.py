"""Calling the booking activities from workflow code: one timeout, one retry, and the caller's
patience with the calendar or the clinic, after which its incident desk (or its saga) takes
over."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow

from workflows.incidents import RETRY_OR_WITHDRAW, IncidentDesk
from workflows.timeouts import BOOKING_TIMEOUT, OUTSIDE_RETRY

with workflow.unsafe.imports_passed_through():
    from activities.bookings import BookingActivities
    from domain.incidents import IncidentAction, OutsideSystem
    from domain.records import SlotsProposed, SlotsRequest

A = TypeVar("A")
R = TypeVar("R")


async def booking_call(
    activity: Callable[[BookingActivities, A], Awaitable[R]],
    request: A,
    patience: timedelta | None,
    summary: str,
) -> R:
    return await workflow.execute_activity_method(
        activity,
        request,
        start_to_close_timeout=BOOKING_TIMEOUT,
        schedule_to_close_timeout=patience,
        retry_policy=OUTSIDE_RETRY,
        summary=summary,
    )


async def propose_slots(
    desk: IncidentDesk,
    request: SlotsRequest,
    patience: timedelta,
    actions: tuple[IncidentAction, ...] = RETRY_OR_WITHDRAW,
) -> SlotsProposed | None:
    """The times offered for the first consultation or a follow-up consult (the request's
    `follow_up_no`), from the specialists' calendar; None when a coordinator skipped it."""
    n, r = request.follow_up_no, request.round
    return await desk.attempt(
        lambda: booking_call(
            BookingActivities.propose_consult_slots,
            request,
            patience,
            f"Propose consult slots (round {r})"
            if n is None
            else f"Propose times for follow-up consult {n} (round {r})",
        ),
        system=OutsideSystem.CALENDAR,
        step=f"slots:{r}" if n is None else f"slots:follow-up-{n}:{r}",
        actions=actions,
    )
